/* Unit tests for the --files-from reader (src/listread.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/listread.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A regular file holding len bytes of text, open for reading. */
static int file_with(const char *text, size_t len)
{
    char path[] = "/tmp/thumbd-test-list-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* Every entry of lr, joined with spaces. */
static void drain(listread *lr, char *buf, size_t n)
{
    buf[0] = '\0';
    const char *e;
    while ((e = listread_next(lr, NULL, NULL)) != NULL) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", len ? " " : "", e);
    }
}

/* A file is read to its end first: every urgent entry before the others,
 * each group in list order; CR LF, empty lines and a last line without
 * its newline are fine. */
static void test_file_urgent_first(void **state)
{
    (void)state;
    static const char text[] = "b.jpg\n!c.jpg\r\n\na.jpg\n./!x.jpg\n!d.jpg";
    int fd = file_with(text, sizeof text - 1);
    listread *lr = listread_open(fd, false, 1);
    char got[256];
    drain(lr, got, sizeof got);
    assert_string_equal(got, "!c.jpg !d.jpg b.jpg a.jpg ./!x.jpg");
    assert_int_equal(listread_error(lr), 0);
    listread_close(lr);
    close(fd);
}

static void test_nul_separated(void **state)
{
    (void)state;
    static const char text[] = "odd\nname.jpg\0!u.png\0\0last.jpg";
    int fd = file_with(text, sizeof text - 1);
    listread *lr = listread_open(fd, true, 16);
    assert_string_equal(listread_next(lr, NULL, NULL), "!u.png");
    assert_string_equal(listread_next(lr, NULL, NULL), "odd\nname.jpg");
    assert_string_equal(listread_next(lr, NULL, NULL), "last.jpg");
    assert_null(listread_next(lr, NULL, NULL));
    listread_close(lr);
    close(fd);
}

typedef struct clock_stop {
    double at;
    int asked;
} clock_stop;

static bool stop_at(void *ctx)
{
    clock_stop *s = ctx;
    s->asked++;
    return now() >= s->at;
}

/* From a pipe, an entry is given out while the writer still holds it open;
 * a wait for more ends when stop says so; what came meanwhile goes urgent
 * first; the end of the pipe ends the list. */
static void test_pipe_as_it_comes(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    listread *lr = listread_open(p[0], false, 4);
    assert_int_equal(write(p[1], "a.jpg\n", 6), 6);
    clock_stop never = {.at = now() + 60};
    assert_string_equal(listread_next(lr, stop_at, &never), "a.jpg");

    clock_stop soon = {.at = now() + 0.25};
    double t0 = now();
    assert_null(listread_next(lr, stop_at, &soon));
    double took = now() - t0;
    assert_true(took >= 0.2 && took < 2.0);
    assert_true(soon.asked >= 2); /* asked while waiting, not only once */

    assert_int_equal(write(p[1], "b.jpg\n!c.jpg\npart", 17), 17);
    assert_string_equal(listread_next(lr, stop_at, &never), "!c.jpg");
    assert_string_equal(listread_next(lr, stop_at, &never), "b.jpg");
    assert_int_equal(write(p[1], "ial.jpg\n", 8), 8);
    assert_string_equal(listread_next(lr, stop_at, &never), "partial.jpg");
    close(p[1]);
    assert_null(listread_next(lr, stop_at, &never));
    assert_int_equal(listread_error(lr), 0);
    listread_close(lr);
    close(p[0]);
}

/* A list that cannot be read (a directory) says why. */
static void test_read_error(void **state)
{
    (void)state;
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    listread *lr = listread_open(fd, false, 4);
    assert_null(listread_next(lr, NULL, NULL));
    assert_int_equal(listread_error(lr), EISDIR);
    listread_close(lr);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_urgent_first),
        cmocka_unit_test(test_nul_separated),
        cmocka_unit_test(test_pipe_as_it_comes),
        cmocka_unit_test(test_read_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
