#include "thumbd/scanprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/scanwalk.h"

enum {
    PROBE_MIN = 64,       /* fewer entries: the hand-off would cost more */
    PROBE_CHUNK = 16,
};

/* The helper thread of a walk, started at the first big directory. */
struct scanprobe_helper {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    scanprobe_job *job;   /* on offer to the helper, NULL when none */
    bool busy;            /* the helper is working on job */
    bool quit;
};

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

static void probe_one(const scanprobe_job *j, size_t i, char **buf, size_t *cap)
{
    const scan_opts *o = j->o;
    const scanwalk_entry *e = &j->v[i];
    scanprobe_result *p = &j->p[i];
    p->err = 0;
    p->fresh = p->known = NULL;
    p->image = false;
    if (scanwalk_wants_stat(o, e)) {
        int flags = o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW;
        p->err = fstatat(j->fd, e->name, &p->sb, flags) ? errno : 0;
        p->image = !p->err && S_ISREG(p->sb.st_mode) && scanwalk_is_image(o, j->fd, e->name);
        if (p->image && o->fresh) {
            const char *rel = join_rel(j->dir, e->name, buf, cap);
            if (rel && scanwalk_in_shard(o, rel))
                p->fresh = o->fresh(rel, j->out_fd, j->out_fd >= 0 ? e->name : NULL, &p->sb,
                                    j->dir_ctx, j->ctx, &p->known);
        }
    }
    p->done = true;
}

static void probe_work(scanprobe_job *j, char **buf, size_t *cap)
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

static void *helper_main(void *arg)
{
    struct scanprobe_helper *h = arg;
    char *buf = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->quit && !h->job)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit)
            break;
        scanprobe_job *j = h->job;
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
 * or the thread cannot start (the walk then probes alone). */
static struct scanprobe_helper *helper_get(scanprobe *pr, const scan_opts *o)
{
    if (pr->helper || pr->helper_failed || !o->fresh)
        return pr->helper;
    struct scanprobe_helper *h = calloc(1, sizeof *h);
    if (h && pthread_mutex_init(&h->mu, NULL) == 0) {
        if (pthread_cond_init(&h->cv, NULL) == 0) {
            if (pthread_create(&h->th, NULL, helper_main, h) == 0)
                return pr->helper = h;
            pthread_cond_destroy(&h->cv);
        }
        pthread_mutex_destroy(&h->mu);
    }
    free(h);
    pr->helper_failed = true;
    return NULL;
}

void scanprobe_start(scanprobe *pr, scanprobe_job *j)
{
    struct scanprobe_helper *h = j->n >= PROBE_MIN ? helper_get(pr, j->o) : NULL;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->job = j;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void scanprobe_finish(scanprobe *pr, scanprobe_job *j)
{
    probe_work(j, &pr->buf, &pr->cap);
    struct scanprobe_helper *h = pr->helper;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->job == j)
        h->job = NULL; /* done before the helper woke up */
    while (h->busy)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

void scanprobe_drop(scanprobe_result *p, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        free(p[i].fresh);
        free(p[i].known);
    }
}

void scanprobe_end(scanprobe *pr)
{
    struct scanprobe_helper *h = pr->helper;
    if (h) {
        pthread_mutex_lock(&h->mu);
        h->quit = true;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL);
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
    }
    free(pr->buf);
    *pr = (scanprobe){0};
}
