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

typedef enum script { SCRIPT_SIMPLE, SCRIPT_SPECTRAL, SCRIPT_BASELINE, SCRIPT_SKIPREF, SCRIPT_KEPTREF } script;

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

/* Successive approximation where, at 2/8, the luma refinement covers a band
 * (6..63) whose first scan the low-frequency mode skips. */
static jpeg_scan_info skipref_scans[] = {
    {3, {0, 1, 2}, 0, 0, 0, 0}, {1, {0}, 1, 5, 0, 1}, {1, {0}, 6, 63, 0, 1},
    {1, {1}, 1, 63, 0, 0}, {1, {2}, 1, 63, 0, 0}, {1, {0}, 1, 63, 1, 0},
};

/* Successive approximation where luma's band 1..2, kept at 2/8 and 4/8,
 * is refined on its own (the low-frequency mode reads that refinement). */
static jpeg_scan_info keptref_scans[] = {
    {3, {0, 1, 2}, 0, 0, 0, 0}, {1, {0}, 1, 2, 0, 1}, {1, {0}, 3, 63, 0, 1}, {1, {1}, 1, 63, 0, 0},
    {1, {2}, 1, 63, 0, 0},      {1, {0}, 1, 2, 1, 0}, {1, {0}, 3, 63, 1, 0},
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
    if (sp->scr == SCRIPT_SKIPREF) {
        c.scan_info = skipref_scans;
        c.num_scans = (int)(sizeof skipref_scans / sizeof skipref_scans[0]);
    }
    if (sp->scr == SCRIPT_KEPTREF) {
        c.scan_info = keptref_scans;
        c.num_scans = (int)(sizeof keptref_scans / sizeof keptref_scans[0]);
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

/* jpeglf's mode in ours(). */
static jpeglf_mode lf_mode = JPEGLF_EXACT;

/* Decodes f at scale/8 with jpegdc (1/8) or jpeglf into got. */
static td_status ours(FILE *f, int scale, failon_level fail_on, capture *got, bool *fallback, char *err)
{
    codec_sink sink = {.row = cap_row, .warning = cap_warning, .ctx = got};
    cancel_token tok;
    cancel_init(&tok, 0);
    *fallback = true;
    if (scale == 1)
        return jpegdc_decode(f, &sink, 1000, &tok, fallback, err);
    return jpeglf_decode(f, &sink, lf_mode, scale, 1000, fail_on, &tok, fallback, err);
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
    long size = ftell(f), last_sos = 0;
    rewind(f);
    for (int c, prev = 0, i = 0; (c = getc(f)) != EOF; prev = c, i++)
        if (prev == 0xFF && c == 0xDA)
            last_sos = i - 1;
    for (int pct = 5; pct < 100; pct += 9) {
        long cut = size * pct / 100;
        FILE *t = copy_prefix(f, cut, -1);
        capture got = {.w = 100, .h = 75, .c = 3};
        bool fallback;
        char err[TD_ERRLEN] = "";
        /* The low-frequency mode never reads 2/8's last scan here. */
        bool unread = lf_mode == JPEGLF_LOWFREQ && cut > last_sos;
        assert_int_equal(ours(t, 2, FAIL_ON_TRUNCATED, &got, &fallback, err), unread ? TD_OK : TD_EINPUT);
        assert_true(unread || strstr(err, "truncated"));
        assert_int_equal(got.rows, unread ? 75 : 0);
        rewind(t);
        got.rows = got.warnings = 0;
        assert_int_equal(ours(t, 2, FAIL_ON_NONE, &got, &fallback, err), TD_OK);
        assert_int_equal(got.rows, 75);
        assert_true(got.warnings >= (unread ? 0 : 1));
        fclose(t);
    }
    fclose(f);
}

static void test_truncated_lowfreq(void **s)
{
    lf_mode = JPEGLF_LOWFREQ;
    test_truncated(s);
    lf_mode = JPEGLF_EXACT;
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

static void test_damaged_lowfreq(void **s)
{
    lf_mode = JPEGLF_LOWFREQ;
    test_damaged(s);
    lf_mode = JPEGLF_EXACT;
}

static void test_work_bytes(void **s)
{
    (void)s;
    int h[3] = {1, 1, 1}, v[3] = {1, 1, 1};
    /* 32768 x 3051 4:4:4 at 2/8: 3 x 4096 x 382 blocks of 16 + 16 bytes. */
    size_t n = jpeglf_work_bytes(JPEGLF_EXACT, 2, 32768, 3051, 3, h, v);
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
    assert_int_equal(p.work, jpeglf_work_bytes(JPEGLF_LOWFREQ, 2, 640, 480, 3, h, v));
    /* 2/8, low-frequency: 2 + 2 x 4 bytes a luma block, 8 + 2 x 16 a
     * chroma one (its 4x4 IDCT). */
    assert_true(p.work >= (size_t)80 * 60 * 10 + (size_t)2 * 40 * 30 * 40);
    assert_true(p.work < jpeglf_work_bytes(JPEGLF_EXACT, 2, 640, 480, 3, h, v));
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

/* The precision the low-frequency mode ends with for zigzag coefficient z
 * of component ci (its IDCT n x n), under the scripts make_jpeg writes: it
 * reads an AC refinement only when every coefficient of its band is kept
 * and was read; the others leave low bits out. */
static int lowfreq_prec(script scr, int n, int ci, int z)
{
    if (z == 0 || n == 8)
        return 0;
    switch (scr) {
    case SCRIPT_SIMPLE: return ci == 0 ? 2 : 1;
    case SCRIPT_SKIPREF: return ci == 0 ? 1 : 0;
    case SCRIPT_KEPTREF: return ci == 0 && z >= 3 ? 1 : 0;
    default: return 0;
    }
}

/* A coefficient as the decoder holds it with p low bits unread: DC a floor
 * of a shift, AC a magnitude cut toward zero; then the interval's middle. */
static double midpoint(int c, int p, bool dc)
{
    if (!p)
        return c;
    double half = ((1 << p) - 1) / 2.0;
    if (dc)
        return (double)((c >> p) * (1 << p)) + half;
    int m = abs(c) >> p;
    return m ? (c < 0 ? -1 : 1) * (m * (1 << p) + half) : 0;
}

/* One component's samples from libjpeg's own coefficients: u, v < n, the
 * n-point inverse DCT-II scaled as the 8-point one, in double precision. */
static uint8_t *ref_component(j_decompress_ptr d, jvirt_barray_ptr arr, int ci, int n, int *sw, const spec *sp)
{
    jpeg_component_info *c = &d->comp_info[ci];
    int bw = (int)c->width_in_blocks, bh = (int)c->height_in_blocks;
    *sw = bw * n;
    uint8_t *out = calloc((size_t)bw * (size_t)bh * (size_t)(n * n), 1);
    double b[8][8];
    for (int u = 0; u < n; u++)
        for (int i = 0; i < n; i++)
            b[u][i] = (u ? 0.5 : 0.5 / sqrt(2.0)) * cos((2 * i + 1) * u * M_PI / (2 * n));
    int zz[64], z = 0; /* natural index to zigzag (T.81 figure A.6) */
    for (int diag = 0; diag < 15; diag++)
        for (int i = 0; i <= diag; i++) {
            int r = diag % 2 ? i : diag - i, col = diag - r;
            if (r < 8 && col < 8)
                zz[r * 8 + col] = z++;
        }
    for (int by = 0; by < bh; by++) {
        JBLOCKARRAY rows = d->mem->access_virt_barray((j_common_ptr)d, arr, (JDIMENSION)by, 1, FALSE);
        for (int bx = 0; bx < bw; bx++) {
            const JCOEF *coef = rows[0][bx];
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    double t = 0;
                    for (int v = 0; v < n; v++)
                        for (int u = 0; u < n; u++) {
                            int k = v * 8 + u, p = lowfreq_prec(sp->scr, n, ci, zz[k]);
                            t += midpoint(coef[k], p, k == 0) * c->quant_table->quantval[k] * b[u][x] * b[v][y];
                        }
                    t = floor(t + 128.5);
                    out[(size_t)(by * n + y) * (size_t)*sw + (size_t)(bx * n + x)] =
                        (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
                }
        }
    }
    return out;
}

/* jdcolor.c's YCbCr to RGB of one sample. */
static void ref_rgb(const int *s, uint8_t *o)
{
    long cb = s[1] - 128, cr = s[2] - 128;
    int rgb[3] = {s[0] + (int)((lround(1.40200 * 65536) * cr + 32768) >> 16),
                  s[0] + (int)((-lround(0.34414 * 65536) * cb + 32768 - lround(0.71414 * 65536) * cr) >> 16),
                  s[0] + (int)((lround(1.77200 * 65536) * cb + 32768) >> 16)};
    for (int i = 0; i < 3; i++)
        o[i] = (uint8_t)(rgb[i] < 0 ? 0 : rgb[i] > 255 ? 255 : rgb[i]);
}

/* The reference of the low-frequency mode: libjpeg's coefficients through
 * ref_component, upsampled ("fancy" h2v1) and colour-converted as libjpeg. */
static void lowfreq_ref(FILE *f, const spec *sp, int scale, capture *k)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    jvirt_barray_ptr *arr = jpeg_read_coefficients(&d);
    int nc = d.num_components, hmax = d.max_h_samp_factor, vmax = d.max_v_samp_factor;
    *k = (capture){.w = ((int)d.image_width * scale + 7) / 8, .h = ((int)d.image_height * scale + 7) / 8, .c = nc};
    k->px = malloc((size_t)k->w * (size_t)k->h * (size_t)nc);
    uint8_t *plane[3];
    int sw[3], up[3], cw[3];
    for (int i = 0; i < nc; i++) {
        int h = d.comp_info[i].h_samp_factor, v = d.comp_info[i].v_samp_factor, n = scale;
        while (n < 8 && (hmax * scale) % (h * n * 2) == 0 && (vmax * scale) % (v * n * 2) == 0)
            n *= 2;
        up[i] = hmax * scale / (h * n);
        cw[i] = ((int)d.image_width * h * n + 8 * hmax - 1) / (8 * hmax);
        plane[i] = ref_component(&d, arr[i], i, n, &sw[i], sp);
    }
    for (int y = 0; y < k->h; y++)
        for (int x = 0; x < k->w; x++) {
            int s[3];
            for (int i = 0; i < nc; i++) {
                const uint8_t *r = plane[i] + (size_t)y * (size_t)sw[i];
                int j = up[i] == 1 ? x : x / 2, l = r[j > 0 ? j - 1 : 0], rt = r[j + 1 < cw[i] ? j + 1 : j];
                s[i] = up[i] == 1 || cw[i] <= 2 ? r[j] : x % 2 ? (3 * r[j] + rt + 2) >> 2 : (3 * r[j] + l + 1) >> 2;
            }
            uint8_t *o = k->px + ((size_t)y * (size_t)k->w + (size_t)x) * (size_t)nc;
            if (nc == 1)
                o[0] = (uint8_t)s[0];
            else
                ref_rgb(s, o);
        }
    for (int i = 0; i < nc; i++)
        free(plane[i]);
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    rewind(f);
}

/* The low-frequency mode against lowfreq_ref: within rounding (float
 * against double: at most 1 a sample, 3 in RGB), at 2/8 and 4/8. */
static void compare_lowfreq(const spec *sp)
{
    FILE *f = make_jpeg(sp);
    for (int scale = 2; scale <= 4; scale += 2) {
        capture ref;
        rewind(f);
        lowfreq_ref(f, sp, scale, &ref);
        capture got = {.w = ref.w, .h = ref.h, .c = ref.c};
        got.px = calloc((size_t)got.w * (size_t)got.h * (size_t)got.c, 1);
        bool fallback;
        char err[TD_ERRLEN] = "";
        lf_mode = JPEGLF_LOWFREQ;
        assert_int_equal(ours(f, scale, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_OK);
        lf_mode = JPEGLF_EXACT;
        assert_false(fallback);
        assert_int_equal(got.rows, ref.h);
        assert_int_equal(got.warnings, 0);
        int maxd = 0;
        size_t n = (size_t)ref.w * (size_t)ref.h * (size_t)ref.c;
        for (size_t i = 0; i < n; i++) {
            int dlt = abs((int)ref.px[i] - (int)got.px[i]);
            maxd = dlt > maxd ? dlt : maxd;
        }
        print_message("lowfreq %dx%d c=%d %dx%d rst=%d script=%d %d/8: max %d\n", sp->w, sp->h, sp->comps,
                      sp->hs, sp->vs, sp->restart, (int)sp->scr, scale, maxd);
        assert_true(maxd <= (sp->comps == 1 ? 1 : 3));
        free(ref.px);
        free(got.px);
    }
    fclose(f);
}

static void test_lowfreq(void **s)
{
    (void)s;
    compare_lowfreq(&(spec){1203, 797, 3, 90, 0, 2, 2, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){640, 480, 3, 75, 0, 1, 1, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){611, 405, 3, 85, 0, 2, 1, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){999, 501, 1, 85, 0, 1, 1, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){800, 600, 3, 85, 7, 2, 2, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){333, 251, 3, 95, 3, 1, 1, SCRIPT_SIMPLE});
    compare_lowfreq(&(spec){517, 389, 3, 92, 0, 2, 2, SCRIPT_SPECTRAL});
    compare_lowfreq(&(spec){517, 389, 3, 92, 5, 2, 2, SCRIPT_SKIPREF});
    compare_lowfreq(&(spec){517, 389, 3, 92, 2, 1, 1, SCRIPT_KEPTREF});
    compare_lowfreq(&(spec){400, 300, 3, 88, 0, 2, 1, SCRIPT_KEPTREF});
    compare_lowfreq(&(spec){9, 5, 3, 80, 1, 2, 2, SCRIPT_SIMPLE});
}

/* At 2/8 under libjpeg's default script the low-frequency mode stops at
 * the second chroma refinement (it reads no AC refinement: each covers
 * 1..63): the last scan, luma's final refinement, is never read. */
static void test_lowfreq_stops_early(void **s)
{
    (void)s;
    FILE *f = make_jpeg(&(spec){1203, 797, 3, 90, 0, 2, 2, SCRIPT_SIMPLE});
    long last_sos = 0, size = 0;
    for (int c, prev = 0; (c = getc(f)) != EOF; prev = c, size++)
        if (prev == 0xFF && c == 0xDA)
            last_sos = size - 1;
    rewind(f);
    capture got = {.w = 301, .h = 200, .c = 3};
    bool fallback;
    char err[TD_ERRLEN] = "";
    lf_mode = JPEGLF_LOWFREQ;
    assert_int_equal(ours(f, 2, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_OK);
    long at = ftell(f);
    print_message("read %ld of %ld bytes (last scan at %ld)\n", at, size, last_sos);
    assert_int_equal(got.rows, 200);
    assert_true(size - last_sos > 3 * 4096); /* the last scan is worth skipping */
    assert_true(at <= last_sos + 4096);       /* jpegscan reads 4096 bytes ahead */
    rewind(f);
    lf_mode = JPEGLF_EXACT;
    assert_int_equal(ours(f, 2, FAIL_ON_TRUNCATED, &got, &fallback, err), TD_OK);
    assert_true(ftell(f) >= size - 4096);
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
        cmocka_unit_test(test_truncated_lowfreq),
        cmocka_unit_test(test_damaged_lowfreq),
        cmocka_unit_test(test_work_bytes),
        cmocka_unit_test(test_jpeg_decode_reserves),
        cmocka_unit_test(test_lowfreq),
        cmocka_unit_test(test_lowfreq_stops_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
