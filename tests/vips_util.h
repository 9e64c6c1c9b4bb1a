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

/* Helpers shared by the libvips engine test programs (test_vips.c,
 * test_vipslimits.c): images written with the libvips C API, the runner,
 * thumbnails decoded back, checks. */
#ifndef THUMBD_TESTS_VIPS_UTIL_H
#define THUMBD_TESTS_VIPS_UTIL_H

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

extern const char *g_bin;

extern char g_tmp[PATH_MAX - 200]; /* the temporary root */;

extern bool g_avif_ok, g_heic_ok;  /* this libvips can write AVIF / HEIF (HEVC) */;

/* A libvips call of the generator failed: the test cannot go on. */
/* A libvips call of the generator failed: the test cannot go on. */
_Noreturn void vips_die(const char *what);

void path_in(char *buf, size_t n, const char *dir, const char *name);

void make_dir(char *buf, size_t n, const char *name);

/* A run's OUT_DIR: <tmp>/out-<tag> (never an input directory). */
void out_dir(char *buf, size_t n, const char *tag);

typedef e2e_proc runres; /* code: exit code, 128 + signal, -1: cannot start, -2: timeout */

/* Runs thumbd OPTS... --quiet --report REPORT IN OUT, stdout and stderr into
 * <tmp>/<tag>.stdout / .stderr. san: e2e_cmd's san_opts (NULL: none). */
runres run_thumbd_env(const char *tag, const char *const *opts, const char *in,
                             const char *out, const char *report, const char *const *san);

runres run_thumbd(const char *tag, const char *const *opts, const char *in, const char *out,
                         const char *report);

/* Prints the first lines of a run's stderr (after an unexpected exit code). */
void show_stderr(const char *tag);

void check_exit(const char *tag, runres r, int want);

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
void rec_of(const e2e_jrec *x, rec *r);

/* The report at path (e2e_report), every unparsable line a failed check. */
void load_report(const char *path, report *rep);

const rec *find_rec(const report *rep, const char *src);

void free_report(report *rep);

/* Finds src's record and checks it is 'ok'; NULL (and a failed check) if not. */
const rec *ok_rec(const char *tag, const report *rep, const char *src);

typedef struct rgba {
    int r, g, b, a;
} rgba;

/* Four solid quadrants, top-left, top-right, bottom-left, bottom-right. */
extern const rgba Q_OPAQUE[4];

extern const rgba MAGENTA, CYAN;

/* Wraps px (copied) as an image of the given interpretation. */
VipsImage *wrap(const void *px, size_t len, int w, int h, int bands, VipsBandFormat fmt,
                       VipsInterpretation interp);

VipsImage *quad_image(int w, int h, const rgba q[4], int bands);

VipsImage *solid_image(int w, int h, rgba c, int bands);

/* Joins pages (same size) into one tall image with page-height set: what
 * tiffsave writes as a multi-page TIFF and gifsave as an animation. Takes the
 * references of pages. */
VipsImage *join_pages(VipsImage **pages, int n);

/* Saves through call, checking its result, then drops im. */
#define SAVE(im, call)                   \
    do {                                 \
        if ((call) != 0)                 \
            vips_die(#call);             \
        g_object_unref(im);              \
    } while (0)

unsigned hash3(unsigned x, unsigned y, unsigned seed);

uint8_t clamp8(double v);

/* A photo-like picture: smooth gradients, two hard-edged shapes and a fine
 * texture (+-8 levels of noise), as RGB. */
uint8_t *photo_rgb(int w, int h, unsigned seed);

VipsImage *photo_image(int w, int h, unsigned seed);

/* Whether this libvips can write a small image as AVIF (AV1) / HEIF (HEVC):
 * the saver must exist and its encoder plug-in must be there. */
bool can_write_heif(VipsForeignHeifCompression comp);

typedef struct pix {
    int w, h, bands;
    uint8_t *px;
} pix;

bool pix_load(const char *path, pix *p);

void pix_free(pix *p);

/* One pixel as RGBA (gray expanded, alpha 255 if none). */
rgba pix_at(const pix *p, int x, int y);

/* The mean over 5x5 pixels around (fx * w, fy * h). */
rgba pix_probe(const pix *p, double fx, double fy);

/* Checks the four quadrant centres of a thumbnail against q (colour only
 * where the reference is not transparent; alpha always). */
void check_quadrants(const char *what, const pix *p, const rgba q[4], int tol);

/* libvips's heifload warns about every AVIF/HEIF it reads ("ignoring nclx
 * profile"); the rest of libvips's warnings are shown. */
void log_filter(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data);

int group_setup(void **state);

int group_teardown(void **state);

/* Reads the command line (the binaries under test) and runs the n tests as
 * one group with this family's setup and teardown: cmocka's status, or 2
 * after a usage line. */
int vips_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n);

/* Whether p has an alpha band. */
bool pix_alpha(const pix *p);

/* RGB composited over white, for comparisons (alpha compared as what a
 * viewer shows on a white page). */
uint8_t *pix_over_white(const pix *p);

/* The PSNR of a against b, both composited over white (99 if identical). */
double psnr(const pix *a, const pix *b);

#endif
