/* Unit tests for the PNG pixel path (src/pngpix.c) and its use by
 * png_decode: our unfilter against a plain reference, the expansions, and
 * every color type and bit depth decoded by png_decode against the samples
 * the test wrote, expanded here by the PNG specification's rules (not by
 * libpng, which png_decode itself uses), byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lcms2.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "thumbd/codec.h"
#include "thumbd/pngfilter.h"
#include "thumbd/pngpix.h"

static uint32_t rng = 12345;

static uint8_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(rng >> 16);
}

/* ------------------------------------------------------------ unfilter */

static int ref_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

/* The PNG specification's reconstruction, byte by byte. */
static void ref_unfilter(int filter, uint8_t *row, const uint8_t *prev, size_t len, size_t bpp)
{
    for (size_t i = 0; i < len; i++) {
        int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
        int pred = filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2
                 : filter == 4 ? ref_paeth(a, b, c) : 0;
        row[i] = (uint8_t)(row[i] + pred);
    }
}

static void test_unfilter_every_filter_and_bpp(void **state)
{
    (void)state;
    static const int bpps[] = {1, 2, 3, 4, 6, 8};
    static const size_t pixels[] = {1, 2, 3, 5, 17, 64, 333};
    for (size_t bi = 0; bi < sizeof bpps / sizeof *bpps; bi++)
        for (size_t pi = 0; pi < sizeof pixels / sizeof *pixels; pi++)
            for (int filter = 0; filter <= 4; filter++)
                for (int rep = 0; rep < 4; rep++) {
                    size_t bpp = (size_t)bpps[bi], len = pixels[pi] * bpp;
                    uint8_t prev[3000], got[3000], want[3000];
                    for (size_t i = 0; i < len; i++) {
                        prev[i] = rnd();
                        /* runs of equal bytes make Paeth's ties happen */
                        got[i] = rep == 3 ? (uint8_t)(rnd() & 3) : rnd();
                        if (rep == 2)
                            prev[i] &= 0x81;
                    }
                    memcpy(want, got, len);
                    ref_unfilter(filter, want, prev, len, bpp);
                    assert_true(pngfilter_row(filter, got, prev, len, (int)bpp));
                    if (memcmp(got, want, len))
                        fail_msg("filter %d, bpp %zu, %zu pixels: differs from the reference", filter,
                                 bpp, pixels[pi]);
                }
}

/* Two rows at once (the paired Paeth path) against the reference, for
 * every pair of filter types. */
static void test_unfilter_two_rows(void **state)
{
    (void)state;
    static const int bpps[] = {1, 2, 3, 4, 6, 8};
    static const size_t pixels[] = {1, 2, 3, 5, 17, 200};
    for (size_t bi = 0; bi < sizeof bpps / sizeof *bpps; bi++)
        for (size_t pi = 0; pi < sizeof pixels / sizeof *pixels; pi++)
            for (int f0 = 0; f0 <= 4; f0++)
                for (int f1 = 0; f1 <= 4; f1++) {
                    size_t bpp = (size_t)bpps[bi], len = 1 + pixels[pi] * bpp;
                    uint8_t prev[1700], r0[1700], r1[1700], w0[1700], w1[1700];
                    for (size_t i = 0; i < len; i++) {
                        prev[i] = rnd();
                        r0[i] = rnd() & (f0 == 4 ? 7 : 255);
                        r1[i] = rnd();
                    }
                    r0[0] = (uint8_t)f0;
                    r1[0] = (uint8_t)f1;
                    memcpy(w0, r0, len);
                    memcpy(w1, r1, len);
                    ref_unfilter(f0, w0 + 1, prev + 1, len - 1, bpp);
                    ref_unfilter(f1, w1 + 1, w0 + 1, len - 1, bpp);
                    assert_true(pngfilter_rows2(r0, r1, prev, len, (int)bpp));
                    if (memcmp(r0 + 1, w0 + 1, len - 1) || memcmp(r1 + 1, w1 + 1, len - 1))
                        fail_msg("filters %d then %d, bpp %zu, %zu pixels: differ from the reference",
                                 f0, f1, bpp, pixels[pi]);
                    assert_int_equal(r0[0], 0);
                    assert_int_equal(r1[0], 0);
                }
    uint8_t prev[5] = {0}, r0[5] = {4, 1, 2, 3, 4}, r1[5] = {7, 1, 2, 3, 4};
    assert_false(pngfilter_rows2(r0, r1, prev, 5, 1));
}

static void test_unfilter_rejects_bad_filter_type(void **state)
{
    (void)state;
    uint8_t row[4] = {1, 2, 3, 4}, prev[4] = {0};
    assert_false(pngfilter_row(5, row, prev, 4, 1));
    assert_false(pngfilter_row(255, row, prev, 4, 1));
    assert_memory_equal(row, ((uint8_t[]){1, 2, 3, 4}), 4);
}

/* ------------------------------------------------------------- expand */

static void test_expand_palette_with_and_without_trns(void **state)
{
    (void)state;
    pngpix_format f = {.width = 5, .height = 1, .bit_depth = 2, .color_type = 3, .num_palette = 3};
    for (int i = 0; i < 3; i++)
        f.palette[i][0] = (uint8_t)(10 * i + 1), f.palette[i][1] = (uint8_t)(10 * i + 2),
        f.palette[i][2] = (uint8_t)(10 * i + 3);
    /* indices 0 1 2 3 1 (3 is past the palette: black, like libpng) */
    const uint8_t raw[2] = {0x1b, 0x40};
    uint8_t out[20];
    assert_int_equal(pngpix_channels(&f), 3);
    pngpix_expand(&f, raw, out);
    assert_memory_equal(out, ((uint8_t[]){1, 2, 3, 11, 12, 13, 21, 22, 23, 0, 0, 0, 11, 12, 13}), 15);
    f.num_trans = 2;
    f.trans_alpha[0] = 0;
    f.trans_alpha[1] = 128;
    assert_int_equal(pngpix_channels(&f), 4);
    pngpix_expand(&f, raw, out);
    assert_memory_equal(out, ((uint8_t[]){1, 2, 3, 0, 11, 12, 13, 128, 21, 22, 23, 255, 0, 0, 0, 255,
                                          11, 12, 13, 128}),
                        20);
}

static void test_expand_low_bit_gray_and_trns(void **state)
{
    (void)state;
    pngpix_format f = {.width = 8, .height = 1, .bit_depth = 1, .color_type = 0};
    const uint8_t raw1[1] = {0xa5}; /* 1 0 1 0 0 1 0 1 */
    uint8_t out[16];
    pngpix_expand(&f, raw1, out);
    assert_memory_equal(out, ((uint8_t[]){255, 0, 255, 0, 0, 255, 0, 255}), 8);
    f.bit_depth = 4;
    f.width = 3;
    f.has_trans_color = true;
    f.trans_gray = 0x13; /* masked to 4 bits, as libpng does: 3 */
    const uint8_t raw4[2] = {0x3f, 0x10};
    assert_int_equal(pngpix_channels(&f), 2);
    pngpix_expand(&f, raw4, out);
    assert_memory_equal(out, ((uint8_t[]){0x33, 0, 0xff, 255, 0x11, 255}), 6);
}

static void test_expand_16_bit_rounding_and_trns(void **state)
{
    (void)state;
    /* png_set_scale_16 rounds v * 255 / 65535 to nearest: every value */
    pngpix_format f = {.width = 1, .height = 1, .bit_depth = 16, .color_type = 0};
    for (uint32_t v = 0; v < 65536; v++) {
        uint8_t raw[2] = {(uint8_t)(v >> 8), (uint8_t)v}, out[1];
        pngpix_expand(&f, raw, out);
        if (out[0] != (v * 255 + 32767) / 65535)
            fail_msg("16-bit %u scaled to %u, want %u", v, out[0], (v * 255 + 32767) / 65535);
    }
    pngpix_format rgb = {.width = 2, .height = 1, .bit_depth = 16, .color_type = 2,
                         .has_trans_color = true, .trans_rgb = {0x1234, 0x5678, 0x9abc}};
    const uint8_t raw[12] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbd};
    uint8_t out[8];
    assert_int_equal(pngpix_channels(&rgb), 4);
    pngpix_expand(&rgb, raw, out);
    assert_int_equal(out[3], 0);   /* exact match: transparent */
    assert_int_equal(out[7], 255); /* one bit off in blue: opaque */
    assert_int_equal(out[0], (0x1234 * 255 + 32767) / 65535);
}

/* ------------------------------------------- png_decode against libpng */

typedef struct png_spec {
    int w, h, ct, bd;
    bool trns, interlace;
    const uint8_t *icc;        /* an iCCP chunk, if set */
    size_t icc_len;
} png_spec;

/* What write_png wrote: the raw rows (samples packed as in the file, before
 * filtering), the palette and whether a tRNS chunk is in the file. */
typedef struct png_truth {
    uint8_t *raw;
    size_t rb;
    png_color pal[256];
    int npal;
    bool trns;     /* libpng does not write a tRNS longer than the palette
                    * (3 alphas, 2 colors) */
} png_truth;

static FILE *write_png_truth(const png_spec *s, png_truth *t);

/* A PNG of random pixels written by libpng (all filters allowed, so that
 * libpng picks each of them somewhere), in a tmpfile. */
static FILE *write_png(const png_spec *s)
{
    return write_png_truth(s, NULL);
}

/* write_png, and what it wrote into *t (when not NULL; free t->raw). */
static FILE *write_png_truth(const png_spec *s, png_truth *t)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pi = png_create_info_struct(png);
    assert_non_null(pi);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write the test image");
    png_init_io(png, f);
    png_set_IHDR(png, pi, (png_uint_32)s->w, (png_uint_32)s->h, s->bd, s->ct,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_filter(png, 0, PNG_ALL_FILTERS);
    if (s->icc)
        png_set_iCCP(png, pi, "thumbd test", PNG_COMPRESSION_TYPE_BASE, s->icc, (png_uint_32)s->icc_len);
    int maxv = (1 << (s->bd < 8 ? s->bd : 8)) - 1;
    if (s->ct == 3) {
        png_color pal[256];
        for (int i = 0; i < 256; i++)
            pal[i] = (png_color){rnd(), rnd(), rnd()};
        int npal = maxv + 1 > 2 ? maxv : 2; /* leave an index out */
        png_set_PLTE(png, pi, pal, npal);
        if (t) {
            memcpy(t->pal, pal, sizeof pal);
            t->npal = npal;
        }
        if (s->trns) {
            png_byte ta[3] = {0, 77, 200};
            png_set_tRNS(png, pi, ta, 3, NULL);
        }
    } else if (s->trns) {
        /* a value that the pixels below hit: 0 */
        png_color_16 tc = {0};
        png_set_tRNS(png, pi, NULL, 0, &tc);
    }
    if (t)
        t->trns = s->trns && (s->ct != 3 || t->npal >= 3);
    png_write_info(png, pi);
    int passes = s->interlace ? png_set_interlace_handling(png) : 1;
    size_t rb = png_get_rowbytes(png, pi);
    uint8_t *img = malloc(rb * (size_t)s->h);
    for (int y = 0; y < s->h; y++) {
        uint8_t *row = img + rb * (size_t)y;
        for (size_t i = 0; i < rb; i++)
            row[i] = (y + (int)i) % 7 == 0 ? 0 : rnd(); /* some zeros for tRNS */
        if (s->ct == 3 && s->bd == 8)
            for (size_t i = 0; i < rb; i++)
                row[i] = (uint8_t)(row[i] % 200);
    }
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < s->h; y++)
            png_write_row(png, img + rb * (size_t)y);
    png_write_end(png, pi);
    png_destroy_write_struct(&png, &pi);
    if (t) {
        t->raw = img;
        t->rb = rb;
    } else {
        free(img);
    }
    rewind(f);
    return f;
}

/* Sample i of a raw row at bit depth bd (packed from the high bit; 16-bit
 * samples big-endian). */
static unsigned sample(const uint8_t *row, size_t i, int bd)
{
    if (bd == 16)
        return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    if (bd == 8)
        return row[i];
    size_t bit = i * (size_t)bd;
    return (unsigned)(row[bit / 8] >> (8 - bd - (int)(bit % 8))) & ((1u << bd) - 1);
}

/* A sample as 8 bits: low depths scaled to 0..255, 16 bits rounded to the
 * nearest of v * 255 / 65535. */
static uint8_t to8(unsigned v, int bd)
{
    if (bd == 16)
        return (uint8_t)((v * 255u + 32767u) / 65535u);
    return (uint8_t)(v * 255u / ((1u << bd) - 1));
}

/* The decoded image as the PNG specification defines it, from what was
 * written: palette indices to RGB (an index past the palette is black),
 * gray and color expanded to 8 bits, a tRNS chunk to an alpha channel
 * (write_png's tRNS holds alphas 0, 77, 200 for indices 0..2, or the
 * value 0). */
static uint8_t *expected_rows(const png_spec *s, const png_truth *t, int *channels)
{
    static const int samples[] = {1, 0, 3, 1, 2, 0, 4};
    int in_ch = samples[s->ct];
    int ch = (s->ct == 3 ? 3 : in_ch) + t->trns;
    *channels = ch;
    uint8_t *px = malloc((size_t)s->w * (size_t)s->h * (size_t)ch), *o = px;
    assert_non_null(px);
    for (int y = 0; y < s->h; y++) {
        const uint8_t *row = t->raw + t->rb * (size_t)y;
        for (int x = 0; x < s->w; x++) {
            unsigned v[4];
            bool zero = true;
            for (int k = 0; k < in_ch; k++) {
                v[k] = sample(row, (size_t)x * (size_t)in_ch + (size_t)k, s->bd);
                zero = zero && v[k] == 0;
            }
            if (s->ct == 3) {
                png_color c = (int)v[0] < t->npal ? t->pal[v[0]] : (png_color){0, 0, 0};
                *o++ = c.red;
                *o++ = c.green;
                *o++ = c.blue;
                if (t->trns)
                    *o++ = v[0] == 0 ? 0 : v[0] == 1 ? 77 : v[0] == 2 ? 200 : 255;
                continue;
            }
            for (int k = 0; k < in_ch; k++)
                *o++ = to8(v[k], s->bd);
            if (t->trns)
                *o++ = zero ? 0 : 255;
        }
    }
    return px;
}

typedef struct collect {
    codec_info info;
    uint8_t *px;
    int rows;
    size_t work;
} collect;

static td_status c_header(void *ctx, const codec_info *info, int *scale_num, char *err)
{
    (void)scale_num;
    (void)err;
    ((collect *)ctx)->info = *info;
    return TD_OK;
}

static td_status c_start(void *ctx, int w, int h, size_t work, char *err)
{
    (void)err;
    collect *c = ctx;
    c->work = work;
    c->px = calloc((size_t)w * (size_t)h, (size_t)c->info.channels);
    return c->px ? TD_OK : TD_ENOMEM;
}

static bool c_row(void *ctx, int y, const uint8_t *px)
{
    collect *c = ctx;
    size_t rb = (size_t)c->info.width * (size_t)c->info.channels;
    memcpy(c->px + (size_t)y * rb, px, rb);
    c->rows++;
    return true;
}

/* whole: let png_decode inflate small images at once (libdeflate), else
 * it streams every image through zlib. */
static bool whole;

static td_status decode(FILE *f, collect *c, char *err)
{
    codec_sink sink = {c_header, c_start, c_row, c, NULL, NULL};
    codec_limits lim = {.max_chunk = 1 << 20, .max_scans = 100, .max_whole = whole ? 64u << 20 : 0,
                        .fail_on = FAIL_ON_ERROR};
    cancel_token tok;
    cancel_init(&tok, 0);
    return png_decode(f, &sink, &lim, &tok, err);
}

static void check_same_as_written(const png_spec *s)
{
    png_truth truth;
    FILE *f = write_png_truth(s, &truth);
    int ch;
    uint8_t *want = expected_rows(s, &truth, &ch);
    free(truth.raw);
    size_t works[2];
    for (int w = 0; w <= 1; w++) {
        whole = w;
        collect c = {0};
        char err[TD_ERRLEN] = "";
        td_status st = decode(f, &c, err);
        if (st != TD_OK)
            fail_msg("%dx%d ct %d bd %d trns %d: %s", s->w, s->h, s->ct, s->bd, s->trns, err);
        assert_int_equal(c.info.channels, ch);
        assert_int_equal(c.info.alpha, ch == 2 || ch == 4 ? ch - 1 : -1);
        assert_int_equal(c.rows, s->h);
        if (memcmp(c.px, want, (size_t)s->w * (size_t)s->h * (size_t)ch))
            fail_msg(
                "%dx%d ct %d bd %d trns %d interlace %d whole %d: rows differ from the samples",
                s->w, s->h, s->ct, s->bd, s->trns, s->interlace, w);
        works[w] = c.work;
        free(c.px);
        rewind(f);
    }
    whole = false;
    /* the whole-buffer strategy reserves more: the stream and raw image */
    if (!s->interlace)
        assert_true(works[1] > works[0] + (size_t)s->h);
    free(want);
    fclose(f);
}

static void test_every_format_matches_its_samples(void **state)
{
    (void)state;
    static const struct { int ct, bd; } fmts[] = {
        {0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1}, {3, 2},
        {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16},
    };
    static const int sizes[][2] = {{1, 1}, {1, 9}, {3, 2}, {7, 5}, {33, 17}, {64, 3}, {301, 40}};
    int n = 0;
    for (size_t fi = 0; fi < sizeof fmts / sizeof *fmts; fi++)
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (int trns = 0; trns <= 1; trns++) {
                if (trns && (fmts[fi].ct == 4 || fmts[fi].ct == 6))
                    continue; /* tRNS is not allowed with an alpha channel */
                png_spec s = {sizes[si][0], sizes[si][1], fmts[fi].ct, fmts[fi].bd, trns, false, NULL, 0};
                check_same_as_written(&s);
                n++;
            }
    assert_int_equal(n, 7 * (15 + 11)); /* every case ran */
}

static void test_interlaced_still_decodes_through_libpng(void **state)
{
    (void)state;
    png_spec s[] = {{33, 17, 2, 8, false, true, NULL, 0}, {5, 1, 3, 4, true, true, NULL, 0},
                    {20, 20, 0, 16, true, true, NULL, 0}};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        check_same_as_written(&s[i]);
}

/* ----------------------------------------------------- hostile streams */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t hdr[8];
    put32(hdr, len);
    memcpy(hdr + 4, type, 4);
    uLong crc = crc32(crc32(0, hdr + 4, 4), data, len);
    uint8_t c[4];
    put32(c, (uint32_t)crc);
    fwrite(hdr, 1, 8, f);
    if (len)
        fwrite(data, 1, len, f);
    fwrite(c, 1, 4, f);
}

/* An 8-bit RGB PNG of w x h whose IDAT stream (in 50-byte chunks) is raw
 * (filter bytes included) compressed; cut: drop the last cut bytes of it. */
static FILE *handmade_png(int w, int h, const uint8_t *raw, size_t rawlen, size_t cut)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    uint8_t ihdr[13] = {0};
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;
    ihdr[9] = 2;
    chunk(f, "IHDR", ihdr, 13);
    uLongf zlen = compressBound(rawlen);
    uint8_t *z = malloc(zlen);
    assert_int_equal(compress(z, &zlen, raw, rawlen), Z_OK);
    zlen -= cut;
    for (uLongf off = 0; off < zlen; off += 50)
        chunk(f, "IDAT", z + off, (uint32_t)(zlen - off < 50 ? zlen - off : 50));
    chunk(f, "IEND", NULL, 0);
    free(z);
    rewind(f);
    return f;
}

static td_status decode_raw(int w, int h, const uint8_t *raw, size_t len, size_t cut, collect *c,
                            char *err)
{
    FILE *f = handmade_png(w, h, raw, len, cut);
    td_status st = decode(f, c, err);
    fclose(f);
    return st;
}

static void hostile_idat_streams(void)
{
    enum { W = 40, H = 30, RL = 1 + 3 * W };
    static uint8_t raw[RL * (H + 5)];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = i % RL == 0 ? (uint8_t)(i / RL % 5) : rnd();
    char err[TD_ERRLEN];
    collect c = {0};

    /* exactly the image: fine; then more data than the image: the extra
     * rows are never inflated, the image is fine */
    assert_int_equal(decode_raw(W, H, raw, (size_t)RL * H, 0, &c, err), TD_OK);
    assert_int_equal(c.rows, H);
    uint8_t *first = c.px;
    c = (collect){0};
    assert_int_equal(decode_raw(W, H, raw, sizeof raw, 0, &c, err), TD_OK);
    assert_int_equal(c.rows, H);
    assert_memory_equal(c.px, first, (size_t)W * H * 3);
    free(first);
    free(c.px);

    /* a stream that ends early: truncated, after the rows it had */
    c = (collect){0};
    assert_int_equal(decode_raw(W, H, raw, (size_t)RL * 20 + 7, 0, &c, err), TD_EINPUT);
    assert_non_null(strstr(err, "truncated PNG"));
    assert_non_null(strstr(err, "of 30"));
    assert_int_equal(c.rows, 20);
    free(c.px);

    /* a cut zlib stream (no end), then IEND */
    c = (collect){0};
    assert_int_equal(decode_raw(W, H, raw, (size_t)RL * H, 40, &c, err), TD_EINPUT);
    assert_non_null(strstr(err, "truncated PNG"));
    free(c.px);

    /* a bad filter type byte in row 7 */
    uint8_t bad[RL * H];
    memcpy(bad, raw, sizeof bad);
    bad[RL * 7] = 9;
    c = (collect){0};
    assert_int_equal(decode_raw(W, H, bad, sizeof bad, 0, &c, err), TD_EINPUT);
    assert_non_null(strstr(err, "corrupt PNG: bad adaptive filter value 9 at row 7 of 30"));
    assert_int_equal(c.rows, 7);
    free(c.px);
}

/* Both strategies give the same rows and errors on a bad stream: the
 * whole-buffer one hands a stream libdeflate refuses to zlib. */
static void test_hostile_idat_streams(void **state)
{
    (void)state;
    whole = false;
    hostile_idat_streams();
    whole = true;
    hostile_idat_streams();
    whole = false;
}

static void hostile_zlib_data(void)
{
    FILE *f = tmpfile();
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    uint8_t ihdr[13] = {0, 0, 0, 10, 0, 0, 0, 10, 8, 0, 0, 0, 0};
    chunk(f, "IHDR", ihdr, 13);
    static const uint8_t junk[] = {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00, 0x12, 0x34};
    chunk(f, "IDAT", junk, sizeof junk);
    chunk(f, "IEND", NULL, 0);
    rewind(f);
    collect c = {0};
    char err[TD_ERRLEN];
    assert_int_equal(decode(f, &c, err), TD_EINPUT);
    assert_non_null(strstr(err, "corrupt PNG"));
    free(c.px);
    fclose(f);
}

static void test_hostile_zlib_data(void **state)
{
    (void)state;
    whole = false;
    hostile_zlib_data();
    whole = true;
    hostile_zlib_data();
    whole = false;
}

/* ------------------------------------------------- large iCCP chunks */

/* An sRGB profile carrying a private tag of n random (incompressible)
 * bytes, so that its iCCP chunk spans many of png_decode's reads. */
static uint8_t *big_profile(size_t n, cmsUInt32Number *len)
{
    cmsHPROFILE h = cmsCreate_sRGBProfile();
    uint8_t *pad = malloc(n);
    for (size_t i = 0; i < n; i++)
        pad[i] = rnd();
    assert_true(cmsWriteRawTag(h, (cmsTagSignature)0x74687464 /* 'thtd' */, pad, (cmsUInt32Number)n));
    assert_true(cmsSaveProfileToMem(h, NULL, len));
    uint8_t *icc = malloc(*len);
    assert_true(cmsSaveProfileToMem(h, icc, len));
    cmsCloseProfile(h);
    free(pad);
    return icc;
}

/* The profile as png_decode handed it to the sink (the pointer dies with
 * the decoder). */
static uint8_t *seen_icc;
static size_t seen_icc_len;

static td_status icc_header(void *ctx, const codec_info *info, int *scale_num, char *err)
{
    seen_icc_len = info->icc_len;
    seen_icc = info->icc ? malloc(info->icc_len) : NULL;
    if (seen_icc)
        memcpy(seen_icc, info->icc, info->icc_len);
    return c_header(ctx, info, scale_num, err);
}

/* An iCCP chunk of ~60 KB spans the decoder's reads: held and passed to
 * libpng whole, the profile arrives intact. One over the metadata cap is
 * skipped, and the image still decodes. */
static void test_large_icc_profile(void **state)
{
    (void)state;
    static const struct { size_t pad; bool kept; } cases[] = {{60000, true}, {1200000, false}};
    for (size_t i = 0; i < 2; i++) {
        cmsUInt32Number len;
        uint8_t *icc = big_profile(cases[i].pad, &len);
        FILE *f = write_png(&(png_spec){.w = 16, .h = 16, .ct = PNG_COLOR_TYPE_RGB, .bd = 8,
                                        .icc = icc, .icc_len = len});
        collect c = {0};
        codec_sink sink = {icc_header, c_start, c_row, &c, NULL, NULL};
        codec_limits lim = {.max_chunk = 1 << 20, .max_scans = 100, .fail_on = FAIL_ON_ERROR};
        cancel_token tok;
        cancel_init(&tok, 0);
        char err[TD_ERRLEN] = "";
        td_status st = png_decode(f, &sink, &lim, &tok, err);
        if (st != TD_OK)
            fail_msg("profile of %u bytes: %s", (unsigned)len, err);
        assert_int_equal(c.rows, 16);
        if (cases[i].kept) {
            assert_int_equal(seen_icc_len, len);
            assert_memory_equal(seen_icc, icc, len);
        } else {
            assert_null(seen_icc);
        }
        free(seen_icc);
        seen_icc = NULL;
        free(c.px);
        free(icc);
        fclose(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unfilter_every_filter_and_bpp),
        cmocka_unit_test(test_unfilter_two_rows),
        cmocka_unit_test(test_unfilter_rejects_bad_filter_type),
        cmocka_unit_test(test_expand_palette_with_and_without_trns),
        cmocka_unit_test(test_expand_low_bit_gray_and_trns),
        cmocka_unit_test(test_expand_16_bit_rounding_and_trns),
        cmocka_unit_test(test_every_format_matches_its_samples),
        cmocka_unit_test(test_interlaced_still_decodes_through_libpng),
        cmocka_unit_test(test_hostile_idat_streams),
        cmocka_unit_test(test_hostile_zlib_data),
        cmocka_unit_test(test_large_icc_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
