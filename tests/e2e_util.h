/* Helpers shared by the end-to-end test programs (test_e2e, test_hostile,
 * test_fsfaults, test_vips, test_ops, test_lifecycle, test_sched, test_safety,
 * test_signals, test_transient, test_names, test_paths): the runner
 * (e2e_cmd, e2e_start / e2e_wait / e2e_exec), the report loader
 * (e2e_report, e2e_str / e2e_num), soft checks, files and images.
 *
 * Everything here may be called only from inside a cmocka test (or a group
 * setup / teardown) unless said otherwise: the helpers that "fail the test"
 * do so with cmocka's assertions. */
#ifndef THUMBD_E2E_UTIL_H
#define THUMBD_E2E_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "file_read.h"
#include "test_skip.h"

/* E2E_UNDER_ASAN: 1 in a program built with AddressSanitizer (its RSS
 * includes ASan's shadow and quarantine), else 0. */
#if defined(__SANITIZE_ADDRESS__)
#define E2E_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define E2E_UNDER_ASAN 1
#endif
#endif
#ifndef E2E_UNDER_ASAN
#define E2E_UNDER_ASAN 0
#endif

#if defined(__GNUC__)
#define E2E_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define E2E_PRINTF(fmt_idx, arg_idx)
/* Decodes the JPEG d (n bytes) to its last row with libjpeg, a warning
 * (corrupt or truncated data) counting as an error. true with its size in
 * *w and *h; false with "libjpeg: <message>" in why (whyn bytes). */
bool e2e_jpeg_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn);

/* An e2e_row_fn of pseudo-random bytes (an LCG); ctx: its uint32_t state. */
void e2e_noise_row(uint8_t *row, int w, int y, void *ctx);

/* A w x h quality-90 JPEG of noise from seed (expensive to decode, like a
 * busy photo): write_rgb_jpeg's result. */
int e2e_noise_jpeg(const char *path, int w, int h, unsigned seed);

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

/* read_file (file_read.h): the whole file into a malloc'ed buffer. */

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
/* A test program's main() (e2e_main.c); called from main, outside any test  */

struct CMUnitTest;

/* The path of thumbd (the program's first argument) and the program's
 * temporary root, set by e2e_main before the tests run. */
extern const char *e2e_bin;
extern char e2e_root[256];

enum { E2E_PROG_ARGS = 4 };

/* How a program starts. name: "bmpico" gives the root
 * $TMPDIR/thumbd-bmpico-XXXXXX (TMPDIR unset or "": /tmp) and the variable
 * THUMBD_BMPICO_KEEP that keeps it. args: where to store the arguments after
 * THUMBD_BIN (NULL-terminated unless all E2E_PROG_ARGS are used), usage: their
 * names for the usage line. setup / teardown (NULL: none): the group's,
 * setup called once the root is made, teardown before it is removed. */
typedef struct e2e_prog {
    const char *name;
    const char **args[E2E_PROG_ARGS];
    const char *usage;
    int (*setup)(void **state);
    int (*teardown)(void **state);
} e2e_prog;

/* Checks the arguments (fewer than THUMBD_BIN and p->args: a usage line on
 * stderr and 2), sets e2e_bin and p->args, makes e2e_root (cannot: 2),
 * runs the n tests as one cmocka group and removes the root afterwards
 * unless the KEEP variable is set (keep_or_remove). Returns what the group
 * run returns: main's exit status. */
int e2e_main_ex(int argc, char **argv, const e2e_prog *p, const struct CMUnitTest *tests, size_t n);

/* e2e_main_ex with only a name. */
int e2e_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n);

/* ------------------------------------------------------------------------ */
/* Running programs (e2e_proc.c): the one way the test programs start thumbd */

typedef struct e2e_proc {
    int code;        /* exit code, 128 + signal, -1: could not start (or
                      * waiting failed), -2: timed out (killed) */
    int signo;       /* the signal that ended it, or 0 */
    long maxrss_kb;  /* the child's peak RSS (wait4's ru_maxrss); 0 unless
                      * it ended by itself. It counts this process's RSS
                      * too (the child had it until its exec): measure from a
                      * small process (test_hostile's launcher). */
    double wall_s;   /* from the start to its end */
} e2e_proc;

/* What to run and how. Zero-initialise and set what the test needs:
 *   argv   [prefix...] [setpriv --reuid=65534 --regid=65534 --clear-groups]
 *          bin args...   (prefix: e.g. strace and its options)
 *   env    this process's environment, less the variables whose NAME=VALUE
 *          starts with one of unset[], plus env[] (NAME=VALUE, replacing the
 *          same NAME); with preload: LD_PRELOAD=preload and
 *          verify_asan_link_order=0 added to ASAN_OPTIONS (the shims are not
 *          instrumented); each san_opts[] entry "NAME=key=value" is
 *          appended to the colon-separated list in NAME (a sanitizer takes
 *          the last value of a key: it overrides the caller's).
 *   files  stdin from `in` (NULL: /dev/null); stdout to out_fd when > 2, else
 *          to the file `out` (created or truncated, 0644; NULL: /dev/null);
 *          stderr to err_fd when > 2, else to `err`, else where stdout goes.
 *   child  every signal at its default disposition (SIGHUP ignored when
 *          sighup_ignored, as nohup leaves it), none blocked, no core files,
 *          RLIMIT_FSIZE fsize_limit bytes when > 0.
 * When echo is set, the command line is printed ("  $ argv...") first. */
typedef struct e2e_cmd {
    const char *bin;
    const char *const *args;       /* NULL-terminated; NULL: none */
    const char *const *prefix;     /* NULL-terminated; NULL: none */
    bool as_nobody;
    const char *preload;
    const char *const *env;        /* NULL-terminated; NULL: none */
    const char *const *unset;      /* NULL-terminated; NULL: none */
    const char *const *san_opts;   /* NULL-terminated; NULL: none */
    const char *in, *out, *err;
    int out_fd, err_fd;
    long fsize_limit;
    bool sighup_ignored;
    bool echo;
    const char *tag;               /* prefixes the messages printed: "[tag] " */
} e2e_cmd;

/* A started program. */
typedef struct e2e_child {
    int pid;         /* the child's pid, or -1 */
    double t0;       /* now_s() at the start */
} e2e_child;

/* Starts c with posix_spawn and returns once the child has exec'd the
 * program (so it has opened its files: a FIFO as stdin waits for a writer
 * first). If it cannot (the program is missing, setpriv is not there),
 * ch->pid is -1 and false is returned, after a "  cannot run ..." line.
 * The child's limits and SIGHUP disposition are set in this process for the
 * moment of the spawn. Safe in a process that is not inside a cmocka test
 * (it fails nothing). */
bool e2e_start(const e2e_cmd *c, e2e_child *ch);

/* Waits for the child to end, polling every poll_ms milliseconds (2 ms when
 * 0); once more than timeout_s seconds have passed since its start it is
 * killed (SIGKILL), reaped, "  ... timed out after N s (killed)" is printed
 * and the code is -2. */
e2e_proc e2e_wait(e2e_child *ch, double timeout_s, long poll_ms);

/* Without waiting: true (and *res filled as e2e_wait would) if the child
 * has ended, which reaps it; false while it runs. */
bool e2e_poll(e2e_child *ch, e2e_proc *res);

/* e2e_start then e2e_wait: the program run to its end. */
e2e_proc e2e_exec(const e2e_cmd *c, double timeout_s);

/* e2e_exec of argv (argv[0] the program's path), environment envp (NULL:
 * this process's), stdout and stderr to out_path and err_path. */
e2e_proc e2e_run(char *const argv[], char *const envp[], const char *out_path,
                 const char *err_path, double timeout_s, long poll_ms, const char *tag);

/* setpriv's path (util-linux), or NULL when there is none. Any context. */
const char *e2e_setpriv_path(void);

/* The file as a malloc'ed NUL-terminated string (the caller frees; *len,
 * when not NULL, gets its length), or NULL if it cannot be read. */
char *e2e_slurp(const char *path, size_t *len);

/* true if the file can be read and holds needle. */
bool e2e_file_has(const char *path, const char *needle);

/* Prints the last `lines` lines of a file (a program's log), each as
 * "    | line". Nothing if it cannot be read. */
void e2e_print_tail(const char *path, int lines);

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
/* The report (e2e_report.c): thumbd's JSON Lines, loaded once, read by key   */

typedef struct e2e_report {
    e2e_jrec *v;          /* the records, in the report's order */
    char **line;          /* line[i]: the text of v[i] (for messages) */
    int n;
    int bad;              /* non-empty lines that are not one flat JSON object */
    char first_bad[200];  /* the first of them (truncated) */
} e2e_report;

/* E2E_REPORT_NO_LONE_SURROGATES: a string holding a lone surrogate escape
 * (other than thumbd's \udc80..\udcff) makes its line bad. */
enum { E2E_REPORT_NO_LONE_SURROGATES = 1 };

/* Loads the report at path into rep (cleared first): one record per line
 * that parses (e2e_jrec_parse), empty lines ignored, the others counted in
 * bad. Returns false if the file cannot be read (rep is then empty). Fails
 * the test if memory runs out. */
bool e2e_report_load(const char *path, e2e_report *rep, unsigned flags);

/* e2e_report_load, failing the test when the file cannot be read or a line
 * is not a record. */
void e2e_report_must_load(const char *path, e2e_report *rep);

/* Frees the records; rep is empty ({0}) again. */
void e2e_report_free(e2e_report *rep);

/* The first record whose "src" is src, or NULL; *count (when not NULL) gets
 * how many records have that src. */
const e2e_jrec *e2e_report_find(const e2e_report *rep, const char *src, int *count);

/* The one record whose "src" is src, or NULL; fails the test when there
 * are several. */
const e2e_jrec *e2e_report_one(const e2e_report *rep, const char *src);

/* The text of record r, which must be one of rep's (for messages), or
 * "(no record)" when r is NULL. */
const char *e2e_report_text(const e2e_report *rep, const e2e_jrec *r);

/* How many records have "status" equal to status. */
int e2e_report_count(const e2e_report *rep, const char *status);

/* The string value of key, or NULL when r is NULL or key is absent, null or
 * not a string. */
const char *e2e_str(const e2e_jrec *r, const char *key);

/* e2e_str, or dflt where that is NULL. */
const char *e2e_str_or(const e2e_jrec *r, const char *key, const char *dflt);

/* The number value of key (a boolean: 1 or 0), or NAN when r is NULL or
 * key is absent or not a number. */
double e2e_num(const e2e_jrec *r, const char *key);

/* true if r is not NULL and key is present with the value null. */
bool e2e_is_null(const e2e_jrec *r, const char *key);

/* true if r is not NULL and its "status" is status. */
bool e2e_is(const e2e_jrec *r, const char *status);

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

/* Decodes the JPEG d (n bytes) to its last row with libjpeg, a warning
 * (corrupt or truncated data) counting as an error. true with its size in
 * *w and *h; false with "libjpeg: <message>" in why (whyn bytes). */
bool e2e_jpeg_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn);

/* An e2e_row_fn of pseudo-random bytes (an LCG); ctx: its uint32_t state. */
void e2e_noise_row(uint8_t *row, int w, int y, void *ctx);

/* A w x h quality-90 JPEG of noise from seed (expensive to decode, like a
 * busy photo): write_rgb_jpeg's result. */
int e2e_noise_jpeg(const char *path, int w, int h, unsigned seed);

#endif
