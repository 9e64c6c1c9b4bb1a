/* Unit tests for the directory walk (src/scan.c) on a real temporary tree,
 * part 1: image names, the default walk, symlinks, loops, OUT_DIR inside, the
 * stop callback (helpers: scan_util.h). */
#include "scan_util.h"

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

static bool stop_cb(void *ctx)
{
    collector *c = ctx;
    c->stop_calls++;
    return c->stop_after && c->n >= c->stop_after;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_is_image_name, remove_created),
        cmocka_unit_test_teardown(test_walk_default, remove_created),
        cmocka_unit_test_teardown(test_walk_follow_symlinks, remove_created),
        cmocka_unit_test_teardown(test_loop_to_root_with_follow, remove_created),
        cmocka_unit_test_teardown(test_out_dir_descended_when_not_given, remove_created),
        cmocka_unit_test_teardown(test_stop_callback_stops, remove_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
