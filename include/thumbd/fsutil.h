/* Filesystem helpers: directories under OUT_DIR and atomic replacement. */
#ifndef THUMBD_FSUTIL_H
#define THUMBD_FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "thumbd/status.h"

/* Prefix of every temporary file thumbd creates; swept at start-up. */
#define FS_TEMP_PREFIX ".thumbd-tmp-"

typedef struct fs_atomic {
    int dir_fd;                /* directory of the final file (owned) */
    bool unnamed;              /* the temporary file has no name (O_TMPFILE) */
    char tmp_name[64];         /* else its name: FS_TEMP_PREFIX... */
    char *final_name;          /* owned: base name */
    FILE *f;
    const struct timespec *mtime;  /* if set, the file's mtime at commit */
    int sys_errno;             /* after a failed begin or commit: why (0: not a system error) */
    uint64_t ino;              /* after a commit: the file's inode */
} fs_atomic;

/* Told that a directory rel_dir (relative to the root) was created. */
typedef void (*fs_mkdir_fn)(const char *rel_dir, void *ctx);

/* fs_atomic_begin_flags: a named temporary file even where the file system
 * could make an unnamed one (what file systems without O_TMPFILE get). */
#define FS_ATOMIC_NAMED 1

/* A directory stream over the directory open at fd, read from its start,
 * leaving fd open. (A plain fdopendir(dup(fd)) shares fd's offset: after one
 * full read, the next stream would see nothing.) NULL with errno on failure. */
DIR *fs_opendir_at(int fd);

/* Creates (like mkdir -p) the parent directories of rel under root_fd.
 * Directories are created relative to root_fd and never through a symlink. */
td_status fs_mkparents(int root_fd, const char *rel, char err[TD_ERRLEN]);

/* Opens a new temporary file in rel's directory (under root_fd): unnamed
 * (O_TMPFILE) where the file system allows it, so that no directory lock is
 * held while its inode is allocated (two workers writing into one directory
 * then do not wait for each other) and a killed run leaves nothing behind;
 * else named FS_TEMP_PREFIX<pid>-<n>. Nothing appears at rel before the
 * commit. */
td_status fs_atomic_begin(fs_atomic *a, int root_fd, const char *rel, char err[TD_ERRLEN]);
td_status fs_atomic_begin_flags(fs_atomic *a, int root_fd, const char *rel, int flags,
                                char err[TD_ERRLEN]);

/* fs_atomic_begin that tells on_mkdir(rel_dir, ctx) of each directory it
 * creates. */
td_status fs_atomic_begin_noted(fs_atomic *a, int root_fd, const char *rel, fs_mkdir_fn on_mkdir,
                                void *ctx, char err[TD_ERRLEN]);

/* Flushes and closes the temporary file and puts it at its final name in
 * one step: linked there (an unnamed file, when the name is free), else
 * renamed over what is there. A failure's message names the file (its
 * final name), and sys_errno says why. */
td_status fs_atomic_commit(fs_atomic *a, long *bytes, char err[TD_ERRLEN]);

/* Closes and removes the temporary file. Safe to call after commit. */
void fs_atomic_abort(fs_atomic *a);

/* Removes FS_TEMP_PREFIX files left under root_fd by a killed run; returns
 * how many. */
long fs_sweep_temps(int root_fd);

#endif
