/* The main thread's loop during a run: it waits for the signals the run
 * handles (signals.h), and drives the run's deadline, the shutdown that a
 * signal or the deadline begins (stop the pool, or with --on-stop drain let
 * its queue run; at the shutdown timeout or a second signal cancel what is
 * queued and what runs; a grace later abandon it), the reaping
 * of overdue tasks and the adaptive pool's ticks. */
#ifndef THUMBD_SUPERVISE_H
#define THUMBD_SUPERVISE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "thumbd/cancel.h"
#include "thumbd/pool.h"
#include "thumbd/report.h"

/* How often the loop looks at the pool when nothing wakes it; also the
 * longest nap of a thread that must notice a shutdown. */
#define SUPERVISE_TICK_S 0.05

/* The shutdown, as the loop leaves it. */
typedef struct supervise_state {
    bool active;               /* a shutdown began */
    cancel_reason why;         /* CANCEL_SHUTDOWN (a signal) or CANCEL_DEADLINE */
    int signo;                 /* the signal that began it, 0 for the deadline */
    double started, cancelled; /* monotonic; 0 = not yet */
} supervise_state;

typedef struct supervise_opts {
    pool *pool;
    report *rep;               /* SIGUSR1 asks it for a status line */
    const sigset_t *sigs;      /* blocked in every thread: what the loop waits for */
    double deadline_s;         /* --deadline from the start of the loop; 0: none */
    double shutdown_timeout_s; /* from the start of a shutdown to cancelling what runs */
    bool drain;                /* --on-stop drain: a shutdown runs the queued tasks too */
    bool reap_overdue;         /* --task-timeout is set: cancel overdue tasks */
    atomic_bool *scan_done;    /* set once every task was submitted */
    /* Called once as a shutdown begins, before the pool stops. */
    void (*stopping)(cancel_reason why, void *ctx);
    /* Optional: called each turn of the loop while no shutdown is under
     * way, with the monotonic time. */
    void (*tick)(double now, void *ctx);
    void *ctx;
} supervise_opts;

/* Runs the loop until every task is settled: the scan is done and the pool
 * idle, or the running tasks were abandoned. sd starts zeroed. A signal in
 * o->sigs, or pthread_kill with the wake signal given to signals_setup,
 * ends a wait at once. */
void supervise_run(const supervise_opts *o, supervise_state *sd);

#endif
