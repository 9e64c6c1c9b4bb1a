/* Helpers shared by the end-to-end test programs (test_e2e, test_hostile,
 * test_fsfaults, test_vips, test_ops, test_lifecycle): one copy of the
 * helpers those programs used to carry each.
 *
 * Everything here may be called only from inside a cmocka test (or a group
 * setup / teardown) unless said otherwise: the helpers that "fail the test"
 * do so with cmocka's assertions. */
#ifndef THUMBD_E2E_UTIL_H
#define THUMBD_E2E_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define E2E_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define E2E_PRINTF(fmt_idx, arg_idx)
#endif

/* ------------------------------------------------------------------------ */
/* Soft checks: a test collects all its failed checks, printed one per line
 * ("  CHECK FAILED: <message>" on stdout), and fails once at the end.      */

/* Prints one failed check and counts it. */
E2E_PRINTF(1, 2) void fail_check(const char *fmt, ...);

/* Starts a test's checks: the count of failed checks is set to 0. */
void begin_checks(void);

/* Ends a test's checks: if any failed since begin_checks, prints
 * "  (N failed checks)" and fails the test (assert_int_equal(N, 0)). */
void end_checks(void);

/* CHECK(cond, printf-format, ...): fail_check(...) unless cond holds. */
#define CHECK(cond, ...)             \
    do {                             \
        if (!(cond))                 \
            fail_check(__VA_ARGS__); \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Time, formatting                                                          */

/* Seconds on CLOCK_MONOTONIC (for measuring intervals). Any context. */
double now_s(void);

/* vsnprintf into buf (n bytes); fails the test if the result does not fit
 * (or on an encoding error). */
E2E_PRINTF(3, 4) void pathf(char *buf, size_t n, const char *fmt, ...);

/* ------------------------------------------------------------------------ */
/* String lists                                                               */

/* A growable array of malloc'ed strings; {0} is the empty list. */
typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

/* Appends a copy of s. Fails the test if memory runs out. */
void strlist_add(strlist *l, const char *s);

/* true if the list holds a string equal to s. */
bool strlist_has(const strlist *l, const char *s);

/* Sorts the list by strcmp. */
void strlist_sort(strlist *l);

/* Frees the strings and the array; the list is empty ({0}) again. */
void strlist_free(strlist *l);

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

/* Reads the whole file (read until EOF, the buffer grows as needed). On
 * success *data is a malloc'ed buffer the caller frees (not NUL-terminated)
 * and *len its size, and returns 0; returns -1 if the file cannot be opened
 * or read or memory runs out (*data and *len are then untouched). */
int read_file(const char *path, uint8_t **data, size_t *len);

/* Writes len bytes to path (created or truncated, 0666 & ~umask). Fails
 * the test if it cannot be opened, written or closed. */
void write_file(const char *path, const void *data, size_t len);

/* stat's st_size of path (links followed), or -1 if stat fails. */
long long file_size(const char *path);

/* rm -rf path with nftw (FTW_DEPTH | FTW_PHYS: symbolic links are removed,
 * never followed). Errors are ignored: it removes what it can. A directory
 * it cannot read (no permission) is left. */
void rm_tree(const char *path);

/* The end of a test program's temporary root dir: if the environment
 * variable keep_env is set to something other than "" and "0", prints
 * "  kept DIR" on stdout and leaves it; otherwise, when dir is not "",
 * calls remove_tree(dir) (the program's own way of removing it). */
void keep_or_remove(const char *keep_env, const char *dir, void (*remove_tree)(const char *));

/* ------------------------------------------------------------------------ */
/* Running programs                                                           */

typedef struct e2e_proc {
    int code;        /* exit code, 128 + signal, -1: could not start (or
                      * waiting failed), -2: timed out (killed) */
    long maxrss_kb;  /* the child's peak RSS (wait4's ru_maxrss); 0 unless
                      * it ended by itself */
    double wall_s;   /* from the spawn to its end; 0 unless it ended by itself */
} e2e_proc;

/* Runs argv (NULL-terminated; argv[0] a path, not searched in PATH) with
 * posix_spawn: stdin from /dev/null, stdout and stderr to out_path and
 * err_path (created or truncated, 0644), environment envp (NULL: this
 * process's environ). Polls for its end every poll_ms milliseconds; once
 * more than timeout_s seconds have passed it is killed (SIGKILL) and reaped
 * and code is -2. Prints "  cannot run ..." or "  ... timed out after N s
 * (killed)" on stdout, each prefixed with "[tag] " when tag is not NULL. */
e2e_proc e2e_run(char *const argv[], char *const envp[], const char *out_path,
                 const char *err_path, double timeout_s, long poll_ms, const char *tag);

/* ------------------------------------------------------------------------ */
/* JSON strings (thumbd's JSON Lines report)                                  */

/* Decodes the JSON string at *pp (which must point at its opening quote).
 * Escapes: \" \\ \/ \b \f \n \r \t and \uXXXX (hex digits in either
 * case): a high + low surrogate pair becomes one 4-byte UTF-8 sequence,
 * \udc80..\udcff becomes the single raw byte 0x80..0xff (thumbd's
 * surrogateescape for file names that are not UTF-8), other code points
 * become UTF-8. Any other surrogate (lone high, or low outside dc80..dcff):
 * encoded as a 3-byte sequence when lone_surrogates_ok, else the string is
 * invalid. A raw control character (< 0x20), an unknown escape or a missing
 * closing quote makes it invalid.
 * Returns the decoded bytes, malloc'ed and NUL-terminated (the caller frees),
 * with *pp moved past the closing quote; NULL if invalid (*pp unchanged).
 * Fails the test if memory runs out. */
char *e2e_json_string(const char **pp, bool lone_surrogates_ok);

/* One line of the report: a flat JSON object. */
typedef enum e2e_jtype { E2E_J_NULL, E2E_J_STR, E2E_J_NUM, E2E_J_BOOL, E2E_J_OTHER } e2e_jtype;

typedef struct e2e_jfield {
    char key[32];    /* truncated if longer */
    e2e_jtype type;
    char *s;         /* E2E_J_STR: the decoded bytes (e2e_json_string), malloc'ed */
    double n;        /* E2E_J_NUM: the number; E2E_J_BOOL: 1 or 0 */
} e2e_jfield;

enum { E2E_JREC_MAX = 40 };

typedef struct e2e_jrec {
    e2e_jfield f[E2E_JREC_MAX];
    int nf;
} e2e_jrec;

/* Parses line (no newline in it; blanks, tabs and CRs allowed between
 * tokens) as one JSON object into r, which it clears first. Values: strings
 * (decoded by e2e_json_string with lone_surrogates_ok), null, true, false,
 * numbers (strtod), and nested objects / arrays, which are skipped
 * (E2E_J_OTHER). Returns false if the line is not one such object with
 * nothing after it, or has more than max_fields (<= E2E_JREC_MAX) fields;
 * r may then hold the fields parsed so far: call e2e_jrec_free either way. */
bool e2e_jrec_parse(const char *line, e2e_jrec *r, int max_fields, bool lone_surrogates_ok);

/* Frees the strings of the record's fields; r->nf is 0 again. */
void e2e_jrec_free(e2e_jrec *r);

/* The first field named key, or NULL. */
const e2e_jfield *e2e_jrec_get(const e2e_jrec *r, const char *key);

/* ------------------------------------------------------------------------ */
/* Images                                                                     */

/* Fills row (w * 3 bytes, RGB) for row y of a JPEG being written. ctx is the
 * caller's, passed through unchanged. */
typedef void (*e2e_row_fn)(uint8_t *row, int w, int y, void *ctx);

/* Writes a w x h baseline RGB JPEG at the given libjpeg quality to path
 * (created or truncated), its rows from fill (called once per row, top to
 * bottom). Fails the test if path cannot be opened or a row buffer cannot
 * be allocated; libjpeg errors end the program (jpeg_std_error). Returns
 * fclose's result (0 when the file was written out), for the caller to
 * check or not. */
int write_rgb_jpeg(const char *path, int w, int h, int quality, e2e_row_fn fill, void *ctx);

/* The same, progressive (libjpeg's default script: DC scans first) when
 * progressive is set. */
int write_rgb_jpeg_ex(const char *path, int w, int h, int quality, bool progressive,
                      e2e_row_fn fill, void *ctx);

#endif
