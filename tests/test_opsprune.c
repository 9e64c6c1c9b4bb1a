/* End-to-end tests of thumbd's operations, part 3: --metrics, --prune, -v,
 * OUT_DIR inside IN_DIR (helpers: ops_util.h). */
#include "ops_util.h"

/* ------------------------------------------------------------------------ */
/* 6. --metrics                                                               */

typedef struct metric {
    char key[256];     /* name{labels} as written */
    char value[64];
} metric;

typedef struct metrics {
    metric v[64];
    int n;
} metrics;

/* Parses a Prometheus text exposition strictly enough for a textfile
 * collector: HELP/TYPE comments, then `name{l="v",...} value` samples, each
 * metric typed once, before its samples. */
static void load_metrics(const char *path, metrics *m)
{
    memset(m, 0, sizeof *m);
    size_t len;
    char *text = e2e_slurp(path, &len);
    if (!text)
        fail_msg("no metrics file %s", path);
    assert_true(len > 0 && text[len - 1] == '\n');
    regex_t sample, help, type;
    assert_int_equal(regcomp(&sample,
                             "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                             "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})?"
                             " ([^ ]+)$",
                             REG_EXTENDED), 0);
    assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^ ].*$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$",
                             REG_EXTENDED), 0);
    strlist typed = {0};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t g[5];
        char name[128];
        if (line[0] == '#') {
            if (!regexec(&type, line, 3, g, 0)) {
                pathf(name, sizeof name, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), line + g[1].rm_so);
                if (strlist_has(&typed, name))
                    fail_msg("metrics: %s typed twice", name);
                strlist_add(&typed, name);
            } else if (regexec(&help, line, 0, NULL, 0)) {
                fail_msg("metrics: a comment that is neither HELP nor TYPE: '%s'", line);
            }
            continue;
        }
        if (regexec(&sample, line, 5, g, 0))
            fail_msg("metrics: not a sample line: '%s'", line);
        pathf(name, sizeof name, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), line + g[1].rm_so);
        if (!strlist_has(&typed, name))
            fail_msg("metrics: %s has no TYPE before its sample", name);
        const char *v = line + g[4].rm_so;
        char *end;
        strtod(v, &end);
        if (end == v || *end)
            fail_msg("metrics: bad value in '%s'", line);
        assert_true(m->n < 64);
        metric *x = &m->v[m->n++];
        pathf(x->key, sizeof x->key, "%.*s", (int)(g[4].rm_so - 1), line);
        pathf(x->value, sizeof x->value, "%s", v);
        for (int i = 0; i < m->n - 1; i++)
            if (!strcmp(m->v[i].key, x->key))
                fail_msg("metrics: %s twice", x->key);
    }
    strlist_free(&typed);
    regfree(&sample);
    regfree(&help);
    regfree(&type);
    free(text);
}

static const char *metric_value(const metrics *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key))
            return m->v[i].value;
    fail_msg("metrics: no %s", key);
    return NULL;
}

/* The metrics agree with the report and the exit code. */
static void check_metrics(const metrics *m, const char *rep, int code)
{
    e2e_report r = load_report(rep);
    static const char *const statuses[] = {"ok", "failed", "skipped", "cancelled", "pruned"};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char key[64];
        pathf(key, sizeof key, "thumbd_images{status=\"%s\"}", statuses[i]);
        long got = atol(metric_value(m, key));
        if (got != e2e_report_count(&r, statuses[i]))
            fail_msg("metrics: %s = %ld, the report has %d", key, got,
                     e2e_report_count(&r, statuses[i]));
    }
    assert_int_equal(atoi(metric_value(m, "thumbd_run_exit_code")), code);
    e2e_report_free(&r);
}

static void test_metrics_prometheus(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], mdir[600], prom[700], p[900];
    fresh(in, sizeof in, "m-in");
    fresh(out, sizeof out, "m-out");
    fresh(mdir, sizeof mdir, "m-metrics");
    pathf(rep, sizeof rep, "%s/m.jsonl", g_root);
    pathf(prom, sizeof prom, "%s/thumbd.prom", mdir);
    mkdirs(mdir, true);
    make_small_tree(in);
    metrics *m = calloc(1, sizeof *m);
    assert_non_null(m);

    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 0);
    load_metrics(prom, m);
    check_metrics(m, rep, 0);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"ok\"}")), SMALL_N);
    char first[64];
    pathf(first, sizeof first, "%s", metric_value(m, "thumbd_last_success_timestamp_seconds"));
    double t = atof(first);
    double wall = (double)time(NULL);
    if (t < wall - 60 || t > wall + 60)
        fail_msg("thumbd_last_success_timestamp_seconds %s is not now (%.0f)", first, wall);

    /* Another run exiting 0 moves the success time. */
    sleep_s(0.05);
    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 0);
    load_metrics(prom, m);
    check_metrics(m, rep, 0);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"skipped\"}")), SMALL_N);
    char second[64];
    pathf(second, sizeof second, "%s", metric_value(m, "thumbd_last_success_timestamp_seconds"));
    if (!(atof(second) > atof(first)))
        fail_msg("a run exiting 0 did not update the success time (%s, then %s)", first, second);

    /* A run exiting 1 keeps it. */
    pathf(p, sizeof p, "%s/corrupt.jpg", in);
    WRITE_LIT(p, "\xff\xd8\xff\xe0 this is not a JPEG");
    sleep_s(0.05);
    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 1);
    load_metrics(prom, m);
    check_metrics(m, rep, 1);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"failed\"}")), 1);
    assert_string_equal(metric_value(m, "thumbd_last_success_timestamp_seconds"), second);
    if (!(atof(metric_value(m, "thumbd_last_run_timestamp_seconds")) > atof(second)))
        fail_msg("thumbd_last_run_timestamp_seconds did not move");

    /* Nothing else next to it (no temporary file). */
    strlist t2 = tree(mdir);
    assert_int_equal(t2.n, 1);
    assert_string_equal(t2.v[0], "thumbd.prom");
    strlist_free(&t2);
    free(m);
}

/* ------------------------------------------------------------------------ */
/* 7. --prune                                                                 */

static void test_prune(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900];
    fresh(in, sizeof in, "pr-in");
    fresh(out, sizeof out, "pr-out");
    pathf(rep, sizeof rep, "%s/pr.jsonl", g_root);
    static const char *const srcs[] = {"a.jpg", "gone.jpg", "sub/x.jpg", "sub/y.jpg",
                                       "old/z.jpg", "old/deeper/w.jpg", "keep/k.png"};
    for (int i = 0; i < 7; i++) {
        pathf(p, sizeof p, "%s/%s", in, srcs[i]);
        if (strstr(srcs[i], ".png"))
            write_png(p, 150, 150, (unsigned)i, true);
        else
            write_jpeg(p, 150, 120, (unsigned)i + 40);
    }
    expect_exit(RUN(NULL, in, out), 0);
    /* Unrelated files in OUT_DIR. */
    static const char *const mine[] = {"notes.txt", "anim.gif", "sub/README", "old/deeper/keep.gif"};
    for (int i = 0; i < 4; i++) {
        pathf(p, sizeof p, "%s/%s", out, mine[i]);
        WRITE_LIT(p, "mine\n");
    }
    /* Remove sources: one file, one in a subdirectory, a whole directory
     * tree (old/), and one directory's only file (keep/ keeps its file). */
    pathf(p, sizeof p, "%s/gone.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/y.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/old", in);
    rm_tree(p);

    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    strlist pruned = {0}, want = {0};
    for (int i = 0; i < r.n; i++)
        if (!strcmp(str(&r.v[i], "status"), "pruned"))
            strlist_add(&pruned, str(&r.v[i], "out"));
    strlist_add(&want, "gone.jpg");
    strlist_add(&want, "sub/y.jpg");
    strlist_add(&want, "old/z.jpg");
    strlist_add(&want, "old/deeper/w.jpg");
    sl_assert_same(&pruned, &want, "the pruned records");
    assert_int_equal(e2e_report_count(&r, "skipped"), 3);
    assert_int_equal(r.n, 3 + 4);
    e2e_report_free(&r);
    strlist_free(&pruned);
    strlist_free(&want);

    strlist got = tree(out);
    static const char *const left[] = {"a.jpg", "sub/x.jpg", "keep/k.png", "notes.txt",
                                       "anim.gif", "sub/README", "old/deeper/keep.gif"};
    for (int i = 0; i < 7; i++)
        strlist_add(&want, left[i]);
    sl_assert_same(&got, &want, "OUT_DIR after --prune");
    strlist_free(&got);
    strlist_free(&want);
    pathf(p, sizeof p, "%s/.thumbd.lock", out);
    assert_true(exists(p));
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_true(exists(p));

    /* An emptied output directory goes; one with an unrelated file stays. */
    pathf(p, sizeof p, "%s/old/deeper/keep.gif", out);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/x.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/README", out);
    assert_int_equal(unlink(p), 0);
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 1);
    e2e_report_free(&r);
    pathf(p, sizeof p, "%s/sub", out);
    if (exists(p))
        fail_msg("the emptied output directory sub/ was not removed");

    /* Once more: nothing left to prune. */
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 0);
    e2e_report_free(&r);

    /* Not with a partial view of the tree. */
    char list[600];
    pathf(list, sizeof list, "%s/pr.list", g_root);
    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "--prune", "--files-from", list, in, out), 2);
    expect_exit(RUN(NULL, "--prune", "--shard", "0/2", in, out), 2);
    io k8s = {.env = {"JOB_COMPLETION_INDEX=0", "THUMBD_SHARDS=2", NULL}};
    expect_exit(RUN(&k8s, "--prune", in, out), 2);
    pathf(p, sizeof p, "%s/a.jpg", out);
    assert_true(exists(p));
}

/* The whole removed source directory: its output subtree goes entirely,
 * and so do the memos of its directories. */
static void test_prune_removed_directory(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900];
    fresh(in, sizeof in, "prd-in");
    fresh(out, sizeof out, "prd-out");
    pathf(rep, sizeof rep, "%s/prd.jsonl", g_root);
    pathf(p, sizeof p, "%s/a.jpg", in);
    write_jpeg(p, 150, 120, 50);
    pathf(p, sizeof p, "%s/dir/b.jpg", in);
    write_jpeg(p, 150, 120, 51);
    pathf(p, sizeof p, "%s/dir/inner/c.jpg", in);
    write_jpeg(p, 150, 120, 52);
    expect_exit(RUN(NULL, in, out), 0);
    sleep_s(1.2); /* MEMO_RACY_S: the next run writes a memo per directory */
    expect_exit(RUN(NULL, in, out), 0);
    assert_int_equal(memo_count(out), 3);
    pathf(p, sizeof p, "%s/dir", in);
    rm_tree(p);
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 2);
    e2e_report_free(&r);
    assert_int_equal(memo_count(out), 1); /* the top directory's */
    pathf(p, sizeof p, "%s/dir", out);
    if (exists(p))
        fail_msg("the output directory of a removed source directory is still there");
    strlist got = tree(out);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0], "a.jpg");
    strlist_free(&got);
}

/* ------------------------------------------------------------------------ */
/* 8. -v                                                                      */

static int count_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    int n = 0;
    regmatch_t m;
    for (const char *p = text; !regexec(&re, p, 1, &m, 0); p += m.rm_eo > 0 ? m.rm_eo : 1)
        n++;
    regfree(&re);
    return n;
}

static void test_verbose_lines(void **state)
{
    (void)state;
    char in[600], out[600], p[900];
    fresh(in, sizeof in, "v-in");
    fresh(out, sizeof out, "v-out");
    make_small_tree(in);
    pathf(p, sizeof p, "%s/bad.jpg", in);
    WRITE_LIT(p, "garbage, not a JPEG at all");

    expect_exit(RUN(NULL, "-v", in, out), 1);
    char *err = e2e_slurp(g_last_err, NULL);
    assert_non_null(err);
    if (strchr(err, '\r'))
        fail_msg("a progress line ('\\r') on a stderr that is not a terminal");
    for (int i = 0; i < SMALL_N; i++) {
        char pat[600];
        pathf(pat, sizeof pat, "^ok {8}%s -> %s \\([0-9]+\\.[0-9] ms\\)$", SMALL_SRC[i], SMALL_OUT[i]);
        if (count_matches(err, pat) != 1)
            fail_msg("no single line /%s/ in:\n%s", pat, err);
    }
    if (count_matches(err, "^failed {4}bad\\.jpg: .+$") != 1)
        fail_msg("no 'failed    bad.jpg: ...' line in:\n%s", err);
    assert_int_equal(count_matches(err, "^(ok|failed|skipped|cancelled|pruned) "), SMALL_N + 1);
    free(err);

    /* Re-run: skipped lines, the known-bad file not decoded again (exit 4);
     * without -v: no per-file lines at all. */
    expect_exit(RUN(NULL, "-v", in, out), 4);
    err = e2e_slurp(g_last_err, NULL);
    assert_int_equal(count_matches(err, "^skipped {3}[^ ]+ -> [^ ]+$"), SMALL_N);
    assert_int_equal(count_matches(err, "^failed {4}bad\\.jpg: known bad, unchanged since it failed: .+$"), 1);
    assert_null(strchr(err, '\r'));
    free(err);
    expect_exit(RUN(NULL, in, out), 4);
    err = e2e_slurp(g_last_err, NULL);
    assert_int_equal(count_matches(err, "^(ok|failed|skipped) "), 0);
    assert_null(strchr(err, '\r'));
    assert_non_null(strstr(err, "thumbd: "));
    free(err);
}

/* OUT_DIR must not be IN_DIR itself (the next run would take the
 * thumbnails for sources); a directory inside IN_DIR is fine and skipped by
 * the scan. */
static void test_out_dir_is_in_dir(void **state)
{
    (void)state;
    char in[600], sub[700];
    fresh(in, sizeof in, "same-in");
    make_small_tree(in);
    io o = {0};
    expect_exit(RUN(&o, in, in), 2);
    if (!e2e_file_has(g_last_err, "OUT_DIR is IN_DIR"))
        fail_msg("the message does not say OUT_DIR is IN_DIR: %s", e2e_slurp(g_last_err, NULL));
    char p[800];
    pathf(p, sizeof p, "%s/.thumbd.lock", in);
    assert_int_equal(access(p, F_OK), -1); /* nothing written into it */
    pathf(sub, sizeof sub, "%s/thumbs", in);
    expect_exit(RUN(&o, in, sub), 0);
    pathf(p, sizeof p, "%s/sub/c.jpg", sub);
    assert_int_equal(access(p, F_OK), 0);
    expect_exit(RUN(&o, in, sub), 0); /* and the re-run does not read thumbs/ */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_prometheus),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_prune_removed_directory),
        cmocka_unit_test(test_verbose_lines),
        cmocka_unit_test(test_out_dir_is_in_dir),
    };
    return ops_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
