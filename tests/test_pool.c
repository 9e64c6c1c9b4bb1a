/* Unit tests for the worker pool (src/pool.c): bounds, exactly-once
 * settlement, backpressure, stop / cancel / abandon / reap (in the spirit of
 * libuv's threadpool cancellation tests).
 *
 * cmocka's assertions longjmp, so they run on the main thread only; tasks
 * record what happened to them in atomics that the main thread checks. Items
 * belong to the test and outlive the pool (an abandoned run keeps using its
 * item until release()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thumbd/cancel.h"
#include "thumbd/pool.h"

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* sem_wait with a timeout in seconds; false on timeout. */
static bool sem_wait_for(sem_t *s, double secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double frac = secs - (double)(time_t)secs;
    ts.tv_sec += (time_t)secs;
    ts.tv_nsec += (long)(frac * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc;
    while ((rc = sem_timedwait(s, &ts)) != 0 && errno == EINTR) {
    }
    return rc == 0;
}

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

/* ---- the test task ---- */

typedef enum tmode {
    M_QUICK,    /* returns at once */
    M_WAIT_N,   /* waits (up to 5 s) until `target` tasks are in flight at once */
    M_BLOCK,    /* announces itself, then blocks on ctx->gate: never polls */
    M_POLL,     /* announces itself, polls its token every ms until it trips */
} tmode;

typedef struct tctx {
    atomic_int in_flight, max_in_flight;
    atomic_int total_runs, total_dones, total_releases, total_admits;
    int target;              /* for M_WAIT_N */
    atomic_int reached;      /* latched once `target` tasks were in flight at once */
    sem_t gate;              /* M_BLOCK tasks wait here */
    sem_t started;           /* posted by M_BLOCK and M_POLL tasks when they start */
    sem_t done_sem;          /* posted by done() */
    sem_t release_sem;       /* posted by release() */
} tctx;

typedef struct titem {
    int id;
    tmode mode;
    atomic_int runs, dones, releases;
    atomic_int how, why;     /* what done() was told */
    atomic_int seen;         /* cancel_check() when run() finished */
    atomic_int worker;
    double t_start, t_end;   /* of run(); read only after done() */
    atomic_int retries_wanted;  /* t_retry asks for this many more runs */
    double retry_delay;      /* seconds */
} titem;

static void t_run(void *item, int worker, cancel_token *tok, void *ctx)
{
    titem *it = item;
    tctx *cx = ctx;
    atomic_fetch_add(&it->runs, 1);
    atomic_fetch_add(&cx->total_runs, 1);
    atomic_store(&it->worker, worker);
    it->t_start = clock_now_s();
    int now = atomic_fetch_add(&cx->in_flight, 1) + 1;
    int max = atomic_load(&cx->max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(&cx->max_in_flight, &max, now)) {
    }
    if (cx->target > 0 && now >= cx->target)
        atomic_store(&cx->reached, 1);
    switch (it->mode) {
    case M_QUICK:
        break;
    case M_WAIT_N: {
        double end = clock_now_s() + 5.0;
        while (!atomic_load(&cx->reached) && clock_now_s() < end)
            sleep_s(0.0005);
        break;
    }
    case M_BLOCK:
        sem_post(&cx->started);
        while (sem_wait(&cx->gate) != 0) {
        }
        break;
    case M_POLL: {
        sem_post(&cx->started);
        double end = clock_now_s() + 10.0; /* a safety net, far beyond any test */
        while (cancel_check(tok) == CANCEL_NONE && clock_now_s() < end)
            sleep_s(0.001);
        break;
    }
    }
    atomic_store(&it->seen, (int)cancel_check(tok));
    it->t_end = clock_now_s();
    atomic_fetch_sub(&cx->in_flight, 1);
}

static void t_done(void *item, pool_outcome how, cancel_reason why, void *ctx)
{
    titem *it = item;
    tctx *cx = ctx;
    atomic_store(&it->how, (int)how);
    atomic_store(&it->why, (int)why);
    atomic_fetch_add(&it->dones, 1);
    atomic_fetch_add(&cx->total_dones, 1);
    sem_post(&cx->done_sem);
}

static void t_release(void *item, void *ctx)
{
    titem *it = item;
    tctx *cx = ctx;
    atomic_fetch_add(&it->releases, 1);
    atomic_fetch_add(&cx->total_releases, 1);
    sem_post(&cx->release_sem);
}

static double t_retry(void *item, void *ctx)
{
    titem *it = item;
    (void)ctx;
    if (atomic_load(&it->retries_wanted) <= 0)
        return 0;
    atomic_fetch_sub(&it->retries_wanted, 1);
    return clock_now_s() + it->retry_delay;
}

static tctx *ctx_new(void)
{
    tctx *cx = calloc(1, sizeof *cx);
    assert_non_null(cx);
    sem_init(&cx->gate, 0, 0);
    sem_init(&cx->started, 0, 0);
    sem_init(&cx->done_sem, 0, 0);
    sem_init(&cx->release_sem, 0, 0);
    return cx;
}

static void ctx_free(tctx *cx)
{
    sem_destroy(&cx->gate);
    sem_destroy(&cx->started);
    sem_destroy(&cx->done_sem);
    sem_destroy(&cx->release_sem);
    free(cx);
}

static titem *items_new(int n, tmode mode)
{
    titem *v = calloc((size_t)n, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < n; i++) {
        v[i].id = i;
        v[i].mode = mode;
        atomic_store(&v[i].how, -1);
        atomic_store(&v[i].why, -1);
        atomic_store(&v[i].seen, -1);
        atomic_store(&v[i].worker, -1);
    }
    return v;
}

static pool *make_pool(int workers, size_t cap, tctx *cx, double task_timeout)
{
    pool_ops ops = {
        .run = t_run, .done = t_done, .release = t_release, .ctx = cx,
        .task_timeout = task_timeout,
    };
    pool *p = pool_create(workers, cap, &ops);
    assert_non_null(p);
    return p;
}

static void expect_settled(const titem *it, pool_outcome how, cancel_reason why)
{
    assert_int_equal(atomic_load(&it->dones), 1);
    assert_int_equal(atomic_load(&it->how), how);
    assert_int_equal(atomic_load(&it->why), why);
}

/* ---- a producer thread blocked in pool_submit ---- */

typedef struct submitter {
    pool *p;
    void *item;
    atomic_int returned;
    atomic_int result;
    pthread_t th;
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    bool ok = pool_submit(s->p, s->item);
    atomic_store(&s->result, ok ? 1 : 0);
    atomic_store(&s->returned, 1);
    return NULL;
}

static void submitter_start(submitter *s, pool *p, void *item)
{
    s->p = p;
    s->item = item;
    atomic_store(&s->returned, 0);
    atomic_store(&s->result, -1);
    assert_int_equal(pthread_create(&s->th, NULL, submit_main, s), 0);
}

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
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_bounded_in_flight_exactly_once),
        cmocka_unit_test(test_many_producers_exactly_once),
        cmocka_unit_test(test_submit_blocks_when_busy_and_full),
        cmocka_unit_test(test_stop_settles_queued_running_continue),
        cmocka_unit_test(test_submit_after_close_refused),
        cmocka_unit_test(test_cancel_running_trips_tokens),
        cmocka_unit_test(test_shutdown_timeout_then_abandon),
        cmocka_unit_test(test_abandon_uses_given_reason_without_token_reason),
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
