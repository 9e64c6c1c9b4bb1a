/* LD_PRELOAD shim for the isolation tests: a decoder that crashes or hangs
 * on one named file, as a decoder may on a hostile one. While a file whose
 * path contains "crashme" is open, jpeg_read_header raises SIGSEGV; while
 * one containing "spinme" is open, jpeg_read_scanlines spins on the CPU
 * forever, polling nothing. Each time, it first appends its pid and what
 * it does ("crash PID", "spin PID") to $CRASH_SHIM_LOG. With
 * CRASH_SHIM_NO_SPAWN set, posix_spawn fails (EACCES), as where exec is
 * refused. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#include "shim_util.h"

/* The log, opened as the process starts: a worker process's sandbox
 * (sandbox.h) lets it open nothing outside IN_DIR and OUT_DIR later. */
static int log_fd = -1;

__attribute__((constructor)) static void open_log(void)
{
    const char *log = getenv("CRASH_SHIM_LOG");
    if (log)
        log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void note(const char *what)
{
    if (log_fd >= 0)
        dprintf(log_fd, "%s %d\n", what, (int)getpid());
}

int jpeg_read_header(j_decompress_ptr cinfo, boolean require_image)
{
    /* Looked up at each call, not kept in a static: the pool's threads call
     * these at once (in thread mode, and posix_spawn in process mode). */
    int (*real)(j_decompress_ptr, boolean) =
        (int (*)(j_decompress_ptr, boolean))dlsym(RTLD_NEXT, "jpeg_read_header");
    if (shim_open_file_has("crashme")) {
        note("crash");
        raise(SIGSEGV);
    }
    return real(cinfo, require_image);
}

JDIMENSION jpeg_read_scanlines(j_decompress_ptr cinfo, JSAMPARRAY scanlines, JDIMENSION max_lines)
{
    JDIMENSION (*real)(j_decompress_ptr, JSAMPARRAY, JDIMENSION) =
        (JDIMENSION(*)(j_decompress_ptr, JSAMPARRAY, JDIMENSION))dlsym(RTLD_NEXT,
                                                                       "jpeg_read_scanlines");
    /* Looked at for an image's first row alone: /proc is dear per row. */
    if (cinfo->output_scanline == 0 && shim_open_file_has("spinme")) {
        note("spin");
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    return real(cinfo, scanlines, max_lines);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                const posix_spawnattr_t *, char *const[], char *const[]) =
        (int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                 const posix_spawnattr_t *, char *const[], char *const[]))dlsym(RTLD_NEXT,
                                                                                "posix_spawn");
    if (getenv("CRASH_SHIM_NO_SPAWN"))
        return EACCES;
    return real(pid, path, fa, attr, argv, envp);
}
