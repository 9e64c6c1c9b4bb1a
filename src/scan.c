#include "thumbd/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/confine.h"
#include "thumbd/fsutil.h"
#include "thumbd/listread.h"

typedef struct dev_ino { dev_t dev; ino_t ino; } dev_ino;

typedef struct entry {
    char *name;
    unsigned char type;   /* d_type */
} entry;

/* What fstatat (and opts->fresh) said of one entry, found ahead of the visit
 * so that two threads can share the system calls of a big directory: they
 * are most of what a no-op re-run costs. */
typedef struct probe {
    bool done;            /* the fields below are valid */
    int err;              /* errno of fstatat, 0 when it worked */
    struct stat sb;
    char *fresh;          /* opts->fresh's answer for an image (owned) */
    char *known;          /* and why it is known bad (owned) */
} probe;

struct walker;

/* The entries [0, n) of one directory to probe; both threads take chunks of
 * PROBE_CHUNK from next until none is left. */
typedef struct probe_job {
    const struct walker *w;
    const char *dir;      /* the directory's path: w->path changes meanwhile */
    int fd;
    int out_fd;           /* the same directory in OUT_DIR, or -1 */
    bool no_out;          /* OUT_DIR has no such directory: nothing is fresh */
    void *dir_ctx;        /* opts->dir_begin's answer for the directory */
    const entry *v;
    probe *p;
    size_t n;
    atomic_size_t next;
} probe_job;

/* The helper thread of a walk, started at the first big directory. */
typedef struct prober {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    probe_job *job;       /* on offer to the helper, NULL when none */
    bool busy;            /* the helper is working on job */
    bool quit;
} prober;

enum {
    LIST_WINDOW = 65536,  /* --files-from entries read ahead from a pipe */
    PROBE_MIN = 64,       /* fewer entries: the hand-off would cost more */
    PROBE_WINDOW = 256,   /* entries probed ahead of the visits, at most */
    PROBE_CHUNK = 16,
};

/* Two image files in one directory whose outputs may coincide have the same
 * stem ("a" of a.jpg, a.JPEG, a.png); the first in name order keeps the
 * output name. A stem set per directory finds the first in O(1). */
typedef struct stem_set {
    const char **name;         /* the first image of each stem, or NULL */
    size_t cap;                /* a power of two, at least twice the entries */
} stem_set;

typedef struct walker {
    const scan_opts *o;
    scan_emit_fn emit;
    scan_stop_fn stop;
    void *ctx;
    scan_stats *st;
    uint64_t next_id;
    bool have_out;
    dev_ino out;
    dev_ino *anc;         /* directories on the current path, for loops */
    int depth, anc_cap;
    char *path;           /* current directory relative to in_dir ("" at top) */
    size_t path_len, path_cap;
    bool stopped;
    /* --files-from: the directory of the last listed file, for collisions */
    char *list_dir;
    entry *list_v;
    size_t list_n;
    stem_set list_stems;
    int out_root;         /* OUT_DIR, open for the fresh hook, or -1 */
    int dir_out_fd;       /* the current directory inside it, or -1 */
    bool dir_no_out;      /* ... which OUT_DIR lacks */
    void *dir_ctx;        /* opts->dir_begin's answer for it, or NULL */
    prober *helper;       /* NULL until needed, or if it cannot start */
    bool helper_failed;
    char *probe_buf;      /* the walking thread's join_rel buffer */
    size_t probe_cap;
    bool urgent;          /* the listed path being visited had a '!' */
    bool known;           /* the task being emitted is known bad */
    bool dir_error;       /* the path being emitted is a directory that cannot be read */
} walker;

static const char *ext_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : NULL;
}

bool scan_is_image_name(const char *name)
{
    const char *e = ext_of(name);
    return e && (!strcasecmp(e, "jpg") || !strcasecmp(e, "jpeg") || !strcasecmp(e, "jpe") ||
                 !strcasecmp(e, "png"));
}

bool scan_is_vips_name(const char *name)
{
    static const char *const exts[] = {"webp", "tif", "tiff", "gif", "heic", "heif",
                                       "avif", "jxl",  "jp2", "svg", "pdf"};
    const char *e = ext_of(name);
    for (size_t i = 0; e && i < sizeof exts / sizeof *exts; i++)
        if (!strcasecmp(e, exts[i]))
            return true;
    return false;
}

static bool is_source(const walker *w, const char *name)
{
    return scan_is_image_name(name) || (w->o->vips_formats && scan_is_vips_name(name));
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static void free_entries(entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Reads all names of one directory (consumes fd's stream; fd stays open). */
static td_status read_entries(int fd, entry **out, size_t *out_n, char *err)
{
    DIR *d = fs_opendir_at(fd);
    if (!d)
        return td_fail(err, TD_EIO, "cannot read directory: %s", strerror(errno));
    entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            entry *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
        }
        v[n].name = strdup(de->d_name);
        if (!v[n].name)
            goto oom;
        v[n].type = de->d_type;
        n++;
        errno = 0;
    }
    if (errno) {
        int e = errno;
        closedir(d);
        free_entries(v, n);
        return td_fail(err, TD_EIO, "cannot read directory: %s", strerror(e));
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *out_n = n;
    return TD_OK;
oom:
    closedir(d);
    free_entries(v, n);
    return td_fail(err, TD_ENOMEM, "out of memory reading directory");
}

/* Appends "/name" (or "name" at the top) to the current path; returns the
 * old length to restore. */
static size_t push_path(walker *w, const char *name)
{
    size_t old = w->path_len, nl = strlen(name);
    size_t need = old + 1 + nl + 1;
    if (need > w->path_cap) {
        size_t cap = need * 2;
        char *np = realloc(w->path, cap);
        if (!np)
            abort(); /* a path of a few KiB: not worth an error path */
        w->path = np;
        w->path_cap = cap;
    }
    if (old)
        w->path[w->path_len++] = '/';
    memcpy(w->path + w->path_len, name, nl + 1);
    w->path_len += nl;
    return old;
}

static void pop_path(walker *w, size_t old)
{
    w->path_len = old;
    w->path[old] = '\0';
}

int scan_shard_of(const char *rel, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (int)(h % (uint64_t)n);
}

static bool in_shard(const walker *w, const char *rel)
{
    return w->o->shard_count <= 1 || scan_shard_of(rel, w->o->shard_count) == w->o->shard_index;
}

static bool emit_one(walker *w, const struct stat *sb, const char *preset, char *fresh);

/* Emits the task of w->path. fresh and known (owned) are opts->fresh's
 * answers: the task is then already settled as skipped, or known bad. */
static bool emit_task(walker *w, const struct stat *sb, const char *preset, char *fresh, char *known)
{
    if (known && !preset) {
        preset = known;
        w->known = true;
    }
    bool ok = emit_one(w, sb, preset, fresh);
    w->known = false;
    free(known);
    return ok;
}

static bool emit_one(walker *w, const struct stat *sb, const char *preset, char *fresh)
{
    if (!in_shard(w, w->path)) {
        free(fresh);
        w->st->other_shard++;
        return true;
    }
    if (fresh && !preset && !w->o->emit_fresh) {
        free(fresh);
        w->st->fresh++;
        return true;
    }
    struct timespec mt = {0, 0};
    int64_t size = 0;
    if (sb) {
        mt = sb->st_mtim;
        size = (int64_t)sb->st_size;
    }
    thumbd_task *t = task_new(++w->next_id, w->path, size, mt);
    if (t && preset)
        t->preset_error = strdup(preset);
    if (t) {
        t->urgent = w->urgent;
        t->known_bad = w->known;
        t->dir = w->dir_error;
    }
    if (!t || (preset && !t->preset_error)) {
        free(fresh);
        task_free(t);
        w->stopped = true;
        return false;
    }
    if (fresh && !preset) {
        t->res.status = TASK_SKIPPED;
        t->res.out_rel = fresh;
    } else {
        free(fresh);
    }
    if (t->dir) { /* settled: there is nothing for a worker to do */
        t->res.status = TASK_FAILED;
        snprintf(t->res.error, sizeof t->res.error, "%s", preset);
    }
    w->st->found++;
    if (!w->emit(t, w->ctx))
        w->stopped = true;
    return !w->stopped;
}

/* Whether an entry is stat'ed: not links that are not followed, nor regular
 * files that are not images (those are only counted). */
static bool wants_stat(const walker *w, const entry *e)
{
    if (e->type == DT_LNK && !w->o->follow_symlinks)
        return false;
    return !(e->type == DT_REG && !is_source(w, e->name));
}

/* dir joined with name, in *buf (grown as needed); NULL if out of memory. */
static const char *join_rel(const char *dir, const char *name, char **buf, size_t *cap)
{
    size_t dl = strlen(dir), nl = strlen(name), need = dl + 1 + nl + 1;
    if (need > *cap) {
        char *nb = realloc(*buf, need * 2);
        if (!nb)
            return NULL;
        *buf = nb;
        *cap = need * 2;
    }
    char *p = *buf;
    memcpy(p, dir, dl);
    p += dl;
    if (dl)
        *p++ = '/';
    memcpy(p, name, nl + 1);
    return *buf;
}

static void probe_one(const probe_job *j, size_t i, char **buf, size_t *cap)
{
    const walker *w = j->w;
    const entry *e = &j->v[i];
    probe *p = &j->p[i];
    p->err = 0;
    p->fresh = p->known = NULL;
    if (wants_stat(w, e)) {
        int flags = w->o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW;
        p->err = fstatat(j->fd, e->name, &p->sb, flags) ? errno : 0;
        if (!p->err && w->o->fresh && S_ISREG(p->sb.st_mode) && is_source(w, e->name)) {
            const char *rel = join_rel(j->dir, e->name, buf, cap);
            if (rel && in_shard(w, rel))
                p->fresh = w->o->fresh(rel, j->out_fd, j->out_fd >= 0 ? e->name : NULL, &p->sb,
                                       j->dir_ctx, w->ctx, &p->known);
        }
    }
    p->done = true;
}

static void probe_work(probe_job *j, char **buf, size_t *cap)
{
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, PROBE_CHUNK);
        if (i >= j->n)
            return;
        size_t end = i + PROBE_CHUNK < j->n ? i + PROBE_CHUNK : j->n;
        for (; i < end; i++)
            probe_one(j, i, buf, cap);
    }
}

static void *prober_main(void *arg)
{
    prober *h = arg;
    char *buf = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->quit && !h->job)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit)
            break;
        probe_job *j = h->job;
        h->job = NULL;
        h->busy = true;
        pthread_mutex_unlock(&h->mu);
        probe_work(j, &buf, &cap);
        pthread_mutex_lock(&h->mu);
        h->busy = false;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    free(buf);
    return NULL;
}

/* The helper, started on first use; NULL when the walk is not incremental
 * (a first run's cost is decoding, and the helper would take CPU from it)
 * or the thread cannot start (the walk then probes alone). */
static prober *helper_get(walker *w)
{
    if (w->helper || w->helper_failed || !w->o->fresh)
        return w->helper;
    prober *h = calloc(1, sizeof *h);
    if (h && pthread_mutex_init(&h->mu, NULL) == 0) {
        if (pthread_cond_init(&h->cv, NULL) == 0) {
            if (pthread_create(&h->th, NULL, prober_main, h) == 0)
                return w->helper = h;
            pthread_cond_destroy(&h->cv);
        }
        pthread_mutex_destroy(&h->mu);
    }
    free(h);
    w->helper_failed = true;
    return NULL;
}

static void helper_stop(walker *w)
{
    prober *h = w->helper;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->quit = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    w->helper = NULL;
}

static void job_init(probe_job *j, const walker *w, const char *dir, int fd, const entry *v, probe *p,
                     size_t n)
{
    *j = (probe_job){.w = w, .dir = dir, .fd = fd, .out_fd = w->dir_out_fd, .no_out = w->dir_no_out,
                     .dir_ctx = w->dir_ctx, .v = v, .p = p, .n = n};
    atomic_init(&j->next, 0);
}

/* Offers j to the helper, if there is one and j is big enough. */
static void probe_start(walker *w, probe_job *j)
{
    prober *h = j->n >= PROBE_MIN ? helper_get(w) : NULL;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->job = j;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Probes what is left of j, then waits for the helper's part. */
static void probe_finish(walker *w, probe_job *j)
{
    probe_work(j, &w->probe_buf, &w->probe_cap);
    prober *h = w->helper;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->job == j)
        h->job = NULL; /* done before the helper woke up */
    while (h->busy)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static bool is_ancestor(const walker *w, const struct stat *sb)
{
    for (int i = 0; i < w->depth; i++)
        if (w->anc[i].dev == sb->st_dev && w->anc[i].ino == sb->st_ino)
            return true;
    return false;
}

static td_status walk_dir(walker *w, int fd, const struct stat *self, char *err);

static size_t stem_len(const char *name)
{
    const char *e = ext_of(name);
    return e ? (size_t)(e - 1 - name) : strlen(name);
}

static bool stem_set_init(stem_set *s, size_t entries)
{
    s->cap = 16;
    while (s->cap < 2 * entries + 1)
        s->cap *= 2;
    s->name = calloc(s->cap, sizeof *s->name);
    return s->name != NULL;
}

/* The first image name with name's stem; name itself when it is the first
 * (it is recorded). Names must come in name order. */
static const char *stem_first(stem_set *s, const char *name)
{
    size_t n = stem_len(name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
    for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        const char *o = s->name[i];
        if (!o)
            return s->name[i] = name;
        if (stem_len(o) == n && !strncmp(o, name, n))
            return o;
    }
}

static void collision_message(char *msg, const char *first, const char *name)
{
    snprintf(msg, TD_ERRLEN,
             "output name collision: '%s' and '%s' in the same directory map to the same "
             "thumbnail name; only '%s' was thumbnailed (rename one)",
             first, name, first);
}

/* A directory the walk cannot read: a failed record of its own, counted
 * apart from the images (task.dir). */
static void emit_dir_error(walker *w, const char *msg)
{
    w->dir_error = true;
    emit_task(w, NULL, msg, NULL, NULL);
    w->dir_error = false;
}

static void visit(walker *w, int fd, const entry *e, probe *p, stem_set *stems)
{
    const char *name = e->name;
    if (!wants_stat(w, e)) {
        if (e->type == DT_LNK)
            w->st->special++;
        else
            w->st->ignored++;
        return;
    }
    size_t old = push_path(w, name);
    const struct stat *sb = &p->sb;
    if (p->err) {
        if (is_source(w, name)) {
            char msg[TD_ERRLEN];
            snprintf(msg, sizeof msg, "cannot stat: %s", strerror(p->err));
            emit_task(w, NULL, msg, NULL, NULL);
        }
    } else if (S_ISDIR(sb->st_mode)) {
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
    } else if (S_ISREG(sb->st_mode)) {
        if (!is_source(w, name)) {
            w->st->ignored++;
        } else {
            const char *first = stem_first(stems, name);
            char msg[TD_ERRLEN];
            if (first != name)
                collision_message(msg, first, name);
            emit_task(w, sb, first != name ? msg : NULL, p->fresh, p->known);
            p->fresh = p->known = NULL;
        }
    } else {
        w->st->special++; /* FIFOs, sockets, devices: never opened */
    }
    pop_path(w, old);
}

static void drop_fresh(probe *p, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        free(p[i].fresh);
        free(p[i].known);
    }
}

/* Visits v[0, n) a window at a time (a stop request or a huge directory does
 * not wait for every entry's stat); the helper probes the next window while
 * this thread visits one. A subdirectory is entered only when no probe is
 * under way, since its walk needs the helper. */
static void visit_all(walker *w, int fd, const char *dir, const entry *v, size_t n, stem_set *stems)
{
    size_t win = n < PROBE_WINDOW ? n : PROBE_WINDOW;
    probe *p = win ? malloc(2 * win * sizeof *p) : NULL;
    if (!p) {
        w->stopped = win > 0;
        return;
    }
    probe_job job[2];
    int k = 0;
    job_init(&job[0], w, dir, fd, v, p, win);
    probe_start(w, &job[0]);
    probe_finish(w, &job[0]);
    for (size_t a = 0;;) {
        probe_job *cur = &job[k], *next = NULL;
        size_t b = a + cur->n;
        if (b < n && !w->stopped) {
            next = &job[k ^ 1];
            job_init(next, w, dir, fd, v + b, p + (size_t)(k ^ 1) * win, n - b < win ? n - b : win);
            probe_start(w, next);
        }
        bool pending = next != NULL;
        size_t i = 0;
        for (; i < cur->n && !w->stopped; i++) {
            if (w->stop && w->stop(w->ctx)) {
                w->stopped = true;
                break;
            }
            if (pending && !cur->p[i].err && S_ISDIR(cur->p[i].sb.st_mode)) {
                probe_finish(w, next);
                pending = false;
            }
            visit(w, fd, &cur->v[i], &cur->p[i], stems);
        }
        drop_fresh(cur->p, i, cur->n);
        if (pending)
            probe_finish(w, next);
        if (!next)
            break;
        if (w->stopped) {
            drop_fresh(next->p, 0, next->n);
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
static out_dir out_dir_enter(walker *w)
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

static void out_dir_leave(walker *w, out_dir parent, bool complete)
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
static td_status walk_dir(walker *w, int fd, const struct stat *self, char *err)
{
    entry *v = NULL;
    size_t n = 0;
    td_status st = read_entries(fd, &v, &n, err);
    if (st != TD_OK)
        return st;
    if (w->depth == w->anc_cap) {
        int cap = w->anc_cap ? w->anc_cap * 2 : 32;
        dev_ino *na = realloc(w->anc, (size_t)cap * sizeof *na);
        if (!na) {
            free_entries(v, n);
            w->stopped = true;
            return TD_OK;
        }
        w->anc = na;
        w->anc_cap = cap;
    }
    stem_set stems;
    if (!stem_set_init(&stems, n)) {
        free_entries(v, n);
        w->stopped = true;
        return TD_OK;
    }
    w->anc[w->depth++] = (dev_ino){self->st_dev, self->st_ino};
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
    free(stems.name);
    free_entries(v, n);
    return TD_OK;
}

/* Sets up a walk of opts->in_dir: the walker, its path buffer, and the open
 * directory in *fd. */
static td_status walker_start(walker *w, const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop,
                              void *ctx, scan_stats *stats, int *fd, char *err)
{
    memset(stats, 0, sizeof *stats);
    *w = (walker){.o = opts, .emit = emit, .stop = stop, .ctx = ctx, .st = stats, .out_root = -1,
                  .dir_out_fd = -1};
    *fd = open(opts->in_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return td_fail(err, TD_EIO, "cannot open input directory '%s': %s", opts->in_dir,
                       strerror(errno));
    if (opts->fresh && opts->out_dir)
        w->out_root = open(opts->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* -1: no help */
    w->path = calloc(1, 256);
    w->path_cap = 256;
    if (!w->path) {
        if (w->out_root >= 0)
            close(w->out_root);
        close(*fd);
        return td_fail(err, TD_ENOMEM, "out of memory");
    }
    return TD_OK;
}

static void walker_end(walker *w, int fd)
{
    helper_stop(w);
    free(w->probe_buf);
    if (w->out_root >= 0)
        close(w->out_root);
    close(fd);
    free(w->path);
    free(w->anc);
}

td_status scan_run(const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop, void *ctx,
                   scan_stats *stats, char err[TD_ERRLEN])
{
    walker w;
    int fd;
    td_status st = walker_start(&w, opts, emit, stop, ctx, stats, &fd, err);
    if (st != TD_OK)
        return st;
    struct stat sb, ob;
    if (fstat(fd, &sb) != 0) {
        walker_end(&w, fd);
        return td_fail(err, TD_EIO, "cannot stat '%s': %s", opts->in_dir, strerror(errno));
    }
    if (opts->out_dir && stat(opts->out_dir, &ob) == 0) {
        w.have_out = true;
        w.out = (dev_ino){ob.st_dev, ob.st_ino};
    }
    char why[TD_ERRLEN];
    st = walk_dir(&w, fd, &sb, why);
    walker_end(&w, fd);
    if (st != TD_OK)
        return td_fail(err, st, "input directory '%s': %s", opts->in_dir, why);
    return TD_OK;
}

static void forget_list_dir(walker *w)
{
    free_entries(w->list_v, w->list_n);
    free(w->list_stems.name);
    free(w->list_dir);
    w->list_v = NULL;
    w->list_n = 0;
    w->list_stems.name = NULL;
    w->list_dir = NULL;
}

/* The first image file of rel's stem in rel's directory (in name order), as
 * the tree walk would see it; the listing of the last directory is kept, as
 * lists tend to come grouped by directory. NULL if it cannot be read. */
static const char *listed_first(walker *w, int in_fd, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t dlen = slash ? (size_t)(slash - rel) : 0;
    if (!w->list_dir || strlen(w->list_dir) != dlen || strncmp(w->list_dir, rel, dlen)) {
        forget_list_dir(w);
        w->list_dir = strndup(rel, dlen);
        const char *d = dlen ? w->list_dir : ".";
        int dfd = !d ? -1 : w->o->follow_symlinks ? openat(in_fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                                  : confine_open(in_fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char err[TD_ERRLEN];
        bool ok = w->list_dir && dfd >= 0 && read_entries(dfd, &w->list_v, &w->list_n, err) == TD_OK &&
                  stem_set_init(&w->list_stems, w->list_n);
        for (size_t j = 0; ok && j < w->list_n; j++) {
            struct stat sb;
            const char *name = w->list_v[j].name;
            if (is_source(w, name) &&
                fstatat(dfd, name, &sb, w->o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(sb.st_mode))
                stem_first(&w->list_stems, name);
        }
        if (dfd >= 0)
            close(dfd);
        if (!ok) {
            forget_list_dir(w);
            return NULL;
        }
    }
    return w->list_stems.name ? stem_first(&w->list_stems, slash ? slash + 1 : rel) : NULL;
}

static void visit_listed(walker *w, int in_fd, const char *rel)
{
    size_t old = push_path(w, rel);
    struct stat sb;
    char msg[TD_ERRLEN];
    if (!is_source(w, rel)) {
        w->st->ignored++;
    } else if (confine_stat(in_fd, rel, &sb, w->o->follow_symlinks) != 0) {
        snprintf(msg, sizeof msg, errno == EXDEV ? "listed path leaves IN_DIR (absolute or with '..'): not read"
                                  : errno == ELOOP ? "listed path lies under a symbolic link: not read"
                                  : "listed in --files-from but cannot be found: %s", strerror(errno));
        emit_task(w, NULL, msg, NULL, NULL);
    } else if (!S_ISREG(sb.st_mode)) {
        w->st->special++;
    } else {
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        const char *first = listed_first(w, in_fd, rel);
        bool collides = first && strcmp(first, base);
        if (collides)
            collision_message(msg, first, base);
        char *known = NULL;
        char *fresh = !collides && w->o->fresh && in_shard(w, rel) ? w->o->fresh(rel, -1, NULL, &sb, NULL, w->ctx, &known) : NULL;
        emit_task(w, &sb, collides ? msg : NULL, fresh, known);
    }
    pop_path(w, old);
}

td_status scan_list(const scan_opts *opts, int list_fd, bool nul, scan_emit_fn emit, scan_stop_fn stop,
                    void *ctx, scan_stats *stats, char err[TD_ERRLEN])
{
    walker w;
    int fd;
    td_status st = walker_start(&w, opts, emit, stop, ctx, stats, &fd, err);
    if (st != TD_OK)
        return st;
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
            visit_listed(&w, fd, rel);
    }
    int read_error = lr ? listread_error(lr) : ENOMEM;
    listread_close(lr);
    forget_list_dir(&w);
    walker_end(&w, fd);
    if (read_error)
        return td_fail(err, TD_EIO, "cannot read the --files-from list: %s", strerror(read_error));
    return TD_OK;
}
