#include "thumbd/reorder.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "thumbd/clock.h"

static char pass_marker;
void *const REORDER_PASS = &pass_marker;

/* Id next + k is held at slot[(next + k) % cap], k < cap. */
struct reorder {
    pthread_mutex_t mu;
    pthread_cond_t moved;      /* next advanced */
    void **slot;
    size_t cap;
    size_t held;
    size_t window;
    uint64_t next;             /* the next id to take */
};

/* How often a waiter looks at its stop flag. */
static const double STOP_POLL_S = 0.05;

reorder *reorder_new(size_t window)
{
    reorder *ro = calloc(1, sizeof *ro);
    if (!ro)
        return NULL;
    ro->window = window ? window : 1;
    ro->cap = ro->window;
    ro->slot = calloc(ro->cap, sizeof *ro->slot);
    if (!ro->slot) {
        free(ro);
        return NULL;
    }
    ro->next = 1;
    pthread_mutex_init(&ro->mu, NULL);
    clock_cond_init(&ro->moved);
    return ro;
}

void reorder_free(reorder *ro)
{
    if (!ro)
        return;
    pthread_cond_destroy(&ro->moved);
    pthread_mutex_destroy(&ro->mu);
    free(ro->slot);
    free(ro);
}

void reorder_wait(reorder *ro, uint64_t id, const atomic_bool *stop)
{
    pthread_mutex_lock(&ro->mu);
    while (id >= ro->next + ro->window && !(stop && atomic_load(stop))) {
        struct timespec ts = clock_abstime(clock_now_s() + STOP_POLL_S);
        pthread_cond_timedwait(&ro->moved, &ro->mu, &ts);
    }
    pthread_mutex_unlock(&ro->mu);
}

/* Makes room for k = id - next (cap > k). ro->mu held. */
static bool grow_locked(reorder *ro, uint64_t k)
{
    size_t cap = ro->cap;
    while (cap <= k)
        cap *= 2;
    void **ns = calloc(cap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < ro->cap; i++)
        ns[(ro->next + i) % cap] = ro->slot[(ro->next + i) % ro->cap];
    free(ro->slot);
    ro->slot = ns;
    ro->cap = cap;
    return true;
}

bool reorder_put(reorder *ro, uint64_t id, void *item)
{
    pthread_mutex_lock(&ro->mu);
    bool held = id >= ro->next && (id - ro->next < ro->cap || grow_locked(ro, id - ro->next));
    if (held) {
        void **s = &ro->slot[id % ro->cap];
        held = *s == NULL; /* an id put twice: the second goes at once */
        if (held) {
            *s = item;
            ro->held++;
        }
    }
    pthread_mutex_unlock(&ro->mu);
    return held;
}

void *reorder_take(reorder *ro, bool any)
{
    pthread_mutex_lock(&ro->mu);
    void *item = NULL;
    while (ro->held > 0) {
        void **s = &ro->slot[ro->next % ro->cap];
        item = *s;
        if (!item && !any)
            break;
        *s = NULL;
        ro->next++;
        if (item) {
            ro->held--;
            break;
        }
    }
    pthread_cond_broadcast(&ro->moved);
    pthread_mutex_unlock(&ro->mu);
    return item;
}
