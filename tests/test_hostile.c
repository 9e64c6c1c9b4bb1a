/* End-to-end tests on hostile input, part 1: the main run over the whole
 * corpus: exit status, peak memory, one record per image, valid images
 * thumbnailed, names, broken files, bit flips, huge dimensions, extreme shapes
 * (helpers: hostile_util.h). */
#include "hostile_util.h"

/* ------------------------------------------------------------------------ */
/* Tests on the main run                                                      */

/* The run over the whole corpus ends by itself, in bounded time, with exit
 * code 1 (some files fail), never by a signal or a sanitizer report. */
static void test_run_ends_with_exit_1(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    CHECK(r->pr.code != -2, "thumbd did not finish within %d s", RUN_TIMEOUT_S);
    CHECK(r->pr.signo == 0, "thumbd was killed by signal %d (%s)", r->pr.signo,
          strsignal(r->pr.signo));
    CHECK(r->pr.code != 86, "a sanitizer reported an error (exit 86); see %s", r->err);
    CHECK(r->pr.code == 1, "exit code %d, want 1 (some files fail)", r->pr.code);
    CHECK(r->pr.wall_s < RUN_TIMEOUT_S, "the run took %.1f s", r->pr.wall_s);
    end_checks();
}

/* Peak RSS of the run's largest process (wait4's ru_maxrss: the run's
 * process or a worker's; see the bounds at the top). The whole process
 * tree's peak over this corpus is e2e_membound's check. */
static void test_peak_memory_bounded(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    long workers = sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    long bound_kb = E2E_UNDER_ASAN ? 1024L * 1024L
                               : g_base_rss_kb + (40L + workers * 16 + 16) * 1024L;
    printf("  peak RSS %.1f MiB; one-image run %.1f MiB; %ld workers; bound %.1f MiB%s\n",
           (double)r->pr.maxrss_kb / 1024.0, (double)g_base_rss_kb / 1024.0, workers,
           (double)bound_kb / 1024.0, E2E_UNDER_ASAN ? " (ASan)" : "");
    CHECK(r->pr.maxrss_kb > 0, "no rusage from wait4");
    CHECK(r->pr.maxrss_kb < bound_kb, "peak RSS %.1f MiB is over the bound of %.1f MiB",
          (double)r->pr.maxrss_kb / 1024.0, (double)bound_kb / 1024.0);
    end_checks();
}

/* Every report line is one JSON object; every file with an image name gets
 * exactly one record (names with newlines and invalid UTF-8 decoded from the
 * escapes), no record names a file that does not exist, and other files get
 * no failed record. */
static void test_one_record_per_image(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    CHECK(r->rp.bad == 0, "%d report lines are not JSON objects; first: %s", r->rp.bad,
          shown(r->rp.first_bad));
    names all = {0};
    list_tree(g_corpus, &all);
    int images = 0;
    for (int i = 0; i < all.n; i++) {
        int count;
        const rec *x = e2e_report_find(&r->rp, all.v[i], &count);
        if (has_image_ext(all.v[i])) {
            images++;
            CHECK(count == 1, "%s: %d records (want exactly 1)", shown(all.v[i]), count);
        } else {
            CHECK(!x || !e2e_is(x, "failed"), "%s (not an image name) has a failed record",
                  shown(all.v[i]));
        }
    }
    for (int i = 0; i < r->rp.n; i++) {
        const char *src = e2e_str(&r->rp.v[i], "src");
        bool found = false;
        for (int k = 0; src && k < all.n && !found; k++)
            found = !strcmp(all.v[k], src);
        CHECK(found, "a record for a file that does not exist: %s", src ? shown(src) : "(no src)");
        const char *st = e2e_str(&r->rp.v[i], "status");
        CHECK(st && (!strcmp(st, "ok") || !strcmp(st, "failed")),
              "%s: status %s (want ok or failed in a first run)", src ? shown(src) : "?",
              st ? st : "?");
    }
    printf("  %d files, %d with image names, %d records\n", all.n, images, r->rp.n);
    CHECK(images >= 180, "only %d image files in the corpus", images);
    CHECK(r->rp.n == images, "%d records for %d image files", r->rp.n, images);
    strlist_free(&all);
    end_checks();
}

/* Valid images, however named or nested, are thumbnailed completely. */
static void test_valid_images_thumbnailed(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const prefixes[] = {"good/", "names/", "deep/"};
    int n = 0;
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        names l = {0};
        corpus_under(prefixes[k], &l);
        for (int i = 0; i < l.n; i++, n++)
            check_ok(r, main_rec(l.v[i]), l.v[i]);
        strlist_free(&l);
    }
    /* content decides, not the name */
    static const char *const renamed[] = {"wrongext/png_named.jpg", "wrongext/jpeg_named.png",
                                          "bomb/idat_exact.png"};
    for (size_t k = 0; k < sizeof renamed / sizeof renamed[0]; k++, n++)
        check_ok(r, main_rec(renamed[k]), renamed[k]);
    printf("  %d valid images checked\n", n);
    CHECK(n == 27, "%d valid images checked, want 27", n);
    end_checks();
}

/* Names with newlines, control characters, bytes that are not UTF-8 and
 * leading dashes keep their name: the thumbnail is at the same name (but
 * the extension) in OUT_DIR. */
static void test_hostile_names_roundtrip(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("names/", &l);
    CHECK(l.n == 16, "%d files in names/, want 16", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        const char *out = x ? e2e_str(x, "out") : NULL;
        if (!out)
            continue;   /* check_ok in the previous test says why */
        const char *sd = strrchr(l.v[i], '.'), *od = strrchr(out, '.');
        CHECK(sd && od && sd - l.v[i] == od - out && !strncmp(out, l.v[i], (size_t)(sd - l.v[i])),
              "%s: thumbnail named %s (want the same stem)", shown(l.v[i]), shown(out));
        CHECK(exists_rel(r->out, out), "%s: no file %s in OUT_DIR", shown(l.v[i]), shown(out));
    }
    strlist_free(&l);
    end_checks();
}

/* Empty, truncated, text and HTML files, and a PNG whose chunk length runs
 * past the end of the file, fail with a message; no thumbnail. */
static void test_broken_files_fail(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("empty/", &l);
    corpus_under("truncated/", &l);
    strlist_add(&l, "wrongext/text.jpg");
    strlist_add(&l, "wrongext/html.png");
    strlist_add(&l, "chunks/huge_length.png");
    for (int i = 0; i < l.n; i++)
        check_failed_rec(r, main_rec(l.v[i]), l.v[i]);
    printf("  %d broken files checked\n", l.n);
    CHECK(l.n >= 90, "only %d broken files in the corpus", l.n);
    strlist_free(&l);
    end_checks();
}

/* Bit-flipped copies may decode (to a damaged picture) or fail; either way
 * with one record, a message when failed, a complete thumbnail when ok. */
static void test_bitflips_no_crash(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("bitflip/", &l);
    int ok = 0, failed = 0;
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        if (e2e_is(x, "ok")) {
            ok++;
            check_ok(r, x, l.v[i]);
        } else {
            failed++;
            check_failed_rec(r, x, l.v[i]);
        }
    }
    printf("  %d bit-flipped files: %d decoded, %d failed\n", l.n, ok, failed);
    CHECK(l.n == 50, "%d bit-flipped files, want 50", l.n);
    strlist_free(&l);
    end_checks();
}

/* SOF 60000x60000 and IHDR 100000x100000 with tiny bodies: refused from the
 * header, naming the limit. */
static void test_huge_dimensions_refused(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("huge/", &l);
    CHECK(l.n == 2, "%d files in huge/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        check_failed_rec(r, x, l.v[i]);
        CHECK(names_limit(x, "--max-pixels|--max-dimension"),
              "%s: error \"%s\" names neither --max-pixels nor --max-dimension", shown(l.v[i]),
              e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        CHECK(e2e_num(x, "total_ms") < HEADER_REFUSAL_MS, "%s: took %.0f ms to refuse",
              shown(l.v[i]), e2e_num(x, "total_ms"));
    }
    strlist_free(&l);
    end_checks();
}

/* 300000x1 and 30000x8: thumbnailed, or refused naming --max-dimension. */
static void test_extreme_shapes(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("dims/", &l);
    CHECK(l.n == 2, "%d files in dims/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        printf("  %s: %s %s\n", l.v[i], e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, l.v[i]);
        else
            CHECK(names_limit(x, "--max-dimension"), "%s: failed without naming --max-dimension: %s",
                  shown(l.v[i]), e2e_str(x, "error") ? e2e_str(x, "error") : "null");
    }
    strlist_free(&l);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_ends_with_exit_1),
        cmocka_unit_test(test_peak_memory_bounded),
        cmocka_unit_test(test_one_record_per_image),
        cmocka_unit_test(test_valid_images_thumbnailed),
        cmocka_unit_test(test_hostile_names_roundtrip),
        cmocka_unit_test(test_broken_files_fail),
        cmocka_unit_test(test_bitflips_no_crash),
        cmocka_unit_test(test_huge_dimensions_refused),
        cmocka_unit_test(test_extreme_shapes),
    };
    return hostile_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
