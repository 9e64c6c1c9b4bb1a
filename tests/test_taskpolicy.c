/* Unit tests for what becomes of a task after a run (src/taskpolicy.c):
 * deferrals, retries and giving up, and the settling of tasks that will not
 * run (again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "thumbd/taskpolicy.h"

static thumbd_task *mk(void)
{
    thumbd_task *t = task_new(7, "a/b.jpg", 100, (struct timespec){0, 0});
    assert_non_null(t);
    return t;
}

/* A deferred run is no attempt and comes back shortly. */
static void test_deferred_comes_back(void **state)
{
    (void)state;
    retry_policy r = taskpolicy_retries(0, 0.1);
    thumbd_task *t = mk();
    t->attempts = 1;
    t->res.deferred = true;
    double now = clock_now_s();
    double at = taskpolicy_retry(t, &r);
    assert_true(at >= now && at < now + 0.1);
    assert_int_equal(t->attempts, 0);
    assert_int_equal(t->deferrals, 1);
    task_free(t);
}

static void test_transient_retried_then_given_up(void **state)
{
    (void)state;
    retry_policy r = taskpolicy_retries(1, 0.2);
    assert_true(r.max_s == 30.0);
    thumbd_task *t = mk();
    t->attempts = 1;
    t->res.status = TASK_FAILED;
    t->res.transient = true;
    strcpy(t->res.error, "EIO");
    double now = clock_now_s();
    double at = taskpolicy_retry(t, &r);
    assert_true(at >= now + 0.1 && at <= clock_now_s() + 0.2); /* equal jitter: [d/2, d] */
    t->attempts = 2;
    assert_true(taskpolicy_retry(t, &r) == 0);
    assert_string_equal(t->res.error, "EIO (gave up after 2 attempts)");
    t->res.transient = false;
    t->attempts = 1;
    assert_true(taskpolicy_retry(t, &r) == 0); /* not worth a retry */
    task_free(t);
}

static void test_settle_not_started(void **state)
{
    (void)state;
    thumbd_task *t = mk();
    assert_ptr_equal(taskpolicy_settle(t, POOL_NOT_STARTED, CANCEL_NONE, CANCEL_DEADLINE), t);
    assert_int_equal(t->res.status, TASK_CANCELLED);
    assert_int_equal(t->res.why, CANCEL_DEADLINE);
    assert_int_equal(t->res.worker, -1);
    assert_non_null(strstr(t->res.error, "not started: "));
    task_free(t);
}

/* Waiting out the backoff when the run stopped: the failed attempt is told. */
static void test_settle_not_retried(void **state)
{
    (void)state;
    thumbd_task *t = mk();
    t->attempts = 1;
    strcpy(t->res.error, "EIO");
    assert_ptr_equal(taskpolicy_settle(t, POOL_NOT_STARTED, CANCEL_SHUTDOWN, CANCEL_DEADLINE), t);
    assert_int_equal(t->res.why, CANCEL_SHUTDOWN);
    assert_non_null(strstr(t->res.error, "not retried: "));
    assert_non_null(strstr(t->res.error, " (attempt 1 failed: EIO)"));
    task_free(t);
}

/* Given back by the memory budget as the run stopped: that run was no
 * attempt. */
static void test_settle_given_back(void **state)
{
    (void)state;
    thumbd_task *t = mk();
    t->attempts = 1;
    t->res.deferred = true;
    assert_ptr_equal(taskpolicy_settle(t, POOL_RAN, CANCEL_NONE, CANCEL_SHUTDOWN), t);
    assert_int_equal(t->attempts, 0);
    assert_non_null(strstr(t->res.error, "not started: "));
    task_free(t);
}

/* An abandoned task still belongs to its worker: a settled copy is
 * reported. */
static void test_settle_abandoned(void **state)
{
    (void)state;
    thumbd_task *t = mk();
    t->attempts = 1;
    t->t_queued = clock_now_s();
    thumbd_task *c = taskpolicy_settle(t, POOL_ABANDONED, CANCEL_TIMEOUT, CANCEL_SHUTDOWN);
    assert_non_null(c);
    assert_ptr_not_equal(c, t);
    assert_string_equal(c->rel, "a/b.jpg");
    assert_int_equal(c->attempts, 1);
    assert_int_equal(c->res.why, CANCEL_TIMEOUT);
    assert_non_null(strstr(c->res.error, "the worker did not stop"));
    assert_int_equal(t->res.status, TASK_OK); /* t is left to its worker */
    task_free(c);
    task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deferred_comes_back),
        cmocka_unit_test(test_transient_retried_then_given_up),
        cmocka_unit_test(test_settle_not_started),
        cmocka_unit_test(test_settle_not_retried),
        cmocka_unit_test(test_settle_given_back),
        cmocka_unit_test(test_settle_abandoned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
