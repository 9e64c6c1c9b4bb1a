/* Unit tests for the directory walk (src/scan.c) on a real temporary tree,
 * part 2: a missing IN_DIR, unreadable and empty directories, name collisions,
 * the freshness hook on a big directory (helpers: scan_util.h). */
#include "scan_util.h"

static void test_missing_in_dir(void **state)
{
    (void)state;
    tree t;
    tree_new(&t);
    char missing[256];
    path_join(missing, sizeof missing, t.root, "does-not-exist");
    scan_opts o = {.in_dir = missing};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN] = "";
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_EIO);
    assert_int_equal(c->n, 0);
    assert_non_null(strstr(err, "does-not-exist"));
    assert_non_null(strstr(err, "No such file"));

    /* A regular file is not a directory either. */
    file_at(&t, "plain.jpg", 3);
    char plain[256];
    path_join(plain, sizeof plain, t.in, "plain.jpg");
    o.in_dir = plain;
    err[0] = '\0';
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_EIO);
    assert_true(strlen(err) > 0);
    assert_int_equal(c->n, 0);
    free(c);
    tree_remove(&t);
}

static void test_unreadable_subdir_becomes_task(void **state)
{
    (void)state;
    assert_true(dac_caps_effective(false)); /* root, too, is refused a mode-0 directory */
    tree t;
    tree_new(&t);
    mkdir_at(&t, "locked");
    file_at(&t, "locked/x.jpg", 3);
    file_at(&t, "z.jpg", 3);
    char p[512];
    path_join(p, sizeof p, t.in, "locked");
    assert_int_equal(chmod(p, 0), 0);
    scan_opts o = {.in_dir = t.in};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want[] = {"locked", "z.jpg"};
    expect_rels(c, want, 2);
    assert_true(c->v[0].has_preset);
    assert_false(c->v[1].has_preset);
    assert_true(dac_caps_effective(true) && chmod(p, 0755) == 0);
    free(c);
    tree_remove(&t);
}

/* Empty directories, the top one included: nothing emitted, no error (and,
 * under UBSan, no qsort of a NULL array). */
static void test_empty_directories(void **state)
{
    (void)state;
    tree t;
    tree_new(&t);
    scan_opts o = {.in_dir = t.in};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    assert_int_equal(c->n, 0);
    assert_int_equal(st.found, 0);
    assert_int_equal(st.dirs, 1);
    mkdir_at(&t, "empty");
    mkdir_at(&t, "full");
    file_at(&t, "full/x.png", 1);
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want[] = {"full/x.png"};
    expect_rels(c, want, 1);
    assert_int_equal(st.dirs, 3);
    free(c);
    tree_remove(&t);
}

/* A name that is not thumbnailed (a symlink that is not followed, a FIFO, a
 * directory) must not make a real image with the same stem lose its
 * thumbnail as a "collision". */
static void test_collision_only_between_emitted_images(void **state)
{
    (void)state;
    tree t;
    tree_new(&t);
    file_at(&t, "target.bin", 4);
    symlink_at(&t, "target.bin", "p.jpeg"); /* not followed: special */
    file_at(&t, "p.jpg", 5);
    fifo_at(&t, "q.jpeg");                    /* FIFO: special */
    file_at(&t, "q.png", 6);
    mkdir_at(&t, "w.jpeg");                   /* a directory */
    file_at(&t, "w.jpg", 7);
    scan_opts o = {.in_dir = t.in};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want[] = {"p.jpg", "q.png", "w.jpg"};
    expect_rels(c, want, 3);
    int flagged = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->v[i].has_preset) {
            print_message("'%s' flagged although no other image has its stem: %s\n",
                          c->v[i].rel, c->v[i].preset);
            flagged++;
        }
    }
    assert_int_equal(flagged, 0);
    free(c);
    tree_remove(&t);
}

/* ---- the fresh hook, on a directory big enough for the helper thread ---- */

enum { BIG_N = 2600 };  /* images in big/: three probe windows */

typedef struct fresh_log {
    atomic_int calls, bad_names;
    atomic_int bad_dirs;          /* fresh got another directory's dir_begin answer */
    int begins, ends, complete_ends;
    int emitted, skipped, stop_at;
    char last[64];
    bool order_ok, ids_ok, skips_ok;
} fresh_log;

/* A log for a new walk: nothing seen, nothing wrong yet. */
static void log_reset(fresh_log *l)
{
    memset(l, 0, sizeof *l);
    l->order_ok = l->ids_ok = l->skips_ok = true;
}

/* Up to date: every image whose number is divisible by 3 (and "big/dup.jpg",
 * which collides with dup.jpeg and must not be skipped). */
static char *fresh_every_third(const char *rel, int out_dirfd, const char *name, const struct stat *sb,
                               void *dir, void *ctx, char **known_bad)
{
    fresh_log *l = ctx;
    *known_bad = NULL;
    atomic_fetch_add(&l->calls, 1);
    /* With OUT_DIR's twin of rel's directory open, name is rel's last part,
     * and dir is what dir_begin said of rel's directory. */
    const char *slash = strrchr(rel, '/');
    if (out_dirfd >= 0 && (!name || strcmp(name, slash ? slash + 1 : rel)))
        atomic_fetch_add(&l->bad_names, 1);
    size_t dlen = slash ? (size_t)(slash - rel) : 0;
    if (dir && (strlen(dir) != dlen || strncmp(dir, rel, dlen)))
        atomic_fetch_add(&l->bad_dirs, 1);
    assert_true(S_ISREG(sb->st_mode));
    int num;
    if (!strcmp(rel, "big/dup.jpg"))
        return strdup("big/dup.jpg");
    if (!strcmp(rel, "big/f0001.jpg")) {
        *known_bad = strdup("known bad: test");
        return NULL;
    }
    if (sscanf(rel, "big/f%d.jpg", &num) == 1 && num % 3 == 0) {
        char *out = malloc(strlen(rel) + 5);
        sprintf(out, "out-%s", rel);
        return out;
    }
    return NULL;
}

static bool fresh_collect(thumbd_task *t, void *ctx)
{
    fresh_log *l = ctx;
    l->emitted++;
    if (strcmp(l->last, t->rel) >= 0)
        l->order_ok = false;
    snprintf(l->last, sizeof l->last, "%s", t->rel);
    if (t->id != (uint64_t)l->emitted)
        l->ids_ok = false;
    int num;
    bool want_skip = sscanf(t->rel, "big/f%d.jpg", &num) == 1 && num % 3 == 0;
    if (t->res.status == TASK_SKIPPED) {
        l->skipped++;
        char want[64];
        snprintf(want, sizeof want, "out-%s", t->rel);
        if (!want_skip || !t->res.out_rel || strcmp(t->res.out_rel, want))
            l->skips_ok = false;
    } else if (want_skip || t->res.out_rel) {
        l->skips_ok = false;
    }
    bool want_known = !strcmp(t->rel, "big/f0001.jpg");
    if (want_known != t->known_bad ||
        (want_known && (!t->preset_error || strcmp(t->preset_error, "known bad: test"))))
        l->skips_ok = false;
    task_free(t);
    return true;
}

/* dir_begin / dir_end: the directory's name is its context. */
static void *dir_begin_log(const char *rel_dir, int twin_fd, void *ctx)
{
    fresh_log *l = ctx;
    struct stat sb;
    bool has_twin = !strcmp(rel_dir, "") || !strcmp(rel_dir, "big");
    assert_int_equal(twin_fd >= 0, has_twin);
    if (has_twin) {
        assert_int_equal(fstat(twin_fd, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
    }
    l->begins++;
    return strdup(rel_dir);
}

static void dir_end_log(void *dir, bool complete, void *ctx)
{
    fresh_log *l = ctx;
    l->ends++;
    l->complete_ends += complete;
    free(dir);
}

static bool fresh_stop(void *ctx)
{
    fresh_log *l = ctx;
    return l->stop_at && l->emitted >= l->stop_at;
}

static void big_tree(tree *t)
{
    tree_new(t);
    mkdir_at(t, "big");
    char rel[64];
    for (int i = 0; i < BIG_N; i++) {
        snprintf(rel, sizeof rel, "big/f%04d.jpg", i);
        file_at(t, rel, 1);
        if (i % 10 == 0) {
            snprintf(rel, sizeof rel, "big/n%04d.txt", i);
            file_at(t, rel, 1);
        }
    }
    file_at(t, "big/dup.jpeg", 1);
    file_at(t, "big/dup.jpg", 1);
    mkdir_at(t, "big/sub");
    file_at(t, "big/sub/s.png", 1);
    mkdir_at(t, "big/f0301sub"); /* entered while the next window is probed */
    file_at(t, "big/f0301sub/x.jpg", 1);
}

static void test_fresh_hook_big_directory(void **state)
{
    (void)state;
    tree t;
    big_tree(&t);
    scan_opts o = {.in_dir = t.in, .fresh = fresh_every_third, .emit_fresh = true};
    fresh_log *l = malloc(sizeof *l);
    assert_non_null(l);
    log_reset(l);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, fresh_collect, fresh_stop, l, &st, err), TD_OK);
    /* Every image once, in name order (dup.jpeg < dup.jpg < f0000.jpg ...
     * < f0301.jpg < f0301sub/x.jpg < f0302.jpg ... < sub/s.png), with ids in that order;
     * only images are asked about. */
    assert_int_equal(l->emitted, BIG_N + 4);
    assert_int_equal(st.found, BIG_N + 4);
    assert_int_equal(st.ignored, BIG_N / 10);
    assert_true(l->order_ok);
    assert_true(l->ids_ok);
    assert_true(l->skips_ok); /* dup.jpg collides: not skipped, though fresh */
    assert_int_equal(l->skipped, (BIG_N + 2) / 3);
    assert_int_equal(atomic_load(&l->calls), BIG_N + 4);

    /* Shards: fresh is not asked about the other shard's images. */
    int calls = 0, emitted = 0;
    for (int k = 0; k < 3; k++) {
        log_reset(l);
        o.shard_index = k;
        o.shard_count = 3;
        assert_int_equal(scan_run(&o, fresh_collect, NULL, l, &st, err), TD_OK);
        assert_true(l->skips_ok);
        calls += atomic_load(&l->calls);
        emitted += l->emitted;
    }
    assert_int_equal(emitted, BIG_N + 4);
    assert_int_equal(calls, BIG_N + 4);

    /* Without emit_fresh, up-to-date images are only counted. */
    log_reset(l);
    o.shard_count = 0;
    o.emit_fresh = false;
    assert_int_equal(scan_run(&o, fresh_collect, NULL, l, &st, err), TD_OK);
    assert_int_equal(st.fresh, (BIG_N + 2) / 3);
    assert_int_equal(l->skipped, 0);
    assert_int_equal(l->emitted, BIG_N + 4 - (BIG_N + 2) / 3);
    assert_true(l->order_ok);
    assert_true(l->ids_ok);
    o.emit_fresh = true;

    /* With OUT_DIR: asked with OUT_DIR's directory open where it exists
     * (out/big here), and without (out_dirfd -1) under one it lacks
     * (out/big/sub): a known-bad source is known there too. */
    char outp[256];
    snprintf(outp, sizeof outp, "%s/out", t.root);
    assert_int_equal(mkdir(outp, 0755), 0);
    snprintf(outp, sizeof outp, "%s/out/big", t.root);
    assert_int_equal(mkdir(outp, 0755), 0);
    snprintf(outp, sizeof outp, "%s/out", t.root);
    log_reset(l);
    o.out_dir = outp;
    assert_int_equal(scan_run(&o, fresh_collect, NULL, l, &st, err), TD_OK);
    assert_int_equal(l->emitted, BIG_N + 4);
    assert_int_equal(atomic_load(&l->calls), BIG_N + 4); /* sub/s.png, f0301sub/x.jpg too */
    assert_int_equal(atomic_load(&l->bad_names), 0);
    assert_true(l->skips_ok);

    /* The directory hooks: called for every directory (twin_fd -1 where
     * OUT_DIR lacks it), each entry's fresh call gets its own directory's
     * answer, and each visit ends complete. */
    log_reset(l);
    o.dir_begin = dir_begin_log;
    o.dir_end = dir_end_log;
    assert_int_equal(scan_run(&o, fresh_collect, NULL, l, &st, err), TD_OK);
    assert_int_equal(l->emitted, BIG_N + 4);
    assert_int_equal(atomic_load(&l->bad_dirs), 0);
    assert_int_equal(l->begins, 4); /* the top, big, big/sub, big/f0301sub */
    assert_int_equal(l->ends, 4);
    assert_int_equal(l->complete_ends, 4);

    /* A stop in the middle of a window: the answers probed for the rest of
     * it are dropped (no leak under ASan), and the visits end incomplete. */
    log_reset(l);
    l->stop_at = 1500;
    o.shard_count = 0;
    assert_int_equal(scan_run(&o, fresh_collect, fresh_stop, l, &st, err), TD_OK);
    assert_int_equal(l->emitted, 1500);
    assert_true(l->order_ok);
    assert_int_equal(l->begins, 3); /* the top, big, big/f0301sub (before the stop) */
    assert_int_equal(l->ends, 3);
    assert_int_equal(l->complete_ends, 1); /* big/f0301sub */
    free(l);
    tree_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_missing_in_dir, remove_created),
        cmocka_unit_test_teardown(test_unreadable_subdir_becomes_task, remove_created),
        cmocka_unit_test_teardown(test_empty_directories, remove_created),
        cmocka_unit_test_teardown(test_collision_only_between_emitted_images, remove_created),
        cmocka_unit_test_teardown(test_fresh_hook_big_directory, remove_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
