/* Retries of transient failures: which errors are worth another attempt,
 * and when the next attempt may start (exponential backoff with jitter).
 * Pure logic: the caller passes the clock and the random state. */
#ifndef THUMBD_RETRY_H
#define THUMBD_RETRY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct retry_policy {
    int retries;               /* attempts after the first, >= 0 */
    double base_s;             /* delay before the first retry, before jitter */
    double max_s;              /* no delay is longer */
} retry_policy;

/* True for errno values that say "try again" rather than "this file is
 * bad": EINTR, EAGAIN, EIO, ESTALE, and on output (space may be freed)
 * but not on input ENOSPC and EDQUOT. */
bool retry_errno_transient(int e, bool output);

/* True if a task that failed transiently on attempt `attempt` (1-based)
 * gets another one. */
bool retry_allowed(const retry_policy *p, int attempt);

/* The delay before retry number `retry` (1 for the first): base_s * 2^(retry-1)
 * capped at max_s, of which a random half is dropped ("equal jitter": the
 * delay lies in [d/2, d]) so that tasks that failed together do not retry
 * together. *rng is a splitmix64 state, advanced. */
double retry_delay(const retry_policy *p, int retry, uint64_t *rng);

/* The monotonic time at which retry number `retry` may start: now plus
 * retry_delay. */
double retry_not_before(const retry_policy *p, int retry, double now, uint64_t *rng);

#endif
