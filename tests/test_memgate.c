/* Unit tests for the decoder memory budget (src/memgate.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "thumbd/memgate.h"

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void test_within_budget(void **state)
{
    (void)state;
    memgate *g = memgate_create(100);
    assert_non_null(g);
    cancel_token tok;
    cancel_init(&tok, 0);
    char err[TD_ERRLEN];
    assert_int_equal(memgate_acquire(g, 60, false, &tok, err), TD_OK);
    assert_int_equal(memgate_acquire(g, 40, false, &tok, err), TD_OK);
    assert_int_equal(memgate_in_use(g), 100);
    memgate_release(g, 60);
    memgate_release(g, 40);
    assert_int_equal(memgate_in_use(g), 0);
    /* Larger than the whole budget: granted when nothing else is held. */
    assert_int_equal(memgate_acquire(g, 500, false, &tok, err), TD_OK);
    memgate_release(g, 500);
    memgate_destroy(g);
    /* No gate, or a budget of 0: never in the way. */
    assert_int_equal(memgate_acquire(NULL, 1u << 30, true, &tok, err), TD_OK);
    g = memgate_create(0);
    assert_int_equal(memgate_acquire(g, 1u << 30, true, &tok, err), TD_OK);
    assert_int_equal(memgate_acquire(g, 1u << 30, true, &tok, err), TD_OK);
    memgate_destroy(g);
}

/* may_defer: a reservation that would wait returns TD_EBUSY at once and
 * holds nothing. */
static void test_defer_instead_of_waiting(void **state)
{
    (void)state;
    memgate *g = memgate_create(100);
    cancel_token tok;
    cancel_init(&tok, 0);
    char err[TD_ERRLEN] = "";
    assert_int_equal(memgate_acquire(g, 70, false, &tok, err), TD_OK);
    assert_int_equal(memgate_acquire(g, 40, true, &tok, err), TD_EBUSY);
    assert_true(err[0] != '\0');
    assert_int_equal(memgate_in_use(g), 70);
    assert_int_equal(memgate_acquire(g, 30, true, &tok, err), TD_OK); /* fits: no deferral */
    memgate_release(g, 30);
    memgate_release(g, 70);
    assert_int_equal(memgate_acquire(g, 40, true, &tok, err), TD_OK);
    memgate_release(g, 40);
    memgate_destroy(g);
}

typedef struct waiter {
    memgate *g;
    cancel_token tok;
    size_t bytes;
    td_status st;
    atomic_bool done;
} waiter;

static void *wait_for(void *arg)
{
    waiter *w = arg;
    char err[TD_ERRLEN];
    w->st = memgate_acquire(w->g, w->bytes, false, &w->tok, err);
    atomic_store(&w->done, true);
    return NULL;
}

/* Without may_defer a reservation waits until enough is released, or until
 * its token trips (then it holds nothing). */
static void test_waits_for_release_or_cancel(void **state)
{
    (void)state;
    memgate *g = memgate_create(100);
    cancel_token tok;
    cancel_init(&tok, 0);
    char err[TD_ERRLEN];
    assert_int_equal(memgate_acquire(g, 70, false, &tok, err), TD_OK);
    waiter w = {.g = g, .bytes = 40};
    cancel_init(&w.tok, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_for, &w), 0);
    sleep_ms(60);
    assert_false(atomic_load(&w.done));
    memgate_release(g, 70);
    pthread_join(th, NULL);
    assert_int_equal(w.st, TD_OK);
    assert_int_equal(memgate_in_use(g), 40);

    waiter c = {.g = g, .bytes = 80};
    cancel_init(&c.tok, 0);
    assert_int_equal(pthread_create(&th, NULL, wait_for, &c), 0);
    sleep_ms(30);
    assert_false(atomic_load(&c.done));
    cancel_request(&c.tok, CANCEL_SHUTDOWN);
    pthread_join(th, NULL);
    assert_int_equal(c.st, TD_ECANCEL);
    assert_int_equal(memgate_in_use(g), 40);
    memgate_release(g, 40);
    memgate_destroy(g);
}

/* The bound: --max-memory plus MEMGATE_SLACK admitted, more refused with
 * the figure to ask for; 0 bounds nothing; no sum wraps around. */
static void test_bound(void **state)
{
    (void)state;
    char err[TD_ERRLEN];
    const size_t mib = 1u << 20;
    assert_int_equal(memgate_within_bound(40 * mib, 40 * mib + MEMGATE_SLACK, err), TD_OK);
    assert_int_equal(memgate_within_bound(40 * mib, 1, err), TD_OK);
    assert_int_equal(memgate_within_bound(0, SIZE_MAX, err), TD_OK);
    assert_int_equal(memgate_within_bound(UINT64_MAX, SIZE_MAX, err), TD_OK);
    assert_int_equal(memgate_within_bound(40 * mib, 40 * mib + MEMGATE_SLACK + 1, err), TD_ELIMIT);
    assert_non_null(strstr(err, "raise --max-memory to 41M or more"));
    assert_int_equal(memgate_within_bound(40 * mib, SIZE_MAX, err), TD_ELIMIT);
    assert_non_null(strstr(err, "over --max-memory 40 MiB (+8 MiB margin)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_budget),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_defer_instead_of_waiting),
        cmocka_unit_test(test_waits_for_release_or_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
