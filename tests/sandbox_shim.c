/* LD_PRELOAD shim for the sandbox tests (tests/test_sandbox.c): while a
 * file whose path contains "escapeme" is open, jpeg_read_header first tries
 * what a hostile decoder would, in this order, and appends one line per
 * attempt to the log $SANDBOX_SHIM_LOG: "socket E" (socket(AF_INET)),
 * "write E" (creating $SANDBOX_SHIM_WRITE_DIR/escape-PID), "read E"
 * (opening $SANDBOX_SHIM_READ for reading), "fork E" (fork; the child
 * _exits at once), "exec E" (execve of /bin/sh -c 'exit 0' in this very
 * process: where that works, the worker process is gone and its image
 * counts as crashed). E is 0 when it worked, else the errno's name. The
 * log is opened as the process starts, before any sandbox. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>

#include "shim_util.h"

static int log_fd = -1;

__attribute__((constructor)) static void open_log(void)
{
    const char *log = getenv("SANDBOX_SHIM_LOG");
    if (log)
        log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void note(const char *what, int ok, int err)
{
    if (log_fd >= 0)
        dprintf(log_fd, "%s %s\n", what, ok ? "0" : strerrorname_np(err));
}

static void escape(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    note("socket", s >= 0, errno);
    if (s >= 0)
        close(s);
    char path[PATH_MAX];
    const char *dir = getenv("SANDBOX_SHIM_WRITE_DIR");
    snprintf(path, sizeof path, "%s/escape-%d", dir ? dir : "/tmp", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    note("write", fd >= 0, errno);
    if (fd >= 0)
        close(fd);
    const char *secret = getenv("SANDBOX_SHIM_READ");
    fd = open(secret ? secret : "/etc/hostname", O_RDONLY | O_CLOEXEC);
    note("read", fd >= 0, errno);
    if (fd >= 0)
        close(fd);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    note("fork", pid > 0, errno);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    char *argv[] = {"sh", "-c", "exit 0", NULL};
    char *envp[] = {NULL};
    execve("/bin/sh", argv, envp);
    note("exec", 0, errno);
}

int jpeg_read_header(j_decompress_ptr cinfo, boolean require_image)
{
    static int (*real)(j_decompress_ptr, boolean);
    if (!real)
        real = (int (*)(j_decompress_ptr, boolean))dlsym(RTLD_NEXT, "jpeg_read_header");
    if (shim_open_file_has("escapeme"))
        escape();
    return real(cinfo, require_image);
}
