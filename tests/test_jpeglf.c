/* jpeglf (2/8 and 4/8) and jpegdc (1/8) against libjpeg's own scaled
 * decode of the same progressive files, generated here with libjpeg:
 * sampling 4:2:0, 4:2:2, 4:4:4 and grey, restart intervals, libjpeg's
 * default progression (with successive approximation), spectral selection
 * alone, and truncated or damaged files. */
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

#include "thumbd/codec.h"
#include "thumbd/jpegdc.h"
#include "thumbd/jpeglf.h"

typedef struct capture {
    int w, h, c;
    uint8_t *px;
    int rows, warnings;
} capture;

static bool cap_row(void *ctx, int y, const uint8_t *px)
{
    capture *k = ctx;
    if (k->px && y >= 0 && y < k->h)
        memcpy(k->px + (size_t)y * (size_t)k->w * (size_t)k->c, px, (size_t)k->w * (size_t)k->c);
    k->rows++;
    return true;
}

static void cap_warning(void *ctx, const char *msg)
{
    capture *k = ctx;
    (void)msg;
    k->warnings++;
}

typedef enum script { SCRIPT_SIMPLE, SCRIPT_SPECTRAL, SCRIPT_BASELINE } script;

typedef struct spec {
    int w, h, comps, quality, restart, hs, vs; /* hs, vs: luma sampling factors */
    script scr;
} spec;

/* Spectral selection only, DC of each component in its own scan. */
static jpeg_scan_info spectral_scans[] = {
    {1, {0}, 0, 0, 0, 0}, {1, {1}, 0, 0, 0, 0}, {1, {2}, 0, 0, 0, 0},
    {1, {0}, 1, 5, 0, 0}, {1, {2}, 1, 63, 0, 0}, {1, {1}, 1, 63, 0, 0},
    {1, {0}, 6, 20, 0, 0}, {1, {0}, 21, 63, 0, 0},
};

static void fill_row(uint8_t *row, int w, int y, int comps)
{
    /* Sharp luminance detail on smooth colour, as in photographs. */
    for (int x = 0; x < w; x++) {
        double l = 40 * sin(x * 0.05) * cos(y * 0.043) + ((x / 37 + y / 29) % 2 ? 30 : -30);
        for (int k = 0; k < comps; k++) {
            double base = 128 + 70 * sin(x * 0.004 * (k + 1) + y * 0.003 * (3 - k));
            row[x * comps + k] = (uint8_t)fmin(255, fmax(0, base + l + ((x * 7 + y * 13) % 11) - 5));
        }
    }
}

static FILE *make_jpeg(const spec *sp)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)sp->w;
    c.image_height = (JDIMENSION)sp->h;
    c.input_components = sp->comps;
    c.in_color_space = sp->comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, sp->quality, TRUE);
    if (sp->comps == 3) {
        c.comp_info[0].h_samp_factor = sp->hs;
        c.comp_info[0].v_samp_factor = sp->vs;
    }
    c.restart_interval = (unsigned)sp->restart;
    if (sp->scr == SCRIPT_SIMPLE)
        jpeg_simple_progression(&c);
    if (sp->scr == SCRIPT_SPECTRAL && sp->comps == 3) {
        c.scan_info = spectral_scans;
        c.num_scans = (int)(sizeof spectral_scans / sizeof spectral_scans[0]);
    }
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)sp->w * (size_t)sp->comps);
    while (c.next_scanline < c.image_height) {
        fill_row(row, sp->w, (int)c.next_scanline, sp->comps);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    rewind(f);
    return f;
}

/* libjpeg's own decode at scale/8, with the settings src/jpeg.c uses
 * (libjpeg's defaults: islow IDCT, fancy upsampling). */
static void libjpeg_scaled(FILE *f, int scale, capture *k)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.scale_num = (unsigned)scale;
    d.scale_denom = 8;
    jpeg_start_decompress(&d);
    k->w = (int)d.output_width;
    k->h = (int)d.output_height;
    k->c = d.output_components;
    k->px = malloc((size_t)k->w * (size_t)k->h * (size_t)k->c);
    while (d.output_scanline < d.output_height) {
        JSAMPROW rp = k->px + (size_t)d.output_scanline * (size_t)k->w * (size_t)k->c;
        jpeg_read_scanlines(&d, &rp, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    rewind(f);
}

/* Decodes f at scale/8 with jpegdc (1/8) or jpeglf into got. */
static td_status ours(FILE *f, int scale, failon_level fail_on, capture *got, bool *fallback, char *err)
{
    codec_sink sink = {.row = cap_row, .warning = cap_warning, .ctx = got};
    cancel_token tok;
    cancel_init(&tok, 0);
    *fallback = true;
    if (scale == 1)
        return jpegdc_decode(f, &sink, 1000, &tok, fallback, err);
    return jpeglf_decode(f, &sink, scale, 1000, fail_on, &tok, fallback, err);
}

/* The largest and the mean absolute difference, per channel, over the
 * image: what "within rounding" is measured by. */
static void compare_at(const spec *sp, int scale, int max_tol, double mean_tol)
{
    FILE *f = make_jpeg(sp);
    capture ref = {0}, got = {0};
    libjpeg_scaled(f, scale, &ref);
    got = (capture){.w = ref.w, .h = ref.h, .c = ref.c};
    got.px = calloc((size_t)got.w * (size_t)got.h * (size_t)got.c, 1);
    bool fallback;
    char err[TD_ERRLEN] = "";
    assert_int_equal(ours(f, scale, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_OK);
    assert_false(fallback);
    assert_int_equal(got.rows, ref.h);
    assert_int_equal(got.warnings, 0);
    for (int ch = 0; ch < ref.c; ch++) {
        int maxd = 0;
        double sum = 0;
        size_t n = (size_t)ref.w * (size_t)ref.h;
        for (size_t i = 0; i < n; i++) {
            int dlt = abs((int)ref.px[i * (size_t)ref.c + (size_t)ch] - (int)got.px[i * (size_t)ref.c + (size_t)ch]);
            sum += dlt;
            maxd = dlt > maxd ? dlt : maxd;
        }
        print_message("%dx%d c=%d %dx%d q=%d rst=%d script=%d scale %d/8, channel %d: max %d, mean %.4f\n",
                      sp->w, sp->h, sp->comps, sp->hs, sp->vs, sp->quality, sp->restart, (int)sp->scr,
                      scale, ch, maxd, sum / (double)n);
        assert_true(maxd <= max_tol);
        assert_true(sum / (double)n <= mean_tol);
    }
    free(ref.px);
    free(got.px);
    fclose(f);
}

/* jpeglf: within rounding of libjpeg's integer IDCT. Measured (printed
 * above each check): at most 1 grey level in a grey image; in RGB at most 3
 * (a +-1 in Y and Cr adds up through R = Y + 1.402 Cr), means per channel
 * 0.01 to 0.05. */
static void compare_lf(const spec *sp)
{
    int max = sp->comps == 1 ? 1 : 3;
    compare_at(sp, 2, max, 0.06);
    compare_at(sp, 4, max, 0.06);
}

static void test_420(void **s) { (void)s; compare_lf(&(spec){1203, 797, 3, 90, 0, 2, 2, SCRIPT_SIMPLE}); }
static void test_444(void **s) { (void)s; compare_lf(&(spec){640, 480, 3, 75, 0, 1, 1, SCRIPT_SIMPLE}); }
static void test_422(void **s) { (void)s; compare_lf(&(spec){611, 405, 3, 85, 0, 2, 1, SCRIPT_SIMPLE}); }
static void test_gray(void **s) { (void)s; compare_lf(&(spec){999, 501, 1, 85, 0, 1, 1, SCRIPT_SIMPLE}); }
static void test_restart(void **s) { (void)s; compare_lf(&(spec){800, 600, 3, 85, 7, 2, 2, SCRIPT_SIMPLE}); }
static void test_restart_444(void **s) { (void)s; compare_lf(&(spec){333, 251, 3, 95, 3, 1, 1, SCRIPT_SIMPLE}); }
static void test_spectral(void **s) { (void)s; compare_lf(&(spec){517, 389, 3, 92, 0, 2, 2, SCRIPT_SPECTRAL}); }
static void test_high_quality(void **s) { (void)s; compare_lf(&(spec){256, 200, 3, 100, 0, 2, 2, SCRIPT_SIMPLE}); }
static void test_tiny(void **s) { (void)s; compare_lf(&(spec){9, 5, 3, 80, 1, 2, 2, SCRIPT_SIMPLE}); }

/* jpegdc keeps the DC alone, where libjpeg at 1/8 scales 4:2:0 chroma with a
 * 2x2 IDCT: the chroma of edges differs by more than rounding. */
static void test_dc_eighth(void **s)
{
    (void)s;
    compare_at(&(spec){1203, 797, 3, 90, 0, 2, 2, SCRIPT_SIMPLE}, 1, 8, 2.5);
    compare_at(&(spec){640, 480, 3, 75, 0, 1, 1, SCRIPT_SIMPLE}, 1, 8, 2.5);
}

static void test_baseline_falls_back(void **s)
{
    (void)s;
    FILE *f = make_jpeg(&(spec){64, 64, 3, 90, 0, 2, 2, SCRIPT_BASELINE});
    capture got = {0};
    bool fallback = false;
    char err[TD_ERRLEN] = "";
    assert_int_equal(ours(f, 2, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_OK);
    assert_true(fallback);
    assert_int_equal(got.rows, 0);
    fclose(f);
}

static FILE *copy_prefix(FILE *f, long len, long flip_at)
{
    FILE *t = tmpfile();
    assert_non_null(t);
    rewind(f);
    for (long i = 0; i < len; i++) {
        int c = getc(f);
        assert_true(c != EOF);
        putc(i == flip_at ? c ^ 0x5A : c, t);
    }
    rewind(t);
    return t;
}

/* A file cut anywhere: at the default --fail-on an error naming the
 * truncation and no row; at --fail-on none, every row and a warning. */
static void test_truncated(void **s)
{
    (void)s;
    FILE *f = make_jpeg(&(spec){400, 300, 3, 90, 5, 2, 2, SCRIPT_SIMPLE});
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (int pct = 5; pct < 100; pct += 9) {
        FILE *t = copy_prefix(f, size * pct / 100, -1);
        capture got = {.w = 100, .h = 75, .c = 3};
        bool fallback;
        char err[TD_ERRLEN] = "";
        assert_int_equal(ours(t, 2, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_EINPUT);
        assert_non_null(strstr(err, "truncated"));
        assert_int_equal(got.rows, 0);
        rewind(t);
        got.rows = got.warnings = 0;
        assert_int_equal(ours(t, 2, FAIL_ON_NONE, &got, &fallback, err), TD_OK);
        assert_int_equal(got.rows, 75);
        assert_true(got.warnings >= 1);
        fclose(t);
    }
    fclose(f);
}

/* Damaged entropy data: never a crash; an error or every row. */
static void test_damaged(void **s)
{
    (void)s;
    FILE *f = make_jpeg(&(spec){200, 150, 3, 90, 0, 2, 2, SCRIPT_SIMPLE});
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (long at = 700; at < size - 2; at += 97) {
        FILE *t = copy_prefix(f, size, at);
        for (int scale = 2; scale <= 4; scale += 2) {
            capture got = {.w = (200 * scale + 7) / 8, .h = (150 * scale + 7) / 8, .c = 3};
            bool fallback;
            char err[TD_ERRLEN] = "";
            rewind(t);
            td_status st = ours(t, scale, FAIL_ON_TRUNCATED, &got, &fallback, err);
            assert_true(st == TD_OK || st == TD_EINPUT);
            assert_true(st == TD_OK ? fallback || got.rows == got.h : got.rows == 0);
        }
        fclose(t);
    }
    fclose(f);
}

static void test_work_bytes(void **s)
{
    (void)s;
    int h[3] = {1, 1, 1}, v[3] = {1, 1, 1};
    /* 32768 x 3051 4:4:4 at 2/8: 3 x 4096 x 382 blocks of 16 + 16 bytes. */
    size_t n = jpeglf_work_bytes(2, 32768, 3051, 3, h, v);
    assert_true(n >= (size_t)3 * 4096 * 382 * 32);
    assert_true(n < (size_t)3 * 4096 * 382 * 32 + (1 << 20));
    assert_true(jpeglf_supported(2, 3, h, v));
    int h420[3] = {2, 1, 1}, v420[3] = {2, 1, 1}, h411[3] = {4, 1, 1};
    assert_true(jpeglf_supported(4, 3, h420, v420));
    assert_false(jpeglf_supported(2, 3, h411, v));
    assert_false(jpeglf_supported(8, 3, h, v));
}

/* jpeg_decode through a sink: which decoder, and what it reserves. */
typedef struct plan {
    int scale, w, h, rows;
    size_t work;
    const char *decoder;
} plan;

static td_status plan_header(void *ctx, const codec_info *info, int *scale_num, char *err)
{
    (void)info;
    (void)err;
    *scale_num = ((plan *)ctx)->scale;
    return TD_OK;
}

static td_status plan_start(void *ctx, int w, int h, size_t work_bytes, char *err)
{
    (void)err;
    plan *p = ctx;
    p->w = w;
    p->h = h;
    p->work = work_bytes;
    return TD_OK;
}

static bool plan_row(void *ctx, int y, const uint8_t *px)
{
    (void)y;
    (void)px;
    ((plan *)ctx)->rows++;
    return true;
}

static void plan_decoder(void *ctx, const char *name)
{
    ((plan *)ctx)->decoder = name;
}

static plan decode_planned(FILE *f, int scale)
{
    plan p = {.scale = scale};
    codec_sink sink = {.header = plan_header, .start = plan_start, .row = plan_row,
                       .decoder = plan_decoder, .ctx = &p};
    codec_limits lim = {.max_chunk = 1 << 20, .max_scans = 1000, .fail_on = FAIL_ON_TRUNCATED};
    cancel_token tok;
    cancel_init(&tok, 0);
    char err[TD_ERRLEN] = "";
    rewind(f);
    assert_int_equal(jpeg_decode(f, &sink, &lim, &tok, err), TD_OK);
    assert_int_equal(p.rows, p.h);
    return p;
}

/* 640x480 4:2:0 progressive: 80x60 luma and 2 x 40x30 chroma blocks. */
static void test_jpeg_decode_reserves(void **s)
{
    (void)s;
    FILE *f = make_jpeg(&(spec){640, 480, 3, 85, 0, 2, 2, SCRIPT_SIMPLE});
    int h[3] = {2, 1, 1}, v[3] = {2, 1, 1};
    plan p = decode_planned(f, 2);
    assert_string_equal(p.decoder, "jpeg-lf-2/8");
    assert_int_equal(p.w, 160);
    assert_int_equal(p.work, jpeglf_work_bytes(2, 640, 480, 3, h, v));
    /* 2/8: 32 bytes a luma block, 16 + 64 a chroma one (its 4x4 IDCT). */
    assert_true(p.work >= (size_t)80 * 60 * 32 + (size_t)2 * 40 * 30 * 80);
    p = decode_planned(f, 3);
    assert_string_equal(p.decoder, "jpeg-lf-4/8");
    assert_int_equal(p.w, 320);
    p = decode_planned(f, 8);
    assert_string_equal(p.decoder, "jpeg-8/8");
    /* libjpeg keeps every coefficient: 128 bytes a block. */
    assert_true(p.work >= (size_t)(80 * 60 + 2 * 40 * 30) * 128);
    p = decode_planned(f, 1);
    assert_string_equal(p.decoder, "jpeg-dc-1/8");
    assert_true(p.work < (size_t)(80 * 60 + 2 * 40 * 30) * 8 + (1 << 17));
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_420),
        cmocka_unit_test(test_444),
        cmocka_unit_test(test_422),
        cmocka_unit_test(test_gray),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_restart_444),
        cmocka_unit_test(test_spectral),
        cmocka_unit_test(test_high_quality),
        cmocka_unit_test(test_tiny),
        cmocka_unit_test(test_dc_eighth),
        cmocka_unit_test(test_baseline_falls_back),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_work_bytes),
        cmocka_unit_test(test_jpeg_decode_reserves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
