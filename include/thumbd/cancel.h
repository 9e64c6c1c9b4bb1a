/* Cancellation tokens: one per task, polled by decoders between rows. */
#ifndef THUMBD_CANCEL_H
#define THUMBD_CANCEL_H

#include <stdatomic.h>

#include "thumbd/clock.h"

typedef enum cancel_reason {
    CANCEL_NONE = 0,
    CANCEL_TIMEOUT,   /* the task ran past --task-timeout */
    CANCEL_SHUTDOWN,  /* signal or shutdown timeout: running work is stopped */
    CANCEL_DEADLINE,  /* the run's --deadline was reached */
} cancel_reason;

typedef struct cancel_token {
    _Atomic int reason;   /* a cancel_reason; the first one set wins */
    double deadline;      /* clock_now_s() seconds; 0 = none. Trips CANCEL_TIMEOUT */
} cancel_token;

void cancel_init(cancel_token *t, double deadline);

/* Sets the reason unless one is already set. Safe from any thread. */
void cancel_request(cancel_token *t, cancel_reason why);

/* Returns the reason the task must stop, or CANCEL_NONE. Cheap enough to call
 * once per decoded row (one vDSO clock read when a deadline is set). */
cancel_reason cancel_check(cancel_token *t);

/* A short human phrase for a reason ("task timeout", "shutdown", ...). */
const char *cancel_reason_name(cancel_reason why);

#endif
