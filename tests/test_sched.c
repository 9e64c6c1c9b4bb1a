/* End-to-end tests of scheduling: --order, urgent '!' entries of
 * --files-from, retries of transient failures (and none for a corrupt
 * file), cancellation during a retry's backoff, --max-rate, and the
 * adaptive worker count.
 *
 *   test_sched THUMBD_BIN FLAKY_SHIM
 *
 * Every test runs the real binary on small JPEGs written here, in a fresh
 * directory under $TMPDIR (or /tmp); THUMBD_SCHED_KEEP=1 keeps it. The shim
 * (tests/flaky_shim.c) makes a file named *flaky* look changed while read,
 * the first FLAKY_FAILS times. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static const char *g_bin, *g_shim;
static char g_root[512];
static int g_case;

/* ---- files ---- */

typedef struct fill { uint32_t s; int h; } fill;

static void fill_row(uint8_t *row, int w, int y, void *ctx)
{
    fill *f = ctx;
    for (int x = 0; x < 3 * w; x++) {
        f->s = f->s * 1103515245u + 12345u;
        row[x] = (uint8_t)((x + y * 3) ^ (f->s >> 24));
    }
}

/* A fresh case directory with an empty in/; dir gets its path. */
static void new_case(char *dir, size_t n)
{
    pathf(dir, n, "%s/case%d", g_root, ++g_case);
    char in[600];
    pathf(in, sizeof in, "%s/in", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(in, 0755), 0);
}

/* new_case, and the paths a run of it uses: dir[600]; in, out and (unless
 * NULL) rep, the report, [700] each. */
static void new_case_paths(char *dir, char *in, char *out, char *rep)
{
    new_case(dir, 600);
    pathf(in, 700, "%s/in", dir);
    pathf(out, 700, "%s/out", dir);
    if (rep)
        pathf(rep, 700, "%s/report.jsonl", dir);
}

/* in/NAME: a w x w JPEG with mtime `mtime` (seconds since the epoch). */
static void put_jpeg(const char *dir, const char *name, int w, time_t mtime)
{
    char p[700];
    pathf(p, sizeof p, "%s/in/%s", dir, name);
    fill f = {(uint32_t)w * 7919u + (uint32_t)strlen(name), w};
    assert_int_equal(write_rgb_jpeg(p, w, w, 90, fill_row, &f), 0);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* in/f000.jpg ... : count w x w JPEGs with one mtime. */
static void put_jpegs(const char *dir, int count, int w)
{
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%03d.jpg", i);
        put_jpeg(dir, name, w, 1600000000);
    }
}

/* ---- running thumbd ---- */

/* Starts thumbd with args (NULL-terminated), stdout+stderr to DIR/log,
 * stdin from `stdin_path` if not NULL, LD_PRELOAD=shim if `shim`, and
 * FLAKY_FAILS=fails if fails >= 0; no THUMBD_* from the caller. */
static e2e_child spawn(const char *dir, bool shim, int fails, const char *stdin_path,
                       const char *const *args)
{
    char log[700], flaky[32];
    pathf(log, sizeof log, "%s/log", dir);
    pathf(flaky, sizeof flaky, "FLAKY_FAILS=%d", fails);
    const char *env[3];
    int ne = 0;
    if (shim) /* the shim counts attempts in the decoding process: one process */
        env[ne++] = "THUMBD_ISOLATION=thread";
    if (fails >= 0)
        env[ne++] = flaky;
    env[ne] = NULL;
    e2e_cmd c = {.bin = g_bin, .args = args, .in = stdin_path, .out = log,
                 .unset = (const char *const[]){"THUMBD_", NULL}, .env = env,
                 .preload = shim ? g_shim : NULL};
    e2e_child ch;
    assert_true(e2e_start(&c, &ch));
    return ch;
}

/* Waits until secs after t0 for the child; returns its exit code (128+N for
 * signal N) and the time since t0 in *elapsed. Fails the test on timeout. */
static int wait_exit(e2e_child *ch, double secs, double t0, double *elapsed)
{
    ch->t0 = t0;
    e2e_proc p = e2e_wait(ch, secs, 2);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.0f s", secs);
    if (elapsed)
        *elapsed = now_s() - t0;
    return p.code;
}

static int run(const char *dir, bool shim, int fails, const char *const *args, double *elapsed)
{
    double t0 = now_s();
    e2e_child ch = spawn(dir, shim, fails, NULL, args);
    return wait_exit(&ch, 120, t0, elapsed);
}

/* ---- the report ---- */

/* A record's fields the tests read (error "" when null; worker -2 when
 * absent or null). */
typedef struct rec {
    char src[256], status[16], error[256];
    int attempts, worker, deferrals;
} rec;

typedef struct report { rec *v; int n; } report;

/* DIR/report.jsonl (e2e_report), every record with string src and status
 * and numeric attempts and deferrals. */
static void load_report(const char *dir, report *r)
{
    char p[700];
    pathf(p, sizeof p, "%s/report.jsonl", dir);
    e2e_report j;
    e2e_report_must_load(p, &j);
    r->n = j.n;
    r->v = calloc((size_t)j.n + 1, sizeof *r->v);
    assert_non_null(r->v);
    for (int i = 0; i < j.n; i++) {
        const e2e_jrec *x = &j.v[i];
        rec *y = &r->v[i];
        assert_true(e2e_str(x, "src") && e2e_str(x, "status"));
        if (isnan(e2e_num(x, "attempts")) || isnan(e2e_num(x, "deferrals")))
            fail_msg("%s: a record without a numeric \"attempts\" or \"deferrals\"",
                     e2e_str(x, "src"));
        snprintf(y->src, sizeof y->src, "%s", e2e_str(x, "src"));
        snprintf(y->status, sizeof y->status, "%s", e2e_str(x, "status"));
        snprintf(y->error, sizeof y->error, "%s", e2e_str_or(x, "error", ""));
        y->attempts = (int)e2e_num(x, "attempts");
        y->worker = isnan(e2e_num(x, "worker")) ? -2 : (int)e2e_num(x, "worker");
        y->deferrals = (int)e2e_num(x, "deferrals");
    }
    e2e_report_free(&j);
}

static const rec *find(const report *r, const char *src)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].src, src))
            return &r->v[i];
    return NULL;
}

/* DIR/log, NUL-terminated (the caller frees). */
static char *read_log(const char *dir)
{
    char p[700];
    pathf(p, sizeof p, "%s/log", dir);
    char *s = e2e_slurp(p, NULL);
    assert_non_null(s);
    return s;
}

static bool log_has(const char *dir, const char *needle)
{
    char p[700];
    pathf(p, sizeof p, "%s/log", dir);
    return e2e_file_has(p, needle);
}

/* The report's sources, in report order, joined with spaces. */
static void order_of(const report *r, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < r->n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? " " : "", r->v[i].src);
    }
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs thumbd with args in dir's case; checks that it exits 0 and that the
 * report lists the sources in the order want (what: names the run). */
static void expect_order(const char *dir, const char *const *args, const char *what, const char *want)
{
    char got[1024];
    int code = run(dir, false, -1, args, NULL);
    CHECK(code == 0, "%s: exit %d", what, code);
    report r;
    load_report(dir, &r);
    order_of(&r, got, sizeof got);
    CHECK(!strcmp(got, want), "%s: %s", what, got);
    free(r.v);
}

/* ---- tests ---- */

/* --order newest with one worker: the report lists the files newest first,
 * whatever their names; --order oldest the other way round; --order
 * largest by bytes. */
static void test_order_newest_oldest_largest(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700];
    new_case_paths(dir, in, out, rep);
    put_jpeg(dir, "a.jpg", 40, 1600000300);
    put_jpeg(dir, "b.jpg", 64, 1600000100);
    put_jpeg(dir, "c.jpg", 24, 1600000500);
    assert_int_equal(mkdir(strcat(strcpy((char[800]){0}, in), "/sub"), 0755), 0);
    put_jpeg(dir, "sub/d.jpg", 96, 1600000400);
    put_jpeg(dir, "sub/e.jpg", 32, 1600000200);
    begin_checks();
    expect_order(dir, ARGS("-j", "1", "--order", "newest", "-r", rep, in, out), "--order newest",
                 "c.jpg sub/d.jpg a.jpg sub/e.jpg b.jpg");

    expect_order(dir, ARGS("-j", "1", "--force", "--order", "oldest", "-r", rep, in, out), "--order oldest",
                 "b.jpg sub/e.jpg a.jpg sub/d.jpg c.jpg");

    expect_order(dir, ARGS("-j", "1", "--force", "--order", "largest", "-r", rep, in, out), "--order largest",
                 "sub/d.jpg b.jpg a.jpg sub/e.jpg c.jpg");

    /* The default streams in path order. */
    expect_order(dir, ARGS("-j", "1", "--force", "-r", rep, in, out), "--order path",
                 "a.jpg b.jpg c.jpg sub/d.jpg sub/e.jpg");
    end_checks();
}

/* '!' lines of a --files-from list go first, in list order (or by --order
 * among themselves); "./!x" is a file named "!x". */
static void test_urgent_lines_first(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700], list[700];
    new_case_paths(dir, in, out, rep);
    pathf(list, sizeof list, "%s/list", dir);
    put_jpeg(dir, "a.jpg", 32, 1600000100);
    put_jpeg(dir, "b.jpg", 32, 1600000200);
    put_jpeg(dir, "c.jpg", 32, 1600000300);
    put_jpeg(dir, "d.jpg", 32, 1600000400);
    put_jpeg(dir, "!x.jpg", 32, 1600000500);
    static const char text[] = "b.jpg\n!c.jpg\na.jpg\n./!x.jpg\n!./a.jpg\n!d.jpg\n";
    write_file(list, text, sizeof text - 1);
    begin_checks();
    /* a.jpg is listed twice (once urgent): both records, the urgent one first. */
    expect_order(dir, ARGS("-j", "1", "--files-from", list, "-r", rep, in, out), "list order",
                 "c.jpg a.jpg d.jpg b.jpg a.jpg !x.jpg");
    expect_order(dir, ARGS("-j", "1", "--force", "--order", "oldest", "--files-from", list, "-r", rep, in, out),
                 "urgent, then oldest", "a.jpg c.jpg d.jpg a.jpg b.jpg !x.jpg");
    end_checks();
}

/* A file that changes while read once is retried and done; its record says
 * 2 attempts. Others take 1. A corrupt file is reported once, 1 attempt. */
static void test_transient_retried_corrupt_not(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700], p[800];
    new_case_paths(dir, in, out, rep);
    put_jpeg(dir, "flaky.jpg", 64, 1600000000);
    put_jpeg(dir, "good.jpg", 64, 1600000000);
    put_jpeg(dir, "corrupt.jpg", 256, 1600000000);
    pathf(p, sizeof p, "%s/corrupt.jpg", in);
    assert_int_equal(truncate(p, file_size(p) / 3), 0); /* a truncated JPEG */
    begin_checks();
    double t;
    int code = run(dir, true, 1, ARGS("-j", "2", "--retry-backoff", "0.05", "-r", rep, in, out), &t);
    CHECK(code == 1, "exit %d, want 1 (the corrupt file)", code);
    report r;
    load_report(dir, &r);
    CHECK(r.n == 3, "%d records, want 3 (one per file)", r.n);
    const rec *f = find(&r, "flaky.jpg"), *g = find(&r, "good.jpg"), *c = find(&r, "corrupt.jpg");
    CHECK(f && !strcmp(f->status, "ok"), "flaky.jpg: %s %s", f ? f->status : "no record", f ? f->error : "");
    CHECK(f && f->attempts == 2, "flaky.jpg: %d attempts, want 2", f ? f->attempts : -1);
    CHECK(g && !strcmp(g->status, "ok") && g->attempts == 1, "good.jpg: %s, %d attempts",
          g ? g->status : "no record", g ? g->attempts : -1);
    CHECK(c && !strcmp(c->status, "failed"), "corrupt.jpg: %s", c ? c->status : "no record");
    CHECK(c && c->attempts == 1, "corrupt.jpg: %d attempts, want 1", c ? c->attempts : -1);
    CHECK(c && strstr(c->error, "truncated"), "corrupt.jpg: error '%s'", c ? c->error : "");
    pathf(p, sizeof p, "%s/flaky.jpg", out);
    CHECK(file_size(p) > 0, "no thumbnail for flaky.jpg");
    free(r.v);

    /* Always changing: 1 + --retries attempts, then a failure that says so. */
    code = run(dir, true, 100, ARGS("-j", "2", "--force", "--retries", "2", "--retry-backoff", "0.02",
                                    "-r", rep, in, out), &t);
    CHECK(code == 1, "exit %d, want 1", code);
    load_report(dir, &r);
    f = find(&r, "flaky.jpg");
    CHECK(f && !strcmp(f->status, "failed") && f->attempts == 3, "flaky.jpg always changing: %s, %d attempts",
          f ? f->status : "no record", f ? f->attempts : -1);
    CHECK(f && strstr(f->error, "changed") && strstr(f->error, "3 attempts"), "flaky.jpg: error '%s'",
          f ? f->error : "");
    free(r.v);

    /* --retries 0: the first failure is final. */
    code = run(dir, true, 1, ARGS("-j", "2", "--force", "--retries", "0", "-r", rep, in, out), &t);
    load_report(dir, &r);
    f = find(&r, "flaky.jpg");
    CHECK(code == 1 && f && !strcmp(f->status, "failed") && f->attempts == 1,
          "--retries 0: exit %d, flaky.jpg %s, %d attempts", code, f ? f->status : "no record",
          f ? f->attempts : -1);
    free(r.v);
    end_checks();
}

/* A memory budget too small for any two tasks at once (--max-memory 1):
 * with 2 workers, a task that finds the budget in use is given back while
 * others are ready, not run twice (attempts 1), at most 20 times; every
 * image is made. With one worker, or no budget, nothing is given back. */
static void test_memory_budget_defers(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700], p[800];
    new_case_paths(dir, in, out, rep);
    enum { N = 24 };
    put_jpegs(dir, N, 640);
    begin_checks();
    static const char *const modes[][4] = {
        {"-j", "2", "--max-memory", "1"}, {"-j", "1", "--max-memory", "1"}, {"-j", "2", "--max-memory", "0"}};
    for (int m = 0; m < 3; m++) {
        double t;
        int code = run(dir, false, -1,
                       ARGS(modes[m][0], modes[m][1], modes[m][2], modes[m][3], "--force", "-r", rep, in, out), &t);
        CHECK(code == 0, "%s %s %s %s: exit %d", modes[m][0], modes[m][1], modes[m][2], modes[m][3], code);
        report r;
        load_report(dir, &r);
        CHECK(r.n == N, "%d records, want %d", r.n, N);
        int deferrals = 0;
        for (int i = 0; i < r.n; i++) {
            const rec *x = &r.v[i];
            CHECK(!strcmp(x->status, "ok") && x->attempts == 1 && x->deferrals >= 0 && x->deferrals <= 20,
                  "%s: %s, %d attempts, %d deferrals", x->src, x->status, x->attempts, x->deferrals);
            pathf(p, sizeof p, "%s/%s", out, x->src);
            CHECK(file_size(p) > 0, "no thumbnail for %s", x->src);
            deferrals += x->deferrals;
        }
        if (m == 0)
            CHECK(deferrals > 0, "-j 2 --max-memory 1: no task was given back (%d)", deferrals);
        else
            CHECK(deferrals == 0, "%s %s %s %s: %d deferrals, want none", modes[m][0], modes[m][1],
                  modes[m][2], modes[m][3], deferrals);
        free(r.v);
    }

    /* SIGTERM while tasks come and go from the budget: one record for each
     * image found (the walk stops too: the rest were never found), and one
     * that never ran to the end says "not started", with no attempt. */
    new_case_paths(dir, in, out, rep);
    enum { M = 32 };
    put_jpegs(dir, M, 1200);
    double t0 = now_s();
    e2e_child ch =
        spawn(dir, false, -1, NULL, ARGS("-j", "2", "--max-memory", "1", "-r", rep, in, out));
    pathf(p, sizeof p, "%s/f000.jpg", out);
    while (file_size(p) <= 0 && now_s() - t0 < 20)
        usleep(2000);
    usleep(20000);
    kill(ch.pid, SIGTERM);
    double took;
    int code = wait_exit(&ch, 30, now_s(), &took);
    CHECK(code == 143 || code == 0, "exit %d after SIGTERM, want 143 (or 0: it had finished)", code);
    report r;
    load_report(dir, &r);
    CHECK(r.n > 0 && r.n <= M, "%d records after SIGTERM, want 1 to %d", r.n, M);
    int cancelled = 0;
    for (int i = 0; i < r.n; i++) {
        const rec *x = &r.v[i];
        for (int k = 0; k < i; k++)
            CHECK(strcmp(r.v[k].src, x->src), "two records for %s", x->src);
        bool ok = !strcmp(x->status, "ok") && x->attempts == 1;
        bool not_started = !strcmp(x->status, "cancelled") && x->attempts == 0 &&
                           !strncmp(x->error, "not started", 11);
        CHECK(ok || not_started, "%s after SIGTERM: %s, %d attempts, '%s'", x->src, x->status, x->attempts,
              x->error);
        cancelled += not_started;
    }
    printf("  SIGTERM: %d records, %d of them not started\n", r.n, cancelled);
    free(r.v);
    end_checks();
}

/* SIGTERM while a task waits out a long backoff: it is settled at once as
 * cancelled, its record keeps the failed attempt, and thumbd exits 143
 * without waiting for the backoff. */
static void test_cancel_during_backoff(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700];
    new_case_paths(dir, in, out, rep);
    put_jpeg(dir, "flaky.jpg", 64, 1600000000);
    put_jpeg(dir, "good.jpg", 64, 1600000000);
    begin_checks();
    double t0 = now_s();
    e2e_child ch =
        spawn(dir, true, 100, NULL, ARGS("-j", "2", "--retry-backoff", "60", "-r", rep, in, out));
    /* good.jpg's record shows the run got going; flaky.jpg failed by then
     * or soon after: give it a moment. */
    char p[800];
    pathf(p, sizeof p, "%s/good.jpg", out);
    while (file_size(p) <= 0 && now_s() - t0 < 20)
        usleep(5000);
    usleep(300000);
    double t1 = now_s();
    kill(ch.pid, SIGTERM);
    double took;
    int code = wait_exit(&ch, 30, t1, &took);
    CHECK(code == 143, "exit %d, want 143", code);
    CHECK(took < 5, "exit %.1f s after SIGTERM, with a 30-60 s backoff pending", took);
    report r;
    load_report(dir, &r);
    const rec *f = find(&r, "flaky.jpg");
    CHECK(f && !strcmp(f->status, "cancelled") && f->attempts == 1, "flaky.jpg: %s, %d attempts",
          f ? f->status : "no record", f ? f->attempts : -1);
    CHECK(f && strstr(f->error, "not retried") && strstr(f->error, "changed"), "flaky.jpg: error '%s'",
          f ? f->error : "");
    free(r.v);
    end_checks();
}

/* --max-rate 20 over 100 files with 2 workers: a burst of 2, then 20 a
 * second, about 4.9 s. Checked loosely: between 2.5 s and 10 s. */
static void test_max_rate(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700];
    new_case_paths(dir, in, out, rep);
    put_jpegs(dir, 100, 16);
    begin_checks();
    double t;
    int code = run(dir, false, -1, ARGS("-j", "2", "--max-rate", "20", "-r", rep, in, out), &t);
    printf("  --max-rate 20, 100 files: %.2f s\n", t);
    CHECK(code == 0, "exit %d", code);
    CHECK(t >= 2.5 && t <= 10, "took %.2f s, want about 4.9 s", t);
    report r;
    load_report(dir, &r);
    CHECK(r.n == 100, "%d records", r.n);
    free(r.v);
    /* Without the limit the same files take well under that. */
    code = run(dir, false, -1, ARGS("-j", "2", "--force", "-r", rep, in, out), &t);
    CHECK(code == 0 && t < 2.5, "no limit: exit %d after %.2f s", code, t);
    end_checks();
}

/* -j MIN:MAX runs with an adaptive pool, stays in its range, and the summary
 * shows the worker count over time. */
static void test_adaptive_workers(void **state)
{
    (void)state;
    char dir[600], in[700], out[700], rep[700];
    new_case_paths(dir, in, out, rep);
    put_jpegs(dir, 60, 400);
    begin_checks();
    int code = run(dir, false, -1, ARGS("-j", "1:3", "-r", rep, in, out), NULL);
    CHECK(code == 0, "exit %d", code);
    /* "thumbd: workers (1:3) over time: 3 at 0.0 s, 2 at 0.9 s": it starts at
     * twice the CPU count (within the range); every step stays in the range. */
    char *log = read_log(dir);
    const char *h = strstr(log, "thumbd: workers (1:3) over time: ");
    CHECK(h != NULL, "no worker history in the summary:\n%s", log);
    int steps = 0;
    for (const char *p = h ? h + 33 : NULL; p && *p && *p != '\n'; steps++) {
        int n;
        double t;
        int used;
        if (sscanf(p, "%d at %lf s%n", &n, &t, &used) != 2) {
            fail_check("cannot read the history at '%.40s'", p);
            break;
        }
        CHECK(n >= 1 && n <= 3 && t >= 0, "a step to %d workers at %.1f s", n, t);
        CHECK(steps > 0 || t == 0, "the first step is at %.1f s, not 0.0", t);
        p += used;
        if (*p == ',')
            p += 2;
    }
    CHECK(steps >= 1, "an empty history");
    free(log);
    report r;
    load_report(dir, &r);
    CHECK(r.n == 60, "%d records", r.n);
    for (int i = 0; i < r.n; i++)
        CHECK(!strcmp(r.v[i].status, "ok") && r.v[i].attempts == 1, "%s: %s", r.v[i].src, r.v[i].status);
    free(r.v);
    /* A fixed count prints no history. */
    code = run(dir, false, -1, ARGS("-j", "2", "--force", in, out), NULL);
    CHECK(code == 0 && !log_has(dir, "over time"), "fixed -j 2: exit %d, or a history", code);
    end_checks();
}

/* The nice value of thread tid in task_dir (/proc/PID/task), or INT_MIN if
 * it is gone. */
static int thread_nice(const char *task_dir, const char *tid)
{
    char p[400], buf[1024];
    snprintf(p, sizeof p, "%s/%s/stat", task_dir, tid);
    FILE *f = fopen(p, "r");
    if (!f)
        return INT_MIN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the name may hold spaces */
    int nice;
    /* after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice */
    if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %d",
                      &nice) != 1)
        return INT_MIN;
    return nice;
}

/* --nice: the running process (every thread) has nice 10 at least. Seen
 * from /proc while a --max-rate keeps it busy for a second or so, once its
 * main thread is niced (it lowers its priority before it starts any
 * thread: just after exec it is still at 0). */
static void test_nice(void **state)
{
    (void)state;
    char dir[600], in[700], out[700];
    new_case_paths(dir, in, out, NULL);
    put_jpegs(dir, 12, 16);
    begin_checks();
    double t0 = now_s();
    e2e_child ch =
        spawn(dir, false, -1, NULL, ARGS("-j", "2", "--nice", "--max-rate", "8", in, out));
    pid_t pid = ch.pid;
    int seen = 0, low = 0, code = -1;
    e2e_proc ended;
    while (now_s() - t0 < 5) {
        if (e2e_poll(&ch, &ended)) {
            code = ended.code;
            break;
        }
        /* Only once the main thread is niced: before that thumbd has not
         * got to --nice (exec, a sanitizer runtime's start-up, main()), and
         * a TSan build under load was seen there with more than one thread. */
        char task_dir[64], main_tid[16];
        snprintf(task_dir, sizeof task_dir, "/proc/%d/task", (int)pid);
        snprintf(main_tid, sizeof main_tid, "%d", (int)pid);
        int main_nice = thread_nice(task_dir, main_tid);
        DIR *d = main_nice >= 10 ? opendir(task_dir) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
            int nice = de->d_name[0] == '.' ? INT_MIN : thread_nice(task_dir, de->d_name);
            if (nice == INT_MIN)
                continue;
            seen++;
            if (nice < 10) {
                low++;
                printf("  thread %s: nice %d\n", de->d_name, nice);
            }
        }
        if (d)
            closedir(d);
        usleep(100000);
    }
    if (code < 0)
        code = wait_exit(&ch, 30, t0, NULL);
    CHECK(code == 0, "exit %d", code);
    CHECK(seen > 0, "never saw the process's threads");
    CHECK(low == 0, "%d of %d thread samples had nice < 10", low, seen);
    end_checks();
}

static void remove_tree(const char *p)
{
    rm_tree(p);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s THUMBD_BIN FLAKY_SHIM\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_shim = argv[2];
    if (access(g_bin, X_OK) != 0 || access(g_shim, R_OK) != 0) { /* a missing shim would pass silently */
        fprintf(stderr, "test_sched: cannot use %s or %s\n", g_bin, g_shim);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    pathf(g_root, sizeof g_root, "%s/thumbd-sched-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_newest_oldest_largest),
        cmocka_unit_test(test_urgent_lines_first),
        cmocka_unit_test(test_transient_retried_corrupt_not),
        cmocka_unit_test(test_memory_budget_defers),
        cmocka_unit_test(test_cancel_during_backoff),
        cmocka_unit_test(test_max_rate),
        cmocka_unit_test(test_adaptive_workers),
        cmocka_unit_test(test_nice),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    keep_or_remove("THUMBD_SCHED_KEEP", g_root, remove_tree);
    return rc;
}
