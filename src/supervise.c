#include "thumbd/supervise.h"

#include <time.h>

#include "thumbd/signals.h"

/* After cancelling, how long running tasks get to notice before they are
 * abandoned (reported and left behind). */
static const double CANCEL_GRACE_S = 1.0;

/* The end of the shutdown's patience: what is still queued (--on-stop
 * drain) is settled as not started, what runs is cancelled. */
static void cancel_all(const supervise_opts *o, supervise_state *sd, cancel_reason why, double now)
{
    pool_stop(o->pool, why);
    pool_cancel_running(o->pool, why);
    sd->cancelled = now;
}

static void begin_shutdown(const supervise_opts *o, supervise_state *sd, cancel_reason why, int signo)
{
    double now = clock_now_s();
    if (sd->active) {
        /* A second signal: cancel what is queued and running now. */
        if (signo && !sd->cancelled)
            cancel_all(o, sd, CANCEL_SHUTDOWN, now);
        return;
    }
    sd->active = true;
    sd->why = why;
    sd->signo = signo;
    sd->started = now;
    o->stopping(why, o->ctx);
    if (o->drain)
        pool_drain(o->pool);
    else
        pool_stop(o->pool, why);
}

/* How long to wait for a signal: until the next deadline, or a tick. */
static double next_wait(const supervise_opts *o, const supervise_state *sd, double run_deadline)
{
    double wait = SUPERVISE_TICK_S, t = clock_now_s();
    if (run_deadline && !sd->active && run_deadline - t < wait)
        wait = run_deadline - t;
    if (sd->active && !sd->cancelled && sd->started + o->shutdown_timeout_s - t < wait)
        wait = sd->started + o->shutdown_timeout_s - t;
    return wait < 0.0005 ? 0.0005 : wait;
}

void supervise_run(const supervise_opts *o, supervise_state *sd)
{
    double run_deadline = o->deadline_s > 0 ? clock_now_s() + o->deadline_s : 0;
    for (;;) {
        double wait = next_wait(o, sd, run_deadline);
        struct timespec ts = {0, (long)(wait * 1e9)};
        int sig = sigtimedwait(o->sigs, NULL, &ts);
        signals_action act = sig > 0 ? signals_action_of(sig) : SIGNALS_NONE;
        if (act == SIGNALS_STOP)
            begin_shutdown(o, sd, CANCEL_SHUTDOWN, sig);
        else if (act == SIGNALS_STATUS)
            report_request_status(o->rep);
        double now = clock_now_s();
        if (run_deadline && now >= run_deadline && !sd->active)
            begin_shutdown(o, sd, CANCEL_DEADLINE, 0);
        if (o->reap_overdue)
            pool_reap_overdue(o->pool, CANCEL_GRACE_S);
        if (o->tick && !sd->active)
            o->tick(now, o->ctx);
        if (sd->active && !sd->cancelled && now >= sd->started + o->shutdown_timeout_s)
            cancel_all(o, sd, sd->why, now);
        if (sd->cancelled && now >= sd->cancelled + CANCEL_GRACE_S) {
            pool_abandon_running(o->pool, sd->why);
            return;
        }
        if (atomic_load(o->scan_done) && pool_wait(o->pool, now + 0.001))
            return;
    }
}
