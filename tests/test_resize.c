/* Unit tests for the resampler (src/resize.c): its output against
 * independent references (stb_image_resize v1 from libstb for Mitchell,
 * Catmull-Rom and box; a direct 2-D Lanczos3 convolution written here from
 * the textbook formula), and its edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stb_image_resize.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/image.h"
#include "thumbd/resize.h"
#include "lanczos_ref.h"

/* Deterministic pseudo-random numbers (xorshift32), so failures replay. */
static uint32_t g_rng = 1;
static float rnd(float max)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (float)(g_rng % 1000000u) / 1000000.0f * max;
}

/* A w x h image of random values in 0..255 (fractions included, as the
 * shrinker makes). Alpha, if any, is 0 for about a fifth of the pixels. */
static image_f random_image(int w, int h, int c, int alpha, uint32_t seed)
{
    image_f img;
    assert_true(image_alloc(&img, w, h, c, alpha));
    g_rng = seed;
    for (size_t i = 0; i < (size_t)w * (size_t)h * (size_t)c; i++)
        img.px[i] = rnd(255.0f);
    if (alpha >= 0)
        for (size_t p = 0; p < (size_t)w * (size_t)h; p++)
            if (rnd(1.0f) < 0.2f)
                img.px[p * (size_t)c + (size_t)alpha] = 0;
    return img;
}

/* The filter under test, set by each layout sweep. */
static resize_filter g_filter = RESIZE_MITCHELL;

static stbir_filter stb_filter(resize_filter f)
{
    switch (f) {
    case RESIZE_CATROM: return STBIR_FILTER_CATMULLROM;
    case RESIZE_BOX: return STBIR_FILTER_BOX;
    default: return STBIR_FILTER_DEFAULT; /* Mitchell down, Catmull-Rom up */
    }
}

/* stb's float resize with the same filter, then the same rounding. */
static uint8_t *stb_reference(const image_f *img, int out_w, int out_h)
{
    size_t n = (size_t)out_w * (size_t)out_h * (size_t)img->c;
    float *f = malloc(n * sizeof *f);
    uint8_t *px = malloc(n);
    assert_non_null(f);
    assert_non_null(px);
    int ok = stbir_resize_float_generic(img->px, img->w, img->h, 0, f, out_w, out_h, 0, img->c,
                                        img->alpha >= 0 ? img->alpha : STBIR_ALPHA_CHANNEL_NONE,
                                        0, STBIR_EDGE_CLAMP, stb_filter(g_filter),
                                        STBIR_COLORSPACE_LINEAR, NULL);
    assert_true(ok);
    for (size_t i = 0; i < n; i++)
        px[i] = f[i] <= 0 ? 0 : f[i] >= 255 ? 255 : (uint8_t)lrintf(f[i]);
    free(f);
    return px;
}

static uint8_t *reference(const image_f *img, int out_w, int out_h)
{
    return g_filter == RESIZE_LANCZOS3 ? lanczos_reference(img, out_w, out_h)
                                       : stb_reference(img, out_w, out_h);
}

static uint8_t *resize_ok(const image_f *img, int out_w, int out_h)
{
    uint8_t *px = NULL;
    char err[TD_ERRLEN] = "";
    td_status st = resize_to_u8(img, out_w, out_h, g_filter, &px, err);
    if (st != TD_OK)
        fail_msg("resize %dx%d -> %dx%d: %s", img->w, img->h, out_w, out_h, err);
    return px;
}

/* Where colour is invisible its value is arbitrary: stb divides the
 * filtered colour by a filtered alpha that can be a tiny (even negative)
 * number, so rounding noise there becomes any value (and the float sums
 * differ from the double reference's by more than a rounding). Compared are the
 * alpha channel everywhere and colour where alpha is at least this. */
enum { VISIBLE_ALPHA = 1 };

/* Resizes a random image both ways (with g_filter); fails if any compared
 * value differs by more than tol. */
static void expect_like_stb(int w, int h, int c, int alpha, int out_w, int out_h, int tol)
{
    image_f img = random_image(w, h, c, alpha, (uint32_t)(w * 7919 + h * 31 + c * 3 + alpha + 5));
    uint8_t *ref = reference(&img, out_w, out_h);
    uint8_t *got = resize_ok(&img, out_w, out_h);
    int worst = 0;
    size_t at = 0, differ = 0, compared = 0;
    for (size_t p = 0; p < (size_t)out_w * (size_t)out_h; p++) {
        const uint8_t *r = ref + p * (size_t)c, *g = got + p * (size_t)c;
        bool visible = alpha < 0 || r[alpha] >= VISIBLE_ALPHA;
        for (int ch = 0; ch < c; ch++) {
            if (ch != alpha && !visible)
                continue;
            int d = abs((int)r[ch] - (int)g[ch]);
            compared++;
            differ += d != 0;
            if (d > worst) {
                worst = d;
                at = p * (size_t)c + (size_t)ch;
            }
        }
    }
    const char *name = resize_filter_name(g_filter);
    print_message("%s %dx%dx%d alpha %d -> %dx%d: max |diff| %d, %zu of %zu values differ\n",
                  name, w, h, c, alpha, out_w, out_h, worst, differ, compared);
    if (worst > tol)
        fail_msg("%s %dx%dx%d alpha %d -> %dx%d: value %zu (pixel %zu channel %zu) is %d, "
                 "reference %d",
                 name, w, h, c, alpha, out_w, out_h, at, at / (size_t)c, at % (size_t)c,
                 got[at], ref[at]);
    assert_true(compared > 0);
    free(got);
    free(ref);
    image_free(&img);
}

/* Every channel layout thumbd uses (gray, gray+alpha, RGB, RGBA, CMYK),
 * with every filter against its reference. */
static void layouts_like_stb(int w, int h, int out_w, int out_h)
{
    static const int layout[][2] = {{1, -1}, {2, -1}, {2, 1}, {2, 0}, {3, -1}, {4, -1}, {4, 3}};
    static const resize_filter filters[] = {RESIZE_LANCZOS3, RESIZE_MITCHELL, RESIZE_CATROM,
                                            RESIZE_BOX};
    for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
        g_filter = filters[f];
        for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++)
            expect_like_stb(w, h, layout[i][0], layout[i][1], out_w, out_h, 1);
    }
    g_filter = RESIZE_MITCHELL;
}

static void test_ratio_2(void **state)
{
    (void)state;
    layouts_like_stb(400, 300, 200, 150);
}

static void test_ratio_2_37(void **state)
{
    (void)state;
    layouts_like_stb(474, 237, 200, 100);
}

static void test_ratio_1_5(void **state)
{
    (void)state;
    layouts_like_stb(300, 201, 200, 134);
}

static void test_ratio_1(void **state)
{
    (void)state;
    layouts_like_stb(37, 23, 37, 23); /* every filter but Lanczos3 still filters at 1:1 */
}

static void test_upsample_1_7(void **state)
{
    (void)state;
    layouts_like_stb(50, 30, 85, 51);
}

static void test_odd_sizes(void **state)
{
    (void)state;
    layouts_like_stb(333, 77, 101, 29);
    layouts_like_stb(705, 397, 200, 112);
    layouts_like_stb(17, 13, 3, 2);
}

/* One axis shrinks while the other grows, both ways round. */
static void test_mixed_directions(void **state)
{
    (void)state;
    layouts_like_stb(120, 20, 40, 50);
    layouts_like_stb(20, 120, 50, 40);
}

static void test_one_pixel_wide_or_high(void **state)
{
    (void)state;
    layouts_like_stb(1, 50, 1, 20);
    layouts_like_stb(60, 1, 20, 1);
    layouts_like_stb(1, 1, 1, 1);
    layouts_like_stb(1, 1, 3, 4);
    layouts_like_stb(1, 40, 5, 7);
}

static void test_out_1x1(void **state)
{
    (void)state;
    layouts_like_stb(97, 55, 1, 1);
    layouts_like_stb(2, 2, 1, 1);
}

/* Normalised weights: a flat image stays flat at every ratio, edges
 * included (clamped taps are folded, not lost), for every filter. */
static void flat_stays_flat(void)
{
    static const int sizes[][4] = {
        {400, 300, 200, 150}, {97, 55, 1, 1}, {50, 30, 85, 51}, {37, 23, 37, 23}, {3, 1, 17, 2}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        image_f img;
        assert_true(image_alloc(&img, sizes[s][0], sizes[s][1], 3, -1));
        for (size_t i = 0; i < (size_t)sizes[s][0] * (size_t)sizes[s][1] * 3; i++)
            img.px[i] = (float)(40 + i % 3 * 70);
        uint8_t *got = resize_ok(&img, sizes[s][2], sizes[s][3]);
        for (size_t i = 0; i < (size_t)sizes[s][2] * (size_t)sizes[s][3] * 3; i++)
            if (got[i] != 40 + i % 3 * 70)
                fail_msg("size %zu: value %zu is %d, want %d", s, i, got[i],
                         (int)(40 + i % 3 * 70));
        free(got);
        image_free(&img);
    }
}

static void test_flat_stays_flat(void **state)
{
    (void)state;
    for (int f = RESIZE_LANCZOS3; f <= RESIZE_BOX; f++) {
        g_filter = (resize_filter)f;
        flat_stays_flat();
    }
    g_filter = RESIZE_MITCHELL;
}

/* Fully transparent pixels: their colour must not bleed into visible
 * pixels (colour is weighted by alpha), and where the filtered alpha is 0
 * the colour is 0, as stb makes it. */
static void test_alpha_zero(void **state)
{
    (void)state;
    image_f img;
    assert_true(image_alloc(&img, 64, 48, 4, 3));
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            float *p = img.px + ((size_t)y * 64 + (size_t)x) * 4;
            bool opaque = x >= 40; /* the left part: transparent black */
            p[0] = p[1] = p[2] = opaque ? 255.0f : 0.0f;
            p[3] = opaque ? 255.0f : 0.0f;
        }
    uint8_t *got = resize_ok(&img, 16, 12);
    int visible = 0, cleared = 0;
    for (size_t p = 0; p < 16 * 12; p++) {
        const uint8_t *q = got + p * 4;
        if (q[3] > 0) {
            visible++;
            for (int ch = 0; ch < 3; ch++)
                if (q[ch] < 254)
                    fail_msg("pixel %zu: colour %d %d %d under alpha %d: dark fringe", p, q[0],
                             q[1], q[2], q[3]);
        } else if (p % 16 < 8) { /* far from the edge: filtered alpha exactly 0 */
            cleared++;
            assert_int_equal(q[0] | q[1] | q[2], 0);
        }
    }
    assert_true(visible >= 12 * 5);
    assert_int_equal(cleared, 12 * 8);
    free(got);
    image_free(&img);
}

/* An image that is transparent everywhere stays so, with colour 0. */
static void test_all_transparent(void **state)
{
    (void)state;
    image_f img = random_image(30, 20, 2, 1, 7);
    for (size_t p = 0; p < 30 * 20; p++)
        img.px[p * 2 + 1] = 0;
    uint8_t *got = resize_ok(&img, 7, 5);
    for (size_t i = 0; i < 7 * 5 * 2; i++)
        assert_int_equal(got[i], 0);
    free(got);
    image_free(&img);
}

static void test_rejects_bad_geometry(void **state)
{
    (void)state;
    image_f img = random_image(4, 4, 3, -1, 3);
    uint8_t *px = NULL;
    char err[TD_ERRLEN] = "";
    assert_int_equal(resize_to_u8(&img, 0, 4, RESIZE_LANCZOS3, &px, err), TD_EINPUT);
    assert_null(px);
    assert_non_null(strstr(err, "cannot resize"));
    img.alpha = 3; /* no such channel */
    assert_int_equal(resize_to_u8(&img, 2, 2, RESIZE_LANCZOS3, &px, err), TD_EINPUT);
    assert_null(px);
    img.alpha = -1;
    const double windows[][4] = {{-0.5, 0, 4, 4}, {0.5, 0, 4, 4}, {0, 0, 4, 4.25}, {NAN, 0, 4, 4}};
    for (int i = 0; i < 4; i++) {
        img.win_x = windows[i][0];
        img.win_y = windows[i][1];
        img.win_w = windows[i][2];
        img.win_h = windows[i][3];
        assert_int_equal(resize_to_u8(&img, 2, 2, RESIZE_LANCZOS3, &px, err), TD_EINPUT);
        assert_null(px);
    }
    image_free(&img);
}

/* A window (image.h) of the whole grid gives the same bytes as none, every
 * filter, shrinking and growing. */
static void test_window_whole_grid(void **state)
{
    (void)state;
    image_f img = random_image(37, 23, 3, -1, 11);
    for (int f = RESIZE_LANCZOS3; f <= RESIZE_BOX; f++) {
        g_filter = (resize_filter)f;
        img.win_w = img.win_h = 0;
        uint8_t *a = resize_ok(&img, 10, 30);
        img.win_w = 37;
        img.win_h = 23;
        uint8_t *b = resize_ok(&img, 10, 30);
        assert_memory_equal(a, b, 10 * 30 * 3);
        free(a);
        free(b);
    }
    image_free(&img);
}

/* The output spans the window: a ramp v = 2 x (x in pixels, a pixel's
 * value that at its centre) through Catmull-Rom, which keeps a linear
 * function, gives 2 c at each output centre c mapped into the window,
 * shrinking (x [8, 40) of 64 to 8) and growing (y [2.5, 10.5) of 16 to
 * 16); the kernels stay within the grid. */
static void test_window_maps_output(void **state)
{
    (void)state;
    image_f img;
    assert_true(image_alloc(&img, 64, 16, 1, -1));
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 64; x++)
            img.px[y * 64 + x] = (float)(x + 0.5) * 2 + (float)(y + 0.5) * 8;
    img.win_x = 8;
    img.win_w = 32;
    img.win_y = 2.5;
    img.win_h = 8;
    g_filter = RESIZE_CATROM;
    uint8_t *got = resize_ok(&img, 8, 16);
    for (int j = 0; j < 16; j++)
        for (int i = 0; i < 8; i++) {
            double cx = 8 + (i + 0.5) * 4, cy = 2.5 + (j + 0.5) * 0.5;
            double want = cx * 2 + cy * 8;
            if (fabs(got[j * 8 + i] - want) > 0.51)
                fail_msg("output (%d,%d) = %d, want %.2f", i, j, got[j * 8 + i], want);
        }
    free(got);
    image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratio_2),
        cmocka_unit_test(test_ratio_2_37),
        cmocka_unit_test(test_ratio_1_5),
        cmocka_unit_test(test_ratio_1),
        cmocka_unit_test(test_upsample_1_7),
        cmocka_unit_test(test_odd_sizes),
        cmocka_unit_test(test_mixed_directions),
        cmocka_unit_test(test_one_pixel_wide_or_high),
        cmocka_unit_test(test_out_1x1),
        cmocka_unit_test(test_flat_stays_flat),
        cmocka_unit_test(test_alpha_zero),
        cmocka_unit_test(test_all_transparent),
        cmocka_unit_test(test_rejects_bad_geometry),
        cmocka_unit_test(test_window_whole_grid),
        cmocka_unit_test(test_window_maps_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
