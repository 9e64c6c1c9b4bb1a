/* A whole run: it opens the directories, starts the report, the pool (whose
 * callbacks are here) and the scan thread (runfeed.c), and after the
 * supervisor's loop (supervise.c) settles the outcome: --prune, the
 * summary, the state file and the exit code. */
#include "thumbd/run.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/adaptrun.h"
#include "thumbd/escape.h"
#include "thumbd/fsutil.h"
#include "thumbd/isolation.h"
#include "thumbd/order.h"
#include "thumbd/pipeline.h"
#include "thumbd/pool.h"
#include "thumbd/procenv.h"
#include "thumbd/prune.h"
#include "thumbd/ratelimit.h"
#include "thumbd/report.h"
#include "thumbd/runctx.h"
#include "thumbd/rundirs.h"
#include "thumbd/signals.h"
#include "thumbd/state.h"
#include "thumbd/supervise.h"
#include "thumbd/taskpolicy.h"
#include "thumbd/uptodate.h"
#include "thumbd/vipsengine.h"

void run_wake_supervisor(run_ctx *rc)
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
    if (rc->cfg->isolation == ISOLATION_PROCESS)
        isolation_run(&rc->env, t, worker, tok);
    else
        pipeline_run(&rc->env, t, worker, tok);
    if (t->res.deferred)
        return;
    atomic_fetch_add(&rc->ran_bytes, t->size > 0 ? (uint64_t)t->size : 0);
    atomic_fetch_add(&rc->ran, 1);
}

static bool task_may_defer(const thumbd_task *t, void *vctx)
{
    return taskpolicy_may_defer(t, ((run_ctx *)vctx)->pool);
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
        /* short naps: a shutdown is noticed */
        sleep_s(wait < SUPERVISE_TICK_S ? wait : SUPERVISE_TICK_S);
    }
}

/* The pool calls this with its lock held. */
static double task_retry(void *item, void *vctx)
{
    return taskpolicy_retry(item, &((run_ctx *)vctx)->retry);
}

cancel_reason run_stop_reason(run_ctx *rc)
{
    cancel_reason why = (cancel_reason)atomic_load(&rc->stop_why);
    return why != CANCEL_NONE ? why : CANCEL_SHUTDOWN;
}

static void task_done(void *item, pool_outcome how, cancel_reason why, void *vctx)
{
    run_ctx *rc = vctx;
    uint64_t id = ((thumbd_task *)item)->id;
    thumbd_task *t = taskpolicy_settle(item, how, why, run_stop_reason(rc));
    if (t)
        report_submit(rc->rep, t);
    else
        report_pass(rc->rep, id); /* no copy to report: --ordered goes on without it */
}

static void worker_start(void *vctx)
{
    run_ctx *rc = vctx;
    if (rc->cfg->isolation == ISOLATION_PROCESS)
        isolation_thread_start(&rc->env);
}

static void worker_end(void *vctx)
{
    isolation_thread_end();
    vipsengine_thread_end();
    pipeline_thread_end();
    run_wake_supervisor(vctx);
}

static void task_release(void *item, void *vctx)
{
    (void)vctx;
    task_free(item);
}

static void prune_emit(thumbd_task *t, void *vctx)
{
    /* Every lower id is settled by now: the wait ends. */
    report_wait_turn(((run_ctx *)vctx)->rep, t->id, NULL);
    report_submit(((run_ctx *)vctx)->rep, t);
}

/* --prune, after the scan and every task. */
static void run_prune(run_ctx *rc)
{
    /* After the scan's ids (directories that could not be read have some
     * too, without being found images). */
    uint64_t found = atomic_load(&rc->found);
    uint64_t next_id = (rc->last_id > found ? rc->last_id : found) + 1;
    prune_opts o = {.in_fd = rc->in_fd, .out_fd = rc->out_fd, .ledger = &rc->ut.ledger,
                    .max_count = rc->cfg->max_prune, .max_pct = rc->cfg->max_prune_pct,
                    .unsure = prune_unsure_has, .unsure_ctx = &rc->unsure, .emit = prune_emit,
                    .ctx = rc, .next_id = &next_id};
    prune_result res;
    char err[TD_ERRLEN];
    if (prune_run(&o, &res, err) != TD_OK)
        escape_line(stderr, "thumbd: --prune: %s", err);
    prune_explain(&res, &o, rc->cfg->quiet || rc->cfg->silent);
    rc->prune_refused = res.refused;
    memo_prune(&rc->ut.memo); /* after prune_run: the directories it emptied are gone */
}

/* The scheduling parts of a run that cannot fail: retries, rate limit,
 * the listing for --order, the adaptive pool. false when out of memory. */
static bool setup_scheduling(run_ctx *rc)
{
    const thumbd_config *cfg = rc->cfg;
    rc->retry = taskpolicy_retries(cfg->retries, cfg->retry_backoff);
    if (cfg->max_rate > 0) {
        int burst = cfg->workers_max ? cfg->workers_max : cfg->workers;
        ratelimit_init(&rc->limiter, cfg->max_rate, burst, clock_now_s());
        rc->limited = true;
    }
    /* (--files-from puts its '!' lines first itself: scan_list.) */
    if (cfg->order != ORDER_PATH && !(rc->listing = order_list_new()))
        return false;
    if (cfg->workers_max && !(rc->adapt = adaptrun_new(cfg->workers_min, cfg->workers_max, cfg->workers)))
        return false;
    return true;
}

static void end_scheduling(run_ctx *rc)
{
    if (rc->limited)
        ratelimit_destroy(&rc->limiter);
    order_list_free(rc->listing);
    adaptrun_free(rc->adapt);
}

/* The last complete run used other options: their thumbnails are all
 * made again (the ledger ties each to its options), which a person should
 * not discover from the run's length. */
static void note_options_changed(run_ctx *rc)
{
    char prev[512], diff[512];
    if (!state_previous(rc->out_fd, &rc->state, prev, sizeof prev))
        return; /* a first run: nothing to redo */
    if (state_describe_change(prev, rc->fingerprint, diff, sizeof diff))
        fprintf(stderr, "thumbd: options changed since the last run (%s): every thumbnail is made "
                        "again\n", diff);
    else
        fprintf(stderr, "thumbd: options changed since the last run: every thumbnail is made again\n");
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
    if (!same && !cfg->silent)
        note_options_changed(rc);
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

static int exit_code(const run_ctx *rc, const supervise_state *sd, const report_counts *c)
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

/* A shutdown begins: the scan and the workers' rate limit stop. */
static void run_stopping(cancel_reason why, void *vctx)
{
    run_ctx *rc = vctx;
    atomic_store(&rc->stop_why, (int)why);
    atomic_store(&rc->stop_scan, true);
}

static void run_adapt_tick(double now, void *vctx)
{
    run_ctx *rc = vctx;
    uint64_t done = atomic_load(&rc->ran), bytes = atomic_load(&rc->ran_bytes);
    adaptrun_tick(rc->adapt, rc->pool, now, done, bytes);
}

/* The report goes to stdout, and stdout is a terminal or a pipe (which,
 * as in `--report - | jq`, mostly ends on one): a progress line on the
 * same screen would cut into its lines. */
static bool report_on_screen(const thumbd_config *cfg)
{
    struct stat sb;
    if (!cfg->report_path || strcmp(cfg->report_path, "-"))
        return false;
    return isatty(STDOUT_FILENO) || (fstat(STDOUT_FILENO, &sb) == 0 && S_ISFIFO(sb.st_mode));
}

/* Starts the report, the pool and the scan thread (*scan_th). Returns 0 or
 * an exit code, having undone what it started. */
static int start_run(run_ctx *rc, pthread_t *scan_th)
{
    const thumbd_config *cfg = rc->cfg;
    char err[TD_ERRLEN];
    rc->rep = report_open(cfg->report_path, cfg->queue_cap + (size_t)cfg->workers, err);
    if (!rc->rep) {
        escape_line(stderr, "thumbd: %s", err);
        return EXIT_FATAL;
    }
    rc->env.cfg = cfg;
    rc->env.in_fd = rc->in_fd;
    rc->env.out_fd = rc->out_fd;
    rc->env.gate = memgate_create(cfg->max_memory);
    rc->env.may_defer = task_may_defer;
    rc->env.defer_ctx = rc;
    rc->progress = !cfg->quiet && !cfg->silent && isatty(STDERR_FILENO) && !report_on_screen(cfg);
    report_set_records(rc->rep, cfg->report_skipped, cfg->report_pending);
    report_set_console(rc->rep, stderr, cfg->verbose && !cfg->silent, !cfg->silent, rc->progress,
                       &rc->found, &rc->scan_done);
    /* --ordered: a window of 4 x what the pool can hold (queued and
     * running), so a slow task does not stall the scan at once. */
    int most = cfg->workers_max > cfg->workers ? cfg->workers_max : cfg->workers;
    bool order_ok = !cfg->ordered || report_set_ordered(rc->rep, 4 * (cfg->queue_cap + (size_t)most));
    /* The user asked for libvips: start it before any task's clock runs. */
    if (cfg->engine == ENGINE_VIPS || cfg->format == FORMAT_WEBP || cfg->format == FORMAT_AVIF)
        vipsengine_start();
    bool sched_ok = order_ok && setup_scheduling(rc);
    pool_ops ops = {.run = task_run, .done = task_done, .release = task_release,
                    .thread_start = worker_start, .thread_end = worker_end, .retry = task_retry,
                    .admit = rc->limited ? task_admit : NULL, .ctx = rc,
                    .task_timeout = cfg->task_timeout};
    rc->pool = sched_ok ? pool_create(cfg->workers, cfg->queue_cap, &ops) : NULL;
    if (!rc->env.gate || !rc->pool || pthread_create(scan_th, NULL, runfeed_main, rc) != 0) {
        fprintf(stderr, "thumbd: cannot start worker threads\n");
        pool_destroy(rc->pool);
        memgate_destroy(rc->env.gate);
        end_scheduling(rc);
        report_free(rc->rep);
        return EXIT_FATAL;
    }
    return 0;
}

/* After the supervisor's loop: stops what is left, runs --prune, and ends
 * the report and the lock. Returns the exit code. */
static int finish_run(run_ctx *rc, pthread_t scan_th, const supervise_state *sd, double t0)
{
    const thumbd_config *cfg = rc->cfg;
    if (!sd->active)
        atomic_store(&rc->stop_why, (int)CANCEL_SHUTDOWN);
    atomic_store(&rc->stop_scan, true);
    pool_stop(rc->pool, (cancel_reason)atomic_load(&rc->stop_why)); /* settles anything left */
    pthread_join(scan_th, NULL);
    int stuck = pool_wait(rc->pool, clock_now_s() + 0.001) ? 0 : 1;
    if (cfg->prune && !sd->active && rc->scan_st == TD_OK && !stuck)
        run_prune(rc);
    pool_destroy(rc->pool);
    if (!stuck)
        memgate_destroy(rc->env.gate); /* an abandoned worker may still use it */

    report_counts counts;
    report_finish(rc->rep, &counts);
    if (rc->scan_st != TD_OK)
        escape_line(stderr, "thumbd: %s", rc->scan_err);
    bool quiet = cfg->quiet || cfg->silent;
    if (!quiet)
        report_summary(rc->rep, stderr, clock_now_s() - t0, rc->stats.ignored);
    if (!quiet && rc->adapt)
        adaptrun_summary(rc->adapt, stderr);
    end_scheduling(rc);
    int code = exit_code(rc, sd, &counts);
    char err[TD_ERRLEN];
    if (cfg->metrics_path && report_write_metrics(rc->rep, cfg->metrics_path, clock_now_s() - t0, code, err) != TD_OK &&
        !cfg->silent)
        escape_line(stderr, "thumbd: warning: %s", err);
    report_free(rc->rep);
    if (stuck || isolation_killed_any())
        fs_sweep_temps(rc->out_fd); /* abandoned workers or killed worker processes may have left some */
    /* The thumbnails now match the options, unless the run was cut short or
     * saw only a list of files, or one file. */
    if (!sd->active && rc->scan_st == TD_OK && !stuck && !cfg->files_from && !cfg->in_file) {
        if (state_save(rc->out_fd, &rc->state, rc->fingerprint, err) != TD_OK && !cfg->silent)
            escape_line(stderr, "thumbd: warning: %s", err);
    }
    state_release(rc->out_fd, &rc->state, !stuck);
    rc->locked = false;
    return code;
}

int run_thumbd(const thumbd_config *cfg)
{
    /* Signals are handled synchronously by supervise_run(); every thread
     * created from here on inherits this mask. */
    sigset_t sigs;
    signals_setup(&sigs, SIGRTMIN); /* SIGRTMIN: run_wake_supervisor() */
    procenv_raise_fd_limit();
    if (cfg->nice)
        procenv_nice();

    thumbd_config one;
    char *held;
    int code = rundirs_single(cfg, &one, &held);
    if (code)
        return code;
    cfg = &one;
    run_ctx rc = {.cfg = cfg, .in_fd = -1, .out_fd = -1, .list_fd = -1, .ut.memo.dir_fd = -1,
                  .ut.ledger.dir_fd = -1, .supervisor = pthread_self()};
    double t0 = clock_now_s();
    pthread_t scan_th;
    code = open_dirs(&rc);
    if (!code)
        code = start_run(&rc, &scan_th);
    if (!code) {
        supervise_state sd = {0};
        supervise_opts so = {.pool = rc.pool, .rep = rc.rep, .sigs = &sigs, .deadline_s = cfg->deadline,
                             .shutdown_timeout_s = cfg->shutdown_timeout,
                             .drain = cfg->on_stop == STOP_DRAIN,
                             .reap_overdue = cfg->task_timeout > 0, .scan_done = &rc.scan_done,
                             .stopping = run_stopping, .tick = rc.adapt ? run_adapt_tick : NULL,
                             .ctx = &rc};
        supervise_run(&so, &sd);
        code = finish_run(&rc, scan_th, &sd, t0);
    }
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
    free(held);
    return code;
}
