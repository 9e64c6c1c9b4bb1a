/* Unit tests for the reorder window of --ordered (src/reorder.c): items
 * come out in id order whatever order they go in, passed ids are skipped,
 * ids beyond the window are held, the end of a run takes everything, and a
 * waiter is held back by the window and let go by its turn or a stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "thumbd/clock.h"
#include "thumbd/reorder.h"

static int items[64]; /* item i is &items[i], for id i */

static void test_out_of_order_in_order_out(void **state)
{
    (void)state;
    reorder *ro = reorder_new(4);
    assert_non_null(ro);
    assert_true(reorder_put(ro, 3, &items[3]));
    assert_null(reorder_take(ro, false)); /* 1 has not come */
    assert_true(reorder_put(ro, 1, &items[1]));
    assert_ptr_equal(reorder_take(ro, false), &items[1]);
    assert_null(reorder_take(ro, false)); /* 2 has not come */
    assert_true(reorder_put(ro, 2, REORDER_PASS));
    assert_ptr_equal(reorder_take(ro, false), REORDER_PASS);
    assert_ptr_equal(reorder_take(ro, false), &items[3]);
    assert_null(reorder_take(ro, false));
    assert_false(reorder_put(ro, 2, &items[2])); /* taken already: the caller writes it */
    reorder_free(ro);
}

/* Ids far beyond the window are held (it grows), and come out in order. */
static void test_beyond_window_grows(void **state)
{
    (void)state;
    reorder *ro = reorder_new(2);
    for (int id = 40; id >= 1; id--)
        assert_true(reorder_put(ro, (uint64_t)id, &items[id]));
    for (int id = 1; id <= 40; id++)
        assert_ptr_equal(reorder_take(ro, false), &items[id]);
    assert_null(reorder_take(ro, false));
    reorder_free(ro);
}

/* The end of a run: gaps are skipped, nothing stays held. */
static void test_take_any_skips_gaps(void **state)
{
    (void)state;
    reorder *ro = reorder_new(8);
    assert_true(reorder_put(ro, 5, &items[5]));
    assert_true(reorder_put(ro, 2, &items[2]));
    assert_null(reorder_take(ro, false));
    assert_ptr_equal(reorder_take(ro, true), &items[2]);
    assert_ptr_equal(reorder_take(ro, true), &items[5]);
    assert_null(reorder_take(ro, true));
    assert_true(reorder_put(ro, 6, &items[6])); /* and it goes on after them */
    assert_ptr_equal(reorder_take(ro, false), &items[6]);
    reorder_free(ro);
}

typedef struct waiter {
    reorder *ro;
    uint64_t id;
    atomic_bool stop, done;
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    reorder_wait(w->ro, w->id, &w->stop);
    atomic_store(&w->done, true);
    return NULL;
}

static void test_wait_for_turn_or_stop(void **state)
{
    (void)state;
    reorder *ro = reorder_new(3);
    reorder_wait(ro, 3, NULL); /* ids 1..3 fit: no wait */
    waiter w = {.ro = ro, .id = 4};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
    usleep(100 * 1000);
    assert_false(atomic_load(&w.done)); /* 4 waits for 1 */
    assert_true(reorder_put(ro, 1, &items[1]));
    assert_ptr_equal(reorder_take(ro, false), &items[1]);
    pthread_join(th, NULL);
    assert_true(atomic_load(&w.done));

    w.id = 10; /* far off: only a stop ends the wait */
    atomic_store(&w.done, false);
    assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
    usleep(100 * 1000);
    assert_false(atomic_load(&w.done));
    atomic_store(&w.stop, true);
    double t0 = clock_now_s();
    pthread_join(th, NULL);
    assert_true(clock_now_s() - t0 < 1.0);
    reorder_free(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_in_order_out),
        cmocka_unit_test(test_beyond_window_grows),
        cmocka_unit_test(test_take_any_skips_gaps),
        cmocka_unit_test(test_wait_for_turn_or_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
