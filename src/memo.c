#include "thumbd/memo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "thumbd/hash.h"

/* The file, little-endian: magic, options hash, the twin's device, inode,
 * ctime (s, ns), shard and directory (u32 length + bytes each), u32 count,
 * count entries (u8 name length, name, u8 format (outname_code), i64 mtime s, u32 mtime
 * ns, i64 size) in strcmp order of their names, and an FNV-1a hash of all that. */
static const char MAGIC[8] = {'T', 'H', 'D', 'M', 'E', 'M', 'O', '2'};
enum { MAX_FILE = 256 << 20 };

typedef struct mentry {
    const char *name;          /* into the file's bytes, not terminated */
    size_t len;
    char fmt;
    int64_t sec;
    uint32_t nsec;
    int64_t size;
} mentry;

/* A name found up to date by a stat; the name is in the arena at off. */
typedef struct note {
    size_t off, len;
    char fmt;
    int64_t sec;
    uint32_t nsec;
    int64_t size;
} note;

struct memo_dir {
    const memo_run *run;
    char *rel;
    struct stat twin;          /* the twin as memo_begin saw it */
    bool valid;                /* the memo read back vouches for its entries */
    bool racy;                 /* the twin changed too recently to write a memo */
    unsigned char *file;
    mentry *e;
    size_t n;
    pthread_mutex_t mu;        /* guards the notes */
    note *notes;
    size_t nnotes, notes_cap;
    char *arena;
    size_t arena_len, arena_cap;
    bool oom;                  /* a note was lost: write nothing */
};

void memo_run_init(memo_run *r, int out_fd, const char *fingerprint, int shard_index,
                   int shard_count, const struct timespec *start)
{
    memset(r, 0, sizeof *r);
    r->out_fd = out_fd;
    r->options = hash_fnv1a(HASH_FNV0, fingerprint, strlen(fingerprint));
    if (shard_count > 1)
        snprintf(r->shard, sizeof r->shard, "%d/%d", shard_index, shard_count);
    r->start = *start;
    /* Made now, not at the first memo's writing, which would change
     * OUT_DIR's ctime and void the top directory's memo once more. */
    mkdirat(out_fd, MEMO_DIR, 0755);
    r->dir_fd = openat(out_fd, MEMO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void memo_run_end(memo_run *r)
{
    if (r->dir_fd >= 0)
        close(r->dir_fd);
    r->dir_fd = -1;
}

/* The name of rel_dir's memo file in MEMO_DIR. */
static void memo_name(const memo_run *r, const char *rel_dir, char *buf, size_t len)
{
    uint64_t h = hash_fnv1a(HASH_FNV0, r->shard, strlen(r->shard) + 1);
    h = hash_fnv1a(h, rel_dir, strlen(rel_dir));
    snprintf(buf, len, "%016llx", (unsigned long long)h);
}

/* ---- encoding -------------------------------------------------------------- */

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
} reader;

static uint64_t get(reader *r, int bytes)
{
    if (r->bad || r->end - r->p < bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    return v;
}

static const char *get_bytes(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p += n;
    return s;
}

static bool get_string_is(reader *r, const char *want)
{
    size_t n = (size_t)get(r, 4);
    const char *s = get_bytes(r, n);
    return s && n == strlen(want) && !memcmp(s, want, n);
}

typedef struct writer {
    unsigned char *b;
    size_t len, cap;
    bool bad;                  /* out of memory, or nothing worth writing */
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (w->bad)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *b = realloc(w->b, cap);
        if (!b) {
            w->bad = true;
            return;
        }
        w->b = b;
        w->cap = cap;
    }
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void put(writer *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, (size_t)bytes);
}

static void put_string(writer *w, const char *s)
{
    put(w, strlen(s), 4);
    put_bytes(w, s, strlen(s));
}

/* ---- reading --------------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static unsigned char *read_all(int dfd, const char *path, size_t *len)
{
    int fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    unsigned char *buf = NULL;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && sb.st_size <= MAX_FILE &&
        (buf = malloc((size_t)sb.st_size)) != NULL) {
        size_t got = 0, want = (size_t)sb.st_size;
        ssize_t k;
        while (got < want && (k = read(fd, buf + got, want - got)) > 0)
            got += (size_t)k;
        if (got != want) {
            free(buf);
            buf = NULL;
        }
        *len = want;
    }
    close(fd);
    return buf;
}

/* Whether file (len bytes) starts with the magic and ends with the
 * checksum of the rest. */
static bool sound(const unsigned char *file, size_t len)
{
    if (!file || len < sizeof MAGIC + 8 || memcmp(file, MAGIC, sizeof MAGIC))
        return false;
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)file[len - 8 + (size_t)i] << (8 * i);
    return sum == hash_fnv1a(HASH_FNV0, file, len - 8);
}

/* Parses m->file (len bytes): true if it is this directory's memo, for
 * this run's options and shard and this very twin, sound and sorted. */
static bool parse(memo_dir *m, size_t len)
{
    if (!sound(m->file, len))
        return false;
    reader r = {m->file + sizeof MAGIC, m->file + len - 8, false};
    const struct stat *t = &m->twin;
    if (get(&r, 8) != m->run->options || get(&r, 8) != (uint64_t)t->st_dev ||
        get(&r, 8) != (uint64_t)t->st_ino || (int64_t)get(&r, 8) != (int64_t)t->st_ctim.tv_sec ||
        get(&r, 4) != (uint64_t)t->st_ctim.tv_nsec || !get_string_is(&r, m->run->shard) ||
        !get_string_is(&r, m->rel))
        return false;
    size_t n = (size_t)get(&r, 4);
    if (r.bad || n > (size_t)(r.end - r.p) / 14)  /* an entry takes at least 14 bytes */
        return false;
    m->e = malloc((n ? n : 1) * sizeof *m->e);
    if (!m->e)
        return false;
    for (size_t i = 0; i < n && !r.bad; i++) {
        mentry *e = &m->e[i];
        e->len = (size_t)get(&r, 1);
        e->name = get_bytes(&r, e->len);
        e->fmt = (char)get(&r, 1);
        e->sec = (int64_t)get(&r, 8);
        e->nsec = (uint32_t)get(&r, 4);
        e->size = (int64_t)get(&r, 8);
        if (!r.bad && (e->len == 0 || !e->fmt || memchr(e->name, '\0', e->len) ||
                       (i && name_cmp(e[-1].name, e[-1].len, e->name, e->len) >= 0)))
            r.bad = true;
    }
    if (r.bad || r.p != r.end) {
        free(m->e);
        m->e = NULL;
        return false;
    }
    m->n = n;
    return true;
}

static bool is_racy(const struct timespec *ctime, const struct timespec *start)
{
    time_t edge = start->tv_sec - MEMO_RACY_S;
    return ctime->tv_sec > edge || (ctime->tv_sec == edge && ctime->tv_nsec >= start->tv_nsec);
}

memo_dir *memo_begin(const memo_run *r, const char *rel_dir, int twin_fd)
{
    memo_dir *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->run = r;
    m->rel = strdup(rel_dir);
    if (!m->rel || fstat(twin_fd, &m->twin) != 0 || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->rel);
        free(m);
        return NULL;
    }
    m->racy = is_racy(&m->twin.st_ctim, &r->start);
    char name[32];
    memo_name(r, rel_dir, name, sizeof name);
    size_t len = 0;
    m->file = r->dir_fd >= 0 ? read_all(r->dir_fd, name, &len) : NULL;
    m->valid = m->file && parse(m, len);
    return m;
}

bool memo_lookup(const memo_dir *m, const char *name, const struct timespec *mtime, int64_t size,
                 out_kind *kind)
{
    if (!m || !m->valid)
        return false;
    size_t len = strlen(name), lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const mentry *e = &m->e[mid];
        int c = name_cmp(e->name, e->len, name, len);
        if (c == 0)
            return e->sec == (int64_t)mtime->tv_sec && e->nsec == (uint32_t)mtime->tv_nsec &&
                   e->size == size && outname_from_code(e->fmt, kind);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---- writing --------------------------------------------------------------- */

void memo_note(memo_dir *m, const char *name, const struct timespec *mtime, int64_t size, out_kind kind)
{
    size_t len = strlen(name);
    char fmt = outname_code(kind); /* what the file stores */
    if (!m || m->valid || m->racy || len == 0 || len > 255)
        return;
    pthread_mutex_lock(&m->mu);
    if (m->nnotes == m->notes_cap) {
        size_t cap = m->notes_cap ? m->notes_cap * 2 : 64;
        note *v = realloc(m->notes, cap * sizeof *v);
        if (v) {
            m->notes = v;
            m->notes_cap = cap;
        }
    }
    if (m->arena_len + len > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap * 2 : 4096;
        while (cap < m->arena_len + len)
            cap *= 2;
        char *a = realloc(m->arena, cap);
        if (a) {
            m->arena = a;
            m->arena_cap = cap;
        }
    }
    if (m->nnotes < m->notes_cap && m->arena_len + len <= m->arena_cap) {
        memcpy(m->arena + m->arena_len, name, len);
        m->notes[m->nnotes++] = (note){.off = m->arena_len, .len = len, .fmt = fmt,
                                       .sec = mtime->tv_sec, .nsec = (uint32_t)mtime->tv_nsec,
                                       .size = size};
        m->arena_len += len;
    } else {
        m->oom = true;
    }
    pthread_mutex_unlock(&m->mu);
}

static int entry_cmp(const void *a, const void *b)
{
    const mentry *x = a, *y = b;
    return name_cmp(x->name, x->len, y->name, y->len);
}

static void encode(const memo_dir *m, const mentry *v, writer *w)
{
    const struct stat *t = &m->twin;
    put_bytes(w, MAGIC, sizeof MAGIC);
    put(w, m->run->options, 8);
    put(w, (uint64_t)t->st_dev, 8);
    put(w, (uint64_t)t->st_ino, 8);
    put(w, (uint64_t)t->st_ctim.tv_sec, 8);
    put(w, (uint64_t)t->st_ctim.tv_nsec, 4);
    put_string(w, m->run->shard);
    put_string(w, m->rel);
    put(w, m->nnotes, 4);
    for (size_t i = 0; i < m->nnotes; i++) {
        const mentry *e = &v[i];
        put(w, e->len, 1);
        put_bytes(w, e->name, e->len);
        put(w, (unsigned char)e->fmt, 1);
        put(w, (uint64_t)e->sec, 8);
        put(w, e->nsec, 4);
        put(w, (uint64_t)e->size, 8);
    }
    put(w, w->bad ? 0 : hash_fnv1a(HASH_FNV0, w->b, w->len), 8);
}

/* Writes the notes as the directory's memo, atomically; on any failure
 * there is simply no new memo. */
static void write_notes(memo_dir *m)
{
    mentry *v = malloc(m->nnotes * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < m->nnotes; i++) {
        const note *o = &m->notes[i];
        v[i] = (mentry){m->arena + o->off, o->len, o->fmt, o->sec, o->nsec, o->size};
    }
    qsort(v, m->nnotes, sizeof *v, entry_cmp);
    writer w = {0};
    for (size_t i = 1; i < m->nnotes; i++)
        w.bad |= !entry_cmp(&v[i - 1], &v[i]); /* a name noted twice: write nothing */
    encode(m, v, &w);
    free(v);
    char name[32], path[64], err[TD_ERRLEN];
    memo_name(m->run, m->rel, name, sizeof name);
    snprintf(path, sizeof path, MEMO_DIR "/%s", name); /* fs_atomic: no symlinks followed */
    fs_atomic a;
    if (!w.bad && fs_atomic_begin(&a, m->run->out_fd, path, err) == TD_OK) {
        if (fwrite(w.b, 1, w.len, a.f) == w.len)
            fs_atomic_commit(&a, NULL, err);
        fs_atomic_abort(&a);
    }
    free(w.b);
}

void memo_end(memo_dir *m, bool complete)
{
    if (!m)
        return;
    if (complete && !m->valid && !m->racy && !m->oom && m->nnotes)
        write_notes(m);
    pthread_mutex_destroy(&m->mu);
    free(m->notes);
    free(m->arena);
    free(m->e);
    free(m->file);
    free(m->rel);
    free(m);
}

/* Whether the memo file (len bytes) is sound and names a directory whose
 * twin in OUT_DIR is still the one it was written for. */
static bool still_has_twin(int out_fd, const unsigned char *file, size_t len)
{
    if (!sound(file, len))
        return false;
    reader r = {file + sizeof MAGIC, file + len - 8, false};
    get(&r, 8); /* options */
    uint64_t dev = get(&r, 8), ino = get(&r, 8);
    get(&r, 8); /* ctime */
    get(&r, 4);
    get_bytes(&r, (size_t)get(&r, 4)); /* shard */
    size_t n = (size_t)get(&r, 4);
    const char *rel = get_bytes(&r, n);
    char path[PATH_MAX];
    if (r.bad || n >= sizeof path || memchr(rel, '\0', n))
        return false;
    memcpy(path, rel, n);
    path[n] = '\0';
    struct stat sb;
    return fstatat(out_fd, n ? path : ".", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) &&
           (uint64_t)sb.st_dev == dev && (uint64_t)sb.st_ino == ino;
}

size_t memo_prune(const memo_run *r)
{
    DIR *d = r->dir_fd >= 0 ? fs_opendir_at(r->dir_fd) : NULL;
    size_t removed = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", and temporary files of a memo being written */
        size_t len = 0;
        unsigned char *file = read_all(r->dir_fd, de->d_name, &len);
        if (!still_has_twin(r->out_fd, file, len) && unlinkat(r->dir_fd, de->d_name, 0) == 0)
            removed++;
        free(file);
    }
    if (d)
        closedir(d);
    return removed;
}

void memo_forget(int out_fd)
{
    int fd = openat(out_fd, MEMO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fs_opendir_at(fd);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || !strncmp(de->d_name, FS_TEMP_PREFIX, sizeof FS_TEMP_PREFIX - 1))
            unlinkat(fd, de->d_name, 0);
    if (d)
        closedir(d);
    close(fd);
}
