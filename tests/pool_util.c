/* Helpers shared by the worker pool's unit tests (test_pool.c,
 * test_poolreap.c): the test tasks, their context and items, a pool over them,
 * a submitter thread. */
#include "pool_util.h"

void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

bool sem_wait_for(sem_t *s, double secs)
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

bool wait_flag(atomic_int *flag, double limit)
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

void t_run(void *item, int worker, cancel_token *tok, void *ctx)
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

void t_done(void *item, pool_outcome how, cancel_reason why, void *ctx)
{
    titem *it = item;
    tctx *cx = ctx;
    atomic_store(&it->how, (int)how);
    atomic_store(&it->why, (int)why);
    atomic_fetch_add(&it->dones, 1);
    atomic_fetch_add(&cx->total_dones, 1);
    sem_post(&cx->done_sem);
}

void t_release(void *item, void *ctx)
{
    titem *it = item;
    tctx *cx = ctx;
    atomic_fetch_add(&it->releases, 1);
    atomic_fetch_add(&cx->total_releases, 1);
    sem_post(&cx->release_sem);
}

tctx *ctx_new(void)
{
    tctx *cx = calloc(1, sizeof *cx);
    assert_non_null(cx);
    sem_init(&cx->gate, 0, 0);
    sem_init(&cx->started, 0, 0);
    sem_init(&cx->done_sem, 0, 0);
    sem_init(&cx->release_sem, 0, 0);
    return cx;
}

void ctx_free(tctx *cx)
{
    sem_destroy(&cx->gate);
    sem_destroy(&cx->started);
    sem_destroy(&cx->done_sem);
    sem_destroy(&cx->release_sem);
    free(cx);
}

titem *items_new(int n, tmode mode)
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

pool *make_pool(int workers, size_t cap, tctx *cx, double task_timeout)
{
    pool_ops ops = {
        .run = t_run, .done = t_done, .release = t_release, .ctx = cx,
        .task_timeout = task_timeout,
    };
    pool *p = pool_create(workers, cap, &ops);
    assert_non_null(p);
    return p;
}

void expect_settled(const titem *it, pool_outcome how, cancel_reason why)
{
    assert_int_equal(atomic_load(&it->dones), 1);
    assert_int_equal(atomic_load(&it->how), how);
    assert_int_equal(atomic_load(&it->why), why);
}

/* ---- a producer thread blocked in pool_submit ---- */

void *submit_main(void *arg)
{
    submitter *s = arg;
    bool ok = pool_submit(s->p, s->item);
    atomic_store(&s->result, ok ? 1 : 0);
    atomic_store(&s->returned, 1);
    return NULL;
}

void submitter_start(submitter *s, pool *p, void *item)
{
    s->p = p;
    s->item = item;
    atomic_store(&s->returned, 0);
    atomic_store(&s->result, -1);
    assert_int_equal(pthread_create(&s->th, NULL, submit_main, s), 0);
}
