/* A memory budget shared by the workers: a task reserves what its decoder
 * will hold before it allocates, and waits while others hold the budget.
 * Progressive JPEGs hold every coefficient of the image (libjpeg has no way
 * around it), so without this two large ones at once would double peak RSS. */
#ifndef THUMBD_MEMGATE_H
#define THUMBD_MEMGATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "thumbd/cancel.h"
#include "thumbd/status.h"

typedef struct memgate memgate;

/* The slack over --max-memory that one image may reserve: what an image's
 * estimate may leave out (a decoder's small tables, libvips's line buffers,
 * the encoder's). An image whose reservation exceeds --max-memory plus this
 * is refused before its decoder allocates (memgate_within_bound); docs/memory.md
 * gives the bound on the process tree that follows. */
#define MEMGATE_SLACK ((size_t)8 << 20)

/* The memory bound: one image may reserve up to max_memory (--max-memory)
 * plus MEMGATE_SLACK (it then runs alone); one that needs more is refused
 * before its decoder allocates: TD_ELIMIT, err naming what it would need
 * and the --max-memory that would admit it. max_memory 0: no bound. */
td_status memgate_within_bound(uint64_t max_memory, size_t bytes, char err[TD_ERRLEN]);

/* A gate of `budget` bytes (0 = unlimited: acquire never waits). */
memgate *memgate_create(size_t budget);
void memgate_destroy(memgate *g);

/* A NULL gate is an unlimited one: acquire and release do nothing. */

/* A gate kept elsewhere (another process's: isolation.h): acquire and
 * release forward to these, with ctx; in_use is 0. */
typedef struct memgate_remote {
    td_status (*acquire)(void *ctx, size_t bytes, bool may_defer, char err[TD_ERRLEN]);
    void (*release)(void *ctx, size_t bytes);
    void *ctx;
} memgate_remote;
memgate *memgate_create_remote(const memgate_remote *r);

/* Reserves bytes, waiting while the reservation would exceed the budget and
 * others hold some of it (a single reservation larger than the budget is
 * granted when the gate is empty, so no task waits forever). Polls tok while
 * waiting: returns TD_ECANCEL (nothing reserved) if it trips. With
 * may_defer, returns TD_EBUSY (nothing reserved) at once instead of
 * waiting: the caller has better things for its thread to do. */
td_status memgate_acquire(memgate *g, size_t bytes, bool may_defer, cancel_token *tok,
                          char err[TD_ERRLEN]);

/* An image's reservation: refused by memgate_within_bound(max_memory), else
 * memgate_acquire. */
td_status memgate_acquire_bounded(memgate *g, uint64_t max_memory, size_t bytes, bool may_defer,
                                  cancel_token *tok, char err[TD_ERRLEN]);

/* Returns a reservation. */
void memgate_release(memgate *g, size_t bytes);

/* Bytes reserved now. */
size_t memgate_in_use(memgate *g);

#endif
