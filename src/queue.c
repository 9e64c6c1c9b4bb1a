#include "thumbd/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/clock.h"

/* A deferred item; the deferred ones form a binary min-heap on not_before. */
typedef struct deferred {
    double not_before;
    void *item;
} deferred;

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty;  /* also: a deferred item was added */
    pthread_cond_t not_full;
    void **ring;
    size_t cap, head, len;
    deferred *heap;
    size_t nheap, heap_cap;
    bool closed;
};

queue *queue_create(size_t cap)
{
    if (cap < 1)
        cap = 1;
    queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->ring = calloc(cap, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->cap = cap;
    pthread_mutex_init(&q->mu, NULL);
    clock_cond_init(&q->not_empty);
    clock_cond_init(&q->not_full);
    return q;
}

void queue_destroy(queue *q)
{
    if (!q)
        return;
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q->heap);
    free(q);
}

queue_status queue_push(queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return QUEUE_CLOSED;
    }
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return QUEUE_OK;
}

static void *take_locked(queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
    return item;
}

static void heap_swap(deferred *a, deferred *b)
{
    deferred t = *a;
    *a = *b;
    *b = t;
}

bool queue_defer(queue *q, void *item, double not_before)
{
    pthread_mutex_lock(&q->mu);
    if (q->nheap == q->heap_cap) {
        size_t cap = q->heap_cap ? q->heap_cap * 2 : 16;
        deferred *nh = realloc(q->heap, cap * sizeof *nh);
        if (!nh) {
            pthread_mutex_unlock(&q->mu);
            return false;
        }
        q->heap = nh;
        q->heap_cap = cap;
    }
    size_t i = q->nheap++;
    q->heap[i] = (deferred){not_before, item};
    for (; i > 0 && q->heap[(i - 1) / 2].not_before > q->heap[i].not_before; i = (i - 1) / 2)
        heap_swap(&q->heap[i], &q->heap[(i - 1) / 2]);
    /* Waiters may be sleeping until a later time, or forever: let them
     * look at the new earliest time. */
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return true;
}

static void *heap_pop_locked(queue *q)
{
    void *item = q->heap[0].item;
    q->heap[0] = q->heap[--q->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l].not_before < q->heap[m].not_before)
            m = l;
        if (r < q->nheap && q->heap[r].not_before < q->heap[m].not_before)
            m = r;
        if (m == i)
            break;
        heap_swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
    return item;
}

/* A ready item, due deferred ones first (they are the older work). */
static bool ready_locked(queue *q, double now, void **item)
{
    if (q->nheap && q->heap[0].not_before <= now) {
        *item = heap_pop_locked(q);
        return true;
    }
    if (q->len) {
        *item = take_locked(q);
        return true;
    }
    return false;
}

queue_status queue_pop(queue *q, void **item, double deadline)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        double now = clock_now_s();
        if (ready_locked(q, now, item))
            break;
        if (q->closed && q->nheap == 0) {
            pthread_mutex_unlock(&q->mu);
            return QUEUE_CLOSED;
        }
        if (deadline > 0 && now >= deadline) {
            pthread_mutex_unlock(&q->mu);
            return QUEUE_TIMEOUT;
        }
        /* Sleep until the caller's deadline or the earliest deferred item. */
        double until = deadline;
        if (q->nheap && (until <= 0 || q->heap[0].not_before < until))
            until = q->heap[0].not_before;
        if (until <= 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else {
            struct timespec ts = clock_abstime(until);
            pthread_cond_timedwait(&q->not_empty, &q->mu, &ts);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return QUEUE_OK;
}

queue_status queue_try_pop(queue *q, void **item)
{
    pthread_mutex_lock(&q->mu);
    queue_status st = ready_locked(q, clock_now_s(), item) ? QUEUE_OK : QUEUE_TIMEOUT;
    pthread_mutex_unlock(&q->mu);
    return st;
}

queue_status queue_try_pop_any(queue *q, void **item)
{
    pthread_mutex_lock(&q->mu);
    queue_status st = QUEUE_OK;
    if (q->len)
        *item = take_locked(q);
    else if (q->nheap)
        *item = heap_pop_locked(q);
    else
        st = QUEUE_TIMEOUT;
    pthread_mutex_unlock(&q->mu);
    return st;
}

void queue_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

size_t queue_pushed_len(queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t queue_len(queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len + q->nheap;
    pthread_mutex_unlock(&q->mu);
    return n;
}
