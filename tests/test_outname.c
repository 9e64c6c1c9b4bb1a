/* Unit tests of the output-naming module (outname.h): thumbnail names,
 * extensions, and the one-letter codes memos store on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "thumbd/outname.h"

static const out_kind all[] = {OUT_JPEG, OUT_PNG, OUT_WEBP, OUT_AVIF};
enum { NALL = sizeof all / sizeof *all };

static void check_for(const char *src, out_kind kind, const char *want)
{
    char *got = outname_for(src, kind);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_ext(void **state)
{
    (void)state;
    assert_string_equal(outname_ext(OUT_JPEG), ".jpg");
    assert_string_equal(outname_ext(OUT_PNG), ".png");
    assert_string_equal(outname_ext(OUT_WEBP), ".webp");
    assert_string_equal(outname_ext(OUT_AVIF), ".avif");
}

/* The extension of the last component is replaced; a dot in a directory
 * name or at the start of the name is not an extension. */
static void test_for(void **state)
{
    (void)state;
    check_for("a.jpg", OUT_JPEG, "a.jpg");
    check_for("a/b.JPEG", OUT_PNG, "a/b.png");
    check_for("x.tar.gif", OUT_WEBP, "x.tar.webp");
    check_for("d/e/photo.tiff", OUT_AVIF, "d/e/photo.avif");
    check_for("dir.d/file", OUT_AVIF, "dir.d/file.avif");
    check_for("a.d/.x", OUT_JPEG, "a.d/.x.jpg");
    check_for(".x.png", OUT_JPEG, ".x.jpg");
    check_for("noext", OUT_PNG, "noext.png");
    check_for("a.", OUT_PNG, "a.png");
}

/* outname_kind reads back the kind outname_for wrote, and nothing else. */
static void test_kind_inverse(void **state)
{
    (void)state;
    for (int i = 0; i < NALL; i++) {
        char *name = outname_for("dir.d/pic.heic", all[i]);
        assert_non_null(name);
        out_kind k = (out_kind)-1;
        assert_true(outname_kind(name, &k));
        assert_int_equal(k, all[i]);
        free(name);
    }
    out_kind k;
    assert_false(outname_kind("a.gif", &k));
    assert_false(outname_kind("a", &k));
    assert_false(outname_kind("a.jpg/b", &k));  /* the extension of a directory */
    assert_false(outname_kind("a/.png", &k));   /* a dot file's name, not its extension */
    assert_false(outname_kind("a.jpeg", &k));   /* thumbd writes .jpg */
    assert_false(outname_kind("a.JPG", &k));
}

/* The codes are on disk in memos: each keeps its letter. */
static void test_codes(void **state)
{
    (void)state;
    assert_int_equal(outname_code(OUT_JPEG), 'j');
    assert_int_equal(outname_code(OUT_PNG), 'p');
    assert_int_equal(outname_code(OUT_WEBP), 'w');
    assert_int_equal(outname_code(OUT_AVIF), 'a');
    for (int i = 0; i < NALL; i++) {
        out_kind k = (out_kind)-1;
        assert_true(outname_from_code(outname_code(all[i]), &k));
        assert_int_equal(k, all[i]);
    }
    out_kind k;
    assert_false(outname_from_code(0, &k));
    assert_false(outname_from_code('x', &k));
    assert_false(outname_from_code('J', &k));
}

static void check_path(const char *tmpl, const char *src, out_kind kind, const char *want)
{
    outname_rule r = {tmpl, 320, 240};
    char *got = outname_path(&r, src, kind);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Each field, subdirectories, and the default template as outname_for. */
static void test_template_fields(void **state)
{
    (void)state;
    check_path("{stem}.{ext}", "d/a.png", OUT_JPEG, "d/a.jpg");
    check_path("{name}.{ext}", "d/a.png", OUT_PNG, "d/a.png.png");
    check_path("{name}.{ext}", ".x", OUT_JPEG, ".x.jpg");
    check_path("{stem}-{size}.{ext}", "a.b.tiff", OUT_WEBP, "a.b-320x240.webp");
    check_path("{stem}/{size}.{ext}", "d/e/a.jpg", OUT_JPEG, "d/e/a/320x240.jpg");
    check_path("t/{ext}/{name}", "a.jpg", OUT_AVIF, "t/avif/a.jpg");
    check_path("{stem}", "noext", OUT_PNG, "noext");
    outname_rule dflt = {NULL, 1, 1};
    const char *srcs[] = {"a.jpg", "a/b.JPEG", "x.tar.gif", "dir.d/file", "a.d/.x", "a."};
    for (size_t i = 0; i < sizeof srcs / sizeof *srcs; i++) {
        char *a = outname_path(&dflt, srcs[i], OUT_PNG), *b = outname_for(srcs[i], OUT_PNG);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

/* A field that makes "." or "..", or a ".thumbd" name at OUT_DIR's top
 * under a template other than the default, never leaves the mirrored
 * directory nor lands on thumbd's own files. */
static void test_template_cannot_escape(void **state)
{
    (void)state;
    check_path("{stem}/{size}.{ext}", "d/...jpg", OUT_JPEG, "d/%2E%2E/320x240.jpg");
    check_path("{stem}/{size}.{ext}", "..png", OUT_JPEG, "%2E/320x240.jpg");
    check_path("{stem}", ".thumbd.lock.png", OUT_JPEG, "%2Ethumbd.lock");
    check_path("{stem}/x", ".thumbd.ledger.png", OUT_JPEG, "%2Ethumbd.ledger/x");
    check_path("{stem}", "d/.thumbd.lock.png", OUT_JPEG, "d/.thumbd.lock"); /* not the top */
    check_path("{stem}.{ext}", ".thumbd.lock.png", OUT_JPEG, ".thumbd.lock.jpg");
}

/* A component over 255 bytes: its first 200 bytes (whole UTF-8
 * characters), '~', 16 hex digits of its hash, its extension; the same
 * every time, and different for another name. */
static void test_long_names_shortened(void **state)
{
    (void)state;
    char src[300], other[300];
    memset(src, 'x', 250);
    memcpy(src + 250, ".png", 5);
    memcpy(other, src, 255);
    other[249] = 'y';
    outname_rule r = {"{name}-{size}.{ext}", 200, 200};
    char *a = outname_path(&r, src, OUT_JPEG), *b = outname_path(&r, src, OUT_JPEG);
    char *c = outname_path(&r, other, OUT_JPEG);
    assert_non_null(a);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 200 + 1 + 16 + 4);
    assert_int_equal(strspn(a, "x"), 200);
    assert_int_equal(a[200], '~');
    assert_int_equal(strspn(a + 201, "0123456789abcdef"), 16);
    assert_string_equal(a + 217, ".jpg");
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
    /* "é" (2 bytes) across byte 200: the cut comes before it. */
    char u[300] = "d/";
    memset(u + 2, 'x', 199);
    strcpy(u + 201, "\xc3\xa9");
    memset(u + 203, 'z', 60);
    strcpy(u + 263, ".jpg");
    a = outname_path(&r, u, OUT_JPEG);
    assert_non_null(a);
    assert_int_equal(a[2 + 199], '~');
    assert_true(strlen(a) - 2 <= OUTNAME_MAX_COMPONENT);
    free(a);
    /* A directory component too, and a name of 255 bytes stays as it is. */
    outname_rule dir = {"{name}-{size}/{ext}", 200, 200};
    a = outname_path(&dir, src, OUT_PNG);
    assert_non_null(a);
    assert_string_equal(strchr(a, '/') - 12, ".png-200x200/png"); /* from its last dot */
    assert_int_equal(strchr(a, '/') - a, 200 + 1 + 16 + 12);
    free(a);
    outname_rule fit = {"{name}", 1, 1};
    char exact[260];
    memset(exact, 'q', 255);
    exact[255] = '\0';
    a = outname_path(&fit, exact, OUT_JPEG);
    assert_string_equal(a, exact);
    free(a);
}

static void check_bad(const char *tmpl)
{
    char err[TD_ERRLEN] = "";
    assert_false(outname_check(tmpl, err));
    assert_true(err[0] != '\0');
}

static void test_template_check(void **state)
{
    (void)state;
    char err[TD_ERRLEN];
    const char *good[] = {"{stem}.{ext}", "{name}.{ext}", "{stem}/{size}.{ext}", "t/{name}-{size}.{ext}",
                          "plain", "a.b/..c/{ext}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(outname_check(good[i], err));
    const char *bad[] = {"", "/abs/{stem}", "../{stem}", "a/../{stem}", "./{stem}", "a//{stem}",
                         "{stem}/", "{stem}/.", "{steam}.{ext}", "{stem", "stem}", "{}",
                         ".thumbd.ledger/{stem}", "a/.thumbd-x/{stem}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_bad(bad[i]);
    outname_rule with_dir = {"{stem}/x", 1, 1}, by_name = {"x/{name}", 1, 1};
    assert_true(outname_has_dir(&with_dir));
    assert_false(outname_has_dir(NULL));
    assert_true(outname_unique(&by_name));
    assert_false(outname_unique(&with_dir));
    assert_false(outname_unique(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ext),
        cmocka_unit_test(test_for),
        cmocka_unit_test(test_kind_inverse),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_template_fields),
        cmocka_unit_test(test_template_cannot_escape),
        cmocka_unit_test(test_long_names_shortened),
        cmocka_unit_test(test_template_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
