/* LD_PRELOAD shim for test_sched: a source whose name contains "flaky"
 * seems to change size while it is read, on the first FLAKY_FAILS attempts
 * (default 1): what a file still being uploaded looks like, a transient
 * failure that the next attempt gets past.
 *
 * thumbd fstat()s a source twice per attempt: when it opens it, and after
 * decoding to see whether it changed. The shim counts the fstat calls on
 * read-only descriptors of such files and adds a byte to the size that the
 * second call of each failing attempt sees. (One flaky file per run.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int calls;

static int is_flaky_source(int fd)
{
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    int fl = fcntl(fd, F_GETFL);
    return strstr(path, "flaky") != NULL && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY;
}

static void tamper(int fd, struct stat *sb)
{
    if (!is_flaky_source(fd))
        return;
    int k = atomic_fetch_add(&calls, 1) + 1;
    const char *env = getenv("FLAKY_FAILS");
    int fails = env ? atoi(env) : 1;
    if (k % 2 == 0 && k / 2 <= fails)
        sb->st_size += 1;
}

int fstat(int fd, struct stat *sb)
{
    static int (*real)(int, struct stat *);
    if (!real)
        real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
    int rc = real(fd, sb);
    if (rc == 0)
        tamper(fd, sb);
    return rc;
}

int fstat64(int fd, struct stat64 *sb)
{
    static int (*real)(int, struct stat64 *);
    if (!real)
        real = (int (*)(int, struct stat64 *))dlsym(RTLD_NEXT, "fstat64");
    int rc = real(fd, sb);
    if (rc == 0)
        tamper(fd, (struct stat *)sb);
    return rc;
}
