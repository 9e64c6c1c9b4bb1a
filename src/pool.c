#include "thumbd/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/clock.h"
#include "thumbd/queue.h"

typedef struct slot {
    struct pool *p;
    int id;
    pthread_t th;
    /* Guarded by p->mu. */
    void *item;          /* the running task, or NULL */
    bool abandoned;      /* the running task was settled without waiting */
    bool exited;         /* the thread left its loop normally */
    cancel_token tok;
} slot;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t changed;   /* a worker exited or a task was settled */
    queue *q;
    pool_ops ops;
    slot **slots;
    int nslots, slots_cap;
    int live;                 /* workers neither exited nor abandoned */
    int target;               /* workers wanted (pool_resize) */
    int stuck;                /* abandoned workers still inside run() */
    size_t pending;           /* accepted, not yet settled */
    bool stopping;
    bool draining;            /* pool_drain: no submissions, the queue still runs */
    cancel_reason stop_why;
};

static void settle(pool *p, void *item, pool_outcome how, cancel_reason why)
{
    p->ops.done(item, how, why, p->ops.ctx);
    pthread_mutex_lock(&p->mu);
    p->pending--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
}

/* How often an idle worker looks whether the pool shrank. */
static const double IDLE_CHECK_S = 0.1;

/* True if this worker is one too many (pool_resize shrank the pool): it then
 * no longer counts as live. */
static bool retire(pool *p)
{
    pthread_mutex_lock(&p->mu);
    bool go = p->live > p->target;
    if (go)
        p->live--;
    pthread_mutex_unlock(&p->mu);
    return go;
}

/* After run(): settles item, or defers it for a retry. p->mu held. */
static bool defer_locked(pool *p, void *item, cancel_reason why)
{
    if (!p->ops.retry || p->stopping || why != CANCEL_NONE)
        return false;
    double again = p->ops.retry(item, p->ops.ctx);
    return again > 0 && queue_defer(p->q, item, again);
}

static void *worker_main(void *arg)
{
    slot *s = arg;
    pool *p = s->p;
    bool retired = false, admitted = false;
    if (p->ops.thread_start)
        p->ops.thread_start(p->ops.ctx);
    for (;;) {
        if ((retired = retire(p)))
            break;
        if (p->ops.admit && !admitted) {
            p->ops.admit(p->ops.ctx);
            admitted = true;
        }
        void *item;
        queue_status qs = queue_pop(p->q, &item, clock_now_s() + IDLE_CHECK_S);
        if (qs == QUEUE_TIMEOUT)
            continue;
        if (qs != QUEUE_OK)
            break;
        admitted = false;
        pthread_mutex_lock(&p->mu);
        if (p->stopping) {
            cancel_reason why = p->stop_why;
            pthread_mutex_unlock(&p->mu);
            settle(p, item, POOL_NOT_STARTED, why);
            continue;
        }
        s->item = item;
        cancel_init(&s->tok, p->ops.task_timeout > 0 ? clock_now_s() + p->ops.task_timeout : 0);
        pthread_mutex_unlock(&p->mu);

        p->ops.run(item, s->id, &s->tok, p->ops.ctx);

        pthread_mutex_lock(&p->mu);
        bool abandoned = s->abandoned;
        cancel_reason why = (cancel_reason)atomic_load(&s->tok.reason);
        s->item = NULL;
        if (abandoned) {
            /* Someone already settled this task and, if needed, started a
             * replacement: give the item back and leave. */
            p->stuck--;
            pthread_cond_broadcast(&p->changed);
            pthread_mutex_unlock(&p->mu);
            if (p->ops.release)
                p->ops.release(item, p->ops.ctx);
            return NULL;
        }
        bool deferred = defer_locked(p, item, why);
        pthread_mutex_unlock(&p->mu);
        if (!deferred)
            settle(p, item, POOL_RAN, why);
    }
    if (p->ops.thread_end)
        p->ops.thread_end(p->ops.ctx);
    pthread_mutex_lock(&p->mu);
    s->exited = true;
    if (!retired)
        p->live--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Adds and starts one worker; p->mu held or no other thread yet. */
static bool spawn_locked(pool *p)
{
    if (p->nslots == p->slots_cap) {
        int cap = p->slots_cap ? p->slots_cap * 2 : 8;
        slot **ns = realloc(p->slots, (size_t)cap * sizeof *ns);
        if (!ns)
            return false;
        p->slots = ns;
        p->slots_cap = cap;
    }
    slot *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->p = p;
    s->id = p->nslots;
    /* Workers never handle signals: the run's signal loop does (see redis
     * bio.c). The mask is inherited from the creating thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->th, NULL, worker_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(s);
        return false;
    }
    p->slots[p->nslots++] = s;
    p->live++;
    return true;
}

pool *pool_create(int workers, size_t queue_cap, const pool_ops *ops)
{
    if (workers < 1 || !ops || !ops->run || !ops->done)
        return NULL;
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->q = queue_create(queue_cap);
    if (!p->q) {
        free(p);
        return NULL;
    }
    p->ops = *ops;
    pthread_mutex_init(&p->mu, NULL);
    clock_cond_init(&p->changed);
    pthread_mutex_lock(&p->mu);
    p->target = workers;
    for (int i = 0; i < workers; i++) {
        if (!spawn_locked(p)) {
            pthread_mutex_unlock(&p->mu);
            pool_close(p);
            pool_wait(p, 0);
            pool_destroy(p);
            return NULL;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return p;
}

int pool_resize(pool *p, int n)
{
    if (n < 1)
        n = 1;
    pthread_mutex_lock(&p->mu);
    p->target = n;
    while (p->live < p->target && !p->stopping)
        if (!spawn_locked(p)) {
            p->target = p->live; /* best effort: keep what runs */
            break;
        }
    n = p->target;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int pool_workers(pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->live;
    pthread_mutex_unlock(&p->mu);
    return n;
}

bool pool_submit(pool *p, void *item)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->draining) {
        pthread_mutex_unlock(&p->mu);
        return false;
    }
    p->pending++;
    pthread_mutex_unlock(&p->mu);
    if (queue_push(p->q, item) == QUEUE_OK)
        return true;
    pthread_mutex_lock(&p->mu);
    p->pending--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
    return false;
}

void pool_close(pool *p)
{
    queue_close(p->q);
}

void pool_drain(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->draining = true;
    pthread_mutex_unlock(&p->mu);
    queue_close(p->q); /* releases a producer blocked in queue_push */
}

void pool_stop(pool *p, cancel_reason why)
{
    pthread_mutex_lock(&p->mu);
    if (!p->stopping) {
        p->stopping = true;
        p->stop_why = why;
    }
    why = p->stop_why;
    pthread_mutex_unlock(&p->mu);
    queue_close(p->q);
    void *item;
    while (queue_try_pop_any(p->q, &item) == QUEUE_OK)
        settle(p, item, POOL_NOT_STARTED, why);
}

void pool_cancel_running(pool *p, cancel_reason why)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nslots; i++)
        if (p->slots[i]->item && !p->slots[i]->abandoned)
            cancel_request(&p->slots[i]->tok, why);
    pthread_mutex_unlock(&p->mu);
}

bool pool_wait(pool *p, double deadline)
{
    struct timespec ts = clock_abstime(deadline);
    pthread_mutex_lock(&p->mu);
    while (p->live > 0) {
        if (deadline <= 0)
            pthread_cond_wait(&p->changed, &p->mu);
        else if (pthread_cond_timedwait(&p->changed, &p->mu, &ts) == ETIMEDOUT)
            break;
    }
    bool all = p->live == 0;
    pthread_mutex_unlock(&p->mu);
    return all;
}

/* Marks s abandoned; returns its item to settle outside the lock. */
static void *abandon_locked(pool *p, slot *s, cancel_reason why, cancel_reason *out_why)
{
    void *item = s->item;
    s->abandoned = true;
    int r = atomic_load(&s->tok.reason);
    *out_why = r != CANCEL_NONE ? (cancel_reason)r : why;
    p->live--;
    p->stuck++;
    pthread_detach(s->th);
    return item;
}

int pool_abandon_running(pool *p, cancel_reason why)
{
    int n = 0;
    for (;;) {
        void *item = NULL;
        cancel_reason r = why;
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < p->nslots && !item; i++) {
            slot *s = p->slots[i];
            if (s->item && !s->abandoned)
                item = abandon_locked(p, s, why, &r);
        }
        pthread_mutex_unlock(&p->mu);
        if (!item)
            return n;
        settle(p, item, POOL_ABANDONED, r);
        n++;
    }
}

int pool_reap_overdue(pool *p, double grace)
{
    int n = 0;
    double now = clock_now_s();
    for (;;) {
        void *item = NULL;
        cancel_reason r = CANCEL_TIMEOUT;
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < p->nslots && !item; i++) {
            slot *s = p->slots[i];
            if (s->item && !s->abandoned && s->tok.deadline > 0 && now > s->tok.deadline + grace) {
                cancel_request(&s->tok, CANCEL_TIMEOUT);
                item = abandon_locked(p, s, CANCEL_TIMEOUT, &r);
                spawn_locked(p); /* best effort: on failure the pool is one smaller */
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!item)
            return n;
        settle(p, item, POOL_ABANDONED, r);
        n++;
    }
}

size_t pool_pending(pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->pending;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t pool_queued(pool *p)
{
    return queue_len(p->q);
}

size_t pool_ready(pool *p)
{
    return queue_pushed_len(p->q);
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nslots; i++) {
        slot *s = p->slots[i];
        if (s->exited) {
            pthread_mutex_unlock(&p->mu);
            pthread_join(s->th, NULL);
            pthread_mutex_lock(&p->mu);
            s->exited = false; /* joined */
            s->th = 0;
        }
    }
    bool busy = p->stuck > 0 || p->live > 0;
    pthread_mutex_unlock(&p->mu);
    if (busy)
        return; /* threads still use the pool: leave it to process exit */
    for (int i = 0; i < p->nslots; i++)
        free(p->slots[i]);
    free(p->slots);
    queue_destroy(p->q);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
