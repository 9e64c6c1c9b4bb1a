/* Token bucket: at most `rate` starts per second on average, bursts of up
 * to `burst`. Thread-safe; the clock is the caller's (monotonic seconds),
 * so tests can drive it. */
#ifndef THUMBD_RATELIMIT_H
#define THUMBD_RATELIMIT_H

#include <pthread.h>

typedef struct ratelimit {
    pthread_mutex_t mu;
    double rate;               /* tokens per second, > 0 */
    double burst;              /* bucket size, >= 1 */
    double tokens;
    double last;               /* time of the last refill */
} ratelimit;

/* A full bucket at time now. */
void ratelimit_init(ratelimit *rl, double rate, double burst, double now);
void ratelimit_destroy(ratelimit *rl);

/* Takes one token if there is one at time now and returns 0; otherwise
 * takes nothing and returns how many seconds until one will be there. */
double ratelimit_take(ratelimit *rl, double now);

#endif
