/* Unit tests for the directory walk (src/scan.c) on a real temporary tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "dac_caps.h"
#include "thumbd/scan.h"
#include "thumbd/task.h"

/* ---- building and removing the tree ---- */

typedef struct tree {
    char root[64];       /* mkdtemp */
    char in[128];        /* root/in */
    char out[160];       /* root/in/out: OUT_DIR inside IN_DIR */
} tree;

static void path_join(char *dst, size_t n, const char *a, const char *b)
{
    int w = snprintf(dst, n, "%s/%s", a, b);
    assert_true(w > 0 && (size_t)w < n);
}

static void mkdir_at(const tree *t, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

/* Writes `size` bytes into in/rel. */
static void file_at(const tree *t, const char *rel, size_t size)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)(i & 0xFF), f);
    assert_int_equal(fclose(f), 0);
}

static void symlink_at(const tree *t, const char *target, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(symlink(target, p), 0);
}

static void fifo_at(const tree *t, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(mkfifo(p, 0644), 0);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (flag == FTW_DP)
        chmod(path, 0755);
    remove(path);
    return 0;
}

/* Roots created by the running test, removed by its teardown even when an
 * assertion fails half-way. */
static char created[4][64];

static void tree_remove(const tree *t)
{
    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < 4; i++)
        if (!strcmp(created[i], t->root))
            created[i][0] = '\0';
}

static int remove_created(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        if (created[i][0])
            nftw(created[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        created[i][0] = '\0';
    }
    return 0;
}

static void tree_new(tree *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->root, "/tmp/thumbd-test-scan-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    for (int i = 0; i < 4; i++)
        if (!created[i][0]) {
            strcpy(created[i], t->root);
            break;
        }
    path_join(t->in, sizeof t->in, t->root, "in");
    path_join(t->out, sizeof t->out, t->in, "out");
    assert_int_equal(mkdir(t->in, 0755), 0);
}

/*
 * root/outside/o.jpg
 * root/in/
 *   A.JPG (10 bytes, fixed mtime)  b.jpeg  c.Png  d.jpe
 *   e.txt  noext  f.jpg.bak        (ignored)
 *   pipe.jpg                        (FIFO)
 *   link_dir -> ../outside          link_file.jpg -> ../outside/o.jpg
 *   out/t.jpg                       (OUT_DIR)
 *   sub/a.jpeg  sub/a.jpg (collision)  sub/deeper/y.JPEG  sub/up -> ..  sub/z.png
 */
static void tree_standard(tree *t)
{
    tree_new(t);
    char outside[160], o[200];
    path_join(outside, sizeof outside, t->root, "outside");
    assert_int_equal(mkdir(outside, 0755), 0);
    path_join(o, sizeof o, outside, "o.jpg");
    FILE *f = fopen(o, "wb");
    assert_non_null(f);
    fputs("outside", f);
    fclose(f);

    file_at(t, "A.JPG", 10);
    char p[512];
    path_join(p, sizeof p, t->in, "A.JPG");
    struct timespec times[2] = {{1500000000, 123456789}, {1500000000, 123456789}};
    assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
    file_at(t, "b.jpeg", 20);
    file_at(t, "c.Png", 30);
    file_at(t, "d.jpe", 40);
    file_at(t, "e.txt", 5);
    file_at(t, "noext", 5);
    file_at(t, "f.jpg.bak", 5);
    fifo_at(t, "pipe.jpg");
    symlink_at(t, "../outside", "link_dir");
    symlink_at(t, "../outside/o.jpg", "link_file.jpg");
    mkdir_at(t, "out");
    file_at(t, "out/t.jpg", 7);
    mkdir_at(t, "sub");
    file_at(t, "sub/a.jpeg", 11);
    file_at(t, "sub/a.jpg", 12);
    mkdir_at(t, "sub/deeper");
    file_at(t, "sub/deeper/y.JPEG", 13);
    symlink_at(t, "..", "sub/up");
    file_at(t, "sub/z.png", 14);
}

/* ---- collecting what the scanner emits ---- */

typedef struct seen_task {
    uint64_t id;
    char rel[256];
    int64_t size;
    struct timespec mtime;
    bool has_preset;
    char preset[TD_ERRLEN];
} seen_task;

typedef struct collector {
    seen_task v[64];
    int n;
    int stop_after;      /* stop callback: stop once n >= stop_after (0: never) */
    int emit_false_at;   /* emit returns false on this emission (1-based; 0: never) */
    int stop_calls;
} collector;

static bool collect(thumbd_task *t, void *ctx)
{
    collector *c = ctx;
    if (c->n < 64) {
        seen_task *s = &c->v[c->n];
        s->id = t->id;
        snprintf(s->rel, sizeof s->rel, "%s", t->rel);
        s->size = t->size;
        s->mtime = t->mtime;
        s->has_preset = t->preset_error != NULL;
        snprintf(s->preset, sizeof s->preset, "%s", t->preset_error ? t->preset_error : "");
    }
    c->n++;
    task_free(t);
    return !(c->emit_false_at && c->n == c->emit_false_at);
}

static bool stop_cb(void *ctx)
{
    collector *c = ctx;
    c->stop_calls++;
    return c->stop_after && c->n >= c->stop_after;
}

static void expect_rels(const collector *c, const char *const *want, int n)
{
    for (int i = 0; i < n && i < c->n; i++) {
        if (strcmp(c->v[i].rel, want[i]) != 0)
            fail_msg("emission %d: got '%s', want '%s'", i, c->v[i].rel, want[i]);
    }
    if (c->n != n) {
        for (int i = 0; i < c->n; i++)
            print_message("  emitted[%d] = %s\n", i, c->v[i].rel);
        fail_msg("emitted %d tasks, want %d", c->n, n);
    }
}

static const seen_task *find(const collector *c, const char *rel)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].rel, rel))
            return &c->v[i];
    return NULL;
}

/* ---- tests ---- */

static void test_is_image_name(void **state)
{
    (void)state;
    const char *yes[] = {"a.jpg", "a.JPG", "a.jpeg", "a.JpEg", "a.jpe", "a.JPE", "a.png",
                         "a.Png", "x.y.jpg", "photo 1.jpeg", "_.PNG"};
    const char *no[] = {"a.gif", "a.jpgx", "a.jp", "a.pn", "jpg", "png", "a.jpeg.txt",
                        "a.tiff", "a", "", "a.", "a.jpg ", "a_jpg", "a.jpg~"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!scan_is_image_name(yes[i]))
            fail_msg("'%s' should be an image name", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (scan_is_image_name(no[i]))
            fail_msg("'%s' should not be an image name", no[i]);
}

static void test_walk_default(void **state)
{
    (void)state;
    tree t;
    tree_standard(&t);
    scan_opts o = {.in_dir = t.in, .out_dir = t.out};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN] = "";
    assert_int_equal(scan_run(&o, collect, stop_cb, c, &st, err), TD_OK);

    const char *want[] = {"A.JPG", "b.jpeg", "c.Png", "d.jpe", "sub/a.jpeg", "sub/a.jpg",
                          "sub/deeper/y.JPEG", "sub/z.png"};
    expect_rels(c, want, 8);
    for (int i = 0; i < c->n; i++)
        assert_int_equal(c->v[i].id, (uint64_t)i + 1);
    assert_int_equal(st.found, 8);
    assert_int_equal(st.ignored, 3);   /* e.txt noext f.jpg.bak */
    assert_int_equal(st.special, 4);   /* pipe.jpg link_dir link_file.jpg sub/up */
    assert_int_equal(st.dirs, 3);      /* in sub sub/deeper; never out */

    /* size and mtime come from the scan. */
    const seen_task *a = find(c, "A.JPG");
    assert_non_null(a);
    assert_int_equal(a->size, 10);
    assert_int_equal(a->mtime.tv_sec, 1500000000);
    assert_int_equal(a->mtime.tv_nsec, 123456789);
    assert_int_equal(find(c, "sub/deeper/y.JPEG")->size, 13);
    assert_int_equal(find(c, "d.jpe")->size, 40);
    struct stat sb;
    char p[512];
    path_join(p, sizeof p, t.in, "sub/z.png");
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(find(c, "sub/z.png")->mtime.tv_sec, sb.st_mtim.tv_sec);
    assert_int_equal(find(c, "sub/z.png")->mtime.tv_nsec, sb.st_mtim.tv_nsec);

    /* Stem collision: the first in name order keeps the name. */
    const seen_task *first = find(c, "sub/a.jpeg"), *second = find(c, "sub/a.jpg");
    assert_false(first->has_preset);
    assert_true(second->has_preset);
    assert_non_null(strstr(second->preset, "collision"));
    assert_non_null(strstr(second->preset, "a.jpeg"));
    for (int i = 0; i < c->n; i++)
        if (&c->v[i] != second)
            assert_false(c->v[i].has_preset);
    assert_true(c->stop_calls > 0);
    free(c);
    tree_remove(&t);
}

static void test_walk_follow_symlinks(void **state)
{
    (void)state;
    tree t;
    tree_standard(&t);
    scan_opts o = {.in_dir = t.in, .out_dir = t.out, .follow_symlinks = true};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN] = "";
    /* sub/up -> .. is a loop back to an ancestor: this must terminate. */
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want[] = {"A.JPG", "b.jpeg", "c.Png", "d.jpe", "link_dir/o.jpg",
                          "link_file.jpg", "sub/a.jpeg", "sub/a.jpg", "sub/deeper/y.JPEG",
                          "sub/z.png"};
    expect_rels(c, want, 10);
    for (int i = 0; i < c->n; i++)
        assert_int_equal(c->v[i].id, (uint64_t)i + 1);
    assert_int_equal(st.found, 10);
    assert_int_equal(st.ignored, 3);
    assert_int_equal(st.special, 2);   /* pipe.jpg, the loop */
    assert_int_equal(st.dirs, 4);      /* in link_dir sub sub/deeper */
    /* A followed link reports its target's size. */
    assert_int_equal(find(c, "link_file.jpg")->size, 7);
    free(c);
    tree_remove(&t);
}

static void test_loop_to_root_with_follow(void **state)
{
    (void)state;
    tree t;
    tree_new(&t);
    mkdir_at(&t, "d1");
    mkdir_at(&t, "d1/d2");
    file_at(&t, "d1/d2/x.jpg", 3);
    char abs_in[256];
    assert_non_null(realpath(t.in, abs_in));
    symlink_at(&t, abs_in, "d1/d2/to_root");   /* absolute link to the top */
    symlink_at(&t, "../..", "d1/d2/to_root2"); /* relative, same place */
    symlink_at(&t, ".", "d1/self");
    scan_opts o = {.in_dir = t.in, .follow_symlinks = true};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want[] = {"d1/d2/x.jpg"};
    expect_rels(c, want, 1);
    assert_int_equal(st.special, 3);
    free(c);
    tree_remove(&t);
}

static void test_out_dir_descended_when_not_given(void **state)
{
    (void)state;
    tree t;
    tree_standard(&t);
    /* Without out_dir, "out" is just another directory: proves that the
     * exclusion in test_walk_default is what kept out/t.jpg away. */
    scan_opts o = {.in_dir = t.in};
    collector *c = calloc(1, sizeof *c);
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    assert_non_null(find(c, "out/t.jpg"));
    assert_int_equal(st.found, 9);
    assert_int_equal(st.dirs, 4);
    free(c);

    /* OUT_DIR given by another spelling of the same directory. */
    char alt[512];
    snprintf(alt, sizeof alt, "%s/./sub/../out", t.in);
    o.out_dir = alt;
    c = calloc(1, sizeof *c);
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    assert_null(find(c, "out/t.jpg"));
    assert_int_equal(st.found, 8);
    free(c);
    tree_remove(&t);
}

static void test_stop_callback_stops(void **state)
{
    (void)state;
    tree t;
    tree_standard(&t);
    scan_opts o = {.in_dir = t.in, .out_dir = t.out};
    collector *c = calloc(1, sizeof *c);
    c->stop_after = 3;
    scan_stats st;
    char err[TD_ERRLEN];
    assert_int_equal(scan_run(&o, collect, stop_cb, c, &st, err), TD_OK);
    const char *want[] = {"A.JPG", "b.jpeg", "c.Png"};
    expect_rels(c, want, 3);
    assert_int_equal(st.found, 3);
    free(c);

    /* Stopping inside a subdirectory stops the whole walk. */
    c = calloc(1, sizeof *c);
    c->stop_after = 5;
    assert_int_equal(scan_run(&o, collect, stop_cb, c, &st, err), TD_OK);
    const char *want5[] = {"A.JPG", "b.jpeg", "c.Png", "d.jpe", "sub/a.jpeg"};
    expect_rels(c, want5, 5);
    free(c);

    /* emit returning false stops as well. */
    c = calloc(1, sizeof *c);
    c->emit_false_at = 2;
    assert_int_equal(scan_run(&o, collect, NULL, c, &st, err), TD_OK);
    const char *want2[] = {"A.JPG", "b.jpeg"};
    expect_rels(c, want2, 2);
    free(c);
    tree_remove(&t);
}

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
        cmocka_unit_test_teardown(test_is_image_name, remove_created),
        cmocka_unit_test_teardown(test_walk_default, remove_created),
        cmocka_unit_test_teardown(test_walk_follow_symlinks, remove_created),
        cmocka_unit_test_teardown(test_loop_to_root_with_follow, remove_created),
        cmocka_unit_test_teardown(test_out_dir_descended_when_not_given, remove_created),
        cmocka_unit_test_teardown(test_stop_callback_stops, remove_created),
        cmocka_unit_test_teardown(test_missing_in_dir, remove_created),
        cmocka_unit_test_teardown(test_unreadable_subdir_becomes_task, remove_created),
        cmocka_unit_test_teardown(test_empty_directories, remove_created),
        cmocka_unit_test_teardown(test_collision_only_between_emitted_images, remove_created),
        cmocka_unit_test_teardown(test_fresh_hook_big_directory, remove_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
