#include "thumbd/run.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/adapt.h"
#include "thumbd/escape.h"
#include "thumbd/fsutil.h"
#include "thumbd/order.h"
#include "thumbd/pipeline.h"
#include "thumbd/pool.h"
#include "thumbd/prune.h"
#include "thumbd/ratelimit.h"
#include "thumbd/report.h"
#include "thumbd/retry.h"
#include "thumbd/rundirs.h"
#include "thumbd/scan.h"
#include "thumbd/signals.h"
#include "thumbd/state.h"
#include "thumbd/uptodate.h"
#include "thumbd/vipsengine.h"

/* After cancelling, how long running tasks get to notice before they are
 * abandoned (reported and left behind). */
static const double CANCEL_GRACE_S = 1.0;
static const double TICK_S = 0.05;
/* A task the memory budget cannot take yet comes back this much later (its
 * header is read again: about 0.1 ms), at most MAX_DEFERRALS times. */
static const double DEFER_S = 0.005;
enum { MAX_DEFERRALS = 20 };
/* Retries never wait longer than this, however many there are. */
static const double RETRY_MAX_S = 30.0;
/* The adaptive pool measures throughput over intervals of at least this. */
static const double ADAPT_INTERVAL_S = 0.3;

enum { ADAPT_HISTORY = 64 };

/* --workers auto / MIN:MAX: the controller, what it last measured, and the
 * count over time for the summary. */
typedef struct adapt_run {
    adapt ctl;
    double t0, t_last, cpu_last;
    uint64_t done_last, bytes_last;
    uint64_t warm_until;       /* no measuring until this many tasks ran */
    long cpus;
    int nhist;
    struct { double t; int n; } hist[ADAPT_HISTORY];
} adapt_run;

typedef struct run_ctx {
    const thumbd_config *cfg;
    int in_fd, out_fd;
    int list_fd;               /* the --files-from list, or -1 */
    pipeline_env env;
    state_handle state;
    bool locked;
    char fingerprint[256];     /* of the options that shape thumbnails */
    uptodate ut;               /* what earlier runs did, and notes for the next */
    prune_unsure unsure;       /* --prune: what the scan could not read */
    pool *pool;
    report *rep;
    atomic_bool stop_scan;
    _Atomic int stop_why;      /* cancel_reason of the shutdown, once stopping */
    _Atomic bool scan_done;
    _Atomic uint64_t found;    /* tasks submitted so far, for the progress line */
    scan_stats stats;
    td_status scan_st;
    char scan_err[TD_ERRLEN];
    order_list *listing;       /* orders other than the walk's: the tree, listed */
    retry_policy retry;
    bool limited;              /* --max-rate */
    ratelimit limiter;
    _Atomic uint64_t ran;      /* tasks that ran to the end, for the adaptive pool */
    _Atomic uint64_t ran_bytes;  /* and the bytes of their sources */
    adapt_run *adapt;          /* NULL: a fixed worker count */
    pthread_t supervisor;      /* the main thread, woken with SIGRTMIN */
    bool progress;             /* a live progress line on stderr */
    bool prune_refused;        /* --prune would have removed more than --max-prune */
} run_ctx;

/* Wakes supervise() at once instead of at its next tick: the end of a run is
 * seen without waiting up to TICK_S (a no-op re-run takes ~0.1 s in all). */
static void wake_supervisor(run_ctx *rc)
{
    pthread_kill(rc->supervisor, SIGRTMIN);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void task_run(void *item, int worker, cancel_token *tok, void *vctx)
{
    run_ctx *rc = vctx;
    thumbd_task *t = item;
    t->attempts++;
    pipeline_run(&rc->env, t, worker, tok);
    if (t->res.deferred)
        return;
    atomic_fetch_add(&rc->ran_bytes, t->size > 0 ? (uint64_t)t->size : 0);
    atomic_fetch_add(&rc->ran, 1);
}

/* A task that would wait for the memory budget is given back while other
 * tasks are ready to run (its worker runs one of them instead of idling),
 * a bounded number of times: after that it waits its turn in the budget. */
static bool task_may_defer(const thumbd_task *t, void *vctx)
{
    run_ctx *rc = vctx;
    return t->deferrals < MAX_DEFERRALS && pool_ready(rc->pool) > 0;
}

/* Nothing is left for a worker to take: the scan is over and the queue
 * empty (a worker then need not wait for a token to find that out). */
static bool all_taken(run_ctx *rc)
{
    return atomic_load(&rc->scan_done) && pool_queued(rc->pool) == 0;
}

/* --max-rate: a worker waits for a token before it takes a task. */
static void task_admit(void *vctx)
{
    run_ctx *rc = vctx;
    for (;;) {
        double wait = ratelimit_take(&rc->limiter, clock_now_s());
        if (wait <= 0 || atomic_load(&rc->stop_scan) || all_taken(rc))
            return;
        sleep_s(wait < TICK_S ? wait : TICK_S); /* short naps: a shutdown is noticed */
    }
}

/* A transient failure goes back to the queue with a not-before time while
 * attempts remain; the pool calls this with its lock held. */
static double task_retry(void *item, void *vctx)
{
    run_ctx *rc = vctx;
    thumbd_task *t = item;
    if (t->res.deferred) { /* not an attempt; back once another task had a go */
        t->attempts--;
        t->deferrals++;
        return clock_now_s() + DEFER_S;
    }
    if (t->res.status != TASK_FAILED || !t->res.transient)
        return 0;
    if (!retry_allowed(&rc->retry, t->attempts)) {
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
    return retry_not_before(&rc->retry, t->attempts, now, &rng);
}

static cancel_reason stop_reason(run_ctx *rc)
{
    cancel_reason why = (cancel_reason)atomic_load(&rc->stop_why);
    return why != CANCEL_NONE ? why : CANCEL_SHUTDOWN;
}

static void mark_cancelled(thumbd_task *t, cancel_reason why, const char *fmt, double secs)
{
    t->res.status = TASK_CANCELLED;
    t->res.why = why;
    snprintf(t->res.error, sizeof t->res.error, fmt, cancel_reason_name(why), secs);
    free(t->res.out_rel);
    t->res.out_rel = NULL;
}

static void task_done(void *item, pool_outcome how, cancel_reason why, void *vctx)
{
    run_ctx *rc = vctx;
    thumbd_task *t = item;
    /* Given back by the memory budget (as the run stopped, or waiting to
     * come back when it did): that run was no attempt. */
    bool given_back = t->res.deferred;
    if (how == POOL_RAN && given_back)
        t->attempts--;
    cancel_reason stop = why != CANCEL_NONE ? why : stop_reason(rc);
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
            return;
        copy->attempts = atomic_load(&t->attempts);
        double secs = clock_now_s() - t->t_queued;
        copy->res.worker = -1;
        mark_cancelled(copy, why, "%s after %.1f s; the worker did not stop (blocked in I/O?) "
                                  "and was abandoned", secs);
        t = copy;
    }
    report_submit(rc->rep, t);
}

static void worker_end(void *vctx)
{
    vipsengine_thread_end();
    pipeline_thread_end();
    wake_supervisor(vctx);
}

static void task_release(void *item, void *vctx)
{
    (void)vctx;
    task_free(item);
}

/* Hands t to the pool; false (t settled as not started) once it stops. */
static bool dispatch(run_ctx *rc, thumbd_task *t)
{
    t->t_queued = clock_now_s();
    if (pool_submit(rc->pool, t))
        return true;
    mark_cancelled(t, stop_reason(rc), "not started: %s", 0);
    report_submit(rc->rep, t);
    return false;
}

/* --prune: a path the scan could not read is unknown, not gone; its
 * record says so. */
static void note_unsure(run_ctx *rc, thumbd_task *t)
{
    prune_unsure_add(&rc->unsure, t->rel);
    char *e = NULL;
    if (asprintf(&e, "%s (--prune removes nothing of it)", t->preset_error) >= 0) {
        free(t->preset_error);
        t->preset_error = e;
        if (t->dir) /* already settled by the scanner */
            snprintf(t->res.error, sizeof t->res.error, "%s", e);
    }
}

static bool scan_emit(thumbd_task *t, void *vctx)
{
    run_ctx *rc = vctx;
    if (rc->cfg->prune && t->preset_error && !t->known_bad)
        note_unsure(rc, t);
    if (t->dir) { /* a directory the scan could not read: settled, and no image */
        report_submit(rc->rep, t);
        return !atomic_load(&rc->stop_scan);
    }
    t->t_queued = clock_now_s();
    atomic_fetch_add(&rc->found, 1);
    /* An up-to-date image (scan_fresh) is settled here: a no-op re-run then
     * costs a stat of the thumbnail, not a trip through the pool. */
    if (t->res.status == TASK_SKIPPED) {
        if (rc->cfg->report_path || rc->cfg->verbose) {
            report_submit(rc->rep, t);
        } else {
            report_skip_unrecorded(rc->rep, 1); /* a record would go nowhere */
            task_free(t);
        }
        return !atomic_load(&rc->stop_scan);
    }
    /* Listed for the order; a known failure needs no place in it. Out of
     * memory, the rest goes in scan order rather than not at all. */
    if (rc->listing && !t->preset_error && order_list_add(rc->listing, t)) {
        task_free(t);
        return !atomic_load(&rc->stop_scan);
    }
    return dispatch(rc, t) && !atomic_load(&rc->stop_scan);
}

/* Sorts the listing and submits it; what a stop leaves over is reported
 * as not started. */
static void emit_listing(run_ctx *rc)
{
    order_list *l = rc->listing;
    size_t n = order_list_len(l), i = 0;
    order_list_sort(l, rc->cfg->order);
    while (i < n && !atomic_load(&rc->stop_scan)) {
        thumbd_task *t = order_list_task(l, i++);
        if (t && !dispatch(rc, t))
            break;
    }
    for (; i < n; i++) {
        thumbd_task *t = order_list_task(l, i);
        if (t) {
            mark_cancelled(t, stop_reason(rc), "not started: %s", 0);
            report_submit(rc->rep, t);
        }
    }
    order_list_free(l);
    rc->listing = NULL;
}

static char *scan_fresh(const char *rel, int out_dirfd, const char *name, const struct stat *sb,
                        void *dir, void *vctx, char **known_bad)
{
    return uptodate_fresh(&((run_ctx *)vctx)->ut, rel, out_dirfd, name, sb, dir, known_bad);
}

static void *scan_dir_begin(const char *rel_dir, int twin_fd, void *vctx)
{
    return uptodate_dir_begin(&((run_ctx *)vctx)->ut, rel_dir, twin_fd);
}

static void scan_dir_end(void *dir, bool complete, void *vctx)
{
    (void)vctx;
    uptodate_dir_end(dir, complete);
}

static bool scan_should_stop(void *vctx)
{
    return atomic_load(&((run_ctx *)vctx)->stop_scan);
}

static void prune_emit(thumbd_task *t, void *vctx)
{
    report_submit(((run_ctx *)vctx)->rep, t);
}

/* --prune, after the scan and every task. */
static void run_prune(run_ctx *rc)
{
    uint64_t next_id = atomic_load(&rc->found) + 1;
    prune_opts o = {.in_fd = rc->in_fd, .out_fd = rc->out_fd, .ledger = &rc->ut.ledger,
                    .max_count = rc->cfg->max_prune, .max_pct = rc->cfg->max_prune_pct,
                    .unsure = prune_unsure_has, .unsure_ctx = &rc->unsure, .emit = prune_emit,
                    .ctx = rc, .next_id = &next_id};
    prune_result res;
    char err[TD_ERRLEN];
    if (prune_run(&o, &res, err) != TD_OK)
        escape_line(stderr, "thumbd: --prune: %s", err);
    prune_explain(&res, &o, rc->cfg->quiet);
    rc->prune_refused = res.refused;
    memo_prune(&rc->ut.memo); /* after prune_run: the directories it emptied are gone */
}

static void *scan_main(void *arg)
{
    run_ctx *rc = arg;
    scan_opts o = {.in_dir = rc->cfg->in_dir, .out_dir = rc->cfg->out_dir,
                   .follow_symlinks = rc->cfg->follow_symlinks,
                   .force_format = rc->cfg->format != FORMAT_AUTO,
                   .shard_index = rc->cfg->shard_index, .shard_count = rc->cfg->shard_count,
                   .vips_formats = rc->cfg->engine != ENGINE_NATIVE,
                   .fresh = scan_fresh, .dir_begin = scan_dir_begin, .dir_end = scan_dir_end,
                   /* Nobody sees a record of an up-to-date image: count it, no more. */
                   .emit_fresh = rc->cfg->report_path || rc->cfg->verbose || rc->progress};
    if (rc->list_fd >= 0) {
        rc->scan_st = scan_list(&o, rc->list_fd, rc->cfg->files_null, scan_emit, scan_should_stop, rc,
                                &rc->stats, rc->scan_err);
    } else {
        rc->scan_st = scan_run(&o, scan_emit, scan_should_stop, rc, &rc->stats, rc->scan_err);
    }
    report_skip_unrecorded(rc->rep, rc->stats.fresh);
    if (rc->listing)
        emit_listing(rc);
    pool_close(rc->pool);
    atomic_store(&rc->scan_done, true);
    wake_supervisor(rc);
    return NULL;
}

/* The walk holds a descriptor per directory level: allow deep trees. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void adapt_record(adapt_run *a, double now, int n)
{
    int i = a->nhist < ADAPT_HISTORY ? a->nhist++ : ADAPT_HISTORY - 1; /* full: keep the last */
    a->hist[i].t = now - a->t0;
    a->hist[i].n = n;
}

/* --nice: a lower CPU priority (nice 10, or the current one if already
 * lower) and the lowest best-effort I/O priority, for this thread and so
 * for every thread it starts. Best effort: a warning when refused. */
static void be_nice(void)
{
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (!(cur == -1 && errno) && cur < 10 && setpriority(PRIO_PROCESS, 0, 10) != 0)
        fprintf(stderr, "thumbd: warning: --nice: cannot lower the CPU priority: %s\n", strerror(errno));
    /* ioprio_set(IOPRIO_WHO_PROCESS, self, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)): glibc has
     * no wrapper. Not the idle class: on a disk that is never idle it would starve. */
    enum { WHO_PROCESS = 1, CLASS_BE = 2, CLASS_SHIFT = 13 };
#ifdef SYS_ioprio_set
    if (syscall(SYS_ioprio_set, WHO_PROCESS, 0, CLASS_BE << CLASS_SHIFT | 7) != 0)
        fprintf(stderr, "thumbd: warning: --nice: cannot lower the I/O priority: %s\n", strerror(errno));
#endif
}

/* The scheduling parts of a run that cannot fail: retries, rate limit,
 * the listing for --order, the adaptive pool. false when out of memory. */
static bool setup_scheduling(run_ctx *rc)
{
    const thumbd_config *cfg = rc->cfg;
    rc->retry = (retry_policy){.retries = cfg->retries, .base_s = cfg->retry_backoff, .max_s = RETRY_MAX_S};
    if (cfg->max_rate > 0) {
        int burst = cfg->workers_max ? cfg->workers_max : cfg->workers;
        ratelimit_init(&rc->limiter, cfg->max_rate, burst, clock_now_s());
        rc->limited = true;
    }
    /* (--files-from puts its '!' lines first itself: scan_list.) */
    if (cfg->order != ORDER_PATH && !(rc->listing = order_list_new()))
        return false;
    if (cfg->workers_max) {
        if (!(rc->adapt = calloc(1, sizeof *rc->adapt)))
            return false;
        adapt_params p;
        adapt_defaults(&p, cfg->workers_min, cfg->workers_max);
        adapt_init(&rc->adapt->ctl, &p, cfg->workers);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        rc->adapt->cpus = cpus > 0 ? cpus : 1;
        rc->adapt->t0 = rc->adapt->t_last = clock_now_s();
        rc->adapt->cpu_last = process_cpu_s();
        adapt_record(rc->adapt, rc->adapt->t0, rc->adapt->ctl.n);
    }
    return true;
}

static void end_scheduling(run_ctx *rc)
{
    if (rc->limited)
        ratelimit_destroy(&rc->limiter);
    order_list_free(rc->listing);
    free(rc->adapt);
}

/* Opens IN_DIR, the list and OUT_DIR after their checks (rundirs_open) and
 * takes OUT_DIR's lock, which also sweeps a killed run's temporary files.
 * Returns 0 or an exit code. */
static int open_dirs(run_ctx *rc)
{
    const thumbd_config *cfg = rc->cfg;
    int code = rundirs_open(cfg, &rc->in_fd, &rc->out_fd, &rc->list_fd);
    if (code)
        return code;
    char err[TD_ERRLEN];
    td_status st = state_acquire(rc->out_fd, cfg, cfg->wait_lock, &rc->state, err);
    if (st != TD_OK) {
        escape_line(stderr, "thumbd: %s: %s", cfg->out_dir, err);
        return st == TD_ELOCKED ? EXIT_LOCKED : EXIT_FATAL;
    }
    rc->locked = true;
    state_fingerprint(cfg, rc->fingerprint, sizeof rc->fingerprint);
    bool same = state_matches(rc->out_fd, &rc->state, rc->fingerprint);
    /* Thumbnails with these options are coming; memos of other options
     * would only be refused. */
    if (!same && state_forget_others(rc->out_fd, rc->fingerprint))
        memo_forget(rc->out_fd);
    struct timespec start;
    clock_gettime(CLOCK_REALTIME, &start);
    uptodate_init(&rc->ut, cfg, rc->out_fd, rc->fingerprint, &start);
    rc->env.ut = &rc->ut;
    return 0;
}

/* Starts a measuring window now. */
static void adapt_window(adapt_run *a, double now, double cpu, uint64_t done, uint64_t bytes)
{
    a->t_last = now;
    a->cpu_last = cpu;
    a->done_last = done;
    a->bytes_last = bytes;
}

/* One step of the adaptive pool: measures the throughput (bytes of the
 * sources of the tasks that ran, per second: images differ too much in size
 * for images per second to mean much over a short window) and CPU use since
 * the last step, and lets the controller pick the count. A window lasts ADAPT_INTERVAL_S and at least 2 tasks per
 * worker (8 at least): task times vary a lot between images. Nothing is
 * measured while the pool is not fully busy (listing the tree, the last
 * tasks), nor after a change until as many tasks ran as there are workers
 * now: until then the tasks that end are the old workers' and show the old
 * throughput. */
static void adapt_tick(run_ctx *rc, double now)
{
    adapt_run *a = rc->adapt;
    uint64_t done = atomic_load(&rc->ran), bytes = atomic_load(&rc->ran_bytes);
    double cpu = process_cpu_s(), dt = now - a->t_last;
    int n = a->ctl.n;
    if (pool_pending(rc->pool) <= (size_t)n || done < a->warm_until) { /* not one task waiting */
        adapt_window(a, now, cpu, done, bytes);
        return;
    }
    uint64_t need = (uint64_t)n > 8 ? (uint64_t)n : 8;
    if (dt < ADAPT_INTERVAL_S || (done - a->done_last < need && dt < 20 * ADAPT_INTERVAL_S))
        return;
    double thr = (double)(bytes - a->bytes_last) / dt;
    double use = (cpu - a->cpu_last) / (dt * (double)a->cpus);
    adapt_window(a, now, cpu, done, bytes);
    int next = adapt_sample(&a->ctl, thr, use);
    if (next != n) {
        next = pool_resize(rc->pool, next);
        a->ctl.n = next;
        a->warm_until = done + (uint64_t)next;
        adapt_record(a, now, next);
    }
}

static void adapt_summary(const adapt_run *a, FILE *to, const thumbd_config *cfg)
{
    fprintf(to, "thumbd: workers (%d:%d) over time:", cfg->workers_min, cfg->workers_max);
    for (int i = 0; i < a->nhist; i++)
        fprintf(to, "%s %d at %.1f s", i ? "," : "", a->hist[i].n, a->hist[i].t);
    fprintf(to, "\n");
}

typedef struct shutdown_state {
    bool active;
    cancel_reason why;
    int signo;
    double started, cancelled;  /* monotonic; 0 = not yet */
} shutdown_state;

static void begin_shutdown(run_ctx *rc, shutdown_state *sd, cancel_reason why, int signo)
{
    double now = clock_now_s();
    if (sd->active) {
        /* A second signal: cancel what is running now. */
        if (signo && !sd->cancelled) {
            pool_cancel_running(rc->pool, CANCEL_SHUTDOWN);
            sd->cancelled = now;
        }
        return;
    }
    sd->active = true;
    sd->why = why;
    sd->signo = signo;
    sd->started = now;
    atomic_store(&rc->stop_why, (int)why);
    atomic_store(&rc->stop_scan, true);
    pool_stop(rc->pool, why);
}

/* The main thread's loop: signals, deadline, shutdown timeout, overdue tasks.
 * Returns when every task is settled. */
static void supervise(run_ctx *rc, const sigset_t *sigs, shutdown_state *sd)
{
    const thumbd_config *cfg = rc->cfg;
    double run_deadline = cfg->deadline > 0 ? clock_now_s() + cfg->deadline : 0;
    for (;;) {
        /* Wake at the next deadline, or after a tick to look at the pool. */
        double wait = TICK_S, t = clock_now_s();
        if (run_deadline && !sd->active && run_deadline - t < wait)
            wait = run_deadline - t;
        if (sd->active && !sd->cancelled && sd->started + cfg->shutdown_timeout - t < wait)
            wait = sd->started + cfg->shutdown_timeout - t;
        if (wait < 0.0005)
            wait = 0.0005;
        struct timespec ts = {0, (long)(wait * 1e9)};
        int sig = sigtimedwait(sigs, NULL, &ts);
        signals_action act = sig > 0 ? signals_action_of(sig) : SIGNALS_NONE;
        if (act == SIGNALS_STOP)
            begin_shutdown(rc, sd, CANCEL_SHUTDOWN, sig);
        else if (act == SIGNALS_STATUS)
            report_request_status(rc->rep);
        double now = clock_now_s();
        if (run_deadline && now >= run_deadline && !sd->active)
            begin_shutdown(rc, sd, CANCEL_DEADLINE, 0);
        if (cfg->task_timeout > 0)
            pool_reap_overdue(rc->pool, CANCEL_GRACE_S);
        if (rc->adapt && !sd->active)
            adapt_tick(rc, now);
        if (sd->active && !sd->cancelled && now >= sd->started + cfg->shutdown_timeout) {
            pool_cancel_running(rc->pool, sd->why);
            sd->cancelled = now;
        }
        if (sd->cancelled && now >= sd->cancelled + CANCEL_GRACE_S) {
            pool_abandon_running(rc->pool, sd->why);
            return;
        }
        if (atomic_load(&rc->scan_done) && pool_wait(rc->pool, now + 0.001))
            return;
    }
}

static int exit_code(const run_ctx *rc, const shutdown_state *sd, const report_counts *c)
{
    if (rc->scan_st != TD_OK)
        return EXIT_FATAL;
    if (sd->active && sd->signo)
        return EXIT_SIGNAL_BASE + sd->signo;
    if (c->write_failed)
        return EXIT_FATAL; /* records were lost: the report cannot be trusted */
    if (sd->active && sd->why == CANCEL_DEADLINE)
        return EXIT_DEADLINE;
    if (c->by_status[TASK_FAILED] > c->known_bad || c->dirs_unreadable || c->cancelled_by[CANCEL_TIMEOUT])
        return EXIT_SOME_FAILED;
    if (rc->prune_refused)
        return EXIT_FATAL;
    return c->known_bad ? EXIT_KNOWN_BAD : EXIT_ALL_OK;
}

int run_thumbd(const thumbd_config *cfg)
{
    /* Signals are handled synchronously by supervise(); every thread
     * created from here on inherits this mask. */
    sigset_t sigs;
    signals_setup(&sigs, SIGRTMIN); /* SIGRTMIN: wake_supervisor() */
    raise_fd_limit();
    if (cfg->nice)
        be_nice();

    run_ctx rc = {.cfg = cfg, .in_fd = -1, .out_fd = -1, .list_fd = -1, .ut.memo.dir_fd = -1,
                  .ut.ledger.dir_fd = -1, .supervisor = pthread_self()};
    double t0 = clock_now_s();
    int code = open_dirs(&rc);
    if (code)
        goto close_fds;
    char err[TD_ERRLEN];
    rc.rep = report_open(cfg->report_path, cfg->queue_cap + (size_t)cfg->workers, err);
    if (!rc.rep) {
        escape_line(stderr, "thumbd: %s", err);
        code = EXIT_FATAL;
        goto close_fds;
    }
    rc.env.cfg = cfg;
    rc.env.in_fd = rc.in_fd;
    rc.env.out_fd = rc.out_fd;
    rc.env.gate = memgate_create(cfg->max_memory);
    rc.env.may_defer = task_may_defer;
    rc.env.defer_ctx = &rc;
    rc.progress = !cfg->quiet && isatty(STDERR_FILENO);
    report_set_console(rc.rep, stderr, cfg->verbose, rc.progress,
                       &rc.found, &rc.scan_done);
    /* The user asked for libvips: start it before any task's clock runs. */
    if (cfg->engine == ENGINE_VIPS || cfg->format == FORMAT_WEBP || cfg->format == FORMAT_AVIF)
        vipsengine_start();
    bool sched_ok = setup_scheduling(&rc);
    pool_ops ops = {.run = task_run, .done = task_done, .release = task_release,
                    .thread_end = worker_end, .retry = task_retry,
                    .admit = rc.limited ? task_admit : NULL, .ctx = &rc,
                    .task_timeout = cfg->task_timeout};
    rc.pool = sched_ok ? pool_create(cfg->workers, cfg->queue_cap, &ops) : NULL;
    pthread_t scan_th;
    if (!rc.env.gate || !rc.pool || pthread_create(&scan_th, NULL, scan_main, &rc) != 0) {
        fprintf(stderr, "thumbd: cannot start worker threads\n");
        pool_destroy(rc.pool);
        memgate_destroy(rc.env.gate);
        end_scheduling(&rc);
        report_free(rc.rep);
        code = EXIT_FATAL;
        goto close_fds;
    }
    shutdown_state sd = {0};
    supervise(&rc, &sigs, &sd);
    if (!sd.active)
        atomic_store(&rc.stop_why, (int)CANCEL_SHUTDOWN);
    atomic_store(&rc.stop_scan, true);
    pool_stop(rc.pool, (cancel_reason)atomic_load(&rc.stop_why)); /* settles anything left */
    pthread_join(scan_th, NULL);
    int stuck = pool_wait(rc.pool, clock_now_s() + 0.001) ? 0 : 1;
    if (cfg->prune && !sd.active && rc.scan_st == TD_OK && !stuck)
        run_prune(&rc);
    pool_destroy(rc.pool);
    if (!stuck)
        memgate_destroy(rc.env.gate); /* an abandoned worker may still use it */

    report_counts counts;
    report_finish(rc.rep, &counts);
    if (rc.scan_st != TD_OK)
        escape_line(stderr, "thumbd: %s", rc.scan_err);
    if (!cfg->quiet)
        report_summary(rc.rep, stderr, clock_now_s() - t0, rc.stats.ignored);
    if (!cfg->quiet && rc.adapt)
        adapt_summary(rc.adapt, stderr, cfg);
    end_scheduling(&rc);
    code = exit_code(&rc, &sd, &counts);
    if (cfg->metrics_path && report_write_metrics(rc.rep, cfg->metrics_path, clock_now_s() - t0, code, err) != TD_OK)
        escape_line(stderr, "thumbd: warning: %s", err);
    report_free(rc.rep);
    if (stuck)
        fs_sweep_temps(rc.out_fd); /* abandoned workers may have left some */
    /* The thumbnails now match the options, unless the run was cut short or
     * saw only a list of files. */
    if (!sd.active && rc.scan_st == TD_OK && !stuck && !cfg->files_from) {
        if (state_save(rc.out_fd, &rc.state, rc.fingerprint, err) != TD_OK)
            escape_line(stderr, "thumbd: warning: %s", err);
    }
    state_release(rc.out_fd, &rc.state, !stuck);
    rc.locked = false;
close_fds:
    uptodate_end(&rc.ut);
    prune_unsure_free(&rc.unsure);
    if (rc.locked)
        state_release(rc.out_fd, &rc.state, true);
    if (rc.in_fd >= 0)
        close(rc.in_fd);
    if (rc.out_fd >= 0)
        close(rc.out_fd);
    if (rc.list_fd >= 0 && rc.list_fd != STDIN_FILENO)
        close(rc.list_fd);
    return code;
}
