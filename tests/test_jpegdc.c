/* jpegdc against libjpeg's own 1/8-scale decode of the same progressive
 * files: the DC-only shortcut must give the same picture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "thumbd/jpegdc.h"

typedef struct capture {
    int w, h, c;
    uint8_t *px;
    int rows;
} capture;

static bool cap_row(void *ctx, int y, const uint8_t *px)
{
    capture *k = ctx;
    memcpy(k->px + (size_t)y * (size_t)k->w * (size_t)k->c, px, (size_t)k->w * (size_t)k->c);
    k->rows++;
    return true;
}

/* A smooth picture with edges and colour, progressive or not, in memory. */
static FILE *make_jpeg(int w, int h, int comps, bool progressive, int quality, int restart,
                       int h_samp)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (comps == 3)
        c.comp_info[0].h_samp_factor = h_samp;
    c.restart_interval = (unsigned)restart;
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * (size_t)comps);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        /* Sharp luminance detail on smooth colour, as in photographs. */
        for (int x = 0; x < w; x++) {
            double l = 40 * sin(x * 0.05) * cos(y * 0.043) + ((x / 37 + y / 29) % 2 ? 30 : -30);
            for (int k = 0; k < comps; k++) {
                double base = 128 + 70 * sin(x * 0.004 * (k + 1) + y * 0.003 * (3 - k));
                row[x * comps + k] = (uint8_t)fmin(255, fmax(0, base + l));
            }
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    rewind(f);
    return f;
}

/* The reference: libjpeg's full decode, each 8x8 block averaged. A block's
 * DC coefficient is exactly its mean, so this is what a perfect 1/8 image
 * is; libjpeg's own 1/8 mode is no fairer a judge, since it scales subsampled
 * chroma with a 2x2 IDCT rather than from the DC. */
static void libjpeg_block_means(FILE *f, capture *k)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    jpeg_start_decompress(&d);
    int w = (int)d.output_width, c = d.output_components;
    k->w = (w + 7) / 8;
    k->h = ((int)d.output_height + 7) / 8;
    k->c = c;
    double *sum = calloc((size_t)k->w * (size_t)k->h * (size_t)c, sizeof *sum);
    int *cnt = calloc((size_t)k->w * (size_t)k->h, sizeof *cnt);
    uint8_t *row = malloc((size_t)w * (size_t)c);
    while (d.output_scanline < d.output_height) {
        int y = (int)d.output_scanline;
        JSAMPROW rp = row;
        jpeg_read_scanlines(&d, &rp, 1);
        for (int x = 0; x < w; x++) {
            size_t b = (size_t)(y / 8) * (size_t)k->w + (size_t)(x / 8);
            cnt[b]++;
            for (int i = 0; i < c; i++)
                sum[b * (size_t)c + (size_t)i] += row[x * c + i];
        }
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    k->px = malloc((size_t)k->w * (size_t)k->h * (size_t)c);
    for (size_t b = 0; b < (size_t)k->w * (size_t)k->h; b++)
        for (int i = 0; i < c; i++)
            k->px[b * (size_t)c + (size_t)i] = (uint8_t)lround(sum[b * (size_t)c + (size_t)i] / cnt[b]);
    free(sum);
    free(cnt);
    free(row);
    rewind(f);
}

static double psnr(const capture *a, const capture *b, int *maxdiff)
{
    size_t n = (size_t)a->w * (size_t)a->h * (size_t)a->c;
    double se = 0;
    *maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        int dlt = abs((int)a->px[i] - (int)b->px[i]);
        se += (double)dlt * dlt;
        if (dlt > *maxdiff)
            *maxdiff = dlt;
    }
    double mse = se / (double)n;
    return mse == 0 ? 99.0 : 10 * log10(255.0 * 255.0 / mse);
}

static void compare(int w, int h, int comps, int quality, int restart, int h_samp)
{
    FILE *f = make_jpeg(w, h, comps, true, quality, restart, h_samp);
    capture ref = {0}, got = {0};
    libjpeg_block_means(f, &ref);
    got.w = ref.w;
    got.h = ref.h;
    got.c = ref.c;
    got.px = calloc((size_t)got.w * (size_t)got.h * (size_t)got.c, 1);
    codec_sink sink = {.row = cap_row, .ctx = &got};
    cancel_token tok;
    cancel_init(&tok, 0);
    bool fallback = true;
    char err[TD_ERRLEN] = "";
    assert_int_equal(jpegdc_decode(f, &sink, 100, &tok, &fallback, err), TD_OK);
    assert_false(fallback);
    assert_int_equal(got.rows, ref.h);
    int maxdiff;
    double p = psnr(&ref, &got, &maxdiff);
    /* What differs: the DC's low bit, not yet sent when we stop reading
     * (reconstructed at its midpoint: at most half a DC quantisation step,
     * one or two grey levels), and subsampled chroma, which the DC gives per
     * 16x16 pixels where the reference averages upsampled chroma per 8x8.
     * 40 dB is the usual threshold of a visually lossless copy, and this
     * image is still to be shrunk further. Grey images agree to ~53 dB. */
    print_message("%dx%d c=%d q=%d: PSNR %.1f dB, max diff %d\n", w, h, comps, quality, p, maxdiff);
    assert_true(p >= 40.0);
    assert_true(maxdiff <= 12);
    free(ref.px);
    free(got.px);
    fclose(f);
}

static void test_ycbcr_420(void **s) { (void)s; compare(1203, 797, 3, 90, 0, 2); }
static void test_ycbcr_444(void **s) { (void)s; compare(640, 480, 3, 75, 0, 1); }
static void test_gray(void **s) { (void)s; compare(999, 501, 1, 85, 0, 1); }
static void test_restart_intervals(void **s) { (void)s; compare(800, 600, 3, 85, 7, 2); }

static void test_truncated_is_an_error(void **s)
{
    (void)s;
    FILE *f = make_jpeg(800, 600, 3, true, 90, 0, 2);
    /* Keep only the first 300 bytes: inside the DC scan. */
    uint8_t buf[300];
    assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);
    FILE *t = tmpfile();
    fwrite(buf, 1, sizeof buf, t);
    rewind(t);
    capture got = {.w = 100, .h = 75, .c = 3};
    got.px = calloc(100 * 75 * 3, 1);
    codec_sink sink = {.row = cap_row, .ctx = &got};
    cancel_token tok;
    cancel_init(&tok, 0);
    bool fallback;
    char err[TD_ERRLEN] = "";
    assert_int_equal(jpegdc_decode(t, &sink, 100, &tok, &fallback, err), TD_EINPUT);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(got.rows, 0);
    free(got.px);
    fclose(t);
}

static void test_baseline_falls_back(void **s)
{
    (void)s;
    FILE *f = make_jpeg(64, 64, 3, false, 90, 0, 2);
    codec_sink sink = {.row = cap_row, .ctx = NULL};
    cancel_token tok;
    cancel_init(&tok, 0);
    bool fallback = false;
    char err[TD_ERRLEN] = "";
    assert_int_equal(jpegdc_decode(f, &sink, 100, &tok, &fallback, err), TD_OK);
    assert_true(fallback);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ycbcr_420),
        cmocka_unit_test(test_ycbcr_444),
        cmocka_unit_test(test_gray),
        cmocka_unit_test(test_restart_intervals),
        cmocka_unit_test(test_truncated_is_an_error),
        cmocka_unit_test(test_baseline_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
