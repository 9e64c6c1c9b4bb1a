#include "thumbd/rundirs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/confine.h"
#include "thumbd/escape.h"
#include "thumbd/run.h"

/* what: "cannot open input directory" and the like; path is quoted. */
static int fatal(const char *what, const char *path, int e)
{
    escape_line(stderr, "thumbd: %s '%s': %s", what, path, strerror(e));
    return EXIT_FATAL;
}

/* mkdir -p for the user's OUT_DIR path (symlinks in it are the user's). */
static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int open_list(const char *list, int *fd)
{
    if (!strcmp(list, "-")) {
        *fd = STDIN_FILENO;
        return 0;
    }
    *fd = open(list, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (*fd >= 0 && fstat(*fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        errno = EISDIR;
    }
    return *fd < 0 ? fatal("cannot open the --files-from list", list, errno) : 0;
}

/* A file written under a temporary name beside path and renamed over it
 * (the metrics): creating that name is the only sure test (permissions
 * alone do not tell for root, or on a read-only or special file system). */
static int probe_replace(const char *path, const char *what)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return fatal(what, path, ENAMETOOLONG);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fatal(what, path, errno);
    close(fd);
    unlink(tmp);
    return 0;
}

/* A file the run writes (what: "cannot write report"), checked before
 * anything is done: a writable file, or one that can be created in its
 * directory. replaced: it is written under a temporary name in its
 * directory and renamed over (the metrics), so the directory must be
 * writable whether or not the file exists. */
static int check_writable(const char *path, const char *what, bool replaced)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return fatal(what, path, EISDIR);
        if (!replaced)
            return access(path, W_OK) == 0 ? 0 : fatal(what, path, errno);
    } else if (errno != ENOENT) {
        return fatal(what, path, errno);
    }
    if (replaced)
        return probe_replace(path, what);
    char *copy = strdup(path);
    if (!copy)
        return fatal(what, path, ENOMEM);
    int ok = access(dirname(copy), W_OK | X_OK) == 0;
    int e = errno;
    free(copy);
    return ok ? 0 : fatal(what, path, e);
}

/* OUT_DIR, opened as it is, else created. */
static int open_out(const char *out_dir, int *out_fd)
{
    *out_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*out_fd >= 0)
        return 0;
    if (errno != ENOENT)
        return fatal("cannot open output directory", out_dir, errno);
    if (mkdir_p(out_dir) != 0)
        return fatal("cannot create output directory", out_dir, errno);
    *out_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *out_fd < 0 ? fatal("cannot open output directory", out_dir, errno) : 0;
}

/* Thumbnails go to OUT_DIR/<the source's path>: in IN_DIR or above it they
 * would land among the sources (and a re-run would take them for sources,
 * --prune delete sources). */
static int refuse_overlap(const thumbd_config *cfg, int in_fd, int out_fd)
{
    struct stat in_sb, out_sb;
    if (fstat(in_fd, &in_sb) == 0 && fstat(out_fd, &out_sb) == 0 &&
        in_sb.st_dev == out_sb.st_dev && in_sb.st_ino == out_sb.st_ino) {
        escape_line(stderr, "thumbd: OUT_DIR is IN_DIR ('%s'): give the thumbnails a directory of "
                            "their own (it may lie inside IN_DIR)", cfg->out_dir);
        return EXIT_USAGE;
    }
    bool inside;
    char err[TD_ERRLEN];
    if (confine_inside(out_fd, in_fd, &inside, err) != TD_OK) {
        escape_line(stderr, "thumbd: cannot tell whether OUT_DIR '%s' holds IN_DIR '%s' (%s): "
                            "nothing done", cfg->out_dir, cfg->in_dir, err);
        return EXIT_FATAL;
    }
    if (inside) {
        escape_line(stderr, "thumbd: IN_DIR '%s' lies inside OUT_DIR '%s': thumbnails would be "
                            "written among the sources; give the thumbnails a directory outside "
                            "IN_DIR's tree (it may lie inside IN_DIR)", cfg->in_dir, cfg->out_dir);
        return EXIT_USAGE;
    }
    return 0;
}

int rundirs_single(const thumbd_config *cfg, thumbd_config *one, char **held)
{
    *one = *cfg;
    *held = NULL;
    struct stat sb;
    if (stat(cfg->in_dir, &sb) != 0 || S_ISDIR(sb.st_mode))
        return 0; /* a directory, or an error rundirs_open reports */
    const char *clash = cfg->prune ? "--prune" : cfg->files_from ? "--files-from" : NULL;
    if (clash) {
        escape_line(stderr, "thumbd: %s needs IN_DIR to be a directory, and '%s' is not one: give "
                            "its directory, or leave %s out", clash, cfg->in_dir, clash);
        return EXIT_USAGE;
    }
    char *copy = strdup(cfg->in_dir), *name_copy = strdup(cfg->in_dir);
    const char *dir = copy ? dirname(copy) : NULL, *name = name_copy ? basename(name_copy) : NULL;
    size_t dl = dir ? strlen(dir) : 0, nl = name ? strlen(name) : 0;
    char *buf = dir && name ? malloc(dl + nl + 2) : NULL;
    if (buf) {
        memcpy(buf, dir, dl + 1);
        memcpy(buf + dl + 1, name, nl + 1);
        one->in_dir = buf;
        one->in_file = buf + dl + 1;
    }
    free(copy);
    free(name_copy);
    *held = buf;
    return buf ? 0 : fatal("cannot open input", cfg->in_dir, ENOMEM);
}

int rundirs_open(const thumbd_config *cfg, int *in_fd, int *out_fd, int *list_fd)
{
    *out_fd = *list_fd = -1;
    *in_fd = open(cfg->in_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*in_fd < 0)
        return fatal("cannot open input directory", cfg->in_dir, errno);
    int code = cfg->files_from ? open_list(cfg->files_from, list_fd) : 0;
    if (!code && cfg->report_path && strcmp(cfg->report_path, "-"))
        code = check_writable(cfg->report_path, "cannot write report", false);
    if (!code && cfg->metrics_path)
        code = check_writable(cfg->metrics_path, "cannot write metrics", true);
    if (!code)
        code = open_out(cfg->out_dir, out_fd);
    return code ? code : refuse_overlap(cfg, *in_fd, *out_fd);
}
