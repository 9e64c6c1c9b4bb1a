/* End-to-end tests of several sizes from one decode (--size given more
 * than once): the files, their dimensions and names (the default
 * {stem}_{size}.{ext}, --name with {size}), each size's fit, one report
 * record with an outputs list, the incremental re-run (nothing to do; one
 * output deleted: the source made again, all its sizes), --prune (every
 * output of a gone source; a size not asked for stays while its
 * source does; a file thumbd did not make stays), and a decode error (one
 * failed record, no file).
 *
 *   test_multisize THUMBD_BIN
 *
 * THUMBD_MULTISIZE_KEEP=1 keeps the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static void ramp_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int x = 0; x < w; x++) {
        row[x * 3] = (uint8_t)(x * 255 / w);
        row[x * 3 + 1] = (uint8_t)(y * 255 / 900);
        row[x * 3 + 2] = (uint8_t)((x + y) & 255);
    }
}

/* A test's directories: DIR/in with a 1600x900 photo.jpg, DIR/out. */
typedef struct dirs {
    char dir[300], in[400], out[400], rep[400];
} dirs;

static void make_dirs(dirs *d, const char *name)
{
    char p[500];
    pathf(d->dir, sizeof d->dir, "%s/%s", e2e_root, name);
    pathf(d->in, sizeof d->in, "%s/in", d->dir);
    pathf(d->out, sizeof d->out, "%s/out", d->dir);
    pathf(d->rep, sizeof d->rep, "%s/report.jsonl", d->dir);
    assert_int_equal(mkdir(d->dir, 0755), 0);
    assert_int_equal(mkdir(d->in, 0755), 0);
    pathf(p, sizeof p, "%s/photo.jpg", d->in);
    assert_int_equal(write_rgb_jpeg(p, 1600, 900, 90, ramp_row, NULL), 0);
}

/* Runs thumbd --report d->rep EXTRA... d->in d->out; returns its exit code. */
static int run(const dirs *d, const char *const *extra)
{
    const char *args[32];
    int n = 0;
    args[n++] = "--report";
    args[n++] = d->rep;
    for (int i = 0; extra[i]; i++)
        args[n++] = extra[i];
    args[n++] = d->in;
    args[n++] = d->out;
    args[n] = NULL;
    e2e_cmd c = {.bin = e2e_bin, .args = args};
    return e2e_exec(&c, 120).code;
}

/* The dimensions of the JPEG at OUT/rel, or false when it is not one. */
static bool jpeg_dims(const dirs *d, const char *rel, int *w, int *h)
{
    char p[700], why[200];
    pathf(p, sizeof p, "%s/%s", d->out, rel);
    size_t n;
    char *data = e2e_slurp(p, &n);
    bool ok = data && e2e_jpeg_decodes((const uint8_t *)data, n, w, h, why, sizeof why);
    free(data);
    return ok;
}

static bool exists(const dirs *d, const char *rel)
{
    char p[700];
    pathf(p, sizeof p, "%s/%s", d->out, rel);
    return access(p, F_OK) == 0;
}

static const char *const three[] = {"--size", "200x200", "--size", "400x300:inside",
                                    "--size", "1024x1024", "--fit", "cover", NULL};

/* What three[] makes of a 1600x900 source: cover 200x200, inside 400x300
 * (aspect kept: 400x225), cover 1024x1024 without --enlarge (1024x900). */
static const struct {
    const char *rel, *size;
    int w, h;
} made[] = {
    {"photo_200x200.jpg", "200x200", 200, 200},
    {"photo_400x300.jpg", "400x300", 400, 225},
    {"photo_1024x1024.jpg", "1024x1024", 1024, 900},
};

/* Every output of made[] is in place with its dimensions, and the one
 * record of photo.jpg is status with an outputs entry for each. */
static void check_made(const dirs *d, const char *status)
{
    for (size_t i = 0; i < 3; i++) {
        int w = 0, h = 0;
        CHECK(jpeg_dims(d, made[i].rel, &w, &h), "%s: not a JPEG in OUT", made[i].rel);
        CHECK(w == made[i].w && h == made[i].h, "%s: %dx%d, expected %dx%d", made[i].rel, w, h,
              made[i].w, made[i].h);
    }
    e2e_report r;
    e2e_report_must_load(d->rep, &r);
    CHECK(r.n == 1, "%d records, expected one for the one source", r.n);
    const e2e_jrec *rec = e2e_report_one(&r, "photo.jpg");
    const char *text = e2e_report_text(&r, rec);
    CHECK(e2e_is(rec, status), "not %s: %s", status, text);
    CHECK(!strcmp(e2e_str_or(rec, "out", ""), made[0].rel), "out is not the first size's: %s", text);
    for (size_t i = 0; i < 3 && !strcmp(status, "ok"); i++) {
        char want[200];
        pathf(want, sizeof want, "{\"size\":\"%s\",\"out\":\"%s\",\"out_w\":%d,\"out_h\":%d,",
              made[i].size, made[i].rel, made[i].w, made[i].h);
        CHECK(strstr(text, want) != NULL, "no outputs entry %s in %s", want, text);
    }
    e2e_report_free(&r);
}

/* Three sizes: three files, named and sized by their box and fit, one
 * record; a re-run does nothing (by stats, then by the memo); one output
 * deleted: the source is made again (all its sizes). */
static void test_three_sizes(void **state)
{
    (void)state;
    begin_checks();
    dirs d;
    make_dirs(&d, "three");
    int code = run(&d, three);
    CHECK(code == 0, "exit %d", code);
    check_made(&d, "ok");
    CHECK(!exists(&d, "photo.jpg"), "a thumbnail at the single-size name");

    const char *again[12];
    memcpy(again, three, sizeof three);
    again[8] = "--report-skipped";
    again[9] = NULL;
    /* A second later the re-run writes the directory's memo (memo.h), and
     * the next one is vouched for by it: both skip the source. */
    usleep(1200 * 1000);
    for (int i = 0; i < 2; i++) {
        code = run(&d, again);
        CHECK(code == 0, "re-run %d: exit %d", i + 1, code);
        check_made(&d, "skipped");
    }

    char p[700];
    pathf(p, sizeof p, "%s/%s", d.out, made[1].rel);
    CHECK(unlink(p) == 0, "cannot remove %s", p);
    code = run(&d, three);
    CHECK(code == 0, "after a removal: exit %d", code);
    check_made(&d, "ok");
    end_checks();
}

/* --name with {size}: each size in its own directory; a worker thread
 * (--isolation thread) makes them as a worker process does. */
static void test_name_template(void **state)
{
    (void)state;
    begin_checks();
    dirs d;
    make_dirs(&d, "name");
    const char *args[] = {"--size", "64x64,128x96:inside", "--name", "{size}/{stem}.{ext}",
                          "--isolation", "thread", NULL};
    int code = run(&d, args);
    CHECK(code == 0, "exit %d", code);
    int w = 0, h = 0;
    CHECK(jpeg_dims(&d, "64x64/photo.jpg", &w, &h) && w == 64 && h == 64, "64x64/photo.jpg: %dx%d",
          w, h);
    CHECK(jpeg_dims(&d, "128x96/photo.jpg", &w, &h) && w == 128 && h == 72,
          "128x96/photo.jpg: %dx%d", w, h);
    code = run(&d, args);
    e2e_report r;
    e2e_report_must_load(d.rep, &r);
    CHECK(code == 0 && r.n == 0, "re-run: exit %d, %d records (up to date: none)", code, r.n);
    e2e_report_free(&r);
    end_checks();
}

/* --prune: a gone source's outputs go, every size's, also one of a size no
 * longer asked for (the ledger proves thumbd made it), which stays while
 * its source is there; a file thumbd did not make stays. */
static void test_prune(void **state)
{
    (void)state;
    begin_checks();
    dirs d;
    make_dirs(&d, "prune");
    const char *old[] = {"--size", "100x100,300x300", NULL};
    int code = run(&d, old);
    CHECK(code == 0, "exit %d", code);
    code = run(&d, three);
    CHECK(code == 0, "exit %d", code);
    CHECK(exists(&d, "photo_100x100.jpg") && exists(&d, "photo_300x300.jpg"),
          "a size not asked for was removed while its source is there");
    char p[700];
    pathf(p, sizeof p, "%s/photo_50x50.jpg", d.out);
    write_file(p, "not thumbd's", 12);
    const char *prune[12];
    memcpy(prune, three, sizeof three);
    prune[8] = "--prune";
    prune[9] = NULL;
    code = run(&d, prune);
    CHECK(code == 0, "--prune with the source there: exit %d", code);
    CHECK(exists(&d, "photo_100x100.jpg"), "--prune removed a thumbnail whose source is there");
    pathf(p, sizeof p, "%s/photo.jpg", d.in);
    CHECK(unlink(p) == 0, "cannot remove %s", p);
    code = run(&d, prune);
    CHECK(code == 0, "--prune: exit %d", code);
    static const char *const gone[] = {"photo_200x200.jpg", "photo_400x300.jpg",
                                       "photo_1024x1024.jpg", "photo_100x100.jpg",
                                       "photo_300x300.jpg"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        CHECK(!exists(&d, gone[i]), "%s is still there", gone[i]);
    CHECK(exists(&d, "photo_50x50.jpg"), "--prune removed a file thumbd did not make");
    e2e_report r;
    e2e_report_must_load(d.rep, &r);
    CHECK(e2e_report_count(&r, "pruned") == 5, "%d pruned records, expected 5",
          e2e_report_count(&r, "pruned"));
    e2e_report_free(&r);
    end_checks();
}

/* A source that does not decode: one failed record, no output of any size. */
static void test_decode_error(void **state)
{
    (void)state;
    begin_checks();
    dirs d;
    make_dirs(&d, "bad");
    char p[500];
    pathf(p, sizeof p, "%s/photo.jpg", d.in);
    static const char bad[] = "\xff\xd8\xff\xe0 not a JPEG at all";
    write_file(p, bad, sizeof bad - 1);
    int code = run(&d, three);
    CHECK(code == 1, "exit %d, expected 1", code);
    e2e_report r;
    e2e_report_must_load(d.rep, &r);
    CHECK(r.n == 1, "%d records, expected one", r.n);
    const e2e_jrec *rec = e2e_report_one(&r, "photo.jpg");
    CHECK(e2e_is(rec, "failed") && e2e_is_null(rec, "out") && !e2e_jrec_get(rec, "outputs"),
          "not one failed record without outputs: %s", e2e_report_text(&r, rec));
    e2e_report_free(&r);
    for (size_t i = 0; i < 3; i++)
        CHECK(!exists(&d, made[i].rel), "%s was written", made[i].rel);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_sizes),
        cmocka_unit_test(test_name_template),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_decode_error),
    };
    return e2e_main(argc, argv, "multisize", tests, sizeof tests / sizeof tests[0]);
}
