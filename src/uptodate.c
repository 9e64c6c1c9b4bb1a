#include "thumbd/uptodate.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/escape.h"
#include "thumbd/hash.h"

/* A directory's context for the scanner: its memo, and its ledger, read
 * at the first source the memo does not vouch for (a no-op re-run over a
 * tree whose memos hold reads no ledger). */
typedef struct uptodate_dir {
    uptodate *u;
    char *rel_dir;
    memo_dir *memo;            /* NULL: no memo (no twin, --no-memo, out of memory) */
    pthread_mutex_t mu;        /* guards the loading */
    _Atomic(ledger_dir *) ledger;
    bool load_failed;          /* out of memory: nothing is up to date */
} uptodate_dir;

/* Rewrite a ledger once most of its lines are dead records. */
enum { REWRITE_MIN_LINES = 64 };

void uptodate_init(uptodate *u, const thumbd_config *cfg, int out_fd, const char *fingerprint,
                   const struct timespec *start)
{
    memset(u, 0, sizeof *u);
    u->cfg = cfg;
    u->out_fd = out_fd;
    u->nboxes = config_boxes(cfg, u->boxes);
    u->names = outname_rule_of(cfg->name_template, u->nboxes > 1, u->boxes[0].w, u->boxes[0].h);
    ledger_open(&u->ledger, out_fd, true);
    memo_run_init(&u->memo, out_fd, fingerprint, cfg->shard_index, cfg->shard_count, start);
    u->fp_thumb = hash_str(fingerprint);
    /* A verdict holds for these limits, this --fail-on and this thumbd:
     * another version may read what this one cannot, so it decodes
     * known-bad sources once. --fail-on is not in fp_thumb: a thumbnail
     * made under one level is the same under another. */
    char limits[288];
    snprintf(limits, sizeof limits, " max_pixels=%llu max_dimension=%d max_scans=%d max_frames=%d "
             "max_file_size=%llu max_memory=%llu fail_on=%s version=%s",
             (unsigned long long)cfg->max_pixels, cfg->max_dimension, cfg->max_scans, cfg->max_frames,
             (unsigned long long)cfg->max_file_size, (unsigned long long)cfg->max_memory,
             failon_name(cfg->fail_on), THUMBD_VERSION);
    u->fp_fail = hash_fnv1a(u->fp_thumb, limits, strlen(limits));
}

void uptodate_init_notes(uptodate *u, const thumbd_config *cfg, int out_fd, uint64_t fp_thumb,
                         uint64_t fp_fail)
{
    memset(u, 0, sizeof *u);
    u->cfg = cfg;
    u->out_fd = out_fd;
    u->memo.dir_fd = -1;
    ledger_open(&u->ledger, out_fd, false);
    u->fp_thumb = fp_thumb;
    u->fp_fail = fp_fail;
}

void uptodate_end(uptodate *u)
{
    memo_run_end(&u->memo);
    ledger_close(&u->ledger);
    ledger_dir_free(u->list_ledger);
    free(u->list_dir);
    u->list_ledger = NULL;
    u->list_dir = NULL;
}

/* Rewrites d when most of its lines are dead records (superseded). */
static void compact(const uptodate *u, const char *rel_dir, ledger_dir *d)
{
    if (d->lines < REWRITE_MIN_LINES)
        return;
    bool *keep = malloc(d->n ? d->n * sizeof *keep : 1);
    char err[TD_ERRLEN];
    if (keep && ledger_live(d, keep) * 2 < d->lines)
        ledger_rewrite(&u->ledger, rel_dir, d, keep, err); /* on failure it stays as it is */
    free(keep);
}

void *uptodate_dir_begin(uptodate *u, const char *rel_dir, int twin_fd)
{
    uptodate_dir *d = calloc(1, sizeof *d);
    if (!d || !(d->rel_dir = strdup(rel_dir)) || pthread_mutex_init(&d->mu, NULL) != 0) {
        if (d)
            free(d->rel_dir);
        free(d);
        return NULL;
    }
    d->u = u;
    if (twin_fd >= 0 && !u->cfg->no_memo && !outname_has_dir(&u->names))
        d->memo = memo_begin(&u->memo, rel_dir, twin_fd);
    return d;
}

void uptodate_dir_end(void *dir, bool complete)
{
    uptodate_dir *d = dir;
    if (!d)
        return;
    memo_end(d->memo, complete);
    ledger_dir_free(atomic_load(&d->ledger));
    pthread_mutex_destroy(&d->mu);
    free(d->rel_dir);
    free(d);
}

/* d's ledger, read (and compacted) by the first caller. NULL when out of
 * memory. Thread-safe. */
static const ledger_dir *dir_ledger(uptodate_dir *d)
{
    ledger_dir *l = atomic_load(&d->ledger);
    if (l)
        return l;
    pthread_mutex_lock(&d->mu);
    l = atomic_load(&d->ledger);
    if (!l && !d->load_failed) {
        l = ledger_load(&d->u->ledger, d->rel_dir);
        d->load_failed = !l;
        if (l)
            compact(d->u, d->rel_dir, l);
        atomic_store(&d->ledger, l);
    }
    pthread_mutex_unlock(&d->mu);
    return l;
}

/* --files-from: the ledger of rel's directory, loaded once for a run of
 * paths in one directory. */
static const ledger_dir *list_ledger(uptodate *u, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;
    if (u->list_dir && strlen(u->list_dir) == n && !strncmp(u->list_dir, rel, n))
        return u->list_ledger;
    ledger_dir_free(u->list_ledger);
    free(u->list_dir);
    u->list_dir = strndup(rel, n);
    u->list_ledger = u->list_dir ? ledger_load(&u->ledger, u->list_dir) : NULL;
    return u->list_ledger;
}

/* Whether the thumbnail e names, at path out (relative to OUT_DIR; its
 * last component at out + base when looked up in out_dirfd), is in place:
 * a regular file with the source's mtime (which thumbd gives each
 * thumbnail, to the nanosecond). *ino: its inode, which differs from the
 * ledger's when OUT_DIR was copied or restored from a backup. */
static bool thumb_in_place(const uptodate *u, const ledger_entry *e, const char *out, int out_dirfd,
                           size_t base, uint64_t *ino)
{
    struct stat sb;
    int dfd = out_dirfd >= 0 ? out_dirfd : u->out_fd;
    const char *path = out_dirfd >= 0 ? out + base : out;
    bool ok = fstatat(dfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
              sb.st_mtim.tv_sec == e->mtime.tv_sec && sb.st_mtim.tv_nsec == e->mtime.tv_nsec;
    *ino = ok ? (uint64_t)sb.st_ino : 0;
    return ok;
}

static void warn_once(uptodate *u, const char *err)
{
    if (!atomic_exchange(&u->warned, true))
        escape_line(stderr, "thumbd: warning: cannot record progress in %s: %s (the next run does "
                            "again what is not recorded; further such warnings are not shown)",
                    LEDGER_DIR, err);
}

/* The rule of size i. */
static outname_rule names_of(const uptodate *u, int i)
{
    return outname_rule_of(u->cfg->name_template, u->nboxes > 1, u->boxes[i].w, u->boxes[i].h);
}

/* Whether out is the path the template gives rel at one of the run's sizes
 * in a format this run may write (*kind: that format). A ledger record
 * naming anything else (made under a template with the same fingerprint by
 * another thumbd, or edited) does not count. */
static bool template_made(const uptodate *u, const char *rel, const char *out, out_kind *kind)
{
    static const out_kind auto_kinds[] = {OUT_JPEG, OUT_PNG};
    out_kind fixed = u->cfg->format == FORMAT_PNG ? OUT_PNG : u->cfg->format == FORMAT_WEBP ? OUT_WEBP
                   : u->cfg->format == FORMAT_AVIF ? OUT_AVIF : OUT_JPEG;
    bool any = u->cfg->format == FORMAT_AUTO;
    for (int b = 0; b < u->nboxes; b++)
        for (size_t i = 0; i < (any ? 2u : 1u); i++) {
            *kind = any ? auto_kinds[i] : fixed;
            outname_rule names = names_of(u, b);
            char *want = outname_path(&names, rel, *kind);
            bool same = want && !strcmp(want, out);
            free(want);
            if (same)
                return true;
        }
    return false;
}

/* Whether the thumbnail of size b of the source rel (of sb; its name in
 * its directory at rel + dl) in kind is up to date: its ledger record (e
 * when it names that path) is of these options and this source, and it is
 * in place. A thumbnail found under another inode is recorded again. The
 * path is malloc'd into *path. */
static bool size_fresh(uptodate *u, const ledger_dir *ld, const ledger_entry *e, const char *rel,
                       size_t dl, int out_dirfd, const struct stat *sb, int b, out_kind kind,
                       char **path)
{
    outname_rule names = names_of(u, b);
    *path = outname_path(&names, rel, kind);
    if (!*path || strncmp(*path, rel, dl))
        return false;
    const ledger_entry *t = !strcmp(*path + dl, e->out) ? e : ledger_thumb_at(ld, *path + dl);
    uint64_t ino;
    if (!t || t->kind != 'T' || t->fp != u->fp_thumb || strcmp(t->src, rel + dl) ||
        !ledger_same_source(t, (int64_t)sb->st_size, &sb->st_mtim) ||
        !thumb_in_place(u, t, *path, out_dirfd, dl, &ino))
        return false;
    char err[TD_ERRLEN];
    if (ino != t->ino && /* copied or restored: the ledger follows, for --prune */
        ledger_note_thumb(&u->ledger, rel, *path, t->fp, t->size, &t->mtime, ino, err) != TD_OK)
        warn_once(u, err);
    return true;
}

char *uptodate_fresh(uptodate *u, const char *rel, int out_dirfd, const char *name,
                     const struct stat *sb, void *dir, char **known_bad)
{
    *known_bad = NULL;
    uptodate_dir *d = dir;
    if (u->cfg->force)
        return NULL;
    /* The memo holds only what this check found up to date before. */
    out_kind kind;
    if (d && d->memo && name && memo_lookup(d->memo, name, &sb->st_mtim, sb->st_size, &kind))
        return outname_path(&u->names, rel, kind);
    const ledger_dir *ld = d ? dir_ledger(d) : list_ledger(u, rel);
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    const ledger_entry *e = ld ? ledger_latest(ld, base) : NULL;
    if (!e || !ledger_same_source(e, (int64_t)sb->st_size, &sb->st_mtim))
        return NULL;
    if (e->kind == 'F') {
        if (e->fp == u->fp_fail && !u->cfg->retry_failed &&
            asprintf(known_bad, "known bad, unchanged since it failed: %s", e->out) < 0)
            *known_bad = NULL;
        return NULL;
    }
    if (e->fp != u->fp_thumb)
        return NULL;
    size_t dl = (size_t)(base - rel);
    char *out = malloc(dl + strlen(e->out) + 1);
    if (!out)
        return NULL;
    memcpy(out, rel, dl);
    strcpy(out + dl, e->out);
    bool ok = template_made(u, rel, out, &kind);
    free(out);
    char *first = NULL;
    for (int b = 0; ok && b < u->nboxes; b++) { /* every size's thumbnail, in place */
        char *path;
        ok = size_fresh(u, ld, e, rel, dl, name ? out_dirfd : -1, sb, b, kind, &path);
        if (b == 0)
            first = path;
        else
            free(path);
    }
    if (!ok) {
        free(first);
        return NULL;
    }
    if (d && d->memo && name)
        memo_note(d->memo, name, &sb->st_mtim, sb->st_size, kind);
    return first;
}

void uptodate_note_result(uptodate *u, const thumbd_task *t)
{
    const task_result *r = &t->res;
    char err[TD_ERRLEN];
    td_status st = TD_OK;
    if (r->status == TASK_OK && r->nouts > 0) /* several sizes: each thumbnail */
        for (int i = 0; i < r->nouts && st == TD_OK; i++)
            st = ledger_note_thumb(&u->ledger, t->rel, r->outs[i].rel, u->fp_thumb, r->read_size,
                                   &r->read_mtime, r->outs[i].ino, err);
    else if (r->status == TASK_OK && r->out_rel)
        st = ledger_note_thumb(&u->ledger, t->rel, r->out_rel, u->fp_thumb, r->read_size,
                               &r->read_mtime, r->out_ino, err);
    else if (r->status == TASK_FAILED && r->lasting && !t->preset_error)
        st = ledger_note_failure(&u->ledger, t->rel, u->fp_fail, r->read_size, &r->read_mtime,
                                 r->error, err);
    if (st != TD_OK)
        warn_once(u, err);
}

void uptodate_note_mkdir(const char *rel_dir, void *ctx)
{
    uptodate *u = ctx;
    char err[TD_ERRLEN];
    if (ledger_note_mkdir(&u->ledger, rel_dir, err) != TD_OK)
        warn_once(u, err);
}
