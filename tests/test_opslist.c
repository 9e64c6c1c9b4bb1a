/* End-to-end tests of thumbd's operations, part 2: --files-from lists, shards,
 * THUMBD_* environment (helpers: ops_util.h). */
#include "ops_util.h"

static bool same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = e2e_slurp(a, &na), *y = e2e_slurp(b, &nb);
    bool same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* Width and height from a JPEG's or PNG's header; false if neither. */
typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c)
{
    longjmp(((jerr *)c->err)->jb, 1);
}

static bool image_dims(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char hd[24];
    size_t n = fread(hd, 1, sizeof hd, f);
    if (n == sizeof hd && !memcmp(hd, "\x89PNG\r\n\x1a\n", 8)) {
        *w = (int)((unsigned)hd[16] << 24 | (unsigned)hd[17] << 16 | (unsigned)hd[18] << 8 | hd[19]);
        *h = (int)((unsigned)hd[20] << 24 | (unsigned)hd[21] << 16 | (unsigned)hd[22] << 8 | hd[23]);
        fclose(f);
        return true;
    }
    rewind(f);
    struct jpeg_decompress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    jpeg_create_decompress(&c);
    volatile bool ok = false;
    if (!setjmp(e.jb)) {
        jpeg_stdio_src(&c, f);
        if (jpeg_read_header(&c, TRUE) == JPEG_HEADER_OK) {
            *w = (int)c.image_width;
            *h = (int)c.image_height;
            ok = true;
        }
    }
    jpeg_destroy_decompress(&c);
    fclose(f);
    return ok;
}

/* ------------------------------------------------------------------------ */

/* Waits up to 10 s for path to exist. */
static bool appears(const char *path)
{
    double t0 = now_s();
    while (!exists(path) && now_s() - t0 < 10)
        sleep_s(0.005);
    return exists(path);
}

/* --files-from - fed by an endless producer (inotifywait -m ... | thumbd
 * --files-from - ...): each listed file is done as it comes, not once the
 * list ends; SIGTERM ends the run at once, with the records of what was
 * done. */
static void test_files_from_stream(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], fifo[600], p[900];
    fresh(in, sizeof in, "ffs-in");
    fresh(out, sizeof out, "ffs-out");
    pathf(rep, sizeof rep, "%s/ffs.jsonl", g_root);
    pathf(fifo, sizeof fifo, "%s/ffs.fifo", g_root);
    make_small_tree(in);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* Opened first, and read-write: e2e_start returns only once the child
     * has opened its stdin, which for a FIFO waits for a writer. */
    int w = open(fifo, O_RDWR | O_CLOEXEC);
    assert_true(w >= 0);
    io o = {.in = fifo};
    e2e_child pid = SPAWN(&o, "-r", rep, "--files-from", "-", in, out);
    assert_int_equal(write(w, "a.jpg\n", 6), 6);
    pathf(p, sizeof p, "%s/a.jpg", out);
    if (!appears(p))
        fail_msg("a.jpg, listed on a pipe still open, was not made within 10 s");
    assert_int_equal(write(w, "sub/c.jpg\n", 10), 10);
    pathf(p, sizeof p, "%s/sub/c.jpg", out);
    if (!appears(p))
        fail_msg("sub/c.jpg, listed second, was not made within 10 s");
    double t0 = now_s();
    kill(pid.pid, SIGTERM);
    int code = finish(&pid, 10);
    double took = now_s() - t0;
    close(w);
    expect_exit(code, 143);
    if (took > 3)
        fail_msg("thumbd took %.1f s to stop while waiting for its list", took);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 2);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "sub/c.jpg", "ok");
    e2e_report_free(&r);
    unlink(fifo);
}

/* 3. --files-from                                                            */

static void test_files_from_list(void **state)
{
    (void)state;
    char base[600], in[700], out[700], rep[600], list[600], outside[700], outside_out[700];
    fresh(base, sizeof base, "ff");
    pathf(in, sizeof in, "%s/in", base);
    pathf(out, sizeof out, "%s/o/out", base);
    pathf(rep, sizeof rep, "%s/ff.jsonl", g_root);
    pathf(list, sizeof list, "%s/ff.list", g_root);
    make_small_tree(in);
    char p[900];
    pathf(p, sizeof p, "%s/notes.txt", in);
    WRITE_LIT(p, "not an image\n");
    /* A real image just outside IN_DIR: "../outside.jpg" from IN_DIR. Its
     * thumbnail would land at <base>/o/outside.jpg. */
    pathf(outside, sizeof outside, "%s/outside.jpg", base);
    write_jpeg(outside, 120, 90, 9);
    pathf(outside_out, sizeof outside_out, "%s/o/outside.jpg", base);

    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(ino >= 0);
    assert_true(inotify_add_watch(ino, base, IN_OPEN | IN_ACCESS) >= 0);

    char text[4096];
    pathf(text, sizeof text,
          "./a.jpg\n"
          "sub/c.jpg\r\n"
          "missing.jpg\n"
          "../outside.jpg\n"
          "sub/../../outside.jpg\n"
          "%s\n"
          "/etc/x.jpg\n"
          "notes.txt\n"
          "sub\n"
          "\n",
          outside);
    write_text(list, text, strlen(text));
    expect_exit(RUN(NULL, "-r", rep, "--files-from", list, in, out), 1);

    e2e_report r = load_report(rep);
    expect_status(&r, "a.jpg", "ok");            /* "./" dropped */
    expect_status(&r, "sub/c.jpg", "ok");        /* CRLF accepted */
    const e2e_jrec *x = expect_status(&r, "missing.jpg", "failed");
    if (!strstr(str(x, "error"), "--files-from"))
        fail_msg("missing.jpg: the error does not mention --files-from: %s", str(x, "error"));
    const char *leaving[] = {"../outside.jpg", "sub/../../outside.jpg", outside, "/etc/x.jpg"};
    for (int i = 0; i < 4; i++) {
        x = expect_status(&r, leaving[i], "failed");
        if (!strstr(str(x, "error"), "leaves IN_DIR"))
            fail_msg("%s: the error does not say it leaves IN_DIR: %s", leaving[i],
                     str(x, "error"));
        assert_string_equal(str(x, "out"), "");
    }
    assert_int_equal(r.n, 7); /* notes.txt, the directory, the empty line: none */
    e2e_report_free(&r);

    /* Exactly the listed images were thumbnailed. */
    strlist got = tree(out), want = {0};
    strlist_add(&want, "a.jpg");
    strlist_add(&want, "sub/c.jpg");
    sl_assert_same(&got, &want, "the thumbnails of a --files-from run");
    strlist_free(&got);
    strlist_free(&want);
    assert_false(exists(outside_out));

    /* Nothing outside IN_DIR was opened. */
    _Alignas(struct inotify_event) char ev[8192];
    ssize_t n;
    while ((n = read(ino, ev, sizeof ev)) > 0) {
        for (char *q = ev; q < ev + n;) {
            struct inotify_event *e = (struct inotify_event *)(void *)q;
            if (e->len && !strcmp(e->name, "outside.jpg"))
                fail_msg("thumbd opened or read %s", outside);
            q += sizeof *e + e->len;
        }
    }
    close(ino);
}

static void test_files_from_stdin_nul(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], p[900];
    fresh(in, sizeof in, "ff0-in");
    fresh(out, sizeof out, "ff0-out");
    pathf(rep, sizeof rep, "%s/ff0.jsonl", g_root);
    pathf(list, sizeof list, "%s/ff0.list", g_root);
    make_small_tree(in);
    pathf(p, sizeof p, "%s/odd\nname.jpg", in); /* why -0 exists */
    write_jpeg(p, 200, 100, 11);
    static const char text[] = "./a.jpg\0odd\nname.jpg\0sub/d.png\0notes.txt\0";
    write_text(list, text, sizeof text - 1);
    io o = {.in = list};
    expect_exit(RUN(&o, "-r", rep, "--files-from", "-", "-0", in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 3);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "odd\nname.jpg", "ok");
    expect_status(&r, "sub/d.png", "ok");
    e2e_report_free(&r);
    strlist got = tree(out), want = {0};
    strlist_add(&want, "a.jpg");
    strlist_add(&want, "odd\nname.jpg");
    strlist_add(&want, "sub/d.png");
    sl_assert_same(&got, &want, "the thumbnails of a --files-from - -0 run");
    strlist_free(&got);
    strlist_free(&want);

    /* The same list newline-separated from stdin, without -0. */
    fresh(out, sizeof out, "ff0-out2");
    WRITE_LIT(list, "sub/c.jpg\nb.jpg\n");
    expect_exit(RUN(&o, "-r", rep, "--files-from", "-", in, out), 0);
    r = load_report(rep);
    assert_int_equal(r.n, 2);
    expect_status(&r, "sub/c.jpg", "ok");
    expect_status(&r, "b.jpg", "ok");
    e2e_report_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 4. Shards                                                                  */

/* The set of src of the records of a report (all statuses). */
static strlist report_srcs(const char *rep, const char *status)
{
    e2e_report r = load_report(rep);
    strlist l = {0};
    for (int i = 0; i < r.n; i++) {
        if (status && strcmp(str(&r.v[i], "status"), status))
            fail_msg("%s: '%s' is %s (%s), expected %s", rep, str(&r.v[i], "src"),
                     str(&r.v[i], "status"), str(&r.v[i], "error"), status);
        if (strlist_has(&l, str(&r.v[i], "src")))
            fail_msg("%s: two records for '%s'", rep, str(&r.v[i], "src"));
        strlist_add(&l, str(&r.v[i], "src"));
    }
    e2e_report_free(&r);
    strlist_sort(&l);
    return l;
}

/* A shard's first run keeps the fingerprints of shards that ran before it
 * with the same options: their next runs skip what they made. */
static void test_shard_first_run_keeps_others(void **state)
{
    (void)state;
    char in[600], out[600], rep[600];
    fresh(in, sizeof in, "shk-in");
    fresh(out, sizeof out, "shk-out");
    pathf(rep, sizeof rep, "%s/shk.jsonl", g_root);
    make_small_tree(in);
    expect_exit(RUN(NULL, "--shard", "0/2", "-r", rep, in, out), 0);
    strlist made = report_srcs(rep, "ok");
    expect_exit(RUN(NULL, "--shard", "1/2", "-r", rep, in, out), 0);
    strlist_free(&made);
    expect_exit(RUN(NULL, "--shard", "0/2", "-r", rep, in, out), 0);
    strlist again = report_srcs(rep, "skipped");
    assert_true(again.n > 0);
    strlist_free(&again);
}

static void test_shards_partition_the_tree(void **state)
{
    (void)state;
    char out[600], one[600], rep[3][700], log[3][700];
    fresh(out, sizeof out, "shard-out");
    fresh(one, sizeof one, "shard-one");
    /* --wait-lock: shards that start at the same moment can collide on
     * the OUT_DIR lock (see test_shards_started_together). */
    e2e_child pid[3];
    char spec[3][8];
    for (int k = 0; k < 3; k++) {
        pathf(rep[k], sizeof rep[k], "%s/shard%d.jsonl", g_root, k);
        pathf(log[k], sizeof log[k], "%s/shard%d.log", g_root, k);
        pathf(spec[k], sizeof spec[k], "%d/3", k);
    }
    for (int k = 0; k < 3; k++) {
        io o = {.err = log[k]};
        pid[k] = SPAWN(&o, "-j", "1", "--fit", "inside", "--wait-lock", "30", "--shard", spec[k],
                       "-r", rep[k], g_shard_in, out);
    }
    for (int k = 0; k < 3; k++) {
        int code = finish(&pid[k], RUN_TIMEOUT_S);
        if (code != 0)
            fail_msg("shard %s exited %d: %s", spec[k], code, e2e_slurp(log[k], NULL));
    }
    /* Every image in exactly one shard, all ok. */
    strlist uni = {0};
    for (int k = 0; k < 3; k++) {
        strlist s = report_srcs(rep[k], "ok");
        if (s.n < 5)
            fail_msg("shard %s got only %d of %d images", spec[k], s.n, g_shard_images.n);
        for (int i = 0; i < s.n; i++) {
            if (strlist_has(&uni, s.v[i]))
                fail_msg("'%s' is in two shards", s.v[i]);
            strlist_add(&uni, s.v[i]);
        }
        strlist_free(&s);
    }
    strlist all = {0};
    for (int i = 0; i < g_shard_images.n; i++)
        strlist_add(&all, g_shard_images.v[i]);
    sl_assert_same(&uni, &all, "the images of the three shards and the images of the tree");
    strlist_free(&uni);
    strlist_free(&all);

    /* The same output as one unsharded run: same files, same sizes. */
    expect_exit(RUN(NULL, "-j", "2", "--fit", "inside", g_shard_in, one), 0);
    strlist a = tree(out), b = tree(one);
    sl_assert_same(&a, &b, "the sharded and unsharded output trees");
    assert_int_equal(a.n, g_shard_images.n);
    for (int i = 0; i < a.n; i++) {
        char pa[900], pb[900];
        int wa = 0, ha = 0, wb = 0, hb = 0;
        pathf(pa, sizeof pa, "%s/%s", out, a.v[i]);
        pathf(pb, sizeof pb, "%s/%s", one, a.v[i]);
        if (!image_dims(pa, &wa, &ha) || !image_dims(pb, &wb, &hb))
            fail_msg("%s: not a readable image", a.v[i]);
        if (wa != wb || ha != hb)
            fail_msg("%s: %dx%d sharded, %dx%d unsharded", a.v[i], wa, ha, wb, hb);
    }
    strlist_free(&a);
    strlist_free(&b);
    assert_int_equal(count_temps(out), 0);

    /* A second sharded pass skips everything (each shard's fingerprint). */
    for (int k = 0; k < 3; k++) {
        expect_exit(RUN(NULL, "-j", "1", "--fit", "inside", "--shard", spec[k], "-r", rep[k],
                        g_shard_in, out), 0);
        strlist s = report_srcs(rep[k], "skipped");
        strlist_free(&s);
    }
}

static void test_shard_from_environment(void **state)
{
    (void)state;
    char out[600], rep[600];
    fresh(out, sizeof out, "shenv-out");
    pathf(rep, sizeof rep, "%s/shenv.jsonl", g_root);
    /* The reference selections. */
    expect_exit(RUN(NULL, "--shard", "1/3", "-r", rep, g_shard_in, out), 0);
    strlist s1 = report_srcs(rep, NULL);
    expect_exit(RUN(NULL, "--shard", "2/3", "-r", rep, g_shard_in, out), 0);
    strlist s2 = report_srcs(rep, NULL);
    assert_true(s1.n > 0 && s2.n > 0);

    io k8s = {.env = {"JOB_COMPLETION_INDEX=1", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&k8s, "-r", rep, g_shard_in, out), 0);
    strlist got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s1, "JOB_COMPLETION_INDEX=1 THUMBD_SHARDS=3 vs --shard 1/3");
    strlist_free(&got);

    io aws = {.env = {"AWS_BATCH_JOB_ARRAY_INDEX=1", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&aws, "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s1, "AWS_BATCH_JOB_ARRAY_INDEX=1 THUMBD_SHARDS=3 vs --shard 1/3");
    strlist_free(&got);

    /* --shard wins over the environment. */
    expect_exit(RUN(&k8s, "--shard", "2/3", "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s2, "--shard 2/3 with JOB_COMPLETION_INDEX=1 vs --shard 2/3");
    strlist_free(&got);

    /* A job index without THUMBD_SHARDS: the whole tree. */
    io idx_only = {.env = {"JOB_COMPLETION_INDEX=1", NULL}};
    expect_exit(RUN(&idx_only, "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    assert_int_equal(got.n, g_shard_images.n);
    strlist_free(&got);
    strlist_free(&s1);
    strlist_free(&s2);

    /* Bad values: usage errors. */
    static const char *const bad[] = {"3/3", "1/0", "x", "-1/3", "1/", "/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int code = RUN(NULL, "--shard", bad[i], g_shard_in, out);
        if (code != 2)
            fail_msg("--shard %s: exit %d, expected 2", bad[i], code);
    }
    io bad_idx = {.env = {"JOB_COMPLETION_INDEX=3", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&bad_idx, g_shard_in, out), 2);
    io bad_n = {.env = {"JOB_COMPLETION_INDEX=0", "THUMBD_SHARDS=x", NULL}};
    expect_exit(RUN(&bad_n, g_shard_in, out), 2);
    assert_true(e2e_file_has(g_last_err, "THUMBD_SHARDS"));
}

/* ------------------------------------------------------------------------ */
/* 5. THUMBD_* environment                                                    */

static void test_environment_options(void **state)
{
    (void)state;
    char in[600], p[900];
    fresh(in, sizeof in, "env-in");
    pathf(p, sizeof p, "%s/p.jpg", in);
    write_jpeg(p, 400, 300, 21);

    /* Output of p.jpg with the given environment and flags. */
    struct {
        const char *name, *env, *a1, *a2;
        char path[700];
    } runs[] = {
        {"env-def", NULL, NULL, NULL, ""},
        {"env-q50", NULL, "-q", "50", ""},
        {"env-e50", "THUMBD_QUALITY=50", NULL, NULL, ""},
        {"env-e50-q85", "THUMBD_QUALITY=50", "-q", "85", ""},
        {"env-inside", "THUMBD_FIT=inside", NULL, NULL, ""},
        {"env-inside-cover", "THUMBD_FIT=inside", "--fit", "cover", ""},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char out[600];
        fresh(out, sizeof out, runs[i].name);
        io o = {.env = {runs[i].env, NULL}};
        int code = runs[i].a1 ? RUN(&o, runs[i].a1, runs[i].a2, in, out) : RUN(&o, in, out);
        expect_exit(code, 0);
        pathf(runs[i].path, sizeof runs[i].path, "%s/p.jpg", out);
    }
    /* THUMBD_QUALITY=50 is -q 50 (same bytes), not the default. */
    assert_true(same_bytes(runs[2].path, runs[1].path));
    assert_false(same_bytes(runs[2].path, runs[0].path));
    struct stat a, b;
    assert_int_equal(stat(runs[0].path, &a), 0);
    assert_int_equal(stat(runs[2].path, &b), 0);
    if (b.st_size >= a.st_size)
        fail_msg("THUMBD_QUALITY=50 made %lld bytes, the default %lld", (long long)b.st_size,
                 (long long)a.st_size);
    /* The flag wins. */
    assert_true(same_bytes(runs[3].path, runs[0].path));
    /* THUMBD_FIT=inside: 400x300 into 200x200 is 200x150; --fit cover wins. */
    int w, h;
    assert_true(image_dims(runs[4].path, &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 150);
    assert_true(image_dims(runs[5].path, &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 200);

    /* Bad values: exit 2, naming the variable. */
    char out[600];
    fresh(out, sizeof out, "env-bad");
    static const char *const bad[][2] = {
        {"THUMBD_QUALITY=999", "THUMBD_QUALITY"},
        {"THUMBD_FIT=sideways", "THUMBD_FIT"},
        {"THUMBD_FORCE=maybe", "THUMBD_FORCE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        io o = {.env = {bad[i][0], NULL}};
        expect_exit(RUN(&o, in, out), 2);
        if (!e2e_file_has(g_last_err, bad[i][1]))
            fail_msg("%s: the message does not name %s: %s", bad[i][0], bad[i][1],
                     e2e_slurp(g_last_err, NULL));
    }
    assert_false(exists(out)); /* a usage error touches nothing */
}

/* ------------------------------------------------------------------------ */
/* Regressions: bugs found by these tests, since fixed                        */

/* Shards of one split started at the same moment (a Kubernetes Indexed Job,
 * an AWS Batch array), without --wait-lock, must all run. A shard may hold
 * OUT_DIR's lock exclusively for an instant (to look for a killed run's
 * marker) before it downgrades to shared; the others must wait for it
 * rather than exit 75. (Before the fix: 1 start in 10 failed.) */
static void test_shards_started_together(void **state)
{
    (void)state;
    char in[600], out[600], log[3][700];
    fresh(in, sizeof in, "race-in");
    make_small_tree(in);
    int failures = 0;
    for (int round = 0; round < 30; round++) {
        fresh(out, sizeof out, "race-out");
        e2e_child pid[3];
        char spec[3][8];
        for (int k = 0; k < 3; k++) {
            pathf(log[k], sizeof log[k], "%s/race%d.log", g_root, k);
            pathf(spec[k], sizeof spec[k], "%d/3", k);
            io o = {.err = log[k]};
            pid[k] = SPAWN(&o, "--quiet", "--shard", spec[k], in, out);
        }
        for (int k = 0; k < 3; k++) {
            int code = finish(&pid[k], RUN_TIMEOUT_S);
            if (code != 0) {
                char *e = e2e_slurp(log[k], NULL);
                printf("  round %d: shard %s exited %d: %s", round, spec[k], code, e ? e : "");
                free(e);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* --files-from applies the collision rule of a tree walk: with a.jpg and an
 * opaque a.png listed together, a.jpg is thumbnailed and a.png fails (they
 * used to both get `ok` with the same `out`, the last one winning). */
static void test_files_from_name_collision(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], p[900];
    fresh(in, sizeof in, "coll-in");
    fresh(out, sizeof out, "coll-out");
    pathf(rep, sizeof rep, "%s/coll.jsonl", g_root);
    pathf(list, sizeof list, "%s/coll.list", g_root);
    pathf(p, sizeof p, "%s/a.jpg", in);
    write_jpeg(p, 300, 200, 60);
    pathf(p, sizeof p, "%s/a.png", in);
    write_png(p, 300, 200, 61, false);
    WRITE_LIT(list, "a.jpg\na.png\n");
    RUN(NULL, "-r", rep, "--files-from", list, in, out);
    e2e_report r = load_report(rep);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "a.png", "failed");
    e2e_report_free(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_from_list),
        cmocka_unit_test(test_files_from_stdin_nul),
        cmocka_unit_test(test_files_from_stream),
        cmocka_unit_test(test_shards_partition_the_tree),
        cmocka_unit_test(test_shard_first_run_keeps_others),
        cmocka_unit_test(test_shard_from_environment),
        cmocka_unit_test(test_environment_options),
        cmocka_unit_test(test_shards_started_together),
        cmocka_unit_test(test_files_from_name_collision),
    };
    return ops_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
