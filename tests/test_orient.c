/* Unit tests for EXIF orientation (src/orient.c).
 *
 * The stored image is 3 wide and 2 tall:
 *
 *     1 2 3
 *     4 5 6
 *
 * The upright results below were written by hand from the EXIF 2.3
 * definition of tag 0x0112 (which visual side the stored row 0 and column 0
 * are on), not derived from the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/image.h"
#include "thumbd/orient.h"

typedef struct expect {
    int w, h;
    int v[6];   /* row-major upright values */
} expect;

static const expect upright[9] = {
    [1] = {3, 2, {1, 2, 3, 4, 5, 6}},   /* row 0 top,    col 0 left   */
    [2] = {3, 2, {3, 2, 1, 6, 5, 4}},   /* row 0 top,    col 0 right  */
    [3] = {3, 2, {6, 5, 4, 3, 2, 1}},   /* row 0 bottom, col 0 right  */
    [4] = {3, 2, {4, 5, 6, 1, 2, 3}},   /* row 0 bottom, col 0 left   */
    [5] = {2, 3, {1, 4, 2, 5, 3, 6}},   /* row 0 left,   col 0 top    */
    [6] = {2, 3, {4, 1, 5, 2, 6, 3}},   /* row 0 right,  col 0 top    (rotate 90 CW) */
    [7] = {2, 3, {6, 3, 5, 2, 4, 1}},   /* row 0 right,  col 0 bottom */
    [8] = {2, 3, {3, 6, 2, 5, 1, 4}},   /* row 0 left,   col 0 bottom (rotate 90 CCW) */
};

/* Channel k of the pixel with value v: distinct per pixel and per channel. */
static float chan(int v, int k)
{
    return (float)(v * 10 + k);
}

static void make_stored(image_f *img, int c, int alpha)
{
    assert_true(image_alloc(img, 3, 2, c, alpha));
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < c; k++)
            img->px[i * c + k] = chan(i + 1, k);
}

static void check_orientation(int o, int c, int alpha)
{
    image_f img;
    make_stored(&img, c, alpha);
    char err[TD_ERRLEN] = "";
    assert_int_equal(orient_apply(&img, o, err), TD_OK);
    const expect *e = &upright[o];
    assert_int_equal(img.w, e->w);
    assert_int_equal(img.h, e->h);
    assert_int_equal(img.c, c);
    assert_int_equal(img.alpha, alpha);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < c; k++)
            if (img.px[i * c + k] != chan(e->v[i], k))
                fail_msg("orientation %d, c=%d: upright pixel (%d,%d) channel %d = %g, want %g",
                         o, c, i % e->w, i / e->w, k, (double)img.px[i * c + k],
                         (double)chan(e->v[i], k));
    image_free(&img);
}

static void test_apply_all_orientations(void **state)
{
    (void)state;
    for (int o = 1; o <= 8; o++) {
        check_orientation(o, 1, -1);
        check_orientation(o, 3, -1);
        check_orientation(o, 4, 3);
        check_orientation(o, 2, 1);
    }
}

static void test_apply_out_of_range_is_noop(void **state)
{
    (void)state;
    const int bad[] = {0, -1, 9, 255};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        image_f img;
        make_stored(&img, 1, -1);
        float *before = img.px;
        char err[TD_ERRLEN] = "";
        assert_int_equal(orient_apply(&img, bad[i], err), TD_OK);
        assert_int_equal(img.w, 3);
        assert_int_equal(img.h, 2);
        assert_ptr_equal(img.px, before);
        for (int k = 0; k < 6; k++)
            assert_true(img.px[k] == chan(k + 1, 0));
        image_free(&img);
    }
}

/* Applying o and then the inverse orientation gives the stored image back:
 * 2, 3, 4, 5 and 7 are their own inverses; 6 and 8 undo each other. */
static void test_inverse_round_trip(void **state)
{
    (void)state;
    const int inverse[9] = {0, 1, 2, 3, 4, 5, 8, 7, 6};
    for (int o = 1; o <= 8; o++) {
        image_f img;
        assert_true(image_alloc(&img, 5, 3, 2, -1));
        for (int i = 0; i < 5 * 3 * 2; i++)
            img.px[i] = (float)i;
        char err[TD_ERRLEN] = "";
        assert_int_equal(orient_apply(&img, o, err), TD_OK);
        assert_int_equal(orient_apply(&img, inverse[o], err), TD_OK);
        assert_int_equal(img.w, 5);
        assert_int_equal(img.h, 3);
        for (int i = 0; i < 5 * 3 * 2; i++)
            assert_true(img.px[i] == (float)i);
        image_free(&img);
    }
}

static void test_map_matches_table(void **state)
{
    (void)state;
    /* orient_map(upright x, y) must point at the stored pixel holding the
     * value the table expects there. */
    for (int o = 1; o <= 8; o++) {
        const expect *e = &upright[o];
        for (int y = 0; y < e->h; y++)
            for (int x = 0; x < e->w; x++) {
                int sx = -1, sy = -1;
                orient_map(o, e->w, e->h, x, y, &sx, &sy);
                assert_true(sx >= 0 && sx < 3 && sy >= 0 && sy < 2);
                assert_int_equal(sy * 3 + sx + 1, e->v[y * e->w + x]);
            }
    }
}

/* The window (image.h) turns with the pixels: on the stored 3x2 image,
 * x [0.25, 2.5) and y [0, 1.5), upright by hand from the table above
 * (which stored axis each upright one runs along, and from which end). A
 * window of 0 (the whole grid) comes out as the whole upright grid. */
static void test_window_turns(void **state)
{
    (void)state;
    static const double want[9][4] = {
        [1] = {0.25, 0, 2.25, 1.5}, [2] = {0.5, 0, 2.25, 1.5},  [3] = {0.5, 0.5, 2.25, 1.5},
        [4] = {0.25, 0.5, 2.25, 1.5}, [5] = {0, 0.25, 1.5, 2.25}, [6] = {0.5, 0.25, 1.5, 2.25},
        [7] = {0.5, 0.5, 1.5, 2.25},  [8] = {0, 0.5, 1.5, 2.25},
    };
    for (int o = 1; o <= 8; o++) {
        image_f img;
        make_stored(&img, 1, -1);
        img.win_x = 0.25;
        img.win_w = 2.25;
        img.win_h = 1.5;
        char err[TD_ERRLEN] = "";
        assert_int_equal(orient_apply(&img, o, err), TD_OK);
        if (img.win_x != want[o][0] || img.win_y != want[o][1] || img.win_w != want[o][2] ||
            img.win_h != want[o][3])
            fail_msg("orientation %d: window %gx%g+%g+%g, want %gx%g+%g+%g", o, img.win_w,
                     img.win_h, img.win_x, img.win_y, want[o][2], want[o][3], want[o][0],
                     want[o][1]);
        image_free(&img);
        make_stored(&img, 1, -1);
        assert_int_equal(orient_apply(&img, o, err), TD_OK);
        assert_true(o == 1 || (img.win_x == 0 && img.win_y == 0 && img.win_w == img.w &&
                               img.win_h == img.h));
        image_free(&img);
    }
}

/* orient_copy of the 3x2 stored image as the region at (1, 1) of a 5x4
 * one (its other pixels -1) is orient_apply of it alone: the same pixels
 * and window (the region's, 2.25x1.5+0.25+0), and the 5x4 image is left
 * as it was. */
static void test_copy_region(void **state)
{
    (void)state;
    for (int o = 2; o <= 8; o++) {
        image_f big, one, up;
        assert_true(image_alloc(&big, 5, 4, 2, 1));
        for (int i = 0; i < 5 * 4 * 2; i++)
            big.px[i] = -1;
        make_stored(&one, 2, 1);
        for (int y = 0; y < 2; y++)
            memcpy(big.px + ((size_t)(1 + y) * 5 + 1) * 2, one.px + (size_t)y * 3 * 2,
                   3 * 2 * sizeof(float));
        image_f before = big;
        float *saved = malloc(5 * 4 * 2 * sizeof(float));
        assert_non_null(saved);
        memcpy(saved, big.px, 5 * 4 * 2 * sizeof(float));
        image_f reg = {.w = 3, .h = 2, .c = 2, .alpha = 1, .win_x = 0.25, .win_w = 2.25,
                       .win_h = 1.5};
        char err[TD_ERRLEN] = "";
        assert_int_equal(orient_copy(&big, 1, 1, &reg, o, &up, err), TD_OK);
        one.win_x = 0.25, one.win_w = 2.25, one.win_h = 1.5;
        assert_int_equal(orient_apply(&one, o, err), TD_OK);
        assert_true(up.w == one.w && up.h == one.h && up.c == 2 && up.alpha == 1);
        assert_memory_equal(up.px, one.px, (size_t)up.w * (size_t)up.h * 2 * sizeof(float));
        assert_true(up.win_x == one.win_x && up.win_y == one.win_y && up.win_w == one.win_w &&
                    up.win_h == one.win_h);
        assert_true(big.px == before.px && big.w == 5 && big.h == 4);
        assert_memory_equal(big.px, saved, 5 * 4 * 2 * sizeof(float));
        free(saved);
        image_free(&up);
        image_free(&one);
        image_free(&big);
    }
}

static void test_transposes(void **state)
{
    (void)state;
    for (int o = -1; o <= 10; o++)
        assert_int_equal(orient_transposes(o), o >= 5 && o <= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_all_orientations),
        cmocka_unit_test(test_apply_out_of_range_is_noop),
        cmocka_unit_test(test_inverse_round_trip),
        cmocka_unit_test(test_map_matches_table),
        cmocka_unit_test(test_transposes),
        cmocka_unit_test(test_window_turns),
        cmocka_unit_test(test_copy_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
