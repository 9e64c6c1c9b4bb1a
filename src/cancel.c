#include "thumbd/cancel.h"

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
    if (t->deadline > 0 && clock_now_s() >= t->deadline) {
        cancel_request(t, CANCEL_TIMEOUT);
        return (cancel_reason)atomic_load(&t->reason);
    }
    return CANCEL_NONE;
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
