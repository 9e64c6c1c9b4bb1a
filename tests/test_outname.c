/* Unit tests of the output-naming module (outname.h): thumbnail names,
 * extensions, and the one-letter codes memos store on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ext),
        cmocka_unit_test(test_for),
        cmocka_unit_test(test_kind_inverse),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
