/* End-to-end tests of the libvips engine (issue "libvips engine"): the real
 * thumbd binary on images this program writes itself with the libvips C API
 * (WebP, TIFF, GIF, AVIF/HEIF, JPEG, PNG), each thumbnail decoded back with
 * libvips and checked.
 *
 *   test_vips [THUMBD_BIN]
 *
 * (default: the compile definition THUMBD_BIN). Everything happens in a fresh
 * directory under $TMPDIR (or /tmp), removed at the end unless
 * THUMBD_VIPS_KEEP=1. Each test prints what it measured and collects all its
 * failed checks before failing.
 *
 *   formats      WebP, TIFF (8-bit, 16-bit, multi-page), GIF (animated, with
 *                transparency), AVIF and HEIF (if this libvips can write
 *                them), WebP with alpha, TIFF and WebP with EXIF orientation
 *                6: size (cover and --fit inside), colours, first page or
 *                frame, alpha kept, upright
 *   encoders     --format webp / avif from JPEG and PNG: signature, size,
 *                colours, no metadata
 *   agreement    --engine native against --engine vips on photo-like JPEGs
 *                and PNGs: same size, PSNR above a threshold
 *   limits       --max-pixels, --max-frames, truncated and corrupt files on
 *                the libvips path; the rest of the batch goes on
 *   error_isolation  with two workers, each failed record carries its own
 *                file's libvips diagnostic
 *   cancel       --task-timeout on a large TIFF stops the task promptly
 *   memory       peak RSS over 500 and over 3000 small WebPs
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#include <cmocka.h>

#include "e2e_util.h"

extern char **environ;

#ifndef THUMBD_BIN
#define THUMBD_BIN "thumbd"
#endif

/* Tolerances, per 8-bit channel, at probe points in the middle of a solid
 * quadrant (far from any edge, averaged over 5x5 pixels):
 *
 * TOL_EXACT (12): lossless sources (TIFF, GIF, PNG, lossless WebP). A flat
 * area survives resampling unchanged; the budget is the thumbnail's own JPEG
 * encoding at quality 85 with 4:2:0 chroma (<= ~4) and palette or 16-bit
 * rounding (<= 1). Every defect looked for here (wrong page, wrong byte of a
 * 16-bit sample, not rotated, colours swapped) is off by >= 100.
 *
 * TOL_LOSSY (30): lossy sources (WebP, AVIF, HEIF at Q 90 with 4:2:0 chroma)
 * and lossy outputs (--format webp / avif at quality 85): two lossy codecs in
 * a row shift a saturated flat colour by up to ~20.
 *
 * TOL_ALPHA (8): an alpha value after resampling and (for WebP) lossless alpha
 * coding: 0 stays 0, 255 stays 255, 128 may move by a few steps. */
enum { TOL_EXACT = 12, TOL_LOSSY = 30, TOL_ALPHA = 8 };
enum { BOX = 200, RUN_TIMEOUT_S = 120 };

/* PSNR thresholds for --engine native against --engine vips (test_agreement).
 *
 * The two engines are different implementations of one contract, so their
 * thumbnails are not byte-identical: thumbd's native path shrinks in the DCT
 * (JPEG) then box-averages, then resamples with stb_image_resize's default
 * downsampling filter (Mitchell, a cubic with B = C = 1/3); libvips shrinks
 * on load too but then reduces with lanczos3, which is sharper and rings at
 * edges. Chroma upsampling of 4:2:0 JPEGs differs (libjpeg's fancy
 * upsampling against libvips's), and so do the exact centre of the cover
 * crop and rounding. On a flat area this is ~0; on hard edges the two
 * kernels differ by tens of levels over a pixel or two. On the photo-like
 * images below (smooth gradients, two hard-edged shapes, +-8 levels of
 * texture), vipsthumbnail against the native path measures 38-51 dB;
 * thumbd's libvips engine as of this writing measures 31-37 dB, because it
 * also runs untagged images through an sRGB ICC export that shifts
 * saturated colours (see test_formats). 30 dB (RMS error 8 levels) is still
 * "the same picture", while a real defect (not rotated, channels swapped,
 * alpha ignored, a shifted crop) drops below 20 dB.
 *
 * CMYK is different: a CMYK JPEG without a profile has no defined colours.
 * thumbd's native path converts it with the naive formula
 * (R = 255 - min(255, C + K)...), as the README says; libvips converts it
 * through its built-in CMYK profile (a press profile, whose inks are far
 * less saturated), as vipsengine.h says. The two differ by design, by up to
 * ~80 levels in saturated areas: measured 21.2-21.6 dB on cmyk.jpg (also
 * with vipsthumbnail). That case gets its own threshold, PSNR_CMYK, 3 dB
 * under the measurement, which still catches what would be a bug either way
 * (the native thumbnail against its own inverse, CMYK read with the wrong
 * Adobe convention: 6.7 dB; against itself with R and B swapped: 13.7 dB);
 * its dimensions must agree like the others. */
#define PSNR_MIN 30.0
#define PSNR_CMYK 18.0

static const char *g_bin = THUMBD_BIN;
static char g_tmp[PATH_MAX - 200]; /* the temporary root */
static bool g_avif_ok, g_heic_ok;  /* this libvips can write AVIF / HEIF (HEVC) */

/* A libvips call of the generator failed: the test cannot go on (fail()
 * does not return, but cmocka does not declare it so: abort() says it). */
_Noreturn static void vips_die(const char *what)
{
    print_error("libvips: %s: %s\n", what, vips_error_buffer());
    vips_error_clear();
    fail();
    abort();
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    assert_true(k > 0 && (size_t)k < n);
}

static void make_dir(char *buf, size_t n, const char *name)
{
    path_in(buf, n, g_tmp, name);
    assert_int_equal(mkdir(buf, 0777), 0);
}

/* A run's OUT_DIR: <tmp>/out-<tag> (never an input directory). */
static void out_dir(char *buf, size_t n, const char *tag)
{
    int k = snprintf(buf, n, "%s/out-%s", g_tmp, tag);
    assert_true(k > 0 && (size_t)k < n);
}

static bool has_bytes(const uint8_t *d, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(d + i, needle, k))
            return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

typedef e2e_proc runres; /* code: exit code, 128 + signal, -1: cannot start, -2: timeout */

/* Runs thumbd OPTS... --quiet --report REPORT IN OUT, stdout and stderr into
 * <tmp>/<tag>.stdout / .stderr. san: e2e_cmd's san_opts (NULL: none). */
static runres run_thumbd_env(const char *tag, const char *const *opts, const char *in,
                             const char *out, const char *report, const char *const *san)
{
    char so[PATH_MAX], se[PATH_MAX];
    snprintf(so, sizeof so, "%s/%s.stdout", g_tmp, tag);
    snprintf(se, sizeof se, "%s/%s.stderr", g_tmp, tag);
    const char *args[40];
    int n = 0;
    for (int i = 0; opts && opts[i]; i++) {
        assert_true(n < 32);
        args[n++] = opts[i];
    }
    const char *const tail[] = {"--quiet", "--report", report, in, out, NULL};
    for (int i = 0; tail[i]; i++)
        args[n++] = tail[i];
    args[n] = NULL;
    e2e_cmd c = {.bin = g_bin, .args = args, .out = so, .err = se, .san_opts = san, .tag = tag};
    return e2e_exec(&c, RUN_TIMEOUT_S);
}

static runres run_thumbd(const char *tag, const char *const *opts, const char *in, const char *out,
                         const char *report)
{
    return run_thumbd_env(tag, opts, in, out, report, NULL);
}

/* Prints the first lines of a run's stderr (after an unexpected exit code). */
static void show_stderr(const char *tag)
{
    char se[PATH_MAX];
    snprintf(se, sizeof se, "%s/%s.stderr", g_tmp, tag);
    FILE *f = fopen(se, "r");
    if (!f)
        return;
    char line[512];
    for (int i = 0; i < 20 && fgets(line, sizeof line, f); i++)
        printf("    [%s stderr] %s", tag, line);
    fclose(f);
}

static void check_exit(const char *tag, runres r, int want)
{
    CHECK(r.code == want, "[%s] exit %d, want %d", tag, r.code, want);
    if (r.code != want)
        show_stderr(tag);
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report (flat objects, as the README documents)              */

typedef struct rec {
    char src[256], out[256], status[16], error[512];
    bool out_null;
    long src_w, src_h, out_w, out_h;
    double total_ms;
} rec;

typedef struct report {
    rec *v;
    int n;
    int bad;  /* unparsable lines */
} report;

/* The typed fields of a record: strings "" when null or absent (and
 * truncated), numbers -1 when absent. */
static void rec_of(const e2e_jrec *x, rec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->src, sizeof r->src, "%s", e2e_str_or(x, "src", ""));
    snprintf(r->out, sizeof r->out, "%s", e2e_str_or(x, "out", ""));
    snprintf(r->status, sizeof r->status, "%s", e2e_str_or(x, "status", ""));
    snprintf(r->error, sizeof r->error, "%s", e2e_str_or(x, "error", ""));
    r->out_null = e2e_is_null(x, "out");
    long *num[] = {&r->src_w, &r->src_h, &r->out_w, &r->out_h};
    static const char *const keys[] = {"src_w", "src_h", "out_w", "out_h"};
    for (int i = 0; i < 4; i++)
        *num[i] = isnan(e2e_num(x, keys[i])) ? -1 : lround(e2e_num(x, keys[i]));
    r->total_ms = isnan(e2e_num(x, "total_ms")) ? -1 : e2e_num(x, "total_ms");
}

/* The report at path (e2e_report), every unparsable line a failed check. */
static void load_report(const char *path, report *rep)
{
    memset(rep, 0, sizeof *rep);
    e2e_report j;
    if (!e2e_report_load(path, &j, 0)) {
        CHECK(false, "no report at %s", path);
        return;
    }
    CHECK(j.bad == 0, "%d unparsable report lines in %s, the first: %s", j.bad, path, j.first_bad);
    rep->bad = j.bad;
    rep->n = j.n;
    rep->v = calloc((size_t)j.n + 1, sizeof *rep->v);
    assert_non_null(rep->v);
    for (int i = 0; i < j.n; i++)
        rec_of(&j.v[i], &rep->v[i]);
    e2e_report_free(&j);
}

static const rec *find_rec(const report *rep, const char *src)
{
    for (int i = 0; i < rep->n; i++)
        if (!strcmp(rep->v[i].src, src))
            return &rep->v[i];
    return NULL;
}

static int count_status(const report *rep, const char *status)
{
    int n = 0;
    for (int i = 0; i < rep->n; i++)
        n += !strcmp(rep->v[i].status, status);
    return n;
}

static void free_report(report *rep)
{
    free(rep->v);
    memset(rep, 0, sizeof *rep);
}

/* Finds src's record and checks it is 'ok'; NULL (and a failed check) if not. */
static const rec *ok_rec(const char *tag, const report *rep, const char *src)
{
    const rec *r = find_rec(rep, src);
    CHECK(r != NULL, "[%s] %s: no record", tag, src);
    if (!r)
        return NULL;
    CHECK(!strcmp(r->status, "ok"), "[%s] %s: status %s (%s), want ok", tag, src, r->status,
          r->error);
    return strcmp(r->status, "ok") ? NULL : r;
}

/* ------------------------------------------------------------------------ */
/* Making images                                                              */

typedef struct rgba {
    int r, g, b, a;
} rgba;

/* Four solid quadrants, top-left, top-right, bottom-left, bottom-right. */
static const rgba Q_OPAQUE[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 255}, {40, 60, 210, 255}, {235, 215, 40, 255}};
/* With alpha: opaque, transparent, half, opaque. */
static const rgba Q_ALPHA[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 0}, {40, 60, 210, 128}, {235, 215, 40, 255}};
/* GIF transparency is all or nothing: two transparent quadrants. */
static const rgba Q_GIF[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 0}, {40, 60, 210, 0}, {235, 215, 40, 255}};
static const rgba MAGENTA = {200, 40, 200, 255}, CYAN = {40, 200, 200, 255};

/* Wraps px (copied) as an image of the given interpretation. */
static VipsImage *wrap(const void *px, size_t len, int w, int h, int bands, VipsBandFormat fmt,
                       VipsInterpretation interp)
{
    VipsImage *m = vips_image_new_from_memory_copy(px, len, w, h, bands, fmt);
    if (!m)
        vips_die("vips_image_new_from_memory_copy");
    VipsImage *out;
    if (vips_copy(m, &out, "interpretation", interp, NULL))
        vips_die("vips_copy");
    g_object_unref(m);
    return out;
}

static VipsImage *quad_image(int w, int h, const rgba q[4], int bands)
{
    size_t n = (size_t)w * (size_t)h * (size_t)bands;
    uint8_t *px = malloc(n);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const rgba *c = &q[(y >= h / 2) * 2 + (x >= w / 2)];
            uint8_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * (size_t)bands;
            o[0] = (uint8_t)c->r;
            o[1] = (uint8_t)c->g;
            o[2] = (uint8_t)c->b;
            if (bands == 4)
                o[3] = (uint8_t)c->a;
        }
    VipsImage *im = wrap(px, n, w, h, bands, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    return im;
}

static VipsImage *solid_image(int w, int h, rgba c, int bands)
{
    const rgba q[4] = {c, c, c, c};
    return quad_image(w, h, q, bands);
}

/* The quadrants in 16 bits per sample: high byte the colour, low byte 128,
 * so that a loader taking the wrong byte sees 128 everywhere. */
static VipsImage *quad_image16(int w, int h, const rgba q[4])
{
    size_t n = (size_t)w * (size_t)h * 3;
    uint16_t *px = malloc(n * sizeof *px);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const rgba *c = &q[(y >= h / 2) * 2 + (x >= w / 2)];
            uint16_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            o[0] = (uint16_t)(c->r * 256 + 128);
            o[1] = (uint16_t)(c->g * 256 + 128);
            o[2] = (uint16_t)(c->b * 256 + 128);
        }
    VipsImage *im = wrap(px, n * sizeof *px, w, h, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16);
    free(px);
    return im;
}

/* Joins pages (same size) into one tall image with page-height set: what
 * tiffsave writes as a multi-page TIFF and gifsave as an animation. Takes the
 * references of pages. */
static VipsImage *join_pages(VipsImage **pages, int n)
{
    VipsImage *j, *out;
    if (vips_arrayjoin(pages, &j, n, "across", 1, NULL))
        vips_die("vips_arrayjoin");
    if (vips_copy(j, &out, NULL))
        vips_die("vips_copy");
    g_object_unref(j);
    vips_image_set_int(out, "page-height", vips_image_get_height(pages[0]));
    for (int i = 0; i < n; i++)
        g_object_unref(pages[i]);
    return out;
}

/* A copy of in, rotated so that orientation 6 (rotate 90 degrees clockwise to
 * display) makes it in again, tagged with orientation 6. Unrefs in. */
static VipsImage *store_as_orientation6(VipsImage *in)
{
    VipsImage *r, *out;
    if (vips_rot(in, &r, VIPS_ANGLE_D270, NULL))
        vips_die("vips_rot");
    if (vips_copy(r, &out, NULL))
        vips_die("vips_copy");
    g_object_unref(r);
    g_object_unref(in);
    vips_image_set_int(out, "orientation", 6);
    return out;
}

/* Saves through call, checking its result, then drops im. */
#define SAVE(im, call)                   \
    do {                                 \
        if ((call) != 0)                 \
            vips_die(#call);             \
        g_object_unref(im);              \
    } while (0)

static unsigned hash3(unsigned x, unsigned y, unsigned seed)
{
    unsigned h = x * 0x9E3779B1u ^ y * 0x85EBCA77u ^ seed * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

static uint8_t clamp8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrint(v);
}

/* A photo-like picture: smooth gradients, two hard-edged shapes and a fine
 * texture (+-8 levels of noise), as RGB. */
static uint8_t *photo_rgb(int w, int h, unsigned seed)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double r = 128 + 90 * sin(6.0 * u + seed) * cos(3.0 * v);
            double g = 40 + 180 * v;
            double b = 60 + 150 * (1 - hypot(u - 0.6, v - 0.4));
            if (u > 0.15 && u < 0.45 && v > 0.55 && v < 0.85) {
                r = 240;
                g = 230;
                b = 205;
            }
            if (hypot(u - 0.7, v - 0.65) < 0.15) {
                r = 30;
                g = 50;
                b = 95;
            }
            int noise = (int)(hash3((unsigned)x, (unsigned)y, seed) % 17) - 8;
            uint8_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            o[0] = clamp8(r + noise);
            o[1] = clamp8(g + noise);
            o[2] = clamp8(b + noise);
        }
    return px;
}

static VipsImage *photo_image(int w, int h, unsigned seed)
{
    uint8_t *px = photo_rgb(w, h, seed);
    VipsImage *im = wrap(px, (size_t)w * (size_t)h * 3, w, h, 3, VIPS_FORMAT_UCHAR,
                         VIPS_INTERPRETATION_sRGB);
    free(px);
    return im;
}

/* Whether this libvips can write a small image as AVIF (AV1) / HEIF (HEVC):
 * the saver must exist and its encoder plug-in must be there. */
static bool can_write_heif(VipsForeignHeifCompression comp)
{
    if (!vips_type_find("VipsOperation", "heifsave_buffer"))
        return false;
    VipsImage *im = solid_image(16, 16, CYAN, 3);
    void *buf = NULL;
    size_t len = 0;
    int rc = vips_heifsave_buffer(im, &buf, &len, "compression", comp, NULL);
    g_object_unref(im);
    g_free(buf);
    vips_error_clear();
    return rc == 0 && len > 0;
}

/* ------------------------------------------------------------------------ */
/* Reading thumbnails back                                                    */

typedef struct pix {
    int w, h, bands;
    uint8_t *px;
} pix;

static bool pix_load(const char *path, pix *p)
{
    memset(p, 0, sizeof *p);
    VipsImage *im = vips_image_new_from_file(path, NULL);
    VipsImage *u = NULL;
    if (!im || vips_cast_uchar(im, &u, NULL)) {
        printf("  cannot decode %s: %s\n", path, vips_error_buffer());
        vips_error_clear();
        if (im)
            g_object_unref(im);
        return false;
    }
    g_object_unref(im);
    size_t len = 0;
    void *mem = vips_image_write_to_memory(u, &len);
    if (mem) {
        p->w = vips_image_get_width(u);
        p->h = vips_image_get_height(u);
        p->bands = vips_image_get_bands(u);
        p->px = malloc(len);
        assert_non_null(p->px);
        memcpy(p->px, mem, len);
        g_free(mem);
    } else {
        printf("  cannot decode %s: %s\n", path, vips_error_buffer());
        vips_error_clear();
    }
    g_object_unref(u);
    return mem != NULL;
}

static void pix_free(pix *p)
{
    free(p->px);
    p->px = NULL;
}

static bool pix_alpha(const pix *p)
{
    return p->bands == 2 || p->bands == 4;
}

/* One pixel as RGBA (gray expanded, alpha 255 if none). */
static rgba pix_at(const pix *p, int x, int y)
{
    const uint8_t *s = p->px + ((size_t)y * (size_t)p->w + (size_t)x) * (size_t)p->bands;
    rgba c;
    if (p->bands <= 2) {
        c.r = c.g = c.b = s[0];
        c.a = p->bands == 2 ? s[1] : 255;
    } else {
        c.r = s[0];
        c.g = s[1];
        c.b = s[2];
        c.a = p->bands == 4 ? s[3] : 255;
    }
    return c;
}

/* The mean over 5x5 pixels around (fx * w, fy * h). */
static rgba pix_probe(const pix *p, double fx, double fy)
{
    int cx = (int)(fx * p->w), cy = (int)(fy * p->h), n = 0;
    long s[4] = {0, 0, 0, 0};
    for (int y = cy - 2; y <= cy + 2; y++)
        for (int x = cx - 2; x <= cx + 2; x++) {
            if (x < 0 || y < 0 || x >= p->w || y >= p->h)
                continue;
            rgba c = pix_at(p, x, y);
            s[0] += c.r;
            s[1] += c.g;
            s[2] += c.b;
            s[3] += c.a;
            n++;
        }
    rgba m = {0, 0, 0, 0};
    if (n) {
        m.r = (int)(s[0] / n);
        m.g = (int)(s[1] / n);
        m.b = (int)(s[2] / n);
        m.a = (int)(s[3] / n);
    }
    return m;
}

/* Checks the four quadrant centres of a thumbnail against q (colour only
 * where the reference is not transparent; alpha always). */
static void check_quadrants(const char *what, const pix *p, const rgba q[4], int tol)
{
    static const double at[4][2] = {{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}};
    static const char *const qn[4] = {"top-left", "top-right", "bottom-left", "bottom-right"};
    for (int i = 0; i < 4; i++) {
        rgba g = pix_probe(p, at[i][0], at[i][1]), w = q[i];
        CHECK(abs(g.a - w.a) <= TOL_ALPHA, "%s: %s alpha %d, want %d", what, qn[i], g.a, w.a);
        if (w.a == 0)
            continue;
        CHECK(abs(g.r - w.r) <= tol && abs(g.g - w.g) <= tol && abs(g.b - w.b) <= tol,
              "%s: %s is (%d,%d,%d), want (%d,%d,%d) +-%d", what, qn[i], g.r, g.g, g.b, w.r, w.g,
              w.b, tol);
    }
}

/* RGB composited over white, for comparisons (alpha compared as what a
 * viewer shows on a white page). */
static uint8_t *pix_over_white(const pix *p)
{
    size_t n = (size_t)p->w * (size_t)p->h;
    uint8_t *o = malloc(n * 3);
    assert_non_null(o);
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            rgba c = pix_at(p, x, y);
            uint8_t *d = o + ((size_t)y * (size_t)p->w + (size_t)x) * 3;
            d[0] = (uint8_t)((c.r * c.a + 255 * (255 - c.a) + 127) / 255);
            d[1] = (uint8_t)((c.g * c.a + 255 * (255 - c.a) + 127) / 255);
            d[2] = (uint8_t)((c.b * c.a + 255 * (255 - c.a) + 127) / 255);
        }
    return o;
}

static double psnr(const pix *a, const pix *b)
{
    uint8_t *x = pix_over_white(a), *y = pix_over_white(b);
    size_t n = (size_t)a->w * (size_t)a->h * 3;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        se += d * d;
    }
    free(x);
    free(y);
    double mse = se / (double)n;
    return mse <= 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

/* The metadata fields libvips finds in a file that a thumbnail must not
 * carry; NULL if there is none, else the first one's name (in buf). */
static const char *metadata_field(const char *path, char *buf, size_t cap)
{
    VipsImage *im = vips_image_new_from_file(path, NULL);
    if (!im) {
        vips_error_clear();
        snprintf(buf, cap, "(unreadable)");
        return buf;
    }
    gchar **f = vips_image_get_fields(im);
    const char *found = NULL;
    for (int i = 0; f && f[i] && !found; i++)
        if (!strcmp(f[i], "exif-data") || !strcmp(f[i], "xmp-data") ||
            !strcmp(f[i], "icc-profile-data") || !strcmp(f[i], "iptc-data") ||
            !strcmp(f[i], "orientation") || !strncmp(f[i], "exif-", 5) ||
            !strncmp(f[i], "png-comment", 11) || !strcmp(f[i], "gif-comment")) {
            snprintf(buf, cap, "%s", f[i]);
            found = buf;
        }
    g_strfreev(f);
    g_object_unref(im);
    return found;
}

/* The header of a file as libvips reads it: size, pages, orientation. */
static void header_of(const char *path, int *w, int *h, int *pages, int *orient)
{
    VipsImage *im = vips_image_new_from_file(path, NULL);
    if (!im)
        vips_die(path);
    *w = vips_image_get_width(im);
    *h = vips_image_get_height(im);
    *pages = vips_image_get_n_pages(im);
    if (vips_image_get_int(im, "orientation", orient))
        *orient = 1;
    vips_error_clear();
    g_object_unref(im);
}

/* out_rel's name with the extension replaced. */
static void with_ext(char *buf, size_t n, const char *name, const char *ext)
{
    const char *dot = strrchr(name, '.');
    int stem = dot ? (int)(dot - name) : (int)strlen(name);
    snprintf(buf, n, "%.*s%s", stem, name, ext);
}

/* ------------------------------------------------------------------------ */
/* 1. Formats through the libvips engine                                     */

typedef struct fcase {
    const char *name;
    int sw, sh;        /* as stored */
    int dw, dh;        /* upright */
    const rgba *q;     /* quadrants, upright */
    int tol;
    bool alpha;        /* output PNG with alpha */
    int pages, orient; /* what the file must carry */
    bool present;
} fcase;

static void make_format_inputs(const char *dir, fcase *c, int n)
{
    char p[PATH_MAX];
    for (int i = 0; i < n; i++) {
        const char *nm = c[i].name;
        path_in(p, sizeof p, dir, nm);
        c[i].present = true;
        if (!strcmp(nm, "webp_lossy.webp")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "webp_lossless.webp")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_webpsave(im, p, "lossless", TRUE, NULL));
        } else if (!strcmp(nm, "webp_alpha.webp")) {
            VipsImage *im = quad_image(400, 300, Q_ALPHA, 4);
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "webp_orient6.webp")) {
            VipsImage *im = store_as_orientation6(quad_image(400, 300, Q_OPAQUE, 3));
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "tiff_rgb8.tif")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_rgb16.tif")) {
            VipsImage *im = quad_image16(400, 300, Q_OPAQUE);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_pages.tif")) {
            VipsImage *pg[3] = {quad_image(400, 300, Q_OPAQUE, 3), solid_image(400, 300, MAGENTA, 3),
                                solid_image(400, 300, CYAN, 3)};
            VipsImage *im = join_pages(pg, 3);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_orient6.tif")) {
            VipsImage *im = store_as_orientation6(quad_image(400, 300, Q_OPAQUE, 3));
            SAVE(im, vips_tiffsave(im, p, NULL));
        } else if (!strcmp(nm, "gif_anim.gif")) {
            VipsImage *pg[3] = {quad_image(400, 300, Q_OPAQUE, 3), solid_image(400, 300, MAGENTA, 3),
                                solid_image(400, 300, CYAN, 3)};
            VipsImage *im = join_pages(pg, 3);
            SAVE(im, vips_gifsave(im, p, NULL));
        } else if (!strcmp(nm, "gif_alpha.gif")) {
            VipsImage *im = quad_image(400, 300, Q_GIF, 4);
            SAVE(im, vips_gifsave(im, p, NULL));
        } else if (!strcmp(nm, "avif_quad.avif")) {
            c[i].present = g_avif_ok;
            if (g_avif_ok) {
                VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
                SAVE(im, vips_heifsave(im, p, "Q", 90, "compression",
                                       VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL));
            }
        } else if (!strcmp(nm, "heif_quad.heic")) {
            c[i].present = g_heic_ok;
            if (g_heic_ok) {
                VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
                SAVE(im, vips_heifsave(im, p, "Q", 90, "compression",
                                       VIPS_FOREIGN_HEIF_COMPRESSION_HEVC, NULL));
            }
        } else {
            fail_msg("no generator for %s", nm);
        }
    }
}

static void test_formats(void **state)
{
    (void)state;
    begin_checks();
    fcase cases[] = {
        {"webp_lossy.webp", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
        {"webp_lossless.webp", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"webp_alpha.webp", 400, 300, 400, 300, Q_ALPHA, TOL_LOSSY, true, 1, 1, false},
        {"webp_orient6.webp", 300, 400, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 6, false},
        {"tiff_rgb8.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"tiff_rgb16.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"tiff_pages.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 3, 1, false},
        {"tiff_orient6.tif", 300, 400, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 6, false},
        {"gif_anim.gif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 3, 1, false},
        {"gif_alpha.gif", 400, 300, 400, 300, Q_GIF, TOL_EXACT, true, 1, 1, false},
        {"avif_quad.avif", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
        {"heif_quad.heic", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    char in[PATH_MAX];
    make_dir(in, sizeof in, "formats");
    make_format_inputs(in, cases, NC);

    /* The generator did what it says: sizes, pages, orientation tags. */
    int present = 0;
    for (int i = 0; i < NC; i++) {
        if (!cases[i].present) {
            printf("  %s: skipped, this libvips cannot write it\n", cases[i].name);
            CHECK(!test_strict(), "%s: not tested (THUMBD_TEST_STRICT=1)", cases[i].name);
            continue;
        }
        present++;
        char p[PATH_MAX];
        int w, h, pages, orient;
        path_in(p, sizeof p, in, cases[i].name);
        header_of(p, &w, &h, &pages, &orient);
        CHECK(w == cases[i].sw && h == cases[i].sh && pages == cases[i].pages &&
                  orient == cases[i].orient,
              "generator: %s is %dx%d, %d pages, orientation %d; want %dx%d, %d, %d",
              cases[i].name, w, h, pages, orient, cases[i].sw, cases[i].sh, cases[i].pages,
              cases[i].orient);
    }

    static const struct {
        const char *tag;
        const char *opts[4];
        bool inside;
    } runs[] = {
        {"formats-cover", {NULL}, false},
        {"formats-inside", {"--fit", "inside", NULL}, true},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        runres rr = run_thumbd(tag, runs[k].opts, in, out, rp);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == present, "[%s] %d records, want %d", tag, rep.n, present);
        for (int i = 0; i < NC; i++) {
            const fcase *c = &cases[i];
            if (!c->present)
                continue;
            const rec *r = ok_rec(tag, &rep, c->name);
            if (!r)
                continue;
            char want_out[256], what[600], p[PATH_MAX * 2];
            with_ext(want_out, sizeof want_out, c->name, c->alpha ? ".png" : ".jpg");
            CHECK(!strcmp(r->out, want_out), "[%s] %s: out %s, want %s", tag, c->name, r->out,
                  want_out);
            int ww = BOX, wh = BOX;
            if (runs[k].inside) {
                /* aspect kept: the upright 400x300 into 200x200 */
                ww = BOX;
                wh = (int)lround((double)BOX * c->dh / c->dw);
            }
            CHECK(r->out_w == ww && r->out_h == wh, "[%s] %s: out_w x out_h %ldx%ld, want %dx%d",
                  tag, c->name, r->out_w, r->out_h, ww, wh);
            CHECK(r->src_w == c->sw && r->src_h == c->sh,
                  "[%s] %s: src_w x src_h %ldx%ld, want %dx%d (as stored)", tag, c->name, r->src_w,
                  r->src_h, c->sw, c->sh);
            path_in(p, sizeof p, out, r->out);
            pix px;
            if (!pix_load(p, &px)) {
                CHECK(false, "[%s] %s: thumbnail %s unreadable", tag, c->name, r->out);
                continue;
            }
            CHECK(px.w == ww && px.h == wh, "[%s] %s: thumbnail is %dx%d, want %dx%d", tag,
                  c->name, px.w, px.h, ww, wh);
            CHECK(pix_alpha(&px) == c->alpha, "[%s] %s: thumbnail has %d bands, alpha %s", tag,
                  c->name, px.bands, c->alpha ? "expected" : "not expected");
            snprintf(what, sizeof what, "[%s] %s", tag, c->name);
            if (px.w == ww && px.h == wh)
                check_quadrants(what, &px, c->q, c->tol);
            pix_free(&px);
        }
        free_report(&rep);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 2. --format webp / avif                                                   */

/* Walks the RIFF chunks of a WebP: only image data (VP8, VP8L, VP8X, ALPH)
 * is allowed, and VP8X must not announce ICC, EXIF or XMP. */
static const char *webp_problem(const uint8_t *d, size_t n, char *buf, size_t cap)
{
    if (n < 20 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WEBP", 4))
        return "no RIFF....WEBP signature";
    uint32_t riff = (uint32_t)d[4] | (uint32_t)d[5] << 8 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24;
    if ((size_t)riff + 8 != n) {
        snprintf(buf, cap, "RIFF size %u but file is %zu bytes", riff, n);
        return buf;
    }
    for (size_t at = 12; at + 8 <= n;) {
        const uint8_t *ch = d + at;
        uint32_t len = (uint32_t)ch[4] | (uint32_t)ch[5] << 8 | (uint32_t)ch[6] << 16 |
                       (uint32_t)ch[7] << 24;
        if (memcmp(ch, "VP8 ", 4) && memcmp(ch, "VP8L", 4) && memcmp(ch, "VP8X", 4) &&
            memcmp(ch, "ALPH", 4)) {
            snprintf(buf, cap, "chunk '%.4s'", (const char *)ch);
            return buf;
        }
        if (!memcmp(ch, "VP8X", 4) && len >= 1 && (ch[8] & 0x2C)) {
            snprintf(buf, cap, "VP8X flags 0x%02x announce ICC/EXIF/XMP", ch[8]);
            return buf;
        }
        at += 8 + (size_t)len + (len & 1);
    }
    return NULL;
}

static const char *avif_problem(const uint8_t *d, size_t n)
{
    if (n < 12 || memcmp(d + 4, "ftypavif", 8))
        return "no ftypavif signature";
    if (has_bytes(d, n, "colrprof", 8) || has_bytes(d, n, "colrrICC", 8))
        return "an ICC profile (colr prof)";
    return NULL;
}

static void test_encoders(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "encode");
    /* Sources with every kind of metadata: EXIF (libvips writes it from the
     * orientation), XMP holding a secret, an ICC profile (sRGB). */
    static const char xmp[] =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>thumbd-vips secret</dc:title>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>";
    VipsBlob *icc = NULL;
    if (vips_profile_load("srgb", &icc, NULL))
        vips_die("vips_profile_load");
    size_t icc_len = 0;
    const void *icc_data = vips_blob_get(icc, &icc_len);
    static const struct {
        const char *name;
        const rgba *q;
        bool alpha;
    } src[] = {
        {"photo.jpg", Q_OPAQUE, false},
        {"alpha.png", Q_ALPHA, true},
        {"plain.png", Q_OPAQUE, false},
    };
    enum { NS = sizeof src / sizeof src[0] };
    for (int i = 0; i < NS; i++) {
        VipsImage *im = quad_image(400, 300, src[i].q, src[i].alpha ? 4 : 3);
        vips_image_set_int(im, "orientation", 1);
        vips_image_set_blob_copy(im, "xmp-data", xmp, sizeof xmp - 1);
        vips_image_set_blob_copy(im, "icc-profile-data", icc_data, icc_len);
        path_in(p, sizeof p, in, src[i].name);
        if (strstr(src[i].name, ".jpg"))
            SAVE(im, vips_jpegsave(im, p, "Q", 95, NULL));
        else
            SAVE(im, vips_pngsave(im, p, NULL));
        /* The source really carries it all (libvips reads it back). */
        VipsImage *back = vips_image_new_from_file(p, NULL);
        if (!back)
            vips_die(p);
        CHECK(vips_image_get_typeof(back, "xmp-data") && vips_image_get_typeof(back, "icc-profile-data") &&
                  (!strstr(src[i].name, ".jpg") || vips_image_get_typeof(back, "exif-data")),
              "generator: %s lacks some of its metadata", src[i].name);
        g_object_unref(back);
    }
    vips_area_unref((VipsArea *)icc);

    static const struct {
        const char *tag, *format, *engine, *ext;
    } runs[] = {
        {"enc-webp-auto", "webp", "auto", ".webp"},
        {"enc-webp-vips", "webp", "vips", ".webp"},
        {"enc-avif-auto", "avif", "auto", ".avif"},
        {"enc-avif-vips", "avif", "vips", ".avif"},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        bool avif = !strcmp(runs[k].format, "avif");
        if (avif && !g_avif_ok) {
            printf("  [%s] skipped: this libvips cannot write AVIF\n", tag);
            continue;
        }
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--format", runs[k].format, "--engine", runs[k].engine, NULL};
        runres rr = run_thumbd(tag, opts, in, out, rp);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == NS, "[%s] %d records, want %d", tag, rep.n, (int)NS);
        for (int i = 0; i < NS; i++) {
            const rec *r = ok_rec(tag, &rep, src[i].name);
            if (!r)
                continue;
            char want_out[256], what[600], fp[PATH_MAX * 2], buf[96];
            with_ext(want_out, sizeof want_out, src[i].name, runs[k].ext);
            CHECK(!strcmp(r->out, want_out), "[%s] %s: out %s, want %s", tag, src[i].name, r->out,
                  want_out);
            path_in(fp, sizeof fp, out, r->out);
            uint8_t *d;
            size_t n;
            if (read_file(fp, &d, &n) != 0) {
                CHECK(false, "[%s] %s: no thumbnail at %s", tag, src[i].name, r->out);
                continue;
            }
            const char *why = avif ? avif_problem(d, n) : webp_problem(d, n, buf, sizeof buf);
            CHECK(!why, "[%s] %s: %s", tag, r->out, why);
            CHECK(!has_bytes(d, n, "thumbd-vips secret", 18) && !has_bytes(d, n, "Exif", 4) &&
                      !has_bytes(d, n, "http://ns.adobe.com/xap", 23) &&
                      !has_bytes(d, n, "acsp", 4),
                  "[%s] %s: holds the source's metadata (XMP, Exif or an ICC profile)", tag, r->out);
            free(d);
            why = metadata_field(fp, buf, sizeof buf);
            CHECK(!why, "[%s] %s: libvips finds metadata '%s'", tag, r->out, why);
            pix px;
            if (!pix_load(fp, &px)) {
                CHECK(false, "[%s] %s: unreadable", tag, r->out);
                continue;
            }
            CHECK(px.w == BOX && px.h == BOX && r->out_w == BOX && r->out_h == BOX,
                  "[%s] %s: %dx%d (report %ldx%ld), want %dx%d", tag, r->out, px.w, px.h, r->out_w,
                  r->out_h, BOX, BOX);
            CHECK(pix_alpha(&px) == src[i].alpha, "[%s] %s: %d bands, alpha %s", tag, r->out,
                  px.bands, src[i].alpha ? "expected" : "not expected");
            snprintf(what, sizeof what, "[%s] %s", tag, r->out);
            if (px.w == BOX && px.h == BOX)
                check_quadrants(what, &px, src[i].q, TOL_LOSSY);
            pix_free(&px);
        }
        free_report(&rep);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 3. --engine native against --engine vips                                  */

static void make_agreement_inputs(const char *dir)
{
    char p[PATH_MAX];
    VipsImage *im;

    im = photo_image(1200, 900, 1);
    path_in(p, sizeof p, dir, "photo.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    im = photo_image(1001, 667, 2); /* odd sizes: rounding of --fit inside */
    path_in(p, sizeof p, dir, "odd.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    im = photo_image(333, 1000, 3);
    path_in(p, sizeof p, dir, "tall.png");
    SAVE(im, vips_pngsave(im, p, NULL));

    /* EXIF orientation 6: stored 600x800, upright 800x600. */
    im = store_as_orientation6(photo_image(800, 600, 4));
    path_in(p, sizeof p, dir, "rot6.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    /* RGBA: a horizontal alpha ramp, an opaque rectangle, a transparent disc. */
    {
        int w = 800, h = 600;
        uint8_t *rgb = photo_rgb(w, h, 5), *px = malloc((size_t)w * (size_t)h * 4);
        assert_non_null(px);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * (size_t)w + (size_t)x;
                double u = (double)x / w, v = (double)y / h;
                int a = (int)(255 * u);
                if (u > 0.05 && u < 0.3 && v > 0.1 && v < 0.4)
                    a = 255;
                if (hypot(u - 0.75, v - 0.3) < 0.12)
                    a = 0;
                memcpy(px + i * 4, rgb + i * 3, 3);
                px[i * 4 + 3] = (uint8_t)a;
            }
        im = wrap(px, (size_t)w * (size_t)h * 4, w, h, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "rgba.png");
        SAVE(im, vips_pngsave(im, p, NULL));
    }

    /* Gray: the luma of a photo. */
    {
        int w = 640, h = 480;
        uint8_t *rgb = photo_rgb(w, h, 6), *px = malloc((size_t)w * (size_t)h);
        assert_non_null(px);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            px[i] = clamp8(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]);
        im = wrap(px, (size_t)w * (size_t)h, w, h, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "gray.png");
        SAVE(im, vips_pngsave(im, p, NULL));
    }

    /* CMYK without a profile (libjpeg writes Adobe's APP14 marker, and
     * libvips Adobe's inverted convention): the photo in naive CMYK. */
    {
        int w = 1000, h = 750;
        uint8_t *rgb = photo_rgb(w, h, 7), *px = malloc((size_t)w * (size_t)h * 4);
        assert_non_null(px);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
            int r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
            int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
            int k = 255 - mx;
            uint8_t *o = px + i * 4;
            for (int c = 0; c < 3; c++) {
                int v = c == 0 ? r : c == 1 ? g : b;
                o[c] = (uint8_t)(mx ? (255 * (mx - v) + mx / 2) / mx : 0);
            }
            o[3] = (uint8_t)k;
        }
        im = wrap(px, (size_t)w * (size_t)h * 4, w, h, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_CMYK);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "cmyk.jpg");
        SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));
    }
}

static void test_agreement(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX];
    make_dir(in, sizeof in, "agree");
    make_agreement_inputs(in);
    static const char *const names[] = {"photo.jpg", "odd.jpg", "tall.png", "rot6.jpg",
                                        "rgba.png",  "gray.png", "cmyk.jpg"};
    enum { NN = sizeof names / sizeof names[0] };
    char p[PATH_MAX];
    {
        int w, h, pages, orient;
        path_in(p, sizeof p, in, "rot6.jpg");
        header_of(p, &w, &h, &pages, &orient);
        CHECK(orient == 6, "generator: rot6.jpg has orientation %d", orient);
        path_in(p, sizeof p, in, "cmyk.jpg");
        VipsImage *im = vips_image_new_from_file(p, NULL);
        if (!im)
            vips_die(p);
        CHECK(vips_image_get_interpretation(im) == VIPS_INTERPRETATION_CMYK &&
                  !vips_image_get_typeof(im, "icc-profile-data"),
              "generator: cmyk.jpg is not a CMYK JPEG without a profile");
        g_object_unref(im);
    }
    /* PNG output for both: compare the engines, not our JPEG encoder twice. */
    static const char *const fits[] = {"cover", "inside"};
    printf("  PSNR native vs vips, dB (threshold %.0f; CMYK %.0f):\n", PSNR_MIN, PSNR_CMYK);
    for (int f = 0; f < 2; f++) {
        char out[2][PATH_MAX], rp[2][PATH_MAX], tag[2][64];
        report rep[2];
        static const char *const engines[] = {"native", "vips"};
        for (int e = 0; e < 2; e++) {
            snprintf(tag[e], sizeof tag[e], "agree-%s-%s", fits[f], engines[e]);
            out_dir(out[e], sizeof out[e], tag[e]);
            snprintf(rp[e], sizeof rp[e], "%s/%s.jsonl", g_tmp, tag[e]);
            const char *opts[] = {"--engine", engines[e], "--fit", fits[f], "--format", "png", NULL};
            runres rr = run_thumbd(tag[e], opts, in, out[e], rp[e]);
            check_exit(tag[e], rr, 0);
            load_report(rp[e], &rep[e]);
        }
        for (int i = 0; i < NN; i++) {
            const rec *r0 = ok_rec(tag[0], &rep[0], names[i]);
            const rec *r1 = ok_rec(tag[1], &rep[1], names[i]);
            if (!r0 || !r1)
                continue;
            CHECK(r0->out_w == r1->out_w && r0->out_h == r1->out_h,
                  "[agree-%s] %s: native %ldx%ld, vips %ldx%ld", fits[f], names[i], r0->out_w,
                  r0->out_h, r1->out_w, r1->out_h);
            pix a, b;
            char pa[PATH_MAX * 2], pb[PATH_MAX * 2];
            path_in(pa, sizeof pa, out[0], r0->out);
            path_in(pb, sizeof pb, out[1], r1->out);
            bool la = pix_load(pa, &a), lb = pix_load(pb, &b);
            CHECK(la && lb, "[agree-%s] %s: a thumbnail is unreadable", fits[f], names[i]);
            if (la && lb && a.w == b.w && a.h == b.h) {
                double db = psnr(&a, &b);
                double min = strstr(names[i], "cmyk") ? PSNR_CMYK : PSNR_MIN;
                printf("    %-7s %-9s %4dx%-4d %5.1f\n", fits[f], names[i], a.w, a.h, db);
                CHECK(db >= min, "[agree-%s] %s: PSNR %.1f dB, want >= %.0f", fits[f], names[i], db,
                      min);
            } else if (la && lb) {
                CHECK(false, "[agree-%s] %s: decoded sizes differ: %dx%d vs %dx%d", fits[f],
                      names[i], a.w, a.h, b.w, b.h);
            }
            if (la)
                pix_free(&a);
            if (lb)
                pix_free(&b);
        }
        free_report(&rep[0]);
        free_report(&rep[1]);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 4. Limits and bad files on the libvips path                               */

static void check_failed(const char *tag, const report *rep, const char *src, const char *needle)
{
    const rec *r = find_rec(rep, src);
    CHECK(r != NULL, "[%s] %s: no record", tag, src);
    if (!r)
        return;
    printf("    %-14s %-7s %s\n", src, r->status, r->error);
    CHECK(!strcmp(r->status, "failed"), "[%s] %s: status %s, want failed", tag, src, r->status);
    CHECK(r->out_null, "[%s] %s: out is not null", tag, src);
    CHECK(strstr(r->error, needle) != NULL, "[%s] %s: error '%s' does not mention '%s'", tag, src,
          r->error, needle);
}

/* A failure that libvips diagnosed: libvips's own text (its messages read
 * "domain: what", e.g. "webp: unable to parse image", "tiff2vips: read
 * error"), naming the format if given (a file no loader recognises gets
 * "VipsImage: unable to load source"), not "unknown error". */
static void check_vips_failed(const char *tag, const report *rep, const char *src,
                              const char *format)
{
    check_failed(tag, rep, src, "");
    const rec *r = find_rec(rep, src);
    if (!r)
        return;
    const char *colon = strstr(r->error, ": ");
    CHECK(colon && strlen(colon + 2) > 3 && (!format || strcasestr(r->error, format)) &&
              !strstr(r->error, "unknown error"),
          "[%s] %s: error '%s' is not a libvips diagnostic%s%s", tag, src, r->error,
          format ? " naming " : "", format ? format : "");
    /* libvips's error buffer is per thread and only ever appended to: a
     * message left there by an earlier image must not show up here. */
    CHECK(!strstr(r->error, "vips_image_get:"),
          "[%s] %s: error '%s' carries stale libvips messages", tag, src, r->error);
}

static void test_limits(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "limits");
    VipsImage *im;

    /* 1.2 megapixels, over --max-pixels 1M. */
    im = quad_image(1200, 1000, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "big.webp");
    SAVE(im, vips_webpsave(im, p, "Q", 80, NULL));
    im = quad_image(1200, 1000, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "big_png.png");
    SAVE(im, vips_pngsave(im, p, NULL));
    /* Five frames, over --max-frames 2. */
    {
        const rgba c[5] = {Q_OPAQUE[0], Q_OPAQUE[1], Q_OPAQUE[2], MAGENTA, CYAN};
        VipsImage *pg[5];
        for (int i = 0; i < 5; i++)
            pg[i] = solid_image(64, 64, c[i], 3);
        im = join_pages(pg, 5);
        path_in(p, sizeof p, in, "five.gif");
        SAVE(im, vips_gifsave(im, p, NULL));
    }
    /* A WebP cut in the middle of its image data. */
    {
        void *buf;
        size_t len;
        im = photo_image(400, 300, 9);
        if (vips_webpsave_buffer(im, &buf, &len, "Q", 80, NULL))
            vips_die("vips_webpsave_buffer");
        g_object_unref(im);
        path_in(p, sizeof p, in, "truncated.webp");
        write_file(p, buf, len / 2);
        g_free(buf);
    }
    /* A TIFF whose deflate data is garbage, and one whose first IFD lies past
     * the end of the file. */
    {
        void *buf;
        size_t len;
        im = photo_image(400, 300, 10);
        if (vips_tiffsave_buffer(im, &buf, &len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                                 NULL))
            vips_die("vips_tiffsave_buffer");
        g_object_unref(im);
        uint8_t *d = buf;
        /* libtiff writes the strips first, the IFD at the end. */
        for (size_t i = 16; i < len / 2; i++)
            d[i] = (uint8_t)(hash3((unsigned)i, 1, 2) & 0xFF);
        path_in(p, sizeof p, in, "corrupt.tif");
        write_file(p, d, len);
        g_free(buf);
        static const uint8_t bad_ifd[16] = {'I', 'I', 42, 0, 0x00, 0x00, 0x10, 0x00,
                                            1,   2,   3,  4, 5,    6,    7,    8};
        path_in(p, sizeof p, in, "bad_ifd.tif");
        write_file(p, bad_ifd, sizeof bad_ifd);
    }
    /* The rest of the batch. */
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_webp.webp");
    SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_tif.tif");
    SAVE(im, vips_tiffsave(im, p, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_gif.gif");
    SAVE(im, vips_gifsave(im, p, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_jpg.jpg");
    SAVE(im, vips_jpegsave(im, p, NULL));
    static const char *const good[] = {"good_webp.webp", "good_tif.tif", "good_gif.gif", "good_jpg.jpg"};

    {
        const char *tag = "limits";
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--engine", "vips", "--max-pixels", "1M", "--max-frames", "2", NULL};
        runres rr = run_thumbd(tag, opts, in, out, rp);
        check_exit(tag, rr, 1);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == 10, "[%s] %d records, want 10", tag, rep.n);
        check_failed(tag, &rep, "big.webp", "--max-pixels");
        check_failed(tag, &rep, "big_png.png", "--max-pixels");
        check_failed(tag, &rep, "five.gif", "--max-frames");
        check_vips_failed(tag, &rep, "truncated.webp", "webp");
        check_vips_failed(tag, &rep, "corrupt.tif", "tiff");
        check_vips_failed(tag, &rep, "bad_ifd.tif", NULL);
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            const rec *r = ok_rec(tag, &rep, good[i]);
            if (!r)
                continue;
            char fp[PATH_MAX * 2];
            path_in(fp, sizeof fp, out, r->out);
            pix px;
            if (pix_load(fp, &px)) {
                char what[600];
                snprintf(what, sizeof what, "[%s] %s", tag, good[i]);
                check_quadrants(what, &px, Q_OPAQUE, TOL_LOSSY);
                pix_free(&px);
            } else {
                CHECK(false, "[%s] %s: unreadable thumbnail", tag, good[i]);
            }
        }
        CHECK(count_status(&rep, "ok") == 4, "[%s] %d ok, want 4", tag, count_status(&rep, "ok"));
        free_report(&rep);
    }
    /* Without the limits, the big ones and the animation are fine: the limit
     * was what refused them. */
    {
        const char *tag = "limits-off";
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--engine", "vips", NULL};
        runres rr = run_thumbd(tag, opts, in, out, rp);
        check_exit(tag, rr, 1);
        report rep;
        load_report(rp, &rep);
        ok_rec(tag, &rep, "big.webp");
        ok_rec(tag, &rep, "big_png.png");
        ok_rec(tag, &rep, "five.gif");
        CHECK(count_status(&rep, "failed") == 3, "[%s] %d failed, want 3 (the bad files)", tag,
              count_status(&rep, "failed"));
        free_report(&rep);
    }
    end_checks();
}

/* libvips 8.14 keeps one error buffer for the whole process, so the text a
 * failed task reports can be wiped ("unknown error") or mixed up by another
 * worker's. With two workers over a run of corrupt TIFFs (they fail while
 * decoding, side by side), then truncated WebPs, then good files, every
 * failed record must carry its own file's diagnostic: libtiff's for a TIFF,
 * the WebP loader's for a WebP, never the other's, never "unknown error".
 * (Measured with libvips 8.14.1: 8 to 35 of the 120 records wrong.) */
static void test_error_isolation(void **state)
{
    (void)state;
    begin_checks();
    enum { NTIFF = 80, NWEBP = 40, NGOOD = 20 };
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "errors");
    void *webp, *tiff, *good;
    size_t webp_len, tiff_len, good_len;
    VipsImage *im = photo_image(400, 300, 11);
    if (vips_webpsave_buffer(im, &webp, &webp_len, "Q", 80, NULL) ||
        vips_tiffsave_buffer(im, &tiff, &tiff_len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                             NULL) ||
        vips_webpsave_buffer(im, &good, &good_len, "Q", 60, NULL))
        vips_die("error isolation inputs");
    g_object_unref(im);
    uint8_t *t = tiff;
    for (size_t i = 16; i < tiff_len / 2; i++)
        t[i] = (uint8_t)(hash3((unsigned)i, 3, 4) & 0xFF);
    char name[32];
    for (int i = 0; i < NTIFF; i++) {
        snprintf(name, sizeof name, "a%03d.tif", i);
        path_in(p, sizeof p, in, name);
        write_file(p, tiff, tiff_len);
    }
    for (int i = 0; i < NWEBP; i++) {
        snprintf(name, sizeof name, "b%03d.webp", i);
        path_in(p, sizeof p, in, name);
        write_file(p, webp, webp_len / 2);
    }
    for (int i = 0; i < NGOOD; i++) {
        snprintf(name, sizeof name, "c%03d.webp", i);
        path_in(p, sizeof p, in, name);
        write_file(p, good, good_len);
    }
    g_free(webp);
    g_free(tiff);
    g_free(good);

    const char *tag = "errors";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {"-j", "2", NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    CHECK(rep.n == NTIFF + NWEBP + NGOOD, "[%s] %d records, want %d", tag, rep.n,
          NTIFF + NWEBP + NGOOD);
    int wrong = 0;
    for (int i = 0; i < rep.n; i++) {
        const rec *r = &rep.v[i];
        if (r->src[0] == 'c') {
            CHECK(!strcmp(r->status, "ok"), "[%s] %s: status %s (%s), want ok", tag, r->src,
                  r->status, r->error);
            continue;
        }
        bool is_tiff = r->src[0] == 'a';
        bool own = is_tiff ? strcasestr(r->error, "tiff") && !strcasestr(r->error, "webp")
                           : strcasestr(r->error, "webp") && !strcasestr(r->error, "tiff");
        bool ok = !strcmp(r->status, "failed") && own && !strstr(r->error, "unknown error") &&
                  !strstr(r->error, "vips_image_get:");
        if (!ok && ++wrong <= 5)
            CHECK(false, "[%s] %s: %s '%s' is not its own diagnostic", tag, r->src, r->status,
                  r->error);
    }
    printf("  %d of %d failed records carry another file's or no libvips diagnostic\n", wrong,
           NTIFF + NWEBP);
    CHECK(wrong == 0, "[%s] %d records with a wrong diagnostic (first 5 shown)", tag, wrong);
    free_report(&rep);
    end_checks();
}

/* A file whose content only one of libvips's untrusted loaders reads (a
 * PPM, a Radiance HDR) under a name thumbd hands to libvips is refused with
 * a message that says so; SVG, untrusted in libvips but a format thumbd
 * names, is still read. */
static void test_untrusted_loaders_closed(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "untrusted");
    static const char ppm[] = "P3\n2 2\n255\n255 0 0 0 255 0 0 0 255 255 255 255\n";
    static const char rad[] = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n"
                              "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80";
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg' width='300' height='200'>"
                              "<rect width='300' height='200' fill='#2060c0'/></svg>\n";
    path_in(p, sizeof p, in, "ppm.tif");
    write_file(p, ppm, sizeof ppm - 1);
    path_in(p, sizeof p, in, "rad.gif");
    write_file(p, rad, sizeof rad - 1);
    path_in(p, sizeof p, in, "logo.svg");
    write_file(p, svg, sizeof svg - 1);
    const char *tag = "untrusted";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    CHECK(rep.n == 3, "[%s] %d records, want 3", tag, rep.n);
    for (int i = 0; i < rep.n; i++) {
        const rec *r = &rep.v[i];
        if (!strcmp(r->src, "logo.svg")) {
            CHECK(!strcmp(r->status, "ok"), "[%s] logo.svg: %s (%s), want ok", tag, r->status, r->error);
            continue;
        }
        CHECK(!strcmp(r->status, "failed") && strstr(r->error, "closed to untrusted files"),
              "[%s] %s: %s '%s', want failed as untrusted", tag, r->src, r->status, r->error);
        path_in(p, sizeof p, out, !strcmp(r->src, "ppm.tif") ? "ppm.jpg" : "rad.jpg");
        CHECK(file_size(p) < 0, "[%s] %s has a thumbnail", tag, r->src);
    }
    free_report(&rep);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 5. Cancellation                                                           */

/* 8000x8000 RGB, LZW: a texture ((x * x + 13 * y) mod 251) that LZW
 * compresses poorly, so that the task takes most of a second. Made lazily by
 * libvips from coordinates, never all in memory. */
static void make_big_tiff(const char *path)
{
    VipsImage *xy, *x, *y, *xx, *y13, *sum, *mod, *u, *rgb, *im;
    double a = 13, b = 0;
    if (vips_xyz(&xy, 8000, 8000, NULL) || vips_extract_band(xy, &x, 0, NULL) ||
        vips_extract_band(xy, &y, 1, NULL) || vips_multiply(x, x, &xx, NULL) ||
        vips_linear(y, &y13, &a, &b, 1, NULL) || vips_add(xx, y13, &sum, NULL) ||
        vips_remainder_const1(sum, &mod, 251, NULL) || vips_cast_uchar(mod, &u, NULL))
        vips_die("big TIFF pipeline");
    VipsImage *three[3] = {u, u, u};
    if (vips_bandjoin(three, &rgb, 3, NULL) ||
        vips_copy(rgb, &im, "interpretation", VIPS_INTERPRETATION_sRGB, NULL))
        vips_die("big TIFF pipeline");
    VipsImage *parts[] = {xy, x, y, xx, y13, sum, mod, u, rgb};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        g_object_unref(parts[i]);
    SAVE(im, vips_tiffsave(im, path, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_LZW, NULL));
}

/* --task-timeout on the libvips path: docs/stopping.md ("Decoders poll the
 * task's cancellation token ... a cancelled task stops within milliseconds")
 * and vipsengine.h ("The token stops it through the image's kill flag"). The
 * budget is 50 ms; the task must stop by itself (not be abandoned) within
 * CANCEL_SLACK_MS of it: the latency itself (2-15 ms after the budget) is
 * measured by bench/cancel.sh, not here, since another test running beside
 * this one on a 2-core machine can delay the stop by tens of milliseconds.
 * The same image without a timeout shows how long the undisturbed task takes
 * (550-1600 ms measured), which must be well above budget + slack for the
 * check to mean anything. */
enum { CANCEL_BUDGET_MS = 50, CANCEL_SLACK_MS = 400 };

static void test_cancel(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "cancel");
    path_in(p, sizeof p, in, "big.tif");
    double t0 = now_s();
    make_big_tiff(p);
    printf("  big.tif: 8000x8000 LZW TIFF, made in %.1f s\n", now_s() - t0);

    static const struct {
        const char *tag;
        const char *opts[8];
        bool timeout;
    } runs[] = {
        {"cancel-none", {"--engine", "vips", NULL}, false},
        {"cancel-cover", {"--engine", "vips", "--task-timeout", "0.05", NULL}, true},
        {"cancel-inside", {"--engine", "vips", "--fit", "inside", "--task-timeout", "0.05", NULL}, true},
    };
    double undisturbed = -1;
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        runres rr = run_thumbd(tag, runs[k].opts, in, out, rp);
        check_exit(tag, rr, runs[k].timeout ? 1 : 0);
        report rep;
        load_report(rp, &rep);
        const rec *r = find_rec(&rep, "big.tif");
        CHECK(r != NULL, "[%s] big.tif: no record", tag);
        if (r) {
            printf("  [%s] %s, total_ms %.1f%s%s%s; run %.2f s\n", tag, r->status, r->total_ms,
                   *r->error ? " (" : "", r->error, *r->error ? ")" : "", rr.wall_s);
            if (!runs[k].timeout) {
                CHECK(!strcmp(r->status, "ok"), "[%s] big.tif: status %s (%s), want ok", tag,
                      r->status, r->error);
                undisturbed = r->total_ms;
                free_report(&rep);
                continue;
            }
            CHECK(!strcmp(r->status, "cancelled"), "[%s] big.tif: status %s, want cancelled", tag,
                  r->status);
            CHECK(strstr(r->error, "task timeout") && !strstr(r->error, "abandoned"),
                  "[%s] big.tif: error '%s', want a task timeout that stopped by itself", tag,
                  r->error);
            CHECK(r->total_ms > 0 && r->total_ms <= CANCEL_BUDGET_MS + CANCEL_SLACK_MS,
                  "[%s] big.tif: total_ms %.1f, want <= %d (budget %d ms + %d ms); the task "
                  "takes %.1f ms undisturbed",
                  tag, r->total_ms, CANCEL_BUDGET_MS + CANCEL_SLACK_MS, CANCEL_BUDGET_MS,
                  CANCEL_SLACK_MS, undisturbed);
            /* The whole run: start-up, libvips's start, the cancelled task. */
            CHECK(rr.wall_s < 2.0, "[%s] the run took %.2f s", tag, rr.wall_s);
        }
        free_report(&rep);
    }
    if (undisturbed >= 0 && undisturbed < 2 * (CANCEL_BUDGET_MS + CANCEL_SLACK_MS))
        printf("  note: big.tif takes only %.1f ms undisturbed: this machine is too fast for the "
               "check to be meaningful\n", undisturbed);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 6. Memory over many files                                                 */

/* A tree of count names, hard links to a few distinct small WebPs. */
static void make_many(const char *dir, int count, const char *seeds_dir, int nseeds)
{
    char from[PATH_MAX + 32], to[PATH_MAX + 64];
    for (int i = 0; i < count; i++) {
        snprintf(from, sizeof from, "%s/seed%d.webp", seeds_dir, i % nseeds);
        snprintf(to, sizeof to, "%s/d%02d/f%05d.webp", dir, i / 250, i);
        if (i % 250 == 0) {
            char sub[PATH_MAX + 16];
            snprintf(sub, sizeof sub, "%s/d%02d", dir, i / 250);
            assert_int_equal(mkdir(sub, 0777), 0);
        }
        if (link(from, to) != 0)
            fail_msg("link %s: %s", to, strerror(errno));
    }
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void test_memory(void **state)
{
    (void)state;
    begin_checks();
    enum { NSEEDS = 6, SMALL = 500, LARGE = 3000 };
    char seeds[PATH_MAX], p[PATH_MAX];
    make_dir(seeds, sizeof seeds, "seeds");
    for (int i = 0; i < NSEEDS; i++) {
        VipsImage *im = photo_image(320 + 16 * i, 240, 20u + (unsigned)i);
        char name[32];
        snprintf(name, sizeof name, "seed%d.webp", i);
        path_in(p, sizeof p, seeds, name);
        SAVE(im, vips_webpsave(im, p, "Q", 80, NULL));
    }
    /* Under ASan, freed memory sits in a quarantine (256 MB by default) and
     * RSS grows with the number of allocations, whatever thumbd does: turn
     * the quarantine off for these runs. */
#ifdef UNDER_ASAN
    static const char *const env[] = {"ASAN_OPTIONS=quarantine_size_mb=0",
                                      "ASAN_OPTIONS=thread_local_quarantine_size_kb=0", NULL};
#else
    static const char *const *const env = NULL;
#endif
    static const int counts[2] = {SMALL, LARGE};
    long rss[2] = {0, 0};
    double wall[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char tag[32], in[PATH_MAX], out[PATH_MAX], rp[PATH_MAX];
        snprintf(tag, sizeof tag, "mem%d", counts[k]);
        char name[32];
        snprintf(name, sizeof name, "many%d", counts[k]);
        make_dir(in, sizeof in, name);
        make_many(in, counts[k], seeds, NSEEDS);
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--engine", "vips", "-j", "2", NULL};
        runres rr = run_thumbd_env(tag, opts, in, out, rp, env);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == counts[k] && count_status(&rep, "ok") == counts[k],
              "[%s] %d records, %d ok; want %d ok", tag, rep.n, count_status(&rep, "ok"), counts[k]);
        free_report(&rep);
        rss[k] = rr.maxrss_kb;
        wall[k] = rr.wall_s;
    }
    double lim = 1.3 * (double)rss[0] + 10 * 1024;
    printf("  peak RSS: %d files %.1f MB (%.1f s), %d files %.1f MB (%.1f s); limit %.1f MB\n",
           SMALL, rss[0] / 1024.0, wall[0], LARGE, rss[1] / 1024.0, wall[1], lim / 1024.0);
    CHECK(rss[0] > 0 && (double)rss[1] <= lim,
          "peak RSS grows with the number of files: %ld KiB for %d, %ld KiB for %d", rss[0], SMALL,
          rss[1], LARGE);
    end_checks();
}

/* ------------------------------------------------------------------------ */

/* libvips's heifload warns about every AVIF/HEIF it reads ("ignoring nclx
 * profile"); the rest of libvips's warnings are shown. */
static void log_filter(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    if (msg && strstr(msg, "nclx"))
        return;
    g_log_default_handler(domain, level, msg, data);
}

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/thumbd-vips-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("mkdtemp %s: %s\n", g_tmp, strerror(errno));
        return -1;
    }
    if (VIPS_INIT("test_vips") != 0) {
        printf("libvips does not start: %s\n", vips_error_buffer());
        return -1;
    }
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, log_filter, NULL);
    vips_cache_set_max(0); /* files are read back after thumbd rewrote them */
    vips_concurrency_set(2);
    g_avif_ok = can_write_heif(VIPS_FOREIGN_HEIF_COMPRESSION_AV1);
    g_heic_ok = can_write_heif(VIPS_FOREIGN_HEIF_COMPRESSION_HEVC);
    printf("  thumbd: %s; temporary files in %s; libvips %s writes AVIF: %s, HEIF: %s\n", g_bin,
           g_tmp, vips_version_string(), g_avif_ok ? "yes" : "no", g_heic_ok ? "yes" : "no");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    keep_or_remove("THUMBD_VIPS_KEEP", g_tmp, rm_tree);
    vips_shutdown();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_agreement),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_isolation),
        cmocka_unit_test(test_untrusted_loaders_closed),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests_name("vips", tests, group_setup, group_teardown);
}
