/* End-to-end tests of names in thumbd's human-readable output: a file name
 * with a newline, an escape sequence or bytes that are not UTF-8 gives one
 * escaped line under -v and in error lines (no injected line, no terminal
 * control code), while the JSON report keeps the exact bytes.
 *
 *   test_names THUMBD_BIN
 *
 * THUMBD_NAMES_KEEP=1 keeps the directory. */
#include <errno.h>
#include <fcntl.h>
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

#include "e2e_util.h"

/* The names, as bytes on disk; the last one is not an image. */
static const char *const names[] = {
    "a\nthumbd: fake.jpg",
    "\x1b[31mred.jpg",
    ("caf\xe9 \xc2\x9b" "2J.jpg"), /* Latin-1, then U+009B (CSI) as UTF-8 */
    "tab\there\\n.jpg",
    "bad\x1b]0;title\x07.jpg",
};
enum { NNAMES = sizeof names / sizeof *names };

static void gray_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        row[i] = (uint8_t)(i + y);
}

/* The file as a NUL-terminated string (the caller frees). */
static char *slurp(const char *path, size_t *len)
{
    char *s = e2e_slurp(path, len);
    assert_non_null(s);
    return s;
}

/* Runs thumbd ARGS... with stdout to DIR/out.txt and stderr to DIR/err.txt;
 * returns the exit code and stderr (the caller frees). */
static int run(const char *dir, const char *const *args, char **err, size_t *err_len)
{
    char so[400], se[400];
    pathf(so, sizeof so, "%s/out.txt", dir);
    pathf(se, sizeof se, "%s/err.txt", dir);
    e2e_cmd c = {.bin = e2e_bin, .args = args, .out = so, .err = se};
    e2e_proc p = e2e_exec(&c, 120);
    *err = slurp(se, err_len);
    return p.code;
}

/* No byte of s (len bytes) below 0x20 but newlines, nor DEL. */
static bool no_controls(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return false;
    }
    return true;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* -v: one line per file, escaped; the report: the exact names. */
static void test_verbose_lines_are_escaped(void **state)
{
    (void)state;
    begin_checks();
    char dir[300], in[400], out[400], rep[400], p[500];
    pathf(dir, sizeof dir, "%s/verbose", e2e_root);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/report.jsonl", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(in, 0755), 0);
    for (int i = 0; i < NNAMES; i++) {
        pathf(p, sizeof p, "%s/%s", in, names[i]);
        if (i < NNAMES - 1)
            assert_int_equal(write_rgb_jpeg(p, 64, 48, 90, gray_row, NULL), 0);
        else
            write_file(p, "\xff\xd8 not a JPEG", 12); /* its error line names it too */
    }
    const char *args[] = {"-v", "-j", "2", "--report", rep, in, out, NULL};
    char *err;
    size_t len;
    int code = run(dir, args, &err, &len);
    CHECK(code == 1, "exit %d, expected 1 (one file is not an image)", code);
    CHECK(memchr(err, 0x1b, len) == NULL, "an ESC byte on stderr");
    CHECK(no_controls(err, len), "a control character on stderr");
    int file_lines = 0;
    for (const char *l = err; *l; l = strchr(l, '\n') + 1) {
        if (!strncmp(l, "ok ", 3) || !strncmp(l, "failed ", 7))
            file_lines++;
        else
            CHECK(!strncmp(l, "thumbd: ", 8) && strncmp(l, "thumbd: fake", 12),
                  "a line that is neither a file's nor thumbd's: %.*s", (int)strcspn(l, "\n"), l);
        if (!strchr(l, '\n'))
            break;
    }
    CHECK(file_lines == NNAMES, "%d file lines for %d files:\n%s", file_lines, NNAMES, err);
    CHECK(strstr(err, "ok        a\\nthumbd: fake.jpg -> a\\nthumbd: fake.jpg") != NULL,
          "the newline is not written as \\n:\n%s", err);
    CHECK(strstr(err, "\\x1b[31mred.jpg") != NULL, "ESC is not written as \\x1b:\n%s", err);
    CHECK(strstr(err, "caf\\xe9 \\xc2\\x9b2J.jpg") != NULL, "bytes not escaped as \\xHH:\n%s", err);
    CHECK(strstr(err, "tab\\there\\\\n.jpg") != NULL, "tab or backslash not escaped:\n%s", err);
    CHECK(strstr(err, "failed    bad\\x1b]0;title\\x07.jpg: ") != NULL, "the error line:\n%s", err);
    free(err);

    /* The report holds every name, byte for byte, as valid JSON. */
    e2e_report r;
    CHECK(e2e_report_load(rep, &r, E2E_REPORT_NO_LONE_SURROGATES), "no report at %s", rep);
    CHECK(r.bad == 0, "not a JSON record: %s", r.first_bad);
    CHECK(r.n + r.bad == NNAMES, "%d records for %d files", r.n + r.bad, NNAMES);
    for (int i = 0; i < NNAMES; i++)
        CHECK(e2e_report_find(&r, names[i], NULL), "no record names file %d exactly", i);
    e2e_report_free(&r);
    end_checks();
}

/* Error lines that quote a path or an argument stay one line each. */
static void test_error_lines_are_escaped(void **state)
{
    (void)state;
    begin_checks();
    char dir[300], in[400], bad_in[400], out[400], metrics[400];
    pathf(dir, sizeof dir, "%s/errors", e2e_root);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(bad_in, sizeof bad_in, "%s/no\nsuch\x1b[2J", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(metrics, sizeof metrics, "%s/missing\ndir\x1b[2J/m.prom", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(in, 0755), 0);
    struct {
        const char *what;
        const char *args[8];
        int code;
    } cases[] = {
        {"an IN_DIR that is missing", {bad_in, out, NULL}, 3},
        {"a bad option value", {"--size", "1\n2\x1b[2J", in, out, NULL}, 2},
        {"a metrics file that cannot be written", {"--metrics", metrics, in, out, NULL}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *err;
        size_t len;
        int code = run(dir, cases[i].args, &err, &len);
        CHECK(code == cases[i].code, "%s: exit %d, expected %d", cases[i].what, code, cases[i].code);
        CHECK(no_controls(err, len), "%s: a control character on stderr:\n%s", cases[i].what, err);
        const char *line = strstr(err, "\\x1b[2J");
        CHECK(line != NULL, "%s: the name is not on stderr, escaped:\n%s", cases[i].what, err);
        /* The whole message is on one line: the escaped name's own line
         * also holds its prefix. */
        const char *start = line;
        while (start > err && start[-1] != '\n')
            start--;
        CHECK(!strncmp(start, "thumbd: ", 8), "%s: the name's line:\n%s", cases[i].what, err);
        CHECK(count_lines(err) == 1, "%s: %d lines:\n%s", cases[i].what, count_lines(err), err);
        free(err);
    }
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbose_lines_are_escaped),
        cmocka_unit_test(test_error_lines_are_escaped),
    };
    return e2e_main(argc, argv, "names", tests, sizeof tests / sizeof tests[0]);
}
