#include "thumbd/prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "thumbd/scan.h"

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* The stem ("a" of "a.JPEG") of every image name in the directory at fd. */
static void image_stems(int fd, bool vips_formats, names *out)
{
    DIR *d = fs_opendir_at(fd);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!scan_is_image_name(de->d_name) && !(vips_formats && scan_is_vips_name(de->d_name)))
            continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 32;
            char **nv = realloc(out->v, cap * sizeof *nv);
            if (!nv)
                break;
            out->v = nv;
            out->cap = cap;
        }
        char *s = strdup(de->d_name);
        if (!s)
            break;
        *strrchr(s, '.') = '\0';
        out->v[out->n++] = s;
    }
    closedir(d);
}

static bool has_stem(const names *s, const char *name, size_t stem_len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == stem_len && !strncmp(s->v[i], name, stem_len))
            return true;
    return false;
}

/* What thumbd writes: a lower-case .jpg or .png. */
static bool thumbnail_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (!strcmp(dot, ".jpg") || !strcmp(dot, ".png") || !strcmp(dot, ".webp") || !strcmp(dot, ".avif"));
}

typedef struct pruner {
    prune_emit_fn emit;
    void *ctx;
    uint64_t *next_id;
    uint64_t removed;
    bool vips_formats;
    char path[4096];
} pruner;

static void prune_dir(pruner *p, int out_fd, int in_fd, size_t plen);

static void visit(pruner *p, int out_fd, int in_fd, const names *stems, const char *name,
                  size_t plen)
{
    int n = snprintf(p->path + plen, sizeof p->path - plen, "%s%s", plen ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof p->path - plen)
        return;
    struct stat sb;
    if (fstatat(out_fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        int sub_out = openat(out_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int sub_in = in_fd >= 0 ? openat(in_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        uint64_t before = p->removed;
        if (sub_out >= 0) {
            prune_dir(p, sub_out, sub_in, plen + (size_t)n);
            close(sub_out);
        }
        if (sub_in >= 0)
            close(sub_in);
        if (p->removed > before)
            unlinkat(out_fd, name, AT_REMOVEDIR); /* only succeeds if now empty */
        return;
    }
    if (!S_ISREG(sb.st_mode) || !thumbnail_name(name))
        return;
    if (has_stem(stems, name, (size_t)(strrchr(name, '.') - name)))
        return;
    if (unlinkat(out_fd, name, 0) != 0)
        return;
    p->removed++;
    thumbd_task *t = task_new((*p->next_id)++, p->path, 0, (struct timespec){0, 0});
    if (!t)
        return;
    t->res.status = TASK_PRUNED;
    t->res.out_rel = strdup(p->path);
    p->emit(t, p->ctx);
}

static void prune_dir(pruner *p, int out_fd, int in_fd, size_t plen)
{
    names stems = {0}, entries = {0};
    image_stems(in_fd, p->vips_formats, &stems);
    /* Read the whole listing first: we remove entries as we go. */
    DIR *d = fs_opendir_at(out_fd);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strncmp(de->d_name, ".thumbd", 7))
                continue;
            if (entries.n == entries.cap) {
                size_t cap = entries.cap ? entries.cap * 2 : 32;
                char **nv = realloc(entries.v, cap * sizeof *nv);
                if (!nv)
                    break;
                entries.v = nv;
                entries.cap = cap;
            }
            if (!(entries.v[entries.n] = strdup(de->d_name)))
                break;
            entries.n++;
        }
        closedir(d);
    }
    for (size_t i = 0; i < entries.n; i++)
        visit(p, out_fd, in_fd, &stems, entries.v[i], plen);
    p->path[plen] = '\0';
    names_free(&entries);
    names_free(&stems);
}

uint64_t prune_run(int in_fd, int out_fd, bool vips_formats, uint64_t *next_id, prune_emit_fn emit,
                   void *ctx)
{
    pruner *p = calloc(1, sizeof *p);
    if (!p)
        return 0;
    p->emit = emit;
    p->ctx = ctx;
    p->next_id = next_id;
    p->vips_formats = vips_formats;
    prune_dir(p, out_fd, in_fd, 0);
    uint64_t n = p->removed;
    free(p);
    return n;
}
