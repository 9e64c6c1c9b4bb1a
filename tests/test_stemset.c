/* Unit tests for the name-collision set (src/stemset.c): the first name of
 * a stem wins, what a stem is, a full table's probing, and the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "thumbd/stemset.h"

static void test_first_of_a_stem_wins(void **state)
{
    (void)state;
    stemset s;
    assert_true(stemset_init(&s, 4, NULL));
    const char *a = "a.JPEG", *b = "a.jpg", *c = "a.png", *d = "b.jpg";
    assert_ptr_equal(stemset_first(&s, a), a);
    assert_ptr_equal(stemset_first(&s, b), a);
    assert_ptr_equal(stemset_first(&s, c), a);
    assert_ptr_equal(stemset_first(&s, d), d);
    stemset_free(&s);
    assert_null(s.name);
}

/* The stem ends at the last dot, unless that dot starts the name. */
static void test_what_a_stem_is(void **state)
{
    (void)state;
    stemset s;
    assert_true(stemset_init(&s, 8, NULL));
    const char *v[] = {".jpg", "a.b.jpg", "a.b.png", "a.c.jpg", "ab", "ab.jpg", "a", ".png"};
    assert_ptr_equal(stemset_first(&s, v[0]), v[0]);
    assert_ptr_equal(stemset_first(&s, v[7]), v[7]); /* stems ".jpg" and ".png" */
    assert_ptr_equal(stemset_first(&s, v[1]), v[1]);
    assert_ptr_equal(stemset_first(&s, v[2]), v[1]); /* stem "a.b" */
    assert_ptr_equal(stemset_first(&s, v[3]), v[3]); /* stem "a.c" */
    assert_ptr_equal(stemset_first(&s, v[4]), v[4]);
    assert_ptr_equal(stemset_first(&s, v[5]), v[4]); /* "ab" has no extension: stem "ab" */
    assert_ptr_equal(stemset_first(&s, v[6]), v[6]); /* a prefix of other stems, not one */
    stemset_free(&s);
}

/* As many names as the set was made for, half of them sharing a stem with
 * the other half: every lookup still finds its own stem's first. */
static void test_full_set(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char names[N][16];
    stemset s;
    assert_true(stemset_init(&s, N, NULL));
    assert_true(s.cap >= 2 * N + 1);
    assert_int_equal(s.cap & (s.cap - 1), 0);
    for (int i = 0; i < N / 2; i++) {
        snprintf(names[2 * i], sizeof names[0], "img%04d.jpg", i);
        snprintf(names[2 * i + 1], sizeof names[0], "img%04d.png", i);
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(stemset_first(&s, names[i]), names[i & ~1]);
    stemset_free(&s);
}

static void test_collision_message(void **state)
{
    (void)state;
    char msg[TD_ERRLEN];
    stemset_collision_message(msg, "a.jpg", "a.png");
    assert_string_equal(msg, "output name collision: 'a.jpg' and 'a.png' map to one thumbnail name; "
                             "only the first was thumbnailed (--name '{name}.{ext}' keeps both)");
    /* Long names are cut: the way out is never lost. */
    char a[256], b[256];
    memset(a, 'a', 250);
    memcpy(a + 250, ".jpg", 5);
    memcpy(b, a, 251);
    memcpy(b + 250, ".png", 5);
    stemset_collision_message(msg, a, b);
    assert_non_null(strstr(msg, "--name '{name}.{ext}' keeps both)"));
}

/* Under a template, two names collide when it gives them one path ({ext}
 * alike): {name} never collides, {size} alone always does, and a template
 * with a directory collides by its stem like the default. */
static void test_template_keys(void **state)
{
    (void)state;
    stemset s;
    outname_rule by_name = {"{name}.{ext}", 200, 200};
    assert_true(stemset_init(&s, 4, &by_name));
    const char *a = "a.jpg", *b = "a.png", *c = "a.gif";
    assert_ptr_equal(stemset_first(&s, a), a);
    assert_ptr_equal(stemset_first(&s, b), b);
    assert_ptr_equal(stemset_first(&s, c), c);
    stemset_free(&s);

    outname_rule by_size = {"{size}.{ext}", 200, 100};
    assert_true(stemset_init(&s, 4, &by_size));
    const char *x = "x.jpg", *y = "y.png";
    assert_ptr_equal(stemset_first(&s, x), x);
    assert_ptr_equal(stemset_first(&s, y), x);
    stemset_free(&s);

    outname_rule sub = {"{stem}/{size}.{ext}", 200, 200};
    assert_true(stemset_init(&s, 8, &sub));
    const char *v[] = {"a.JPEG", "a.jpg", "a.png", "b.jpg", "a"};
    assert_ptr_equal(stemset_first(&s, v[0]), v[0]);
    assert_ptr_equal(stemset_first(&s, v[1]), v[0]);
    assert_ptr_equal(stemset_first(&s, v[2]), v[0]);
    assert_ptr_equal(stemset_first(&s, v[3]), v[3]);
    assert_ptr_equal(stemset_first(&s, v[4]), v[0]); /* "a" has no extension: stem "a" */
    stemset_free(&s);
    assert_null(s.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_of_a_stem_wins),
        cmocka_unit_test(test_what_a_stem_is),
        cmocka_unit_test(test_full_set),
        cmocka_unit_test(test_collision_message),
        cmocka_unit_test(test_template_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
