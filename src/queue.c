#include "thumbd/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/cancel.h"

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **ring;
    size_t cap, head, len;
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
    cancel_cond_init(&q->not_empty);
    cancel_cond_init(&q->not_full);
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

queue_status queue_pop(queue *q, void **item, double deadline)
{
    struct timespec ts = cancel_abstime(deadline);
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed) {
        if (deadline <= 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &ts) == ETIMEDOUT) {
            if (q->len == 0 && !q->closed) {
                pthread_mutex_unlock(&q->mu);
                return QUEUE_TIMEOUT;
            }
        }
    }
    if (q->len == 0) {
        pthread_mutex_unlock(&q->mu);
        return QUEUE_CLOSED;
    }
    *item = take_locked(q);
    pthread_mutex_unlock(&q->mu);
    return QUEUE_OK;
}

queue_status queue_try_pop(queue *q, void **item)
{
    pthread_mutex_lock(&q->mu);
    queue_status st = QUEUE_TIMEOUT;
    if (q->len > 0) {
        *item = take_locked(q);
        st = QUEUE_OK;
    }
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

size_t queue_len(queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
