/* Bounded pool of worker threads with per-task cancellation and a
 * shutdown that gives running tasks a timeout before cancelling them. */
#ifndef THUMBD_POOL_H
#define THUMBD_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "thumbd/cancel.h"

typedef struct pool pool;

typedef enum pool_outcome {
    POOL_RAN,          /* run() returned */
    POOL_NOT_STARTED,  /* the pool stopped before the task started */
    POOL_ABANDONED,    /* run() did not return in time after cancellation */
} pool_outcome;

typedef struct pool_ops {
    /* Runs one task in worker `worker` (0-based). tok is the task's token:
     * poll it and return early when it trips. */
    void (*run)(void *item, int worker, cancel_token *tok, void *ctx);
    /* Called exactly once for every item that pool_submit accepted, from
     * whichever thread settles it. For POOL_ABANDONED the run() call may still
     * be going on and keeps using the item: done() must not free it. */
    void (*done)(void *item, pool_outcome how, cancel_reason why, void *ctx);
    /* Optional: called by the worker when an abandoned run() finally
     * returns; the item is the pool's to give back now (free it). */
    void (*release)(void *item, void *ctx);
    /* Optional: called by each worker thread as it starts, before its
     * first task (per-thread state that is dear to set up). */
    void (*thread_start)(void *ctx);
    /* Optional: called by each worker thread as it ends (per-thread state
     * of libraries), not by abandoned ones. */
    void (*thread_end)(void *ctx);
    /* Optional: called after run() returned, unless the pool is stopping or
     * the token tripped. Returns a monotonic time (clock_now_s) to run the
     * item again no earlier than then, or 0 to settle it now. The item
     * waits in the queue, not in a worker. Called with the pool's lock held:
     * it must not call into the pool. */
    double (*retry)(void *item, void *ctx);
    /* Optional: called by a worker once before it takes each next task; may
     * block (a rate limit), and must return promptly once the run stops. */
    void (*admit)(void *ctx);
    void *ctx;
    double task_timeout;  /* seconds, 0 = none: each task's token deadline */
} pool_ops;

/* Starts `workers` threads behind a queue of `queue_cap` items. Workers are
 * started with every signal blocked. Returns NULL on failure. */
pool *pool_create(int workers, size_t queue_cap, const pool_ops *ops);

/* Changes the number of workers to n (>= 1): new ones start at once; when
 * shrinking, workers beyond n exit after their current task (an idle one
 * within about 0.1 s). Returns the number of workers wanted now (less than
 * n if a thread could not be started). */
int pool_resize(pool *p, int n);

/* Workers running or waiting for a task (not exited, not abandoned). */
int pool_workers(pool *p);

/* Queues item, blocking while the queue is full (backpressure). Returns false
 * if the pool is stopping: the item was not taken and done() is not called. */
bool pool_submit(pool *p, void *item);

/* No more submissions: workers finish what is queued, then exit. */
void pool_close(pool *p);

/* Graceful stop that finishes the queue (Shutdown, as opposed to pool_stop's
 * ShutdownNow): refuses submissions (a producer blocked in pool_submit is
 * released), and the tasks queued, also those waiting to be retried, still
 * run; the workers exit once the queue is empty. A later pool_stop settles
 * what is still queued then. */
void pool_drain(pool *p);

/* Graceful stop: refuses submissions (a producer blocked in pool_submit is
 * released), and queued tasks that have not started, also those waiting to
 * be retried, are settled as POOL_NOT_STARTED with reason why. Running tasks
 * go on. */
void pool_stop(pool *p, cancel_reason why);

/* Trips the token of every running task with reason why. */
void pool_cancel_running(pool *p, cancel_reason why);

/* Waits until every worker has exited (after pool_close or pool_stop) or
 * until the monotonic deadline (0 = forever). True when all have exited. */
bool pool_wait(pool *p, double deadline);

/* Settles every task still running as POOL_ABANDONED (reason: its token's, or
 * why). For workers stuck where they cannot poll. Returns how many. */
int pool_abandon_running(pool *p, cancel_reason why);

/* Settles as POOL_ABANDONED the running tasks whose token deadline passed
 * more than `grace` seconds ago, and starts a replacement worker for each,
 * so one stuck read does not shrink the pool for good. Returns how many. */
int pool_reap_overdue(pool *p, double grace);

/* Tasks accepted and not yet settled. */
size_t pool_pending(pool *p);

/* Tasks waiting in the queue (also those waiting to be retried). */
size_t pool_queued(pool *p);

/* Tasks in the queue that a worker could take at once (not those waiting
 * out a not-before time). */
size_t pool_ready(pool *p);

/* Joins exited workers and frees the pool. Threads that were abandoned are
 * detached: the caller is expected to exit the process soon. */
void pool_destroy(pool *p);

#endif
