/* End-to-end tests on hostile input, part 2: inflate bombs, PNG chunk attacks,
 * many scans, deep trees, --max-scans, --max-dimension, memory per file
 * (helpers: hostile_util.h). */
#include "hostile_util.h"

static const char *status_of(const rec *r)
{
    return e2e_str_or(r, "status", "no record");
}

static const char *error_of(const rec *r)
{
    return e2e_str_or(r, "error", "null");
}

/* PNGs whose IDAT inflates to 2 GiB of zeros: 10000x10000 grey (100 MB
 * raw, within --max-pixels) and 2000x2000 grey. thumbd needs only the rows
 * the header declares, so each must cost about what the same image with an
 * honest stream costs (README: "A PNG whose image data inflates past its
 * declared size is never inflated further"), not the time to inflate 2 GiB
 * (seconds). Bound: the honest twin's decode time + max(1 s, that time).
 * Memory: test_peak_memory_bounded. */
static void test_idat_bomb_costs_its_declared_size(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const pairs[2][2] = {
        {"bomb/idat_bomb.png", "bomb/idat_exact.png"},
        {"bomb/idat_bomb_2000.png", "bomb/idat_exact_2000.png"},
    };
    for (int i = 0; i < 2; i++) {
        const rec *bomb = main_rec(pairs[i][0]), *exact = main_rec(pairs[i][1]);
        if (!bomb || !exact)
            continue;
        double tb = e2e_num(bomb, "decode_ms"), te = e2e_num(exact, "decode_ms");
        printf("  %s: %s, decode %.0f ms; %s: %s, decode %.0f ms\n", pairs[i][0],
               status_of(bomb), tb, pairs[i][1], status_of(exact), te);
        check_ok(r, exact, pairs[i][1]);
        if (e2e_is(bomb, "ok"))
            check_ok(r, bomb, pairs[i][0]);
        else
            check_failed_rec(r, bomb, pairs[i][0]);
        double bound = te + fmax(1000.0, te);
        CHECK(tb <= bound,
              "%s: decoding took %.0f ms, over %.0f ms (the %.0f ms of the same image with an "
              "honest stream, + max(1 s, that)): the 2 GiB past the declared rows were inflated",
              pairs[i][0], tb, bound, te);
    }
    end_checks();
}

/* zTXt and iCCP bombs (2 GiB inflated), 50000 tEXt chunks, a 1 MiB private
 * chunk: thumbnailed (the chunks are skipped or capped) or refused with a
 * message, and quickly. */
static void test_png_chunk_attacks_cheap(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const files[] = {"chunks/ztxt_bomb.png", "chunks/iccp_bomb.png",
                                        "chunks/many_text.png", "chunks/big_private.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const rec *x = main_rec(files[i]);
        if (!x)
            continue;
        printf("  %s: %s in %.1f ms %s\n", files[i], e2e_str(x, "status"), e2e_num(x, "total_ms"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, files[i]);
        else
            check_failed_rec(r, x, files[i]);
        CHECK(e2e_num(x, "total_ms") < QUICK_CHUNKS_MS, "%s: took %.0f ms (a 64x64 image)",
              files[i], e2e_num(x, "total_ms"));
    }
    end_checks();
}

/* JPEGs of 2112 and 22112 scans under the default limits: refused naming
 * --max-scans, or decoded quickly. */
static void test_many_scans_default(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const files[] = {"scans/many_scans.jpg", "scans/dup_scans.jpg"};
    for (size_t i = 0; i < 2; i++) {
        const rec *x = main_rec(files[i]);
        if (!x)
            continue;
        double ms = e2e_num(x, "total_ms");
        printf("  %s: %s in %.0f ms %s\n", files[i], e2e_str(x, "status"), ms,
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, files[i]);
        else
            CHECK(names_limit(x, "--max-scans"), "%s: failed without naming --max-scans: %s",
                  files[i], e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        CHECK(ms < SLOW_SCANS_MS, "%s: took %.0f ms (neither refused nor decoded within %d ms)",
              files[i], ms, SLOW_SCANS_MS);
    }
    end_checks();
}

/* Deep trees: the images 100 and 200 levels down are thumbnailed at the
 * mirrored depth; past PATH_MAX (deeplong/, ~6.4 KB path) thumbd may succeed
 * or fail, with a message. */
static void test_deep_trees(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("deeplong/", &l);
    CHECK(l.n == 2, "%d files in deeplong/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        bool too_long = strlen(l.v[i]) >= PATH_MAX;
        printf("  deeplong: %zu-byte path: %s %s\n", strlen(l.v[i]), e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (!too_long || e2e_is(x, "ok"))
            check_ok(r, x, l.v[i]);
        else
            check_failed_rec(r, x, l.v[i]);
    }
    strlist_free(&l);
    names d = {0};
    corpus_under("deep/", &d);
    CHECK(d.n == 2, "%d files in deep/, want 2", d.n);
    for (int i = 0; i < d.n; i++) {
        const rec *x = main_rec(d.v[i]);
        const char *out = x ? e2e_str(x, "out") : NULL;
        int depth = 0;
        for (const char *p = out ? out : ""; *p; p++)
            depth += *p == '/';
        CHECK(out && (depth == 101 || depth == 201), "%s: thumbnail at depth %d", shown(d.v[i]),
              depth);
    }
    strlist_free(&d);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* Runs with limit options                                                    */

/* Links corpus files into a fresh directory <tmp>/<tag>-in. */
static void make_input(char *dir, size_t n, const char *tag, const char *const *files)
{
    pathf(dir, n, "%s/%s-in", g_tmp, tag);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; files[i]; i++) {
        char src[900], dst[900];
        const char *base = strrchr(files[i], '/');
        pathf(src, sizeof src, "%s/%s", g_corpus, files[i]);
        pathf(dst, sizeof dst, "%s/%s", dir, base ? base + 1 : files[i]);
        assert_int_equal(link(src, dst), 0);
    }
}

/* The record of src in run r; a missing or repeated one is a failed check. */
static const rec *run_rec(const run *r, const char *src)
{
    int count;
    const rec *x = e2e_report_find(&r->rp, src, &count);
    CHECK(count == 1, "%s: %d records in the report (want exactly 1)", shown(src), count);
    return x;
}

/* True if the run was refused as a usage error (an unknown option). */
static bool usage_error(const run *r, const char *option)
{
    if (r->pr.code != 2)
        return false;
    fail_check("thumbd does not accept %s (exit 2): the protection is missing", option);
    return true;
}

/* --max-scans N is honoured both ways: at 3000 the 2112-scan file decodes
 * and the 22112-scan file is refused (after reading 3000 scans: no time
 * bound here); at 5 even a plain progressive JPEG (10 scans) is refused.
 * Refusals name the option. */
static void test_max_scans_option(void **state)
{
    (void)state;
    begin_checks();
    char in[700];
    static const char *const files[] = {"scans/many_scans.jpg", "scans/dup_scans.jpg",
                                        "good/prog.jpg", "good/photo.jpg", NULL};
    make_input(in, sizeof in, "scans", files);
    static const char *const hi[] = {"--max-scans", "3000", NULL};
    run r;
    do_run(&r, "max-scans-3000", in, hi, 60);
    if (!usage_error(&r, "--max-scans")) {
        CHECK(r.pr.code == 1, "--max-scans 3000: exit %d, want 1", r.pr.code);
        check_ok(&r, run_rec(&r, "many_scans.jpg"), "many_scans.jpg (2112 scans)");
        check_ok(&r, run_rec(&r, "prog.jpg"), "prog.jpg");
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg");
        const rec *dup = run_rec(&r, "dup_scans.jpg");
        CHECK(dup && names_limit(dup, "--max-scans"),
              "dup_scans.jpg (22112 scans) at --max-scans 3000: %s %s",
              status_of(dup), error_of(dup));
    }
    e2e_report_free(&r.rp);
    static const char *const lo[] = {"--max-scans", "5", NULL};
    do_run(&r, "max-scans-5", in, lo, 60);
    if (!usage_error(&r, "--max-scans")) {
        const rec *p = run_rec(&r, "prog.jpg");
        CHECK(p && names_limit(p, "--max-scans"), "prog.jpg (10 scans) at --max-scans 5: %s %s",
              status_of(p), error_of(p));
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg (baseline: 1 scan)");
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* --max-dimension N is honoured both ways: at 20000 the 30000x8 JPEG is
 * refused from its header; at 400000 the 300000x1 PNG (refused by the
 * default) is thumbnailed. */
static void test_max_dimension_option(void **state)
{
    (void)state;
    begin_checks();
    char in[700];
    static const char *const files[] = {"dims/wide_30000x8.jpg", "dims/wide_300000x1.png",
                                        "good/photo.jpg", NULL};
    make_input(in, sizeof in, "dims", files);
    static const char *const lo[] = {"--max-dimension", "20000", NULL};
    run r;
    do_run(&r, "max-dimension-20000", in, lo, 60);
    if (!usage_error(&r, "--max-dimension")) {
        static const char *const wide[] = {"wide_30000x8.jpg", "wide_300000x1.png"};
        for (int i = 0; i < 2; i++) {
            const rec *x = run_rec(&r, wide[i]);
            CHECK(x && names_limit(x, "--max-dimension"), "%s at --max-dimension 20000: %s %s",
                  wide[i], status_of(x), error_of(x));
            CHECK(x && e2e_num(x, "total_ms") < HEADER_REFUSAL_MS, "%s: %.0f ms to refuse", wide[i],
                  x ? e2e_num(x, "total_ms") : NAN);
        }
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg");
    }
    e2e_report_free(&r.rp);
    static const char *const hi[] = {"--max-dimension", "400000", NULL};
    do_run(&r, "max-dimension-400000", in, hi, 60);
    if (!usage_error(&r, "--max-dimension")) {
        CHECK(r.pr.code == 0, "--max-dimension 400000: exit %d, want 0", r.pr.code);
        check_ok(&r, run_rec(&r, "wide_300000x1.png"), "wide_300000x1.png");
        check_ok(&r, run_rec(&r, "wide_30000x8.jpg"), "wide_30000x8.jpg");
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* One file per run: peak RSS above the one-small-image run. A flood of APP1
 * markers, inflate bombs in zTXt/iCCP and many scans must not make thumbd
 * hold memory in proportion to the file (see the bounds at the top). */
static void test_memory_per_file(void **state)
{
    (void)state;
    begin_checks();
    static const struct {
        const char *file;
        long allowance_mib;
    } cases[] = {
        {"appflood/app1_flood.jpg", 16}, {"chunks/ztxt_bomb.png", 16},
        {"chunks/iccp_bomb.png", 16},    {"chunks/many_text.png", 16},
        {"scans/many_scans.jpg", 40},    {"scans/dup_scans.jpg", 40},
    };
    printf("  one-image run: %.1f MiB\n", (double)g_base_rss_kb / 1024.0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tag[64], in[700];
        pathf(tag, sizeof tag, "rss%zu", i);
        const char *files[2] = {cases[i].file, NULL};
        make_input(in, sizeof in, tag, files);
        run r;
        do_run(&r, tag, in, NULL, 60);
        long grow = r.pr.maxrss_kb - g_base_rss_kb;
        const rec *x = r.rp.n == 1 ? &r.rp.v[0] : NULL;
        printf("  %-26s %s, peak RSS %.1f MiB (%+.1f MiB)\n", cases[i].file,
               x ? e2e_str(x, "status") : "?", (double)r.pr.maxrss_kb / 1024.0,
               (double)grow / 1024.0);
        CHECK(r.pr.code == 0 || r.pr.code == 1, "%s: exit %d", cases[i].file, r.pr.code);
        CHECK(grow < cases[i].allowance_mib * 1024L,
              "%s: peak RSS %.1f MiB, %.1f MiB above a run on one small image (allowed: %ld MiB)",
              cases[i].file, (double)r.pr.maxrss_kb / 1024.0, (double)grow / 1024.0,
              cases[i].allowance_mib);
        e2e_report_free(&r.rp);
    }
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idat_bomb_costs_its_declared_size),
        cmocka_unit_test(test_png_chunk_attacks_cheap),
        cmocka_unit_test(test_many_scans_default),
        cmocka_unit_test(test_deep_trees),
        cmocka_unit_test(test_max_scans_option),
        cmocka_unit_test(test_max_dimension_option),
        cmocka_unit_test(test_memory_per_file),
    };
    return hostile_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
