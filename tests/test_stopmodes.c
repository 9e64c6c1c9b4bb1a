/* End-to-end tests of --ordered (the report in id order, through a bounded
 * window that holds back the scan) and --on-stop drain (a stop runs the
 * queued tasks too, within --shutdown-timeout).
 * argv[1]: the thumbd binary; argv[2]: the blocking-read LD_PRELOAD shim
 * (tests/block_shim.c: a file named "*blocking*" is never read). */
#include <dirent.h>
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

static const char *shim_lib;

/* Noise: expensive to decode, like a busy photo. */
static void noise_jpeg(const char *path, int w, int h, unsigned seed)
{
    CHECK(e2e_noise_jpeg(path, w, h, seed) == 0, "cannot write %s", path);
}

/* Starts thumbd with args (NULL-terminated), stdout and stderr to log,
 * through the blocking shim when with_shim. */
static e2e_child start(bool with_shim, const char *log, ...)
{
    const char *argv[40];
    int argc = 0;
    /* The tests check every image's record, skipped and never started too. */
    argv[argc++] = "--report-skipped";
    argv[argc++] = "--report-pending";
    va_list ap;
    va_start(ap, log);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 39)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    /* A read that never returns in a thread: the pool's abandon path (a
     * worker process is killed instead: test_isolation.c). */
    static const char *const thread_env[] = {"THUMBD_ISOLATION=thread", NULL};
    e2e_cmd c = {.bin = e2e_bin, .args = argv, .out = log,
                 .preload = with_shim ? shim_lib : NULL, .env = with_shim ? thread_env : NULL};
    e2e_child ch;
    assert_true(e2e_start(&c, &ch));
    return ch;
}

/* Waits up to secs (from this call) for the child; its exit code (128 + N
 * for a signal) and in *elapsed the time this wait took, or kills it and
 * fails the test. */
static int wait_exit(e2e_child *ch, double secs, double *elapsed)
{
    double t0 = now_s();
    e2e_proc p = e2e_wait(ch, t0 - ch->t0 + secs, 5);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.1f s", secs);
    if (elapsed)
        *elapsed = now_s() - t0;
    return p.code;
}

typedef struct rec {
    uint64_t id;
    char src[128], status[16], error[160];
} rec;

/* The report's records in file order; fails the test on a line that is
 * not a record. */
static int read_recs(const char *path, rec *v, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        e2e_jrec j;
        assert_true(e2e_jrec_parse(line, &j, E2E_JREC_MAX, true));
        assert_true(n < max);
        rec *r = &v[n++];
        memset(r, 0, sizeof *r);
        const e2e_jfield *id = e2e_jrec_get(&j, "id"), *src = e2e_jrec_get(&j, "src"),
                         *st = e2e_jrec_get(&j, "status"), *err = e2e_jrec_get(&j, "error");
        assert_true(id && src && st && err);
        r->id = (uint64_t)id->n;
        snprintf(r->src, sizeof r->src, "%s", src->s);
        snprintf(r->status, sizeof r->status, "%s", st->s);
        snprintf(r->error, sizeof r->error, "%s", err->type == E2E_J_STR ? err->s : "");
        e2e_jrec_free(&j);
    }
    fclose(f);
    return n;
}

/* Thumbnails in dir (not thumbd's own files, which start with '.'). */
static int count_thumbs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* True if the records' ids are 1, 2, ... n in file order. */
static bool ids_in_order(const rec *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i].id != (uint64_t)i + 1)
            return false;
    return true;
}

static void path_in(char *buf, size_t len, const char *name)
{
    pathf(buf, len, "%s/%s", e2e_root, name);
}

enum { ORD_SMALL = 40 };

/* A big image first, then small ones: with -j 4 the small ones finish
 * first. --ordered writes ids 1..N in order, every one; without it the big
 * one's record comes later (which shows the test can tell). */
static void test_ordered_report_in_id_order(void **state)
{
    (void)state;
    begin_checks();
    char in[300], p[400];
    path_in(in, sizeof in, "ord-in");
    mkdir(in, 0755);
    pathf(p, sizeof p, "%s/a-big.jpg", in);
    noise_jpeg(p, 4000, 3000, 1);
    for (int i = 0; i < ORD_SMALL; i++) {
        pathf(p, sizeof p, "%s/b%03d.jpg", in, i);
        noise_jpeg(p, 64, 48, (unsigned)i + 2);
    }
    for (int ordered = 0; ordered < 2; ordered++) {
        char out[300], rep[300], log[300];
        path_in(out, sizeof out, ordered ? "ord-out1" : "ord-out0");
        path_in(rep, sizeof rep, ordered ? "ord1.jsonl" : "ord0.jsonl");
        path_in(log, sizeof log, ordered ? "ord1.log" : "ord0.log");
        e2e_child ch = ordered ? start(false, log, "-j", "4", "--ordered", "--report", rep, in, out, NULL)
                            : start(false, log, "-j", "4", "--report", rep, in, out, NULL);
        CHECK(wait_exit(&ch, 120, NULL) == 0, "%s: exit 0", ordered ? "--ordered" : "unordered");
        static rec v[ORD_SMALL + 8];
        int n = read_recs(rep, v, ORD_SMALL + 8);
        CHECK(n == ORD_SMALL + 1, "every image has its record (%d of %d)", n, ORD_SMALL + 1);
        for (int i = 0; i < n; i++)
            CHECK(!strcmp(v[i].status, "ok"), "%s: ok, got %s", v[i].src, v[i].status);
        if (ordered) {
            CHECK(ids_in_order(v, n), "--ordered: ids 1..N in order");
            CHECK(n > 0 && !strcmp(v[0].src, "a-big.jpg"), "--ordered: the big image's record first");
        } else {
            CHECK(!ids_in_order(v, n), "without --ordered the records come as tasks finish");
        }
    }
    /* Again with a source gone and --prune: the skipped records in order,
     * the pruned one after everything. */
    char out[300], rep[300], log[300];
    path_in(out, sizeof out, "ord-out1");
    path_in(rep, sizeof rep, "ord2.jsonl");
    path_in(log, sizeof log, "ord2.log");
    pathf(p, sizeof p, "%s/b020.jpg", in);
    CHECK(unlink(p) == 0, "unlink %s", p);
    e2e_child ch = start(false, log, "-j", "4", "--ordered", "--prune", "--report", rep, in, out, NULL);
    CHECK(wait_exit(&ch, 60, NULL) == 0, "--prune: exit 0");
    static rec v[ORD_SMALL + 8];
    int n = read_recs(rep, v, ORD_SMALL + 8);
    CHECK(n == ORD_SMALL + 1 && ids_in_order(v, n), "--prune: ids 1..%d in order", ORD_SMALL + 1);
    for (int i = 0; i + 1 < n; i++)
        CHECK(!strcmp(v[i].status, "skipped"), "%s: skipped, got %s", v[i].src, v[i].status);
    CHECK(n > 0 && !strcmp(v[n - 1].status, "pruned"), "the pruned record last");
    end_checks();
}

/* The window holds the scan back: with the first image's read blocked, the
 * scan stops WINDOW ids after it and nothing is written; a SIGTERM then
 * writes every held record, in id order. */
static void test_ordered_window_and_stop(void **state)
{
    (void)state;
    begin_checks();
    char in[300], out[300], rep[300], log[300], p[400];
    path_in(in, sizeof in, "win-in");
    path_in(out, sizeof out, "win-out");
    path_in(rep, sizeof rep, "win.jsonl");
    path_in(log, sizeof log, "win.log");
    mkdir(in, 0755);
    pathf(p, sizeof p, "%s/a-blocking.jpg", in);
    noise_jpeg(p, 64, 48, 1);
    for (int i = 0; i < ORD_SMALL; i++) {
        pathf(p, sizeof p, "%s/b%03d.jpg", in, i);
        noise_jpeg(p, 64, 48, (unsigned)i + 2);
    }
    /* window: 4 x (queue 2 + 2 workers) = 16 ids */
    e2e_child ch = start(true, log, "-j", "2", "--queue", "2", "--ordered", "--shutdown-timeout", "0.3",
                      "--report", rep, in, out, NULL);
    usleep(1500 * 1000);
    /* ids 2..16 done, held behind id 1; id 17 waits in the scanner */
    CHECK(count_thumbs(out) == 15, "the window holds the scan: 15 thumbnails, got %d", count_thumbs(out));
    CHECK(file_size(rep) == 0, "no record before id 1's, got %lld bytes", file_size(rep));
    kill(ch.pid, SIGTERM);
    double el;
    CHECK(wait_exit(&ch, 20, &el) == 128 + SIGTERM, "exit 143");
    CHECK(el < 0.3 + 1.0 + 2.0, "stopped within the shutdown timeout and grace, took %.1f s", el);
    static rec v[ORD_SMALL + 8];
    int n = read_recs(rep, v, ORD_SMALL + 8);
    CHECK(n == 17, "ids 1..17 recorded, got %d records", n);
    CHECK(ids_in_order(v, n), "ids in order");
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += !strcmp(v[i].status, "ok");
    CHECK(ok == 15 && ok == count_thumbs(out), "15 ok records and thumbnails, got %d", ok);
    CHECK(n > 0 && !strcmp(v[0].src, "a-blocking.jpg") && !strcmp(v[0].status, "cancelled"),
          "the blocked task first, cancelled");
    CHECK(n == 17 && strstr(v[16].error, "not started"), "id 17: not started");
    end_checks();
}

enum { DRAIN_N = 60 };

/* Counts the records by outcome: ok, not started, cancelled while running
 * (allowed only when may_cut); fails checks on any other. */
static void tally(const rec *v, int n, bool may_cut, int *ok, int *not_started)
{
    *ok = *not_started = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(v[i].status, "ok"))
            (*ok)++;
        else if (!strcmp(v[i].status, "cancelled") && strstr(v[i].error, "not started"))
            (*not_started)++;
        else if (!may_cut || strcmp(v[i].status, "cancelled"))
            fail_check("%s: %s %s", v[i].src, v[i].status, v[i].error);
    }
}

/* -j 1 behind a queue of 4, SIGTERM mid-run: with --on-stop drain the
 * queued tasks run ("ok"), and only the one the scanner held is not
 * started; with the default, the queue is cancelled. The rest of the tree
 * is never scanned: no record. A --deadline drains too; a shutdown timeout
 * shorter than the queue's work cancels what is left of it. */
static void test_drain_runs_the_queue(void **state)
{
    (void)state;
    begin_checks();
    char in[300], p[400];
    path_in(in, sizeof in, "drain-in");
    mkdir(in, 0755);
    for (int i = 0; i < DRAIN_N; i++) {
        pathf(p, sizeof p, "%s/img%03d.jpg", in, i);
        noise_jpeg(p, 1600, 1200, (unsigned)i + 100);
    }
    const char *modes[] = {"drain", "cancel", "drain-deadline", "drain-timeout"};
    for (int m = 0; m < 4; m++) {
        char out[300], rep[300], log[300];
        pathf(out, sizeof out, "%s/drain-out-%s", e2e_root, modes[m]);
        pathf(rep, sizeof rep, "%s/drain-%s.jsonl", e2e_root, modes[m]);
        pathf(log, sizeof log, "%s/drain-%s.log", e2e_root, modes[m]);
        bool deadline = m == 2;
        /* -j 1 --queue 4, the mode, and how the run stops */
        char *args[] = {"-j", "1", "--queue", "4", "--on-stop", m == 1 ? "cancel" : "drain",
                        deadline ? "--deadline" : "--shutdown-timeout",
                        deadline ? "0.4" : m == 3 ? "0.02" : "10"};
        e2e_child ch = start(false, log, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                          args[7], "--report", rep, in, out, NULL);
        if (!deadline) {
            usleep(400 * 1000);
            kill(ch.pid, SIGTERM);
        }
        int code = wait_exit(&ch, 60, NULL);
        CHECK(code == (deadline ? 124 : 128 + SIGTERM), "%s: exit %d", modes[m], code);
        static rec v[DRAIN_N + 8];
        int n = read_recs(rep, v, DRAIN_N + 8), ok, not_started;
        tally(v, n, m == 3, &ok, &not_started);
        CHECK(n < DRAIN_N, "%s: stopped mid-run (%d records)", modes[m], n);
        CHECK(ok == count_thumbs(out), "%s: %d ok records, %d thumbnails", modes[m], ok, count_thumbs(out));
        if (m == 1 || m == 3)
            CHECK(not_started >= 4, "%s: the queue (4) not started, got %d", modes[m], not_started);
        else
            CHECK(not_started <= 1, "%s: only the scanner's task not started, got %d", modes[m],
                  not_started);
    }
    end_checks();
}

/* The shutdown timeout still bounds a drain: a worker stuck in a read
 * cannot run the queue; after --shutdown-timeout the queue is cancelled
 * and the stuck task abandoned one grace second later. */
static void test_drain_bounded_by_shutdown_timeout(void **state)
{
    (void)state;
    begin_checks();
    char in[300], out[300], rep[300], log[300], p[400];
    path_in(in, sizeof in, "dblk-in");
    path_in(out, sizeof out, "dblk-out");
    path_in(rep, sizeof rep, "dblk.jsonl");
    path_in(log, sizeof log, "dblk.log");
    mkdir(in, 0755);
    pathf(p, sizeof p, "%s/a-blocking.jpg", in);
    noise_jpeg(p, 64, 48, 1);
    for (int i = 0; i < 8; i++) {
        pathf(p, sizeof p, "%s/b%d.jpg", in, i);
        noise_jpeg(p, 64, 48, (unsigned)i + 2);
    }
    e2e_child ch = start(true, log, "-j", "1", "--queue", "2", "--on-stop", "drain", "--shutdown-timeout",
                      "0.5", "--report", rep, in, out, NULL);
    usleep(300 * 1000);
    kill(ch.pid, SIGTERM);
    double el;
    CHECK(wait_exit(&ch, 20, &el) == 128 + SIGTERM, "exit 143");
    CHECK(el > 0.5 && el < 0.5 + 1.0 + 2.0, "ended after the shutdown timeout and grace: %.1f s", el);
    static rec v[16];
    int n = read_recs(rep, v, 16), blocked = 0, not_started = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(v[i].src, "a-blocking.jpg"))
            blocked += !strcmp(v[i].status, "cancelled") && strstr(v[i].error, "abandoned");
        else
            not_started += !strcmp(v[i].status, "cancelled") && strstr(v[i].error, "not started");
    }
    CHECK(blocked == 1, "the stuck task is cancelled and abandoned");
    CHECK(n == 4 && not_started == 3, "the queue (2) and the scanner's task not started: %d of %d",
          not_started, n);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordered_report_in_id_order),
        cmocka_unit_test(test_ordered_window_and_stop),
        cmocka_unit_test(test_drain_runs_the_queue),
        cmocka_unit_test(test_drain_bounded_by_shutdown_timeout),
    };
    const e2e_prog p = {.name = "stopmodes", .args = {&shim_lib}, .usage = "BLOCK_SHIM"};
    return e2e_main_ex(argc, argv, &p, tests, sizeof tests / sizeof tests[0]);
}
