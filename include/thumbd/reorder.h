/* The reorder window of --ordered: finished items held by id until every
 * lower id has been taken, in a bounded window. Producers of ids (the
 * scanner) wait for their id to fit in the window (backpressure); the one
 * consumer (the results writer) puts items in and takes them out in id
 * order. Ids start at 1 and every id from 1 on is expected once: put as an
 * item, or as REORDER_PASS (settled without a record). */
#ifndef THUMBD_REORDER_H
#define THUMBD_REORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct reorder reorder;

/* Put for an id that has nothing to take: the id is passed over. */
extern void *const REORDER_PASS;

/* A window of `window` (>= 1) ids, or NULL when out of memory. */
reorder *reorder_new(size_t window);

/* Frees the window; items still held are not touched. */
void reorder_free(reorder *ro);

/* Blocks until id < the next id to take + window, or until *stop (may be
 * NULL) is set. Thread-safe. Cannot deadlock as long as every id below id
 * was put or will be put without waiting for this caller. */
void reorder_wait(reorder *ro, uint64_t id, const atomic_bool *stop);

/* Holds item (not NULL) for id. Returns false when the caller must handle
 * item at once: id was taken or passed already, or no memory to hold it.
 * An id beyond the window is held too (the window grows). Thread-safe. */
bool reorder_put(reorder *ro, uint64_t id, void *item);

/* Takes the item of the next id, if it was put (REORDER_PASS included),
 * and moves on to the id after it; NULL when it was not. With `any`, gaps
 * are skipped: the held item of the lowest id, NULL when none is held (for
 * the end of a run, so nothing stays in the window). Thread-safe. */
void *reorder_take(reorder *ro, bool any);

#endif
