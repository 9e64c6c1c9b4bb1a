/* LD_PRELOAD shim for test_transient: a source rewritten in place while
 * thumbd reads it, as `cp new.jpg over.jpg` does during a run. Only the
 * first read of each such file in the process is affected:
 *
 *   name contains "rewrite-smaller": right after that read, the file is
 *     truncated and filled with the bytes of $REWRITE_WITH (a smaller
 *     image). The reader got the start of the old file and finds the end
 *     of the new one: a truncated image.
 *   name contains "rewrite-same": right after that read, the file is
 *     truncated, written again with the same bytes and given back its
 *     mtime. Only its ctime tells.
 *
 * Reads through stdio (fread: the native decoders' libjpeg and libpng) and
 * read(2) (libvips, through thumbd's reader) are both watched; thumbd's
 * pread of the first bytes is not a read of the data. */
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

static atomic_int done_smaller, done_same;

/* The path open at fd, or "" (not a file with a name). */
static void fd_path(int fd, char *path, size_t n)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, path, n - 1);
    path[k > 0 ? k : 0] = '\0';
}

/* The whole file at path, malloc'ed; NULL on failure. */
static char *load(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    ssize_t got = buf ? pread(fd, buf, (size_t)sb.st_size, 0) : -1;
    close(fd);
    if (got != (ssize_t)sb.st_size) {
        free(buf);
        return NULL;
    }
    *len = (size_t)got;
    return buf;
}

/* Truncates path and writes data into it, the same inode (O_TRUNC). */
static void rewrite(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort(); /* the test must not pass for want of a rewrite */
    close(fd);
}

static void after_read(int fd)
{
    char path[PATH_MAX];
    fd_path(fd, path, sizeof path);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
        return;
    size_t len = 0;
    if (strstr(path, "rewrite-smaller") && !atomic_exchange(&done_smaller, 1)) {
        const char *with = getenv("REWRITE_WITH");
        char *data = with ? load(with, &len) : NULL;
        if (!data)
            abort();
        rewrite(path, data, len);
        free(data);
    } else if (strstr(path, "rewrite-same") && !atomic_exchange(&done_same, 1)) {
        struct stat sb;
        char *data = stat(path, &sb) == 0 ? load(path, &len) : NULL;
        if (!data)
            abort();
        usleep(20 * 1000); /* a ctime that differs on any clock granularity */
        rewrite(path, data, len);
        free(data);
        struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
        if (utimensat(AT_FDCWD, path, ts, 0) != 0)
            abort();
    }
}

size_t fread(void *ptr, size_t size, size_t n, FILE *f)
{
    static size_t (*real)(void *, size_t, size_t, FILE *);
    if (!real)
        real = (size_t(*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread");
    size_t got = real(ptr, size, n, f);
    after_read(fileno(f));
    return got;
}

ssize_t read(int fd, void *buf, size_t n)
{
    static ssize_t (*real)(int, void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    ssize_t got = real(fd, buf, n);
    after_read(fd);
    return got;
}
