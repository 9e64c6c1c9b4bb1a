/* LD_PRELOAD shim for the lifecycle tests: a read through stdio of any file
 * whose name contains "blocking" never returns, like a read on a dead network
 * filesystem. The thread cannot poll its cancellation token, so only the
 * pool's abandon path can get the run to finish. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int is_blocking(FILE *f)
{
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fileno(f));
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return strstr(path, "blocking") != NULL;
}

size_t fread(void *ptr, size_t size, size_t n, FILE *f)
{
    static size_t (*real)(void *, size_t, size_t, FILE *);
    if (!real)
        real = (size_t(*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread");
    if (is_blocking(f))
        for (;;)
            pause(); /* worker threads block every signal: this never returns */
    return real(ptr, size, n, f);
}
