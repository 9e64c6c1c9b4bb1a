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
#include <unistd.h>

#include "thumbd/fsutil.h"
#include "thumbd/pipeline.h"
#include "thumbd/pool.h"
#include "thumbd/prune.h"
#include "thumbd/report.h"
#include "thumbd/scan.h"
#include "thumbd/state.h"
#include "thumbd/vipsengine.h"

/* After cancelling, how long running tasks get to notice before they are
 * abandoned (reported and left behind). */
static const double CANCEL_GRACE_S = 1.0;
static const double TICK_S = 0.05;

typedef struct run_ctx {
    const thumbd_config *cfg;
    int in_fd, out_fd;
    pipeline_env env;
    state_handle state;
    bool locked;
    char fingerprint[256];     /* of the options that shape thumbnails */
    pool *pool;
    report *rep;
    atomic_bool stop_scan;
    _Atomic int stop_why;      /* cancel_reason of the shutdown, once stopping */
    _Atomic bool scan_done;
    _Atomic uint64_t found;    /* tasks submitted so far, for the progress line */
    scan_stats stats;
    td_status scan_st;
    char scan_err[TD_ERRLEN];
    pthread_t supervisor;      /* the main thread, woken with SIGRTMIN */
    bool progress;             /* a live progress line on stderr */
} run_ctx;

/* Wakes supervise() at once instead of at its next tick: the end of a run is
 * seen without waiting up to TICK_S (a no-op re-run takes ~0.1 s in all). */
static void wake_supervisor(run_ctx *rc)
{
    pthread_kill(rc->supervisor, SIGRTMIN);
}

static void task_run(void *item, int worker, cancel_token *tok, void *vctx)
{
    run_ctx *rc = vctx;
    pipeline_run(&rc->env, item, worker, tok);
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
    if (how == POOL_NOT_STARTED) {
        t->res.worker = -1;
        mark_cancelled(t, why, "not started: %s", 0);
    } else if (how == POOL_ABANDONED) {
        /* The worker is stuck (e.g. a read on a dead filesystem) and still
         * owns t: report a copy. */
        thumbd_task *copy = task_new(t->id, t->rel, t->size, t->mtime);
        if (!copy)
            return;
        double secs = cancel_now() - t->t_queued;
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
    wake_supervisor(vctx);
}

static void task_release(void *item, void *vctx)
{
    (void)vctx;
    task_free(item);
}

static bool scan_emit(thumbd_task *t, void *vctx)
{
    run_ctx *rc = vctx;
    t->t_queued = cancel_now();
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
    if (!pool_submit(rc->pool, t)) {
        mark_cancelled(t, (cancel_reason)atomic_load(&rc->stop_why), "not started: %s", 0);
        report_submit(rc->rep, t);
        return false;
    }
    return !atomic_load(&rc->stop_scan);
}

static char *scan_fresh(const char *rel, const struct stat *sb, void *vctx)
{
    return pipeline_up_to_date(&((run_ctx *)vctx)->env, rel, &sb->st_mtim);
}

static bool scan_should_stop(void *vctx)
{
    return atomic_load(&((run_ctx *)vctx)->stop_scan);
}

static void prune_emit(thumbd_task *t, void *vctx)
{
    report_submit(((run_ctx *)vctx)->rep, t);
}

static void *scan_main(void *arg)
{
    run_ctx *rc = arg;
    scan_opts o = {.in_dir = rc->cfg->in_dir, .out_dir = rc->cfg->out_dir,
                   .follow_symlinks = rc->cfg->follow_symlinks,
                   .force_format = rc->cfg->format != FORMAT_AUTO,
                   .shard_index = rc->cfg->shard_index, .shard_count = rc->cfg->shard_count,
                   .vips_formats = rc->cfg->engine != ENGINE_NATIVE,
                   .fresh = rc->env.incremental ? scan_fresh : NULL,
                   /* Nobody sees a record of an up-to-date image: count it, no more. */
                   .emit_fresh = rc->cfg->report_path || rc->cfg->verbose || rc->progress};
    const char *list = rc->cfg->files_from;
    if (list) {
        FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
        if (!f)
            rc->scan_st = td_fail(rc->scan_err, TD_EIO, "cannot open the --files-from list '%s': %s",
                                  list, strerror(errno));
        else
            rc->scan_st = scan_list(&o, f, rc->cfg->files_null, scan_emit, scan_should_stop, rc,
                                    &rc->stats, rc->scan_err);
        if (f && f != stdin)
            fclose(f);
    } else {
        rc->scan_st = scan_run(&o, scan_emit, scan_should_stop, rc, &rc->stats, rc->scan_err);
    }
    report_skip_unrecorded(rc->rep, rc->stats.fresh);
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

/* mkdir -p for the user's OUT_DIR path (symlinks in it are the user's). */
static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int fatal(const char *fmt, const char *arg, int e)
{
    fprintf(stderr, "thumbd: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, ": %s\n", strerror(e));
    return EXIT_FATAL;
}

/* Opens IN_DIR and OUT_DIR (creating it) and takes OUT_DIR's lock, which
 * also sweeps a killed run's temporary files. Returns 0 or an exit code. */
static int open_dirs(run_ctx *rc)
{
    const thumbd_config *cfg = rc->cfg;
    rc->in_fd = open(cfg->in_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rc->in_fd < 0)
        return fatal("cannot open input directory '%s'", cfg->in_dir, errno);
    if (mkdir_p(cfg->out_dir) != 0)
        return fatal("cannot create output directory '%s'", cfg->out_dir, errno);
    rc->out_fd = open(cfg->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rc->out_fd < 0)
        return fatal("cannot open output directory '%s'", cfg->out_dir, errno);
    struct stat in_sb, out_sb;
    if (fstat(rc->in_fd, &in_sb) == 0 && fstat(rc->out_fd, &out_sb) == 0 &&
        in_sb.st_dev == out_sb.st_dev && in_sb.st_ino == out_sb.st_ino) {
        /* The next run would take the thumbnails for sources. */
        fprintf(stderr, "thumbd: OUT_DIR is IN_DIR ('%s'): give the thumbnails a directory of their "
                        "own (it may lie inside IN_DIR)\n", cfg->out_dir);
        return EXIT_USAGE;
    }
    char err[TD_ERRLEN];
    td_status st = state_acquire(rc->out_fd, cfg, cfg->wait_lock, &rc->state, err);
    if (st != TD_OK) {
        fprintf(stderr, "thumbd: %s: %s\n", cfg->out_dir, err);
        return st == TD_EBUSY ? EXIT_LOCKED : EXIT_FATAL;
    }
    rc->locked = true;
    state_fingerprint(cfg, rc->fingerprint, sizeof rc->fingerprint);
    bool same = state_matches(rc->out_fd, &rc->state, rc->fingerprint);
    if (!same)
        state_forget(rc->out_fd); /* thumbnails with these options are coming */
    rc->env.incremental = !cfg->force && same;
    return 0;
}

typedef struct shutdown_state {
    bool active;
    cancel_reason why;
    int signo;
    double started, cancelled;  /* monotonic; 0 = not yet */
} shutdown_state;

static void begin_shutdown(run_ctx *rc, shutdown_state *sd, cancel_reason why, int signo)
{
    double now = cancel_now();
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
    double run_deadline = cfg->deadline > 0 ? cancel_now() + cfg->deadline : 0;
    for (;;) {
        /* Wake at the next deadline, or after a tick to look at the pool. */
        double wait = TICK_S, t = cancel_now();
        if (run_deadline && !sd->active && run_deadline - t < wait)
            wait = run_deadline - t;
        if (sd->active && !sd->cancelled && sd->started + cfg->shutdown_timeout - t < wait)
            wait = sd->started + cfg->shutdown_timeout - t;
        if (wait < 0.0005)
            wait = 0.0005;
        struct timespec ts = {0, (long)(wait * 1e9)};
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig > 0 && sig != SIGRTMIN)
            begin_shutdown(rc, sd, CANCEL_SHUTDOWN, sig);
        double now = cancel_now();
        if (run_deadline && now >= run_deadline && !sd->active)
            begin_shutdown(rc, sd, CANCEL_DEADLINE, 0);
        if (cfg->task_timeout > 0)
            pool_reap_overdue(rc->pool, CANCEL_GRACE_S);
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
    if (c->by_status[TASK_FAILED] || c->cancelled_by[CANCEL_TIMEOUT])
        return EXIT_SOME_FAILED;
    return EXIT_ALL_OK;
}

int run_thumbd(const thumbd_config *cfg)
{
    /* Termination signals are handled synchronously by supervise(); every
     * thread created from here on inherits this mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGRTMIN); /* wake_supervisor() */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    /* A closed report pipe or a file-size limit are errors of one write,
     * reported where they happen, not reasons to die. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    raise_fd_limit();

    run_ctx rc = {.cfg = cfg, .in_fd = -1, .out_fd = -1, .supervisor = pthread_self()};
    double t0 = cancel_now();
    int code = open_dirs(&rc);
    if (code)
        goto close_fds;
    char err[TD_ERRLEN];
    rc.rep = report_open(cfg->report_path, cfg->queue_cap + (size_t)cfg->workers, err);
    if (!rc.rep) {
        fprintf(stderr, "thumbd: %s\n", err);
        code = EXIT_FATAL;
        goto close_fds;
    }
    rc.env.cfg = cfg;
    rc.env.in_fd = rc.in_fd;
    rc.env.out_fd = rc.out_fd;
    rc.env.gate = memgate_create(cfg->max_memory);
    rc.progress = !cfg->quiet && isatty(STDERR_FILENO);
    report_set_console(rc.rep, stderr, cfg->verbose, rc.progress,
                       &rc.found, &rc.scan_done);
    pool_ops ops = {.run = task_run, .done = task_done, .release = task_release,
                    .thread_end = worker_end, .ctx = &rc,
                    .task_timeout = cfg->task_timeout};
    rc.pool = pool_create(cfg->workers, cfg->queue_cap, &ops);
    pthread_t scan_th;
    if (!rc.env.gate || !rc.pool || pthread_create(&scan_th, NULL, scan_main, &rc) != 0) {
        fprintf(stderr, "thumbd: cannot start worker threads\n");
        pool_destroy(rc.pool);
        memgate_destroy(rc.env.gate);
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
    int stuck = pool_wait(rc.pool, cancel_now() + 0.001) ? 0 : 1;
    if (cfg->prune && !sd.active && rc.scan_st == TD_OK && !stuck) {
        uint64_t next_id = atomic_load(&rc.found) + 1;
        prune_run(rc.in_fd, rc.out_fd, cfg->engine != ENGINE_NATIVE, &next_id, prune_emit, &rc);
    }
    pool_destroy(rc.pool);
    if (!stuck)
        memgate_destroy(rc.env.gate); /* an abandoned worker may still use it */

    report_counts counts;
    report_finish(rc.rep, &counts);
    if (rc.scan_st != TD_OK)
        fprintf(stderr, "thumbd: %s\n", rc.scan_err);
    if (!cfg->quiet)
        report_summary(rc.rep, stderr, cancel_now() - t0, rc.stats.ignored);
    code = exit_code(&rc, &sd, &counts);
    if (cfg->metrics_path && report_write_metrics(rc.rep, cfg->metrics_path, cancel_now() - t0, code, err) != TD_OK)
        fprintf(stderr, "thumbd: warning: %s\n", err);
    report_free(rc.rep);
    if (stuck)
        fs_sweep_temps(rc.out_fd); /* abandoned workers may have left some */
    /* The thumbnails now match the options, unless the run was cut short or
     * saw only a list of files. */
    if (!sd.active && rc.scan_st == TD_OK && !stuck && !cfg->files_from) {
        if (state_save(rc.out_fd, &rc.state, rc.fingerprint, err) != TD_OK)
            fprintf(stderr, "thumbd: warning: %s\n", err);
    }
    state_release(rc.out_fd, &rc.state, !stuck);
    rc.locked = false;
close_fds:
    if (rc.locked)
        state_release(rc.out_fd, &rc.state, true);
    if (rc.in_fd >= 0)
        close(rc.in_fd);
    if (rc.out_fd >= 0)
        close(rc.out_fd);
    return code;
}
