/* End-to-end tests of --fail-on (failon.h): damaged JPEGs and PNGs, made
 * here with libjpeg and libpng, each run through the real binary under the
 * four levels; the status of each file, the error of a failure and the
 * "warnings" array of a thumbnail made despite damage. Then the level's
 * place in the ledger: part of a known-bad verdict, not of a thumbnail's
 * fingerprint. argv[1]: the thumbd binary. THUMBD_FAILON_KEEP=1 keeps the
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>
#include <zlib.h>

#include "e2e_util.h"

static char g_in[300];

/* ------------------------------------------------------------------------ */
/* The files                                                                  */

static void noise_row(uint8_t *row, int w, int y, void *ctx)
{
    uint32_t *s = ctx;
    for (int i = 0; i < w * 3; i++) {
        *s = *s * 1103515245u + 12345u;
        row[i] = (uint8_t)(((*s >> 16) & 0x3F) + (unsigned)(y + i / 3) / 4);
    }
}

static void put(const char *rel, const uint8_t *d, size_t n)
{
    char p[512];
    pathf(p, sizeof p, "%s/%s", g_in, rel);
    write_file(p, d, n);
}

/* A JPEG of noise, 256x256 or progressive 512x512 (large enough for the
 * 32x32 box to take the DC-only decoder), read back into *d. */
static void make_jpeg(bool progressive, uint8_t **d, size_t *n)
{
    char p[512];
    pathf(p, sizeof p, "%s/tmp.jpg", e2e_root);
    uint32_t s = 7;
    int side = progressive ? 512 : 256;
    assert_int_equal(write_rgb_jpeg_ex(p, side, side, 90, progressive, noise_row, &s), 0);
    assert_int_equal(read_file(p, d, n), 0);
    unlink(p);
}

/* Offset just past the header of the first SOS (where entropy data starts),
 * and where that scan's entropy data ends (the next marker). */
static void first_scan(const uint8_t *d, size_t n, size_t *start, size_t *end)
{
    size_t i = 2;
    while (i + 4 < n && !(d[i] == 0xFF && d[i + 1] == 0xDA))
        i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    assert_true(i + 4 < n);
    *start = i + 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    size_t j = *start;
    while (j + 1 < n && !(d[j] == 0xFF && d[j + 1] != 0x00))
        j++;
    *end = j;
}

/* An entropy-data offset at fraction f of [a, b) not right after a 0xFF
 * (whose stuffed 0x00 it would be). */
static size_t inside(const uint8_t *d, size_t a, size_t b, double f)
{
    size_t at = a + (size_t)((double)(b - a) * f);
    while (d[at - 1] == 0xFF || d[at] == 0xFF)
        at++;
    return at;
}

static void make_jpegs(void)
{
    uint8_t *d, *c;
    size_t n, a, b;
    make_jpeg(false, &d, &n);
    put("clean.jpg", d, n);
    first_scan(d, n, &a, &b);
    /* cut in the middle of the scan */
    put("trunc.jpg", d, inside(d, a, b, 0.5));
    /* six stuffed 0xFF bytes: 48 one bits, longer than any Huffman code,
     * in a late MCU row */
    c = malloc(n);
    assert_non_null(c);
    memcpy(c, d, n);
    size_t at = inside(c, a, b, 0.85);
    for (int i = 0; i < 6; i++) {
        c[at + 2 * i] = 0xFF;
        c[at + 2 * i + 1] = 0x00;
    }
    put("huff.jpg", c, n);
    /* an EOI planted half way through the scan */
    memcpy(c, d, n);
    at = inside(c, a, b, 0.5);
    c[at] = 0xFF;
    c[at + 1] = 0xD9;
    put("eoi.jpg", c, n);
    /* three bytes of garbage before the SOS marker */
    size_t i = 2;
    while (!(d[i] == 0xFF && d[i + 1] == 0xDA))
        i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    uint8_t *x = malloc(n + 3);
    assert_non_null(x);
    memcpy(x, d, i);
    x[i] = 0x12, x[i + 1] = 0x34, x[i + 2] = 0x56;
    memcpy(x + i + 3, d + i, n - i);
    put("extra.jpg", x, n + 3);
    free(x);
    free(c);
    free(d);
    /* progressive: cut inside the first (DC) scan, and late (AC scans) */
    make_jpeg(true, &d, &n);
    first_scan(d, n, &a, &b);
    put("prog/dc_cut.jpg", d, inside(d, a, b, 0.5));
    put("prog/ac_cut.jpg", d, inside(d, b, n - 2, 0.8));
    free(d);
}

typedef struct membuf {
    uint8_t *buf;
    size_t len;
} membuf;

static void png_to_mem(png_structp png, png_bytep p, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    m->buf = realloc(m->buf, m->len + n);
    assert_non_null(m->buf);
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

static void png_flush(png_structp png)
{
    (void)png;
}

/* A 128x128 RGB PNG of noise with a tRNS colour that never occurs, its
 * image data in IDATs of 1 KiB. */
static void make_png(uint8_t **d, size_t *n)
{
    membuf out = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing the test PNG");
    png_set_write_fn(png, &out, png_to_mem, png_flush);
    png_set_compression_buffer_size(png, 1024);
    png_set_IHDR(png, info, 128, 128, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color_16 trans = {.red = 1, .green = 250, .blue = 3};
    png_set_tRNS(png, info, NULL, 0, &trans);
    png_write_info(png, info);
    uint8_t row[128 * 3];
    uint32_t s = 11;
    for (int y = 0; y < 128; y++) {
        noise_row(row, 128, y, &s);
        for (int x = 0; x < 128; x++)
            row[x * 3 + 1] &= 0x7F; /* green never 250 */
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *d = out.buf;
    *n = out.len;
}

/* Offset of the chunk of that type (its length field), or 0. */
static size_t chunk_at(const uint8_t *d, size_t n, const char *type, bool last)
{
    size_t found = 0;
    for (size_t i = 8; i + 12 <= n;) {
        size_t len = (size_t)d[i] << 24 | (size_t)d[i + 1] << 16 | (size_t)d[i + 2] << 8 | d[i + 3];
        if (!memcmp(d + i + 4, type, 4)) {
            found = i;
            if (!last)
                return i;
        }
        i += 12 + len;
    }
    return found;
}

static void make_pngs(void)
{
    uint8_t *d;
    size_t n;
    make_png(&d, &n);
    put("png/clean.png", d, n);
    /* tRNS with a wrong CRC */
    size_t t = chunk_at(d, n, "tRNS", false);
    assert_true(t > 0);
    d[t + 8 + 6] ^= 0x5A;
    put("png/crc.png", d, n);
    d[t + 8 + 6] ^= 0x5A;
    /* tRNS of 4 bytes for an RGB image (libpng wants 6), its CRC right:
     * libpng drops it with a benign error */
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memcpy(b, d, t);
    size_t k = t;
    const uint8_t bad[] = {0, 0, 0, 4, 't', 'R', 'N', 'S', 0, 1, 0, 2};
    memcpy(b + k, bad, sizeof bad);
    uLong crc = crc32(0, bad + 4, 8);
    b[k + 12] = (uint8_t)(crc >> 24), b[k + 13] = (uint8_t)(crc >> 16);
    b[k + 14] = (uint8_t)(crc >> 8), b[k + 15] = (uint8_t)crc;
    k += 16;
    memcpy(b + k, d + t + 18, n - (t + 18));
    put("png/badchunk.png", b, k + n - (t + 18));
    free(b);
    /* cut in the middle of the last IDAT */
    size_t last = chunk_at(d, n, "IDAT", true), first = chunk_at(d, n, "IDAT", false);
    assert_true(last > first);
    size_t len = (size_t)d[last] << 24 | (size_t)d[last + 1] << 16 | (size_t)d[last + 2] << 8 | d[last + 3];
    put("png/trunc.png", d, last + 8 + len / 2);
    free(d);
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                       */

typedef struct result {
    char line[4096];           /* the record's line */
    char status[16];
    char error[256];
    char decoder[32];
} result;

enum { NFILES = 13 };
static const char *const g_files[NFILES] = {
    "clean.jpg", "trunc.jpg", "huff.jpg", "eoi.jpg", "extra.jpg", "prog/dc_cut.jpg",
    "prog/ac_cut.jpg", "png/clean.png", "png/crc.png", "png/badchunk.png", "png/trunc.png", NULL, NULL,
};

/* Runs thumbd over g_in into out with args (NULL-terminated, at most 8),
 * the report into res (indexed like g_files). Returns the exit code. */
static int run_thumbd(const char *out, const char *tag, result *res, ...)
{
    char report[512], log[512];
    pathf(report, sizeof report, "%s/%s.jsonl", e2e_root, tag);
    pathf(log, sizeof log, "%s/%s.log", e2e_root, tag);
    char *argv[26];
    int k = 0;
    argv[k++] = (char *)e2e_bin;
    argv[k++] = "--report-skipped"; /* re-runs are checked by their skipped records */
    argv[k++] = "--report";
    argv[k++] = report;
    argv[k++] = "--fit";
    argv[k++] = "inside";
    argv[k++] = "-s";
    argv[k++] = "32x32";
    va_list ap;
    va_start(ap, res);
    for (const char *a; (a = va_arg(ap, const char *)) && k < 20;)
        argv[k++] = (char *)a;
    va_end(ap);
    argv[k++] = g_in;
    argv[k++] = (char *)out;
    argv[k] = NULL;
    e2e_proc p = e2e_run(argv, NULL, log, log, 60, 20, tag);
    memset(res, 0, sizeof *res * NFILES);
    FILE *f = fopen(report, "r");
    assert_non_null(f);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        e2e_jrec r;
        bool ok = e2e_jrec_parse(line, &r, E2E_JREC_MAX, true);
        const e2e_jfield *src = e2e_jrec_get(&r, "src");
        for (int i = 0; ok && src && src->type == E2E_J_STR && g_files[i]; i++) {
            if (strcmp(src->s, g_files[i]))
                continue;
            result *x = &res[i];
            snprintf(x->line, sizeof x->line, "%s", line);
            const e2e_jfield *st = e2e_jrec_get(&r, "status"), *er = e2e_jrec_get(&r, "error"),
                             *de = e2e_jrec_get(&r, "decoder");
            if (st && st->type == E2E_J_STR)
                snprintf(x->status, sizeof x->status, "%s", st->s);
            if (er && er->type == E2E_J_STR)
                snprintf(x->error, sizeof x->error, "%s", er->s);
            if (de && de->type == E2E_J_STR)
                snprintf(x->decoder, sizeof x->decoder, "%s", de->s);
        }
        e2e_jrec_free(&r);
    }
    fclose(f);
    return p.code;
}

/* The record's "warnings": "null", or the array's text. */
static const char *warnings_of(const result *x, char *buf, size_t n)
{
    const char *w = strstr(x->line, "\"warnings\":");
    if (!w)
        return NULL;
    w += 11;
    if (!strncmp(w, "null", 4))
        return "null";
    const char *end = strchr(w, ']');
    if (*w != '[' || !end)
        return NULL;
    snprintf(buf, n, "%.*s", (int)(end - w + 1), w);
    return buf;
}

/* What each file does under a level: 'o' ok, 'f' failed; with the words
 * its error, or its warnings, must contain (NULL: warnings null). */
typedef struct want {
    const char *file;
    const char *level[4];      /* none, truncated, error, warning: "o:words" or "f:words" */
} want;

static const want g_want[] = {
    {"clean.jpg", {"o", "o", "o", "o"}},
    {"trunc.jpg",
     {"o:Premature end of JPEG file", "f:truncated JPEG: premature end of data at row",
      "f:truncated JPEG: premature end of data at row", "f:truncated JPEG: premature end"}},
    {"huff.jpg",
     {"o:bad Huffman code (at row", "o:bad Huffman code (at row", "f:corrupt JPEG: bad Huffman code",
      "f:corrupt JPEG: bad Huffman code"}},
    {"eoi.jpg",
     {"o:premature end of data segment", "o:premature end of data segment",
      "f:corrupt JPEG: premature end of data segment", "f:corrupt JPEG: premature end of data segment"}},
    {"extra.jpg",
     {"o:extraneous bytes before marker 0xda", "o:extraneous bytes before marker 0xda",
      "f:corrupt JPEG: 3 extraneous bytes", "f:corrupt JPEG: 3 extraneous bytes"}},
    {"prog/dc_cut.jpg",
     {"o:Premature end of JPEG file", "f:truncated JPEG: premature end of data in DC scan",
      "f:truncated JPEG: premature end of data in DC scan", "f:truncated JPEG"}},
    {"prog/ac_cut.jpg", {"o", "o", "o", "o"}},
    {"png/clean.png", {"o", "o", "o", "o"}},
    {"png/crc.png", {"o:tRNS: CRC error", "o:tRNS: CRC error", "f:corrupt PNG: tRNS: CRC error",
                 "f:corrupt PNG: tRNS: CRC error"}},
    {"png/badchunk.png",
     {"o:tRNS", "o:tRNS", "o:tRNS", "f:PNG warning, fatal under --fail-on warning: tRNS"}},
    {"png/trunc.png",
     {"o:truncated PNG: premature end of data at row", "f:truncated PNG: premature end of data at row",
      "f:truncated PNG", "f:truncated PNG"}},
};

static const char *const g_levels[4] = {"none", "truncated", "error", "warning"};

static int file_index(const char *name)
{
    for (int i = 0; g_files[i]; i++)
        if (!strcmp(g_files[i], name))
            return i;
    fail_msg("no file %s", name);
    return -1;
}

static void check_level(int lv, const result *res)
{
    for (size_t k = 0; k < sizeof g_want / sizeof *g_want; k++) {
        const want *w = &g_want[k];
        const result *x = &res[file_index(w->file)];
        const char *spec = w->level[lv], *words = spec[1] == ':' ? spec + 2 : NULL;
        char wb[1024];
        const char *warn = warnings_of(x, wb, sizeof wb);
        if (!x->line[0]) {
            fail_check("[%s] %s: no record", g_levels[lv], w->file);
            continue;
        }
        if (spec[0] == 'f') {
            CHECK(!strcmp(x->status, "failed"), "[%s] %s: %s, want failed: %s", g_levels[lv], w->file,
                  x->status, x->line);
            CHECK(words && strstr(x->error, words), "[%s] %s: error '%s', want '%s'", g_levels[lv],
                  w->file, x->error, words);
            CHECK(warn && !strcmp(warn, "null"), "[%s] %s: a failure with warnings: %s", g_levels[lv],
                  w->file, x->line);
            continue;
        }
        CHECK(!strcmp(x->status, "ok"), "[%s] %s: %s, want ok: %s", g_levels[lv], w->file, x->status,
              x->line);
        if (!words)
            CHECK(warn && !strcmp(warn, "null"), "[%s] %s: warnings %s, want null", g_levels[lv],
                  w->file, warn ? warn : "(no key)");
        else
            CHECK(warn && warn[0] == '[' && strstr(warn, words), "[%s] %s: warnings %s, want '%s'",
                  g_levels[lv], w->file, warn ? warn : "(no key)", words);
    }
}

/* Each level over every file. */
static void test_levels(void **state)
{
    (void)state;
    begin_checks();
    for (int lv = 0; lv < 4; lv++) {
        char out[512];
        pathf(out, sizeof out, "%s/out-%s", e2e_root, g_levels[lv]);
        result res[NFILES];
        int code = run_thumbd(out, g_levels[lv], res, "--fail-on", g_levels[lv], NULL);
        CHECK(code == (lv == 0 ? 0 : 1), "[%s] exit %d", g_levels[lv], code);
        check_level(lv, res);
        /* the DC-only decoder judges the scans it reads; below the level,
         * a damaged DC scan goes to libjpeg */
        const result *ac = &res[file_index("prog/ac_cut.jpg")];
        CHECK(!strcmp(ac->decoder, "jpeg-dc-1/8"), "[%s] prog/ac_cut.jpg: decoder %s", g_levels[lv],
              ac->decoder);
        if (lv == 0) {
            const result *dc = &res[file_index("prog/dc_cut.jpg")];
            CHECK(!strcmp(dc->decoder, "jpeg-1/8"), "[none] prog/dc_cut.jpg: decoder %s", dc->decoder);
        }
    }
    /* the default is truncated */
    char out[512];
    pathf(out, sizeof out, "%s/out-default", e2e_root);
    result res[NFILES];
    run_thumbd(out, "default", res, NULL);
    check_level(1, res);
    end_checks();
}

/* A known-bad verdict holds for its level: under another the file is
 * decoded again. A thumbnail holds under every level: not redone. */
static void test_ledger(void **state)
{
    (void)state;
    begin_checks();
    char out[512];
    pathf(out, sizeof out, "%s/out-ledger", e2e_root);
    result a[NFILES], b[NFILES], c[NFILES];
    run_thumbd(out, "ledger-warning", a, "--fail-on", "warning", NULL);
    run_thumbd(out, "ledger-warning2", b, "--fail-on", "warning", NULL);
    run_thumbd(out, "ledger-truncated", c, "--fail-on", "truncated", NULL);
    int huff = file_index("huff.jpg"), clean = file_index("clean.jpg");
    CHECK(!strcmp(a[huff].status, "failed"), "huff.jpg under warning: %s", a[huff].line);
    CHECK(strstr(b[huff].line, "\"known_bad\":true"), "huff.jpg again under warning: not known bad: %s",
          b[huff].line);
    CHECK(!strcmp(c[huff].status, "ok"), "huff.jpg under truncated after warning: %s", c[huff].line);
    CHECK(!strcmp(c[clean].status, "skipped"), "clean.jpg under another level: %s (want skipped)",
          c[clean].line);
    end_checks();
}

/* libvips gets the level as its fail_on. */
static void test_vips(void **state)
{
    (void)state;
    begin_checks();
    result res[NFILES];
    char out[512];
    int t = file_index("trunc.jpg"), clean = file_index("clean.jpg");
    pathf(out, sizeof out, "%s/out-vips-none", e2e_root);
    run_thumbd(out, "vips-none", res, "--engine", "vips", "--fail-on", "none", NULL);
    CHECK(!strcmp(res[t].status, "ok"), "[vips none] trunc.jpg: %s", res[t].line);
    CHECK(!strcmp(res[clean].status, "ok"), "[vips none] clean.jpg: %s", res[clean].line);
    pathf(out, sizeof out, "%s/out-vips-truncated", e2e_root);
    run_thumbd(out, "vips-truncated", res, "--engine", "vips", "--fail-on", "truncated", NULL);
    CHECK(!strcmp(res[t].status, "failed"), "[vips truncated] trunc.jpg: %s", res[t].line);
    CHECK(!strcmp(res[clean].status, "ok"), "[vips truncated] clean.jpg: %s", res[clean].line);
    end_checks();
}

static int setup(void **state)
{
    (void)state;
    pathf(g_in, sizeof g_in, "%s/in", e2e_root);
    char p[512];
    mkdir(g_in, 0755);
    pathf(p, sizeof p, "%s/prog", g_in);
    mkdir(p, 0755);
    pathf(p, sizeof p, "%s/png", g_in);
    mkdir(p, 0755);
    make_jpegs();
    make_pngs();
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_vips),
    };
    const e2e_prog p = {.name = "failon", .setup = setup};
    return e2e_main_ex(argc, argv, &p, tests, sizeof tests / sizeof tests[0]);
}
