/* End-to-end tests of thumbd's operations: incremental re-runs, the OUT_DIR
 * lock, --files-from lists, shards, THUMBD_* environment, --metrics, --prune
 * and -v.
 *
 *   test_ops THUMBD_BIN THUMBD_GEN
 *
 * Every test runs the real binary (e2e_start, a cleaned environment: no
 * THUMBD_* or job-index variables leak in from the caller) on small images
 * made here with libjpeg and libpng (plus thumbd_gen's demo images in the
 * shard tree), in a fresh directory under $TMPDIR (or /tmp).
 * THUMBD_OPS_KEEP=1 keeps that directory for inspection.
 */

/* Helpers shared by the operations test programs (test_ops.c, test_opslist.c,
 * test_opsprune.c): a fresh tree under $TMPDIR, small images, the runner and
 * the report checks. */
#ifndef THUMBD_TESTS_OPS_UTIL_H
#define THUMBD_TESTS_OPS_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
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
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include "e2e_util.h"

enum { RUN_TIMEOUT_S = 60 };

extern const char *g_bin, *g_gen;

extern char g_root[512];

void sleep_s(double s);

/* mkdir -p of path's parent directories (and of path itself if dir). */
void mkdirs(const char *path, bool dir);

bool exists(const char *path);

void write_text(const char *path, const char *text, size_t len);

/* A string literal's bytes (without its terminating NUL). */
#define WRITE_LIT(path, lit) write_text((path), (lit), sizeof(lit) - 1)

/* A pseudo-random byte stream (xorshift), so that every image differs. */
uint8_t noise(uint32_t *s);

typedef struct jpeg_fill {
    int h;
    unsigned seed;
    uint32_t s;
} jpeg_fill;

void fill_row(uint8_t *row, int w, int y, void *ctx);

/* A JPEG of smooth colour plus noise (JPEG encodes it at a size that
 * depends on the quality). */
void write_jpeg(const char *path, int w, int h, unsigned seed);

/* A PNG, RGBA with a transparent right half (thumbd makes a PNG of it), or
 * opaque RGB (thumbd makes a JPEG). */
void write_png(const char *path, int w, int h, unsigned seed, bool alpha);

/* Asserts that two lists hold the same strings (in any order), printing
 * the differences. */
void sl_assert_same(strlist *a, strlist *b, const char *what);

bool has_image_ext(const char *name);

/* Regular files under dir (relative paths), without thumbd's own files at
 * the top (.thumbd.lock, .thumbd.state, shard locks and states); with
 * temps, also its temporary files (.thumbd-tmp-*) at any level. */
void list_rec(const char *dir, const char *rel, strlist *out, bool temps);

strlist tree(const char *dir);

int count_temps(const char *dir);

typedef struct io {
    const char *env[6];   /* extra NAME=VALUE, NULL-terminated */
    const char *in;       /* stdin (default /dev/null) */
    const char *out;      /* stdout (default <root>/last.out) */
    const char *err;      /* stderr (default <root>/last.err) */
} io;

extern char g_last_out[600], g_last_err[600];

/* Starts thumbd with the arguments in ap (NULL-terminated), without the
 * caller's THUMBD_* and job-index variables. */
e2e_child spawn_va(const io *o, va_list ap);

#define SPAWN(o, ...) spawn_l((o), __VA_ARGS__, (char *)NULL)

#define RUN(o, ...) run_l((o), __VA_ARGS__, (char *)NULL)

e2e_child spawn_l(const io *o, ...);

/* The exit code (128 + N for signal N), or fails the test after timeout_s
 * (killing thumbd). */
int finish(e2e_child *ch, double timeout_s);

int run_l(const io *o, ...);

/* Fails, showing thumbd's stderr, if the last run's exit code is wrong. */
void expect_exit(int got, int want);

/* A string field of a record, "" for null or absent. */
const char *str(const e2e_jrec *x, const char *key);

/* The report at path (e2e_report; lines that are not records ignored). */
e2e_report load_report(const char *path);

/* The one record of src (fails if there is none, or two). */
const e2e_jrec *must_rec(const e2e_report *r, const char *src);

/* Asserts that the record of src has this status (and prints it if not). */
const e2e_jrec *expect_status(const e2e_report *r, const char *src, const char *status);

/* A big-ish tree (slow enough to be caught mid-run): BIG noise JPEGs. */
enum { BIG = 24 };

extern char g_big[600];

/* The shard tree: thumbd_gen's demo images plus SHARD_N generated ones. */
enum { SHARD_N = 60 };

extern char g_shard_in[600];

extern strlist g_shard_images;

int setup_all(void **state);

int teardown_all(void **state);

/* <root>/<name>, a fresh (removed) path. */
void fresh(char *buf, size_t n, const char *name);

/* A small mixed tree: JPEGs, an opaque PNG (thumbnail .jpg) and a PNG
 * with alpha (thumbnail .png), one level of subdirectory. */
extern const char *const SMALL_SRC[];

extern const char *const SMALL_OUT[];

enum { SMALL_N = 5 };

void make_small_tree(const char *in);

int memo_count(const char *out);

/* Reads the command line (the binaries under test) and runs the n tests as
 * one group with this family's setup and teardown: cmocka's status, or 2
 * after a usage line. */
int ops_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n);

#endif
