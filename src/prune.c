#include "thumbd/prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/fsutil.h"

typedef struct pruner {
    const prune_opts *o;
    prune_result *res;
    bool apply;                /* false: only count */
    uint64_t bound;            /* with apply: remove no more than this */
    char path[4096];           /* the directory being pruned, relative */
} pruner;

/* A source directory as prune sees it: open, or why not (ENOENT: gone). */
typedef struct in_twin {
    int fd;
    int err;
    bool unsure;               /* the scan could not read it (or above) completely */
} in_twin;

typedef enum { SRC_PRESENT, SRC_GONE, SRC_UNKNOWN } src_state;

static src_state source_state(const pruner *p, in_twin in, const char *name, size_t plen)
{
    if (in.unsure)
        return SRC_UNKNOWN;
    char rel[4096];
    int n = snprintf(rel, sizeof rel, "%.*s%s%s", (int)plen, p->path, plen ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof rel || (p->o->unsure && p->o->unsure(rel, p->o->unsure_ctx)))
        return SRC_UNKNOWN;
    struct stat sb;
    int e = in.fd < 0 ? in.err : fstatat(in.fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
    return e == 0 ? SRC_PRESENT : e == ENOENT ? SRC_GONE : SRC_UNKNOWN;
}

/* The thumbnail e recorded is still the file thumbd wrote. */
static bool still_ours(int out_fd, const ledger_entry *e, bool *missing)
{
    struct stat sb;
    *missing = fstatat(out_fd, e->out, &sb, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
    return !*missing && S_ISREG(sb.st_mode) && (uint64_t)sb.st_ino == e->ino &&
           sb.st_mtim.tv_sec == e->mtime.tv_sec && sb.st_mtim.tv_nsec == e->mtime.tv_nsec;
}

static void emit_pruned(pruner *p, const char *out, size_t plen)
{
    char rel[4096];
    snprintf(rel, sizeof rel, "%.*s%s%s", (int)plen, p->path, plen ? "/" : "", out);
    thumbd_task *t = task_new((*p->o->next_id)++, rel, 0, (struct timespec){0, 0});
    if (!t)
        return;
    t->res.status = TASK_PRUNED;
    t->res.out_rel = strdup(rel);
    t->res.worker = -1;
    p->o->emit(t, p->o->ctx);
}

/* True if d records that thumbd created the subdirectory name. */
static bool created(const ledger_dir *d, const char *name)
{
    for (size_t i = 0; d && i < d->n; i++)
        if (d->v[i].kind == 'D' && !strcmp(d->v[i].src, name))
            return true;
    return false;
}

/* After the removal of the thumbnail at out, a path from the directory at
 * p->path (open at out_fd, its ledger d) through subdirectories a --name
 * template made: removes those thumbd created (a D record) that are empty
 * now, deepest first. */
static void remove_made_dirs(pruner *p, int out_fd, const ledger_dir *d, const char *out, size_t plen)
{
    char sub[4096], rel[8192];
    if (snprintf(sub, sizeof sub, "%s", out) >= (int)sizeof sub)
        return;
    for (char *slash; (slash = strrchr(sub, '/')) != NULL;) {
        *slash = '\0'; /* sub: the next directory up */
        char *up = strrchr(sub, '/');
        const char *name = up ? up + 1 : sub;
        ledger_dir *own = NULL; /* the ledger of sub's parent, when not d */
        if (up) {
            snprintf(rel, sizeof rel, "%.*s%s%.*s", (int)plen, p->path, plen ? "/" : "",
                     (int)(up - sub), sub);
            own = ledger_load(p->o->ledger, rel);
        }
        bool made = created(up ? own : d, name);
        ledger_dir_free(own);
        if (!made || unlinkat(out_fd, sub, AT_REMOVEDIR) != 0) /* only if empty */
            return;
        snprintf(rel, sizeof rel, "%.*s%s%s", (int)plen, p->path, plen ? "/" : "", sub);
        ledger_remove(p->o->ledger, rel);
    }
}

/* A thumbnail's record: counted, and with p->apply removed when its source
 * is gone. false: the record is dead (its file removed, or not thumbd's). */
static bool prune_thumb(pruner *p, int out_fd, in_twin in, const ledger_dir *d, const ledger_entry *e,
                        size_t plen)
{
    p->res->recorded++;
    src_state s = source_state(p, in, e->src, plen);
    if (s == SRC_UNKNOWN)
        p->res->unsure++;
    if (s != SRC_GONE)
        return true;
    bool missing;
    if (!still_ours(out_fd, e, &missing))
        return false; /* gone already, or someone else's file now: not ours to remove */
    p->res->gone++;
    if (!p->apply || p->res->removed >= p->bound)
        return true;
    if (unlinkat(out_fd, e->out, 0) != 0)
        return true;
    p->res->removed++;
    emit_pruned(p, e->out, plen);
    remove_made_dirs(p, out_fd, d, e->out, plen);
    return false;
}

/* The records of the directory at p->path (its twin in OUT_DIR open at
 * out_fd): counted, and with p->apply pruned, the ledger rewritten. */
static void prune_records(pruner *p, int out_fd, in_twin in, size_t plen, const ledger_dir *d)
{
    bool *keep = d ? malloc(d->n ? d->n * sizeof *keep : 1) : NULL;
    if (!keep)
        return;
    size_t live = ledger_live(d, keep), kept = 0;
    /* D records last: a thumbnail removed may take its directory along. */
    for (int dirs = 0; dirs < 2; dirs++)
        for (size_t i = 0; i < d->n; i++) {
            const ledger_entry *e = &d->v[i];
            if (!keep[i] || (e->kind == 'D') != dirs)
                continue;
            if (e->kind == 'T')
                keep[i] = prune_thumb(p, out_fd, in, d, e, plen);
            else if (e->kind == 'D') /* the subdirectory is still there */
                keep[i] = !p->apply || faccessat(out_fd, e->src, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
                          errno != ENOENT;
            else if (p->apply) /* a failure of a source that is gone is forgotten */
                keep[i] = source_state(p, in, e->src, plen) != SRC_GONE;
            kept += keep[i];
        }
    char err[TD_ERRLEN];
    if (p->apply && (kept != live || live != d->lines))
        ledger_rewrite(p->o->ledger, p->path, d, keep, err); /* kept as it is if it fails */
    free(keep);
}

static void prune_dir(pruner *p, int out_fd, in_twin in, size_t plen);

/* Descends into the subdirectory name of the directory at p->path (whose
 * ledger is d); with p->apply removes it afterwards if thumbd created it
 * and it is empty, once this prune removed something in it or its source
 * directory is gone. */
static void descend(pruner *p, int out_fd, in_twin in, const char *name, size_t plen,
                    const ledger_dir *d)
{
    int n = snprintf(p->path + plen, sizeof p->path - plen, "%s%s", plen ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof p->path - plen) {
        p->path[plen] = '\0';
        return;
    }
    int sub = openat(out_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    in_twin sub_in = {.fd = -1, .err = in.err, .unsure = in.unsure};
    if (!sub_in.unsure && p->o->unsure)
        sub_in.unsure = p->o->unsure(p->path, p->o->unsure_ctx);
    if (in.fd >= 0) {
        sub_in.fd = openat(in.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        sub_in.err = sub_in.fd < 0 ? errno : 0;
    }
    uint64_t before = p->res->removed;
    if (sub >= 0) {
        prune_dir(p, sub, sub_in, plen + (size_t)n);
        close(sub);
    }
    bool gone = sub_in.fd < 0 && sub_in.err == ENOENT && !sub_in.unsure;
    if (sub_in.fd >= 0)
        close(sub_in.fd);
    if (p->apply && (p->res->removed > before || gone) && created(d, name) &&
        unlinkat(out_fd, name, AT_REMOVEDIR) == 0) /* only if empty: what is left is not ours */
        ledger_remove(p->o->ledger, p->path);
    p->path[plen] = '\0';
}

/* Post-order: a directory's subdirectories are pruned before its own
 * records, so that a subdirectory emptied there can go. */
static void prune_dir(pruner *p, int out_fd, in_twin in, size_t plen)
{
    ledger_dir *ld = ledger_load(p->o->ledger, p->path);
    DIR *d = fs_opendir_at(out_fd);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            (!plen && !strncmp(de->d_name, ".thumbd", 7)))
            continue;
        struct stat sb;
        if (de->d_type == DT_DIR ||
            (de->d_type == DT_UNKNOWN && fstatat(out_fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
             S_ISDIR(sb.st_mode)))
            descend(p, out_fd, in, de->d_name, plen, ld);
    }
    if (d)
        closedir(d);
    prune_records(p, out_fd, in, plen, ld);
    ledger_dir_free(ld);
}

static uint64_t bound_of(const prune_opts *o, uint64_t recorded)
{
    if (o->max_count >= 0)
        return (uint64_t)o->max_count;
    if (o->max_pct >= 100.0)
        return UINT64_MAX;
    uint64_t b = (uint64_t)floor((double)recorded * o->max_pct / 100.0);
    return b < PRUNE_MIN ? PRUNE_MIN : b;
}

td_status prune_run(const prune_opts *o, prune_result *res, char err[TD_ERRLEN])
{
    memset(res, 0, sizeof *res);
    pruner *p = calloc(1, sizeof *p);
    if (!p)
        return td_fail(err, TD_ENOMEM, "out of memory");
    p->o = o;
    p->res = res;
    in_twin in = {.fd = o->in_fd, .unsure = o->unsure && o->unsure("", o->unsure_ctx)};
    prune_dir(p, o->out_fd, in, 0); /* counts only */
    res->bound = bound_of(o, res->recorded);
    res->refused = res->gone > res->bound;
    if (!res->refused) {
        /* The tree may change between the passes: the bound holds in the
         * second one too. */
        p->apply = true;
        p->bound = res->bound;
        *res = (prune_result){.bound = p->bound};
        prune_dir(p, o->out_fd, in, 0);
    }
    free(p);
    return TD_OK;
}

void prune_unsure_add(prune_unsure *u, const char *rel)
{
    if (u->all)
        return;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        char **nv = cap <= PRUNE_UNSURE_MAX ? realloc(u->v, cap * sizeof *nv) : NULL;
        if (!nv) {
            u->all = true;
            return;
        }
        u->v = nv;
        u->cap = cap;
    }
    if (!(u->v[u->n] = strdup(rel)))
        u->all = true;
    else
        u->n++;
}

bool prune_unsure_has(const char *rel, void *vu)
{
    const prune_unsure *u = vu;
    if (u->all)
        return true;
    for (size_t i = 0; i < u->n; i++) {
        size_t l = strlen(u->v[i]);
        if (!strncmp(rel, u->v[i], l) && (rel[l] == '\0' || rel[l] == '/'))
            return true;
    }
    return false;
}

void prune_unsure_free(prune_unsure *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i]);
    free(u->v);
    *u = (prune_unsure){0};
}

void prune_explain(const prune_result *res, const prune_opts *o, bool quiet)
{
    if (res->refused) {
        char bound[128];
        if (o->max_count >= 0)
            snprintf(bound, sizeof bound, "--max-prune %llu", (unsigned long long)res->bound);
        else
            snprintf(bound, sizeof bound, "--max-prune %g%% (%llu of %llu, at least %d)", o->max_pct,
                     (unsigned long long)res->bound, (unsigned long long)res->recorded, PRUNE_MIN);
        fprintf(stderr,
                "thumbd: --prune refused: %llu thumbnails would be removed, more than %s allows; "
                "nothing was removed. Is IN_DIR empty or not mounted? If its sources are really "
                "gone, run again with --max-prune %llu (or all)\n",
                (unsigned long long)res->gone, bound, (unsigned long long)res->gone);
        return;
    }
    if (res->unsure && !quiet)
        fprintf(stderr, "thumbd: --prune kept %llu thumbnail%s whose source could not be checked "
                        "(a directory that could not be read)\n",
                (unsigned long long)res->unsure, res->unsure == 1 ? "" : "s");
}
