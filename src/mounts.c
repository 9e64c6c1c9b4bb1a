#include "thumbd/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool mounts_id(int fd, uint64_t *id)
{
#ifdef STATX_MNT_ID
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
        *id = sx.stx_mnt_id;
        return true;
    }
#endif
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd); /* kernels before 5.8 */
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[128];
    unsigned long long v = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "mnt_id: %llu", &v) == 1;
    fclose(f);
    *id = v;
    return found;
}

/* One line of mountinfo: "ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...". */
typedef struct mount_line {
    uint64_t id;
    unsigned major, minor;
    char *root;                /* the directory of the file system mounted */
    char *point;               /* where it is mounted */
} mount_line;

typedef struct mount_table {
    char *buf;                 /* the file, split in place */
    mount_line *v;
    size_t n;
} mount_table;

/* mountinfo writes a space, tab, newline or backslash in a path as \ooo. */
static char *unescape(char *s)
{
    char *o = s;
    for (const char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return s;
}

static bool parse_line(char *line, mount_line *m)
{
    char *save = NULL, *f[5];
    for (int i = 0; i < 5; i++)
        if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
            return false;
    char *end;
    m->id = strtoull(f[0], &end, 10);
    if (*end || sscanf(f[2], "%u:%u", &m->major, &m->minor) != 2 || f[3][0] != '/')
        return false;
    m->root = unescape(f[3]);
    m->point = unescape(f[4]);
    return true;
}

/* Reads the whole of /proc/self/mountinfo (it has no size to stat). */
static char *read_all(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return NULL;
    size_t len = 0, cap = 16384;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1)
            break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    bool bad = ferror(f);
    fclose(f);
    if (buf && bad) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static bool load(mount_table *t)
{
    *t = (mount_table){.buf = read_all()};
    if (!t->buf)
        return false;
    size_t lines = 1;
    for (const char *p = t->buf; *p; p++)
        lines += *p == '\n';
    t->v = malloc(lines * sizeof *t->v);
    if (!t->v) {
        free(t->buf);
        return false;
    }
    char *save = NULL;
    for (char *l = strtok_r(t->buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        t->n += parse_line(l, &t->v[t->n]);
    return true;
}

/* The part of path r below anc ("" when they are equal), or NULL when anc is
 * neither r nor one of its ancestors. */
static const char *below(const char *r, const char *anc)
{
    if (!strcmp(anc, "/"))
        return r + 1;
    size_t n = strlen(anc);
    if (strncmp(r, anc, n) || (r[n] && r[n] != '/'))
        return NULL;
    return r[n] ? r + n + 1 : "";
}

/* Opens point/rest if it is the directory self is. */
static int open_alias(const char *point, const char *rest, const struct stat *self)
{
    char path[PATH_MAX];
    const char *sep = *rest && strcmp(point, "/") ? "/" : "";
    int len = snprintf(path, sizeof path, "%s%s%s", point, sep, rest);
    if (len < 0 || (size_t)len >= sizeof path)
        return -1;
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || sb.st_dev != self->st_dev || sb.st_ino != self->st_ino)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int mounts_aliases(int dir_fd, uint64_t id, int *fds, int max)
{
    struct stat self;
    mount_table t;
    if (max <= 0 || fstat(dir_fd, &self) != 0 || !load(&t))
        return 0;
    const mount_line *m = NULL;
    for (size_t i = 0; i < t.n && !m; i++)
        if (t.v[i].id == id)
            m = &t.v[i];
    int n = 0;
    for (size_t i = 0; m && i < t.n && n < max; i++) {
        const mount_line *o = &t.v[i];
        if (o->id == id || o->major != m->major || o->minor != m->minor)
            continue;
        const char *rest = below(m->root, o->root);
        int fd = rest ? open_alias(o->point, rest, &self) : -1;
        if (fd >= 0)
            fds[n++] = fd;
    }
    free(t.v);
    free(t.buf);
    return n;
}
