/* Path confinement: opening a path without leaving the directory it is
 * relative to, and telling whether one directory lies inside another. */
#ifndef THUMBD_CONFINE_H
#define THUMBD_CONFINE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "thumbd/status.h"

/* Opens rel, relative to root_fd, with open(2) flags (O_NOFOLLOW is added),
 * following no symbolic link in any component and never leaving root_fd's
 * tree: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or, where the kernel
 * lacks it or refuses it (ENOSYS before Linux 5.6; EPERM, EINVAL or E2BIG
 * from seccomp filters, gVisor, valgrind), confine_open_walk. An absolute
 * rel, or one with a ".." component, is refused first (EXDEV), whether or
 * not the ".." would stay beneath: every kernel answers alike. Returns the
 * descriptor, or -1 with errno: ELOOP when a component is a symbolic link
 * (with O_PATH | O_NOFOLLOW the last one is opened as the link itself),
 * EXDEV as said. */
int confine_open(int root_fd, const char *rel, int flags);

/* Stats rel under root_fd: without follow, what confine_open(O_PATH) opens
 * (a symlink in rel's directories is refused with ELOOP, a final one is
 * statted itself, like AT_SYMLINK_NOFOLLOW); with follow, fstatat with
 * links followed. Either way an absolute rel or a ".." component fails with
 * EXDEV. 0, or -1 with errno. */
int confine_stat(int root_fd, const char *rel, struct stat *sb, bool follow);

/* The fallback of confine_open, on its own: rel is opened one component at
 * a time, each directory with openat(O_PATH | O_DIRECTORY | O_NOFOLLOW)
 * relative to the one before (so a directory swapped for a symlink is
 * refused, not followed), the last component with flags | O_NOFOLLOW.
 * Empty and "." components name the directory they are in and are passed
 * over, as openat2 does; a ".." component or an absolute rel fails with
 * EXDEV, as RESOLVE_BENEATH fails when ".." would leave root_fd. */
int confine_open_walk(int root_fd, const char *rel, int flags);

/* Sets *inside when the directory open at dir_fd is top_fd's directory or
 * lies anywhere beneath it, however the two were spelled: dir_fd's
 * ancestors, found through "..", up to the root of the namespace (whose
 * ".." is itself), are compared with top_fd by device and inode. Where the
 * walk reaches the root of a mount, it goes on from the same directory seen
 * through every other mount of that file system that shows it (bind
 * mounts: mounts_aliases), so that a bind-mounted subdirectory of top_fd is
 * found inside it too. Fails (TD_EIO, with a message) when an ancestor
 * cannot be opened. */
td_status confine_inside(int top_fd, int dir_fd, bool *inside, char err[TD_ERRLEN]);

#endif
