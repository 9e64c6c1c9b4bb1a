/* The test programs' own helpers (e2e_util.h): the runner, the report
 * loader and the strict skip. argv[0] is run again as the child of the skip
 * test ("skip-probe": a cmocka group whose one test skips). */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static const char *g_self;
static char g_root[256], g_out[300], g_err[300];

static int setup_all(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    pathf(g_root, sizeof g_root, "%s/thumbd-e2eutil-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_root))
        return -1;
    pathf(g_out, sizeof g_out, "%s/out", g_root);
    pathf(g_err, sizeof g_err, "%s/err", g_root);
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    rm_tree(g_root);
    return 0;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *out_text(const char *path)
{
    char *s = e2e_slurp(path, NULL);
    assert_non_null(s);
    return s;
}

/* Exit code, stdout and stderr apart, stdin from a file. */
static void test_exec_captures(void **state)
{
    (void)state;
    char in[320];
    pathf(in, sizeof in, "%s/in", g_root);
    write_file(in, "from stdin", 10);
    e2e_cmd c = {.bin = "/bin/sh", .args = ARGS("-c", "cat; echo E >&2; exit 7"), .in = in,
                 .out = g_out, .err = g_err};
    e2e_proc p = e2e_exec(&c, 30);
    assert_int_equal(p.code, 7);
    char *o = out_text(g_out), *e = out_text(g_err);
    assert_string_equal(o, "from stdin");
    assert_string_equal(e, "E\n");
    free(o);
    free(e);
    /* err NULL: stderr goes where stdout goes */
    c = (e2e_cmd){.bin = "/bin/sh", .args = ARGS("-c", "echo O; echo E >&2"), .out = g_out};
    assert_int_equal(e2e_exec(&c, 30).code, 0);
    o = out_text(g_out);
    assert_string_equal(o, "O\nE\n");
    free(o);
    assert_true(e2e_file_has(g_out, "E\n"));
    assert_false(e2e_file_has(g_out, "X"));
}

/* unset drops variables by prefix, env sets, san_opts append (the last
 * value wins), preload sets LD_PRELOAD and lets ASan accept an
 * uninstrumented shim. */
static void test_exec_environment(void **state)
{
    (void)state;
    char *asan = getenv("ASAN_OPTIONS") ? strdup(getenv("ASAN_OPTIONS")) : NULL;
    char *ubsan = getenv("UBSAN_OPTIONS") ? strdup(getenv("UBSAN_OPTIONS")) : NULL;
    setenv("THUMBD_E2E_UTIL_X", "1", 1);
    setenv("ASAN_OPTIONS", "a=1:exitcode=5", 1);
    unsetenv("UBSAN_OPTIONS");
    e2e_cmd c = {.bin = "/usr/bin/env", .unset = ARGS("THUMBD_"), .env = ARGS("E2E_SET=yes"),
                 .san_opts = ARGS("ASAN_OPTIONS=exitcode=86", "UBSAN_OPTIONS=exitcode=86"),
                 .preload = "/nonexistent-shim.so", .out = g_out, .err = g_err};
    assert_int_equal(e2e_exec(&c, 30).code, 0);
    unsetenv("THUMBD_E2E_UTIL_X");
    unsetenv("ASAN_OPTIONS");
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    if (ubsan)
        setenv("UBSAN_OPTIONS", ubsan, 1);
    free(asan);
    free(ubsan);
    char *o = out_text(g_out);
    assert_null(strstr(o, "THUMBD_E2E_UTIL_X"));
    assert_non_null(strstr(o, "E2E_SET=yes\n"));
    assert_non_null(strstr(o, "ASAN_OPTIONS=a=1:exitcode=5:verify_asan_link_order=0:exitcode=86\n"));
    assert_non_null(strstr(o, "UBSAN_OPTIONS=exitcode=86\n"));
    assert_non_null(strstr(o, "LD_PRELOAD=/nonexistent-shim.so\n"));
    free(o);
}

/* A program that does not exist: code -1 at once; one that runs too long:
 * killed, -2; a started child killed by a signal: 128 + N. */
static void test_start_wait_kill(void **state)
{
    (void)state;
    e2e_cmd c = {.bin = "/nonexistent/program", .out = g_out};
    assert_int_equal(e2e_exec(&c, 30).code, -1);
    c = (e2e_cmd){.bin = "/bin/sleep", .args = ARGS("30"), .out = g_out};
    double t0 = now_s();
    assert_int_equal(e2e_exec(&c, 0.2).code, -2);
    assert_true(now_s() - t0 < 10);
    e2e_child ch;
    assert_true(e2e_start(&c, &ch));
    kill(ch.pid, SIGTERM);
    e2e_proc p = e2e_wait(&ch, 30, 1);
    assert_int_equal(p.code, 128 + SIGTERM);
    assert_int_equal(p.signo, SIGTERM);
    /* every signal at its default: an ignored SIGTERM here is not inherited */
    signal(SIGTERM, SIG_IGN);
    bool started = e2e_start(&c, &ch);
    signal(SIGTERM, SIG_DFL);
    assert_true(started);
    kill(ch.pid, SIGTERM);
    assert_int_equal(e2e_wait(&ch, 30, 1).code, 128 + SIGTERM);
    /* sighup_ignored: as nohup leaves it */
    c.sighup_ignored = true;
    c.args = ARGS("0.3");
    assert_true(e2e_start(&c, &ch));
    kill(ch.pid, SIGHUP);
    assert_int_equal(e2e_wait(&ch, 30, 1).code, 0);
}

/* fsize_limit: a write past it is refused (SIGXFSZ at its default kills). */
static void test_fsize_limit(void **state)
{
    (void)state;
    char big[320];
    pathf(big, sizeof big, "%s/big", g_root);
    e2e_cmd c = {.bin = "/bin/dd", .args = ARGS("if=/dev/zero", "bs=4096", "count=64"),
                 .out = big, .err = g_err, .fsize_limit = 65536};
    e2e_proc p = e2e_exec(&c, 30);
    assert_int_equal(p.code, 128 + SIGXFSZ);
    assert_int_equal(file_size(big), 65536);
}

/* as_nobody: the program runs as uid 65534 (root only: only root can). */
static void test_as_nobody(void **state)
{
    (void)state;
    if (geteuid() != 0)
        test_skip("not root: setpriv cannot change the uid");
    chmod(g_root, 0755);
    e2e_cmd c = {.bin = "/usr/bin/id", .args = ARGS("-u"), .as_nobody = true, .out = g_out};
    assert_int_equal(e2e_exec(&c, 30).code, 0);
    char *o = out_text(g_out);
    assert_string_equal(o, "65534\n");
    free(o);
}

static void test_report_loader(void **state)
{
    (void)state;
    char rep[320];
    pathf(rep, sizeof rep, "%s/r.jsonl", g_root);
    const char *text =
        "{\"src\":\"a.jpg\",\"status\":\"ok\",\"out_w\":64,\"error\":null}\n"
        "\n"
        "{\"src\":\"b\\u00e9.png\",\"status\":\"failed\",\"error\":\"bad\",\"x\":{\"y\":[1]}}\n"
        "not json\n"
        "{\"src\":\"a.jpg\",\"status\":\"ok\",\"lone\":\"\\ud800\"}\n";
    write_file(rep, text, strlen(text));
    e2e_report r;
    assert_true(e2e_report_load(rep, &r, 0));
    assert_int_equal(r.n, 3);
    assert_int_equal(r.bad, 1);
    assert_string_equal(r.first_bad, "not json");
    int n;
    const e2e_jrec *a = e2e_report_find(&r, "a.jpg", &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(a, &r.v[0]);
    assert_string_equal(e2e_report_text(&r, a),
                        "{\"src\":\"a.jpg\",\"status\":\"ok\",\"out_w\":64,\"error\":null}");
    assert_string_equal(e2e_report_text(&r, NULL), "(no record)");
    assert_true(e2e_num(a, "out_w") == 64);
    assert_true(isnan(e2e_num(a, "src")));
    assert_true(e2e_is_null(a, "error"));
    assert_null(e2e_str(a, "error"));
    assert_string_equal(e2e_str_or(a, "error", "null"), "null");
    const e2e_jrec *b = e2e_report_find(&r, "b\xc3\xa9.png", NULL);
    assert_true(e2e_is(b, "failed"));
    assert_string_equal(e2e_str(b, "error"), "bad");
    assert_null(e2e_report_find(&r, "c.jpg", &n));
    assert_int_equal(n, 0);
    assert_false(e2e_is(NULL, "ok"));
    assert_int_equal(e2e_report_count(&r, "ok"), 2);
    assert_int_equal(e2e_report_count(&r, "failed"), 1);
    e2e_report_free(&r);
    assert_true(e2e_report_load(rep, &r, E2E_REPORT_NO_LONE_SURROGATES));
    assert_int_equal(r.n, 2);
    assert_int_equal(r.bad, 2);
    e2e_report_free(&r);
    assert_false(e2e_report_load("/nonexistent/r.jsonl", &r, 0));
    assert_int_equal(r.n, 0);
}

/* A skip passes, but fails under THUMBD_TEST_STRICT=1. */
static void test_strict_skip(void **state)
{
    (void)state;
    e2e_cmd c = {.bin = g_self, .args = ARGS("skip-probe"), .out = g_out,
                 .unset = ARGS("THUMBD_TEST_STRICT=")};
    e2e_proc lax = e2e_exec(&c, 60);
    assert_int_equal(lax.code, 0);
    assert_true(e2e_file_has(g_out, "SKIPPED: probe"));
    c.env = ARGS("THUMBD_TEST_STRICT=1");
    e2e_proc strict = e2e_exec(&c, 60);
    assert_int_not_equal(strict.code, 0);
    assert_true(e2e_file_has(g_out, "THUMBD_TEST_STRICT=1"));
}

static void probe_skips(void **state)
{
    (void)state;
    test_skip("probe");
}

int main(int argc, char **argv)
{
    g_self = argv[0];
    if (argc > 1 && !strcmp(argv[1], "skip-probe")) {
        const struct CMUnitTest probe[] = {cmocka_unit_test(probe_skips)};
        return cmocka_run_group_tests(probe, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_captures),
        cmocka_unit_test(test_exec_environment),
        cmocka_unit_test(test_start_wait_kill),
        cmocka_unit_test(test_fsize_limit),
        cmocka_unit_test(test_as_nobody),
        cmocka_unit_test(test_report_loader),
        cmocka_unit_test(test_strict_skip),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
