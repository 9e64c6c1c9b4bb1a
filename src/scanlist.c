/* scan_list: the --files-from visitor (see scan.h). */
#include "thumbd/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/confine.h"
#include "thumbd/listread.h"
#include "thumbd/sniff.h"
#include "thumbd/scanwalk.h"
#include "thumbd/stemset.h"

enum { LIST_WINDOW = 65536 };  /* --files-from entries read ahead from a pipe */

/* The directory of the last listed file, for collisions. */
typedef struct list_dir {
    char *dir;
    scanwalk_entry *v;
    size_t n;
    stemset stems;
} list_dir;

static void forget_list_dir(list_dir *ld)
{
    scanwalk_free_entries(ld->v, ld->n);
    stemset_free(&ld->stems);
    free(ld->dir);
    ld->v = NULL;
    ld->n = 0;
    ld->dir = NULL;
}

/* The first image file of rel's stem in rel's directory (in name order), as
 * the tree walk would see it; the listing of the last directory is kept, as
 * lists tend to come grouped by directory. NULL if it cannot be read. */
static const char *listed_first(const scanwalk *w, list_dir *ld, int in_fd, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t dlen = slash ? (size_t)(slash - rel) : 0;
    if (!ld->dir || strlen(ld->dir) != dlen || strncmp(ld->dir, rel, dlen)) {
        forget_list_dir(ld);
        ld->dir = strndup(rel, dlen);
        const char *d = dlen ? ld->dir : ".";
        int dfd = !d ? -1 : w->o->follow_symlinks ? openat(in_fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                                  : confine_open(in_fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char err[TD_ERRLEN];
        bool ok = ld->dir && dfd >= 0 && scanwalk_read_entries(dfd, &ld->v, &ld->n, err) == TD_OK &&
                  stemset_init(&ld->stems, ld->n, w->o->names);
        for (size_t j = 0; ok && j < ld->n; j++) {
            struct stat sb;
            const char *name = ld->v[j].name;
            if ((w->o->detect_content || scanwalk_is_source(w->o, name)) &&
                fstatat(dfd, name, &sb, w->o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(sb.st_mode) && scanwalk_is_image(w->o, dfd, name))
                stemset_first(&ld->stems, name);
        }
        if (dfd >= 0)
            close(dfd);
        if (!ok) {
            forget_list_dir(ld);
            return NULL;
        }
    }
    return ld->stems.name ? stemset_first(&ld->stems, slash ? slash + 1 : rel) : NULL;
}

/* With --detect content, whether the listed regular file rel is an image
 * (opened as the confined stat found it); by name when it cannot be read. */
static bool listed_image(const scanwalk *w, int in_fd, const char *rel)
{
    if (!w->o->detect_content)
        return true; /* its name said so already */
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fd = w->o->follow_symlinks ? openat(in_fd, rel, flags) : confine_open(in_fd, rel, flags);
    int err = fd < 0 ? errno : 0;
    sniff_kind k = fd < 0 ? SNIFF_NONE : sniff_fd(fd, &err);
    if (fd >= 0)
        close(fd);
    if (err)
        return scanwalk_is_source(w->o, rel);
    return k == SNIFF_NATIVE || (k == SNIFF_VIPS && w->o->vips_formats);
}

static void visit_listed(scanwalk *w, list_dir *ld, int in_fd, const char *rel)
{
    size_t old = scanwalk_push_path(w, rel);
    struct stat sb;
    char msg[TD_ERRLEN];
    if (!w->o->detect_content && !scanwalk_is_source(w->o, rel)) {
        w->st->ignored++;
    } else if (confine_stat(in_fd, rel, &sb, w->o->follow_symlinks) != 0) {
        snprintf(msg, sizeof msg, errno == EXDEV ? "listed path leaves IN_DIR (absolute or with '..'): not read"
                                  : errno == ELOOP ? "listed path lies under a symbolic link: not read"
                                  : "listed in --files-from but cannot be found: %s", strerror(errno));
        scanwalk_emit(w, NULL, msg, NULL, NULL);
    } else if (!S_ISREG(sb.st_mode)) {
        w->st->special++;
    } else if (!listed_image(w, in_fd, rel)) {
        w->st->ignored++;
    } else {
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        const char *first = listed_first(w, ld, in_fd, rel);
        bool collides = first && strcmp(first, base);
        if (collides)
            stemset_collision_message(msg, first, base);
        char *known = NULL;
        char *fresh = !collides && w->o->fresh && scanwalk_in_shard(w->o, rel)
                          ? w->o->fresh(rel, -1, NULL, &sb, NULL, w->ctx, &known) : NULL;
        scanwalk_emit(w, &sb, collides ? msg : NULL, fresh, known);
    }
    scanwalk_pop_path(w, old);
}

td_status scan_list(const scan_opts *opts, int list_fd, bool nul, scan_emit_fn emit, scan_stop_fn stop,
                    void *ctx, scan_stats *stats, char err[TD_ERRLEN])
{
    scanwalk w;
    int fd;
    td_status st = scanwalk_start(&w, opts, emit, stop, ctx, stats, &fd, err);
    if (st != TD_OK)
        return st;
    list_dir ld = {0};
    listread *lr = listread_open(list_fd, nul, LIST_WINDOW);
    const char *line;
    while (lr && !w.stopped && (line = listread_next(lr, stop, ctx)) != NULL) {
        if (stop && stop(ctx))
            break;
        w.urgent = line[0] == '!'; /* "!path": before the others (a file named "!x": "./!x") */
        const char *rel = w.urgent ? line + 1 : line;
        while (rel[0] == '.' && rel[1] == '/')
            rel += 2; /* find . prints ./a.jpg */
        if (*rel)
            visit_listed(&w, &ld, fd, rel);
    }
    int read_error = lr ? listread_error(lr) : ENOMEM;
    listread_close(lr);
    forget_list_dir(&ld);
    scanwalk_end(&w, fd);
    if (read_error)
        return td_fail(err, TD_EIO, "cannot read the --files-from list: %s", strerror(read_error));
    return TD_OK;
}

td_status scan_one(const scan_opts *opts, const char *name, scan_emit_fn emit, void *ctx, scan_stats *stats,
                   char err[TD_ERRLEN])
{
    scanwalk w;
    int fd;
    td_status st = scanwalk_start(&w, opts, emit, NULL, ctx, stats, &fd, err);
    if (st != TD_OK)
        return st;
    size_t old = scanwalk_push_path(&w, name);
    struct stat sb;
    char msg[TD_ERRLEN];
    if (fstatat(fd, name, &sb, opts->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
        snprintf(msg, sizeof msg, "cannot stat: %s", strerror(errno));
        scanwalk_emit(&w, NULL, msg, NULL, NULL);
    } else if (S_ISLNK(sb.st_mode)) {
        scanwalk_emit(&w, NULL, "a symbolic link, followed only with --follow-symlinks", NULL, NULL);
    } else if (!S_ISREG(sb.st_mode)) {
        scanwalk_emit(&w, NULL, "not a regular file: never opened (a FIFO, socket or device)", NULL, NULL);
    } else {
        char *known = NULL;
        char *fresh = opts->fresh && scanwalk_in_shard(opts, name)
                          ? opts->fresh(name, -1, NULL, &sb, NULL, ctx, &known) : NULL;
        scanwalk_emit(&w, &sb, NULL, fresh, known);
    }
    scanwalk_pop_path(&w, old);
    scanwalk_end(&w, fd);
    return TD_OK;
}
