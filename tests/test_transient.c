/* End-to-end tests of transient failures that the next attempt gets past:
 * a source rewritten in place while it is read (native and libvips
 * engines, caught by its size or by its ctime alone), and a full disk while
 * a thumbnail is encoded (JPEG, PNG, WebP). Also what a run says when the
 * full disk keeps it from saving its state file.
 *
 *   test_transient THUMBD_BIN REWRITE_SHIM
 *
 * The shim (tests/rewrite_shim.c) rewrites a file named *rewrite-* right
 * after thumbd's first read of it. The full disk is a tmpfs mounted here
 * (root needed: the test fails, it does not skip, without it).
 * THUMBD_TRANSIENT_KEEP=1 keeps the directory. */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static const char *g_bin, *g_shim;
static char g_root[256];
static char g_mounted[400]; /* a tmpfs this test mounted, until it is gone */

/* A w x h JPEG of noise: big in bytes for its size. */
static void put_noise(const char *path, int w, int h, uint32_t seed)
{
    assert_int_equal(e2e_noise_jpeg(path, w, h, seed), 0);
}

static int setup_all(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    pathf(g_root, sizeof g_root, "%s/thumbd-transient-XXXXXX", tmp);
    return mkdtemp(g_root) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    if (g_mounted[0])
        umount2(g_mounted, MNT_DETACH);
    keep_or_remove("THUMBD_TRANSIENT_KEEP", g_root, rm_tree);
    return 0;
}

/* DIR (made) and DIR/in (made). */
static void new_case(char *dir, size_t n, const char *name)
{
    pathf(dir, n, "%s/%s", g_root, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    char in[400];
    pathf(in, sizeof in, "%s/in", dir);
    assert_int_equal(mkdir(in, 0755), 0);
}

/* Runs thumbd ARGS... (NULL-terminated) with stdout and stderr to DIR/log,
 * in this environment (less THUMBD_* and LD_PRELOAD), through the shim if
 * asked (REWRITE_WITH=DIR/new.jpg); returns the exit code. */
static int run(const char *dir, bool shim, const char *const *args)
{
    char log[400], env_with[450];
    pathf(log, sizeof log, "%s/log", dir);
    pathf(env_with, sizeof env_with, "REWRITE_WITH=%s/new.jpg", dir);
    /* The shim counts attempts in the decoding process: one process. */
    const char *const env[] = {shim ? env_with : NULL, shim ? "THUMBD_ISOLATION=thread" : NULL,
                               NULL};
    e2e_cmd c = {.bin = g_bin, .args = args, .out = log, .env = env,
                 .unset = (const char *const[]){"THUMBD_", "LD_PRELOAD=", NULL},
                 .preload = shim ? g_shim : NULL};
    return e2e_exec(&c, 120).code;
}

typedef struct rec {
    char status[16], error[256];
    int attempts, out_w;
} rec;

/* The last record of src in DIR/report.jsonl (fails the test if there is
 * none, or a line is not a record); status "?" and error "" when null,
 * numbers -1 when absent. */
static rec record_of(const char *dir, const char *src)
{
    char p[400];
    pathf(p, sizeof p, "%s/report.jsonl", dir);
    e2e_report rep;
    e2e_report_must_load(p, &rep);
    const e2e_jrec *x = NULL;
    for (int i = 0; i < rep.n; i++)
        if (!strcmp(e2e_str_or(&rep.v[i], "src", ""), src))
            x = &rep.v[i];
    if (!x)
        fail_msg("no record of %s", src);
    rec r;
    snprintf(r.status, sizeof r.status, "%s", e2e_str_or(x, "status", "?"));
    snprintf(r.error, sizeof r.error, "%s", e2e_str_or(x, "error", ""));
    r.attempts = isnan(e2e_num(x, "attempts")) ? -1 : (int)e2e_num(x, "attempts");
    r.out_w = isnan(e2e_num(x, "out_w")) ? -1 : (int)e2e_num(x, "out_w");
    e2e_report_free(&rep);
    return r;
}

/* A 64 x 64 JPEG replaces a 1600 x 1200 one after thumbd read its first
 * 64 KiB: the decoder meets the end of the new file where it expected the
 * rest of the old one. The retry reads the new file whole. */
static void test_rewritten_source_is_retried(void **state)
{
    (void)state;
    begin_checks();
    char dir[300], p[400], in[400], out[400], rep[400];
    new_case(dir, sizeof dir, "smaller");
    pathf(p, sizeof p, "%s/in/rewrite-smaller.jpg", dir);
    put_noise(p, 1600, 1200, 1);
    pathf(p, sizeof p, "%s/in/plain.jpg", dir);
    put_noise(p, 300, 200, 2);
    pathf(p, sizeof p, "%s/new.jpg", dir);
    put_noise(p, 64, 64, 3);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/report.jsonl", dir);
    const char *args[] = {"--engine", "native", "--retry-backoff", "0.01", "--report", rep, in, out, NULL};
    int code = run(dir, true, args);
    CHECK(code == 0, "exit %d, expected 0", code);
    rec r = record_of(dir, "rewrite-smaller.jpg");
    CHECK(!strcmp(r.status, "ok") && r.attempts == 2,
          "rewrite-smaller.jpg: %s after %d attempts (%s); expected ok after 2", r.status,
          r.attempts, r.error);
    CHECK(r.out_w == 64, "rewrite-smaller.jpg: a thumbnail %d wide, not of the new 64 x 64 file", r.out_w);
    pathf(p, sizeof p, "%s/rewrite-smaller.jpg", out);
    CHECK(access(p, F_OK) == 0, "no thumbnail at %s", p);
    r = record_of(dir, "plain.jpg");
    CHECK(!strcmp(r.status, "ok") && r.attempts == 1, "plain.jpg: %s after %d attempts", r.status,
          r.attempts);
    end_checks();
}

/* Same bytes, same size, mtime put back: the ctime alone shows the
 * rewrite, and the thumbnail made from the reads around it is not
 * trusted. */
static void check_ctime_only(const char *engine)
{
    begin_checks();
    char dir[300], p[400], in[400], out[400], rep[400], name[64];
    pathf(name, sizeof name, "same-%s", engine);
    new_case(dir, sizeof dir, name);
    pathf(p, sizeof p, "%s/in/rewrite-same.jpg", dir);
    put_noise(p, 800, 600, 4);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/report.jsonl", dir);
    const char *args[] = {"--engine", engine, "--retry-backoff", "0.01", "--report", rep, in, out, NULL};
    int code = run(dir, true, args);
    CHECK(code == 0, "%s: exit %d, expected 0", engine, code);
    rec r = record_of(dir, "rewrite-same.jpg");
    CHECK(!strcmp(r.status, "ok") && r.attempts == 2,
          "%s: rewrite-same.jpg: %s after %d attempts (%s); expected ok after 2", engine, r.status,
          r.attempts, r.error);
    end_checks();
}

static void test_rewrite_seen_by_ctime_native(void **state)
{
    (void)state;
    check_ctime_only("native");
}

static void test_rewrite_seen_by_ctime_vips(void **state)
{
    (void)state;
    check_ctime_only("vips");
}

/* Fills the file system of dir: a file grown until ENOSPC. */
static void fill_up(const char *dir)
{
    char p[400];
    pathf(p, sizeof p, "%s/filler", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    int e = errno;
    close(fd);
    assert_int_equal(e, ENOSPC);
}

/* OUT_DIR on a full tmpfs: every write of a thumbnail fails with ENOSPC
 * inside the encoder (the thumbnails of noise are larger than a stdio
 * buffer), and each is retried; the state file cannot be saved either, and
 * the warning says so. */
static void test_full_disk_is_retried(void **state)
{
    (void)state;
    begin_checks();
    char dir[300], p[400], in[400], full[400];
    new_case(dir, sizeof dir, "full");
    pathf(p, sizeof p, "%s/in/noise.jpg", dir);
    put_noise(p, 800, 600, 5);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(full, sizeof full, "%s/full", dir);
    assert_int_equal(mkdir(full, 0755), 0);
    if (mount("tmpfs", full, "tmpfs", 0, "size=256k") != 0)
        fail_msg("cannot mount a tmpfs on %s (%s): this test needs root", full, strerror(errno));
    pathf(g_mounted, sizeof g_mounted, "%s", full);
    fill_up(full);
    const char *formats[] = {"jpeg", "png", "webp"};
    for (int i = 0; i < 3; i++) {
        char out[450], rep[400], log[400];
        pathf(out, sizeof out, "%s/%s", full, formats[i]);
        pathf(rep, sizeof rep, "%s/report.jsonl", dir);
        const char *args[] = {"--format", formats[i], "--retries", "2", "--retry-backoff", "0.01",
                              "--report", rep, in, out, NULL};
        int code = run(dir, false, args);
        CHECK(code == 1, "%s: exit %d, expected 1", formats[i], code);
        rec r = record_of(dir, "noise.jpg");
        CHECK(!strcmp(r.status, "failed") && r.attempts == 3,
              "%s: %s after %d attempts; expected failed after 3 (1 + --retries 2)", formats[i],
              r.status, r.attempts);
        CHECK(strstr(r.error, "cannot write thumbnail: No space left on device") &&
                  strstr(r.error, "gave up after 3 attempts"),
              "%s: error: %s", formats[i], r.error);
        pathf(log, sizeof log, "%s/log", dir);
        uint8_t *data;
        size_t len;
        assert_int_equal(read_file(log, &data, &len), 0);
        char *text = malloc(len + 1);
        assert_non_null(text);
        memcpy(text, data, len);
        text[len] = '\0';
        free(data);
        CHECK(strstr(text, "thumbd: warning: cannot save the state file .thumbd.state") &&
                  strstr(text, "No space left on device") && strstr(text, "no thumbnail or progress is lost"),
              "%s: the warning does not say the state file was not saved:\n%s", formats[i], text);
        /* The one line that names a thumbnail is noise.jpg's own failure. */
        const char *f = strstr(text, "thumbd: failed: noise.jpg: ");
        const char *eol = f ? strchr(f, '\n') : NULL, *first = strstr(text, "cannot write thumbnail");
        CHECK(eol && first > f && first < eol && !strstr(eol, "cannot write thumbnail"),
              "%s: the state file taken for a thumbnail:\n%s", formats[i], text);
        free(text);
    }
    umount2(full, MNT_DETACH);
    g_mounted[0] = '\0';
    end_checks();
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s THUMBD REWRITE_SHIM\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_shim = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewritten_source_is_retried),
        cmocka_unit_test(test_rewrite_seen_by_ctime_native),
        cmocka_unit_test(test_rewrite_seen_by_ctime_vips),
        cmocka_unit_test(test_full_disk_is_retried),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
