#include "thumbd/order.h"

#include <stdlib.h>
#include <string.h>

/* Paths are packed into blocks that never move, so entries can point into
 * them: one allocation per MiB of paths instead of one per path (malloc's
 * 16-byte header and rounding would double the cost of short paths). */
enum { BLOCK_BYTES = 1 << 20 };

typedef struct block {
    struct block *next;
    size_t used, cap;
    char data[];
} block;

struct order_list {
    order_entry *v;
    size_t n, cap;
    block *blocks;             /* newest first */
    size_t block_bytes;
};

static const char *const names[] = {"path", "newest", "oldest", "largest", "smallest"};

bool order_parse(const char *s, order_kind *out)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i])) {
            *out = (order_kind)i;
            return true;
        }
    return false;
}

const char *order_name(order_kind k)
{
    return (size_t)k < sizeof names / sizeof *names ? names[k] : "?";
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

int order_compare(order_kind k, const order_entry *a, const order_entry *b)
{
    int ua = (int)(a->id_urgent & 1), ub = (int)(b->id_urgent & 1);
    if (ua != ub)
        return ub - ua;
    int c = 0;
    switch (k) {
    case ORDER_PATH: break;
    case ORDER_NEWEST: c = cmp_i64(b->mtime_ns, a->mtime_ns); break;
    case ORDER_OLDEST: c = cmp_i64(a->mtime_ns, b->mtime_ns); break;
    case ORDER_LARGEST: c = cmp_i64(b->size, a->size); break;
    case ORDER_SMALLEST: c = cmp_i64(a->size, b->size); break;
    }
    if (c)
        return c;
    return (a->id_urgent > b->id_urgent) - (a->id_urgent < b->id_urgent);
}

order_list *order_list_new(void)
{
    return calloc(1, sizeof(order_list));
}

void order_list_free(order_list *l)
{
    if (!l)
        return;
    for (block *b = l->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(l->v);
    free(l);
}

/* A copy of s in the arena, or NULL. */
static const char *arena_copy(order_list *l, const char *s)
{
    size_t n = strlen(s) + 1;
    block *b = l->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = l->blocks;
        b->used = 0;
        b->cap = cap;
        l->blocks = b;
        l->block_bytes += sizeof *b + cap;
    }
    char *d = b->data + b->used;
    memcpy(d, s, n);
    b->used += n;
    return d;
}

bool order_list_add(order_list *l, const thumbd_task *t)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap + l->cap / 2 : 1024;
        order_entry *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = cap;
    }
    const char *rel = arena_copy(l, t->rel);
    if (!rel)
        return false;
    l->v[l->n++] = (order_entry){
        .rel = rel,
        .size = t->size,
        .mtime_ns = (int64_t)t->mtime.tv_sec * 1000000000 + t->mtime.tv_nsec,
        .id_urgent = t->id << 1 | (t->urgent ? 1u : 0u),
    };
    return true;
}

static int cmp_r(const void *a, const void *b, void *k)
{
    return order_compare(*(const order_kind *)k, a, b);
}

void order_list_sort(order_list *l, order_kind k)
{
    if (l->n > 1)
        qsort_r(l->v, l->n, sizeof *l->v, cmp_r, &k);
}

size_t order_list_len(const order_list *l)
{
    return l->n;
}

const order_entry *order_list_at(const order_list *l, size_t i)
{
    return &l->v[i];
}

thumbd_task *order_list_task(const order_list *l, size_t i)
{
    const order_entry *e = &l->v[i];
    struct timespec mt = {(time_t)(e->mtime_ns / 1000000000), (long)(e->mtime_ns % 1000000000)};
    if (e->mtime_ns < 0 && mt.tv_nsec < 0) { /* before 1970: keep tv_nsec in range */
        mt.tv_sec--;
        mt.tv_nsec += 1000000000;
    }
    thumbd_task *t = task_new(e->id_urgent >> 1, e->rel, e->size, mt);
    if (t)
        t->urgent = e->id_urgent & 1;
    return t;
}

size_t order_list_bytes(const order_list *l)
{
    return sizeof *l + l->cap * sizeof *l->v + l->block_bytes;
}
