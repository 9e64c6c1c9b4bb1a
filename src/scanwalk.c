#include "thumbd/scanwalk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "thumbd/sniff.h"

bool scanwalk_is_source(const scan_opts *o, const char *name)
{
    return scan_is_image_name(name) || (o->vips_formats && scan_is_vips_name(name));
}

bool scanwalk_is_image(const scan_opts *o, int dirfd, const char *name)
{
    if (!o->detect_content)
        return scanwalk_is_source(o, name);
    int err;
    sniff_kind k = sniff_file(dirfd, name, o->follow_symlinks, &err);
    if (err)
        return scanwalk_is_source(o, name);
    return k == SNIFF_NATIVE || (k == SNIFF_VIPS && o->vips_formats);
}

bool scanwalk_in_shard(const scan_opts *o, const char *rel)
{
    return o->shard_count <= 1 || scan_shard_of(rel, o->shard_count) == o->shard_index;
}

bool scanwalk_wants_stat(const scan_opts *o, const scanwalk_entry *e)
{
    if (e->type == DT_LNK && !o->follow_symlinks)
        return false;
    return !(e->type == DT_REG && !o->detect_content && !scanwalk_is_source(o, e->name));
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const scanwalk_entry *)a)->name, ((const scanwalk_entry *)b)->name);
}

void scanwalk_free_entries(scanwalk_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

td_status scanwalk_read_entries(int fd, scanwalk_entry **out, size_t *out_n, char *err)
{
    DIR *d = fs_opendir_at(fd);
    if (!d)
        return td_fail(err, TD_EIO, "cannot read directory: %s", strerror(errno));
    scanwalk_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            scanwalk_entry *nv = realloc(v, cap * sizeof *nv);
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
        scanwalk_free_entries(v, n);
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
    scanwalk_free_entries(v, n);
    return td_fail(err, TD_ENOMEM, "out of memory reading directory");
}

size_t scanwalk_push_path(scanwalk *w, const char *name)
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

void scanwalk_pop_path(scanwalk *w, size_t old)
{
    w->path_len = old;
    w->path[old] = '\0';
}

static bool emit_one(scanwalk *w, const struct stat *sb, const char *preset, char *fresh)
{
    if (!scanwalk_in_shard(w->o, w->path)) {
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

bool scanwalk_emit(scanwalk *w, const struct stat *sb, const char *preset, char *fresh, char *known)
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

td_status scanwalk_start(scanwalk *w, const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop,
                         void *ctx, scan_stats *stats, int *fd, char *err)
{
    memset(stats, 0, sizeof *stats);
    *w = (scanwalk){.o = opts, .emit = emit, .stop = stop, .ctx = ctx, .st = stats, .out_root = -1,
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

void scanwalk_end(scanwalk *w, int fd)
{
    scanprobe_end(&w->probe);
    if (w->out_root >= 0)
        close(w->out_root);
    close(fd);
    free(w->path);
    free(w->anc);
}
