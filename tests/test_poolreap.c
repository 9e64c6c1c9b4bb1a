/* Unit tests for the worker pool (src/pool.c), part 2: a blocked producer
 * released by stop, task deadlines, reaping overdue workers, retries,
 * resizing, admission (helpers: pool_util.h). */
#include "pool_util.h"

static double t_retry(void *item, void *ctx)
{
    titem *it = item;
    (void)ctx;
    if (atomic_load(&it->retries_wanted) <= 0)
        return 0;
    atomic_fetch_sub(&it->retries_wanted, 1);
    return clock_now_s() + it->retry_delay;
}

static void test_stop_releases_blocked_producer(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(3, M_QUICK);
    v[0].mode = M_BLOCK;
    pool *p = make_pool(1, 1, cx, 0);
    assert_true(pool_submit(p, &v[0]));
    assert_true(sem_wait_for(&cx->started, 5));
    assert_true(pool_submit(p, &v[1])); /* the queue is now full */

    submitter s;
    submitter_start(&s, p, &v[2]);
    sleep_s(0.15);
    assert_int_equal(atomic_load(&s.returned), 0);

    pool_stop(p, CANCEL_SHUTDOWN);
    assert_true(wait_flag(&s.returned, 2));
    pthread_join(s.th, NULL);
    assert_int_equal(atomic_load(&s.result), 0);
    assert_int_equal(atomic_load(&v[2].dones), 0); /* not taken: no done() */
    expect_settled(&v[1], POOL_NOT_STARTED, CANCEL_SHUTDOWN);
    assert_int_equal(pool_pending(p), 1);

    sem_post(&cx->gate);
    assert_true(pool_wait(p, clock_now_s() + 5));
    pool_destroy(p);
    expect_settled(&v[0], POOL_RAN, CANCEL_NONE);
    assert_int_equal(atomic_load(&v[1].runs), 0);
    assert_int_equal(atomic_load(&v[2].runs), 0);
    free(v);
    ctx_free(cx);
}

static void test_task_timeout_sets_deadline(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(2, M_POLL);
    v[1].mode = M_QUICK;
    pool *p = make_pool(1, 2, cx, 0.15);
    assert_true(pool_submit(p, &v[0]));
    assert_true(pool_submit(p, &v[1]));
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 5));
    pool_destroy(p);

    assert_int_equal(atomic_load(&v[0].seen), CANCEL_TIMEOUT);
    expect_settled(&v[0], POOL_RAN, CANCEL_TIMEOUT);
    double ran = v[0].t_end - v[0].t_start;
    assert_true(ran >= 0.14);
    assert_true(ran < 1.0);
    /* The next task gets a fresh token and deadline. */
    assert_int_equal(atomic_load(&v[1].seen), CANCEL_NONE);
    expect_settled(&v[1], POOL_RAN, CANCEL_NONE);
    free(v);
    ctx_free(cx);
}

static void test_reap_overdue_replaces_worker(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(4, M_QUICK);
    v[0].mode = M_BLOCK;
    pool *p = make_pool(1, 4, cx, 0.1);
    assert_true(pool_submit(p, &v[0]));
    assert_true(sem_wait_for(&cx->started, 5));
    double t_started = clock_now_s();
    assert_true(pool_submit(p, &v[1]));
    assert_true(pool_submit(p, &v[2]));

    /* Not yet past deadline + grace. */
    assert_int_equal(pool_reap_overdue(p, 0.2), 0);
    assert_int_equal(atomic_load(&v[0].dones), 0);
    sleep_s(0.15);
    assert_int_equal(pool_reap_overdue(p, 0.2), 0); /* past the deadline, within grace */
    assert_int_equal(atomic_load(&v[1].runs), 0);   /* the only worker is stuck */

    double until = t_started + 0.1 + 0.2 + 0.1;
    double now = clock_now_s();
    if (now < until)
        sleep_s(until - now);
    assert_int_equal(pool_reap_overdue(p, 0.2), 1);
    expect_settled(&v[0], POOL_ABANDONED, CANCEL_TIMEOUT);

    /* A replacement worker runs what was queued. */
    assert_true(sem_wait_for(&cx->done_sem, 5)); /* v[0] */
    assert_true(sem_wait_for(&cx->done_sem, 5));
    assert_true(sem_wait_for(&cx->done_sem, 5));
    int stuck_worker = atomic_load(&v[0].worker);
    for (int i = 1; i < 3; i++) {
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
        assert_int_not_equal(atomic_load(&v[i].worker), stuck_worker);
    }
    assert_int_equal(pool_reap_overdue(p, 0.2), 0); /* never reported twice */
    assert_int_equal(atomic_load(&v[0].dones), 1);

    /* The stuck run returns: its token was tripped, release() gives it back. */
    sem_post(&cx->gate);
    assert_true(sem_wait_for(&cx->release_sem, 5));
    assert_int_equal(atomic_load(&v[0].releases), 1);
    assert_int_equal(atomic_load(&v[0].dones), 1);
    assert_int_equal(atomic_load(&v[0].seen), CANCEL_TIMEOUT);

    /* Later tasks still run. */
    assert_true(pool_submit(p, &v[3]));
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 5));
    assert_int_equal(pool_pending(p), 0);
    expect_settled(&v[3], POOL_RAN, CANCEL_NONE);
    assert_int_equal(atomic_load(&cx->total_dones), 4);
    assert_int_equal(atomic_load(&cx->total_releases), 1);
    sleep_s(0.05);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

/* A task asking for a retry waits in the queue, not in a worker: with one
 * worker, the next task runs during the backoff; the retried one runs again
 * after its delay and is settled once. */
static void test_retry_waits_without_holding_worker(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(2, M_QUICK);
    atomic_store(&v[0].retries_wanted, 1);
    v[0].retry_delay = 0.3;
    pool_ops ops = {.run = t_run, .done = t_done, .retry = t_retry, .ctx = cx};
    pool *p = pool_create(1, 4, &ops);
    assert_non_null(p);
    double t0 = clock_now_s();
    assert_true(pool_submit(p, &v[0]));
    assert_true(pool_submit(p, &v[1]));
    pool_close(p);
    assert_true(sem_wait_for(&cx->done_sem, 5));
    assert_int_equal(atomic_load(&v[1].dones), 1); /* v[1] first: v[0] was waiting */
    assert_int_equal(atomic_load(&v[0].dones), 0);
    double end = clock_now_s() + 5; /* done() comes before the count drops */
    while (pool_pending(p) != 1 && clock_now_s() < end)
        sleep_s(0.001);
    assert_int_equal(pool_pending(p), 1);
    assert_true(pool_wait(p, clock_now_s() + 5));
    assert_int_equal(atomic_load(&v[0].runs), 2);
    expect_settled(&v[0], POOL_RAN, CANCEL_NONE);
    assert_true(v[0].t_start >= t0 + 0.3);
    assert_true(v[1].t_end < v[0].t_start);
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

/* pool_stop settles a task waiting for its retry at once, as not started,
 * even though its time is an hour away. */
static void test_stop_settles_task_waiting_to_retry(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(1, M_QUICK);
    atomic_store(&v[0].retries_wanted, 1);
    v[0].retry_delay = 3600;
    pool_ops ops = {.run = t_run, .done = t_done, .retry = t_retry, .ctx = cx};
    pool *p = pool_create(2, 4, &ops);
    assert_non_null(p);
    assert_true(pool_submit(p, &v[0]));
    double end = clock_now_s() + 5;
    while (atomic_load(&v[0].retries_wanted) != 0 && clock_now_s() < end)
        sleep_s(0.001);
    assert_int_equal(atomic_load(&v[0].runs), 1);
    assert_int_equal(atomic_load(&v[0].dones), 0);
    double t0 = clock_now_s();
    pool_stop(p, CANCEL_SHUTDOWN);
    expect_settled(&v[0], POOL_NOT_STARTED, CANCEL_SHUTDOWN);
    assert_true(pool_wait(p, clock_now_s() + 2));
    assert_true(clock_now_s() - t0 < 1.0);
    assert_int_equal(atomic_load(&v[0].runs), 1);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

/* pool_resize starts workers at once, and retires the extra ones (idle or
 * after their task) when shrinking; the pool keeps working. */
static void test_resize_grows_and_shrinks(void **state)
{
    (void)state;
    enum { N = 200 };
    tctx *cx = ctx_new();
    cx->target = 4;
    titem *v = items_new(N, M_QUICK);
    for (int i = 0; i < 4; i++)
        v[i].mode = M_WAIT_N; /* needs 4 workers at once */
    pool *p = make_pool(1, 8, cx, 0);
    assert_int_equal(pool_workers(p), 1);
    assert_int_equal(pool_resize(p, 4), 4);
    assert_int_equal(pool_workers(p), 4);
    for (int i = 0; i < 4; i++)
        assert_true(pool_submit(p, &v[i]));
    for (int i = 0; i < 4; i++)
        assert_true(sem_wait_for(&cx->done_sem, 5));
    assert_int_equal(atomic_load(&cx->max_in_flight), 4);

    assert_int_equal(pool_resize(p, 2), 2);
    double end = clock_now_s() + 2;
    while (pool_workers(p) != 2 && clock_now_s() < end)
        sleep_s(0.005);
    assert_int_equal(pool_workers(p), 2);
    for (int i = 4; i < N; i++)
        assert_true(pool_submit(p, &v[i]));
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 10));
    for (int i = 0; i < N; i++)
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

static void t_admit(void *ctx)
{
    tctx *cx = ctx;
    atomic_fetch_add(&cx->total_admits, 1);
}

/* admit() is called once per task, before the worker takes it, not once per
 * idle wake-up. */
static void test_admit_once_per_task(void **state)
{
    (void)state;
    enum { N = 20 };
    tctx *cx = ctx_new();
    titem *v = items_new(N, M_QUICK);
    pool_ops ops = {.run = t_run, .done = t_done, .admit = t_admit, .ctx = cx};
    pool *p = pool_create(2, 4, &ops);
    assert_non_null(p);
    sleep_s(0.35); /* idle workers wake several times */
    assert_int_equal(atomic_load(&cx->total_admits), 2);
    for (int i = 0; i < N; i++)
        assert_true(pool_submit(p, &v[i]));
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 5));
    /* N tasks, plus the one each worker was admitted for when it found the
     * queue closed. */
    assert_int_equal(atomic_load(&cx->total_runs), N);
    assert_in_range(atomic_load(&cx->total_admits), N, N + 2);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_releases_blocked_producer),
        cmocka_unit_test(test_task_timeout_sets_deadline),
        cmocka_unit_test(test_reap_overdue_replaces_worker),
        cmocka_unit_test(test_retry_waits_without_holding_worker),
        cmocka_unit_test(test_stop_settles_task_waiting_to_retry),
        cmocka_unit_test(test_resize_grows_and_shrinks),
        cmocka_unit_test(test_admit_once_per_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
