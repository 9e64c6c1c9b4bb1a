#include "thumbd/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "thumbd/hash.h"

static const char HEADER[] = "thumbd-ledger 1 ";
/* A ledger larger than this is not read (nor appended to): its directory's
 * sources are done again, and the next rewrite starts it afresh. */
enum { MAX_FILE = 64 << 20, MAX_LINE = 4096 };

void ledger_open(ledger *l, int out_fd, bool make)
{
    if (make && mkdirat(out_fd, LEDGER_DIR, 0755) != 0 && errno != EEXIST)
        make = false;
    l->dir_fd = openat(out_fd, LEDGER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void ledger_close(ledger *l)
{
    if (l->dir_fd >= 0)
        close(l->dir_fd);
    l->dir_fd = -1;
}

static void file_name(const char *rel_dir, char buf[20])
{
    snprintf(buf, 20, "%016" PRIx64, hash_str(rel_dir));
}

/* ---- escaping ------------------------------------------------------------- */

static bool plain(unsigned char c)
{
    return c > ' ' && c != '%' && c != 0x7f;
}

/* s escaped into out (room for 3 * strlen(s) + 1); returns the end. */
static char *escape(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (plain(*p)) {
            *out++ = (char)*p;
        } else {
            *out++ = '%';
            *out++ = hex[*p >> 4];
            *out++ = hex[*p & 15];
        }
    }
    *out = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescapes the field s (in place); false if it is malformed or empty. */
static bool unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
        if (lo < 0)
            return false;
        *w++ = (char)(hi << 4 | lo);
        r += 2;
    }
    *w = '\0';
    return w != s;
}

/* ---- reading ---------------------------------------------------------------- */

/* Splits line into its space-separated fields (at most max); returns how
 * many, or max + 1 when there are more. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n == max)
            return max + 1;
        f[n++] = t;
    }
    return n;
}

static bool parse_num(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    *v = x;
    return !errno && end != s && !*end;
}

static void entry_free(ledger_entry *e)
{
    free(e->src);
    free(e->out);
}

/* One record line (no newline) into e; false if it is not one. */
static bool parse_line(char *line, ledger_entry *e)
{
    char *f[8];
    int n = split(line, f, 8);
    memset(e, 0, sizeof *e);
    if (n == 2 && !strcmp(f[0], "D")) {
        e->kind = 'D';
        return unescape(f[1]) && (e->src = strdup(f[1])) != NULL;
    }
    int64_t sec, nsec;
    bool t = n == 8 && !strcmp(f[0], "T"), fl = n == 7 && !strcmp(f[0], "F");
    char *end;
    if ((!t && !fl) || strlen(f[1]) != 16)
        return false;
    e->fp = strtoull(f[1], &end, 16);
    if (*end || !parse_num(f[2], &e->size) || !parse_num(f[3], &sec) || !parse_num(f[4], &nsec) ||
        nsec < 0 || nsec > 999999999)
        return false;
    if (t) { /* inodes use all 64 bits on some file systems */
        errno = 0;
        e->ino = strtoull(f[5], &end, 10);
        if (errno || *end || end == f[5])
            return false;
    }
    e->kind = t ? 'T' : 'F';
    e->mtime = (struct timespec){(time_t)sec, (long)nsec};
    char *src = f[t ? 6 : 5], *out = f[t ? 7 : 6];
    if (!unescape(src) || !unescape(out))
        return false;
    e->src = strdup(src);
    e->out = strdup(out);
    if (e->src && e->out)
        return true;
    entry_free(e);
    return false;
}


static size_t slot_of(const ledger_dir *d, const char *src)
{
    size_t mask = d->index_cap - 1, i = (size_t)hash_str(src) & mask;
    while (d->index[i] && strcmp(d->v[d->index[i] - 1].src, src))
        i = (i + 1) & mask;
    return i;
}

static size_t out_slot_of(const ledger_dir *d, const char *out)
{
    size_t mask = d->index_cap - 1, i = (size_t)hash_str(out) & mask;
    while (d->out_index[i] && strcmp(d->v[d->out_index[i] - 1].out, out))
        i = (i + 1) & mask;
    return i;
}

static bool build_index(ledger_dir *d)
{
    d->index_cap = 16;
    while (d->index_cap < d->n * 2)
        d->index_cap *= 2;
    d->index = calloc(d->index_cap, sizeof *d->index);
    d->out_index = calloc(d->index_cap, sizeof *d->out_index);
    if (!d->index || !d->out_index)
        return false;
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].kind != 'D')
            d->index[slot_of(d, d->v[i].src)] = i + 1;
        if (d->v[i].kind == 'T')
            d->out_index[out_slot_of(d, d->v[i].out)] = i + 1;
    }
    return true;
}

/* The whole file open at fd, NUL-terminated, or NULL. */
static char *slurp(int fd, size_t *len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > MAX_FILE)
        return NULL;
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* True if the file's first line is the header of rel_dir. */
static bool header_matches(const char *buf, size_t len, const char *rel_dir, size_t *body)
{
    size_t hl = sizeof HEADER - 1;
    const char *nl = memchr(buf, '\n', len);
    if (!nl || (size_t)(nl - buf) < hl || memcmp(buf, HEADER, hl))
        return false;
    char want[3 * 4096 + 1];
    if (strlen(rel_dir) > 4096)
        return false;
    escape(want, rel_dir);
    size_t wl = strlen(want);
    const char *name = buf + hl;
    bool same = (size_t)(nl - name) == wl + 1 && !memcmp(name, want, wl) && name[wl] == '/';
    *body = (size_t)(nl - buf) + 1;
    return same;
}

static bool push(ledger_dir *d, size_t *cap, const ledger_entry *e)
{
    if (d->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        ledger_entry *nv = realloc(d->v, nc * sizeof *nv);
        if (!nv)
            return false;
        d->v = nv;
        *cap = nc;
    }
    d->v[d->n++] = *e;
    return true;
}

/* Parses the records of buf (after the header) into d. */
static bool parse_body(ledger_dir *d, char *buf, size_t len, size_t body)
{
    size_t cap = 0;
    char *p = buf + body, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* cut short */
        *nl = '\0';
        d->lines++;
        ledger_entry e;
        if (nl - p < MAX_LINE && strncmp(p, HEADER, sizeof HEADER - 1) && parse_line(p, &e) &&
            !push(d, &cap, &e)) {
            entry_free(&e);
            return false;
        }
        p = nl + 1;
    }
    return true;
}

ledger_dir *ledger_load(const ledger *l, const char *rel_dir)
{
    ledger_dir *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    char name[20];
    file_name(rel_dir, name);
    int fd = l->dir_fd >= 0 ? openat(l->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    size_t len = 0, body = 0;
    char *buf = fd >= 0 ? slurp(fd, &len) : NULL;
    if (fd >= 0)
        close(fd);
    bool ok = !buf || !header_matches(buf, len, rel_dir, &body) || parse_body(d, buf, len, body);
    free(buf);
    if (!ok || !build_index(d)) {
        ledger_dir_free(d);
        return NULL;
    }
    return d;
}

void ledger_dir_free(ledger_dir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        entry_free(&d->v[i]);
    free(d->v);
    free(d->index);
    free(d->out_index);
    free(d);
}

const ledger_entry *ledger_latest(const ledger_dir *d, const char *src)
{
    if (!d || !d->n)
        return NULL;
    size_t i = d->index[slot_of(d, src)];
    return i ? &d->v[i - 1] : NULL;
}

const ledger_entry *ledger_thumb_at(const ledger_dir *d, const char *out)
{
    if (!d || !d->n)
        return NULL;
    size_t i = d->out_index[out_slot_of(d, out)];
    return i ? &d->v[i - 1] : NULL;
}

bool ledger_same_source(const ledger_entry *e, int64_t size, const struct timespec *mtime)
{
    return e->size == size && e->mtime.tv_sec == mtime->tv_sec && e->mtime.tv_nsec == mtime->tv_nsec;
}

/* ---- writing ---------------------------------------------------------------- */

/* Opens rel_dir's ledger for appending, shared-locked, checked to be the
 * file at its name (not one a rewrite just replaced) and to carry rel_dir's
 * header (written first if the file is new). -1 with err on failure. */
static int open_append(const ledger *l, const char *rel_dir, char *err)
{
    if (l->dir_fd < 0)
        return td_fail(err, TD_EIO, "no ledger directory %s", LEDGER_DIR), -1;
    char name[20];
    file_name(rel_dir, name);
    /* A rewrite between the open and the lock replaces the file: open the
     * new one. Each rewrite is short, so this ends; the bound is a guard. */
    for (int tries = 0; tries < 10000; tries++) {
        int fd = openat(l->dir_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            break;
        struct stat a, b;
        if (flock(fd, LOCK_SH) == 0 && fstat(fd, &a) == 0 &&
            fstatat(l->dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            if (a.st_size > MAX_FILE) {
                close(fd);
                return td_fail(err, TD_EIO, "ledger %s/%s is too large", LEDGER_DIR, name), -1;
            }
            if (a.st_size > 0)
                return fd; /* the header is there: a file is never left empty */
            char *h = malloc(sizeof HEADER + 3 * strlen(rel_dir) + 2);
            char *e = h ? escape(stpcpy(h, HEADER), rel_dir) : NULL;
            bool ok = e && (e[0] = '/', e[1] = '\n', write(fd, h, (size_t)(e + 2 - h)) == e + 2 - h);
            free(h);
            if (ok)
                return fd;
        }
        close(fd);
    }
    return td_fail(err, TD_EIO, "cannot append to the ledger %s/%s: %s", LEDGER_DIR, name,
                   errno ? strerror(errno) : "it was replaced at every try"), -1;
}

static td_status append(const ledger *l, const char *rel_dir, const char *line, size_t len, char *err)
{
    int fd = open_append(l, rel_dir, err);
    if (fd < 0)
        return TD_EIO;
    ssize_t w = write(fd, line, len);
    int e = errno;
    close(fd);
    if (w == (ssize_t)len)
        return TD_OK;
    return td_fail(err, TD_EIO, "cannot append to the ledger: %s", w < 0 ? strerror(e) : "short write");
}

/* rel split at its last '/': the directory into dir (malloc'd), the name
 * returned (into rel). */
static const char *split_rel(const char *rel, char **dir)
{
    const char *slash = strrchr(rel, '/');
    *dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
    return slash ? slash + 1 : rel;
}

/* Formats a T or F record; *line malloc'd. */
static int format_record(char **line, char kind, uint64_t fp, int64_t size, const struct timespec *mt,
                         uint64_t ino, const char *src, const char *out)
{
    char *s = malloc(3 * strlen(src) + 1), *o = malloc(3 * strlen(out) + 1);
    int n = -1;
    if (s && o) {
        escape(s, src);
        escape(o, out);
        if (kind == 'T')
            n = asprintf(line, "T %016" PRIx64 " %" PRId64 " %lld %ld %" PRIu64 " %s %s\n", fp, size,
                         (long long)mt->tv_sec, mt->tv_nsec, ino, s, o);
        else
            n = asprintf(line, "F %016" PRIx64 " %" PRId64 " %lld %ld %s %s\n", fp, size,
                         (long long)mt->tv_sec, mt->tv_nsec, s, o);
    }
    free(s);
    free(o);
    return n;
}

static td_status note(const ledger *l, char kind, const char *src_rel, const char *out_rel, uint64_t fp,
                      int64_t size, const struct timespec *mtime, uint64_t ino, char *err)
{
    char *dir;
    const char *name = split_rel(src_rel, &dir);
    if (!dir)
        return td_fail(err, TD_ENOMEM, "out of memory");
    size_t dl = strlen(dir);
    const char *out = out_rel;
    if (kind == 'T') { /* the thumbnail's path from the source's directory */
        if (dl && (strncmp(out_rel, dir, dl) || out_rel[dl] != '/')) {
            free(dir);
            return td_fail(err, TD_EIO, "thumbnail '%s' is outside its source's directory", out_rel);
        }
        out = out_rel + (dl ? dl + 1 : 0);
    }
    char *line = NULL;
    int n = format_record(&line, kind, fp, size, mtime, ino, name, out && *out ? out : "?");
    td_status st = n < 0 ? td_fail(err, TD_ENOMEM, "out of memory")
                         : append(l, dir, line, (size_t)n, err);
    free(line);
    free(dir);
    return st;
}

td_status ledger_note_thumb(const ledger *l, const char *src_rel, const char *out_rel, uint64_t fp,
                            int64_t size, const struct timespec *mtime, uint64_t ino,
                            char err[TD_ERRLEN])
{
    return note(l, 'T', src_rel, out_rel, fp, size, mtime, ino, err);
}

td_status ledger_note_failure(const ledger *l, const char *src_rel, uint64_t fp, int64_t size,
                              const struct timespec *mtime, const char *reason, char err[TD_ERRLEN])
{
    return note(l, 'F', src_rel, reason, fp, size, mtime, 0, err);
}

td_status ledger_note_mkdir(const ledger *l, const char *rel_dir, char err[TD_ERRLEN])
{
    char *dir;
    const char *name = split_rel(rel_dir, &dir);
    char *line = dir ? malloc(3 * strlen(name) + 4) : NULL;
    td_status st = td_fail(err, TD_ENOMEM, "out of memory");
    if (line) {
        char *e = escape(stpcpy(line, "D "), name);
        *e++ = '\n';
        st = append(l, dir, line, (size_t)(e - line), err);
    }
    free(line);
    free(dir);
    return st;
}

/* A set of strings (not owned), open addressing; cap a power of two. */
typedef struct strset {
    const char **v;
    size_t cap;
} strset;

/* Adds s; false if it was there already. */
static bool strset_add(strset *set, const char *s)
{
    size_t i = (size_t)hash_str(s) & (set->cap - 1);
    while (set->v[i]) {
        if (!strcmp(set->v[i], s))
            return false;
        i = (i + 1) & (set->cap - 1);
    }
    set->v[i] = s;
    return true;
}

size_t ledger_live(const ledger_dir *d, bool *keep)
{
    /* Backwards, so that the last record of each thumbnail path (T) and of
     * each subdirectory (D) is the one met first. */
    strset outs = {.cap = d->index_cap}, dirs = {.cap = d->index_cap};
    outs.v = calloc(outs.cap, sizeof *outs.v);
    dirs.v = calloc(dirs.cap, sizeof *dirs.v);
    size_t n = 0;
    for (size_t i = d->n; i-- > 0;) {
        const ledger_entry *e = &d->v[i];
        bool k = true; /* out of memory: keep everything */
        if (e->kind == 'F')
            k = ledger_latest(d, e->src) == e;
        else if (outs.v && dirs.v)
            k = strset_add(e->kind == 'T' ? &outs : &dirs, e->kind == 'T' ? e->out : e->src);
        keep[i] = k;
        n += k;
    }
    free(outs.v);
    free(dirs.v);
    return n;
}

/* Writes the kept records of d to f after rel_dir's header. */
static bool write_records(FILE *f, const char *rel_dir, const ledger_dir *d, const bool *keep)
{
    char *esc = malloc(3 * strlen(rel_dir) + 1);
    if (!esc)
        return false;
    escape(esc, rel_dir);
    fprintf(f, "%s%s/\n", HEADER, esc);
    free(esc);
    for (size_t i = 0; i < d->n; i++) {
        const ledger_entry *e = &d->v[i];
        if (!keep[i])
            continue;
        char *line = NULL, *name = NULL;
        int n = -1;
        if (e->kind == 'D' && (name = malloc(3 * strlen(e->src) + 1)) != NULL) {
            escape(name, e->src);
            n = asprintf(&line, "D %s\n", name);
        } else if (e->kind != 'D') {
            n = format_record(&line, e->kind, e->fp, e->size, &e->mtime, e->ino, e->src, e->out);
        }
        if (n > 0)
            fwrite(line, 1, (size_t)n, f);
        free(line);
        free(name);
        if (n < 0)
            return false;
    }
    return !ferror(f);
}

td_status ledger_rewrite(const ledger *l, const char *rel_dir, const ledger_dir *d, const bool *keep,
                         char err[TD_ERRLEN])
{
    if (l->dir_fd < 0)
        return td_fail(err, TD_EIO, "no ledger directory %s", LEDGER_DIR);
    char name[20];
    file_name(rel_dir, name);
    bool *own = NULL;
    if (!keep && (own = malloc((d->n ? d->n : 1) * sizeof *own)) == NULL)
        return td_fail(err, TD_ENOMEM, "out of memory");
    if (own)
        ledger_live(d, own);
    keep = own ? own : keep;
    /* Held while the file is replaced: appenders wait, then find it replaced
     * and open the new one. Records appended since d was loaded would be
     * lost: then nothing is rewritten. */
    int fd = openat(l->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ledger_dir *now = fd >= 0 && flock(fd, LOCK_EX) == 0 ? ledger_load(l, rel_dir) : NULL;
    td_status st = TD_OK;
    size_t kept = 0;
    for (size_t i = 0; i < d->n; i++)
        kept += keep[i];
    if (!now || now->n != d->n) {
        st = td_fail(err, TD_EIO, "ledger %s/%s changed while it was rewritten", LEDGER_DIR, name);
    } else if (!kept) {
        if (unlinkat(l->dir_fd, name, 0) != 0)
            st = td_fail(err, TD_EIO, "cannot remove %s/%s: %s", LEDGER_DIR, name, strerror(errno));
    } else {
        fs_atomic a;
        st = fs_atomic_begin_flags(&a, l->dir_fd, name, FS_ATOMIC_NAMED, err);
        if (st == TD_OK && !write_records(a.f, rel_dir, d, keep)) {
            fs_atomic_abort(&a);
            st = td_fail(err, TD_EIO, "cannot rewrite %s/%s", LEDGER_DIR, name);
        } else if (st == TD_OK) {
            st = fs_atomic_commit(&a, NULL, err);
        }
    }
    ledger_dir_free(now);
    if (fd >= 0)
        close(fd);
    free(own);
    return st;
}

void ledger_remove(const ledger *l, const char *rel_dir)
{
    char name[20];
    file_name(rel_dir, name);
    if (l->dir_fd >= 0)
        unlinkat(l->dir_fd, name, 0);
}
