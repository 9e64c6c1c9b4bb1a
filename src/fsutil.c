#include "thumbd/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens (creating as needed) the directory that holds rel, relative to
 * root_fd, one component at a time with O_NOFOLLOW: a symlink planted in
 * OUT_DIR cannot redirect the write. *base points into rel. */
static td_status open_parent(int root_fd, const char *rel, int *dir_fd, const char **base,
                             fs_mkdir_fn on_mkdir, void *ctx, char *err)
{
    int fd = dup(root_fd);
    if (fd < 0)
        return td_fail(err, TD_EIO, "dup: %s", strerror(errno));
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            break;
        size_t n = (size_t)(slash - p);
        if (n == 0 || n >= 256) {
            p = slash + 1;
            if (n == 0)
                continue;
            close(fd);
            return td_fail(err, TD_EIO, "path component too long in '%s'", rel);
        }
        char comp[256];
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (mkdirat(fd, comp, 0755) == 0) {
            char *made = on_mkdir ? strndup(rel, (size_t)(slash - rel)) : NULL;
            if (made)
                on_mkdir(made, ctx);
            free(made);
        } else if (errno != EEXIST) {
            int e = errno;
            close(fd);
            return td_fail(err, TD_EIO, "cannot create output directory for '%s': %s", rel,
                           strerror(e));
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0)
            return td_fail(err, TD_EIO, "cannot open output directory for '%s': %s", rel,
                           strerror(e));
        fd = next;
        p = slash + 1;
    }
    *dir_fd = fd;
    *base = p;
    return TD_OK;
}

td_status fs_mkparents(int root_fd, const char *rel, char err[TD_ERRLEN])
{
    int fd;
    const char *base;
    td_status st = open_parent(root_fd, rel, &fd, &base, NULL, NULL, err);
    if (st == TD_OK)
        close(fd);
    return st;
}

static atomic_ulong temp_counter;

static void temp_name(fs_atomic *a)
{
    snprintf(a->tmp_name, sizeof a->tmp_name, FS_TEMP_PREFIX "%ld-%lu", (long)getpid(),
             atomic_fetch_add(&temp_counter, 1));
}

/* An unnamed file in dir_fd, or -1 (no O_TMPFILE on this file system or
 * kernel, or no /proc to link it through at the commit). */
static int open_unnamed(int dir_fd)
{
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    return openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
}

static td_status begin(fs_atomic *a, int root_fd, const char *rel, int flags, fs_mkdir_fn on_mkdir,
                       void *ctx, char *err);

td_status fs_atomic_begin(fs_atomic *a, int root_fd, const char *rel, char err[TD_ERRLEN])
{
    return fs_atomic_begin_flags(a, root_fd, rel, 0, err);
}

td_status fs_atomic_begin_flags(fs_atomic *a, int root_fd, const char *rel, int flags,
                                char err[TD_ERRLEN])
{
    return begin(a, root_fd, rel, flags, NULL, NULL, err);
}

td_status fs_atomic_begin_noted(fs_atomic *a, int root_fd, const char *rel, fs_mkdir_fn on_mkdir,
                                void *ctx, char err[TD_ERRLEN])
{
    return begin(a, root_fd, rel, 0, on_mkdir, ctx, err);
}

static td_status begin(fs_atomic *a, int root_fd, const char *rel, int flags, fs_mkdir_fn on_mkdir,
                       void *ctx, char *err)
{
    memset(a, 0, sizeof *a);
    a->dir_fd = -1;
    const char *base;
    td_status st = open_parent(root_fd, rel, &a->dir_fd, &base, on_mkdir, ctx, err);
    if (st != TD_OK) {
        a->sys_errno = errno; /* open_parent's last call was the failing one */
        return st;
    }
    a->final_name = strdup(base);
    if (!a->final_name) {
        fs_atomic_abort(a);
        return td_fail(err, TD_ENOMEM, "out of memory");
    }
    int fd = flags & FS_ATOMIC_NAMED ? -1 : open_unnamed(a->dir_fd);
    a->unnamed = fd >= 0;
    if (fd < 0) {
        temp_name(a);
        fd = openat(a->dir_fd, a->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        int e = errno;
        a->tmp_name[0] = '\0';
        fs_atomic_abort(a);
        a->sys_errno = e;
        return td_fail(err, TD_EIO, "cannot create a temporary file for '%s': %s", rel, strerror(e));
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        close(fd);
        fs_atomic_abort(a);
        return td_fail(err, TD_ENOMEM, "out of memory");
    }
    return TD_OK;
}

/* Gives the unnamed file open at fd a name: the final one if it is free
 * (one directory operation), else a temporary one to rename from. */
static int link_unnamed(fs_atomic *a, int fd, bool *at_final)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    *at_final = linkat(AT_FDCWD, proc, a->dir_fd, a->final_name, AT_SYMLINK_FOLLOW) == 0;
    if (*at_final || errno != EEXIST)
        return *at_final ? 0 : -1;
    temp_name(a);
    if (linkat(AT_FDCWD, proc, a->dir_fd, a->tmp_name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    a->tmp_name[0] = '\0';
    return -1;
}

/* The commit failed: writing the file (its data, at the flush or close)
 * or, moving, putting it at its name. */
static td_status commit_failed(fs_atomic *a, bool moving, char *err)
{
    int e = errno;
    td_fail(err, TD_EIO, moving ? "cannot move '%s' into place: %s" : "cannot write '%s': %s",
            a->final_name, strerror(e));
    fs_atomic_abort(a);
    a->sys_errno = e;
    return TD_EIO;
}

td_status fs_atomic_commit(fs_atomic *a, long *bytes, char err[TD_ERRLEN])
{
    if (fflush(a->f) != 0 || ferror(a->f))
        return commit_failed(a, false, err);
    long n = ftell(a->f);
    int fd = fileno(a->f);
    if (a->mtime) {
        struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, *a->mtime};
        futimens(fd, ts);
    }
    struct stat sb;
    a->ino = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_ino : 0;
    bool at_final = false;
    if (a->unnamed && link_unnamed(a, fd, &at_final) != 0)
        return commit_failed(a, true, err);
    FILE *f = a->f;
    a->f = NULL;
    if (fclose(f) != 0) {
        int e = errno;
        if (at_final) /* the name was free: free it again */
            unlinkat(a->dir_fd, a->final_name, 0);
        errno = e;
        return commit_failed(a, false, err);
    }
    if (!at_final && renameat(a->dir_fd, a->tmp_name, a->dir_fd, a->final_name) != 0)
        return commit_failed(a, true, err);
    a->tmp_name[0] = '\0';
    if (bytes)
        *bytes = n;
    fs_atomic_abort(a); /* releases the rest */
    return TD_OK;
}

void fs_atomic_abort(fs_atomic *a)
{
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
    }
    if (a->dir_fd >= 0) {
        if (a->tmp_name[0])
            unlinkat(a->dir_fd, a->tmp_name, 0);
        close(a->dir_fd);
        a->dir_fd = -1;
    }
    a->tmp_name[0] = '\0';
    free(a->final_name);
    a->final_name = NULL;
}

DIR *fs_opendir_at(int fd)
{
    int dfd = fd >= 0 ? dup(fd) : -1;
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        errno = e;
        return NULL;
    }
    rewinddir(d);
    return d;
}

long fs_sweep_temps(int root_fd)
{
    DIR *d = fs_opendir_at(root_fd);
    if (!d)
        return 0;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!strncmp(de->d_name, FS_TEMP_PREFIX, sizeof FS_TEMP_PREFIX - 1)) {
            if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                n++;
            continue;
        }
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
            int c = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (c >= 0) {
                n += fs_sweep_temps(c);
                close(c);
            }
        }
    }
    closedir(d);
    return n;
}
