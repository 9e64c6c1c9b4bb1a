#include "thumbd/cancel.h"

#include <math.h>
#include <time.h>

double cancel_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cancel_init(cancel_token *t, double deadline)
{
    atomic_store(&t->reason, CANCEL_NONE);
    t->deadline = deadline;
}

void cancel_request(cancel_token *t, cancel_reason why)
{
    int none = CANCEL_NONE;
    atomic_compare_exchange_strong(&t->reason, &none, (int)why);
}

cancel_reason cancel_check(cancel_token *t)
{
    int r = atomic_load_explicit(&t->reason, memory_order_relaxed);
    if (r != CANCEL_NONE)
        return (cancel_reason)r;
    if (t->deadline > 0 && cancel_now() >= t->deadline) {
        cancel_request(t, CANCEL_TIMEOUT);
        return (cancel_reason)atomic_load(&t->reason);
    }
    return CANCEL_NONE;
}

void cancel_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

struct timespec cancel_abstime(double t)
{
    struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - floor(t)) * 1e9)};
    return ts;
}

const char *cancel_reason_name(cancel_reason why)
{
    switch (why) {
    case CANCEL_NONE: return "none";
    case CANCEL_TIMEOUT: return "task timeout";
    case CANCEL_SHUTDOWN: return "shutdown";
    case CANCEL_DEADLINE: return "run deadline";
    }
    return "unknown";
}
