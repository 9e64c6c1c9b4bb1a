/* Unit tests for the token bucket (src/ratelimit.c), on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "thumbd/ratelimit.h"

/* A full bucket lets `burst` starts through at once, then one per 1/rate. */
static void test_burst_then_rate(void **state)
{
    (void)state;
    ratelimit rl;
    ratelimit_init(&rl, 20, 4, 100.0);
    for (int i = 0; i < 4; i++)
        assert_true(ratelimit_take(&rl, 100.0) == 0);
    double w = ratelimit_take(&rl, 100.0);
    assert_true(fabs(w - 0.05) < 1e-9);
    assert_true(ratelimit_take(&rl, 100.0 + 0.049) > 0);
    assert_true(ratelimit_take(&rl, 100.0 + 0.0501) == 0);
    ratelimit_destroy(&rl);
}

/* Over a long stretch the count of starts is rate * time + burst, whatever
 * the polling pattern; idle time fills the bucket only up to burst. */
static void test_long_run_average(void **state)
{
    (void)state;
    ratelimit rl;
    ratelimit_init(&rl, 20, 2, 0.0);
    int started = 0;
    double now = 0;
    while (now < 5.0) { /* greedy takers that sleep exactly as told */
        double w = ratelimit_take(&rl, now);
        if (w == 0)
            started++;
        else
            now += w;
    }
    assert_in_range(started, 100, 102); /* 2 at once + 20/s for 5 s */
    /* A minute idle: still only a burst of 2. */
    now += 60;
    assert_true(ratelimit_take(&rl, now) == 0);
    assert_true(ratelimit_take(&rl, now) == 0);
    assert_true(ratelimit_take(&rl, now) > 0);
    ratelimit_destroy(&rl);
}

/* A clock read that comes in late (another thread read it earlier) neither
 * refills nor breaks the bucket. */
static void test_time_going_backwards(void **state)
{
    (void)state;
    ratelimit rl;
    ratelimit_init(&rl, 10, 1, 50.0);
    assert_true(ratelimit_take(&rl, 50.0) == 0);
    double w = ratelimit_take(&rl, 49.0);
    assert_true(w > 0 && w <= 0.1 + 1e-9);
    assert_true(ratelimit_take(&rl, 50.1) == 0);
    ratelimit_destroy(&rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_long_run_average),
        cmocka_unit_test(test_time_going_backwards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
