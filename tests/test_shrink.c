/* Unit tests for the on-the-fly box shrink (src/shrink.c), and for where
 * its output lands through orientation (src/orient.c) and the resize
 * (src/resize.c): the window it hands on (image.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/image.h"
#include "thumbd/orient.h"
#include "thumbd/resize.h"
#include "thumbd/shrink.h"

static void expect_px(const image_f *img, int x, int y, int ch, double want)
{
    double got = img->px[((size_t)y * (size_t)img->w + (size_t)x) * (size_t)img->c + (size_t)ch];
    if (fabs(got - want) > 1e-3)
        fail_msg("pixel (%d,%d) channel %d = %.4f, want %.4f", x, y, ch, got, want);
}

/* Feeds rows [0, h) of a row-major image of width in_w. */
static void feed(shrink *s, const uint8_t *img, int in_w, int c, int h)
{
    for (int y = 0; y < h; y++)
        shrink_row(s, y, img + (size_t)y * (size_t)in_w * (size_t)c);
}

static void test_box_average_4x4(void **state)
{
    (void)state;
    const uint8_t img[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    shrink s;
    char err[TD_ERRLEN];
    assert_int_equal(shrink_begin(&s, 4, 1, -1, 0, 0, 4, 4, 2, err), TD_OK);
    assert_int_equal(s.out_w, 2);
    assert_int_equal(s.out_h, 2);
    feed(&s, img, 4, 1, 4);
    image_f out;
    shrink_end(&s, &out);
    assert_int_equal(out.w, 2);
    assert_int_equal(out.h, 2);
    assert_int_equal(out.c, 1);
    assert_int_equal(out.alpha, -1);
    expect_px(&out, 0, 0, 0, 3.5);   /* (1+2+5+6)/4 */
    expect_px(&out, 1, 0, 0, 5.5);   /* (3+4+7+8)/4 */
    expect_px(&out, 0, 1, 0, 11.5);  /* (9+10+13+14)/4 */
    expect_px(&out, 1, 1, 0, 13.5);  /* (11+12+15+16)/4 */
    image_free(&out);
    shrink_abort(&s); /* safe after end */
}

static void test_edge_boxes_average_existing_pixels(void **state)
{
    (void)state;
    /* 5x5, v = x + 10y, k = 2: the last column and row of boxes are 1 wide/high. */
    uint8_t img[25];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            img[y * 5 + x] = (uint8_t)(x + 10 * y);
    shrink s;
    char err[TD_ERRLEN];
    assert_int_equal(shrink_begin(&s, 5, 1, -1, 0, 0, 5, 5, 2, err), TD_OK);
    assert_int_equal(s.out_w, 3);
    assert_int_equal(s.out_h, 3);
    feed(&s, img, 5, 1, 5);
    image_f out;
    shrink_end(&s, &out);
    expect_px(&out, 0, 0, 0, 5.5);    /* 0 1 10 11 */
    expect_px(&out, 1, 1, 0, 27.5);   /* 22 23 32 33 */
    expect_px(&out, 2, 0, 0, 9.0);    /* 4 14: partial width */
    expect_px(&out, 2, 1, 0, 29.0);   /* 24 34 */
    expect_px(&out, 0, 2, 0, 40.5);   /* 40 41: partial height */
    expect_px(&out, 1, 2, 0, 42.5);   /* 42 43 */
    expect_px(&out, 2, 2, 0, 44.0);   /* 44 alone */
    image_free(&out);

    /* k = 3 on a 7-wide row: boxes of 3, 3, 1. */
    uint8_t row[7] = {3, 6, 9, 30, 60, 90, 200};
    assert_int_equal(shrink_begin(&s, 7, 1, -1, 0, 0, 7, 1, 3, err), TD_OK);
    shrink_row(&s, 0, row);
    shrink_end(&s, &out);
    assert_int_equal(out.w, 3);
    assert_int_equal(out.h, 1);
    expect_px(&out, 0, 0, 0, 6.0);
    expect_px(&out, 1, 0, 0, 60.0);
    expect_px(&out, 2, 0, 0, 200.0);
    image_free(&out);
}

static void test_crop_window_honoured(void **state)
{
    (void)state;
    /* 6x6 RGB: inside the crop v = x + 10y + 50 * channel,
     * outside it 250 everywhere, which must never show up. */
    enum { W = 6, H = 6, C = 3 };
    uint8_t img[W * H * C];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++) {
                bool in = x >= 1 && x < 5 && y >= 2 && y < 5;
                img[(y * W + x) * C + c] = in ? (uint8_t)(x + 10 * y + 50 * c) : 250;
            }
    shrink s;
    char err[TD_ERRLEN];
    assert_int_equal(shrink_begin(&s, W, C, -1, 1, 2, 4, 3, 2, err), TD_OK);
    assert_int_equal(s.out_w, 2);
    assert_int_equal(s.out_h, 2);
    for (int y = 0; y < H; y++) {
        /* Needs rows up to 4: done once row 4 has been fed. */
        assert_int_equal(shrink_done(&s, y), y >= 5);
        shrink_row(&s, y, img + (size_t)y * W * C);
    }
    assert_true(shrink_done(&s, 6));
    image_f out;
    shrink_end(&s, &out);
    for (int c = 0; c < C; c++) {
        expect_px(&out, 0, 0, c, 26.5 + 50 * c);  /* x 1,2 y 2,3 */
        expect_px(&out, 1, 0, c, 28.5 + 50 * c);  /* x 3,4 y 2,3 */
        expect_px(&out, 0, 1, c, 41.5 + 50 * c);  /* x 1,2 y 4 */
        expect_px(&out, 1, 1, c, 43.5 + 50 * c);  /* x 3,4 y 4 */
    }
    image_free(&out);
}

static void test_alpha_weighting(void **state)
{
    (void)state;
    /* One opaque white pixel, three transparent black ones. */
    const uint8_t rgba[2 * 2 * 4] = {
        255, 255, 255, 255, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    };
    shrink s;
    char err[TD_ERRLEN];
    assert_int_equal(shrink_begin(&s, 2, 4, 3, 0, 0, 2, 2, 2, err), TD_OK);
    feed(&s, rgba, 2, 4, 2);
    image_f out;
    shrink_end(&s, &out);
    assert_int_equal(out.w, 1);
    assert_int_equal(out.h, 1);
    assert_int_equal(out.alpha, 3);
    for (int c = 0; c < 3; c++)
        expect_px(&out, 0, 0, c, 255.0);
    expect_px(&out, 0, 0, 3, 63.75);
    image_free(&out);

    /* Partial alpha: colour weighted by alpha, alpha averaged. */
    const uint8_t two[2 * 4] = {200, 0, 40, 255, 0, 100, 40, 85};
    assert_int_equal(shrink_begin(&s, 2, 4, 3, 0, 0, 2, 1, 2, err), TD_OK);
    shrink_row(&s, 0, two);
    shrink_end(&s, &out);
    expect_px(&out, 0, 0, 0, 200.0 * 255 / 340);  /* 150 */
    expect_px(&out, 0, 0, 1, 100.0 * 85 / 340);   /* 25 */
    expect_px(&out, 0, 0, 2, 40.0);
    expect_px(&out, 0, 0, 3, 170.0);
    image_free(&out);

    /* Gray + alpha, alpha first. */
    const uint8_t ga[2 * 2] = {0, 90, 51, 255};
    assert_int_equal(shrink_begin(&s, 2, 2, 0, 0, 0, 2, 1, 2, err), TD_OK);
    shrink_row(&s, 0, ga);
    shrink_end(&s, &out);
    expect_px(&out, 0, 0, 0, 25.5);                    /* alpha (0+51)/2 */
    expect_px(&out, 0, 0, 1, (90.0 * 0 + 255.0 * 51) / 51); /* only the visible one */
    image_free(&out);
}

/* Reference: the plain definition, one output pixel at a time. */
static void ref_shrink(const uint8_t *img, int in_w, int c, int alpha, int x0, int y0, int w,
                       int h, int k, int ox, int oy, double *dst)
{
    double sum[4] = {0}, asum = 0;
    int n = 0;
    for (int y = y0 + oy * k; y < y0 + (oy + 1) * k && y < y0 + h; y++)
        for (int x = x0 + ox * k; x < x0 + (ox + 1) * k && x < x0 + w; x++) {
            const uint8_t *p = img + ((size_t)y * (size_t)in_w + (size_t)x) * (size_t)c;
            double a = alpha >= 0 ? p[alpha] : 1.0;
            for (int ch = 0; ch < c; ch++)
                sum[ch] += ch == alpha ? p[ch] : p[ch] * a;
            asum += a;
            n++;
        }
    for (int ch = 0; ch < c; ch++)
        dst[ch] = ch == alpha ? sum[ch] / n : alpha < 0 ? sum[ch] / n : asum > 0 ? sum[ch] / asum : 0;
}

static void test_matches_reference(void **state)
{
    (void)state;
    srand(12345);
    for (int iter = 0; iter < 300; iter++) {
        int in_w = 1 + rand() % 40, in_h = 1 + rand() % 40;
        int c = 1 + rand() % 4;
        int alpha = (c == 2 || c == 4) && rand() % 2 ? c - 1 : -1;
        int x0 = rand() % in_w, y0 = rand() % in_h;
        int w = 1 + rand() % (in_w - x0), h = 1 + rand() % (in_h - y0);
        int k = 1 + rand() % 6;
        uint8_t *img = malloc((size_t)in_w * in_h * c);
        assert_non_null(img);
        for (int i = 0; i < in_w * in_h * c; i++)
            img[i] = (uint8_t)(rand() % 256);
        shrink s;
        char err[TD_ERRLEN];
        assert_int_equal(shrink_begin(&s, in_w, c, alpha, x0, y0, w, h, k, err), TD_OK);
        feed(&s, img, in_w, c, in_h);
        image_f out;
        shrink_end(&s, &out);
        assert_int_equal(out.w, (w + k - 1) / k);
        assert_int_equal(out.h, (h + k - 1) / k);
        for (int oy = 0; oy < out.h; oy++)
            for (int ox = 0; ox < out.w; ox++) {
                double want[4];
                ref_shrink(img, in_w, c, alpha, x0, y0, w, h, k, ox, oy, want);
                for (int ch = 0; ch < c; ch++) {
                    double got = out.px[((size_t)oy * out.w + ox) * c + ch];
                    if (fabs(got - want[ch]) > 1e-2)
                        fail_msg("iter %d: %dx%d c%d a%d crop %d,%d %dx%d k%d: (%d,%d)[%d] = "
                                 "%.4f, want %.4f",
                                 iter, in_w, in_h, c, alpha, x0, y0, w, h, k, ox, oy, ch, got,
                                 want[ch]);
                }
            }
        image_free(&out);
        free(img);
    }
}

static void test_truncated_input_leaves_zeros(void **state)
{
    (void)state;
    uint8_t img[4 * 4];
    memset(img, 100, sizeof img);
    shrink s;
    char err[TD_ERRLEN];
    assert_int_equal(shrink_begin(&s, 4, 1, -1, 0, 0, 4, 4, 2, err), TD_OK);
    feed(&s, img, 4, 1, 3); /* row 3 never arrives */
    assert_false(shrink_done(&s, 3));
    image_f out;
    shrink_end(&s, &out);
    expect_px(&out, 0, 0, 0, 100.0);
    expect_px(&out, 1, 0, 0, 100.0);
    expect_px(&out, 0, 1, 0, 0.0);
    expect_px(&out, 1, 1, 0, 0.0);
    image_free(&out);
}

static void test_bad_geometry(void **state)
{
    (void)state;
    shrink s;
    char err[TD_ERRLEN] = "";
    assert_int_not_equal(shrink_begin(&s, 4, 1, -1, 1, 0, 4, 4, 2, err), TD_OK); /* x+w > in_w */
    assert_true(strlen(err) > 0);
    shrink_abort(&s);
    assert_int_not_equal(shrink_begin(&s, 4, 1, -1, 0, 0, 4, 4, 0, err), TD_OK); /* k = 0 */
    shrink_abort(&s);
    assert_int_not_equal(shrink_begin(&s, 4, 5, -1, 0, 0, 4, 4, 1, err), TD_OK); /* c = 5 */
    shrink_abort(&s);
    assert_int_not_equal(shrink_begin(&s, 4, 1, -1, -1, 0, 2, 4, 1, err), TD_OK);
    shrink_abort(&s);
    assert_int_not_equal(shrink_begin(&s, 4, 1, -1, 0, 0, 0, 4, 1, err), TD_OK);
    shrink_abort(&s);
}

/* shrink_region against a direct average of each box (colour weighted by
 * alpha), for each channel layout, factors 2..5 (1: a copy), regions with
 * edge boxes. */
static void test_region_matches_reference(void **state)
{
    (void)state;
    static const int layouts[][2] = {{1, -1}, {2, 1}, {3, -1}, {4, -1}, {4, 3}};
    unsigned seed = 7;
    for (size_t l = 0; l < sizeof layouts / sizeof *layouts; l++) {
        int c = layouts[l][0], al = layouts[l][1];
        image_f src;
        assert_true(image_alloc(&src, 23, 17, c, al));
        for (int i = 0; i < 23 * 17 * c; i++) {
            seed = seed * 1103515245u + 12345u;
            src.px[i] = (float)((seed >> 16) % 256);
        }
        for (int k = 1; k <= 5; k++) {
            int x = 2, y = 3, w = 19, h = 13;
            image_f out;
            char err[TD_ERRLEN];
            assert_int_equal(shrink_region(&src, x, y, w, h, k, &out, err), TD_OK);
            assert_int_equal(out.w, (w + k - 1) / k);
            assert_int_equal(out.h, (h + k - 1) / k);
            assert_int_equal(out.alpha, al);
            for (int oy = 0; oy < out.h; oy++)
                for (int ox = 0; ox < out.w; ox++)
                    for (int ch = 0; ch < c; ch++) {
                        double sum = 0, aw = 0;
                        int n = 0;
                        for (int j = oy * k; j < oy * k + k && j < h; j++)
                            for (int i = ox * k; i < ox * k + k && i < w; i++) {
                                const float *p = src.px + ((size_t)(y + j) * 23 + (size_t)(x + i)) * (size_t)c;
                                double a = al >= 0 ? p[al] : 1.0;
                                sum += ch == al ? p[ch] : p[ch] * a;
                                aw += a;
                                n++;
                            }
                        double want = ch == al || al < 0 ? sum / n : aw > 0 ? sum / aw : 0;
                        if (k == 1) /* a copy: colour under alpha 0 too */
                            want = src.px[((size_t)(y + oy) * 23 + (size_t)(x + ox)) * (size_t)c + (size_t)ch];
                        float got = out.px[((size_t)oy * (size_t)out.w + (size_t)ox) * (size_t)c + (size_t)ch];
                        if (fabs(got - want) > 1e-3 * (1 + fabs(want)))
                            fail_msg("c %d alpha %d k %d (%d,%d,%d): %f, expected %f", c, al, k, ox,
                                     oy, ch, (double)got, want);
                    }
            image_free(&out);
        }
        image_free(&src);
    }
    image_f src, out;
    char err[TD_ERRLEN];
    assert_true(image_alloc(&src, 4, 4, 3, -1));
    assert_int_equal(shrink_region(&src, 2, 0, 3, 4, 1, &out, err), TD_EINPUT);
    image_free(&src);
}

/* The window: the crop's extent in output pixels, w/k (a partial last
 * box counts r/k), or what shrink_window refines it to; nonsense ignored. */
static void test_window(void **state)
{
    (void)state;
    uint8_t row[10] = {0};
    shrink s;
    char err[TD_ERRLEN];
    image_f out;
    assert_int_equal(shrink_begin(&s, 10, 1, -1, 1, 0, 9, 5, 4, err), TD_OK);
    feed(&s, row, 0, 1, 5);
    shrink_end(&s, &out);
    assert_int_equal(out.w, 3);
    assert_int_equal(out.h, 2);
    assert_true(out.win_x == 0 && out.win_y == 0 && out.win_w == 2.25 && out.win_h == 1.25);
    image_free(&out);
    assert_int_equal(shrink_begin(&s, 10, 1, -1, 1, 0, 9, 5, 4, err), TD_OK);
    shrink_window(&s, 0.5, 1.0, 9.5, 2.0); /* past the crop: ignored */
    shrink_window(&s, 0.5, 0.25, 8.0, 4.5);
    feed(&s, row, 0, 1, 5);
    shrink_end(&s, &out);
    assert_true(out.win_x == 0.125 && out.win_y == 0.0625 && out.win_w == 2 && out.win_h == 1.125);
    image_free(&out);
}

/* Centroid, in output pixels, of v - bg along a line of n bytes spaced
 * step apart. */
static double centroid(const uint8_t *v, int n, size_t step, int bg)
{
    double m = 0, s = 0;
    for (int i = 0; i < n; i++) {
        double d = v[(size_t)i * step] - bg;
        m += d * (i + 0.5);
        s += d;
    }
    return m / s;
}

/* A bright band [B0, B1) across a 1600-px axis, box-shrunk by 7 (229
 * boxes, the last of 4 px: 1600 / 7 = 228.57) and resized to 110 px, each
 * orientation applied in between: the band's centre lands where it is in
 * the source, 1519 * 110 / 1600 = 104.43 (mirrored: 110 - 104.43), within
 * 0.1 px. Mapping the 229 boxes' grid onto the 110 px puts it at 104.24.
 * Then a window from shrink_window, as a crop mapped onto a DCT-scaled
 * decode gives: the crop [3.5, 1593.5) of the same axis. */
static void test_band_lands_in_place(void **state)
{
    (void)state;
    enum { L = 1600, K = 7, OUT = 110, T = 7, B0 = 1498, B1 = 1540, BG = 64, FG = 192 };
    static const int os[] = {1, 2, 3, 5, 6, 7, 8};
    uint8_t *line = malloc(L);
    assert_non_null(line);
    for (int i = 0; i < L; i++)
        line[i] = i >= B0 && i < B1 ? FG : BG;
    for (int t = 0; t < 2 * 7; t++) {
        int o = os[t % 7];
        bool exact_window = t >= 7, tr = orient_transposes(o);
        bool mirror = o == 2 || o == 3 || o == 7 || o == 8; /* the stored x axis */
        double x0 = exact_window ? 3.5 : 0, len = exact_window ? L - 7.0 : L;
        shrink s;
        char err[TD_ERRLEN];
        assert_int_equal(shrink_begin(&s, L, 1, -1, 0, 0, L, T, K, err), TD_OK);
        if (exact_window)
            shrink_window(&s, x0, 0, len, T);
        feed(&s, line, 0, 1, T);
        image_f img;
        shrink_end(&s, &img);
        assert_int_equal(orient_apply(&img, o, err), TD_OK);
        int ow = tr ? 1 : OUT, oh = tr ? OUT : 1;
        uint8_t *px = NULL;
        assert_int_equal(resize_to_u8(&img, ow, oh, RESIZE_LANCZOS3, &px, err), TD_OK);
        double got = centroid(px, OUT, 1, BG);
        double want = ((B0 + B1) / 2.0 - x0) * OUT / len;
        want = mirror ? OUT - want : want;
        print_message("orientation %d, window from %.1f: band at %.3f, want %.3f\n", o, x0, got,
                      want);
        if (fabs(got - want) > 0.1)
            fail_msg("orientation %d, window from %.1f: band at %.3f px, want %.3f", o, x0, got,
                     want);
        free(px);
        image_free(&img);
    }
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_average_4x4),
        cmocka_unit_test(test_edge_boxes_average_existing_pixels),
        cmocka_unit_test(test_crop_window_honoured),
        cmocka_unit_test(test_alpha_weighting),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_truncated_input_leaves_zeros),
        cmocka_unit_test(test_bad_geometry),
        cmocka_unit_test(test_region_matches_reference),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_band_lands_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
