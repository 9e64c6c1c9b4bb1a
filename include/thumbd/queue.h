/* Bounded blocking FIFO of pointers, for many producers and consumers. */
#ifndef THUMBD_QUEUE_H
#define THUMBD_QUEUE_H

#include <stddef.h>

typedef struct queue queue;

typedef enum queue_status { QUEUE_OK = 0, QUEUE_CLOSED, QUEUE_TIMEOUT } queue_status;

/* A queue holding at most cap (>= 1) items, or NULL when out of memory. */
queue *queue_create(size_t cap);

/* Frees the queue; items still in it are not touched. No thread may be
 * blocked in it. */
void queue_destroy(queue *q);

/* Appends item, blocking while the queue is full. Returns QUEUE_CLOSED
 * (item not taken) once the queue is closed, also if it closes while the
 * caller waits. */
queue_status queue_push(queue *q, void *item);

/* Removes the oldest item into *item, blocking while the queue is empty and
 * open. deadline: monotonic seconds (cancel_now) or 0 to wait forever.
 * Returns QUEUE_OK, QUEUE_TIMEOUT, or QUEUE_CLOSED when closed AND empty
 * (items pushed before the close are still delivered). */
queue_status queue_pop(queue *q, void **item, double deadline);

/* Non-blocking pop: QUEUE_OK or QUEUE_TIMEOUT (empty). */
queue_status queue_try_pop(queue *q, void **item);

/* Refuses further pushes and wakes every waiter. Idempotent. */
void queue_close(queue *q);

size_t queue_len(queue *q);

#endif
