/* Unit tests for src/escape.c: what a person's output makes of control
 * characters, backslashes and bytes that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "thumbd/escape.h"

/* escape_fputs(s) as a string (the caller frees). */
static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    escape_fputs(s, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void check(const char *in, const char *want)
{
    char *got = escaped(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_plain_text_is_unchanged(void **state)
{
    (void)state;
    check("", "");
    check("photos/2024/img 001.jpg", "photos/2024/img 001.jpg");
    check("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.jpg", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.jpg");
    check("\xf0\x9f\x93\xb7.png", "\xf0\x9f\x93\xb7.png"); /* U+1F4F7, 4 bytes */
}

static void test_control_characters(void **state)
{
    (void)state;
    check("a\nthumbd: fake.jpg", "a\\nthumbd: fake.jpg");
    check("\x1b[31mred.jpg", "\\x1b[31mred.jpg");
    check("tab\there\rcr", "tab\\there\\rcr");
    check("\x01\x07\x08\x1f\x7f", "\\x01\\x07\\x08\\x1f\\x7f");
    /* The backslash itself, so that "\n" in a name is not a newline. */
    check("a\\nb", "a\\\\nb");
}

static void test_c1_controls(void **state)
{
    (void)state;
    /* U+009B, the 8-bit CSI, as UTF-8; U+00A0 is printable. */
    check("\xc2\x9b" "31m", "\\xc2\\x9b31m");
    check("\xc2\x80|\xc2\x9f|\xc2\xa0", "\\xc2\\x80|\\xc2\\x9f|\xc2\xa0");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    check("bad\xff.jpg", "bad\\xff.jpg");
    check("\x9b", "\\x9b");                 /* a lone continuation byte */
    check("\xc3", "\\xc3");                 /* cut short by the end */
    check("\xc3(", "\\xc3(");               /* cut short by ASCII */
    check("\xc0\xaf", "\\xc0\\xaf");        /* overlong '/' */
    check("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong, 3 bytes */
    check("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
    check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* over U+10FFFF */
    check("latin1 caf\xe9.jpg", "latin1 caf\\xe9.jpg");
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(escape_utf8_len((const unsigned char *)"a"), 0);
    assert_int_equal(escape_utf8_len((const unsigned char *)"\xc3\xa9"), 2);
    assert_int_equal(escape_utf8_len((const unsigned char *)"\xe2\x82\xac"), 3);
    assert_int_equal(escape_utf8_len((const unsigned char *)"\xf0\x9f\x93\xb7"), 4);
    assert_int_equal(escape_utf8_len((const unsigned char *)"\xe2\x82"), 0);
}

static void test_line_is_one_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    escape_line(f, "thumbd: cannot open '%s': %s", "x\ny\x1b", "No such file");
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "thumbd: cannot open 'x\\ny\\x1b': No such file\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_is_unchanged),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_c1_controls),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_line_is_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
