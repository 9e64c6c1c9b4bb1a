#include "thumbd/listread.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CHUNK = 64 * 1024, POLL_MS = 100 };

/* Entries in arrival order. */
typedef struct fifo {
    char **v;
    size_t head, len, cap;
} fifo;

struct listread {
    int fd;
    bool nul;
    bool whole;                /* a regular file: read to its end first */
    size_t window;
    char *buf;                 /* bytes read and not yet split: a partial entry */
    size_t len, cap;
    fifo urgent, normal;
    char *cur;                 /* the entry last given out */
    bool eof;
    int err;
};

static bool fifo_push(fifo *f, char *s)
{
    if (f->len == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char **v = malloc(cap * sizeof *v);
        if (!v)
            return false;
        for (size_t i = 0; i < f->len; i++)
            v[i] = f->v[(f->head + i) % f->cap];
        free(f->v);
        f->v = v;
        f->cap = cap;
        f->head = 0;
    }
    f->v[(f->head + f->len) % f->cap] = s;
    f->len++;
    return true;
}

static char *fifo_pop(fifo *f)
{
    if (!f->len)
        return NULL;
    char *s = f->v[f->head];
    f->head = (f->head + 1) % f->cap;
    f->len--;
    return s;
}

static void fifo_free(fifo *f)
{
    char *s;
    while ((s = fifo_pop(f)) != NULL)
        free(s);
    free(f->v);
}

listread *listread_open(int fd, bool nul, size_t window)
{
    listread *lr = calloc(1, sizeof *lr);
    if (!lr)
        return NULL;
    struct stat sb;
    lr->fd = fd;
    lr->nul = nul;
    lr->whole = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    lr->window = window ? window : 1;
    return lr;
}

/* Files the entry s[0, n) (not terminated) as urgent or not. */
static void add_entry(listread *lr, const char *s, size_t n)
{
    if (!lr->nul)
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\0'))
            n--;
    if (n == 0)
        return;
    char *e = strndup(s, n);
    if (!e || !fifo_push(e[0] == '!' ? &lr->urgent : &lr->normal, e)) {
        free(e);
        lr->err = ENOMEM;
    }
}

/* Splits the complete entries off the front of buf. */
static void split(listread *lr)
{
    char term = lr->nul ? '\0' : '\n';
    size_t start = 0;
    for (char *p; lr->err == 0 && (p = memchr(lr->buf + start, term, lr->len - start)) != NULL;) {
        size_t end = (size_t)(p - lr->buf);
        add_entry(lr, lr->buf + start, end - start);
        start = end + 1;
    }
    memmove(lr->buf, lr->buf + start, lr->len - start);
    lr->len -= start;
}

/* Reads what has arrived (a regular file: all of it), up to the window. */
static void take_available(listread *lr)
{
    while (!lr->eof && !lr->err && (lr->whole || lr->urgent.len + lr->normal.len < lr->window)) {
        if (!lr->whole) {
            struct pollfd p = {.fd = lr->fd, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                return; /* nothing there now */
        }
        if (lr->cap - lr->len < CHUNK) {
            char *b = realloc(lr->buf, lr->cap + CHUNK);
            if (!b) {
                lr->err = ENOMEM;
                return;
            }
            lr->buf = b;
            lr->cap += CHUNK;
        }
        ssize_t n = read(lr->fd, lr->buf + lr->len, CHUNK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            lr->err = errno;
            return;
        }
        if (n == 0) {
            lr->eof = true;
            add_entry(lr, lr->buf, lr->len); /* a last entry without its terminator */
            lr->len = 0;
            return;
        }
        lr->len += (size_t)n;
        split(lr);
    }
}

const char *listread_next(listread *lr, bool (*stop)(void *ctx), void *ctx)
{
    free(lr->cur);
    lr->cur = NULL;
    for (;;) {
        take_available(lr);
        char *e = fifo_pop(&lr->urgent);
        if (!e)
            e = fifo_pop(&lr->normal);
        if (e)
            return lr->cur = e;
        if (lr->eof || lr->err || (stop && stop(ctx)))
            return NULL;
        struct pollfd p = {.fd = lr->fd, .events = POLLIN};
        poll(&p, 1, POLL_MS);
    }
}

int listread_error(const listread *lr)
{
    return lr->err;
}

void listread_close(listread *lr)
{
    if (!lr)
        return;
    fifo_free(&lr->urgent);
    fifo_free(&lr->normal);
    free(lr->cur);
    free(lr->buf);
    free(lr);
}
