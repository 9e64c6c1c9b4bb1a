/* Unit tests for path confinement (src/confine.c): opening beneath a
 * directory with openat2 and with the component walk that replaces it, and
 * telling whether one directory lies inside another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/confine.h"

/* root/in: sub/deep/x.jpg, top.jpg, sub/link -> ../../out (a directory
 * outside in holding x.jpg), sub/flink -> ../top.jpg;
 * root/out: x.jpg. */
typedef struct tree {
    char root[64], in[96], out[96];
    int in_fd;
} tree;

static void put(const char *dir, const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("data", f);
    assert_int_equal(fclose(f), 0);
}

static void sub_path(char *buf, size_t n, const char *dir, const char *rel)
{
    assert_true((size_t)snprintf(buf, n, "%s/%s", dir, rel) < n);
}

static int setup(void **state)
{
    tree *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    strcpy(t->root, "/tmp/thumbd-test-confine-XXXXXX");
    if (!mkdtemp(t->root))
        return -1;
    char p[256];
    sub_path(t->in, sizeof t->in, t->root, "in");
    sub_path(t->out, sizeof t->out, t->root, "out");
    mkdir(t->in, 0755);
    mkdir(t->out, 0755);
    sub_path(p, sizeof p, t->in, "sub");
    mkdir(p, 0755);
    sub_path(p, sizeof p, t->in, "sub/deep");
    mkdir(p, 0755);
    put(t->in, "sub/deep/x.jpg");
    put(t->in, "top.jpg");
    put(t->out, "x.jpg");
    sub_path(p, sizeof p, t->in, "sub/link");
    if (symlink("../../out", p) != 0)
        return -1;
    sub_path(p, sizeof p, t->in, "sub/flink");
    if (symlink("../top.jpg", p) != 0)
        return -1;
    t->in_fd = open(t->in, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = t;
    return t->in_fd < 0 ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int teardown(void **state)
{
    tree *t = *state;
    close(t->in_fd);
    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

typedef int (*open_fn)(int, const char *, int);

/* Opens rel with fn; returns the fd's inode (closing it), or -errno. */
static long long open_ino(open_fn fn, int root_fd, const char *rel, int flags)
{
    errno = 0;
    int fd = fn(root_fd, rel, flags);
    if (fd < 0)
        return -errno;
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    close(fd);
    return (long long)sb.st_ino;
}

static long long ino_of(const char *dir, const char *rel)
{
    char p[256];
    sub_path(p, sizeof p, dir, rel);
    struct stat sb;
    assert_int_equal(lstat(p, &sb), 0);
    return (long long)sb.st_ino;
}

/* The same answers from the walk and from confine_open (openat2 here). */
static void check_open_rules(tree *t, open_fn fn)
{
    long long x = ino_of(t->in, "sub/deep/x.jpg");
    assert_int_equal(open_ino(fn, t->in_fd, "sub/deep/x.jpg", O_RDONLY), x);
    assert_int_equal(open_ino(fn, t->in_fd, "top.jpg", O_RDONLY), ino_of(t->in, "top.jpg"));
    /* empty and "." components name the directory they are in */
    assert_int_equal(open_ino(fn, t->in_fd, "sub//deep/./x.jpg", O_RDONLY), x);
    assert_int_equal(open_ino(fn, t->in_fd, "./sub/deep/x.jpg", O_RDONLY), x);
    /* a symlinked directory on the way, or a symlink at the end: refused */
    assert_int_equal(open_ino(fn, t->in_fd, "sub/link/x.jpg", O_RDONLY), -ELOOP);
    assert_int_equal(open_ino(fn, t->in_fd, "sub/flink", O_RDONLY), -ELOOP);
    /* ... but O_PATH opens a final link itself, as AT_SYMLINK_NOFOLLOW stats it */
    assert_int_equal(open_ino(fn, t->in_fd, "sub/flink", O_PATH), ino_of(t->in, "sub/flink"));
    /* out of IN_DIR, or any ".." at all: EXDEV, RESOLVE_BENEATH's answer */
    assert_int_equal(open_ino(fn, t->in_fd, "../out/x.jpg", O_RDONLY), -EXDEV);
    assert_int_equal(open_ino(fn, t->in_fd, "sub/../../out/x.jpg", O_RDONLY), -EXDEV);
    assert_int_equal(open_ino(fn, t->in_fd, "sub/../top.jpg", O_RDONLY), -EXDEV);
    char abs[256];
    sub_path(abs, sizeof abs, t->out, "x.jpg");
    assert_int_equal(open_ino(fn, t->in_fd, abs, O_RDONLY), -EXDEV);
    /* a file where a directory is expected */
    assert_int_equal(open_ino(fn, t->in_fd, "top.jpg/x.jpg", O_RDONLY), -ENOTDIR);
    assert_int_equal(open_ino(fn, t->in_fd, "sub/missing/x.jpg", O_RDONLY), -ENOENT);
    /* the root's descriptor is the caller's: still open */
    struct stat sb;
    assert_int_equal(fstat(t->in_fd, &sb), 0);
}

static void test_walk_stays_beneath(void **state)
{
    check_open_rules(*state, confine_open_walk);
}

static void test_open_stays_beneath(void **state)
{
    check_open_rules(*state, confine_open);
}

/* The walk never leaves a descriptor open: only the result is new. */
static void test_walk_closes_what_it_opens(void **state)
{
    tree *t = *state;
    int probe = open("/dev/null", O_RDONLY);
    assert_true(probe >= 0);
    close(probe);
    for (int i = 0; i < 50; i++) {
        int fd = confine_open_walk(t->in_fd, "sub/deep/x.jpg", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fd, probe);
        close(fd);
        assert_int_equal(confine_open_walk(t->in_fd, "sub/link/x.jpg", O_RDONLY), -1);
    }
    int again = open("/dev/null", O_RDONLY);
    assert_int_equal(again, probe);
    close(again);
}

static void test_stat(void **state)
{
    tree *t = *state;
    struct stat sb;
    assert_int_equal(confine_stat(t->in_fd, "sub/deep/x.jpg", &sb, false), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(confine_stat(t->in_fd, "sub/flink", &sb, false), 0);
    assert_true(S_ISLNK(sb.st_mode));
    errno = 0;
    assert_int_equal(confine_stat(t->in_fd, "sub/link/x.jpg", &sb, false), -1);
    assert_int_equal(errno, ELOOP);
    /* --follow-symlinks: links are the user's, ".." still is not */
    assert_int_equal(confine_stat(t->in_fd, "sub/link/x.jpg", &sb, true), 0);
    assert_int_equal((long long)sb.st_ino, ino_of(t->out, "x.jpg"));
    errno = 0;
    assert_int_equal(confine_stat(t->in_fd, "../out/x.jpg", &sb, true), -1);
    assert_int_equal(errno, EXDEV);
}

static bool inside(const char *top, const char *dir)
{
    int a = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int b = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(a >= 0 && b >= 0);
    bool in = false;
    char err[TD_ERRLEN];
    assert_int_equal(confine_inside(a, b, &in, err), TD_OK);
    close(a);
    close(b);
    return in;
}

static void test_inside(void **state)
{
    tree *t = *state;
    char p[256], q[256];
    sub_path(p, sizeof p, t->in, "sub/deep");
    assert_true(inside(t->in, p));
    assert_true(inside(t->in, t->in));
    assert_true(inside(t->root, p));
    assert_true(inside("/", p));
    assert_false(inside(p, t->in));      /* the other way round */
    assert_false(inside(t->out, t->in)); /* siblings */
    assert_false(inside(t->in, t->out));
    /* spelled through a symlink and with "..": the same directories */
    sub_path(q, sizeof q, t->in, "sub/deep/../../../out/../in/sub");
    assert_true(inside(t->in, q));
    sub_path(q, sizeof q, t->root, "linked");
    assert_int_equal(symlink(t->in, q), 0);
    sub_path(p, sizeof p, q, "sub/deep");
    assert_true(inside(t->in, p));
    assert_true(inside(q, t->in));
    /* a symlink inside in leading out: what it names is not inside in */
    sub_path(p, sizeof p, t->in, "sub/link");
    assert_false(inside(t->in, p));
    assert_true(inside(t->out, p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_stays_beneath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_stays_beneath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_closes_what_it_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
