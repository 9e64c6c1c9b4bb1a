/* Unit tests for the option table (src/options.c) and what config_parse
 * makes of it: --no- forms, THUMBD_ variables (empty, unknown), --help, the
 * wording of the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/config.h"
#include "thumbd/options.h"

#define ARGV(...) ((char *[]){"thumbd", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"thumbd", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...) parse(cfg, err, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static config_result parse(thumbd_config *cfg, char *err, int argc, char **argv)
{
    config_defaults(cfg);
    err[0] = '\0';
    return config_parse(cfg, argc, argv, err);
}

/* Every table row is sound: its default parses, its names and variable are
 * unique, and --help shows it within 79 columns. */
static void test_option_table(void **state)
{
    (void)state;
    char err[TD_ERRLEN], a[64], b[64];
    const char *u = config_usage();
    for (size_t i = 0; i < options_count; i++) {
        const options_entry *e = &options_table[i];
        thumbd_config c;
        config_defaults(&c);
        if (e->def && !options_apply(e, &c, e->def, err))
            fail_msg("--%s: its default '%s' does not parse: %s", e->name, e->def, err);
        snprintf(a, sizeof a, "--%s", e->name);
        if (!strstr(u, a))
            fail_msg("--help does not show %s", a);
        for (size_t j = 0; j < i; j++) {
            const options_entry *f = &options_table[j];
            assert_true(strcmp(e->name, f->name));
            assert_true(!e->short_name || e->short_name != f->short_name);
            if (options_env_name(e, a, sizeof a) && options_env_name(f, b, sizeof b))
                assert_true(strcmp(a, b));
        }
        if (e->kind != OPTIONS_FLAG)
            continue;
        options_negation(e, a, sizeof a);
        for (size_t j = 0; j < options_count; j++)
            if (!strcmp(a, options_table[j].name))
                fail_msg("--%s's negation --%s is an option itself", e->name, a);
    }
    for (const char *line = u; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > 79)
            fail_msg("--help line over 79 columns: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    assert_non_null(strstr(u, "SIGUSR2 and SIGPIPE are ignored.\n")); /* not cut */
}

/* Error messages made from the table keep their wording. */
static void test_option_errors(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "-f", "gif", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--format: expected auto, jpeg, png, webp or avif, got 'gif'");
    assert_int_equal(PARSE(&c, err, "--fit", "x", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--fit: expected cover or inside, got 'x'");
    assert_int_equal(PARSE(&c, err, "-q", "101", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--quality: expected 1..100, got '101'");
    assert_int_equal(PARSE(&c, err, "--max-prune", "x", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--max-prune: expected a count, a percentage (10%) or 'all', got 'x'");
    assert_int_equal(PARSE(&c, err, "--max-rate", "1000001", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--max-rate: expected files per second, 0..1000000 (0 = no limit), got "
                             "'1000001'");
    assert_int_equal(PARSE(&c, err, "--placeholder", "blurhash", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--placeholder: expected none or thumbhash, got 'blurhash'");
    assert_int_equal(PARSE(&c, err, "--no-force=1", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "option '--no-force=1' takes no value (see --help)");
    setenv("THUMBD_MAX_PIXELS", "0", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--max-pixels: expected a positive count like 50M, got '0' (from "
                             "THUMBD_MAX_PIXELS)");
    unsetenv("THUMBD_MAX_PIXELS");
}

/* --size, the repeatable option: the command line's sizes add up and
 * replace THUMBD_SIZE's list (commas or spaces), each with its own fit or
 * --fit's (given before or after it), at most CONFIG_MAX_SIZES, no box
 * twice, and a template with {size} when there are several. */
static void test_size_list(void **state)
{
    (void)state;
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "--size", "200", "-s", "400x300:inside", "--fit", "inside",
                           "--size", "1024x1024:cover", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.nsizes, 3);
    assert_true(c.width == 200 && c.height == 200);
    assert_true(c.sizes[0].w == 200 && c.sizes[0].h == 200 && c.sizes[0].fit == FIT_INSIDE);
    assert_true(c.sizes[1].w == 400 && c.sizes[1].h == 300 && c.sizes[1].fit == FIT_INSIDE);
    assert_true(c.sizes[2].w == 1024 && c.sizes[2].fit == FIT_COVER);
    assert_string_equal(c.name_template, "{stem}_{size}.{ext}");
    config_size b[CONFIG_MAX_SIZES];
    assert_int_equal(config_boxes(&c, b), 3);
    assert_int_equal(b[0].fit, FIT_INSIDE);

    setenv("THUMBD_SIZE", "100x100, 300x200:inside 600x", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.nsizes, 3);
    assert_true(c.sizes[1].w == 300 && c.sizes[1].h == 200 && c.sizes[1].fit == FIT_INSIDE);
    assert_true(c.sizes[2].w == 600 && c.sizes[2].h == 0 && c.sizes[2].fit == FIT_COVER);
    assert_int_equal(PARSE(&c, err, "--size", "64:inside", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.nsizes, 1); /* the command line replaces the list */
    assert_true(c.width == 64 && c.height == 64 && c.fit == FIT_INSIDE);
    assert_string_equal(c.name_template, "{stem}.{ext}"); /* one size: names as ever */
    assert_int_equal(config_boxes(&c, b), 1);
    unsetenv("THUMBD_SIZE");

    assert_int_equal(PARSE(&c, err, "--size", "1,2,3,4,5,6,7,8,9", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--size: 9 sizes given, at most 8");
    assert_int_equal(PARSE(&c, err, "--size", "1,2,3,4,5,6,7,8", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.nsizes, 8);
    assert_int_equal(PARSE(&c, err, "--size", "200", "--size", "200x200:inside", "in", "out"),
                     CONFIG_ERROR);
    assert_string_equal(err, "--size: 200x200 is given twice (each size names its own thumbnail)");
    assert_int_equal(PARSE(&c, err, "--size", "200", "--size", "400", "--name", "t/{stem}.{ext}",
                           "in", "out"), CONFIG_ERROR);
    assert_non_null(strstr(err, "needs {size}"));
    assert_int_equal(PARSE(&c, err, "--size", "200", "--size", "400", "--name",
                           "{size}/{name}.{ext}", "in", "out"), CONFIG_RUN);
    assert_string_equal(c.name_template, "{size}/{name}.{ext}");
    /* a.jpg at 11x10 and a1.jpg at 1x10 would share a11x10.jpg */
    assert_int_equal(PARSE(&c, err, "--size", "1x10", "--size", "11x10", "--name",
                           "{stem}{size}.{ext}", "in", "out"), CONFIG_ERROR);
    assert_non_null(strstr(err, "not '{stem}{size}'"));
    assert_int_equal(PARSE(&c, err, "--size", "1x10", "--size", "11x10", "--name",
                           "{size}7{stem}.{ext}", "in", "out"), CONFIG_ERROR);
    assert_int_equal(PARSE(&c, err, "--size", "1x10", "--size", "11x10", "--name",
                           "{stem}-{size}/{size}x.{ext}", "in", "out"), CONFIG_RUN);
    assert_int_equal(PARSE(&c, err, "--size", "200:fill", "in", "out"), CONFIG_ERROR);
    assert_string_equal(err, "--size: expected WxH, W, Wx or xH with 1..16384, each optionally "
                             ":cover or :inside, e.g. 200x200 or 1024x1024:inside, got '200:fill'");
    assert_int_equal(PARSE(&c, err, "--size", ",", "in", "out"), CONFIG_ERROR);
}

/* Unsets every THUMBD_ variable: the test's own environment must not warn. */
static void clear_thumbd_env(void)
{
    extern char **environ;
    for (bool again = true; again;) {
        again = false;
        for (char **p = environ; *p && !again; p++) {
            char name[256];
            size_t n = strcspn(*p, "=");
            if (strncmp(*p, "THUMBD_", 7) || n >= sizeof name)
                continue;
            memcpy(name, *p, n);
            name[n] = '\0';
            unsetenv(name);
            again = true;
        }
    }
}

/* Every flag: THUMBD_<FLAG>=1 sets it, --no-FLAG clears it again, and the
 * last of --FLAG and --no-FLAG wins. */
static void test_flag_negations(void **state)
{
    (void)state;
    clear_thumbd_env();
    int flags = 0;
    for (size_t i = 0; i < options_count; i++) {
        const options_entry *e = &options_table[i];
        if (e->kind != OPTIONS_FLAG)
            continue;
        flags++;
        char env[64], pos[64], neg[64], err[TD_ERRLEN];
        options_env_name(e, env, sizeof env);
        snprintf(pos, sizeof pos, "--%s", e->name);
        char *p = stpcpy(neg, "--");
        options_negation(e, p, sizeof neg - 2);
        thumbd_config c;
        const bool *field = (const bool *)(const void *)((const char *)&c + e->field);
        setenv(env, "1", 1);
        assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
        if (!*field)
            fail_msg("%s=1 did not set %s", env, pos);
        assert_int_equal(PARSE(&c, err, neg, "in", "out"), CONFIG_RUN);
        if (*field)
            fail_msg("%s did not override %s=1", neg, env);
        unsetenv(env);
        assert_int_equal(PARSE(&c, err, neg, pos, "in", "out"), CONFIG_RUN);
        assert_true(*field);
        assert_int_equal(PARSE(&c, err, pos, neg, "in", "out"), CONFIG_RUN);
        assert_false(*field);
    }
    assert_int_equal(flags, 14);
    thumbd_config c;
    char err[TD_ERRLEN];
    setenv("THUMBD_NO_MEMO", "1", 1);
    assert_int_equal(PARSE(&c, err, "--memo", "in", "out"), CONFIG_RUN);
    assert_false(c.no_memo);
    unsetenv("THUMBD_NO_MEMO");
    setenv("THUMBD_PRUNE", "1", 1); /* --no-prune lifts --prune's conflict with --shard */
    assert_int_equal(PARSE(&c, err, "--shard", "0/2", "--no-prune", "in", "out"), CONFIG_RUN);
    unsetenv("THUMBD_PRUNE");
}

/* An empty THUMBD_ variable is unset, for every option and THUMBD_SHARDS. */
static void test_env_empty_is_unset(void **state)
{
    (void)state;
    clear_thumbd_env();
    thumbd_config want, c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&want, err, "in", "out"), CONFIG_RUN);
    char names[OPTIONS_MAX][64];
    for (size_t i = 0; i < options_count; i++)
        if (options_env_name(&options_table[i], names[i], sizeof names[i]))
            setenv(names[i], "", 1);
    setenv("THUMBD_SHARDS", "", 1);
    setenv("JOB_COMPLETION_INDEX", "1", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_memory_equal(&c, &want, sizeof c);
    for (size_t i = 0; i < options_count; i++)
        if (names[i][0])
            unsetenv(names[i]);
    unsetenv("THUMBD_SHARDS");
    unsetenv("JOB_COMPLETION_INDEX");
}

/* What config_parse writes on stderr for argv "in out", into buf. */
static void parse_stderr(char *buf, size_t len)
{
    thumbd_config c;
    char err[TD_ERRLEN];
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0 && dup2(fileno(tmp), 2) == 2);
    config_result r = PARSE(&c, err, "in", "out");
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    assert_int_equal(r, CONFIG_RUN);
    rewind(tmp);
    size_t n = fread(buf, 1, len - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
}

/* A THUMBD_ variable thumbd does not read gets one warning naming it (and
 * the nearest known one); known, empty and other variables get none. */
static void test_env_unknown_warns(void **state)
{
    (void)state;
    clear_thumbd_env();
    char out[1024];
    setenv("THUMBD_QUALITY", "50", 1);
    setenv("THUMBD_SHARDS", "2", 1);
    setenv("THUMBD_VIPS_MODULE", "/nonexistent.so", 1);
    setenv("THUMBD_EMPTY_TYPO", "", 1);
    setenv("THUMBDSIZE", "1", 1);
    parse_stderr(out, sizeof out);
    assert_string_equal(out, "");
    setenv("THUMBD_SIZES", "320x320", 1);
    parse_stderr(out, sizeof out);
    assert_string_equal(out, "thumbd: warning: THUMBD_SIZES is not a thumbd variable: ignored "
                             "(did you mean THUMBD_SIZE?)\n");
    unsetenv("THUMBD_SIZES");
    setenv("THUMBD_\x1b[2J", "1", 1); /* escaped, and nothing near it */
    parse_stderr(out, sizeof out);
    assert_string_equal(out, "thumbd: warning: THUMBD_\\x1b[2J is not a thumbd variable: ignored\n");
    unsetenv("THUMBD_\x1b[2J");
    unsetenv("THUMBD_QUALITY");
    unsetenv("THUMBD_SHARDS");
    unsetenv("THUMBD_VIPS_MODULE");
    unsetenv("THUMBD_EMPTY_TYPO");
    unsetenv("THUMBDSIZE");
}

/* --placeholder: none by default; THUMBD_PLACEHOLDER sets it, the command
 * line wins over it. */
static void test_placeholder_choice(void **state)
{
    (void)state;
    clear_thumbd_env();
    thumbd_config c;
    char err[TD_ERRLEN];
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.placeholder, PLACEHOLDER_NONE);
    assert_int_equal(PARSE(&c, err, "--placeholder", "thumbhash", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.placeholder, PLACEHOLDER_THUMBHASH);
    setenv("THUMBD_PLACEHOLDER", "thumbhash", 1);
    assert_int_equal(PARSE(&c, err, "in", "out"), CONFIG_RUN);
    assert_int_equal(c.placeholder, PLACEHOLDER_THUMBHASH);
    assert_int_equal(PARSE(&c, err, "--placeholder=none", "in", "out"), CONFIG_RUN);
    assert_int_equal(c.placeholder, PLACEHOLDER_NONE);
    unsetenv("THUMBD_PLACEHOLDER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_table),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_size_list),
        cmocka_unit_test(test_flag_negations),
        cmocka_unit_test(test_env_empty_is_unset),
        cmocka_unit_test(test_env_unknown_warns),
        cmocka_unit_test(test_placeholder_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
