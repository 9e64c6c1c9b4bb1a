/* End-to-end tests of thumbd's operations, part 1: incremental re-runs, memos,
 * saved state, the OUT_DIR lock, a partial run with other options (helpers:
 * ops_util.h). */
#include "ops_util.h"

typedef struct snap {
    ino_t ino;
    struct timespec mtime, ctime;
} snap;

static snap snap_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        fail_msg("no file %s", path);
    return (snap){sb.st_ino, sb.st_mtim, sb.st_ctim};
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool snap_same(snap a, snap b)
{
    return a.ino == b.ino && same_time(a.mtime, b.mtime) && same_time(a.ctime, b.ctime);
}

/* Runs thumbd over the small tree with the extra arguments; asserts exit
 * 0 and that every image got status want (with out set). */
static void small_run(const io *o, const char *in, const char *out, const char *rep,
                      const char *want, const char *a1, const char *a2)
{
    int code = a2 ? RUN(o, "-r", rep, a1, a2, in, out)
             : a1 ? RUN(o, "-r", rep, a1, in, out)
                  : RUN(o, "-r", rep, in, out);
    expect_exit(code, 0);
    e2e_report r = load_report(rep);
    if (r.n != SMALL_N)
        fail_msg("%d records, expected %d (options %s %s)", r.n, SMALL_N, a1 ? a1 : "", a2 ? a2 : "");
    for (int i = 0; i < SMALL_N; i++) {
        const e2e_jrec *x = must_rec(&r, SMALL_SRC[i]);
        if (strcmp(str(x, "status"), want))
            fail_msg("options '%s %s': '%s' is %s (%s), expected %s", a1 ? a1 : "", a2 ? a2 : "",
                     str(x, "src"), str(x, "status"), str(x, "error"), want);
        assert_true(str(x, "out")[0] != '\0');
    }
    e2e_report_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 1. Incremental re-runs                                                     */

static void test_rerun_incremental(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900], q[900];
    fresh(in, sizeof in, "inc-in");
    fresh(out, sizeof out, "inc-out");
    pathf(rep, sizeof rep, "%s/inc.jsonl", g_root);
    make_small_tree(in);

    /* First run: everything made, each thumbnail with its source's mtime. */
    small_run(NULL, in, out, rep, "ok", NULL, NULL);
    e2e_report r = load_report(rep);
    for (int i = 0; i < SMALL_N; i++)
        assert_string_equal(str(must_rec(&r, SMALL_SRC[i]), "out"), SMALL_OUT[i]);
    e2e_report_free(&r);
    snap before[SMALL_N];
    for (int i = 0; i < SMALL_N; i++) {
        pathf(p, sizeof p, "%s/%s", in, SMALL_SRC[i]);
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
        before[i] = snap_of(q);
        if (!same_time(snap_of(p).mtime, before[i].mtime))
            fail_msg("%s does not have its source's mtime", SMALL_OUT[i]);
    }
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_true(exists(p));

    /* Unchanged tree: all skipped, nothing rewritten (same inode, mtime,
     * ctime). */
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    r = load_report(rep);
    for (int i = 0; i < SMALL_N; i++)
        assert_string_equal(str(must_rec(&r, SMALL_SRC[i]), "out"), SMALL_OUT[i]);
    e2e_report_free(&r);
    for (int i = 0; i < SMALL_N; i++) {
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
        if (!snap_same(before[i], snap_of(q)))
            fail_msg("%s was rewritten by a no-op run", SMALL_OUT[i]);
    }

    /* A touched source (newer mtime), then one set to an OLDER mtime: each
     * time exactly that one is redone. */
    struct {
        int idx;
        struct timespec t[2];
    } touches[2] = {
        {0, {{0, UTIME_NOW}, {0, UTIME_NOW}}},
        {3, {{978307200, 0}, {978307200, 123456789}}}, /* 2001-01-01 */
    };
    for (int k = 0; k < 2; k++) {
        int idx = touches[k].idx;
        pathf(p, sizeof p, "%s/%s", in, SMALL_SRC[idx]);
        assert_int_equal(utimensat(AT_FDCWD, p, touches[k].t, 0), 0);
        expect_exit(RUN(NULL, "-r", rep, in, out), 0);
        r = load_report(rep);
        assert_int_equal(r.n, SMALL_N);
        for (int i = 0; i < SMALL_N; i++)
            expect_status(&r, SMALL_SRC[i], i == idx ? "ok" : "skipped");
        e2e_report_free(&r);
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[idx]);
        assert_true(same_time(snap_of(p).mtime, snap_of(q).mtime));
        for (int i = 0; i < SMALL_N; i++) {
            pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
            if (i == idx)
                before[i] = snap_of(q);
            else if (!snap_same(before[i], snap_of(q)))
                fail_msg("%s was rewritten though only %s changed", SMALL_OUT[i], SMALL_SRC[idx]);
        }
    }

    /* An option that shapes thumbnails redoes everything; the new options
     * are then remembered (the same run again skips everything). */
    static const char *const opts[][2] = {
        {"-q", "60"}, {"--size", "100x100"}, {"--fit", "inside"}, {"--format", "png"}, {"--enlarge", NULL},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        small_run(NULL, in, out, rep, "ok", opts[k][0], opts[k][1]);
        if (k == 0)
            small_run(NULL, in, out, rep, "skipped", opts[k][0], opts[k][1]);
    }
    small_run(NULL, in, out, rep, "ok", NULL, NULL);       /* back to the defaults */
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);

    /* --force and THUMBD_FORCE=1 redo everything; they do not forget the
     * fingerprint. */
    small_run(NULL, in, out, rep, "ok", "--force", NULL);
    io force_env = {.env = {"THUMBD_FORCE=1", NULL}};
    small_run(&force_env, in, out, rep, "ok", NULL, NULL);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
}

/* Runs thumbd over the small tree (with flag, if not NULL); asserts that
 * exactly the sources in redo (a '|'-separated list, "" for none) were
 * redone, the rest skipped. */
static void expect_redone_with(const char *flag, const char *in, const char *out, const char *rep,
                               const char *redo)
{
    expect_exit(flag ? RUN(NULL, "-r", rep, flag, in, out) : RUN(NULL, "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, SMALL_N);
    for (int i = 0; i < SMALL_N; i++) {
        char key[64];
        pathf(key, sizeof key, "|%s|", SMALL_SRC[i]);
        char list[256];
        pathf(list, sizeof list, "|%s|", redo);
        expect_status(&r, SMALL_SRC[i], strstr(list, key) ? "ok" : "skipped");
    }
    e2e_report_free(&r);
}

static void expect_redone(const char *in, const char *out, const char *rep, const char *redo)
{
    expect_redone_with(NULL, in, out, rep, redo);
}

/* A run after the thumbnails settled (MEMO_RACY_S) writes a memo per
 * directory, and later runs trust it instead of stat'ing each thumbnail;
 * what a memo must not hide still shows: a thumbnail deleted or replaced,
 * a source changed. */
static void test_rerun_memos(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900], q[900];
    fresh(in, sizeof in, "memo-in");
    fresh(out, sizeof out, "memo-out");
    pathf(rep, sizeof rep, "%s/memo.jsonl", g_root);
    make_small_tree(in);
    small_run(NULL, in, out, rep, "ok", NULL, NULL);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    assert_int_equal(memo_count(out), 0); /* the thumbnails are too new */
    sleep_s(1.2);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    assert_int_equal(memo_count(out), 2); /* the top and sub/ */

    /* A thumbnail deleted, then one replaced by another file (rename). */
    pathf(q, sizeof q, "%s/sub/d.png", out);
    assert_int_equal(unlink(q), 0);
    expect_redone(in, out, rep, "sub/d.png");
    pathf(p, sizeof p, "%s/a.jpg", out);
    pathf(q, sizeof q, "%s/b.tmp", out);
    uint8_t *data;
    size_t len;
    assert_int_equal(read_file(p, &data, &len), 0);
    write_file(q, data, len);
    free(data);
    struct timespec old[2] = {{978307200, 0}, {978307200, 0}};
    assert_int_equal(utimensat(AT_FDCWD, q, old, 0), 0);
    pathf(p, sizeof p, "%s/b.jpg", out);
    assert_int_equal(rename(q, p), 0);
    expect_redone(in, out, rep, "b.jpg");

    /* Memos again for both directories; a changed source still shows. */
    sleep_s(1.2);
    expect_redone(in, out, rep, "");
    pathf(p, sizeof p, "%s/sub/c.jpg", in);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    assert_int_equal(utimensat(AT_FDCWD, p, now, 0), 0);
    expect_redone(in, out, rep, "sub/c.jpg");

    /* What a memo does not see, as documented: a thumbnail's mtime changed
     * in place (its name kept). That the run skips it shows the memo is
     * what vouched; --no-memo (a stat of every thumbnail) redoes it, and
     * --force everything. */
    pathf(q, sizeof q, "%s/a.jpg", out);
    assert_int_equal(utimensat(AT_FDCWD, q, old, 0), 0);
    expect_redone(in, out, rep, "");
    expect_redone_with("--no-memo", in, out, rep, "a.jpg");
    small_run(NULL, in, out, rep, "ok", "--force", NULL);
}

/* The fingerprint is saved only by a complete run: not by a --files-from
 * run, not by a run stopped by its deadline, not by a killed run. */
static void test_state_saved_only_by_complete_runs(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], st[900];
    fresh(in, sizeof in, "st-in");
    fresh(out, sizeof out, "st-out");
    pathf(rep, sizeof rep, "%s/st.jsonl", g_root);
    pathf(list, sizeof list, "%s/st.list", g_root);
    make_small_tree(in);
    pathf(st, sizeof st, "%s/.thumbd.state", out);

    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "-r", rep, "--files-from", list, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 1);
    expect_status(&r, "a.jpg", "ok");
    e2e_report_free(&r);
    if (exists(st))
        fail_msg("a --files-from run saved the fingerprint");
    /* No fingerprint, yet the thumbnail the list made counts (the ledger):
     * the next run makes the others and saves it. */
    expect_exit(RUN(NULL, "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(r.n, SMALL_N);
    for (int i = 0; i < SMALL_N; i++)
        expect_status(&r, SMALL_SRC[i], strcmp(SMALL_SRC[i], "a.jpg") ? "ok" : "skipped");
    e2e_report_free(&r);
    assert_true(exists(st));

    /* Stopped by --deadline (exit 124): no fingerprint. */
    fresh(out, sizeof out, "st-out2");
    pathf(st, sizeof st, "%s/.thumbd.state", out);
    expect_exit(RUN(NULL, "-j", "1", "--deadline", "0.05", "-r", rep, g_big, out), 124);
    if (exists(st))
        fail_msg("a run stopped by its deadline saved the fingerprint");
}

/* ------------------------------------------------------------------------ */
/* 2. The lock                                                                */

/* Takes OUT_DIR's lock as another run would. O_CLOEXEC: thumbd must not
 * inherit it. */
static int hold_lock(const char *out)
{
    char p[900];
    mkdirs(out, true);
    pathf(p, sizeof p, "%s/.thumbd.lock", out);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    return fd;
}

static void test_lock_busy_exits_75(void **state)
{
    (void)state;
    char in[600], out[600], p[900];
    fresh(in, sizeof in, "lock-in");
    fresh(out, sizeof out, "lock-out");
    make_small_tree(in);
    int fd = hold_lock(out);

    double t0 = now_s();
    expect_exit(RUN(NULL, in, out), 75);
    double el = now_s() - t0;
    if (el > 3.0) /* at once; the slack is for sanitizer builds on a busy machine */
        fail_msg("a locked OUT_DIR took %.2f s to refuse (expected at once)", el);
    if (!e2e_file_has(g_last_err, "--wait-lock"))
        fail_msg("the message does not mention --wait-lock: %s", e2e_slurp(g_last_err, NULL));
    /* A shard cannot start under an exclusive holder either. */
    expect_exit(RUN(NULL, "--shard", "0/2", in, out), 75);
    /* --wait-lock S gives up after S seconds. */
    t0 = now_s();
    expect_exit(RUN(NULL, "--wait-lock", "0.5", in, out), 75);
    el = now_s() - t0;
    if (el < 0.45 || el > 4.0)
        fail_msg("--wait-lock 0.5 gave up after %.2f s", el);
    strlist t = tree(out);
    assert_int_equal(t.n, 0); /* nothing written */
    strlist_free(&t);
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_false(exists(p));
    close(fd);
}

static void test_wait_lock_waits_for_release(void **state)
{
    (void)state;
    char in[600], out[600];
    fresh(in, sizeof in, "wl-in");
    fresh(out, sizeof out, "wl-out");
    make_small_tree(in);
    int fd = hold_lock(out);

    double t0 = now_s();
    e2e_child pid = SPAWN(NULL, "--wait-lock", "3", in, out);
    sleep_s(1.0);
    e2e_proc ended;
    if (e2e_poll(&pid, &ended))
        fail_msg("thumbd --wait-lock 3 exited (%d) while the lock was held", ended.code);
    strlist t = tree(out);
    assert_int_equal(t.n, 0); /* it waited before writing anything */
    strlist_free(&t);
    double released = now_s();
    close(fd);
    expect_exit(finish(&pid, RUN_TIMEOUT_S), 0);
    double done = now_s();
    if (done - t0 > 3.0 + 2.0)
        fail_msg("thumbd took %.2f s in all (lock released after %.2f s)", done - t0, released - t0);
    if (done - released > 2.0)
        fail_msg("thumbd finished %.2f s after the lock was released", done - released);
    t = tree(out);
    assert_int_equal(t.n, SMALL_N);
    strlist_free(&t);
}

/* flock dies with its process: a SIGKILLed run never blocks the next. */
static void test_killed_run_lock_never_blocks(void **state)
{
    (void)state;
    char out[600], marker[900], p[900];
    fresh(out, sizeof out, "kill-out");
    pathf(marker, sizeof marker, "%s/.thumbd.run/.thumbd-tmp-running", out);
    e2e_child pid = SPAWN(NULL, "-j", "1", g_big, out);
    double t0 = now_s();
    while (!exists(marker)) {
        if (now_s() - t0 > 20)
            fail_msg("thumbd never started its run");
        sleep_s(0.001);
    }
    kill(pid.pid, SIGKILL);
    assert_int_equal(finish(&pid, 10), 128 + SIGKILL);
    /* The run was cut short: its marker stays, no fingerprint. */
    assert_true(exists(marker));
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_false(exists(p));

    t0 = now_s();
    expect_exit(RUN(NULL, "-j", "2", g_big, out), 0); /* no --wait-lock */
    strlist t = tree(out);
    assert_int_equal(t.n, BIG);
    strlist_free(&t);
    assert_false(exists(marker));
    assert_int_equal(count_temps(out), 0);
    assert_true(exists(p));
}

/* A run that does not save the fingerprint (a --files-from run, or one cut
 * short) but writes thumbnails with OTHER options leaves them stamped with
 * their source's mtime under the old fingerprint: the next run with the old
 * options would take them as up to date. A run with other options must
 * forget the old fingerprint when it starts. */
static void test_partial_run_with_other_options(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600];
    fresh(in, sizeof in, "stale-in");
    fresh(out, sizeof out, "stale-out");
    pathf(rep, sizeof rep, "%s/stale.jsonl", g_root);
    pathf(list, sizeof list, "%s/stale.list", g_root);
    make_small_tree(in);
    small_run(NULL, in, out, rep, "ok", NULL, NULL); /* quality 85, saved */
    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "-q", "20", "-r", rep, "--files-from", list, in, out), 0);
    expect_exit(RUN(NULL, "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    const e2e_jrec *x = must_rec(&r, "a.jpg");
    if (strcmp(str(x, "status"), "ok"))
        fail_msg("a.jpg's thumbnail was made at -q 20 by a --files-from run, and a -q 85 run "
                 "took it as up to date (%s)", str(x, "status"));
    e2e_report_free(&r);

    /* The same with a run cut short by its deadline. */
    fresh(out, sizeof out, "stale-out2");
    expect_exit(RUN(NULL, "-j", "1", g_big, out), 0);
    expect_exit(RUN(NULL, "-j", "1", "--force", "-q", "20", "--deadline", "0.1", g_big, out), 124);
    expect_exit(RUN(NULL, "-r", rep, g_big, out), 0);
    r = load_report(rep);
    int skipped = e2e_report_count(&r, "skipped");
    e2e_report_free(&r);
    /* Every thumbnail rewritten at -q 20 must be redone; simplest sign: not
     * all are skipped. */
    if (skipped == BIG)
        fail_msg("thumbnails written at -q 20 by a run cut short were all taken as up to date");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rerun_incremental),
        cmocka_unit_test(test_rerun_memos),
        cmocka_unit_test(test_state_saved_only_by_complete_runs),
        cmocka_unit_test(test_lock_busy_exits_75),
        cmocka_unit_test(test_wait_lock_waits_for_release),
        cmocka_unit_test(test_killed_run_lock_never_blocks),
        cmocka_unit_test(test_partial_run_with_other_options),
    };
    return ops_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
