#include "thumbd/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thumbd/mounts.h"

/* rel is absolute or has a ".." component. openat2 allows a ".." that
 * stays beneath; refusing them all makes no kernel differ. */
static bool climbs(const char *rel)
{
    if (rel[0] == '/')
        return true;
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n + (p[n] == '/');
    }
    return false;
}

int confine_open(int root_fd, const char *rel, int flags)
{
    if (climbs(rel)) {
        errno = EXDEV;
        return -1;
    }
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    int fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG))
        return fd;
#endif
    return confine_open_walk(root_fd, rel, flags);
}

int confine_stat(int root_fd, const char *rel, struct stat *sb, bool follow)
{
    if (climbs(rel)) {
        errno = EXDEV;
        return -1;
    }
    if (follow)
        return fstatat(root_fd, rel, sb, 0);
    int fd = confine_open(root_fd, rel, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fstat(fd, sb), e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Opens the directory named by the n bytes at p, in dir_fd, unless it is a
 * symbolic link (ELOOP, as openat2 would say; openat says ENOTDIR). */
static int open_dir_component(int dir_fd, const char *p, size_t n)
{
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(comp, p, n);
    comp[n] = '\0';
    int fd = openat(dir_fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOTDIR) {
        struct stat sb;
        bool link = fstatat(dir_fd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
        errno = link ? ELOOP : ENOTDIR;
    }
    return fd;
}

int confine_open_walk(int root_fd, const char *rel, int flags)
{
    if (rel[0] == '/') {
        errno = EXDEV;
        return -1;
    }
    int fd = root_fd; /* the caller's until a component is opened */
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        int next;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            next = -1;
            errno = EXDEV;
        } else if (!slash) {
            next = openat(fd, n ? p : ".", flags | O_NOFOLLOW);
        } else if (n == 0 || (n == 1 && p[0] == '.')) {
            p = slash + 1;
            continue;
        } else {
            next = open_dir_component(fd, p, n);
        }
        if (fd != root_fd) {
            int e = errno;
            close(fd);
            errno = e;
        }
        if (next < 0 || !slash)
            return next;
        fd = next;
        p = slash + 1;
    }
}

enum {
    MAX_MOUNTS = 64,    /* mount roots whose aliases are walked, at most */
    MAX_ALIASES = 8,    /* aliases of one mount root walked, at most */
    MAX_LEVELS = 4096,  /* ".." steps of one walk: PATH_MAX allows 2048 */
};

typedef struct climb {
    struct stat top;
    uint64_t seen[MAX_MOUNTS]; /* mounts whose aliases were walked */
    int nseen;
} climb;

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool first_visit(climb *c, uint64_t id)
{
    for (int i = 0; i < c->nseen; i++)
        if (c->seen[i] == id)
            return false;
    if (c->nseen == MAX_MOUNTS)
        return false;
    c->seen[c->nseen++] = id;
    return true;
}

static td_status climb_up(climb *c, int fd, bool *inside, char *err);

/* fd is the root of mount id: walks up from each other view of it. An alias
 * whose ancestors cannot be opened proves nothing either way. */
static void climb_aliases(climb *c, int fd, uint64_t id, bool *inside)
{
    int fds[MAX_ALIASES];
    int n = first_visit(c, id) ? mounts_aliases(fd, id, fds, MAX_ALIASES) : 0;
    for (int i = 0; i < n; i++) {
        char ignored[TD_ERRLEN];
        if (*inside)
            close(fds[i]);
        else
            climb_up(c, fds[i], inside, ignored);
    }
}

/* Walks up from fd (owned: closed before the return). */
static td_status climb_up(climb *c, int fd, bool *inside, char *err)
{
    for (int level = 0; level < MAX_LEVELS; level++) {
        struct stat sb, ub;
        if (fstat(fd, &sb) != 0) {
            int e = errno;
            close(fd);
            return td_fail(err, TD_EIO, "cannot stat a directory above it: %s", strerror(e));
        }
        if (same_file(&sb, &c->top)) {
            *inside = true;
            close(fd);
            return TD_OK;
        }
        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0 || fstat(up, &ub) != 0) {
            int e = errno;
            close(fd);
            if (up >= 0)
                close(up);
            return td_fail(err, TD_EIO, "cannot open the parent of a directory above it: %s",
                           strerror(e));
        }
        bool at_root = same_file(&ub, &sb);
        uint64_t id, up_id;
        if (mounts_id(fd, &id) && (at_root || !mounts_id(up, &up_id) || up_id != id))
            climb_aliases(c, fd, id, inside);
        close(fd);
        if (*inside || at_root) {
            close(up);
            return TD_OK;
        }
        fd = up;
    }
    close(fd);
    return td_fail(err, TD_EIO, "more than %d directories above it", MAX_LEVELS);
}

td_status confine_inside(int top_fd, int dir_fd, bool *inside, char err[TD_ERRLEN])
{
    climb c = {.nseen = 0};
    *inside = false;
    if (fstat(top_fd, &c.top) != 0)
        return td_fail(err, TD_EIO, "cannot stat: %s", strerror(errno));
    int fd = dup(dir_fd);
    if (fd < 0)
        return td_fail(err, TD_EIO, "dup: %s", strerror(errno));
    return climb_up(&c, fd, inside, err);
}
