/* LD_PRELOAD shim for bench/workers.sh: storage with a fixed latency per
 * request, like network storage with 64 KiB read-ahead. A read of a file
 * whose path contains $LATENCY_MATCH sleeps $LATENCY_MS milliseconds first
 * when it goes to the "server": every pread, and every fread that stdio
 * cannot serve from its buffer and that starts a new 64 KiB block of the
 * file (stdio refills 4 KiB at a time; the next 15 refills come from the
 * read-ahead). A 1.4 MB JPEG costs about 25 waits. The CPU is free
 * meanwhile: a worker waiting here is what --workers auto has to see. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int on_slow_storage(int fd)
{
    const char *match = getenv("LATENCY_MATCH");
    if (!match || !*match)
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return strstr(path, match) != NULL;
}

static void delay(int fd)
{
    if (!on_slow_storage(fd))
        return;
    const char *ms = getenv("LATENCY_MS");
    double s = (ms ? atof(ms) : 10.0) / 1000.0;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

size_t fread(void *ptr, size_t size, size_t n, FILE *f)
{
    static size_t (*real)(void *, size_t, size_t, FILE *);
    if (!real)
        real = (size_t(*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread");
    /* glibc's FILE: the bytes left in the buffer. Fewer than asked: a read(2)
     * from the descriptor's offset. */
    if ((size_t)(f->_IO_read_end - f->_IO_read_ptr) < size * n) {
        off_t at = lseek(fileno(f), 0, SEEK_CUR);
        if (at >= 0 && at % 65536 == 0)
            delay(fileno(f));
    }
    return real(ptr, size, n, f);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
    delay(fd);
    return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
    delay(fd);
    return real(fd, buf, n, off);
}
