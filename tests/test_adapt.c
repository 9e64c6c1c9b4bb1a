/* Unit tests for the adaptive worker count (src/adapt.c), fed with
 * simulated throughput curves: it must climb to the knee, back off when it
 * went past it, stay put when the CPUs are the limit, and follow a workload
 * that changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>

#include "thumbd/adapt.h"

typedef struct curve {
    int knee;                  /* throughput grows linearly up to here */
    double decline;            /* then falls by this much per extra worker */
    int cpu_knee;              /* CPU use reaches 1.0 at this count (0: never) */
    double noise;              /* relative, deterministic */
    uint32_t seed;
    int calls;                 /* samples taken so far */
    int glitch_at;             /* this sample (1-based) reads half the truth; 0: none */
} curve;

static double jitter(curve *c)
{
    c->seed = c->seed * 1103515245u + 12345u;
    return ((double)((c->seed >> 8) & 0xFFFF) / 65535.0 * 2 - 1) * c->noise;
}

static double thr_of(curve *c, int n)
{
    double t = n <= c->knee ? 10.0 * n : 10.0 * c->knee - c->decline * (n - c->knee);
    if (t < 1)
        t = 1;
    if (++c->calls == c->glitch_at)
        t /= 2;
    return t * (1 + jitter(c));
}

static double cpu_of(const curve *c, int n)
{
    if (!c->cpu_knee)
        return 0.2;
    return n >= c->cpu_knee ? 1.0 : (double)n / c->cpu_knee;
}

/* Runs the controller for `samples` intervals on c; returns the count it
 * chose (the settled one, not a probe in progress), and the largest one it
 * tried in *peak. */
static int simulate(adapt *a, curve *c, int samples, int *peak)
{
    int n = a->n;
    for (int i = 0; i < samples; i++) {
        if (peak && n > *peak)
            *peak = n;
        n = adapt_sample(a, thr_of(c, n), cpu_of(c, n));
        assert_true(n >= a->p.min && n <= a->p.max);
        assert_int_equal(n, a->n);
    }
    return a->phase == ADAPT_PROBE_UP || a->phase == ADAPT_PROBE_DOWN ? a->settled : n;
}

static adapt start(int min, int max, int first)
{
    adapt_params p;
    adapt_defaults(&p, min, max);
    adapt a;
    adapt_init(&a, &p, first);
    return a;
}

/* A plateau after the knee at 6: it overshoots while doubling (8, 16), then
 * comes back to the knee, not to the overshoot. */
static void test_climbs_to_knee_of_plateau(void **state)
{
    (void)state;
    adapt a = start(1, 64, 1);
    curve c = {.knee = 6};
    int peak = 0;
    int n = simulate(&a, &c, 12, &peak);
    assert_int_equal(n, 6);
    assert_true(peak >= 8); /* it went past the knee and backed off */
    assert_int_equal(a.phase, ADAPT_HOLD);
}

/* One window that reads half the truth (a burst of big files, another
 * process) while doubling does not end the climb: a step that seems not to
 * help is measured twice. */
static void test_one_bad_window_does_not_stop_the_climb(void **state)
{
    (void)state;
    for (int at = 2; at <= 4; at++) {
        adapt a = start(1, 64, 2);
        curve c = {.knee = 16, .glitch_at = at};
        int n = simulate(&a, &c, 30, NULL);
        if (n < 15)
            fail_msg("a bad sample number %d: settled at %d, knee 16", at, n);
    }
}

/* Throughput that falls past the knee (contention): it backs off to it. */
static void test_backs_off_past_a_peak(void **state)
{
    (void)state;
    adapt a = start(1, 64, 2);
    curve c = {.knee = 12, .decline = 8};
    int peak = 0;
    int n = simulate(&a, &c, 12, &peak);
    assert_in_range(n, 11, 13);
    assert_true(peak > 13);
    /* Settled, later probes do not drift away from the knee. */
    n = simulate(&a, &c, 200, NULL);
    assert_in_range(n, 10, 14);
}

/* With the CPUs saturated at 2 workers, it never grows: only probes down,
 * which lose throughput and are undone. */
static void test_cpu_bound_stays(void **state)
{
    (void)state;
    adapt a = start(1, 32, 2);
    curve c = {.knee = 2, .cpu_knee = 2};
    int peak = 0;
    int n = simulate(&a, &c, 100, &peak);
    assert_int_equal(n, 2);
    assert_int_equal(peak, 2);
}

/* Measurement noise of +-3% still lands near the knee. */
static void test_noisy_curve(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 20; seed++) {
        adapt a = start(1, 64, 2);
        curve c = {.knee = 8, .decline = 2, .noise = 0.03, .seed = seed};
        int n = simulate(&a, &c, 40, NULL);
        if (n < 6 || n > 11)
            fail_msg("seed %u: settled at %d, knee 8", seed, n);
    }
}

/* The workload turns CPU-bound (knee 16 -> 2): probes find that fewer
 * workers are as fast, and it shrinks. */
static void test_shrinks_when_workers_stop_helping(void **state)
{
    (void)state;
    adapt a = start(1, 64, 2);
    curve io = {.knee = 16};
    int n = simulate(&a, &io, 20, NULL);
    assert_in_range(n, 15, 16); /* 15 is within the 7% gain of 16 */
    curve cpu = {.knee = 2, .cpu_knee = 2};
    n = simulate(&a, &cpu, 200, NULL);
    assert_in_range(n, 2, 3);
}

/* And the other way: the workload starts waiting on I/O (knee 2 -> 16):
 * probes up find more workers faster, and it grows. */
static void test_grows_when_workers_start_helping(void **state)
{
    (void)state;
    adapt a = start(1, 64, 2);
    curve cpu = {.knee = 2, .cpu_knee = 0};
    int n = simulate(&a, &cpu, 20, NULL);
    assert_in_range(n, 2, 3);
    curve io = {.knee = 16};
    n = simulate(&a, &io, 150, NULL);
    assert_in_range(n, 13, 20);
}

/* min = max: a fixed count. A range that starts above its knee. */
static void test_bounds(void **state)
{
    (void)state;
    adapt a = start(4, 4, 1);
    assert_int_equal(a.n, 4);
    curve c = {.knee = 10};
    assert_int_equal(simulate(&a, &c, 30, NULL), 4);
    a = start(3, 8, 8);
    curve low = {.knee = 1};
    int n = simulate(&a, &low, 100, NULL);
    assert_int_equal(n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_climbs_to_knee_of_plateau),
        cmocka_unit_test(test_backs_off_past_a_peak),
        cmocka_unit_test(test_one_bad_window_does_not_stop_the_climb),
        cmocka_unit_test(test_cpu_bound_stays),
        cmocka_unit_test(test_noisy_curve),
        cmocka_unit_test(test_shrinks_when_workers_stop_helping),
        cmocka_unit_test(test_grows_when_workers_start_helping),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
