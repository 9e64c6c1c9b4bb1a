/* Unit tests for the command line (src/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/config.h"
#include "thumbd/state.h"

/* argv arrays as compound literals: ARGS("-j", "3", "in", "out"). */
#define ARGV(...) ((char *[]){"thumbd", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"thumbd", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...) parse(cfg, err, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static config_result parse(thumbd_config *cfg, char *err, int argc, char **argv)
{
    config_defaults(cfg);
    err[0] = '\0';
    return config_parse(cfg, argc, argv, err);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* A usage error with a message that mentions `needle`. */
static void expect_error(config_result r, const char *err, const char *needle, int line)
{
    if (r != CONFIG_ERROR)
        fail_msg("line %d: result %d, want CONFIG_ERROR", line, r);
    if (!err[0])
        fail_msg("line %d: no error message", line);
    if (needle && !strstr(err, needle))
        fail_msg("line %d: message '%s' does not mention '%s'", line, err, needle);
}
#define EXPECT_ERROR(r, err, needle) expect_error(r, err, needle, __LINE__)

static void test_defaults(void **state)
{
    (void)state;
    thumbd_config c;
    memset(&c, 0x5A, sizeof c);
    config_defaults(&c);
    assert_int_equal(c.width, 200);
    assert_int_equal(c.height, 200);
    assert_int_equal(c.fit, FIT_COVER);
    assert_false(c.enlarge);
    assert_int_equal(c.format, FORMAT_AUTO);
    assert_int_equal(c.quality, 85);
    assert_int_equal(c.workers, online_cpus());
    assert_null(c.report_path);
    assert_int_equal(c.max_pixels, 100000000ULL);
    assert_int_equal(c.max_file_size, 1073741824ULL);
    assert_false(c.follow_symlinks);
    assert_false(c.quiet);
    assert_true(c.task_timeout == 0.0);
    assert_true(c.deadline == 0.0);
    assert_true(c.shutdown_timeout == 10.0);

    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_string_equal(c.in_dir, "in");
    assert_string_equal(c.out_dir, "out");
    assert_int_equal(c.queue_cap, 2 * (size_t)online_cpus());
    assert_int_equal(c.width, 200);
    assert_int_equal(c.quality, 85);
}

static void test_parse_size_function(void **state)
{
    (void)state;
    int w = -1, h = -1;
    assert_true(config_parse_size("200x200", &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 200);
    assert_true(config_parse_size("1x1", &w, &h));
    assert_int_equal(w, 1);
    assert_int_equal(h, 1);
    assert_true(config_parse_size("320x240", &w, &h));
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    assert_true(config_parse_size("16384x16384", &w, &h));
    assert_int_equal(w, 16384);
    /* vipsthumbnail's forms: one number is a square box, a missing side is
     * unbounded (0). */
    assert_true(config_parse_size("200", &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 200);
    assert_true(config_parse_size("200x", &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 0);
    assert_true(config_parse_size("X120", &w, &h));
    assert_int_equal(w, 0);
    assert_int_equal(h, 120);
    const char *bad[] = {"0x10", "10x0", "0", "0x", "x0", "99999x1", "1x99999", "-5x5",
                         "5x-5", "10x10x", "10x10 ", "", "x", "X", "xx10", "10xx", "abc",
                         "10*10", "16385x1", "16385", "x16385", "+5x5", " 5x5", "5x+5",
                         "99999999999999999999x1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (config_parse_size(bad[i], &w, &h))
            fail_msg("config_parse_size('%s') accepted: %dx%d", bad[i], w, h);
}

static void test_size_option(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-s", "320x240", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.width, 320);
    assert_int_equal(c.height, 240);
    assert_int_equal(PARSE(&c, err, "--size=64x32", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.width, 64);
    assert_int_equal(c.height, 32);
    assert_int_equal(PARSE(&c, err, "--size", "1x1", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.width, 1);
    EXPECT_ERROR(PARSE(&c, err, "--size", "0x10", "in", "out"), err, "0x10");
    assert_int_equal(PARSE(&c, err, "-s", "10", "in", "out"), CONFIG_RUN);
    assert_true(c.width == 10 && c.height == 10);
    assert_int_equal(PARSE(&c, err, "-s", "10x", "in", "out"), CONFIG_RUN);
    assert_true(c.width == 10 && c.height == 0);
    assert_int_equal(PARSE(&c, err, "-s", "x10", "in", "out"), CONFIG_RUN);
    assert_true(c.width == 0 && c.height == 10);
    EXPECT_ERROR(PARSE(&c, err, "-s", "x", "in", "out"), err, "size");
    EXPECT_ERROR(PARSE(&c, err, "-s", "99999x1", "in", "out"), err, "size");
}

static void test_fit_format_enlarge(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "--fit", "inside", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.fit, FIT_INSIDE);
    assert_int_equal(PARSE(&c, err, "--fit=cover", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.fit, FIT_COVER);
    EXPECT_ERROR(PARSE(&c, err, "--fit", "stretch", "in", "out"), err, "stretch");
    EXPECT_ERROR(PARSE(&c, err, "--fit", "", "in", "out"), err, "fit");

    /* --filter: lanczos3 by default, and part of the options fingerprint */
    char fp_default[512], fp_mitchell[512];
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.filter, RESIZE_LANCZOS3);
    state_fingerprint(&c, fp_default, sizeof fp_default);
    assert_non_null(strstr(fp_default, " filter=lanczos3 "));
    assert_int_equal(PARSE(&c, err, "--filter", "mitchell", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.filter, RESIZE_MITCHELL);
    state_fingerprint(&c, fp_mitchell, sizeof fp_mitchell);
    assert_string_not_equal(fp_default, fp_mitchell);
    assert_int_equal(PARSE(&c, err, "--filter=catrom", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.filter, RESIZE_CATROM);
    assert_int_equal(PARSE(&c, err, "--filter", "box", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.filter, RESIZE_BOX);
    EXPECT_ERROR(PARSE(&c, err, "--filter", "lanczos", "in", "out"), err, "lanczos");

    assert_int_equal(PARSE(&c, err, "--enlarge", "in", "out"), CONFIG_RUN);
    assert_true(c.enlarge);

    assert_int_equal(PARSE(&c, err, "--format", "jpeg", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.format, FORMAT_JPEG);
    assert_int_equal(PARSE(&c, err, "-f", "png", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.format, FORMAT_PNG);
    assert_int_equal(PARSE(&c, err, "-f", "png", "--format=auto", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.format, FORMAT_AUTO);
    EXPECT_ERROR(PARSE(&c, err, "-f", "gif", "in", "out"), err, "gif");
}

static void test_quality_range(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-q", "1", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.quality, 1);
    assert_int_equal(PARSE(&c, err, "--quality", "100", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.quality, 100);
    assert_int_equal(PARSE(&c, err, "-q50", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.quality, 50);
    EXPECT_ERROR(PARSE(&c, err, "-q", "0", "in", "out"), err, "quality");
    EXPECT_ERROR(PARSE(&c, err, "-q", "101", "in", "out"), err, "101");
    EXPECT_ERROR(PARSE(&c, err, "-q", "-5", "in", "out"), err, "quality");
    EXPECT_ERROR(PARSE(&c, err, "-q", "50x", "in", "out"), err, "quality");
    EXPECT_ERROR(PARSE(&c, err, "-q", "high", "in", "out"), err, "quality");
    EXPECT_ERROR(PARSE(&c, err, "-q", "", "in", "out"), err, "quality");
}

static void test_workers_and_queue(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-j", "3", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.queue_cap, 6);
    assert_int_equal(PARSE(&c, err, "--workers=1", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.workers, 1);
    assert_int_equal(c.queue_cap, 2);
    /* --queue wins over the default, before or after -j. */
    assert_int_equal(PARSE(&c, err, "--queue", "5", "-j", "4", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.queue_cap, 5);
    assert_int_equal(PARSE(&c, err, "-j", "4", "--queue", "1", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.queue_cap, 1);
    EXPECT_ERROR(PARSE(&c, err, "-j", "0", "in", "out"), err, "workers");
    EXPECT_ERROR(PARSE(&c, err, "-j", "-2", "in", "out"), err, "workers");
    EXPECT_ERROR(PARSE(&c, err, "-j", "two", "in", "out"), err, "workers");
    EXPECT_ERROR(PARSE(&c, err, "--queue", "0", "in", "out"), err, "queue");
}

static void test_counts(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(config_parse_count("50M", 1000, &v));
    assert_int_equal(v, 50000000ULL);
    assert_true(config_parse_count("2M", 1024, &v));
    assert_int_equal(v, 2097152ULL);
    assert_true(config_parse_count("2m", 1024, &v));
    assert_int_equal(v, 2097152ULL);
    assert_true(config_parse_count("3K", 1000, &v));
    assert_int_equal(v, 3000ULL);
    assert_true(config_parse_count("1G", 1024, &v));
    assert_int_equal(v, 1073741824ULL);
    assert_true(config_parse_count("4096", 1024, &v));
    assert_int_equal(v, 4096ULL);
    assert_true(config_parse_count("0", 1024, &v));
    assert_int_equal(v, 0ULL);
    assert_true(config_parse_count("18446744073709551615", 1000, &v));
    assert_int_equal(v, UINT64_MAX);
    const char *bad[] = {"", "-1", "M", "2MB", "2X", "1.5M", "18446744073709551616",
                         "99999999999G", "20000000000000000000K", " ", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (config_parse_count(bad[i], 1024, &v))
            fail_msg("config_parse_count('%s') accepted: %llu", bad[i], (unsigned long long)v);

    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "--max-pixels", "50M", "--max-file-size", "2M", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.max_pixels, 50000000ULL);
    assert_int_equal(c.max_file_size, 2097152ULL);
    assert_int_equal(PARSE(&c, err, "--max-file-size=0", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_file_size, 0ULL); /* no limit */
    assert_int_equal(PARSE(&c, err, "--max-pixels=1G", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_pixels, 1000000000ULL);
    EXPECT_ERROR(PARSE(&c, err, "--max-pixels", "0", "in", "out"), err, "max-pixels");
    EXPECT_ERROR(PARSE(&c, err, "--max-pixels", "lots", "in", "out"), err, "lots");
    EXPECT_ERROR(PARSE(&c, err, "--max-file-size", "2MB", "in", "out"), err, "max-file-size");

    /* --max-memory: auto by default (40 MiB for boxes up to 512x512, 160
     * bytes a pixel of the largest box above), K/M/G in powers of 1024,
     * 0 = none. */
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_memory, 40ULL << 20);
    assert_int_equal(PARSE(&c, err, "--size", "1024x1024", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_memory, 1024ULL * 1024 * 160);
    assert_int_equal(PARSE(&c, err, "--size", "200x200", "--size", "1000x", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.max_memory, 1000ULL * 1000 * 160);
    assert_int_equal(PARSE(&c, err, "--max-memory", "auto", "--size", "x800", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.max_memory, 800ULL * 800 * 160);
    assert_int_equal(PARSE(&c, err, "--max-memory", "10M", "--size", "1024x1024", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.max_memory, 10ULL << 20);
    assert_int_equal(PARSE(&c, err, "--engine", "vips", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_memory, 128ULL << 20);
    assert_int_equal(PARSE(&c, err, "--max-memory", "64M", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_memory, 67108864ULL);
    assert_int_equal(PARSE(&c, err, "--max-memory=0", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.max_memory, 0ULL);
    EXPECT_ERROR(PARSE(&c, err, "--max-memory", "much", "in", "out"), err, "max-memory");
}

static void test_seconds(void **state)
{
    (void)state;
    double s = -1;
    assert_true(config_parse_seconds("2", &s));
    assert_true(s == 2.0);
    assert_true(config_parse_seconds("0.5", &s));
    assert_true(s == 0.5);
    assert_true(config_parse_seconds("1.25", &s));
    assert_true(s == 1.25);
    assert_true(config_parse_seconds(".75", &s));
    assert_true(s == 0.75);
    assert_true(config_parse_seconds("0", &s));
    assert_true(s == 0.0);
    const char *bad[] = {"", "-1", "-0.5", "abc", "1s", "1.5.2", "nan", "inf", "1e300", " "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (config_parse_seconds(bad[i], &s))
            fail_msg("config_parse_seconds('%s') accepted: %g", bad[i], s);

    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "--task-timeout", "0.25", "--deadline=30",
                           "--shutdown-timeout", "1.5", "in", "out"),
                     CONFIG_RUN);
    assert_true(fabs(c.task_timeout - 0.25) < 1e-12);
    assert_true(c.deadline == 30.0);
    assert_true(fabs(c.shutdown_timeout - 1.5) < 1e-12);
    EXPECT_ERROR(PARSE(&c, err, "--task-timeout", "-1", "in", "out"), err, "task-timeout");
    EXPECT_ERROR(PARSE(&c, err, "--deadline", "soon", "in", "out"), err, "deadline");
}

static void test_flags_and_report(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-r", "rep.jsonl", "--follow-symlinks", "--quiet", "in",
                           "out"),
                     CONFIG_RUN);
    assert_string_equal(c.report_path, "rep.jsonl");
    assert_true(c.follow_symlinks);
    assert_true(c.quiet);
    assert_int_equal(PARSE(&c, err, "--report=-", "in", "out"), CONFIG_RUN);
    assert_string_equal(c.report_path, "-");
}

static void test_positionals(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    char *none[] = {"thumbd", NULL};
    EXPECT_ERROR(parse(&c, err, 1, none), err, "IN_DIR");
    EXPECT_ERROR(PARSE(&c, err, "in"), err, "IN_DIR");
    EXPECT_ERROR(PARSE(&c, err, "in", "out", "extra"), err, "IN_DIR");
    EXPECT_ERROR(PARSE(&c, err, "-j", "2", "in"), err, "IN_DIR");

    /* Options after the positionals (GNU permutation). */
    assert_int_equal(PARSE(&c, err, "in", "out", "-j", "3"), CONFIG_RUN);
    assert_string_equal(c.in_dir, "in");
    assert_string_equal(c.out_dir, "out");
    assert_int_equal(c.workers, 3);
    assert_int_equal(PARSE(&c, err, "in", "-q", "40", "out"), CONFIG_RUN);
    assert_string_equal(c.in_dir, "in");
    assert_string_equal(c.out_dir, "out");
    assert_int_equal(c.quality, 40);
    /* "--" ends the options: a directory may start with '-'. */
    assert_int_equal(PARSE(&c, err, "--", "-in", "-out"), CONFIG_RUN);
    assert_string_equal(c.in_dir, "-in");
    assert_string_equal(c.out_dir, "-out");
}

static void test_unknown_and_missing_values(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    EXPECT_ERROR(PARSE(&c, err, "--bogus", "in", "out"), err, "--bogus");
    EXPECT_ERROR(PARSE(&c, err, "-Z", "in", "out"), err, "-Z");
    EXPECT_ERROR(PARSE(&c, err, "in", "out", "--size"), err, "--size");
    EXPECT_ERROR(PARSE(&c, err, "in", "out", "-q"), err, "-q");
    EXPECT_ERROR(PARSE(&c, err, "--enlarge=yes", "in", "out"), err, "enlarge");
}

static void test_help_and_version(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    char *h[] = {"thumbd", "--help", NULL};
    assert_int_equal(parse(&c, err, 2, h), CONFIG_HELP);
    char *h2[] = {"thumbd", "-h", NULL};
    assert_int_equal(parse(&c, err, 2, h2), CONFIG_HELP);
    char *v[] = {"thumbd", "--version", NULL};
    assert_int_equal(parse(&c, err, 2, v), CONFIG_VERSION);
    char *v2[] = {"thumbd", "-V", NULL};
    assert_int_equal(parse(&c, err, 2, v2), CONFIG_VERSION);
    /* Help wins over missing positionals. */
    assert_int_equal(PARSE(&c, err, "-j", "2", "--help"), CONFIG_HELP);
    const char *u = config_usage();
    assert_non_null(strstr(u, "usage:"));
    assert_non_null(strstr(u, "--size"));
    assert_non_null(strstr(u, "--max-pixels"));
    assert_non_null(strstr(u, "--follow-symlinks"));
}

/* config_parse must parse each argv afresh, even when the previous call
 * returned in the middle of a cluster of short options ("-hq5"): glibc's
 * getopt keeps its position inside the old argv unless optind is reset to 0. */
static char *stale_argv[] = {"thumbd", "-hq5", "in", "out", NULL};
static char *stale_argv2[] = {"thumbd", "-Vj7", "in", "out", NULL};

static void test_reparse_after_early_return(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(parse(&c, err, 4, stale_argv), CONFIG_HELP);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.quality, 85);
    assert_string_equal(c.in_dir, "in");

    assert_int_equal(parse(&c, err, 4, stale_argv2), CONFIG_VERSION);
    assert_int_equal(PARSE(&c, err, "-q", "7", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.quality, 7);
    assert_int_equal(c.workers, online_cpus());
}

/* --workers auto and MIN:MAX: an adaptive range, and where it starts. */
static void test_workers_adaptive(void **state)
{
    (void)state;
    int n = -1, lo = -1, hi = -1;
    assert_true(config_parse_workers("auto", 2, &n, &lo, &hi));
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 32);
    assert_int_equal(n, 4); /* twice the CPUs */
    assert_true(config_parse_workers("auto", 64, &n, &lo, &hi));
    assert_int_equal(hi, 256);
    assert_int_equal(n, 128);
    assert_true(config_parse_workers("auto", 4096, &n, &lo, &hi));
    assert_int_equal(hi, 1024);
    assert_true(config_parse_workers("4:16", 2, &n, &lo, &hi));
    assert_int_equal(lo, 4);
    assert_int_equal(hi, 16);
    assert_int_equal(n, 4); /* twice the CPU count, within the range */
    assert_true(config_parse_workers("6:16", 2, &n, &lo, &hi));
    assert_int_equal(n, 6);
    assert_true(config_parse_workers("1:3", 8, &n, &lo, &hi));
    assert_int_equal(n, 3);
    assert_true(config_parse_workers("7", 2, &n, &lo, &hi));
    assert_int_equal(n, 7);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
    const char *bad[] = {"", "Auto", "0:4", "4:2", "1:", ":4", "1:2:3", "1:2000", "x:y", "12345678901234567:2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (config_parse_workers(bad[i], 2, &n, &lo, &hi))
            fail_msg("'%s' accepted", bad[i]);

    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-j", "2:8", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.workers_min, 2);
    assert_int_equal(c.workers_max, 8);
    assert_int_equal(c.queue_cap, 16); /* 2 x MAX */
    assert_int_equal(PARSE(&c, err, "-j", "auto", "-j", "3", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.workers, 3); /* the last one wins, fixed again */
    assert_int_equal(c.workers_max, 0);
    EXPECT_ERROR(PARSE(&c, err, "-j", "8:2", "in", "out"), err, "MIN:MAX");
}

/* --order, --retries, --retry-backoff, --max-rate, --nice: defaults, values,
 * errors. */
static void test_scheduling_options(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.order, ORDER_PATH);
    assert_int_equal(c.retries, 2);
    assert_true(c.retry_backoff == 0.2);
    assert_true(c.max_rate == 0);
    assert_false(c.nice);
    assert_int_equal(c.workers_max, 0);
    assert_int_equal(PARSE(&c, err, "--order", "newest", "--retries", "5", "--retry-backoff", "1.5",
                           "--max-rate", "20", "--nice", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.order, ORDER_NEWEST);
    assert_int_equal(c.retries, 5);
    assert_true(c.retry_backoff == 1.5);
    assert_true(c.max_rate == 20);
    assert_true(c.nice);
    assert_int_equal(PARSE(&c, err, "--order=smallest", "--retries=0", "--max-rate=0.5", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.order, ORDER_SMALLEST);
    assert_int_equal(c.retries, 0);
    assert_true(c.max_rate == 0.5);
    EXPECT_ERROR(PARSE(&c, err, "--order", "random", "in", "out"), err, "--order");
    EXPECT_ERROR(PARSE(&c, err, "--retries", "-1", "in", "out"), err, "--retries");
    EXPECT_ERROR(PARSE(&c, err, "--retries", "101", "in", "out"), err, "--retries");
    EXPECT_ERROR(PARSE(&c, err, "--retry-backoff", "soon", "in", "out"), err, "--retry-backoff");
    EXPECT_ERROR(PARSE(&c, err, "--retry-backoff", "4000", "in", "out"), err, "--retry-backoff");
    EXPECT_ERROR(PARSE(&c, err, "--max-rate", "-3", "in", "out"), err, "--max-rate");
    EXPECT_ERROR(PARSE(&c, err, "--max-rate", "fast", "in", "out"), err, "--max-rate");
    EXPECT_ERROR(PARSE(&c, err, "--nice=1", "in", "out"), err, "--nice");
}

/* The same options from THUMBD_ORDER, THUMBD_RETRIES, THUMBD_RETRY_BACKOFF,
 * THUMBD_MAX_RATE, THUMBD_NICE and THUMBD_WORKERS; flags win. */
static void test_scheduling_env(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    setenv("THUMBD_ORDER", "oldest", 1);
    setenv("THUMBD_RETRIES", "4", 1);
    setenv("THUMBD_RETRY_BACKOFF", "0.05", 1);
    setenv("THUMBD_MAX_RATE", "7", 1);
    setenv("THUMBD_NICE", "yes", 1);
    setenv("THUMBD_WORKERS", "auto", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.order, ORDER_OLDEST);
    assert_int_equal(c.retries, 4);
    assert_true(c.retry_backoff == 0.05);
    assert_true(c.max_rate == 7);
    assert_true(c.nice);
    assert_int_equal(c.workers_min, 1);
    assert_true(c.workers_max >= 32);
    assert_int_equal(PARSE(&c, err, "--order", "largest", "--retries", "1", "-j", "2", "in", "out"),
                     CONFIG_RUN);
    assert_int_equal(c.order, ORDER_LARGEST);
    assert_int_equal(c.retries, 1);
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.workers_max, 0);
    setenv("THUMBD_NICE", "0", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_false(c.nice);
    setenv("THUMBD_ORDER", "sideways", 1);
    EXPECT_ERROR(PARSE(&c, err, "in", "out"), err, "THUMBD_ORDER");
    unsetenv("THUMBD_ORDER");
    unsetenv("THUMBD_RETRIES");
    unsetenv("THUMBD_RETRY_BACKOFF");
    unsetenv("THUMBD_MAX_RATE");
    unsetenv("THUMBD_NICE");
    unsetenv("THUMBD_WORKERS");
}

/* --ordered and --on-stop: parsed, and --ordered refused with a sorted
 * --order (whose ids do not follow the order tasks run in). */
static void test_ordered_and_on_stop(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_false(c.ordered);
    assert_int_equal(c.on_stop, STOP_CANCEL);
    assert_int_equal(PARSE(&c, err, "--ordered", "--on-stop", "drain", "in", "out"), CONFIG_RUN);
    assert_true(c.ordered);
    assert_int_equal(c.on_stop, STOP_DRAIN);
    EXPECT_ERROR(PARSE(&c, err, "--on-stop", "finish", "in", "out"), err, "cancel or drain");
    EXPECT_ERROR(PARSE(&c, err, "--ordered", "--order", "newest", "in", "out"), err, "--order");
    assert_int_equal(PARSE(&c, err, "--ordered", "--order", "path", "in", "out"), CONFIG_RUN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_size_function),
        cmocka_unit_test(test_size_option),
        cmocka_unit_test(test_fit_format_enlarge),
        cmocka_unit_test(test_quality_range),
        cmocka_unit_test(test_workers_and_queue),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_flags_and_report),
        cmocka_unit_test(test_positionals),
        cmocka_unit_test(test_unknown_and_missing_values),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_reparse_after_early_return),
        cmocka_unit_test(test_workers_adaptive),
        cmocka_unit_test(test_scheduling_options),
        cmocka_unit_test(test_scheduling_env),
        cmocka_unit_test(test_ordered_and_on_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
