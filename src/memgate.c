#include "thumbd/memgate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/clock.h"

struct memgate {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    size_t budget, used;
    memgate_remote remote;     /* remote.acquire set: forwarded */
};

/* How often a waiting task looks at its token. */
static const double POLL_S = 0.02;

memgate *memgate_create(size_t budget)
{
    memgate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->budget = budget;
    pthread_mutex_init(&g->mu, NULL);
    clock_cond_init(&g->freed);
    return g;
}

memgate *memgate_create_remote(const memgate_remote *r)
{
    memgate *g = memgate_create(0);
    if (g)
        g->remote = *r;
    return g;
}

void memgate_destroy(memgate *g)
{
    if (!g)
        return;
    pthread_cond_destroy(&g->freed);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

td_status memgate_acquire(memgate *g, size_t bytes, bool may_defer, cancel_token *tok,
                          char err[TD_ERRLEN])
{
    if (!g)
        return TD_OK;
    if (g->remote.acquire)
        return g->remote.acquire(g->remote.ctx, bytes, may_defer, err);
    pthread_mutex_lock(&g->mu);
    while (g->budget && g->used > 0 && g->used + bytes > g->budget) {
        if (may_defer) {
            pthread_mutex_unlock(&g->mu);
            return td_fail(err, TD_EBUSY, "the decoder memory budget is in use");
        }
        cancel_reason why = cancel_check(tok);
        if (why != CANCEL_NONE) {
            pthread_mutex_unlock(&g->mu);
            return td_fail(err, TD_ECANCEL, "%s", cancel_reason_name(why));
        }
        struct timespec ts = clock_abstime(clock_now_s() + POLL_S);
        pthread_cond_timedwait(&g->freed, &g->mu, &ts);
    }
    g->used += bytes;
    pthread_mutex_unlock(&g->mu);
    return TD_OK;
}

void memgate_release(memgate *g, size_t bytes)
{
    if (!g)
        return;
    if (g->remote.release) {
        g->remote.release(g->remote.ctx, bytes);
        return;
    }
    pthread_mutex_lock(&g->mu);
    g->used = bytes > g->used ? 0 : g->used - bytes;
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->mu);
}

size_t memgate_in_use(memgate *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->used;
    pthread_mutex_unlock(&g->mu);
    return n;
}

td_status memgate_within_bound(uint64_t max_memory, size_t bytes, char err[TD_ERRLEN])
{
    if (!max_memory || bytes <= MEMGATE_SLACK || bytes - MEMGATE_SLACK <= max_memory)
        return TD_OK;
    const double mib = 1048576.0;
    /* The smallest --max-memory that admits it, in whole MiB. */
    uint64_t need = ((uint64_t)bytes - MEMGATE_SLACK + (1u << 20) - 1) >> 20;
    return td_fail(err, TD_ELIMIT,
                   "decoding needs %.0f MiB, over --max-memory %.0f MiB (+%.0f MiB margin): "
                   "raise --max-memory to %lluM or more to decode it",
                   (double)bytes / mib, (double)max_memory / mib, (double)MEMGATE_SLACK / mib,
                   (unsigned long long)need);
}

td_status memgate_acquire_bounded(memgate *g, uint64_t max_memory, size_t bytes, bool may_defer,
                                  cancel_token *tok, char err[TD_ERRLEN])
{
    td_status st = memgate_within_bound(max_memory, bytes, err);
    return st == TD_OK ? memgate_acquire(g, bytes, may_defer, tok, err) : st;
}
