/* End-to-end tests: the real thumbd binary on images made by thumbd_gen.
 *
 *   test_e2e [THUMBD_BIN [THUMBD_GEN]]
 *
 * (defaults: the compile definitions THUMBD_BIN / THUMBD_GEN). The generator
 * writes its images and expected.txt (reference colours, dimensions, the
 * expected status of every file) into a fresh directory under $TMPDIR (or
 * /tmp); thumbd is run on it with several option sets; the JSON Lines report
 * is parsed and the thumbnails are decoded with libjpeg / libpng and checked
 * pixel by pixel at probe points recorded by the generator.
 *
 * Every test collects all its failed checks (printed one per line) before
 * failing, so one run shows everything that is wrong.
 * THUMBD_E2E_KEEP=1 keeps the temporary directory for inspection.
 */

/* Helpers shared by the end-to-end test programs test_e2e.c and
 * test_e2eimage.c: the generated images and their expectations, the lazily
 * made runs and their reports. */
#ifndef THUMBD_TESTS_E2E_RUNS_H
#define THUMBD_TESTS_E2E_RUNS_H

#include <dirent.h>
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
#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include "e2e_util.h"

/* Tolerances, per 8-bit channel.
 *
 * TOL_ORIENT (40): the orientation tests only need to tell red, green, blue
 * and white quadrants apart (they differ by 255 on some channel).
 *
 * TOL_COLOR (12): colour references (CMYK, ICC, PNG variants). The error
 * budget at a probe point, far from any edge, is: source JPEG at quality 95
 * (flat 8x8 blocks are coded almost exactly; YCbCr/YCCK rounding <= 2),
 * lcms2 or naive CMYK rounding (<= 2), resampling of a flat area (<= 1), and
 * the thumbnail's own JPEG encoding at quality 85 with 4:2:0 chroma (flat
 * area: <= 3-4). That is <= ~9; 12 leaves a little room, while every real
 * defect these tests look for (profile ignored, CMYK not inverted or inverted
 * twice, wrong 16-bit byte, wrong palette index) is off by >= 60 on some
 * channel.
 *
 * TOL_ALPHA_HALF (8): a 50% alpha band (128) after resampling.
 *
 * TOL_FRINGE (40): near an edge between an opaque colour and transparent
 * black, a thumbnail resized in premultiplied alpha keeps the opaque colour
 * (unpremultiplying an 8-bit value at alpha >= 16 costs at most ~8); one
 * resized with straight alpha blends in the black and shows a dark fringe
 * (half-way: ~128 below the colour). */
enum { TOL_ORIENT = 40, TOL_COLOR = 12, TOL_ALPHA_HALF = 8, TOL_FRINGE = 40 };

enum { BOX = 200, RUN_TIMEOUT_S = 180 };

#ifndef THUMBD_BIN
#define THUMBD_BIN "thumbd"
#endif

#ifndef THUMBD_GEN
#define THUMBD_GEN "thumbd_gen"
#endif

extern const char *g_bin;

extern const char *g_gen;

extern char g_tmp[1024];            /* the temporary root */;

extern char g_in[1100];             /* <tmp>/in: the generated images */;

/* Runs argv with stdin from /dev/null and stdout/stderr to the given files.
 * Returns the exit code, 128 + signal, -1 if it could not start, or -2 on
 * timeout (the child is killed). */
int run_cmd(char *const argv[], const char *out_path, const char *err_path, int timeout_s);

typedef struct probe {
    double fx, fy;
    int c[4];          /* c[3] = 255 when the reference is opaque */
} probe;

typedef struct expect {
    char name[256], cat[16], fmt[8], status[16], out[256], err[256], meta[64];
    int w, h, dw, dh, orient, alpha;
    bool has_fringe;
    int fringe[3];
    int nprobe;
    probe p[8];
} expect;

extern expect *g_exp;

extern int g_nexp;

bool parse_probe(const char *v, probe *p);

int load_expected(const char *path);

const expect *find_expect(const char *name);

typedef e2e_jfield jfield;

typedef e2e_jrec rec;

/* A number field rounded, LLONG_MIN when absent or not a number. */
long long rec_num(const rec *r, const char *key);

typedef struct run_def {
    const char *tag;
    const char *subdir;      /* IN_DIR below the generated tree ("" = all) */
    const char *args[6];
    bool inside, enlarge;
} run_def;

enum { RUN_MAIN, RUN_INSIDE, RUN_ORIENT, RUN_ENLARGE_INSIDE, RUN_ENLARGE_COVER, RUN_MAX_PIXELS,
       RUN_MAX_FILE_SIZE, NRUNS };

extern const run_def g_defs[NRUNS];

typedef struct run {
    bool done;
    int exit_code;
    char in[PATH_MAX], out[PATH_MAX], report[PATH_MAX], err[PATH_MAX];
    e2e_report rp;
} run;

extern run g_runs[NRUNS];

run *get_run(int which);

/* Loads r->report into r->rp (unparsable lines are counted, the first shown). */
void load_report(run *r, const char *tag);

/* The record of src (relative to the run's IN_DIR); NULL if none. Counts
 * how many there are in *count. */
const rec *find_rec(const run *r, const char *src, int *count);

/* The name of an expected entry relative to the run's IN_DIR (NULL when the
 * entry is outside it). */
const char *rel_to_run(int which, const char *name);

typedef struct pixels {
    int w, h;
    uint8_t *rgba;        /* w * h * 4 */
    bool png, png_alpha;  /* PNG; with an alpha channel or tRNS */
    int warnings;         /* libjpeg / libpng warnings while decoding */
    char err[256];
} pixels;

typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    pixels *px;
} jerr_mgr;

void jerr_exit(j_common_ptr c);

void jerr_msg(j_common_ptr c, int level);

bool decode_jpeg(const uint8_t *data, size_t len, pixels *px);

void pngerr(png_structp p, png_const_charp m);

void pngwarn(png_structp p, png_const_charp m);

typedef struct memrd {
    const uint8_t *d;
    size_t len, pos;
} memrd;

void png_mem_read(png_structp p, png_bytep out, size_t n);

bool decode_png(const uint8_t *data, size_t len, pixels *px);

/* Decodes a thumbnail (by content). */
bool decode_image(const uint8_t *data, size_t len, pixels *px);

/* Mean of the 3x3 block around (x, y), clamped to the image. */
void sample(const pixels *px, double x, double y, double mean[4], int *amin, int *amax);

/* Where the probe (fx, fy) of the upright source lands in a w x h thumbnail:
 * for cover output (exactly the box) the image is scaled to cover the box and
 * centre-cropped; otherwise the thumbnail shows the whole image. */
void map_probe(const expect *e, bool cover, int w, int h, double fx, double fy,
                      double *ox, double *oy);

/* Loads the thumbnail of e produced by run `which`: checks the record, the
 * file, decodes it. Returns false (with failed checks) if that is not
 * possible. */
bool load_thumb(int which, const expect *e, pixels *px, const rec **rout);

/* Checks every probe of e on the thumbnail px, with colour tolerance tol. */
void check_probes(int which, const expect *e, const pixels *px, int tol);

/* Full check of one opaque or transparent image in one run. */
void check_image(int which, const expect *e, int tol, int want_w, int want_h);

int group_setup(void **state);

int group_teardown(void **state);

/* Reads the command line (the binaries under test) and runs the n tests as
 * one group with this family's setup and teardown: cmocka's status, or 2
 * after a usage line. */
int e2e_runs_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n);

#endif
