/* End-to-end: what thumbd keeps and what it never destroys.
 *
 *   - --prune removes only the thumbnails its ledger proves it made, never
 *     a user's files in OUT_DIR (by name, extension or hiding place);
 *   - --prune with a source directory it cannot read keeps what is below
 *     it and says so (run as nobody through setpriv);
 *   - --prune refuses past --max-prune (an empty or unmounted IN_DIR);
 *   - an interrupted run (SIGKILL, --deadline), first run or not, keeps
 *     every thumbnail it finished: runs converge, also after an option
 *     change;
 *   - a known-bad source is not decoded again, and exit 4 / the metrics
 *     tell it from a new failure; --retry-failed and a changed file undo
 *     that;
 *   - a source whose size changed behind a restored mtime is redone;
 *   - a copied or restored OUT_DIR (new inodes) is up to date, and --prune
 *     knows its thumbnails.
 *
 *   test_safety THUMBD_BIN
 *
 * THUMBD_SAFETY_KEEP=1 keeps the temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static const char *g_bin;
static char g_root[256];
static char g_out_log[300], g_err_log[300];

enum { MAX_ARGS = 32 };

/* ---- running thumbd ------------------------------------------------------- */

/* Runs thumbd with the NULL-terminated arguments (stdout and stderr to
 * g_out_log and g_err_log); as nobody (setpriv) when as_nobody. Returns the
 * exit code. */
static int run_v(bool as_nobody, va_list ap)
{
    const char *args[MAX_ARGS + 1];
    int n = 0;
    args[n++] = "--report-skipped"; /* the tests count skipped records */
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS)
        args[n++] = a;
    args[n] = NULL;
    e2e_cmd c = {.bin = g_bin, .args = args, .as_nobody = as_nobody, .out = g_out_log,
                 .err = g_err_log, .tag = "thumbd"};
    return e2e_exec(&c, 120).code;
}

#define THUMBD(...) run_thumbd(false, __VA_ARGS__, (const char *)NULL)
#define THUMBD_NOBODY(...) run_thumbd(true, __VA_ARGS__, (const char *)NULL)

static int run_thumbd(int as_nobody, ...) /* int: va_start needs an unpromoted type */
{
    va_list ap;
    va_start(ap, as_nobody);
    int code = run_v(as_nobody, ap);
    va_end(ap);
    return code;
}

static void expect_code(int got, int want)
{
    if (got == want)
        return;
    char *e = e2e_slurp(g_err_log, NULL);
    printf("  thumbd exited %d, expected %d; stderr:\n%s\n", got, want, e ? e : "");
    free(e);
    fail_msg("exit code %d, expected %d", got, want);
}

/* True if thumbd's stderr of the last run holds s. */
static bool stderr_has(const char *s)
{
    return e2e_file_has(g_err_log, s);
}

/* ---- reports -------------------------------------------------------------- */

static e2e_report load(const char *path)
{
    e2e_report r;
    e2e_report_must_load(path, &r);
    return r;
}

/* The record of src (fails the test if there is none). */
static const e2e_jrec *find(const e2e_report *r, const char *src)
{
    const e2e_jrec *x = e2e_report_find(r, src, NULL);
    if (!x)
        fail_msg("no record of %s", src);
    return x;
}

/* ---- trees ---------------------------------------------------------------- */

static void fill_rows(uint8_t *row, int w, int y, void *ctx)
{
    int seed = *(int *)ctx;
    for (int x = 0; x < w; x++) {
        row[3 * x] = (uint8_t)(x * 3 + seed);
        row[3 * x + 1] = (uint8_t)(y * 5 + seed * 7);
        row[3 * x + 2] = (uint8_t)((x ^ y) + seed);
    }
}

static void jpeg_at(const char *dir, const char *rel, int w, int h, int seed)
{
    char p[600];
    pathf(p, sizeof p, "%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    char cmd[700];
    pathf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    assert_int_equal(system(cmd), 0);
    *slash = '/';
    assert_int_equal(write_rgb_jpeg(p, w, h, 85, fill_rows, &seed), 0);
}

static void dir_at(char *buf, size_t n, const char *name)
{
    pathf(buf, n, "%s/%s", g_root, name);
    rm_tree(buf);
    assert_int_equal(mkdir(buf, 0755), 0);
}

static bool exists(const char *dir, const char *rel)
{
    char p[600];
    pathf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static void write_at(const char *dir, const char *rel, const char *text)
{
    char p[600];
    pathf(p, sizeof p, "%s/%s", dir, rel);
    write_file(p, text, strlen(text));
}

/* ---- --prune -------------------------------------------------------------- */

static void test_prune_keeps_what_it_did_not_make(void **state)
{
    (void)state;
    char in[300], out[300], rep[300];
    dir_at(in, sizeof in, "p1-in");
    dir_at(out, sizeof out, "p1-out");
    pathf(rep, sizeof rep, "%s/p1.jsonl", g_root);
    static const char *const src[] = {"a.jpg", "sub/b.jpg", "gone.jpg", "gonedir/c.jpg",
                                      "gonedir2/d.jpg", "replaced.jpg"};
    for (int i = 0; i < 6; i++)
        jpeg_at(in, src[i], 64, 48, i);
    expect_code(THUMBD(in, out), 0);

    /* The user's own files in OUT_DIR, some with thumbnail names. */
    static const char *const mine[] = {"myphoto.jpg", "logo.png", ".hidden.jpg", "sub/extra.jpg",
                                       "userdir/u.jpg", "gonedir2/notes.txt"};
    for (int i = 0; i < 6; i++) {
        if (i == 4) {
            char p[600];
            pathf(p, sizeof p, "%s/userdir", out);
            assert_int_equal(mkdir(p, 0755), 0);
        }
        write_at(out, mine[i], "the user's own file");
    }
    char p[600];
    pathf(p, sizeof p, "%s/emptyuser", out);
    assert_int_equal(mkdir(p, 0755), 0);
    /* A thumbnail replaced by a file of the user's (another inode). */
    pathf(p, sizeof p, "%s/replaced.jpg", out);
    assert_int_equal(unlink(p), 0);
    write_at(out, "replaced.jpg", "the user's own file");

    /* Sources gone: one file, a whole directory, one beside a user file,
     * and the one whose thumbnail the user replaced. */
    for (int i = 2; i < 6; i++) {
        pathf(p, sizeof p, "%s/%s", in, src[i]);
        assert_int_equal(unlink(p), 0);
    }
    pathf(p, sizeof p, "%s/gonedir", in);
    assert_int_equal(rmdir(p), 0);
    pathf(p, sizeof p, "%s/gonedir2", in);
    assert_int_equal(rmdir(p), 0);

    expect_code(THUMBD("--prune", "-r", rep, in, out), 0);
    e2e_report r = load(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 3);
    begin_checks();
    static const char *const pruned[] = {"gone.jpg", "gonedir/c.jpg", "gonedir2/d.jpg"};
    for (int i = 0; i < 3; i++) {
        CHECK(!exists(out, pruned[i]), "%s was not pruned", pruned[i]);
        bool recorded = false;
        for (int k = 0; k < r.n; k++)
            recorded |= !strcmp(e2e_str_or(&r.v[k], "out", ""), pruned[i]) &&
                        !strcmp(e2e_str_or(&r.v[k], "status", ""), "pruned");
        CHECK(recorded, "no pruned record of %s", pruned[i]);
    }
    for (int i = 0; i < 6; i++)
        CHECK(exists(out, mine[i]), "the user's %s was deleted", mine[i]);
    CHECK(exists(out, "emptyuser"), "the user's empty directory was deleted");
    CHECK(exists(out, "replaced.jpg"), "the user's replaced.jpg was deleted");
    CHECK(exists(out, "a.jpg") && exists(out, "sub/b.jpg"), "a thumbnail of a live source was deleted");
    CHECK(!exists(out, "gonedir"), "gonedir/, created by thumbd and emptied, is still there");
    end_checks();
    e2e_report_free(&r);
}

static void test_prune_unreadable_source_dir(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], p[600];
    dir_at(in, sizeof in, "p2-in");
    dir_at(out, sizeof out, "p2-out");
    pathf(rep, sizeof rep, "%s/p2.jsonl", g_root);
    assert_int_equal(chown(out, 65534, 65534), 0);
    jpeg_at(in, "a.jpg", 64, 48, 1);
    jpeg_at(in, "locked/x.jpg", 64, 48, 2);
    jpeg_at(in, "locked/deep/y.jpg", 64, 48, 3);
    expect_code(THUMBD_NOBODY(in, out), 0);
    pathf(p, sizeof p, "%s/locked", in);
    assert_int_equal(chmod(p, 0), 0);
    /* rep is written by nobody: in a directory it may write. */
    pathf(rep, sizeof rep, "%s/p2.jsonl", out);
    int code = THUMBD_NOBODY("--prune", "-r", rep, in, out);
    assert_int_equal(chmod(p, 0755), 0);
    expect_code(code, 1); /* the unreadable directory is a failure */
    e2e_report r = load(rep);
    begin_checks();
    CHECK(e2e_report_count(&r, "pruned") == 0, "%d thumbnails pruned",
          e2e_report_count(&r, "pruned"));
    CHECK(exists(out, "locked/x.jpg") && exists(out, "locked/deep/y.jpg"),
          "a thumbnail under the unreadable directory was pruned");
    const e2e_jrec *x = find(&r, "locked");
    CHECK(strstr(e2e_str_or(x, "error", ""), "--prune removes nothing of it") != NULL,
          "the directory's record does not say it was not pruned: %s", e2e_str_or(x, "error", ""));
    end_checks();
    e2e_report_free(&r);
}

static void test_prune_bound(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], name[64];
    dir_at(in, sizeof in, "p3-in");
    dir_at(out, sizeof out, "p3-out");
    pathf(rep, sizeof rep, "%s/p3.jsonl", g_root);
    enum { N = 30 };
    for (int i = 0; i < N; i++) {
        pathf(name, sizeof name, "d%d/i%02d.jpg", i % 3, i);
        jpeg_at(in, name, 32, 32, i);
    }
    expect_code(THUMBD(in, out), 0);
    /* IN_DIR empty (an unmounted share looks like this). */
    rm_tree(in);
    assert_int_equal(mkdir(in, 0755), 0);
    expect_code(THUMBD("--prune", "-r", rep, in, out), 3);
    assert_true(stderr_has("--prune refused: 30 thumbnails would be removed"));
    expect_code(THUMBD("--prune", "--max-prune", "29", "-r", rep, in, out), 3);
    begin_checks();
    for (int i = 0; i < N; i++) {
        pathf(name, sizeof name, "d%d/i%02d.jpg", i % 3, i);
        CHECK(exists(out, name), "%s was removed by a refused prune", name);
    }
    end_checks();
    e2e_report r = load(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 0);
    e2e_report_free(&r);
    /* Raised to the count: they go, and the directories thumbd made too. */
    expect_code(THUMBD("--prune", "--max-prune", "30", "-r", rep, in, out), 0);
    r = load(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), N);
    e2e_report_free(&r);
    assert_false(exists(out, "d0"));
}

/* ---- convergence ---------------------------------------------------------- */

/* The number of records with status "ok" in the report at path, and adds
 * their sources to ok (if not NULL). */
static int ok_records(const char *path, strlist *ok)
{
    e2e_report r = load(path);
    int n = 0;
    for (int i = 0; i < r.n; i++)
        if (!strcmp(e2e_str_or(&r.v[i], "status", ""), "ok")) {
            n++;
            if (ok)
                strlist_add(ok, e2e_str_or(&r.v[i], "src", ""));
        }
    e2e_report_free(&r);
    return n;
}

static void big_tree(const char *in, int n)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        pathf(name, sizeof name, "s%d/img%03d.jpg", i % 4, i);
        jpeg_at(in, name, 1600, 1200, i);
    }
}

/* A first run killed with SIGKILL: the next run keeps every thumbnail the
 * killed one reported. */
static void test_killed_first_run_keeps_progress(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], rep2[300];
    dir_at(in, sizeof in, "k-in");
    dir_at(out, sizeof out, "k-out");
    pathf(rep, sizeof rep, "%s/k.jsonl", g_root);
    pathf(rep2, sizeof rep2, "%s/k2.jsonl", g_root);
    enum { N = 40 };
    big_tree(in, N);
    e2e_cmd c = {.bin = g_bin, .args = (const char *const[]){"-j", "1", "-r", rep, in, out, NULL}};
    e2e_child ch;
    assert_true(e2e_start(&c, &ch));
    double t0 = now_s();
    int seen = 0;
    while (seen < 5 && now_s() - t0 < 60) {
        usleep(2000);
        uint8_t *d = NULL;
        size_t len = 0;
        seen = 0;
        if (read_file(rep, &d, &len) == 0)
            for (size_t i = 0; i < len; i++)
                seen += d[i] == '\n';
        free(d);
    }
    kill(ch.pid, SIGKILL);
    e2e_wait(&ch, 10, 2);
    assert_true(seen >= 5);
    strlist made = {0};
    int ok1 = ok_records(rep, &made);
    assert_true(ok1 >= 5 && ok1 < N);

    expect_code(THUMBD("-j", "2", "-r", rep2, in, out), 0);
    e2e_report r = load(rep2);
    begin_checks();
    CHECK(r.n == N, "%d records, expected %d", r.n, N);
    for (int i = 0; i < made.n; i++)
        CHECK(!strcmp(e2e_str_or(find(&r, made.v[i]), "status", ""), "skipped"),
              "%s, made by the killed run, was made again", made.v[i]);
    CHECK(e2e_report_count(&r, "ok") + e2e_report_count(&r, "skipped") == N,
          "not every image has its thumbnail");
    CHECK(e2e_report_count(&r, "ok") <= N - ok1, "%d made again",
          e2e_report_count(&r, "ok") - (N - ok1));
    end_checks();
    e2e_report_free(&r);
    strlist_free(&made);
}

/* Runs cut by --deadline until one finishes; returns how many it took and
 * the thumbnails made in all. */
static int deadline_runs(const char *in, const char *out, const char *rep, const char *quality,
                         int *made)
{
    *made = 0;
    for (int runs = 1; runs <= 100; runs++) {
        int code = THUMBD("-j", "1", "-q", quality, "--deadline", "0.1", "--shutdown-timeout", "30",
                          "-r", rep, in, out);
        if (code != 0 && code != 124)
            expect_code(code, 124);
        *made += ok_records(rep, NULL);
        printf("  run %d (quality %s): %d thumbnails in all, exit %d\n", runs, quality, *made, code);
        if (code == 0)
            return runs;
    }
    fail_msg("no run finished in 100 runs");
    return 0;
}

static void test_deadline_runs_converge(void **state)
{
    (void)state;
    char in[300], out[300], rep[300];
    dir_at(in, sizeof in, "c-in");
    dir_at(out, sizeof out, "c-out");
    pathf(rep, sizeof rep, "%s/c.jsonl", g_root);
    enum { N = 40 };
    big_tree(in, N);
    int made = 0;
    int runs = deadline_runs(in, out, rep, "85", &made);
    assert_true(runs >= 2); /* else the deadline cut nothing: the test proved nothing */
    assert_int_equal(made, N); /* each thumbnail made once */
    /* Other options: every thumbnail is made again, once. */
    runs = deadline_runs(in, out, rep, "70", &made);
    assert_true(runs >= 2);
    assert_int_equal(made, N);
}

/* ---- known-bad files ------------------------------------------------------ */

/* The value of a metric in the textfile at path, or -1. */
static double metric(const char *path, const char *name)
{
    FILE *f = fopen(path, "r");
    char line[300];
    double v = -1;
    size_t nl = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, nl) && line[nl] == ' ')
            v = strtod(line + nl + 1, NULL);
    if (f)
        fclose(f);
    return v;
}

static bool known(const e2e_report *r, const char *src)
{
    const e2e_jfield *f = e2e_jrec_get(find(r, src), "known_bad");
    return f && f->type == E2E_J_BOOL && f->n == 1;
}

static void test_known_bad(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], met[300], p[600];
    dir_at(in, sizeof in, "kb-in");
    dir_at(out, sizeof out, "kb-out");
    pathf(rep, sizeof rep, "%s/kb.jsonl", g_root);
    pathf(met, sizeof met, "%s/kb.prom", g_root);
    jpeg_at(in, "good.jpg", 64, 48, 1);
    write_at(in, "bad.jpg", "garbage, not a JPEG at all");
    jpeg_at(in, "trunc.jpg", 640, 480, 2);
    pathf(p, sizeof p, "%s/trunc.jpg", in);
    assert_int_equal(truncate(p, file_size(p) / 2), 0);

    expect_code(THUMBD("-r", rep, "--metrics", met, in, out), 1);
    e2e_report r = load(rep);
    assert_string_equal(e2e_str_or(find(&r, "bad.jpg"), "status", ""), "failed");
    assert_false(known(&r, "bad.jpg"));
    char first_error[300];
    pathf(first_error, sizeof first_error, "%s", e2e_str_or(find(&r, "trunc.jpg"), "error", ""));
    e2e_report_free(&r);
    assert_true(metric(met, "thumbd_new_failures") == 2);
    assert_true(metric(met, "thumbd_last_success_timestamp_seconds") == 0);

    /* Unchanged: not decoded again, exit 4, a success for the metrics. */
    expect_code(THUMBD("-r", rep, "--metrics", met, in, out), 4);
    r = load(rep);
    begin_checks();
    CHECK(known(&r, "bad.jpg") && known(&r, "trunc.jpg"), "not marked known_bad");
    CHECK(!strcmp(e2e_str_or(find(&r, "trunc.jpg"), "status", ""), "failed"),
          "trunc.jpg is not failed");
    const char *e = e2e_str_or(find(&r, "trunc.jpg"), "error", "");
    CHECK(strstr(e, "known bad") && strstr(e, first_error), "the error does not give the earlier "
          "reason: %s", e);
    CHECK(!strcmp(e2e_str_or(find(&r, "good.jpg"), "status", ""), "skipped"),
          "good.jpg not skipped");
    CHECK(metric(met, "thumbd_known_bad") == 2, "thumbd_known_bad is not 2");
    CHECK(metric(met, "thumbd_new_failures") == 0, "thumbd_new_failures is not 0");
    CHECK(metric(met, "thumbd_last_success_timestamp_seconds") > 0, "no last success");
    CHECK(stderr_has("known bad"), "the summary does not name the known-bad files");
    end_checks();
    e2e_report_free(&r);

    /* --retry-failed decodes them again. */
    expect_code(THUMBD("--retry-failed", "-r", rep, in, out), 1);
    r = load(rep);
    assert_false(known(&r, "bad.jpg"));
    assert_false(known(&r, "trunc.jpg"));
    e2e_report_free(&r);
    /* So does a change of the file, or of the limits a verdict depends on. */
    pathf(p, sizeof p, "%s/bad.jpg", in);
    write_file(p, "other garbage, longer than before", 33);
    expect_code(THUMBD("--max-pixels", "50M", "-r", rep, in, out), 1);
    r = load(rep);
    assert_false(known(&r, "bad.jpg"));
    assert_false(known(&r, "trunc.jpg"));
    e2e_report_free(&r);
}

/* ---- a size change behind a restored mtime -------------------------------- */

static void test_size_change_with_restored_mtime(void **state)
{
    (void)state;
    char in[300], out[300], rep[300], p[600];
    dir_at(in, sizeof in, "sz-in");
    dir_at(out, sizeof out, "sz-out");
    pathf(rep, sizeof rep, "%s/sz.jsonl", g_root);
    jpeg_at(in, "a.jpg", 320, 240, 1);
    jpeg_at(in, "b.jpg", 320, 240, 2);
    expect_code(THUMBD(in, out), 0);
    pathf(p, sizeof p, "%s/a.jpg", in);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    jpeg_at(in, "a.jpg", 400, 300, 9);
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    assert_true(file_size(p) != sb.st_size);
    expect_code(THUMBD("-r", rep, in, out), 0);
    e2e_report r = load(rep);
    assert_string_equal(e2e_str_or(find(&r, "a.jpg"), "status", ""), "ok");
    assert_string_equal(e2e_str_or(find(&r, "b.jpg"), "status", ""), "skipped");
    e2e_report_free(&r);
}

/* OUT_DIR copied to another directory (new inodes, mtimes kept, as a
 * restore from a backup): up to date there, and --prune there knows its
 * thumbnails once a run has seen them. */
static void test_restored_out_dir(void **state)
{
    (void)state;
    char in[300], out[300], out2[300], rep[300], cmd[1000], p[600];
    dir_at(in, sizeof in, "rs-in");
    dir_at(out, sizeof out, "rs-out");
    pathf(out2, sizeof out2, "%s/rs-out2", g_root);
    rm_tree(out2);
    pathf(rep, sizeof rep, "%s/rs.jsonl", g_root);
    jpeg_at(in, "a.jpg", 64, 48, 1);
    jpeg_at(in, "sub/b.jpg", 64, 48, 2);
    expect_code(THUMBD(in, out), 0);
    pathf(cmd, sizeof cmd, "cp -a '%s' '%s'", out, out2);
    assert_int_equal(system(cmd), 0);
    expect_code(THUMBD("-r", rep, in, out2), 0);
    e2e_report r = load(rep);
    assert_int_equal(e2e_report_count(&r, "skipped"), 2);
    e2e_report_free(&r);
    pathf(p, sizeof p, "%s/sub/b.jpg", in);
    assert_int_equal(unlink(p), 0);
    expect_code(THUMBD("--prune", "-r", rep, in, out2), 0);
    r = load(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 1);
    e2e_report_free(&r);
    assert_false(exists(out2, "sub/b.jpg"));
}

static int remove_root(void **state)
{
    (void)state;
    keep_or_remove("THUMBD_SAFETY_KEEP", g_root, rm_tree);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_safety THUMBD_BIN\n");
        return 2;
    }
    g_bin = argv[1];
    snprintf(g_root, sizeof g_root, "/tmp/thumbd-safety-XXXXXX");
    if (!mkdtemp(g_root) || chmod(g_root, 0755) != 0)
        return 1;
    snprintf(g_out_log, sizeof g_out_log, "%s/stdout.log", g_root);
    snprintf(g_err_log, sizeof g_err_log, "%s/stderr.log", g_root);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_keeps_what_it_did_not_make),
        cmocka_unit_test(test_prune_unreadable_source_dir),
        cmocka_unit_test(test_prune_bound),
        cmocka_unit_test(test_killed_first_run_keeps_progress),
        cmocka_unit_test(test_deadline_runs_converge),
        cmocka_unit_test(test_known_bad),
        cmocka_unit_test(test_size_change_with_restored_mtime),
        cmocka_unit_test(test_restored_out_dir),
    };
    return cmocka_run_group_tests(tests, NULL, remove_root);
}
