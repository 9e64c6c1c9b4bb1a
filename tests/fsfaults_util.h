/* End-to-end tests of filesystem faults and attacks, through the real thumbd
 * binary:
 *
 *   (a) symlinks planted in OUT_DIR (at directory and file positions, at a
 *       temporary-file name, at thumbd's state, marker and lock files) never
 *       make thumbd write or delete outside it;
 *   (b) symlinks in IN_DIR are not followed by default; with
 *       --follow-symlinks, loops are detected and the run ends;
 *   (c) FIFOs, a UNIX socket and a character device in IN_DIR are skipped
 *       without being opened, and the run does not hang;
 *   (d) unreadable files and directories (and an unwritable output
 *       directory) give failed records while the rest goes on: thumbd runs
 *       as nobody (setpriv) when the tests run as root;
 *   (e) a file-size limit (RLIMIT_FSIZE) and a full tmpfs: clear errors, no
 *       truncated thumbnail at a final name, earlier thumbnails intact, no
 *       temporary files left, no death by SIGXFSZ; a report cut short by
 *       the limit is not a success;
 *   (g) a source that changes while thumbd reads it is reported, not
 *       thumbnailed.
 *
 * (f) (no metadata in thumbnails) is covered by test_e2e.
 *
 *   test_fsfaults THUMBD_BIN
 *
 * THUMBD_FSFAULTS_KEEP=1 keeps the temporary directory. */

/* Helpers shared by the filesystem-fault test programs (test_fsfaults.c,
 * test_fsspecial.c): the scratch tree, the runner, tree listings and checks. */
#ifndef THUMBD_TESTS_FSFAULTS_UTIL_H
#define THUMBD_TESTS_FSFAULTS_UTIL_H

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
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include "e2e_util.h"

enum {
    RUN_TIMEOUT_S = 60,
    NOBODY = 65534,
    FSIZE_LIMIT = 12 * 1024,   /* a flat 200x200 thumbnail fits, a noisy one does not */
};

extern const char *g_bin;

extern char g_tmp[512];

/* path = g_tmp/<printf> (asserts it fits). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void tpath(char *dst, size_t n, const char *f, ...);

/* snprintf into the array buf; a path that does not fit fails the test. */
#define PF(buf, ...) pf_fits(snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf)

void pf_fits(int n, size_t size);

void mkdir_p(const char *path, mode_t mode);

/* true if path holds exactly these bytes (and is a regular file, not a link) */
bool same_bytes(const char *path, const void *d, size_t n);

/* rm -rf path that first makes every directory 0700, so that the trees the
 * tests made unreadable or unwritable go too (e2e_util's rm_tree leaves
 * them). */
void rm_tree_chmod(const char *path);

typedef strlist names; /* e2e_util.h */

/* Relative paths of every entry under root (directories too, marked with a
 * trailing '/'); symlinks are listed, not followed. */
void list_rec(const char *root, const char *rel, names *out);

void list_sorted(const char *root, names *out);

bool base_starts(const char *rel, const char *prefix);

typedef struct jpeg_fill {
    bool noise;
    unsigned seed;
    uint32_t s;
} jpeg_fill;

void fill_row(uint8_t *row, int w, int y, void *ctx);

/* A w x h JPEG: flat (its thumbnail is ~2 KB) or noise (~30 KB). */
void write_jpeg(const char *path, int w, int h, bool noise, unsigned seed);

bool jpeg_complete(const uint8_t *d, size_t n);

/* A file at a final name is complete: a JPEG from SOI to EOI that decodes
 * without a warning, or a PNG ending with IEND. */
bool complete_file(const char *path, char *why, size_t whyn);

typedef e2e_jrec rec;

typedef e2e_report report;

/* The report at path (e2e_report); a record without all of src, out,
 * status and error, or whose src or status is not a string, counts as bad
 * too. An unreadable report is empty. */
void report_load(const char *path, report *rp);

const char *errof(const rec *r);

typedef struct spawn_opts {
    bool as_nobody;        /* through setpriv, when we are root */
    long fsize_limit;      /* RLIMIT_FSIZE in bytes, 0 = unchanged */
} spawn_opts;

typedef struct proc {
    e2e_child ch;
    int code;              /* exit code; 128+N for signal N; -2 timed out */
    int signo;
} proc;

/* Starts thumbd args... (NULL-terminated) with output to log; a sanitizer
 * report exits 86. */
proc start(const spawn_opts *o, const char *log, const char *const *args);

void report_end(proc *p, e2e_proc r);

/* Waits up to timeout_s since its start (then kills it). */
void finish(proc *p, double timeout_s);

void show_log(const char *log);

/* Runs thumbd to completion; the exit code (see proc). */
int run_thumbd(const spawn_opts *o, const char *log, const char *const *args);

/* Exit 0 or 1: not a signal, not a timeout, no sanitizer report. */
void check_exit(int code, const char *what);

/* No temporary file (or running marker) left anywhere under out. */
void check_no_temps(const char *out, const char *what);

int group_setup(void **state);

int group_teardown(void **state);

/* Reads the command line (the binaries under test) and runs the n tests as
 * one group with this family's setup and teardown: cmocka's status, or 2
 * after a usage line. */
int fsfaults_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n);

#endif
