/* Unit tests for thumbnail geometry (src/geometry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "thumbd/geometry.h"
#include "thumbd/orient.h"

typedef struct want {
    int crop_x, crop_y, crop_w, crop_h, out_w, out_h, need_w, need_h;
} want;

static void check_plan(int sw, int sh, int o, int bw, int bh, fit_mode fit, bool enlarge,
                       want w, int line)
{
    geom_plan p;
    geom_plan_compute(sw, sh, o, bw, bh, fit, enlarge, &p);
    if (p.crop_x != w.crop_x || p.crop_y != w.crop_y || p.crop_w != w.crop_w ||
        p.crop_h != w.crop_h || p.out_w != w.out_w || p.out_h != w.out_h ||
        p.need_w != w.need_w || p.need_h != w.need_h)
        fail_msg("line %d: %dx%d o%d box %dx%d %s%s:\n"
                 "  got  crop %d,%d %dx%d out %dx%d need %dx%d\n"
                 "  want crop %d,%d %dx%d out %dx%d need %dx%d",
                 line, sw, sh, o, bw, bh, fit == FIT_COVER ? "cover" : "inside",
                 enlarge ? " enlarge" : "", p.crop_x, p.crop_y, p.crop_w, p.crop_h, p.out_w,
                 p.out_h, p.need_w, p.need_h, w.crop_x, w.crop_y, w.crop_w, w.crop_h, w.out_w,
                 w.out_h, w.need_w, w.need_h);
}

#define PLAN(sw, sh, o, bw, bh, fit, en, ...) \
    check_plan(sw, sh, o, bw, bh, fit, en, (want){__VA_ARGS__}, __LINE__)

static void test_cover_basic(void **state)
{
    (void)state;
    /*                                   crop x,y,w,h          out       need */
    PLAN(4000, 3000, 1, 200, 200, FIT_COVER, false, 500, 0, 3000, 3000, 200, 200, 200, 200);
    PLAN(3000, 4000, 1, 200, 200, FIT_COVER, false, 0, 500, 3000, 3000, 200, 200, 200, 200);
    PLAN(1000, 1000, 1, 200, 200, FIT_COVER, false, 0, 0, 1000, 1000, 200, 200, 200, 200);
    /* Non-square box: 4000x3000 into 200x100 scales by 1/20 and crops rows. */
    PLAN(4000, 3000, 1, 200, 100, FIT_COVER, false, 0, 500, 4000, 2000, 200, 100, 200, 100);
    /* Extreme aspect: a centred 300x300 window. */
    PLAN(10000, 300, 1, 200, 200, FIT_COVER, false, 4850, 0, 300, 300, 200, 200, 200, 200);
    PLAN(300, 10000, 1, 200, 200, FIT_COVER, false, 0, 4850, 300, 300, 200, 200, 200, 200);
}

static void test_inside_basic(void **state)
{
    (void)state;
    PLAN(4000, 3000, 1, 200, 200, FIT_INSIDE, false, 0, 0, 4000, 3000, 200, 150, 200, 150);
    PLAN(3000, 4000, 1, 200, 200, FIT_INSIDE, false, 0, 0, 3000, 4000, 150, 200, 150, 200);
    PLAN(1000, 1000, 1, 200, 200, FIT_INSIDE, false, 0, 0, 1000, 1000, 200, 200, 200, 200);
    PLAN(4000, 3000, 1, 300, 100, FIT_INSIDE, false, 0, 0, 4000, 3000, 133, 100, 133, 100);
    PLAN(10000, 300, 1, 200, 200, FIT_INSIDE, false, 0, 0, 10000, 300, 200, 6, 200, 6);
    PLAN(300, 10000, 1, 200, 200, FIT_INSIDE, false, 0, 0, 300, 10000, 6, 200, 6, 200);
    /* Never below one pixel. */
    PLAN(10000, 1, 1, 200, 200, FIT_INSIDE, false, 0, 0, 10000, 1, 200, 1, 200, 1);
}

static void test_smaller_than_box(void **state)
{
    (void)state;
    /* Not enlarged: the image as it is. */
    PLAN(100, 50, 1, 200, 200, FIT_COVER, false, 0, 0, 100, 50, 100, 50, 100, 50);
    PLAN(100, 50, 1, 200, 200, FIT_INSIDE, false, 0, 0, 100, 50, 100, 50, 100, 50);
    /* Enlarged: cover fills the box from a centred 50x50 square. */
    PLAN(100, 50, 1, 200, 200, FIT_COVER, true, 25, 0, 50, 50, 200, 200, 200, 200);
    PLAN(100, 50, 1, 200, 200, FIT_INSIDE, true, 0, 0, 100, 50, 200, 100, 200, 100);
    /* Larger in one axis only, cover without enlarge: cropped to the box
     * width, never scaled up. */
    PLAN(300, 50, 1, 200, 200, FIT_COVER, false, 50, 0, 200, 50, 200, 50, 200, 50);
    /* Exactly the box. */
    PLAN(200, 200, 1, 200, 200, FIT_COVER, false, 0, 0, 200, 200, 200, 200, 200, 200);
}

/* --fit inside --enlarge scales a small image until it touches the box,
 * however small it is (cover --enlarge does the same). */
static void test_inside_enlarge_tiny(void **state)
{
    (void)state;
    PLAN(2, 2, 1, 200, 200, FIT_INSIDE, true, 0, 0, 2, 2, 200, 200, 200, 200);
    PLAN(1, 3, 1, 200, 200, FIT_INSIDE, true, 0, 0, 1, 3, 67, 200, 67, 200);
    PLAN(1, 1, 1, 300, 100, FIT_INSIDE, true, 0, 0, 1, 1, 100, 100, 100, 100);
    PLAN(3, 1, 6, 200, 200, FIT_INSIDE, true, 0, 0, 3, 1, 67, 200, 200, 67);
    /* The same images with cover. */
    PLAN(2, 2, 1, 200, 200, FIT_COVER, true, 0, 0, 2, 2, 200, 200, 200, 200);
    PLAN(1, 1, 1, 300, 100, FIT_COVER, true, 0, 0, 1, 1, 300, 100, 300, 100);
}

static void test_orientations_swap(void **state)
{
    (void)state;
    /* 4000x3000 stored; 5..8 are 3000x4000 upright. */
    for (int o = 1; o <= 4; o++) {
        PLAN(4000, 3000, o, 200, 100, FIT_COVER, false, 0, 500, 4000, 2000, 200, 100, 200, 100);
        PLAN(4000, 3000, o, 200, 200, FIT_INSIDE, false, 0, 0, 4000, 3000, 200, 150, 200, 150);
    }
    for (int o = 5; o <= 8; o++) {
        /* Upright crop 0,1250 3000x1500 is stored 1250,0 1500x3000. */
        PLAN(4000, 3000, o, 200, 100, FIT_COVER, false, 1250, 0, 1500, 3000, 200, 100, 100, 200);
        PLAN(4000, 3000, o, 200, 200, FIT_INSIDE, false, 0, 0, 4000, 3000, 150, 200, 200, 150);
        PLAN(10000, 300, o, 200, 200, FIT_COVER, false, 4850, 0, 300, 300, 200, 200, 200, 200);
        PLAN(10000, 300, o, 200, 200, FIT_INSIDE, false, 0, 0, 10000, 300, 6, 200, 200, 6);
    }
}

/* Every corner of the upright crop (centred, as planned), mapped back with
 * orient_map, must land inside the stored crop. With an odd margin the
 * centre is ambiguous by half a pixel, so one pixel of slack is allowed. */
static void test_crop_maps_back_through_orientation(void **state)
{
    (void)state;
    const int sizes[][4] = {{4000, 3000, 200, 100}, {3000, 4000, 100, 200}, {640, 480, 64, 64},
                            {1000, 200, 300, 100}, {202, 1002, 100, 50}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int o = 1; o <= 8; o++) {
            int sw = sizes[i][0], sh = sizes[i][1];
            geom_plan p;
            geom_plan_compute(sw, sh, o, sizes[i][2], sizes[i][3], FIT_COVER, false, &p);
            bool tr = orient_transposes(o);
            int uw = tr ? sh : sw, uh = tr ? sw : sh;
            int ucw = tr ? p.crop_h : p.crop_w, uch = tr ? p.crop_w : p.crop_h;
            int ucx = (uw - ucw) / 2, ucy = (uh - uch) / 2;
            int slack = (uw - ucw) % 2 || (uh - uch) % 2 ? 1 : 0;
            const int corners[4][2] = {{ucx, ucy}, {ucx + ucw - 1, ucy}, {ucx, ucy + uch - 1},
                                       {ucx + ucw - 1, ucy + uch - 1}};
            for (int c = 0; c < 4; c++) {
                int sx, sy;
                orient_map(o, uw, uh, corners[c][0], corners[c][1], &sx, &sy);
                if (sx < p.crop_x - slack || sx >= p.crop_x + p.crop_w + slack ||
                    sy < p.crop_y - slack || sy >= p.crop_y + p.crop_h + slack)
                    fail_msg("%dx%d o%d: upright corner %d,%d -> stored %d,%d outside crop "
                             "%d,%d %dx%d",
                             sw, sh, o, corners[c][0], corners[c][1], sx, sy, p.crop_x, p.crop_y,
                             p.crop_w, p.crop_h);
            }
        }
    }
}

/* Properties over many sizes: the crop is inside the image and centred, the
 * output fits the box, and the crop has the output's aspect. */
static void test_cover_properties(void **state)
{
    (void)state;
    const int dims[] = {1, 2, 3, 7, 50, 99, 100, 101, 199, 200, 201, 333, 640, 1001, 4000, 9999};
    const int boxes[][2] = {{200, 200}, {160, 90}, {1, 1}, {64, 300}};
    int n = (int)(sizeof dims / sizeof *dims);
    for (size_t b = 0; b < sizeof boxes / sizeof *boxes; b++) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int o = 1; o <= 8; o += 4) { /* 1 and 5 */
                    int sw = dims[i], sh = dims[j], bw = boxes[b][0], bh = boxes[b][1];
                    geom_plan p;
                    geom_plan_compute(sw, sh, o, bw, bh, FIT_COVER, false, &p);
                    assert_true(p.crop_w >= 1 && p.crop_h >= 1);
                    assert_true(p.crop_x >= 0 && p.crop_y >= 0);
                    assert_true(p.crop_x + p.crop_w <= sw);
                    assert_true(p.crop_y + p.crop_h <= sh);
                    int left = p.crop_x, right = sw - p.crop_x - p.crop_w;
                    int top = p.crop_y, bottom = sh - p.crop_y - p.crop_h;
                    assert_true(abs(left - right) <= 1);
                    assert_true(abs(top - bottom) <= 1);
                    assert_true(p.out_w >= 1 && p.out_w <= bw);
                    assert_true(p.out_h >= 1 && p.out_h <= bh);
                    /* Never enlarged. */
                    bool tr = o >= 5;
                    assert_true(p.out_w <= (tr ? p.crop_h : p.crop_w));
                    assert_true(p.out_h <= (tr ? p.crop_w : p.crop_h));
                    assert_int_equal(p.need_w, tr ? p.out_h : p.out_w);
                    assert_int_equal(p.need_h, tr ? p.out_w : p.out_h);
                    /* Aspect of the (stored) crop matches the needed size. */
                    if (p.need_w >= 50 && p.need_h >= 50) {
                        double sx = (double)p.crop_w / p.need_w, sy = (double)p.crop_h / p.need_h;
                        if (fabs(sx - sy) / sx > 0.02)
                            fail_msg("%dx%d o%d box %dx%d: crop %dx%d for %dx%d", sw, sh, o, bw,
                                     bh, p.crop_w, p.crop_h, p.need_w, p.need_h);
                    }
                }
            }
        }
    }
}

/* The headrooms as factors. */
static const double JPEG_HEADROOM = GEOM_JPEG_HEADROOM_Q4 / 4.0;
static const double SHRINK_HEADROOM = GEOM_SHRINK_HEADROOM_Q4 / 4.0;

/* The definition, independently: ceil(crop * n / 8) as libjpeg scales, at
 * least the headroom times need on both axes (the headrooms are multiples
 * of 1/4, exact in double). */
static int ref_jpeg_scale(int cw, int ch, int nw, int nh)
{
    for (int n = 1; n <= 8; n++) {
        long w = ((long)cw * n) / 8 + (((long)cw * n) % 8 != 0);
        long h = ((long)ch * n) / 8 + (((long)ch * n) % 8 != 0);
        if ((double)w >= JPEG_HEADROOM * nw && (double)h >= JPEG_HEADROOM * nh)
            return n;
    }
    return 8;
}

/* --size 200x and x200: a side of 0 is unbounded; only the other one
 * scales, and cover is inside (nothing is cropped). */
static void test_unbounded_side(void **state)
{
    (void)state;
    /*                                   crop x,y,w,h          out       need */
    PLAN(4000, 3000, 1, 200, 0, FIT_COVER, false, 0, 0, 4000, 3000, 200, 150, 200, 150);
    PLAN(4000, 3000, 1, 0, 200, FIT_COVER, false, 0, 0, 4000, 3000, 267, 200, 267, 200);
    PLAN(4000, 3000, 1, 0, 200, FIT_INSIDE, false, 0, 0, 4000, 3000, 267, 200, 267, 200);
    /* A tall strip with the width bounded: 200 wide, as tall as that makes it. */
    PLAN(1000, 20000, 1, 200, 0, FIT_COVER, false, 0, 0, 1000, 20000, 200, 4000, 200, 4000);
    /* Transposed by orientation 6: the bounded side is the upright width. */
    PLAN(3000, 4000, 6, 200, 0, FIT_COVER, false, 0, 0, 3000, 4000, 200, 150, 150, 200);
    /* Smaller than the bounded side: kept, unless enlarged. */
    PLAN(100, 50, 1, 200, 0, FIT_COVER, false, 0, 0, 100, 50, 100, 50, 100, 50);
    PLAN(100, 50, 1, 200, 0, FIT_COVER, true, 0, 0, 100, 50, 200, 100, 200, 100);
    /* Enlarged, the unbounded side stops at GEOM_UNBOUNDED (aspect kept). */
    PLAN(1000, 1, 1, 0, 200, FIT_INSIDE, true, 0, 0, 1000, 1, GEOM_UNBOUNDED, 16, GEOM_UNBOUNDED, 16);
    int w = 0, h = 300;
    fit_mode f = FIT_COVER;
    geom_box(&w, &h, &f);
    assert_int_equal(w, GEOM_UNBOUNDED);
    assert_int_equal(h, 300);
    assert_int_equal(f, FIT_INSIDE);
    w = 200, h = 100, f = FIT_COVER;
    geom_box(&w, &h, &f);
    assert_true(w == 200 && h == 100 && f == FIT_COVER);
}

static void test_jpeg_scale(void **state)
{
    (void)state;
    /* The default rule, 2x: these hold in a build with the default headroom. */
    if (GEOM_JPEG_HEADROOM_Q4 == 8) {
        assert_int_equal(geom_jpeg_scale(4000, 3000, 200, 150), 1); /* 500x375 >= 400x300 */
        assert_int_equal(geom_jpeg_scale(1600, 1200, 200, 150), 2); /* 1/8 is 200x150 */
        assert_int_equal(geom_jpeg_scale(1000, 1000, 300, 300), 5); /* 625 >= 600, 4/8 = 500 */
        assert_int_equal(geom_jpeg_scale(3200, 2400, 200, 200), 2); /* height decides */
        assert_int_equal(geom_jpeg_scale(799, 1000, 50, 50), 1);    /* ceil(799/8) = 100 */
        assert_int_equal(geom_jpeg_scale(400, 400, 200, 200), 8);   /* only full size */
        /* 5120x2880 wallpaper, cover 200x200: 1/8 gives 360, under 400. */
        assert_int_equal(geom_jpeg_scale(2880, 2880, 200, 200), 2);
        assert_int_equal(geom_jpeg_scale(2880, 2880, 180, 180), 1); /* 360 = 2 x 180 */
        assert_int_equal(geom_jpeg_scale(1, 1, 1, 1), 8);
    }
    assert_int_equal(geom_jpeg_scale(100, 100, 200, 200), 8);   /* none is enough */
    for (int cw = 1; cw < 2000; cw += 37)
        for (int nw = 1; nw < 400; nw += 29) {
            int ch = cw / 2 + 1, nh = nw / 3 + 1;
            int got = geom_jpeg_scale(cw, ch, nw, nh);
            if (got != ref_jpeg_scale(cw, ch, nw, nh))
                fail_msg("geom_jpeg_scale(%d,%d,%d,%d) = %d, want %d", cw, ch, nw, nh, got,
                         ref_jpeg_scale(cw, ch, nw, nh));
        }
}

static void test_shrink_factor(void **state)
{
    (void)state;
    if (GEOM_SHRINK_HEADROOM_Q4 == 8) {
        assert_int_equal(geom_shrink_factor(4000, 3000, 200, 150), 10);
        assert_int_equal(geom_shrink_factor(4000, 3000, 200, 100), 10);  /* width decides */
        assert_int_equal(geom_shrink_factor(3999, 3000, 200, 150), 9);
        assert_int_equal(geom_shrink_factor(4001, 3001, 200, 150), 10);
        assert_int_equal(geom_shrink_factor(1000, 1000, 300, 300), 1);
        assert_int_equal(geom_shrink_factor(10000, 300, 200, 6), 25);
    }
    assert_int_equal(geom_shrink_factor(100, 100, 200, 200), 1);     /* never below 1 */
    assert_int_equal(geom_shrink_factor(1 << 20, 1 << 20, 1, 1), 1 << 14);   /* capped */
    for (int w = 1; w < 5000; w += 97)
        for (int nw = 1; nw < 300; nw += 31) {
            int h = w + 13, nh = nw + 5;
            int k = geom_shrink_factor(w, h, nw, nh);
            assert_true(k >= 1);
            if (k > 1) {
                assert_true((double)w / k >= SHRINK_HEADROOM * nw);
                assert_true((double)h / k >= SHRINK_HEADROOM * nh);
            }
            /* k + 1 would leave less than the headroom in some axis (the
             * output is w / k pixels wide, rounded up: the floor is what
             * the box factor guarantees). */
            assert_true((double)w / (k + 1) < SHRINK_HEADROOM * nw ||
                        (double)h / (k + 1) < SHRINK_HEADROOM * nh);
        }
}

/* The crop on a decode: a libjpeg size (ceil(sw n / 8)) maps at n/8, the
 * crop's fractional edges in the window; the stored size maps 1:1; any
 * other size is stretched. Worked by hand. */
static void test_decoded_crop(void **state)
{
    (void)state;
    geom_decoded d;
    /* 1601x1000 at 1/8 is 201x125: x 800 + 801 is [100, 200.125) */
    geom_plan p = {.crop_x = 800, .crop_y = 3, .crop_w = 801, .crop_h = 994};
    geom_decoded_crop(&p, 1601, 1000, 201, 125, &d);
    assert_int_equal(d.x0, 100);
    assert_int_equal(d.x1, 201);
    assert_true(d.fx == 0 && d.fw == 100.125);
    /* y 3 + 994 is [0.375, 124.625) */
    assert_int_equal(d.y0, 0);
    assert_int_equal(d.y1, 125);
    assert_true(d.fy == 0.375 && d.fh == 124.25);
    /* at 3/8: 1601 -> 601 (600.375), 1000 -> 375; x [300, 600.375) */
    geom_decoded_crop(&p, 1601, 1000, 601, 375, &d);
    assert_true(d.x0 == 300 && d.x1 == 601 && d.fx == 0 && d.fw == 300.375);
    assert_true(d.y0 == 1 && d.y1 == 374 && d.fy == 0.125 && d.fh == 372.75);
    /* the stored size: the crop as it is */
    geom_decoded_crop(&p, 1601, 1000, 1601, 1000, &d);
    assert_true(d.x0 == 800 && d.x1 == 1601 && d.fx == 0 && d.fw == 801);
    assert_true(d.y0 == 3 && d.y1 == 997 && d.fy == 0 && d.fh == 994);
    /* 1000x1000 to 300x300 is no n/8 (125 n): stretched by 0.3;
     * x 201 + 601 is [60.3, 240.6) */
    p = (geom_plan){.crop_x = 201, .crop_y = 0, .crop_w = 601, .crop_h = 1000};
    geom_decoded_crop(&p, 1000, 1000, 300, 300, &d);
    assert_true(d.x0 == 60 && d.x1 == 241);
    assert_true(fabs(d.fx - 0.3) < 1e-9 && fabs(d.fw - 180.3) < 1e-9);
    assert_true(d.fx + d.fw <= d.x1 - d.x0);
    assert_true(d.y0 == 0 && d.y1 == 300 && d.fy == 0 && d.fh <= 300 && d.fh > 300 - 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cover_basic),
        cmocka_unit_test(test_inside_basic),
        cmocka_unit_test(test_smaller_than_box),
        cmocka_unit_test(test_inside_enlarge_tiny),
        cmocka_unit_test(test_orientations_swap),
        cmocka_unit_test(test_crop_maps_back_through_orientation),
        cmocka_unit_test(test_cover_properties),
        cmocka_unit_test(test_unbounded_side),
        cmocka_unit_test(test_jpeg_scale),
        cmocka_unit_test(test_shrink_factor),
        cmocka_unit_test(test_decoded_crop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
