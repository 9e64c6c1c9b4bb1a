/* Unit tests for the worker pool (src/pool.c), part 1: bounds, exactly-once
 * settlement, backpressure, stop, cancel, abandon (helpers: pool_util.h). */
#include "pool_util.h"

/* ---- tests ---- */

static void test_create_rejects_bad_arguments(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    pool_ops ops = {.run = t_run, .done = t_done, .ctx = cx};
    assert_null(pool_create(0, 4, &ops));
    assert_null(pool_create(2, 4, NULL));
    pool_ops no_done = {.run = t_run, .ctx = cx};
    assert_null(pool_create(2, 4, &no_done));
    ctx_free(cx);
}

static void test_bounded_in_flight_exactly_once(void **state)
{
    (void)state;
    enum { W = 3, N = 3000 };
    tctx *cx = ctx_new();
    cx->target = W;
    titem *v = items_new(N, M_QUICK);
    for (int i = 0; i < W; i++)
        v[i].mode = M_WAIT_N; /* forces W tasks in flight at once */
    pool *p = make_pool(W, 4, cx, 0);
    for (int i = 0; i < N; i++)
        assert_true(pool_submit(p, &v[i]));
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 30));
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);

    assert_int_equal(atomic_load(&cx->max_in_flight), W);
    assert_int_equal(atomic_load(&cx->in_flight), 0);
    assert_int_equal(atomic_load(&cx->total_runs), N);
    assert_int_equal(atomic_load(&cx->total_dones), N);
    assert_int_equal(atomic_load(&cx->total_releases), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&v[i].runs), 1);
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
        assert_int_equal(atomic_load(&v[i].seen), CANCEL_NONE);
        int w = atomic_load(&v[i].worker);
        assert_true(w >= 0 && w < W);
    }
    free(v);
    ctx_free(cx);
}

typedef struct multi_sub {
    pool *p;
    titem *items;
    int n;
    atomic_int refused;
    pthread_t th;
} multi_sub;

static void *multi_sub_main(void *arg)
{
    multi_sub *m = arg;
    for (int i = 0; i < m->n; i++)
        if (!pool_submit(m->p, &m->items[i]))
            atomic_fetch_add(&m->refused, 1);
    return NULL;
}

static void test_many_producers_exactly_once(void **state)
{
    (void)state;
    enum { W = 2, PRODUCERS = 4, PER = 500 };
    tctx *cx = ctx_new();
    titem *v = items_new(PRODUCERS * PER, M_QUICK);
    pool *p = make_pool(W, 3, cx, 0);
    multi_sub m[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        m[i].p = p;
        m[i].items = v + i * PER;
        m[i].n = PER;
        atomic_store(&m[i].refused, 0);
        assert_int_equal(pthread_create(&m[i].th, NULL, multi_sub_main, &m[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(m[i].th, NULL);
        assert_int_equal(atomic_load(&m[i].refused), 0);
    }
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 30));
    pool_destroy(p);
    assert_true(atomic_load(&cx->max_in_flight) <= W);
    assert_int_equal(atomic_load(&cx->total_dones), PRODUCERS * PER);
    for (int i = 0; i < PRODUCERS * PER; i++) {
        assert_int_equal(atomic_load(&v[i].runs), 1);
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
    }
    free(v);
    ctx_free(cx);
}

static void test_submit_blocks_when_busy_and_full(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(5, M_QUICK);
    v[0].mode = v[1].mode = M_BLOCK;
    pool *p = make_pool(2, 2, cx, 0);

    assert_true(pool_submit(p, &v[0]));
    assert_true(pool_submit(p, &v[1]));
    assert_true(sem_wait_for(&cx->started, 5));
    assert_true(sem_wait_for(&cx->started, 5));
    /* Both workers busy; these two fill the queue. */
    assert_true(pool_submit(p, &v[2]));
    assert_true(pool_submit(p, &v[3]));

    submitter s;
    submitter_start(&s, p, &v[4]);
    sleep_s(0.2);
    assert_int_equal(atomic_load(&s.returned), 0); /* backpressure */
    assert_int_equal(atomic_load(&v[2].runs), 0);
    assert_int_equal(atomic_load(&v[4].runs), 0);

    sem_post(&cx->gate); /* one worker frees up, takes v[2], the queue has room */
    assert_true(wait_flag(&s.returned, 5));
    pthread_join(s.th, NULL);
    assert_int_equal(atomic_load(&s.result), 1);

    sem_post(&cx->gate);
    pool_close(p);
    assert_true(pool_wait(p, clock_now_s() + 5));
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(atomic_load(&v[i].runs), 1);
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
    }
    assert_true(atomic_load(&cx->max_in_flight) <= 2);
    free(v);
    ctx_free(cx);
}

static void test_stop_settles_queued_running_continue(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(8, M_QUICK);
    v[0].mode = v[1].mode = M_BLOCK;
    pool *p = make_pool(2, 8, cx, 0);

    assert_true(pool_submit(p, &v[0]));
    assert_true(pool_submit(p, &v[1]));
    assert_true(sem_wait_for(&cx->started, 5));
    assert_true(sem_wait_for(&cx->started, 5));
    for (int i = 2; i < 7; i++)
        assert_true(pool_submit(p, &v[i]));
    assert_int_equal(pool_pending(p), 7);

    pool_stop(p, CANCEL_SHUTDOWN);
    /* Queued ones are settled by the time pool_stop returns. */
    for (int i = 2; i < 7; i++) {
        expect_settled(&v[i], POOL_NOT_STARTED, CANCEL_SHUTDOWN);
        assert_int_equal(atomic_load(&v[i].runs), 0);
    }
    /* Running ones go on, untouched. */
    assert_int_equal(atomic_load(&v[0].dones), 0);
    assert_int_equal(atomic_load(&v[1].dones), 0);
    assert_int_equal(pool_pending(p), 2);

    /* Refused after stop: done() is not called for it. */
    assert_false(pool_submit(p, &v[7]));
    assert_int_equal(pool_pending(p), 2);

    sem_post(&cx->gate);
    sem_post(&cx->gate);
    assert_true(pool_wait(p, clock_now_s() + 5));
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);

    for (int i = 0; i < 2; i++) {
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE);
        assert_int_equal(atomic_load(&v[i].seen), CANCEL_NONE); /* stop does not cancel */
    }
    assert_int_equal(atomic_load(&v[7].dones), 0);
    assert_int_equal(atomic_load(&v[7].runs), 0);
    assert_int_equal(atomic_load(&cx->total_dones), 7);
    free(v);
    ctx_free(cx);
}

static void test_submit_after_close_refused(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(2, M_QUICK);
    pool *p = make_pool(1, 2, cx, 0);
    assert_true(pool_submit(p, &v[0]));
    pool_close(p);
    assert_false(pool_submit(p, &v[1]));
    assert_true(pool_wait(p, clock_now_s() + 5));
    assert_int_equal(pool_pending(p), 0);
    pool_destroy(p);
    expect_settled(&v[0], POOL_RAN, CANCEL_NONE);
    assert_int_equal(atomic_load(&v[1].dones), 0);
    assert_int_equal(atomic_load(&v[1].runs), 0);
    free(v);
    ctx_free(cx);
}

static void test_cancel_running_trips_tokens(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(4, M_POLL);
    v[3].mode = M_QUICK; /* queued behind the pollers: must get a fresh token */
    pool *p = make_pool(3, 4, cx, 0);
    for (int i = 0; i < 4; i++)
        assert_true(pool_submit(p, &v[i]));
    for (int i = 0; i < 3; i++)
        assert_true(sem_wait_for(&cx->started, 5));
    sleep_s(0.05);
    assert_int_equal(atomic_load(&cx->total_dones), 0); /* pollers really wait */

    double t0 = clock_now_s();
    pool_cancel_running(p, CANCEL_DEADLINE);
    pool_close(p);
    assert_true(pool_wait(p, t0 + 5));
    assert_true(clock_now_s() - t0 < 1.0);
    pool_destroy(p);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&v[i].seen), CANCEL_DEADLINE);
        expect_settled(&v[i], POOL_RAN, CANCEL_DEADLINE);
    }
    assert_int_equal(atomic_load(&v[3].seen), CANCEL_NONE);
    expect_settled(&v[3], POOL_RAN, CANCEL_NONE);
    free(v);
    ctx_free(cx);
}

static void test_shutdown_timeout_then_abandon(void **state)
{
    (void)state;
    enum { N = 7 };
    tctx *cx = ctx_new();
    titem *v = items_new(N, M_QUICK);
    v[3].mode = v[4].mode = M_BLOCK;
    pool *p = make_pool(2, 4, cx, 0);

    /* Three tasks that finish before the shutdown. */
    for (int i = 0; i < 3; i++)
        assert_true(pool_submit(p, &v[i]));
    for (int i = 0; i < 3; i++)
        assert_true(sem_wait_for(&cx->done_sem, 5));
    /* Two stuck tasks that never poll, two queued behind them. */
    assert_true(pool_submit(p, &v[3]));
    assert_true(pool_submit(p, &v[4]));
    assert_true(sem_wait_for(&cx->started, 5));
    assert_true(sem_wait_for(&cx->started, 5));
    assert_true(pool_submit(p, &v[5]));
    assert_true(pool_submit(p, &v[6]));

    pool_stop(p, CANCEL_SHUTDOWN);
    pool_cancel_running(p, CANCEL_DEADLINE);
    double t0 = clock_now_s();
    assert_false(pool_wait(p, t0 + 0.3));
    double el = clock_now_s() - t0;
    assert_true(el >= 0.29);
    assert_true(el <= 0.3 + 0.25);

    assert_int_equal(pool_abandon_running(p, CANCEL_SHUTDOWN), 2);
    for (int i = 3; i < 5; i++) {
        /* The token's reason wins over the one given to abandon. */
        expect_settled(&v[i], POOL_ABANDONED, CANCEL_DEADLINE);
        assert_int_equal(atomic_load(&v[i].releases), 0);
    }
    for (int i = 5; i < 7; i++)
        expect_settled(&v[i], POOL_NOT_STARTED, CANCEL_SHUTDOWN);
    for (int i = 0; i < 3; i++)
        expect_settled(&v[i], POOL_RAN, CANCEL_NONE); /* not reported again */
    assert_int_equal(pool_abandon_running(p, CANCEL_SHUTDOWN), 0);
    assert_int_equal(pool_pending(p), 0);
    assert_true(pool_wait(p, clock_now_s() + 1));

    /* The stuck runs return at last: release(), and no second done(). */
    sem_post(&cx->gate);
    sem_post(&cx->gate);
    assert_true(sem_wait_for(&cx->release_sem, 5));
    assert_true(sem_wait_for(&cx->release_sem, 5));
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&v[i].dones), 1);
        assert_int_equal(atomic_load(&v[i].releases), i == 3 || i == 4 ? 1 : 0);
        assert_int_equal(atomic_load(&v[i].runs), i < 5 ? 1 : 0);
    }
    assert_int_equal(atomic_load(&v[3].seen), CANCEL_DEADLINE);
    assert_int_equal(atomic_load(&cx->total_dones), N);
    assert_int_equal(atomic_load(&cx->total_releases), 2);
    sleep_s(0.05); /* let the detached threads leave release() */
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

static void test_abandon_uses_given_reason_without_token_reason(void **state)
{
    (void)state;
    tctx *cx = ctx_new();
    titem *v = items_new(1, M_BLOCK);
    pool *p = make_pool(1, 1, cx, 0);
    assert_true(pool_submit(p, &v[0]));
    assert_true(sem_wait_for(&cx->started, 5));
    pool_stop(p, CANCEL_SHUTDOWN);
    assert_int_equal(pool_abandon_running(p, CANCEL_SHUTDOWN), 1);
    expect_settled(&v[0], POOL_ABANDONED, CANCEL_SHUTDOWN);
    assert_true(pool_wait(p, clock_now_s() + 1));
    sem_post(&cx->gate);
    assert_true(sem_wait_for(&cx->release_sem, 5));
    assert_int_equal(atomic_load(&v[0].releases), 1);
    assert_int_equal(atomic_load(&v[0].dones), 1);
    sleep_s(0.05);
    pool_destroy(p);
    free(v);
    ctx_free(cx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_bounded_in_flight_exactly_once),
        cmocka_unit_test(test_many_producers_exactly_once),
        cmocka_unit_test(test_submit_blocks_when_busy_and_full),
        cmocka_unit_test(test_stop_settles_queued_running_continue),
        cmocka_unit_test(test_submit_after_close_refused),
        cmocka_unit_test(test_cancel_running_trips_tokens),
        cmocka_unit_test(test_shutdown_timeout_then_abandon),
        cmocka_unit_test(test_abandon_uses_given_reason_without_token_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
