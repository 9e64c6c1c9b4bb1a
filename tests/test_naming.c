/* End-to-end tests of output naming (--name TEMPLATE) and of -f auto's
 * choice by real transparency: name collisions and the way out of them,
 * subdirectories, long names, re-runs, --prune and memos under a template,
 * opaque RGBA sources as JPEG, grey+alpha sources as grey+alpha PNG.
 *
 *   test_naming THUMBD_BIN
 *
 * Every test runs the real binary (posix_spawn, an environment without
 * THUMBD_* variables) on images made here with libjpeg and libpng, in a
 * fresh directory under $TMPDIR (or /tmp). THUMBD_NAMING_KEEP=1 keeps it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "e2e_util.h"

/* ---- files ------------------------------------------------------------------ */

/* e2e_root/name/in (made, empty) and e2e_root/name/out (not made). */
static void dirs(const char *name, char *in, char *out, size_t n)
{
    char d[400];
    pathf(d, sizeof d, "%s/%s", e2e_root, name);
    assert_int_equal(mkdir(d, 0755), 0);
    pathf(in, n, "%s/in", d);
    pathf(out, n, "%s/out", d);
    assert_int_equal(mkdir(in, 0755), 0);
}

static void colour_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int x = 0; x < w; x++) {
        row[x * 3] = (uint8_t)(x * 3 + y);
        row[x * 3 + 1] = (uint8_t)(y * 2);
        row[x * 3 + 2] = (uint8_t)(255 - x);
    }
}

static void jpeg_at(const char *path)
{
    assert_int_equal(write_rgb_jpeg(path, 96, 64, 90, colour_row, NULL), 0);
}

typedef enum { PX_OPAQUE, PX_ALPHA } alpha_kind;

/* A w x h 8-bit PNG of colour type ct (2, 4 or 6): colour (or grey) that
 * varies with seed; its alpha 255 throughout (PX_OPAQUE) or a gradient
 * down to 0 (PX_ALPHA). */
static void png_at(const char *path, int w, int h, int ct, alpha_kind a, int seed)
{
    int c = ct == PNG_COLOR_TYPE_RGB ? 3 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 4;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, ct, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    uint8_t *row = malloc((size_t)w * (size_t)c);
    assert_non_null(row);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = row + (size_t)x * (size_t)c;
            uint8_t v = (uint8_t)(x * 2 + y + seed * 17);
            p[0] = v;
            if (c >= 3) {
                p[1] = (uint8_t)(y * 3 + seed);
                p[2] = (uint8_t)(255 - x);
            }
            if (c == 2 || c == 4)
                p[c - 1] = a == PX_OPAQUE ? 255 : (uint8_t)(x * 255 / (w - 1));
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* The PNG colour type of the file at path, -1 if it is no PNG; 'J' for a
 * JPEG. */
static int kind_of(const char *path)
{
    uint8_t *d;
    size_t n;
    if (read_file(path, &d, &n) != 0)
        return -1;
    int k = n > 25 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8) ? d[25] : n > 3 && d[0] == 0xff && d[1] == 0xd8 ? 'J' : -1;
    free(d);
    return k;
}

/* ---- runs and reports ---------------------------------------------------- */

typedef struct report {
    e2e_jrec *r;
    int n;
} report;

/* Runs thumbd with args (NULL-terminated), its report to e2e_root/rep.jsonl
 * read into *rep; returns the exit code. */
static int run(report *rep, const char *const *args)
{
    char *argv[32], rp[400], so[400], se[400];
    pathf(rp, sizeof rp, "%s/rep.jsonl", e2e_root);
    pathf(so, sizeof so, "%s/stdout.txt", e2e_root);
    pathf(se, sizeof se, "%s/stderr.txt", e2e_root);
    unlink(rp);
    int n = 0;
    argv[n++] = (char *)e2e_bin;
    argv[n++] = "--report-skipped"; /* re-runs are checked by their skipped records */
    argv[n++] = "-r";
    argv[n++] = rp;
    for (; *args && n < 31; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    e2e_proc p = e2e_run(argv, env, so, se, 120, 5, NULL);
    *rep = (report){0};
    uint8_t *d;
    size_t len;
    if (read_file(rp, &d, &len) != 0)
        return p.code;
    char *text = malloc(len + 1);
    assert_non_null(text);
    memcpy(text, d, len);
    text[len] = '\0';
    free(d);
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        rep->r = realloc(rep->r, (size_t)(rep->n + 1) * sizeof *rep->r);
        assert_non_null(rep->r);
        assert_true(e2e_jrec_parse(line, &rep->r[rep->n], E2E_JREC_MAX, true));
        rep->n++;
    }
    free(text);
    return p.code;
}

static void report_free(report *rep)
{
    for (int i = 0; i < rep->n; i++)
        e2e_jrec_free(&rep->r[i]);
    free(rep->r);
    *rep = (report){0};
}

/* The string field key of the record of src (of status, if not NULL), or NULL. */
static const char *field(const report *rep, const char *src, const char *status, const char *key)
{
    for (int i = 0; i < rep->n; i++) {
        const e2e_jfield *s = e2e_jrec_get(&rep->r[i], "src");
        const e2e_jfield *st = e2e_jrec_get(&rep->r[i], "status");
        if (s && s->s && !strcmp(s->s, src) && (!status || (st && st->s && !strcmp(st->s, status)))) {
            const e2e_jfield *f = e2e_jrec_get(&rep->r[i], key);
            return f && f->type == E2E_J_STR ? f->s : NULL;
        }
    }
    return NULL;
}

static int count_status(const report *rep, const char *status)
{
    int n = 0;
    for (int i = 0; i < rep->n; i++) {
        const e2e_jfield *st = e2e_jrec_get(&rep->r[i], "status");
        n += st && st->s && !strcmp(st->s, status);
    }
    return n;
}

/* src's record has this status and out. */
static void expect(const report *rep, const char *src, const char *status, const char *out)
{
    const char *st = field(rep, src, NULL, "status");
    CHECK(st && !strcmp(st, status), "%s: status %s, expected %s", src, st ? st : "(none)", status);
    const char *o = field(rep, src, NULL, "out");
    if (out)
        CHECK(o && !strcmp(o, out), "%s: out %s, expected %s", src, o ? o : "(null)", out);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- item 1: --name ---------------------------------------------------------- */

/* a.jpg and a.png map to one name by default: the second fails, and its
 * error names --name '{name}.{ext}' as the way to keep both. */
static void test_collision_names_the_way_out(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], p[500];
    dirs("collide", in, out, sizeof in);
    pathf(p, sizeof p, "%s/a.jpg", in);
    jpeg_at(p);
    pathf(p, sizeof p, "%s/a.png", in);
    png_at(p, 80, 60, PNG_COLOR_TYPE_RGBA, PX_ALPHA, 1);
    report r;
    int code = run(&r, ARGS(in, out));
    CHECK(code == 1, "exit %d, expected 1", code);
    expect(&r, "a.jpg", "ok", "a.jpg");
    expect(&r, "a.png", "failed", NULL);
    const char *err = field(&r, "a.png", NULL, "error");
    CHECK(err && strstr(err, "collision") && strstr(err, "--name '{name}.{ext}'"),
          "the collision's error does not name --name '{name}.{ext}': %s", err ? err : "(null)");
    report_free(&r);
    end_checks();
}

/* {name}.{ext}: both get a thumbnail, a re-run skips both, and --prune
 * after a.png is deleted removes a.png.png and nothing else. */
static void test_name_keeps_both(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], p[500];
    dirs("byname", in, out, sizeof in);
    pathf(p, sizeof p, "%s/a.jpg", in);
    jpeg_at(p);
    pathf(p, sizeof p, "%s/a.png", in);
    png_at(p, 80, 60, PNG_COLOR_TYPE_RGBA, PX_ALPHA, 1);
    report r;
    int code = run(&r, ARGS("--name", "{name}.{ext}", in, out));
    CHECK(code == 0, "exit %d, expected 0", code);
    expect(&r, "a.jpg", "ok", "a.jpg.jpg");
    expect(&r, "a.png", "ok", "a.png.png");
    report_free(&r);
    code = run(&r, ARGS("--name", "{name}.{ext}", in, out));
    CHECK(code == 0, "re-run: exit %d", code);
    expect(&r, "a.jpg", "skipped", "a.jpg.jpg");
    expect(&r, "a.png", "skipped", "a.png.png");
    report_free(&r);
    assert_int_equal(unlink(p), 0);
    code = run(&r, ARGS("--name", "{name}.{ext}", "--prune", "--max-prune", "all", in, out));
    CHECK(code == 0, "prune: exit %d", code);
    CHECK(count_status(&r, "pruned") == 1, "%d pruned, expected 1", count_status(&r, "pruned"));
    expect(&r, "a.png.png", "pruned", "a.png.png");
    expect(&r, "a.jpg", "skipped", "a.jpg.jpg");
    report_free(&r);
    pathf(p, sizeof p, "%s/a.png.png", out);
    CHECK(!exists(p), "a.png.png is still there");
    pathf(p, sizeof p, "%s/a.jpg.jpg", out);
    CHECK(exists(p), "a.jpg.jpg was removed");
    end_checks();
}

/* {stem}/{size}.{ext}: a directory per source; re-runs skip them; memos
 * are not trusted (a thumbnail deleted from its subdirectory is made
 * again, though the mirrored directory did not change); --prune removes a
 * gone source's thumbnail and the directory thumbd made for it. */
static void test_subdirectory_template(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], p[500];
    dirs("subdir", in, out, sizeof in);
    pathf(p, sizeof p, "%s/a.jpg", in);
    jpeg_at(p);
    pathf(p, sizeof p, "%s/b.png", in);
    png_at(p, 80, 60, PNG_COLOR_TYPE_RGBA, PX_ALPHA, 2);
    pathf(p, sizeof p, "%s/sub", in);
    assert_int_equal(mkdir(p, 0755), 0);
    pathf(p, sizeof p, "%s/sub/c.jpg", in);
    jpeg_at(p);
    const char *t = "{stem}/{size}.{ext}";
    report r;
    int code = run(&r, ARGS("--name", t, "-s", "64x48", in, out));
    CHECK(code == 0, "exit %d", code);
    expect(&r, "a.jpg", "ok", "a/64x48.jpg");
    expect(&r, "b.png", "ok", "b/64x48.png");
    expect(&r, "sub/c.jpg", "ok", "sub/c/64x48.jpg");
    report_free(&r);
    const char *files[] = {"a/64x48.jpg", "b/64x48.png", "sub/c/64x48.jpg"};
    for (int i = 0; i < 3; i++) {
        pathf(p, sizeof p, "%s/%s", out, files[i]);
        CHECK(exists(p), "%s is missing", files[i]);
    }
    /* Twice more, the second past the memos' racy second: were memos
     * written, the third run would trust them. */
    usleep(1200 * 1000);
    code = run(&r, ARGS("--name", t, "-s", "64x48", in, out));
    CHECK(code == 0 && count_status(&r, "skipped") == 3, "re-run: exit %d, %d skipped", code,
          count_status(&r, "skipped"));
    report_free(&r);
    pathf(p, sizeof p, "%s/a/64x48.jpg", out);
    assert_int_equal(unlink(p), 0);
    code = run(&r, ARGS("--name", t, "-s", "64x48", in, out));
    expect(&r, "a.jpg", "ok", "a/64x48.jpg");
    expect(&r, "b.png", "skipped", "b/64x48.png");
    report_free(&r);
    CHECK(exists(p), "a/64x48.jpg was not made again");
    pathf(p, sizeof p, "%s/b.png", in);
    assert_int_equal(unlink(p), 0);
    code = run(&r, ARGS("--name", t, "-s", "64x48", "--prune", "--max-prune", "all", in, out));
    CHECK(code == 0, "prune: exit %d", code);
    expect(&r, "b/64x48.png", "pruned", "b/64x48.png");
    CHECK(count_status(&r, "pruned") == 1, "%d pruned, expected 1", count_status(&r, "pruned"));
    report_free(&r);
    pathf(p, sizeof p, "%s/b", out);
    CHECK(!exists(p), "the directory b that thumbd made is still there");
    pathf(p, sizeof p, "%s/a/64x48.jpg", out);
    CHECK(exists(p), "a/64x48.jpg was removed");
    end_checks();
}

/* A 250-byte name under {name}-{size}.{ext} (258 bytes) is shortened, not
 * refused, and found again by the re-run. */
static void test_long_name_shortened(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], name[256], p[800];
    dirs("long", in, out, sizeof in);
    memset(name, 'n', 246);
    strcpy(name + 246, ".jpg");
    pathf(p, sizeof p, "%s/%s", in, name);
    jpeg_at(p);
    report r;
    int code = run(&r, ARGS("--name", "{name}-{size}.{ext}", in, out));
    CHECK(code == 0, "exit %d", code);
    const char *o = field(&r, name, "ok", "out");
    CHECK(o && strlen(o) <= 255 && strchr(o, '~') && !strncmp(o, name, 100) &&
              !strcmp(o + strlen(o) - 4, ".jpg"),
          "out: %s", o ? o : "(no ok record)");
    char first[300] = "";
    if (o) {
        snprintf(first, sizeof first, "%s", o);
        pathf(p, sizeof p, "%s/%s", out, o);
        CHECK(exists(p), "the shortened thumbnail is missing");
    }
    report_free(&r);
    code = run(&r, ARGS("--name", "{name}-{size}.{ext}", in, out));
    CHECK(code == 0, "re-run: exit %d", code);
    expect(&r, name, "skipped", first);
    report_free(&r);
    end_checks();
}

/* The template is one of the options a thumbnail depends on (the options
 * fingerprint, which memos are kept under): another one redoes the tree; a
 * bad one is a usage error. */
static void test_template_change_and_usage(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], p[500];
    dirs("change", in, out, sizeof in);
    pathf(p, sizeof p, "%s/a.jpg", in);
    jpeg_at(p);
    report r;
    run(&r, ARGS(in, out));
    expect(&r, "a.jpg", "ok", "a.jpg");
    report_free(&r);
    /* The default, spelled out; past the memos' racy second, so that this
     * run writes a memo, which the next run must not take for its own. */
    usleep(1200 * 1000);
    run(&r, ARGS("--name", "{stem}.{ext}", in, out));
    expect(&r, "a.jpg", "skipped", "a.jpg");
    report_free(&r);
    char memo[500];
    pathf(memo, sizeof memo, "%s/.thumbd.memo", out);
    CHECK(exists(memo), "no memo directory");
    run(&r, ARGS("--name", "t_{stem}.{ext}", in, out));
    expect(&r, "a.jpg", "ok", "t_a.jpg");
    report_free(&r);
    const char *bad[] = {"../{stem}.{ext}", "/tmp/{stem}", "a//{stem}", "{stem}/", "{size", "{wat}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int code = run(&r, ARGS("--name", bad[i], in, out));
        CHECK(code == 2, "--name '%s': exit %d, expected 2", bad[i], code);
        report_free(&r);
    }
    end_checks();
}

/* ---- item 2: -f auto by real transparency ----------------------------------- */

/* 15 RGBA PNGs whose alpha is 255 throughout become JPEGs; a PNG with real
 * alpha stays an RGBA PNG; a grey+alpha PNG gives a grey+alpha PNG (colour
 * type 4), an opaque one a JPEG. The re-run finds them all. */
static void test_auto_by_transparency(void **state)
{
    (void)state;
    begin_checks();
    char in[400], out[400], p[500], src[64], o[64];
    dirs("auto", in, out, sizeof in);
    for (int i = 0; i < 15; i++) {
        pathf(p, sizeof p, "%s/opaque%02d.png", in, i);
        png_at(p, 90 + i, 70, PNG_COLOR_TYPE_RGBA, PX_OPAQUE, i);
    }
    pathf(p, sizeof p, "%s/alpha.png", in);
    png_at(p, 90, 70, PNG_COLOR_TYPE_RGBA, PX_ALPHA, 3);
    pathf(p, sizeof p, "%s/grey.png", in);
    png_at(p, 90, 70, PNG_COLOR_TYPE_GRAY_ALPHA, PX_ALPHA, 4);
    pathf(p, sizeof p, "%s/greyopaque.png", in);
    png_at(p, 90, 70, PNG_COLOR_TYPE_GRAY_ALPHA, PX_OPAQUE, 5);
    report r;
    int code = run(&r, ARGS("-s", "64x48", in, out));
    CHECK(code == 0, "exit %d", code);
    for (int i = 0; i < 15; i++) {
        snprintf(src, sizeof src, "opaque%02d.png", i);
        snprintf(o, sizeof o, "opaque%02d.jpg", i);
        expect(&r, src, "ok", o);
        pathf(p, sizeof p, "%s/%s", out, o);
        CHECK(kind_of(p) == 'J', "%s is not a JPEG", o);
    }
    expect(&r, "alpha.png", "ok", "alpha.png");
    expect(&r, "grey.png", "ok", "grey.png");
    expect(&r, "greyopaque.png", "ok", "greyopaque.jpg");
    report_free(&r);
    pathf(p, sizeof p, "%s/alpha.png", out);
    CHECK(kind_of(p) == PNG_COLOR_TYPE_RGBA, "alpha.png: colour type %d, expected 6", kind_of(p));
    pathf(p, sizeof p, "%s/grey.png", out);
    CHECK(kind_of(p) == PNG_COLOR_TYPE_GRAY_ALPHA, "grey.png: colour type %d, expected 4", kind_of(p));
    code = run(&r, ARGS("-s", "64x48", in, out));
    CHECK(code == 0 && count_status(&r, "skipped") == 18, "re-run: exit %d, %d of 18 skipped", code,
          count_status(&r, "skipped"));
    report_free(&r);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collision_names_the_way_out),
        cmocka_unit_test(test_name_keeps_both),
        cmocka_unit_test(test_subdirectory_template),
        cmocka_unit_test(test_long_name_shortened),
        cmocka_unit_test(test_template_change_and_usage),
        cmocka_unit_test(test_auto_by_transparency),
    };
    return e2e_main(argc, argv, "naming", tests, sizeof tests / sizeof tests[0]);
}
