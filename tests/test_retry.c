/* Unit tests for the retry policy (src/retry.c): which errors are retried,
 * how many times, and the backoff schedule against an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "thumbd/retry.h"

static void test_transient_errors(void **state)
{
    (void)state;
    int transient[] = {EINTR, EAGAIN, EIO, ESTALE};
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++) {
        assert_true(retry_errno_transient(transient[i], false));
        assert_true(retry_errno_transient(transient[i], true));
    }
    /* A full disk or quota may be freed: retried for output, never for input. */
    assert_true(retry_errno_transient(ENOSPC, true));
    assert_false(retry_errno_transient(ENOSPC, false));
    assert_true(retry_errno_transient(EDQUOT, true));
    assert_false(retry_errno_transient(EDQUOT, false));
    int permanent[] = {0, ENOENT, EACCES, EPERM, ELOOP, EISDIR, ENAMETOOLONG, EINVAL, ENOMEM};
    for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++) {
        assert_false(retry_errno_transient(permanent[i], false));
        assert_false(retry_errno_transient(permanent[i], true));
    }
}

static void test_retries_allowed(void **state)
{
    (void)state;
    retry_policy p = {.retries = 2, .base_s = 0.1, .max_s = 10};
    assert_true(retry_allowed(&p, 1));
    assert_true(retry_allowed(&p, 2));
    assert_false(retry_allowed(&p, 3)); /* 1 attempt + 2 retries */
    assert_false(retry_allowed(&p, 0));
    p.retries = 0;
    assert_false(retry_allowed(&p, 1));
}

/* Each retry waits twice as long as the one before, between half and all of
 * base * 2^(n-1), capped; the clock is the caller's. */
static void test_backoff_schedule(void **state)
{
    (void)state;
    retry_policy p = {.retries = 10, .base_s = 0.25, .max_s = 4};
    uint64_t rng = 42;
    double now = 1000.0; /* an injected monotonic time */
    for (int trial = 0; trial < 200; trial++) {
        for (int r = 1; r <= 8; r++) {
            double full = 0.25 * (double)(1 << (r - 1));
            if (full > 4)
                full = 4;
            double nb = retry_not_before(&p, r, now, &rng);
            assert_true(nb >= now + full / 2);
            assert_true(nb <= now + full);
        }
    }
    /* The jitter spreads: tasks that failed together retry apart. */
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 1000; i++) {
        double d = retry_delay(&p, 3, &rng);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 0.5 + 0.05);
    assert_true(hi > 1.0 - 0.05);
    /* Same seed, same schedule: a run's retries are reproducible. */
    uint64_t s1 = 7, s2 = 7;
    for (int r = 1; r <= 5; r++)
        assert_true(retry_delay(&p, r, &s1) == retry_delay(&p, r, &s2));
    /* Huge retry numbers stay at the cap, without overflow. */
    double d = retry_delay(&p, 1000, &rng);
    assert_true(d >= 2 && d <= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_errors),
        cmocka_unit_test(test_retries_allowed),
        cmocka_unit_test(test_backoff_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
