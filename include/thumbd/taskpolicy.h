/* What becomes of a task after a run of it, for the pool's callbacks: a
 * retry of a transient failure (with backoff), a deferral for the memory
 * budget, or its settling as cancelled when it will not run (again). The
 * clock is clock_now_s(). */
#ifndef THUMBD_TASKPOLICY_H
#define THUMBD_TASKPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "thumbd/cancel.h"
#include "thumbd/pool.h"
#include "thumbd/retry.h"
#include "thumbd/task.h"

/* --retries and --retry-backoff as a policy (delays capped at 30 s). */
retry_policy taskpolicy_retries(int retries, double backoff_s);

/* Whether a task that would wait for the memory budget is given back
 * instead, while other tasks of p are ready to run (its worker runs one
 * of them instead of idling): a bounded number of times, after which it
 * waits its turn in the budget. */
bool taskpolicy_may_defer(const thumbd_task *t, pool *p);

/* pool_ops.retry for a task that ran: the monotonic time before which it
 * may not run again, or 0 when it is done. A deferred run is no attempt
 * and comes back shortly; a transient failure comes back after a backoff
 * while r allows more attempts (else its error says it gave up). */
double taskpolicy_retry(thumbd_task *t, const retry_policy *r);

/* Settles t, which never started, as cancelled for why. */
void taskpolicy_not_started(thumbd_task *t, cancel_reason why);

/* pool_ops.done: settles t as the pool left it (`how`, cancelled for
 * `why`, or for `stop`, the run's reason to stop, when why is CANCEL_NONE)
 * and returns the task to report: t, or for an abandoned task (its worker
 * still owns t) a settled copy, NULL when out of memory. */
thumbd_task *taskpolicy_settle(thumbd_task *t, pool_outcome how, cancel_reason why, cancel_reason stop);

#endif
