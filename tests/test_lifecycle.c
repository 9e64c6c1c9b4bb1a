/* End-to-end lifecycle tests: the real binary under task timeouts, run
 * deadlines, SIGTERM, SIGKILL and inputs that block forever.
 * argv[1]: the thumbd binary; argv[2]: the blocking-read LD_PRELOAD shim. */
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
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "e2e_util.h"

static const char *shim_lib;

static void make_tree(const char *dir, int n, int w, int h)
{
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        char p[512];
        pathf(p, sizeof p, "%s/img%03d.jpg", dir, i);
        (void)e2e_noise_jpeg(p, w, h, (unsigned)i);
    }
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Starts thumbd with args, stdout and stderr to log, through the blocking
 * shim when with_shim. */
static e2e_child start(bool with_shim, const char *log, const char *const *args)
{
    /* A read that never returns in a thread: the pool's abandon path (a
     * worker process is killed instead: test_isolation.c). */
    static const char *const thread_env[] = {"THUMBD_ISOLATION=thread", NULL};
    e2e_cmd c = {.bin = e2e_bin, .args = args, .out = log,
                 .preload = with_shim ? shim_lib : NULL, .env = with_shim ? thread_env : NULL};
    e2e_child ch;
    assert_true(e2e_start(&c, &ch));
    return ch;
}

/* Waits up to secs for an exit (not a death by signal) and returns its code
 * (and the time it took in *elapsed); fails on a timeout or a signal. */
static int wait_exit(e2e_child *ch, double secs, double *elapsed)
{
    e2e_proc p = e2e_wait(ch, secs, 5);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.1f s", secs);
    assert_int_equal(p.signo, 0);
    if (elapsed)
        *elapsed = p.wall_s;
    return p.code;
}

/* A complete JPEG ends with EOI. */
static bool jpeg_complete(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char head[3], tail[2];
    bool ok = fread(head, 1, 3, f) == 3 && head[0] == 0xFF && head[1] == 0xD8 &&
              fseek(f, -2, SEEK_END) == 0 && fread(tail, 1, 2, f) == 2 && tail[0] == 0xFF &&
              tail[1] == 0xD9;
    fclose(f);
    return ok;
}

/* Counts files under dir; temps counts thumbd's temporary files. */
static int count_files(const char *dir, int *temps)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
            continue;
        char p[512];
        pathf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (strcmp(de->d_name, ".thumbd.ledger") && strcmp(de->d_name, ".thumbd.memo"))
                n += count_files(p, temps); /* not thumbd's own bookkeeping */
        } else {
            if (!strncmp(de->d_name, ".thumbd-tmp-", 12))
                (*temps)++;
            else if (strcmp(de->d_name, ".thumbd.lock") && strcmp(de->d_name, ".thumbd.state"))
                n++; /* not thumbd's own bookkeeping */
        }
    }
    closedir(d);
    return n;
}

static char many_dir[300];
enum { MANY = 120 };

static int setup_all(void **state)
{
    (void)state;
    pathf(many_dir, sizeof many_dir, "%s/many", e2e_root);
    make_tree(many_dir, MANY, 1600, 1200);
    return 0;
}

static void test_task_timeout_cancels_big_image(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], log[300];
    pathf(in, sizeof in, "%s/tt-in", e2e_root);
    pathf(out, sizeof out, "%s/tt-out", e2e_root);
    pathf(rep, sizeof rep, "%s/tt.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/tt.log", e2e_root);
    mkdir(in, 0755);
    char p[400];
    pathf(p, sizeof p, "%s/big.jpg", in);
    (void)e2e_noise_jpeg(p, 8000, 6000, 7);
    pathf(p, sizeof p, "%s/small.jpg", in);
    (void)e2e_noise_jpeg(p, 32, 24, 8); /* tiny: done well within 50 ms even under TSan */

    double el;
    e2e_child ch =
        start(false, log, ARGS("-j", "2", "--task-timeout", "0.05", "--report", rep, in, out));
    assert_int_equal(wait_exit(&ch, 20, &el), 1); /* a timed-out task is a failure */
    e2e_report r;
    e2e_report_must_load(rep, &r);
    assert_int_equal(r.n, 2);
    const e2e_jrec *big = e2e_report_one(&r, "big.jpg"), *small = e2e_report_one(&r, "small.jpg");
    assert_non_null(big);
    assert_non_null(small);
    assert_string_equal(e2e_str(big, "status"), "cancelled");
    assert_non_null(strstr(e2e_str_or(big, "error", ""), "task timeout after 0.05 s"));
    assert_null(e2e_str(big, "out"));
    /* Prompt: stopped within 100 ms of its 50 ms budget (sanitizer builds
     * are slower; the bench measures the real figure). */
    assert_true(e2e_num(big, "total_ms") < 50 + 400);
    assert_string_equal(e2e_str(small, "status"), "ok");
    pathf(p, sizeof p, "%s/big.jpg", out);
    assert_int_equal(access(p, F_OK), -1);
    e2e_report_free(&r);
}

/* Each record's src is unique, its status ok or cancelled (with `reason`
 * in its error, when reason is not NULL); ok ones have a complete
 * thumbnail in out (when out is not NULL), cancelled ones none. */
static void check_ok_or_cancelled(const e2e_report *r, const char *out, const char *reason,
                                  int *ok, int *cancelled)
{
    *ok = *cancelled = 0;
    for (int i = 0; i < r->n; i++) {
        const char *src = e2e_str_or(&r->v[i], "src", "");
        e2e_report_one(r, src); /* asserts uniqueness */
        char p[600];
        pathf(p, sizeof p, "%s/%s", out ? out : "", src);
        if (e2e_is(&r->v[i], "ok")) {
            (*ok)++;
            assert_true(!out || jpeg_complete(p));
        } else {
            assert_string_equal(e2e_str_or(&r->v[i], "status", "null"), "cancelled");
            assert_true(!reason || strstr(e2e_str_or(&r->v[i], "error", ""), reason));
            assert_true(!out || access(p, F_OK) == -1);
            (*cancelled)++;
        }
    }
}

static void test_sigterm_stops_cleanly(void **state)
{
    (void)state;
    char out[300], rep[300], log[300];
    pathf(out, sizeof out, "%s/term-out", e2e_root);
    pathf(rep, sizeof rep, "%s/term.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/term.log", e2e_root);
    e2e_child ch = start(false, log, ARGS("-j", "2", "--shutdown-timeout", "2", "--report", rep, "--report-pending",
                                          many_dir, out));
    usleep(400 * 1000);
    kill(ch.pid, SIGTERM);
    double el;
    assert_int_equal(wait_exit(&ch, 10, &el), 128 + SIGTERM);
    assert_true(el < 2.0 + 1.0 + 0.4);

    e2e_report r;
    e2e_report_must_load(rep, &r);
    int ok, cancelled;
    check_ok_or_cancelled(&r, out, NULL, &ok, &cancelled);
    assert_true(ok > 0);
    assert_true(cancelled > 0); /* the queue held tasks not yet started */
    int temps = 0;
    assert_int_equal(count_files(out, &temps), ok);
    assert_int_equal(temps, 0);
    e2e_report_free(&r);
}

static void test_sigkill_then_rerun_completes(void **state)
{
    (void)state;
    char out[300], log[300];
    pathf(out, sizeof out, "%s/kill-out", e2e_root);
    pathf(log, sizeof log, "%s/kill.log", e2e_root);
    e2e_child ch = start(false, log, ARGS("-j", "2", many_dir, out));
    usleep(300 * 1000);
    kill(ch.pid, SIGKILL);
    assert_int_equal(e2e_wait(&ch, 5, 5).code, 128 + SIGKILL);
    /* Whatever is at a final name is complete. */
    DIR *d = opendir(out);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            char p[600];
            pathf(p, sizeof p, "%s/%s", out, de->d_name);
            assert_true(jpeg_complete(p));
        }
    closedir(d);

    ch = start(false, log, ARGS("-j", "2", many_dir, out));
    assert_int_equal(wait_exit(&ch, 60, NULL), 0);
    int temps = 0;
    assert_int_equal(count_files(out, &temps), MANY);
    assert_int_equal(temps, 0);
    for (int i = 0; i < MANY; i++) {
        char p[600];
        pathf(p, sizeof p, "%s/img%03d.jpg", out, i);
        assert_true(jpeg_complete(p));
    }
}

static void test_deadline_reports_everything(void **state)
{
    (void)state;
    char out[300], rep[300], log[300];
    pathf(out, sizeof out, "%s/dl-out", e2e_root);
    pathf(rep, sizeof rep, "%s/dl.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/dl.log", e2e_root);
    e2e_child ch =
        start(false, log, ARGS("-j", "2", "--deadline", "0.3", "--report", rep, "--report-pending", many_dir, out));
    assert_int_equal(wait_exit(&ch, 15, NULL), 124);
    e2e_report r;
    e2e_report_must_load(rep, &r);
    int ok, cancelled;
    check_ok_or_cancelled(&r, NULL, "run deadline", &ok, &cancelled);
    assert_true(ok > 0);
    assert_true(cancelled > 0);
    assert_int_equal(ok + cancelled, r.n);
    e2e_report_free(&r);
}

static void test_fifo_is_skipped(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], log[300], p[400];
    pathf(in, sizeof in, "%s/fifo-in", e2e_root);
    pathf(out, sizeof out, "%s/fifo-out", e2e_root);
    pathf(rep, sizeof rep, "%s/fifo.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/fifo.log", e2e_root);
    mkdir(in, 0755);
    pathf(p, sizeof p, "%s/pipe.jpg", in);
    assert_int_equal(mkfifo(p, 0644), 0);
    pathf(p, sizeof p, "%s/a.jpg", in);
    (void)e2e_noise_jpeg(p, 300, 200, 3);
    e2e_child ch = start(false, log, ARGS("--report", rep, in, out));
    assert_int_equal(wait_exit(&ch, 10, NULL), 0);
    e2e_report r;
    e2e_report_must_load(rep, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(e2e_str(&r.v[0], "src"), "a.jpg");
    e2e_report_free(&r);
}

/* The input of the blocked-read tests (each makes it, or finds it made):
 * blocking.jpg, which the shim never lets a read of return, and four fine
 * images. */
static void make_blk_in(char *in, size_t n)
{
    pathf(in, n, "%s/blk-in", e2e_root);
    if (mkdir(in, 0755) != 0) {
        assert_int_equal(errno, EEXIST);
        return;
    }
    char p[400];
    pathf(p, sizeof p, "%s/blocking.jpg", in);
    (void)e2e_noise_jpeg(p, 300, 200, 1);
    for (int i = 0; i < 4; i++) {
        pathf(p, sizeof p, "%s/fine%d.jpg", in, i);
        (void)e2e_noise_jpeg(p, 300, 200, (unsigned)i + 10);
    }
}

/* A read that never returns: the task is abandoned after its timeout plus
 * the grace period, reported, and the process still exits. */
static void test_blocked_read_cannot_hang_with_task_timeout(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], log[300], p[400];
    make_blk_in(in, sizeof in);
    pathf(out, sizeof out, "%s/blk-out", e2e_root);
    pathf(rep, sizeof rep, "%s/blk.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/blk.log", e2e_root);
    double el;
    e2e_child ch =
        start(true, log, ARGS("-j", "2", "--task-timeout", "0.3", "--report", rep, in, out));
    assert_int_equal(wait_exit(&ch, 15, &el), 1);
    assert_true(el < 0.3 + 1.0 + 2.0);
    e2e_report r;
    e2e_report_must_load(rep, &r);
    assert_int_equal(r.n, 5);
    const e2e_jrec *b = e2e_report_one(&r, "blocking.jpg");
    assert_non_null(b);
    assert_string_equal(e2e_str(b, "status"), "cancelled");
    assert_non_null(strstr(e2e_str_or(b, "error", ""), "abandoned"));
    for (int i = 0; i < 4; i++) {
        pathf(p, sizeof p, "fine%d.jpg", i);
        const e2e_jrec *x = e2e_report_one(&r, p);
        assert_non_null(x);
        assert_string_equal(e2e_str(x, "status"), "ok");
    }
    e2e_report_free(&r);
}

static void test_blocked_read_cannot_hang_shutdown(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], log[300];
    make_blk_in(in, sizeof in);
    pathf(out, sizeof out, "%s/blk2-out", e2e_root);
    pathf(rep, sizeof rep, "%s/blk2.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/blk2.log", e2e_root);
    e2e_child ch =
        start(true, log, ARGS("-j", "1", "--shutdown-timeout", "0.5", "--report", rep, "--report-pending", in, out));
    usleep(300 * 1000);
    kill(ch.pid, SIGTERM);
    double el;
    assert_int_equal(wait_exit(&ch, 15, &el), 128 + SIGTERM);
    assert_true(el < 0.5 + 1.0 + 2.0 + 0.3);
    e2e_report r;
    e2e_report_must_load(rep, &r);
    /* One worker is stuck on blocking.jpg: the queue (2 x workers) and the
     * scanner's pending submission were found and never started; the scan
     * stopped before the rest. Each found file has exactly one record. */
    assert_int_equal(r.n, 4);
    const e2e_jrec *b = e2e_report_one(&r, "blocking.jpg");
    assert_non_null(b);
    assert_string_equal(e2e_str(b, "status"), "cancelled");
    assert_non_null(strstr(e2e_str_or(b, "error", ""), "abandoned"));
    for (int i = 0; i < r.n; i++) {
        e2e_report_one(&r, e2e_str_or(&r.v[i], "src", ""));
        if (&r.v[i] != b) {
            assert_string_equal(e2e_str(&r.v[i], "status"), "cancelled");
            assert_non_null(strstr(e2e_str_or(&r.v[i], "error", ""), "not started: shutdown"));
        }
    }
    int temps = 0;
    count_files(out, &temps);
    assert_int_equal(temps, 0);
    e2e_report_free(&r);
}

/* A second signal does not wait for --shutdown-timeout: what is running is
 * cancelled at once (and, here, abandoned one grace second later). */
static void test_second_signal_cancels_now(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], log[300];
    make_blk_in(in, sizeof in);
    pathf(out, sizeof out, "%s/blk3-out", e2e_root);
    pathf(rep, sizeof rep, "%s/blk3.jsonl", e2e_root);
    pathf(log, sizeof log, "%s/blk3.log", e2e_root);
    e2e_child ch =
        start(true, log, ARGS("-j", "1", "--shutdown-timeout", "60", "--report", rep, in, out));
    usleep(300 * 1000);
    kill(ch.pid, SIGTERM);
    usleep(200 * 1000);
    kill(ch.pid, SIGINT);
    double el;
    assert_int_equal(wait_exit(&ch, 30, &el), 128 + SIGTERM); /* the first signal names the exit */
    assert_true(el < 0.2 + 1.0 + 2.0 + 0.5);
    e2e_report r;
    e2e_report_must_load(rep, &r);
    const e2e_jrec *b = e2e_report_one(&r, "blocking.jpg");
    assert_non_null(b);
    assert_string_equal(e2e_str(b, "status"), "cancelled");
    e2e_report_free(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_timeout_cancels_big_image),
        cmocka_unit_test(test_sigterm_stops_cleanly),
        cmocka_unit_test(test_sigkill_then_rerun_completes),
        cmocka_unit_test(test_deadline_reports_everything),
        cmocka_unit_test(test_fifo_is_skipped),
        cmocka_unit_test(test_blocked_read_cannot_hang_with_task_timeout),
        cmocka_unit_test(test_blocked_read_cannot_hang_shutdown),
        cmocka_unit_test(test_second_signal_cancels_now),
    };
    const e2e_prog p = {.name = "lifecycle", .args = {&shim_lib}, .usage = "BLOCK_SHIM", .setup = setup_all};
    return e2e_main_ex(argc, argv, &p, tests, sizeof tests / sizeof tests[0]);
}
