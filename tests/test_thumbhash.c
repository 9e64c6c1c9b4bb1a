/* Unit tests of the ThumbHash encoder (thumbhash.h): its bytes against the
 * reference encoder's for the same pixels (tests/thumbhash_vectors.h, made by
 * tests/thumbhash_ref.mjs with the npm package thumbhash), the base64, the
 * box downscale to 100x100 and the whole placeholder path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "thumbd/thumbhash.h"
#include "thumbhash_vectors.h"

/* Pixel (x, y) of the named test image: the formulas of thumbhash_ref.mjs. */
static void draw_pixel(const char *name, int x, int y, uint8_t *p)
{
    int v[4] = {0, 0, 0, 255};
    if (!strcmp(name, "gradient")) {
        v[0] = x * 255 / 31, v[1] = y * 255 / 31, v[2] = (x + y) * 4;
    } else if (!strcmp(name, "solid")) {
        v[0] = 30, v[1] = 144, v[2] = 255;
    } else if (!strcmp(name, "alpha")) {
        v[0] = x * 6, v[1] = 200, v[2] = y * 6, v[3] = (x + y) * 255 / 78;
    } else if (!strcmp(name, "wide")) {
        v[0] = (x * x + y * 3) & 255, v[1] = ((x * 7) ^ (y * 13)) & 255;
        v[2] = ((x + y * 2) * 2) & 255;
    } else if (!strcmp(name, "tall_alpha")) {
        v[0] = (x * 5) & 255, v[1] = (y * 2) & 255, v[2] = 90, v[3] = y < 50 ? 255 : (x * 7) & 255;
    } else if (!strcmp(name, "one")) {
        v[0] = 220, v[1] = 20, v[2] = 60;
    } else if (!strcmp(name, "transparent")) {
        v[0] = 50, v[1] = 60, v[2] = 70, v[3] = 0;
    } else if (!strcmp(name, "full")) {
        v[0] = (x * y) & 255, v[1] = (x * 2 + y) & 255, v[2] = (255 - x - y) & 255;
    } else {
        fail_msg("no formula for test image %s", name);
    }
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)v[k];
}

static uint8_t *draw(const char *name, int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            draw_pixel(name, x, y, px + ((size_t)y * (size_t)w + (size_t)x) * 4);
    return px;
}

static void test_matches_reference(void **state)
{
    (void)state;
    size_t n = sizeof thumbhash_vectors / sizeof thumbhash_vectors[0];
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        const struct thumbhash_vector *v = &thumbhash_vectors[i];
        uint8_t *px = draw(v->name, v->w, v->h);
        uint8_t hash[THUMBHASH_MAX_BYTES];
        size_t len = 0;
        char err[TD_ERRLEN] = "";
        assert_int_equal(thumbhash_encode(px, v->w, v->h, hash, &len, err), TD_OK);
        print_message("%-12s %3dx%-3d %zu bytes\n", v->name, v->w, v->h, len);
        assert_int_equal(len, v->len);
        assert_memory_equal(hash, v->hash, len);
        char b64[THUMBHASH_B64_SIZE];
        thumbhash_base64(hash, len, b64);
        assert_string_equal(b64, v->base64);
        free(px);
    }
}

static void test_refuses_sizes_out_of_range(void **state)
{
    (void)state;
    uint8_t px[4] = {0, 0, 0, 255}, hash[THUMBHASH_MAX_BYTES];
    size_t len;
    char err[TD_ERRLEN] = "";
    assert_int_equal(thumbhash_encode(px, 0, 1, hash, &len, err), TD_EINPUT);
    assert_int_equal(thumbhash_encode(px, 101, 1, hash, &len, err), TD_EINPUT);
    assert_non_null(strstr(err, "101x1"));
    char out[THUMBHASH_B64_SIZE];
    assert_int_equal(thumbhash_placeholder(px, 1, 1, 2, out, err), TD_EINPUT);
    assert_string_equal(out, "");
}

static void test_base64_padding(void **state)
{
    (void)state;
    const uint8_t d[] = {'f', 'o', 'o', 'b', 'a', 'r'};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[THUMBHASH_B64_SIZE];
    for (size_t n = 0; n <= sizeof d; n++) {
        thumbhash_base64(d, n, out);
        assert_string_equal(out, want[n]);
    }
    uint8_t ff[THUMBHASH_MAX_BYTES];
    memset(ff, 0xff, sizeof ff);
    thumbhash_base64(ff, sizeof ff, out);
    assert_int_equal(strlen(out), THUMBHASH_B64_SIZE - 1);
}

static void test_fit(void **state)
{
    (void)state;
    int w, h;
    thumbhash_fit(100, 37, &w, &h);
    assert_true(w == 100 && h == 37);
    thumbhash_fit(200, 200, &w, &h);
    assert_true(w == 100 && h == 100);
    thumbhash_fit(320, 240, &w, &h);
    assert_true(w == 100 && h == 75);
    thumbhash_fit(150, 401, &w, &h);
    assert_true(w == 37 && h == 100); /* 37.4 */
    thumbhash_fit(16384, 1, &w, &h);
    assert_true(w == 100 && h == 1);
}

/* A 2x2 block averages; a transparent pixel's colour does not count. */
static void test_downscale_weights_by_alpha(void **state)
{
    (void)state;
    /* 4x4 to 2x2: each 2x2 block is red opaque, green transparent, red
     * opaque, blue half transparent. */
    uint8_t src[4 * 4 * 4], out[2 * 2 * 4];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            uint8_t *p = src + (y * 4 + x) * 4;
            int q = (y % 2) * 2 + x % 2;
            const uint8_t c[4][4] = {{255, 0, 0, 255}, {0, 255, 0, 0}, {255, 0, 0, 255}, {0, 0, 255, 128}};
            memcpy(p, c[q], 4);
        }
    thumbhash_downscale(src, 4, 4, 4, out, 2, 2);
    for (int i = 0; i < 4; i++) {
        const uint8_t *o = out + i * 4;
        /* red 255 * 255 * 2 / (255 + 255 + 128) = 203.8; blue 255 * 128 / 638 = 51.2 */
        assert_int_equal(o[0], 204);
        assert_int_equal(o[1], 0);
        assert_int_equal(o[2], 51);
        assert_int_equal(o[3], (255 * 2 + 128 + 2) / 4);
    }
}

/* A thumbnail larger than 100x100 gives the hash of its downscale; an RGB
 * one the hash of the same pixels opaque. */
static void test_placeholder_of_large_and_rgb(void **state)
{
    (void)state;
    enum { W = 200, H = 74 };
    uint8_t *rgb = malloc(W * H * 3), *rgba = malloc(W * H * 4);
    assert_non_null(rgb);
    assert_non_null(rgba);
    for (int i = 0; i < W * H; i++) {
        rgb[i * 3] = rgba[i * 4] = (uint8_t)(i % W);
        rgb[i * 3 + 1] = rgba[i * 4 + 1] = (uint8_t)(i / W * 3);
        rgb[i * 3 + 2] = rgba[i * 4 + 2] = 77;
        rgba[i * 4 + 3] = 255;
    }
    char a[THUMBHASH_B64_SIZE], b[THUMBHASH_B64_SIZE], err[TD_ERRLEN];
    assert_int_equal(thumbhash_placeholder(rgb, W, H, 3, a, err), TD_OK);
    assert_int_equal(thumbhash_placeholder(rgba, W, H, 4, b, err), TD_OK);
    assert_string_equal(a, b);

    uint8_t small[100 * 37 * 4], hash[THUMBHASH_MAX_BYTES];
    thumbhash_downscale(rgba, W, H, 4, small, 100, 37);
    size_t len;
    assert_int_equal(thumbhash_encode(small, 100, 37, hash, &len, err), TD_OK);
    char c[THUMBHASH_B64_SIZE];
    thumbhash_base64(hash, len, c);
    assert_string_equal(a, c);
    /* the header says landscape (bit 15 of bytes 3..4) */
    assert_true(hash[4] & 0x80);
    free(rgb);
    free(rgba);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_refuses_sizes_out_of_range),
        cmocka_unit_test(test_base64_padding),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_downscale_weights_by_alpha),
        cmocka_unit_test(test_placeholder_of_large_and_rgb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
