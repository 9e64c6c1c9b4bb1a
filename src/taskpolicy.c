#include "thumbd/taskpolicy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A task the memory budget cannot take yet comes back this much later (its
 * header is read again: about 0.1 ms), at most MAX_DEFERRALS times. */
static const double DEFER_S = 0.005;
enum { MAX_DEFERRALS = 20 };
/* Retries never wait longer than this, however many there are. */
static const double RETRY_MAX_S = 30.0;

retry_policy taskpolicy_retries(int retries, double backoff_s)
{
    return (retry_policy){.retries = retries, .base_s = backoff_s, .max_s = RETRY_MAX_S};
}

bool taskpolicy_may_defer(const thumbd_task *t, pool *p)
{
    return t->deferrals < MAX_DEFERRALS && pool_ready(p) > 0;
}

double taskpolicy_retry(thumbd_task *t, const retry_policy *r)
{
    if (t->res.deferred) { /* not an attempt; back once another task had a go */
        t->attempts--;
        t->deferrals++;
        return clock_now_s() + DEFER_S;
    }
    if (t->res.status != TASK_FAILED || !t->res.transient)
        return 0;
    if (!retry_allowed(r, t->attempts)) {
        if (t->attempts > 1) {
            size_t len = strlen(t->res.error);
            snprintf(t->res.error + len, sizeof t->res.error - len, " (gave up after %d attempts)",
                     t->attempts);
        }
        return 0;
    }
    /* Seeded per task and attempt: reproducible, yet spread out. */
    uint64_t rng = t->id * 0x9E3779B97F4A7C15ULL ^ (uint64_t)t->attempts;
    double now = clock_now_s();
    t->t_queued = now;
    return retry_not_before(r, t->attempts, now, &rng);
}

static void mark_cancelled(thumbd_task *t, cancel_reason why, const char *fmt, double secs)
{
    t->res.status = TASK_CANCELLED;
    t->res.why = why;
    char s[320]; /* "%.1f" of any double fits: fmt takes it as a bounded %.24s */
    snprintf(s, sizeof s, "%.1f", secs);
    snprintf(t->res.error, sizeof t->res.error, fmt, cancel_reason_name(why), s);
    task_result_clear_outputs(&t->res);
}

void taskpolicy_not_started(thumbd_task *t, cancel_reason why)
{
    mark_cancelled(t, why, "not started: %s", 0);
}

thumbd_task *taskpolicy_settle(thumbd_task *t, pool_outcome how, cancel_reason why, cancel_reason stop)
{
    /* Given back by the memory budget (as the run stopped, or waiting to
     * come back when it did): that run was no attempt. */
    bool given_back = t->res.deferred;
    if (how == POOL_RAN && given_back)
        t->attempts--;
    if (why != CANCEL_NONE)
        stop = why;
    if ((how == POOL_NOT_STARTED || given_back) && t->attempts > 0) {
        /* It was waiting out the backoff before another attempt. */
        char prev[TD_ERRLEN];
        snprintf(prev, sizeof prev, "%s", given_back ? "" : t->res.error);
        mark_cancelled(t, stop, "not retried: %s", 0);
        size_t len = strlen(t->res.error);
        snprintf(t->res.error + len, sizeof t->res.error - len, " (attempt %d failed%s%s)", t->attempts,
                 prev[0] ? ": " : "", prev);
    } else if (how == POOL_NOT_STARTED || given_back) {
        t->res.worker = -1;
        mark_cancelled(t, stop, "not started: %s", 0);
    } else if (how == POOL_ABANDONED) {
        /* The worker is stuck (e.g. a read on a dead filesystem) and still
         * owns t: report a copy. */
        thumbd_task *copy = task_new(t->id, t->rel, t->size, t->mtime);
        if (!copy)
            return NULL;
        copy->attempts = atomic_load(&t->attempts);
        double secs = clock_now_s() - t->t_queued;
        copy->res.worker = -1;
        mark_cancelled(copy, why, "%s after %.24s s; the worker did not stop (blocked in I/O?) "
                                  "and was abandoned", secs);
        t = copy;
    }
    return t;
}
