/* The mounts of this process's mount namespace (/proc/self/mountinfo):
 * where else a directory is visible. A bind mount shows a directory of a
 * file system under a second path, whose ".." leads to the mount point's
 * parent, not to the directory's own: a walk up through ".." from it never
 * meets the directory's ancestors, but a walk from one of these aliases
 * does. */
#ifndef THUMBD_MOUNTS_H
#define THUMBD_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

/* The id of the mount fd lies on (statx STATX_MNT_ID, else
 * /proc/self/fdinfo). false when the kernel tells neither. */
bool mounts_id(int fd, uint64_t *id);

/* dir_fd must be the root directory of mount `id`. Opens (O_PATH) the same
 * directory as seen through each other mount of its file system whose root
 * is that directory or one of its ancestors, up to max of them, into fds,
 * and returns how many (the caller closes them). Each is checked to be the
 * same directory (device and inode) as dir_fd. 0 when there is none or
 * mountinfo cannot be read: a best effort, never an error. */
int mounts_aliases(int dir_fd, uint64_t id, int *fds, int max);

#endif
