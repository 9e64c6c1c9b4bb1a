/* Bounded blocking FIFO of pointers, for many producers and consumers, plus
 * deferred items that become ready at a given time (retries waiting out
 * their backoff without holding a consumer). */
#ifndef THUMBD_QUEUE_H
#define THUMBD_QUEUE_H

#include <stdbool.h>
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

/* Adds item to be delivered no earlier than not_before (monotonic seconds,
 * clock_now_s). Never blocks: deferred items do not count against cap, and a
 * closed queue takes them too (they were accepted once already; a consumer
 * still delivers them). Returns false only when out of memory. */
bool queue_defer(queue *q, void *item, double not_before);

/* Removes the next ready item into *item: a deferred item whose time has
 * come, else the oldest pushed one. Blocks while none is ready and the queue
 * is open or still holds deferred items. deadline: monotonic seconds
 * (clock_now_s) or 0 to wait forever. Returns QUEUE_OK, QUEUE_TIMEOUT, or
 * QUEUE_CLOSED when closed AND empty (items pushed before the close, and
 * deferred items, are still delivered). */
queue_status queue_pop(queue *q, void **item, double deadline);

/* Non-blocking pop of a ready item: QUEUE_OK or QUEUE_TIMEOUT (none). */
queue_status queue_try_pop(queue *q, void **item);

/* Non-blocking pop of any item, deferred ones regardless of their time: for
 * draining a queue at shutdown. QUEUE_OK or QUEUE_TIMEOUT (empty). */
queue_status queue_try_pop_any(queue *q, void **item);

/* Refuses further pushes and wakes every waiter. Idempotent. */
void queue_close(queue *q);

/* Items held: pushed plus deferred. */
size_t queue_len(queue *q);

/* Pushed items only: what a consumer can take without waiting for a
 * deferred item's time. */
size_t queue_pushed_len(queue *q);

#endif
