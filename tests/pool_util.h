/* Unit tests for the worker pool (src/pool.c): bounds, exactly-once
 * settlement, backpressure, stop / cancel / abandon / reap (in the spirit of
 * libuv's threadpool cancellation tests).
 *
 * cmocka's assertions longjmp, so they run on the main thread only; tasks
 * record what happened to them in atomics that the main thread checks. Items
 * belong to the test and outlive the pool (an abandoned run keeps using its
 * item until release()). */

/* Helpers shared by the worker pool's unit tests (test_pool.c,
 * test_poolreap.c): the test tasks, their context and items, a pool over them,
 * a submitter thread. */
#ifndef THUMBD_TESTS_POOL_UTIL_H
#define THUMBD_TESTS_POOL_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "thumbd/cancel.h"
#include "thumbd/pool.h"

void sleep_s(double s);

/* sem_wait with a timeout in seconds; false on timeout. */
bool sem_wait_for(sem_t *s, double secs);

bool wait_flag(atomic_int *flag, double limit);

typedef enum tmode {
    M_QUICK,    /* returns at once */
    M_WAIT_N,   /* waits (up to 5 s) until `target` tasks are in flight at once */
    M_BLOCK,    /* announces itself, then blocks on ctx->gate: never polls */
    M_POLL,     /* announces itself, polls its token every ms until it trips */
} tmode;

typedef struct tctx {
    atomic_int in_flight, max_in_flight;
    atomic_int total_runs, total_dones, total_releases, total_admits;
    int target;              /* for M_WAIT_N */
    atomic_int reached;      /* latched once `target` tasks were in flight at once */
    sem_t gate;              /* M_BLOCK tasks wait here */
    sem_t started;           /* posted by M_BLOCK and M_POLL tasks when they start */
    sem_t done_sem;          /* posted by done() */
    sem_t release_sem;       /* posted by release() */
} tctx;

typedef struct titem {
    int id;
    tmode mode;
    atomic_int runs, dones, releases;
    atomic_int how, why;     /* what done() was told */
    atomic_int seen;         /* cancel_check() when run() finished */
    atomic_int worker;
    double t_start, t_end;   /* of run(); read only after done() */
    atomic_int retries_wanted;  /* t_retry asks for this many more runs */
    double retry_delay;      /* seconds */
} titem;

void t_run(void *item, int worker, cancel_token *tok, void *ctx);

void t_done(void *item, pool_outcome how, cancel_reason why, void *ctx);

void t_release(void *item, void *ctx);

tctx *ctx_new(void);

void ctx_free(tctx *cx);

titem *items_new(int n, tmode mode);

pool *make_pool(int workers, size_t cap, tctx *cx, double task_timeout);

void expect_settled(const titem *it, pool_outcome how, cancel_reason why);

typedef struct submitter {
    pool *p;
    void *item;
    atomic_int returned;
    atomic_int result;
    pthread_t th;
} submitter;

void *submit_main(void *arg);

void submitter_start(submitter *s, pool *p, void *item);

#endif
