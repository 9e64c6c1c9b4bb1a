/* The tree walk (scan_run) and the names it takes as images. Its parts: the
 * walker it shares with the --files-from visitor (scanwalk.c), the stat
 * prober (scanprobe.c) and the name-collision set (stemset.c). */
#include "thumbd/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/scanprobe.h"
#include "thumbd/scanwalk.h"
#include "thumbd/stemset.h"

enum { PROBE_WINDOW = 256 };  /* entries probed ahead of the visits, at most */

static const char *ext_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : NULL;
}

bool scan_is_image_name(const char *name)
{
    const char *e = ext_of(name);
    static const char *const exts[] = {"jpg", "jpeg", "jpe", "png",
                                       "jfif", "pjpeg", "pjp", "mpo", "apng"};
    for (size_t i = 0; e && i < sizeof exts / sizeof *exts; i++)
        if (!strcasecmp(e, exts[i]))
            return true;
    return false;
}

bool scan_is_vips_name(const char *name)
{
    static const char *const exts[] = {"webp", "tif", "tiff", "gif", "heic", "heif",
                                       "avif", "jxl",  "jp2", "svg", "pdf", "bmp", "ico"};
    const char *e = ext_of(name);
    for (size_t i = 0; e && i < sizeof exts / sizeof *exts; i++)
        if (!strcasecmp(e, exts[i]))
            return true;
    return false;
}

int scan_shard_of(const char *rel, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (int)(h % (uint64_t)n);
}

static void job_init(scanprobe_job *j, const scanwalk *w, const char *dir, int fd, const scanwalk_entry *v,
                     scanprobe_result *p, size_t n)
{
    *j = (scanprobe_job){.o = w->o, .ctx = w->ctx, .dir = dir, .fd = fd, .out_fd = w->dir_out_fd,
                         .dir_ctx = w->dir_ctx, .v = v, .p = p, .n = n};
    atomic_init(&j->next, 0);
}

static bool is_ancestor(const scanwalk *w, const struct stat *sb)
{
    for (int i = 0; i < w->depth; i++)
        if (w->anc[i].dev == sb->st_dev && w->anc[i].ino == sb->st_ino)
            return true;
    return false;
}

static td_status walk_dir(scanwalk *w, int fd, const struct stat *self, char *err);

/* A directory the walk cannot read: a failed record of its own, counted
 * apart from the images (task.dir). */
static void emit_dir_error(scanwalk *w, const char *msg)
{
    w->dir_error = true;
    scanwalk_emit(w, NULL, msg, NULL, NULL);
    w->dir_error = false;
}

/* A subdirectory: walked, unless it is OUT_DIR or a loop. */
static void visit_dir(scanwalk *w, int fd, const char *name, const struct stat *sb)
{
    if (w->have_out && sb->st_dev == w->out.dev && sb->st_ino == w->out.ino) {
        /* OUT_DIR inside IN_DIR: never read our own thumbnails back. */
    } else if (is_ancestor(w, sb)) {
        w->st->special++; /* a symlink loop */
    } else {
        int cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                                       (w->o->follow_symlinks ? 0 : O_NOFOLLOW));
        char msg[TD_ERRLEN];
        if (cfd < 0)
            snprintf(msg, sizeof msg, "cannot open directory: %s", strerror(errno));
        if (cfd < 0 || walk_dir(w, cfd, sb, msg) != TD_OK)
            emit_dir_error(w, msg);
        if (cfd >= 0)
            close(cfd);
    }
}

static void visit(scanwalk *w, int fd, const scanwalk_entry *e, scanprobe_result *p, stemset *stems)
{
    const char *name = e->name;
    if (!scanwalk_wants_stat(w->o, e)) {
        if (e->type == DT_LNK)
            w->st->special++;
        else
            w->st->ignored++;
        return;
    }
    size_t old = scanwalk_push_path(w, name);
    const struct stat *sb = &p->sb;
    if (p->err) {
        if (scanwalk_is_source(w->o, name)) {
            char msg[TD_ERRLEN];
            snprintf(msg, sizeof msg, "cannot stat: %s", strerror(p->err));
            scanwalk_emit(w, NULL, msg, NULL, NULL);
        }
    } else if (S_ISDIR(sb->st_mode)) {
        visit_dir(w, fd, name, sb);
    } else if (S_ISREG(sb->st_mode)) {
        if (!p->image) {
            w->st->ignored++;
        } else {
            const char *first = stemset_first(stems, name);
            char msg[TD_ERRLEN];
            if (first != name)
                stemset_collision_message(msg, first, name);
            scanwalk_emit(w, sb, first != name ? msg : NULL, p->fresh, p->known);
            p->fresh = p->known = NULL;
        }
    } else {
        w->st->special++; /* FIFOs, sockets, devices: never opened */
    }
    scanwalk_pop_path(w, old);
}

/* Visits v[0, n) a window at a time (a stop request or a huge directory does
 * not wait for every entry's stat); the helper probes the next window while
 * this thread visits one. A subdirectory is entered only when no probe is
 * under way, since its walk needs the helper. */
static void visit_all(scanwalk *w, int fd, const char *dir, const scanwalk_entry *v, size_t n, stemset *stems)
{
    size_t win = n < PROBE_WINDOW ? n : PROBE_WINDOW;
    scanprobe_result *p = win ? malloc(2 * win * sizeof *p) : NULL;
    if (!p) {
        w->stopped = win > 0;
        return;
    }
    scanprobe_job job[2];
    int k = 0;
    job_init(&job[0], w, dir, fd, v, p, win);
    scanprobe_start(&w->probe, &job[0]);
    scanprobe_finish(&w->probe, &job[0]);
    for (size_t a = 0;;) {
        scanprobe_job *cur = &job[k], *next = NULL;
        size_t b = a + cur->n;
        if (b < n && !w->stopped) {
            next = &job[k ^ 1];
            job_init(next, w, dir, fd, v + b, p + (size_t)(k ^ 1) * win, n - b < win ? n - b : win);
            scanprobe_start(&w->probe, next);
        }
        bool pending = next != NULL;
        size_t i = 0;
        for (; i < cur->n && !w->stopped; i++) {
            if (w->stop && w->stop(w->ctx)) {
                w->stopped = true;
                break;
            }
            if (pending && !cur->p[i].err && S_ISDIR(cur->p[i].sb.st_mode)) {
                scanprobe_finish(&w->probe, next);
                pending = false;
            }
            visit(w, fd, &cur->v[i], &cur->p[i], stems);
        }
        scanprobe_drop(cur->p, i, cur->n);
        if (pending)
            scanprobe_finish(&w->probe, next);
        if (!next)
            break;
        if (w->stopped) {
            scanprobe_drop(next->p, 0, next->n);
            break;
        }
        a = b;
        k ^= 1;
    }
    free(p);
}

typedef struct out_dir { int fd; bool missing; void *ctx; } out_dir;

/* Makes the current directory's twin in OUT_DIR the walker's (for the fresh
 * hook: a stat there walks one component); returns the parent's. */
static out_dir out_dir_enter(scanwalk *w)
{
    out_dir parent = {w->dir_out_fd, w->dir_no_out, w->dir_ctx};
    w->dir_out_fd = -1;
    w->dir_no_out = parent.missing; /* under a missing directory, all are */
    w->dir_ctx = NULL;
    if (w->out_root >= 0 && !parent.missing) {
        w->dir_out_fd = w->path_len ? openat(w->out_root, w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                    : dup(w->out_root);
        w->dir_no_out = w->dir_out_fd < 0 && errno == ENOENT;
    }
    if (w->o->dir_begin)
        w->dir_ctx = w->o->dir_begin(w->path, w->dir_out_fd, w->ctx);
    return parent;
}

static void out_dir_leave(scanwalk *w, out_dir parent, bool complete)
{
    if (w->dir_ctx && w->o->dir_end)
        w->o->dir_end(w->dir_ctx, complete, w->ctx);
    w->dir_ctx = parent.ctx;
    if (w->dir_out_fd >= 0)
        close(w->dir_out_fd);
    w->dir_out_fd = parent.fd;
    w->dir_no_out = parent.missing;
}

/* Visits every entry of the directory open at fd. Fails only when the
 * directory itself cannot be read. */
static td_status walk_dir(scanwalk *w, int fd, const struct stat *self, char *err)
{
    scanwalk_entry *v = NULL;
    size_t n = 0;
    td_status st = scanwalk_read_entries(fd, &v, &n, err);
    if (st != TD_OK)
        return st;
    if (w->depth == w->anc_cap) {
        int cap = w->anc_cap ? w->anc_cap * 2 : 32;
        scanwalk_id *na = realloc(w->anc, (size_t)cap * sizeof *na);
        if (!na) {
            scanwalk_free_entries(v, n);
            w->stopped = true;
            return TD_OK;
        }
        w->anc = na;
        w->anc_cap = cap;
    }
    stemset stems;
    if (!stemset_init(&stems, n, w->o->names)) {
        scanwalk_free_entries(v, n);
        w->stopped = true;
        return TD_OK;
    }
    w->anc[w->depth++] = (scanwalk_id){self->st_dev, self->st_ino};
    w->st->dirs++;
    char *dir = strdup(w->path);
    out_dir parent = out_dir_enter(w);
    if (dir)
        visit_all(w, fd, dir, v, n, &stems);
    else
        w->stopped = true;
    free(dir);
    out_dir_leave(w, parent, dir && !w->stopped);
    w->depth--;
    stemset_free(&stems);
    scanwalk_free_entries(v, n);
    return TD_OK;
}

td_status scan_run(const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop, void *ctx,
                   scan_stats *stats, char err[TD_ERRLEN])
{
    scanwalk w;
    int fd;
    td_status st = scanwalk_start(&w, opts, emit, stop, ctx, stats, &fd, err);
    if (st != TD_OK)
        return st;
    struct stat sb, ob;
    if (fstat(fd, &sb) != 0) {
        scanwalk_end(&w, fd);
        return td_fail(err, TD_EIO, "cannot stat '%s': %s", opts->in_dir, strerror(errno));
    }
    if (opts->out_dir && stat(opts->out_dir, &ob) == 0) {
        w.have_out = true;
        w.out = (scanwalk_id){ob.st_dev, ob.st_ino};
    }
    char why[TD_ERRLEN];
    st = walk_dir(&w, fd, &sb, why);
    scanwalk_end(&w, fd);
    if (st != TD_OK)
        return td_fail(err, st, "input directory '%s': %s", opts->in_dir, why);
    return TD_OK;
}
