/* Unit tests for atomic writes and the temp-file sweep (src/fsutil.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "test_skip.h"

typedef struct dirs {
    int flags;            /* fs_atomic_begin_flags: each test runs with 0 and FS_ATOMIC_NAMED */
    char root[64];        /* OUT_DIR */
    char elsewhere[64];   /* a directory outside it */
    int root_fd;
} dirs;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    const int *flags = *state;
    dirs *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->flags = flags ? *flags : 0;
    strcpy(d->root, "/tmp/thumbd-test-fs-out-XXXXXX");
    strcpy(d->elsewhere, "/tmp/thumbd-test-fs-else-XXXXXX");
    if (!mkdtemp(d->root) || !mkdtemp(d->elsewhere))
        return -1;
    d->root_fd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->root_fd < 0)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dirs *d = *state;
    close(d->root_fd);
    nftw(d->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    nftw(d->elsewhere, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
    return 0;
}

static void path_of(char *dst, size_t n, const char *base, const char *rel)
{
    int w = snprintf(dst, n, "%s/%s", base, rel);
    assert_true(w > 0 && (size_t)w < n);
}

static void write_file(const char *base, const char *rel, const char *content)
{
    char p[512];
    path_of(p, sizeof p, base, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static bool exists(const char *base, const char *rel)
{
    char p[512];
    path_of(p, sizeof p, base, rel);
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* Reads a whole file; *len gets its size. NULL if it cannot be opened. */
static char *slurp(const char *base, const char *rel, size_t *len)
{
    char p[512];
    path_of(p, sizeof p, base, rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* Entries of a directory (other than . and ..) whose names start with prefix. */
static int count_prefixed(const char *base, const char *rel, const char *prefix)
{
    char p[512];
    if (rel)
        path_of(p, sizeof p, base, rel);
    else
        snprintf(p, sizeof p, "%s", base);
    DIR *dir = opendir(p);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!strncmp(de->d_name, prefix, strlen(prefix)))
            n++;
    }
    closedir(dir);
    return n;
}

static td_status begin(const dirs *d, fs_atomic *a, const char *rel, char *err)
{
    td_status st = fs_atomic_begin_flags(a, d->root_fd, rel, d->flags, err);
    if (st == TD_OK && (d->flags & FS_ATOMIC_NAMED))
        assert_false(a->unnamed);
    return st;
}

/* Temporary files an open write shows in its directory. */
static int visible_temps(const fs_atomic *a)
{
    return a->unnamed ? 0 : 1;
}

/* Where the file system makes unnamed files, fs_atomic_begin does. */
static void test_unnamed_where_possible(void **state)
{
    dirs *d = *state;
    int probe = openat(d->root_fd, ".", O_TMPFILE | O_WRONLY, 0644);
    if (probe < 0)
        test_skip("no O_TMPFILE here: the named path is the only one");
    close(probe);
    fs_atomic a;
    char err[TD_ERRLEN];
    assert_int_equal(fs_atomic_begin(&a, d->root_fd, "u/v.jpg", err), TD_OK);
    assert_true(a.unnamed);
    assert_string_equal(a.tmp_name, "");
    fputs("unnamed", a.f);
    assert_int_equal(count_prefixed(d->root, "u", ""), 0);
    assert_int_equal(fs_atomic_commit(&a, NULL, err), TD_OK);
    assert_int_equal(count_prefixed(d->root, "u", ""), 1);
}

static void test_commit_creates_parents_and_exact_content(void **state)
{
    dirs *d = *state;
    static const char content[] = "thumbnail bytes\n\0with a NUL\xff\xd8";
    const size_t clen = sizeof content - 1;
    fs_atomic a;
    char err[TD_ERRLEN] = "";
    assert_int_equal(begin(d, &a, "x/y/z.jpg", err), TD_OK);
    assert_non_null(a.f);
    assert_int_equal(fwrite(content, 1, clen, a.f), clen);
    /* Nothing at the final name yet; a temporary file beside it, named
     * or not. */
    assert_false(exists(d->root, "x/y/z.jpg"));
    assert_int_equal(count_prefixed(d->root, "x/y", FS_TEMP_PREFIX), visible_temps(&a));

    long bytes = -1;
    assert_int_equal(fs_atomic_commit(&a, &bytes, err), TD_OK);
    assert_int_equal(bytes, (long)clen);
    size_t len = 0;
    char *got = slurp(d->root, "x/y/z.jpg", &len);
    assert_non_null(got);
    assert_int_equal(len, clen);
    assert_memory_equal(got, content, clen);
    free(got);
    assert_int_equal(count_prefixed(d->root, "x/y", FS_TEMP_PREFIX), 0);
    assert_int_equal(count_prefixed(d->root, "x/y", ""), 1); /* z.jpg only */
    fs_atomic_abort(&a); /* safe after commit, and must not remove the result */
    assert_true(exists(d->root, "x/y/z.jpg"));
    struct stat sb;
    char p[512];
    path_of(p, sizeof p, d->root, "x/y");
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
}

static void test_commit_replaces_existing(void **state)
{
    dirs *d = *state;
    write_file(d->root, "old.jpg", "OLD CONTENT THAT IS LONGER");
    fs_atomic a;
    char err[TD_ERRLEN];
    assert_int_equal(begin(d, &a, "old.jpg", err), TD_OK);
    fputs("new", a.f);
    /* The old file is intact until the commit. */
    size_t len;
    char *got = slurp(d->root, "old.jpg", &len);
    assert_int_equal(len, 26);
    free(got);
    long bytes;
    assert_int_equal(fs_atomic_commit(&a, &bytes, err), TD_OK);
    assert_int_equal(bytes, 3);
    got = slurp(d->root, "old.jpg", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "new", 3);
    free(got);
    assert_int_equal(count_prefixed(d->root, NULL, FS_TEMP_PREFIX), 0);
}

static void test_abort_leaves_nothing(void **state)
{
    dirs *d = *state;
    fs_atomic a;
    char err[TD_ERRLEN];
    assert_int_equal(begin(d, &a, "p/q.jpg", err), TD_OK);
    fputs("partial", a.f);
    fflush(a.f);
    assert_int_equal(count_prefixed(d->root, "p", FS_TEMP_PREFIX), visible_temps(&a));
    fs_atomic_abort(&a);
    assert_int_equal(count_prefixed(d->root, "p", ""), 0); /* no file, no temp */
    fs_atomic_abort(&a); /* twice is harmless */

    /* Two writes in flight at once use distinct temporary names. */
    fs_atomic b, c;
    assert_int_equal(begin(d, &b, "same.jpg", err), TD_OK);
    assert_int_equal(begin(d, &c, "same.jpg", err), TD_OK);
    if (!b.unnamed)
        assert_string_not_equal(b.tmp_name, c.tmp_name);
    assert_int_equal(count_prefixed(d->root, NULL, FS_TEMP_PREFIX), visible_temps(&b) + visible_temps(&c));
    fs_atomic_abort(&b);
    fs_atomic_abort(&c);
    assert_int_equal(count_prefixed(d->root, NULL, FS_TEMP_PREFIX), 0);
    assert_false(exists(d->root, "same.jpg"));
}

static void test_symlinked_directory_not_followed(void **state)
{
    dirs *d = *state;
    char link[512];
    path_of(link, sizeof link, d->root, "sub");
    assert_int_equal(symlink(d->elsewhere, link), 0);

    fs_atomic a;
    char err[TD_ERRLEN] = "";
    assert_int_not_equal(begin(d, &a, "sub/a.jpg", err), TD_OK);
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_int_not_equal(begin(d, &a, "sub/deeper/a.jpg", err), TD_OK);
    assert_true(strlen(err) > 0);
    assert_int_not_equal(fs_mkparents(d->root_fd, "sub/deeper/more/a.jpg", err), TD_OK);
    /* Nothing was written or created through the link. */
    assert_int_equal(count_prefixed(d->elsewhere, NULL, ""), 0);

    /* A link deeper down as well. */
    assert_int_equal(fs_mkparents(d->root_fd, "real/x.jpg", err), TD_OK);
    path_of(link, sizeof link, d->root, "real/inner");
    assert_int_equal(symlink(d->elsewhere, link), 0);
    assert_int_not_equal(begin(d, &a, "real/inner/b.jpg", err), TD_OK);
    assert_int_equal(count_prefixed(d->elsewhere, NULL, ""), 0);
}

static void test_symlink_at_final_name_is_replaced(void **state)
{
    dirs *d = *state;
    write_file(d->elsewhere, "target.jpg", "TARGET");
    char target[512], link[512];
    path_of(target, sizeof target, d->elsewhere, "target.jpg");
    path_of(link, sizeof link, d->root, "t.jpg");
    assert_int_equal(symlink(target, link), 0);
    fs_atomic a;
    char err[TD_ERRLEN];
    assert_int_equal(begin(d, &a, "t.jpg", err), TD_OK);
    fputs("thumb", a.f);
    long bytes;
    assert_int_equal(fs_atomic_commit(&a, &bytes, err), TD_OK);
    /* The link was replaced, its target untouched. */
    size_t len;
    char *got = slurp(d->elsewhere, "target.jpg", &len);
    assert_int_equal(len, 6);
    assert_memory_equal(got, "TARGET", 6);
    free(got);
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    got = slurp(d->root, "t.jpg", &len);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "thumb", 5);
    free(got);
}

static void test_mkparents(void **state)
{
    dirs *d = *state;
    char err[TD_ERRLEN];
    assert_int_equal(fs_mkparents(d->root_fd, "m/n/o/file.jpg", err), TD_OK);
    struct stat sb;
    char p[512];
    path_of(p, sizeof p, d->root, "m/n/o");
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_false(exists(d->root, "m/n/o/file.jpg"));
    /* Again: existing directories are fine. */
    assert_int_equal(fs_mkparents(d->root_fd, "m/n/o/other.jpg", err), TD_OK);
    assert_int_equal(fs_mkparents(d->root_fd, "top.jpg", err), TD_OK);
    assert_false(exists(d->root, "top.jpg"));
    /* A regular file where a directory is needed. */
    write_file(d->root, "plain", "x");
    assert_int_not_equal(fs_mkparents(d->root_fd, "plain/a.jpg", err), TD_OK);
}

static void test_sweep_temps(void **state)
{
    dirs *d = *state;
    char err[TD_ERRLEN];
    assert_int_equal(fs_mkparents(d->root_fd, "a/b/c.jpg", err), TD_OK);
    write_file(d->root, FS_TEMP_PREFIX "1-0", "t");
    write_file(d->root, "a/" FS_TEMP_PREFIX "2-5", "t");
    write_file(d->root, "a/b/" FS_TEMP_PREFIX "3-x", "t");
    write_file(d->root, "keep.jpg", "k");
    write_file(d->root, "a/x" FS_TEMP_PREFIX, "k");      /* prefix not at the start */
    write_file(d->root, "a/.thumbd-tm", "k");            /* shorter than the prefix */
    write_file(d->root, "a/b/keep2.png", "k");
    /* A temp-looking file behind a symlink is not ours to remove. */
    write_file(d->elsewhere, FS_TEMP_PREFIX "outside", "o");
    char link[512];
    path_of(link, sizeof link, d->root, "a/ext");
    assert_int_equal(symlink(d->elsewhere, link), 0);
    /* One left by a write that was never finished. */
    fs_atomic pending;
    assert_int_equal(begin(d, &pending, "a/b/unfinished.jpg", err), TD_OK);
    fputs("half", pending.f);
    fflush(pending.f);

    assert_int_equal(fs_sweep_temps(d->root_fd), 3 + visible_temps(&pending));
    assert_false(exists(d->root, FS_TEMP_PREFIX "1-0"));
    assert_false(exists(d->root, "a/" FS_TEMP_PREFIX "2-5"));
    assert_false(exists(d->root, "a/b/" FS_TEMP_PREFIX "3-x"));
    assert_int_equal(count_prefixed(d->root, "a/b", FS_TEMP_PREFIX), 0);
    assert_true(exists(d->root, "keep.jpg"));
    assert_true(exists(d->root, "a/x" FS_TEMP_PREFIX));
    assert_true(exists(d->root, "a/.thumbd-tm"));
    assert_true(exists(d->root, "a/b/keep2.png"));
    assert_true(exists(d->root, "a/ext"));
    assert_true(exists(d->elsewhere, FS_TEMP_PREFIX "outside"));
    assert_int_equal(fs_sweep_temps(d->root_fd), 0);
    fs_atomic_abort(&pending); /* its temp is already gone: still harmless */
    assert_false(exists(d->root, "a/b/unfinished.jpg"));
}

int main(void)
{
    static const int unnamed = 0, named = FS_ATOMIC_NAMED;
#define BOTH(t)                                                               \
    cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&unnamed), \
    cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&named)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unnamed_where_possible, setup, teardown),
        BOTH(test_commit_creates_parents_and_exact_content),
        BOTH(test_commit_replaces_existing),
        BOTH(test_abort_leaves_nothing),
        BOTH(test_symlinked_directory_not_followed),
        BOTH(test_symlink_at_final_name_is_replaced),
        cmocka_unit_test_setup_teardown(test_mkparents, setup, teardown),
        BOTH(test_sweep_temps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
