/* The order in which found images are processed (--order), and the compact
 * listing that orders other than the scan's own need: every image must be
 * known before the first one starts. */
#ifndef THUMBD_ORDER_H
#define THUMBD_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thumbd/task.h"

typedef enum order_kind {
    ORDER_PATH = 0,            /* as found: the walk's path order, or the list's order */
    ORDER_NEWEST,              /* latest mtime first */
    ORDER_OLDEST,
    ORDER_LARGEST,             /* most bytes first */
    ORDER_SMALLEST,
} order_kind;

/* "path", "newest", ... -> kind; false for anything else. */
bool order_parse(const char *s, order_kind *out);
const char *order_name(order_kind k);

/* One listed image: 32 bytes, plus its path in the list's arena. */
typedef struct order_entry {
    const char *rel;           /* in the arena */
    int64_t size;
    int64_t mtime_ns;          /* nanoseconds since the epoch */
    uint64_t id_urgent;        /* id << 1 | urgent */
} order_entry;

/* The comparator of kind: urgent entries first, then the kind's key, then
 * the scan id (so equal keys keep path order). <0, 0, >0 as for qsort. */
int order_compare(order_kind k, const order_entry *a, const order_entry *b);

typedef struct order_list order_list;

order_list *order_list_new(void);
void order_list_free(order_list *l);

/* Records t (its rel, size, mtime, id and urgent flag are copied; t stays
 * the caller's). false when out of memory. */
bool order_list_add(order_list *l, const thumbd_task *t);

/* Sorts the entries by order_compare(k). */
void order_list_sort(order_list *l, order_kind k);

size_t order_list_len(const order_list *l);
const order_entry *order_list_at(const order_list *l, size_t i);

/* A new task for entry i (as task_new), or NULL when out of memory. */
thumbd_task *order_list_task(const order_list *l, size_t i);

/* Bytes the list holds: entries array (capacity) plus arena blocks. */
size_t order_list_bytes(const order_list *l);

#endif
