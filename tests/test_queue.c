/* Unit tests for the bounded blocking queue (src/queue.c).
 *
 * cmocka's assertions longjmp to the test runner, so they are only used on the
 * main thread; helper threads record what they saw in atomics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/cancel.h"
#include "thumbd/queue.h"

#define ITEM(n) ((void *)(uintptr_t)(n))
#define VAL(p) ((uintptr_t)(p))

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Polls flag until it becomes non-zero or `limit` seconds pass. */
static bool wait_flag(atomic_int *flag, double limit)
{
    double end = clock_now_s() + limit;
    while (!atomic_load(flag)) {
        if (clock_now_s() > end)
            return false;
        sleep_s(0.001);
    }
    return true;
}

/* ---- a thread that does one push or one pop and reports back ---- */

typedef struct op_thread {
    queue *q;
    void *item;          /* push: what to push; pop: what was popped */
    double deadline;     /* pop only */
    bool is_pop;
    atomic_int returned;
    atomic_int status;
    double t_returned;
    pthread_t th;
} op_thread;

static void *op_main(void *arg)
{
    op_thread *o = arg;
    queue_status st = o->is_pop ? queue_pop(o->q, &o->item, o->deadline) : queue_push(o->q, o->item);
    o->t_returned = clock_now_s();
    atomic_store(&o->status, (int)st);
    atomic_store(&o->returned, 1);
    return NULL;
}

static void op_start(op_thread *o, queue *q, bool is_pop, void *item, double deadline)
{
    o->q = q;
    o->is_pop = is_pop;
    o->item = item;
    o->deadline = deadline;
    atomic_store(&o->returned, 0);
    atomic_store(&o->status, -1);
    assert_int_equal(pthread_create(&o->th, NULL, op_main, o), 0);
}

/* ---- tests ---- */

static void test_fifo_order_and_wraparound(void **state)
{
    (void)state;
    queue *q = queue_create(4);
    assert_non_null(q);
    assert_int_equal(queue_len(q), 0);

    void *it = ITEM(999);
    assert_int_equal(queue_try_pop(q, &it), QUEUE_TIMEOUT);
    assert_int_equal(VAL(it), 999); /* untouched on failure */

    /* Several rounds so that head wraps around the ring more than once. */
    uintptr_t next_in = 1, next_out = 1;
    for (int round = 0; round < 10; round++) {
        int n = 1 + round % 4; /* 1..4 items per round */
        for (int i = 0; i < n; i++)
            assert_int_equal(queue_push(q, ITEM(next_in++)), QUEUE_OK);
        assert_int_equal(queue_len(q), (size_t)n);
        for (int i = 0; i < n; i++) {
            void *p = NULL;
            if (i % 2)
                assert_int_equal(queue_try_pop(q, &p), QUEUE_OK);
            else
                assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
            assert_int_equal(VAL(p), next_out);
            next_out++;
        }
        assert_int_equal(queue_len(q), 0);
    }
    /* Interleaved: always one behind. */
    assert_int_equal(queue_push(q, ITEM(100)), QUEUE_OK);
    for (uintptr_t v = 101; v < 120; v++) {
        void *p = NULL;
        assert_int_equal(queue_push(q, ITEM(v)), QUEUE_OK);
        assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
        assert_int_equal(VAL(p), v - 1);
    }
    queue_destroy(q);
}

static void test_producer_blocks_when_full(void **state)
{
    (void)state;
    queue *q = queue_create(2);
    assert_int_equal(queue_push(q, ITEM(1)), QUEUE_OK);
    assert_int_equal(queue_push(q, ITEM(2)), QUEUE_OK);

    op_thread o;
    op_start(&o, q, false, ITEM(3), 0);
    sleep_s(0.2);
    /* Still blocked, and it did not sneak its item in. */
    assert_int_equal(atomic_load(&o.returned), 0);
    assert_int_equal(queue_len(q), 2);

    void *p = NULL;
    double t_pop = clock_now_s();
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 1);
    assert_true(wait_flag(&o.returned, 5));
    pthread_join(o.th, NULL);
    assert_int_equal(atomic_load(&o.status), QUEUE_OK);
    assert_true(o.t_returned >= t_pop); /* returned only after the pop made room */
    assert_int_equal(queue_len(q), 2);

    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 2);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 3);
    queue_destroy(q);
}

static void test_pop_deadline_times_out(void **state)
{
    (void)state;
    queue *q = queue_create(3);
    void *p = ITEM(777);

    double t0 = clock_now_s();
    assert_int_equal(queue_pop(q, &p, t0 + 0.2), QUEUE_TIMEOUT);
    double el = clock_now_s() - t0;
    assert_true(el >= 0.19);
    assert_true(el < 0.2 + 0.25);
    assert_int_equal(VAL(p), 777);

    /* A deadline already in the past: immediate timeout. */
    t0 = clock_now_s();
    assert_int_equal(queue_pop(q, &p, t0 - 1.0), QUEUE_TIMEOUT);
    assert_true(clock_now_s() - t0 < 0.1);

    /* A deadline with a fractional part near a second boundary. */
    t0 = clock_now_s();
    assert_int_equal(queue_pop(q, &p, t0 + 0.05), QUEUE_TIMEOUT);
    el = clock_now_s() - t0;
    assert_true(el >= 0.045 && el < 0.05 + 0.25);

    /* An item that is already there is returned even with a past deadline. */
    assert_int_equal(queue_push(q, ITEM(5)), QUEUE_OK);
    assert_int_equal(queue_pop(q, &p, clock_now_s() - 1.0), QUEUE_OK);
    assert_int_equal(VAL(p), 5);
    queue_destroy(q);
}

static void test_pop_deadline_gets_late_item(void **state)
{
    (void)state;
    queue *q = queue_create(3);
    op_thread o;
    double t0 = clock_now_s();
    op_start(&o, q, true, NULL, t0 + 5.0);
    sleep_s(0.05);
    assert_int_equal(atomic_load(&o.returned), 0);
    assert_int_equal(queue_push(q, ITEM(42)), QUEUE_OK);
    assert_true(wait_flag(&o.returned, 3));
    pthread_join(o.th, NULL);
    assert_int_equal(atomic_load(&o.status), QUEUE_OK);
    assert_int_equal(VAL(o.item), 42);
    assert_true(o.t_returned - t0 < 2.0); /* woken by the push, not by the deadline */
    queue_destroy(q);
}

static void test_close_wakes_blocked_producer(void **state)
{
    (void)state;
    queue *q = queue_create(1);
    assert_int_equal(queue_push(q, ITEM(1)), QUEUE_OK);
    op_thread o;
    op_start(&o, q, false, ITEM(2), 0);
    sleep_s(0.1);
    assert_int_equal(atomic_load(&o.returned), 0);

    queue_close(q);
    assert_true(wait_flag(&o.returned, 2));
    pthread_join(o.th, NULL);
    assert_int_equal(atomic_load(&o.status), QUEUE_CLOSED);

    /* The item pushed before the close is still delivered; the refused one is not. */
    void *p = NULL;
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 1);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_CLOSED);
    assert_int_equal(queue_len(q), 0);
    queue_destroy(q);
}

static void test_close_wakes_blocked_consumers(void **state)
{
    (void)state;
    queue *q = queue_create(4);
    op_thread forever, timed;
    op_start(&forever, q, true, ITEM(111), 0);
    op_start(&timed, q, true, ITEM(222), clock_now_s() + 10.0);
    sleep_s(0.1);
    assert_int_equal(atomic_load(&forever.returned), 0);
    assert_int_equal(atomic_load(&timed.returned), 0);

    double t_close = clock_now_s();
    queue_close(q);
    assert_true(wait_flag(&forever.returned, 2));
    assert_true(wait_flag(&timed.returned, 2));
    pthread_join(forever.th, NULL);
    pthread_join(timed.th, NULL);
    assert_int_equal(atomic_load(&forever.status), QUEUE_CLOSED);
    /* Closed, not timed out: it returned long before its deadline. */
    assert_int_equal(atomic_load(&timed.status), QUEUE_CLOSED);
    assert_true(timed.t_returned - t_close < 2.0);
    assert_int_equal(VAL(forever.item), 111);
    assert_int_equal(VAL(timed.item), 222);
    queue_destroy(q);
}

static void test_close_drains_then_closed(void **state)
{
    (void)state;
    queue *q = queue_create(5);
    for (uintptr_t v = 1; v <= 3; v++)
        assert_int_equal(queue_push(q, ITEM(v)), QUEUE_OK);
    queue_close(q);
    queue_close(q); /* idempotent */
    assert_int_equal(queue_push(q, ITEM(4)), QUEUE_CLOSED);
    assert_int_equal(queue_len(q), 3);

    void *p = NULL;
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 1);
    assert_int_equal(queue_try_pop(q, &p), QUEUE_OK);
    assert_int_equal(VAL(p), 2);
    assert_int_equal(queue_pop(q, &p, clock_now_s() + 5), QUEUE_OK);
    assert_int_equal(VAL(p), 3);

    p = ITEM(555);
    double t0 = clock_now_s();
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_CLOSED);
    assert_int_equal(queue_pop(q, &p, t0 + 5), QUEUE_CLOSED);
    assert_true(clock_now_s() - t0 < 1.0); /* closed and empty: no waiting */
    assert_int_equal(queue_try_pop(q, &p), QUEUE_TIMEOUT);
    assert_int_equal(VAL(p), 555);
    queue_destroy(q);
}

/* ---- many producers, many consumers ---- */

enum { MP_PRODUCERS = 4, MP_CONSUMERS = 4, MP_PER_PRODUCER = 25000,
       MP_TOTAL = MP_PRODUCERS * MP_PER_PRODUCER };

typedef struct mp_shared {
    queue *q;
    atomic_int seen[MP_TOTAL + 1];
    atomic_int push_failures;
} mp_shared;

typedef struct mp_worker {
    mp_shared *sh;
    int index;
    uint64_t sum;
    long count;
    long order_violations;   /* a producer's items seen out of order */
    long bad_values;
    pthread_t th;
} mp_worker;

static void *mp_producer(void *arg)
{
    mp_worker *w = arg;
    for (int j = 0; j < MP_PER_PRODUCER; j++) {
        uintptr_t v = (uintptr_t)w->index * MP_PER_PRODUCER + (uintptr_t)j + 1;
        if (queue_push(w->sh->q, ITEM(v)) != QUEUE_OK)
            atomic_fetch_add(&w->sh->push_failures, 1);
    }
    return NULL;
}

static void *mp_consumer(void *arg)
{
    mp_worker *w = arg;
    uintptr_t last[MP_PRODUCERS] = {0};
    void *p;
    while (queue_pop(w->sh->q, &p, 0) == QUEUE_OK) {
        uintptr_t v = VAL(p);
        if (v < 1 || v > MP_TOTAL) {
            w->bad_values++;
            continue;
        }
        atomic_fetch_add(&w->sh->seen[v], 1);
        w->sum += v;
        w->count++;
        /* FIFO: one consumer sees each producer's items in increasing order. */
        size_t prod = (size_t)((v - 1) / MP_PER_PRODUCER);
        if (v <= last[prod])
            w->order_violations++;
        last[prod] = v;
    }
    return NULL;
}

static void test_many_producers_many_consumers(void **state)
{
    (void)state;
    mp_shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->q = queue_create(16);
    assert_non_null(sh->q);
    mp_worker prod[MP_PRODUCERS] = {0}, cons[MP_CONSUMERS] = {0};
    for (int i = 0; i < MP_CONSUMERS; i++) {
        cons[i].sh = sh;
        cons[i].index = i;
        assert_int_equal(pthread_create(&cons[i].th, NULL, mp_consumer, &cons[i]), 0);
    }
    for (int i = 0; i < MP_PRODUCERS; i++) {
        prod[i].sh = sh;
        prod[i].index = i;
        assert_int_equal(pthread_create(&prod[i].th, NULL, mp_producer, &prod[i]), 0);
    }
    for (int i = 0; i < MP_PRODUCERS; i++)
        pthread_join(prod[i].th, NULL);
    queue_close(sh->q);
    uint64_t sum = 0;
    long count = 0, violations = 0, bad = 0;
    for (int i = 0; i < MP_CONSUMERS; i++) {
        pthread_join(cons[i].th, NULL);
        sum += cons[i].sum;
        count += cons[i].count;
        violations += cons[i].order_violations;
        bad += cons[i].bad_values;
    }
    assert_int_equal(atomic_load(&sh->push_failures), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(count, MP_TOTAL);
    assert_int_equal(sum, (uint64_t)MP_TOTAL * (MP_TOTAL + 1) / 2);
    long missing = 0, dup = 0;
    for (int v = 1; v <= MP_TOTAL; v++) {
        int s = atomic_load(&sh->seen[v]);
        missing += s == 0;
        dup += s > 1;
    }
    assert_int_equal(missing, 0);
    assert_int_equal(dup, 0);
    assert_int_equal(violations, 0);
    assert_int_equal(queue_len(sh->q), 0);
    queue_destroy(sh->q);
    free(sh);
}

/* Deferred items come out in time order, not before their time, and do not
 * count against the capacity. */
static void test_defer_waits_for_its_time(void **state)
{
    (void)state;
    queue *q = queue_create(1);
    assert_non_null(q);
    double t0 = clock_now_s();
    assert_true(queue_defer(q, ITEM(2), t0 + 0.20));
    assert_true(queue_defer(q, ITEM(1), t0 + 0.10));
    assert_int_equal(queue_push(q, ITEM(9)), QUEUE_OK); /* cap 1: still room */
    assert_int_equal(queue_len(q), 3);
    void *p = NULL;
    assert_int_equal(queue_try_pop(q, &p), QUEUE_OK);
    assert_int_equal(VAL(p), 9); /* the deferred ones are not ready yet */
    assert_int_equal(queue_try_pop(q, &p), QUEUE_TIMEOUT);
    assert_int_equal(queue_pop(q, &p, t0 + 0.05), QUEUE_TIMEOUT);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 1);
    assert_true(clock_now_s() >= t0 + 0.10);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 2);
    assert_true(clock_now_s() >= t0 + 0.20);
    assert_int_equal(queue_len(q), 0);
    queue_destroy(q);
}

/* A consumer asleep with nothing to do wakes for a deferred item added
 * later, at that item's time; a due deferred item goes before pushed ones. */
static void test_defer_wakes_sleeping_consumer(void **state)
{
    (void)state;
    queue *q = queue_create(4);
    assert_non_null(q);
    op_thread o = {0};
    op_start(&o, q, true, NULL, 0);
    sleep_s(0.05);
    double t0 = clock_now_s();
    assert_true(queue_defer(q, ITEM(5), t0 + 0.10));
    assert_true(wait_flag(&o.returned, 5));
    pthread_join(o.th, NULL);
    assert_int_equal(atomic_load(&o.status), QUEUE_OK);
    assert_int_equal(VAL(o.item), 5);
    assert_true(o.t_returned >= t0 + 0.10);

    assert_true(queue_defer(q, ITEM(6), clock_now_s() - 1));
    assert_int_equal(queue_push(q, ITEM(7)), QUEUE_OK);
    void *p = NULL;
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 6);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 7);
    queue_destroy(q);
}

/* A closed queue still takes and delivers deferred items; it reports
 * QUEUE_CLOSED only once they are gone. queue_try_pop_any drains them
 * early. */
static void test_defer_after_close(void **state)
{
    (void)state;
    queue *q = queue_create(2);
    assert_non_null(q);
    queue_close(q);
    assert_int_equal(queue_push(q, ITEM(1)), QUEUE_CLOSED);
    assert_true(queue_defer(q, ITEM(2), clock_now_s() + 0.05));
    void *p = NULL;
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_OK);
    assert_int_equal(VAL(p), 2);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_CLOSED);

    assert_true(queue_defer(q, ITEM(3), clock_now_s() + 3600));
    assert_true(queue_defer(q, ITEM(4), clock_now_s() + 7200));
    assert_int_equal(queue_try_pop(q, &p), QUEUE_TIMEOUT);
    assert_int_equal(queue_try_pop_any(q, &p), QUEUE_OK);
    assert_int_equal(VAL(p), 3);
    assert_int_equal(queue_try_pop_any(q, &p), QUEUE_OK);
    assert_int_equal(VAL(p), 4);
    assert_int_equal(queue_try_pop_any(q, &p), QUEUE_TIMEOUT);
    assert_int_equal(queue_pop(q, &p, 0), QUEUE_CLOSED);
    queue_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order_and_wraparound),
        cmocka_unit_test(test_producer_blocks_when_full),
        cmocka_unit_test(test_pop_deadline_times_out),
        cmocka_unit_test(test_pop_deadline_gets_late_item),
        cmocka_unit_test(test_close_wakes_blocked_producer),
        cmocka_unit_test(test_close_wakes_blocked_consumers),
        cmocka_unit_test(test_close_drains_then_closed),
        cmocka_unit_test(test_many_producers_many_consumers),
        cmocka_unit_test(test_defer_waits_for_its_time),
        cmocka_unit_test(test_defer_wakes_sleeping_consumer),
        cmocka_unit_test(test_defer_after_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
