/* End-to-end tests of what each signal does to a run (signals.h): SIGHUP
 * and SIGQUIT stop it like SIGTERM (exit 128+N, a record for every listed
 * image, the summary), SIGUSR1 prints the counts so far and the run goes on,
 * SIGUSR2 is ignored, SIGHUP stays ignored under nohup, and a closed pipe
 * (the report's, stderr) is a write error, not a SIGPIPE death.
 *
 *   test_signals THUMBD_BIN
 *
 * The runs are slow on purpose: NOISE images of pseudo-random noise, one
 * worker. --order newest makes thumbd list the whole tree before the first
 * task starts, so once a record is in the report every image is listed and
 * must end with a record. THUMBD_SIGNALS_KEEP=1 keeps the directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static char g_in[300];
enum { NOISE = 60 };

static int setup_all(void **state)
{
    (void)state;
    pathf(g_in, sizeof g_in, "%s/in", e2e_root);
    if (mkdir(g_in, 0755) != 0)
        return -1;
    for (int i = 0; i < NOISE; i++) {
        char p[400];
        pathf(p, sizeof p, "%s/n%03d.jpg", g_in, i);
        if (e2e_noise_jpeg(p, 1200, 900, (unsigned)i) != 0)
            return -1;
    }
    return 0;
}

/* One run's files: DIR/out, DIR/report.jsonl, DIR/stdout, DIR/stderr. */
typedef struct run {
    char dir[300], out[400], rep[400], so[400], se[400];
    e2e_child ch;
} run;

static void run_paths(run *r, const char *name)
{
    pathf(r->dir, sizeof r->dir, "%s/%s", e2e_root, name);
    assert_int_equal(mkdir(r->dir, 0755), 0);
    pathf(r->out, sizeof r->out, "%s/out", r->dir);
    pathf(r->rep, sizeof r->rep, "%s/report.jsonl", r->dir);
    pathf(r->so, sizeof r->so, "%s/stdout", r->dir);
    pathf(r->se, sizeof r->se, "%s/stderr", r->dir);
}

/* Starts thumbd ARGS... IN OUT with every signal at its default (or SIGHUP
 * ignored, as nohup leaves it) and none blocked; stdout to r->so and stderr
 * to r->se, or to out_fd and err_fd when >= 0. */
static void start(run *r, bool nohup, int out_fd, int err_fd, const char *const *args)
{
    const char *argv[24];
    int n = 0;
    for (; *args && n < 20; args++)
        argv[n++] = *args;
    argv[n++] = g_in;
    argv[n++] = r->out;
    argv[n] = NULL;
    e2e_cmd c = {.bin = e2e_bin, .args = argv, .out = r->so, .err = r->se, .out_fd = out_fd,
                 .err_fd = err_fd, .sighup_ignored = nohup};
    assert_true(e2e_start(&c, &r->ch));
}

/* The exit code (128+N for a death by signal N); kills it after secs. */
static int finish(run *r, double secs)
{
    r->ch.t0 = now_s();
    e2e_proc p = e2e_wait(&r->ch, secs, 2);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.0f s", secs);
    return p.code;
}

/* Waits (up to 60 s) for the first record in the report: the run is busy. */
static void wait_first_record(const run *r)
{
    double t0 = now_s();
    while (file_size(r->rep) <= 0) {
        if (now_s() - t0 > 60) {
            kill(r->ch.pid, SIGKILL);
            fail_msg("no record within 60 s");
        }
        usleep(1000);
    }
}

/* The file as a NUL-terminated string (the caller frees). */
static char *slurp(const char *path)
{
    char *s = e2e_slurp(path, NULL);
    assert_non_null(s);
    return s;
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; *p;) {
        if (!prefix || !strncmp(p, prefix, strlen(prefix)))
            n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    return n;
}

typedef struct tally { int lines, ok, not_started, other, distinct; } tally;

/* Loads every record; counts them by outcome and checks each image has
 * exactly one. */
static tally read_report(const char *path)
{
    tally t = {0};
    e2e_report rep;
    CHECK(e2e_report_load(path, &rep, 0), "no report at %s", path);
    CHECK(rep.bad == 0, "not a JSON record: %s", rep.first_bad);
    t.lines = rep.n + rep.bad;
    static bool seen[NOISE];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < rep.n; i++) {
        const e2e_jrec *x = &rep.v[i];
        const char *src = e2e_str(x, "src");
        int k = -1;
        if (src && sscanf(src, "n%d.jpg", &k) == 1 && k >= 0 && k < NOISE) {
            CHECK(!seen[k], "two records for %s", src);
            t.distinct += !seen[k];
            seen[k] = true;
        }
        if (e2e_is(x, "ok"))
            t.ok++;
        else if (e2e_is(x, "cancelled") &&
                 strstr(e2e_str_or(x, "error", ""), "not started: shutdown"))
            t.not_started++;
        else
            t.other++;
    }
    t.other += rep.bad;
    e2e_report_free(&rep);
    return t;
}

/* A stop signal mid-run: exit 128+sig, the summary, a record per image. */
static void check_graceful_stop(int sig, const char *name)
{
    begin_checks();
    run r;
    run_paths(&r, name);
    const char *args[] = {"-j", "1", "--order", "newest", "--report", r.rep, "--report-pending", NULL};
    start(&r, false, -1, -1, args);
    wait_first_record(&r);
    kill(r.ch.pid, sig);
    int code = finish(&r, 60);
    CHECK(code == 128 + sig, "%s: exit %d, expected %d", name, code, 128 + sig);
    tally t = read_report(r.rep);
    CHECK(t.lines == NOISE, "%s: %d records for %d images", name, t.lines, NOISE);
    CHECK(t.distinct == NOISE, "%s: %d images have a record, of %d", name, t.distinct, NOISE);
    CHECK(t.ok > 0, "%s: no image was done before the stop", name);
    CHECK(t.not_started > 0, "%s: nothing was left when it stopped: not a mid-run stop", name);
    char *err = slurp(r.se);
    char want[64];
    pathf(want, sizeof want, "thumbd: %d images in ", NOISE);
    CHECK(strstr(err, want) != NULL, "%s: no summary on stderr:\n%s", name, err);
    CHECK(strstr(err, "by shutdown") != NULL, "%s: the summary does not say why:\n%s", name, err);
    free(err);
    end_checks();
}

static void test_sighup_stops_gracefully(void **state)
{
    (void)state;
    check_graceful_stop(SIGHUP, "hup");
}

static void test_sigquit_stops_gracefully(void **state)
{
    (void)state;
    check_graceful_stop(SIGQUIT, "quit");
}

/* nohup: SIGHUP inherited as ignored stays ignored. */
static void test_sighup_under_nohup_is_ignored(void **state)
{
    (void)state;
    begin_checks();
    run r;
    run_paths(&r, "nohup");
    const char *args[] = {"-j", "1", "--report", r.rep, NULL};
    start(&r, true, -1, -1, args);
    wait_first_record(&r);
    kill(r.ch.pid, SIGHUP);
    int code = finish(&r, 120);
    CHECK(code == 0, "exit %d, expected 0", code);
    tally t = read_report(r.rep);
    CHECK(t.ok == NOISE && t.lines == NOISE, "%d ok of %d records, %d images", t.ok, t.lines, NOISE);
    end_checks();
}

/* SIGUSR1: one line with the counts so far, and the run goes on to the end. */
static void test_sigusr1_prints_status_and_goes_on(void **state)
{
    (void)state;
    begin_checks();
    run r;
    run_paths(&r, "usr1");
    const char *args[] = {"-j", "1", "--report", r.rep, NULL};
    start(&r, false, -1, -1, args);
    wait_first_record(&r);
    kill(r.ch.pid, SIGUSR1);
    int code = finish(&r, 120);
    CHECK(code == 0, "exit %d, expected 0", code);
    tally t = read_report(r.rep);
    CHECK(t.ok == NOISE && t.lines == NOISE, "%d ok of %d records, %d images", t.ok, t.lines, NOISE);
    char *err = slurp(r.se);
    CHECK(count_lines(err, "thumbd: so far ") == 1, "not one status line on stderr:\n%s", err);
    const char *line = strstr(err, "thumbd: so far ");
    unsigned long long done = 0, found = 0;
    CHECK(line && sscanf(line, "thumbd: so far %llu of %llu images", &done, &found) == 2 &&
              done >= 1 && done < NOISE && found >= done,
          "the status line does not count what was done: %s", line ? line : "(none)");
    CHECK(line && strstr(line, " ok, ") && strstr(line, " failed, "), "no counts: %s",
          line ? line : "(none)");
    free(err);
    end_checks();
}

/* SIGUSR2 neither stops the run nor prints anything. */
static void test_sigusr2_is_ignored(void **state)
{
    (void)state;
    begin_checks();
    run r;
    run_paths(&r, "usr2");
    const char *args[] = {"-j", "1", "--report", r.rep, NULL};
    start(&r, false, -1, -1, args);
    wait_first_record(&r);
    kill(r.ch.pid, SIGUSR2);
    int code = finish(&r, 120);
    CHECK(code == 0, "exit %d, expected 0", code);
    tally t = read_report(r.rep);
    CHECK(t.ok == NOISE && t.lines == NOISE, "%d ok of %d records, %d images", t.ok, t.lines, NOISE);
    char *err = slurp(r.se);
    CHECK(count_lines(err, "thumbd: so far ") == 0, "a status line for SIGUSR2:\n%s", err);
    free(err);
    end_checks();
}

/* A pipe whose reader is gone: its write end (the read end closed). */
static int dead_pipe(void)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    return fds[1];
}

/* --report - into a pipe nobody reads: a write error (exit 3, said on
 * stderr), not a death by SIGPIPE (141). The same for stderr, which the
 * main thread writes (the summary). */
static void test_closed_pipes_are_write_errors(void **state)
{
    (void)state;
    begin_checks();
    run r;
    run_paths(&r, "pipe");
    int fd = dead_pipe();
    const char *args[] = {"-j", "2", "--report", "-", NULL};
    start(&r, false, fd, -1, args);
    close(fd);
    int code = finish(&r, 120);
    CHECK(code == 3, "report: exit %d, expected 3", code);
    char *err = slurp(r.se);
    CHECK(strstr(err, "the report could not be written completely") != NULL,
          "stderr does not say the report is incomplete:\n%s", err);
    free(err);

    run_paths(&r, "pipe2");
    fd = dead_pipe();
    const char *args2[] = {"-v", "-j", "2", "--report", r.rep, NULL};
    start(&r, false, -1, fd, args2);
    close(fd);
    code = finish(&r, 120);
    CHECK(code == 0, "stderr: exit %d, expected 0", code);
    tally t = read_report(r.rep);
    CHECK(t.ok == NOISE, "stderr: %d ok of %d images", t.ok, NOISE);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sighup_stops_gracefully),
        cmocka_unit_test(test_sigquit_stops_gracefully),
        cmocka_unit_test(test_sighup_under_nohup_is_ignored),
        cmocka_unit_test(test_sigusr1_prints_status_and_goes_on),
        cmocka_unit_test(test_sigusr2_is_ignored),
        cmocka_unit_test(test_closed_pipes_are_write_errors),
    };
    const e2e_prog p = {.name = "signals", .setup = setup_all};
    return e2e_main_ex(argc, argv, &p, tests, sizeof tests / sizeof tests[0]);
}
