/* End-to-end tests of filesystem faults, part 1: symlinks planted in OUT_DIR
 * and in IN_DIR, --follow-symlinks loops (helpers: fsfaults_util.h). */
#include "fsfaults_util.h"

/* ------------------------------------------------------------------------ */
/* (a) symlinks planted in OUT_DIR                                            */

/* out/sub -> a directory outside, out/d1/d2 -> another, out/a.jpg -> a file
 * outside, out/b.jpg -> a name outside that does not exist, and (with the
 * marker of a killed run, so that thumbd sweeps its temporary files) a
 * symlink named like a temporary file -> a file outside, and a directory
 * outside holding a file named like one. Nothing outside OUT_DIR may be
 * written, created or deleted; the sources behind the links are reported. */
/* What test_out_dir_symlinks plants outside OUT_DIR (and checks unchanged). */
static const char precious[] = "precious bytes outside OUT_DIR\n";
static const char victim[] = "a file outside OUT_DIR named like a temporary file\n";

/* IN: five JPEGs, two in subdirectories; outside: the targets; OUT_DIR:
 * symlinks to them at directory, file and temporary-file positions, and a
 * killed run's marker. */
static void plant_out_dir_symlinks(const char *in, const char *out, const char *ext)
{
    char p[PATH_MAX], q[PATH_MAX];
    static const char *const srcs[] = {"a.jpg", "b.jpg", "c.jpg", "sub/x.jpg", "d1/d2/y.jpg"};
    for (size_t i = 0; i < 5; i++) {
        PF(p, "%s/%s", in, srcs[i]);
        char *slash = strrchr(p, '/');
        *slash = '\0';
        mkdir_p(p, 0755);
        *slash = '/';
        write_jpeg(p, 320, 240, false, (unsigned)i);
    }
    PF(p, "%s/dir", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/dir2", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/file.jpg", ext);
    write_file(p, precious, sizeof precious - 1);
    PF(p, "%s/file2", ext);
    write_file(p, precious, sizeof precious - 1);
    PF(p, "%s/dir/.thumbd-tmp-victim", ext);
    write_file(p, victim, sizeof victim - 1);
    PF(p, "%s/d1", out);
    mkdir_p(p, 0755);
    struct {
        const char *link, *target;
    } links[] = {
        {"sub", "dir"}, {"d1/d2", "dir2"}, {"a.jpg", "file.jpg"}, {"b.jpg", "created.jpg"},
        {".thumbd-tmp-zzz", "file2"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        PF(p, "%s/%s", out, links[i].link);
        PF(q, "%s/%s", ext, links[i].target);
        assert_int_equal(symlink(q, p), 0);
    }
    PF(p, "%s/.thumbd.run", out); /* a killed run's marker: the start sweeps */
    mkdir_p(p, 0755);
    PF(p, "%s/.thumbd.run/.thumbd-tmp-running", out);
    write_file(p, "", 0);
}

/* The directory outside OUT_DIR holds what it held before the run, byte for byte. */
static void check_outside_unchanged(const char *ext, const names *before, names *after)
{
    char p[PATH_MAX];
    list_sorted(ext, after);
    CHECK(after->n == before->n, "the directory outside OUT_DIR had %d entries, now %d", before->n,
          after->n);
    for (int i = 0; i < after->n; i++) {
        bool known = false;
        for (int k = 0; k < before->n && !known; k++)
            known = !strcmp(before->v[k], after->v[i]);
        CHECK(known, "thumbd created %s outside OUT_DIR", after->v[i]);
    }
    for (int i = 0; i < before->n; i++) {
        PF(p, "%s/%s", ext, before->v[i]);
        CHECK(access(p, F_OK) == 0, "thumbd deleted %s outside OUT_DIR", before->v[i]);
    }
    PF(p, "%s/file.jpg", ext);
    CHECK(same_bytes(p, precious, sizeof precious - 1), "outside/file.jpg was changed");
    PF(p, "%s/file2", ext);
    CHECK(same_bytes(p, precious, sizeof precious - 1), "outside/file2 was changed");
    PF(p, "%s/dir/.thumbd-tmp-victim", ext);
    CHECK(same_bytes(p, victim, sizeof victim - 1), "outside/dir/.thumbd-tmp-victim was changed");
}

/* Sources behind a directory link in OUT_DIR: refused, saying why (or the link replaced). */
static void check_dir_link_records(const report *rp, const char *out)
{
    char p[PATH_MAX];
    static const char *const under_dir_links[][2] = {{"sub/x.jpg", "sub"}, {"d1/d2/y.jpg", "d1/d2"}};
    for (int i = 0; i < 2; i++) {
        const char *src = under_dir_links[i][0], *dir = under_dir_links[i][1];
        const rec *x = e2e_report_find(rp, src, NULL);
        struct stat sb;
        PF(p, "%s/%s", out, dir);
        bool still_link = lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode);
        printf("  %s: %s %s\n", src, x ? e2e_str(x, "status") : "no record", errof(x));
        if (e2e_is(x, "ok")) {
            CHECK(!still_link, "%s: ok, but %s is still a symlink out of OUT_DIR", src, dir);
        } else {
            CHECK(e2e_is(x, "failed"), "%s: %s, want failed (or ok with the link replaced)", src,
                  x ? e2e_str(x, "status") : "no record");
            CHECK(x && e2e_str(x, "error") &&
                      (strcasestr(e2e_str(x, "error"), "link") || strstr(e2e_str(x, "error"), dir)),
                  "%s: error \"%s\" says nothing of the symlink at %s", src, errof(x), dir);
            CHECK(!x || !e2e_str(x, "out"), "%s: failed with an output", src);
        }
    }
}

/* A file link at the final name: replaced by the thumbnail, or refused. */
static void check_file_link_records(const report *rp, const char *out)
{
    char p[PATH_MAX];
    static const char *const file_links[] = {"a.jpg", "b.jpg"};
    for (int i = 0; i < 2; i++) {
        const rec *x = e2e_report_find(rp, file_links[i], NULL);
        PF(p, "%s/%s", out, file_links[i]);
        struct stat sb;
        printf("  %s: %s %s\n", file_links[i], x ? e2e_str(x, "status") : "no record", errof(x));
        if (e2e_is(x, "ok")) {
            char why[128];
            CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode),
                  "%s: ok, but OUT_DIR/%s is not a regular file", file_links[i], file_links[i]);
            CHECK(complete_file(p, why, sizeof why), "%s: %s", file_links[i], why);
        } else {
            CHECK(e2e_is(x, "failed") && e2e_str(x, "error") && *e2e_str(x, "error"),
                  "%s: %s without a message", file_links[i],
                  x ? e2e_str(x, "status") : "no record");
        }
    }
}

static void test_out_dir_symlinks(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX];
    tpath(in, sizeof in, "a/in");
    tpath(out, sizeof out, "a/out");
    tpath(ext, sizeof ext, "a/outside");
    tpath(rep, sizeof rep, "a/report.jsonl");
    tpath(log, sizeof log, "a/log.txt");
    plant_out_dir_symlinks(in, out, ext);
    names before = {0};
    list_sorted(ext, &before);

    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "out-dir symlinks");

    /* outside: byte for byte what it was */
    names after = {0};
    check_outside_unchanged(ext, &before, &after);

    /* the report */
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0 && r.n == 5, "%d records (%d bad lines), want 5", r.n, r.bad);
    const rec *c = e2e_report_find(&r, "c.jpg", NULL);
    CHECK(e2e_is(c, "ok"), "c.jpg (no link in the way): %s %s",
          c ? e2e_str(c, "status") : "no record", errof(c));
    /* behind a directory link: refused, saying why (or the link replaced) */
    check_dir_link_records(&r, out);
    /* a file link at the final name: replaced by the thumbnail, or refused */
    check_file_link_records(&r, out);
    check_no_temps(out, "out-dir symlinks");
    e2e_report_free(&r);
    strlist_free(&before);
    strlist_free(&after);
    end_checks();
}

/* thumbd's own files in OUT_DIR planted as symlinks to files outside: the
 * state file and the running markers' directory (replaced, not written
 * through), and
 * the lock file (thumbd refuses to run, saying why). The files outside are
 * never written. */
static void test_out_dir_own_files_symlinked(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], log[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
    tpath(in, sizeof in, "a2/in");
    tpath(out, sizeof out, "a2/out");
    tpath(ext, sizeof ext, "a2/outside");
    tpath(log, sizeof log, "a2/log.txt");
    mkdir_p(in, 0755);
    mkdir_p(out, 0755);
    mkdir_p(ext, 0755);
    PF(p, "%s/a.jpg", in);
    write_jpeg(p, 160, 120, false, 1);
    static const char precious[] = "precious bytes outside OUT_DIR\n";
    static const char *const victims[] = {"state", "marker", "lock"};
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/%s", ext, victims[i]);
        write_file(p, precious, sizeof precious - 1);
    }
    static const char *const links[][2] = {{".thumbd.state", "state"}, {".thumbd.run", "marker"}};
    for (int i = 0; i < 2; i++) {
        PF(p, "%s/%s", out, links[i][0]);
        PF(q, "%s/%s", ext, links[i][1]);
        assert_int_equal(symlink(q, p), 0);
    }
    const char *args[] = {in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "state and marker symlinks");
    CHECK(code == 0, "state and marker planted as symlinks: exit %d, want 0", code);
    PF(p, "%s/a.jpg", out);
    char why[128];
    CHECK(complete_file(p, why, sizeof why), "a.jpg: %s", why);

    /* the lock file */
    PF(p, "%s/.thumbd.lock", out);
    unlink(p);
    PF(q, "%s/lock", ext);
    assert_int_equal(symlink(q, p), 0);
    code = run_thumbd(NULL, log, args);
    check_exit(code, "lock symlink");
    printf("  lock file planted as a symlink: exit %d\n", code);
    if (code != 0) {
        uint8_t *d;
        size_t n;
        bool said = read_file(log, &d, &n) == 0;
        if (said) {
            d = realloc(d, n + 1);
            assert_non_null(d);
            d[n] = '\0';
            said = strstr((char *)d, ".thumbd.lock") != NULL;
            free(d);
        }
        CHECK(said, "thumbd failed (exit %d) without naming .thumbd.lock on stderr", code);
    }
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/%s", ext, victims[i]);
        CHECK(same_bytes(p, precious, sizeof precious - 1),
              "outside/%s, the target of a symlink in OUT_DIR, was changed", victims[i]);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (b) symlinks in IN_DIR                                                     */

/* Links to a file and a directory outside IN_DIR, a dangling link and a link
 * to a file inside IN_DIR: none is followed by default (no thumbnail, no ok
 * record); the run is clean (exit 0). */
static void test_in_dir_symlinks_not_followed(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    tpath(in, sizeof in, "b/in");
    tpath(out, sizeof out, "b/out");
    tpath(ext, sizeof ext, "b/outside");
    tpath(rep, sizeof rep, "b/report.jsonl");
    tpath(log, sizeof log, "b/log.txt");
    PF(p, "%s/sub", in);
    mkdir_p(p, 0755);
    PF(p, "%s/imgs", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/good.jpg", in);
    write_jpeg(p, 160, 120, false, 1);
    PF(p, "%s/real.jpg", ext);
    write_jpeg(p, 160, 120, false, 2);
    PF(p, "%s/imgs/img.jpg", ext);
    write_jpeg(p, 160, 120, false, 3);
    struct {
        const char *link;
        char target[PATH_MAX];
    } links[4] = {{"link.jpg", ""}, {"linkdir", ""}, {"dangling.jpg", ""}, {"sub/inner.jpg", ""}};
    pf_fits(snprintf(links[0].target, PATH_MAX, "%s/real.jpg", ext), PATH_MAX);
    pf_fits(snprintf(links[1].target, PATH_MAX, "%s/imgs", ext), PATH_MAX);
    pf_fits(snprintf(links[2].target, PATH_MAX, "%s/nowhere.jpg", ext), PATH_MAX);
    pf_fits(snprintf(links[3].target, PATH_MAX, "../good.jpg"), PATH_MAX);
    for (int i = 0; i < 4; i++) {
        PF(q, "%s/%s", in, links[i].link);
        assert_int_equal(symlink(links[i].target, q), 0);
    }
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "in-dir symlinks");
    CHECK(code == 0, "exit %d, want 0 (links are skipped, not failures)", code);
    report r;
    report_load(rep, &r);
    const rec *g = e2e_report_find(&r, "good.jpg", NULL);
    CHECK(e2e_is(g, "ok"), "good.jpg: %s %s", g ? e2e_str(g, "status") : "no record", errof(g));
    static const char *const srcs[] = {"link.jpg", "linkdir/img.jpg", "dangling.jpg",
                                       "sub/inner.jpg"};
    for (int i = 0; i < 4; i++) {
        const rec *x = e2e_report_find(&r, srcs[i], NULL);
        CHECK(!x || e2e_is(x, "skipped"), "%s (a symlink): %s %s, want no record or skipped",
              srcs[i], e2e_str(x, "status"), errof(x));
        PF(p, "%s/%s", out, srcs[i]);
        CHECK(access(p, F_OK) != 0, "OUT_DIR/%s exists: the link was followed", srcs[i]);
    }
    PF(p, "%s/linkdir", out);
    CHECK(access(p, F_OK) != 0, "OUT_DIR/linkdir exists: the directory link was followed");
    e2e_report_free(&r);
    end_checks();
}

/* With --follow-symlinks: links to an ancestor (loop/self -> IN_DIR,
 * loop/up -> ..), two directories linking to each other, a self-link, a
 * cycle of file links. The run ends; each image is reached a bounded
 * number of times (once per distinct path without a loop). */
static void test_follow_symlinks_loops_end(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    tpath(in, sizeof in, "b2/in");
    tpath(out, sizeof out, "b2/out");
    tpath(ext, sizeof ext, "b2/outside");
    tpath(rep, sizeof rep, "b2/report.jsonl");
    tpath(log, sizeof log, "b2/log.txt");
    static const char *const dirs[] = {"loop", "l2", "l3", "cyc"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, dirs[i]);
        mkdir_p(p, 0755);
    }
    mkdir_p(ext, 0755);
    static const char *const imgs[] = {"good.jpg", "loop/img.jpg", "l2/p.jpg", "l3/q.jpg"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, imgs[i]);
        write_jpeg(p, 120, 90, false, (unsigned)i);
    }
    PF(p, "%s/real.jpg", ext);
    write_jpeg(p, 120, 90, false, 9);
    struct {
        const char *link;
        char target[PATH_MAX];
    } links[] = {{"loop/self", ""}, {"loop/up", ".."},    {"l2/x", "../l3"},
                 {"l3/y", "../l2"}, {"selfie", "selfie"}, {"cyc/a.jpg", "b.jpg"},
                 {"cyc/b.jpg", "a.jpg"}, {"link.jpg", ""}};
    pf_fits(snprintf(links[0].target, PATH_MAX, "%s", in), PATH_MAX);
    pf_fits(snprintf(links[7].target, PATH_MAX, "%s/real.jpg", ext), PATH_MAX);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        PF(q, "%s/%s", in, links[i].link);
        assert_int_equal(symlink(links[i].target, q), 0);
    }
    const char *args[] = {"--follow-symlinks", "--report", rep, in, out, NULL};
    proc pr = start(NULL, log, args);
    finish(&pr, 30);
    check_exit(pr.code, "--follow-symlinks loops");
    CHECK(pr.code == 0 || pr.code == 1, "exit %d", pr.code);
    report r;
    report_load(rep, &r);
    static const char *const want_ok[] = {"good.jpg", "loop/img.jpg", "l2/p.jpg", "l3/q.jpg",
                                          "l2/x/q.jpg", "l3/y/p.jpg", "link.jpg"};
    for (size_t i = 0; i < sizeof want_ok / sizeof want_ok[0]; i++) {
        int count;
        const rec *x = e2e_report_find(&r, want_ok[i], &count);
        CHECK(count == 1 && e2e_is(x, "ok"), "%s: %d records, %s %s (want one, ok)", want_ok[i],
              count, x ? e2e_str(x, "status") : "-", errof(x));
    }
    for (int i = 0; i < r.n; i++) {
        const rec *x = &r.v[i];
        CHECK(!strstr(e2e_str(x, "src"), "self/") && !strstr(e2e_str(x, "src"), "up/") &&
                  !strstr(e2e_str(x, "src"), "selfie"),
              "a record through a loop: %s", e2e_str(x, "src"));
        if (!strncmp(e2e_str(x, "src"), "cyc/", 4))
            CHECK(e2e_is(x, "failed") && e2e_str(x, "error") && *e2e_str(x, "error"),
                  "%s (a cycle of links): %s %s", e2e_str(x, "src"), e2e_str(x, "status"),
                  errof(x));
    }
    printf("  %d records\n", r.n);
    CHECK(r.n <= 10, "%d records for 5 images (a loop was walked)", r.n);
    e2e_report_free(&r);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_dir_symlinks),
        cmocka_unit_test(test_out_dir_own_files_symlinked),
        cmocka_unit_test(test_in_dir_symlinks_not_followed),
        cmocka_unit_test(test_follow_symlinks_loops_end),
    };
    return fsfaults_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
