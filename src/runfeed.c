/* The scan thread of a run: the scan's tasks to the pool, settled at once
 * when there is nothing to run (an up-to-date image, a directory that
 * cannot be read), or listed first and sorted for --order. */
#include "thumbd/runctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "thumbd/taskpolicy.h"

/* Hands t to the pool; false (t settled as not started) once it stops. */
static bool dispatch(run_ctx *rc, thumbd_task *t)
{
    t->t_queued = clock_now_s();
    if (pool_submit(rc->pool, t))
        return true;
    taskpolicy_not_started(t, run_stop_reason(rc));
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

/* An up-to-date image goes to the writer for its record or its -v line;
 * else it is only counted. */
static bool wants_fresh(const thumbd_config *cfg)
{
    return (cfg->report_path && cfg->report_skipped) || cfg->verbose;
}

static bool scan_emit(thumbd_task *t, void *vctx)
{
    run_ctx *rc = vctx;
    /* --ordered: the writer holds at most a window of records. */
    report_wait_turn(rc->rep, t->id, &rc->stop_scan);
    rc->last_id = t->id;
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
        if (wants_fresh(rc->cfg)) {
            report_submit(rc->rep, t);
        } else {
            report_skip_unrecorded(rc->rep, 1); /* a record would go nowhere */
            report_pass(rc->rep, t->id);
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

/* Sorts the listing and submits it; what a stop leaves over is settled as
 * not started: one record each with --report-pending, else only counted,
 * so that a stop costs the same whatever the size of the backlog. */
static void emit_listing(run_ctx *rc)
{
    order_list *l = rc->listing;
    size_t n = order_list_len(l), i = 0;
    bool record = rc->cfg->report_pending;
    if (record || !atomic_load(&rc->stop_scan))
        order_list_sort(l, rc->cfg->order);
    while (i < n && !atomic_load(&rc->stop_scan)) {
        thumbd_task *t = order_list_task(l, i++);
        if (t && !dispatch(rc, t))
            break;
    }
    if (!record) {
        report_not_started(rc->rep, run_stop_reason(rc), n - i);
        i = n;
    }
    for (; i < n; i++) {
        thumbd_task *t = order_list_task(l, i);
        if (t) {
            taskpolicy_not_started(t, run_stop_reason(rc));
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

void *runfeed_main(void *arg)
{
    run_ctx *rc = arg;
    scan_opts o = {.in_dir = rc->cfg->in_dir, .out_dir = rc->cfg->out_dir,
                   .follow_symlinks = rc->cfg->follow_symlinks,
                   .force_format = rc->cfg->format != FORMAT_AUTO,
                   .shard_index = rc->cfg->shard_index, .shard_count = rc->cfg->shard_count,
                   .vips_formats = rc->cfg->engine != ENGINE_NATIVE, .names = &rc->ut.names,
                   .detect_content = rc->cfg->detect == DETECT_CONTENT,
                   .fresh = scan_fresh, .dir_begin = scan_dir_begin, .dir_end = scan_dir_end,
                   /* Nobody sees a record of an up-to-date image: count it, no more. */
                   .emit_fresh = wants_fresh(rc->cfg) || rc->progress};
    if (rc->cfg->in_file) {
        rc->scan_st = scan_one(&o, rc->cfg->in_file, scan_emit, rc, &rc->stats, rc->scan_err);
    } else if (rc->list_fd >= 0) {
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
    run_wake_supervisor(rc);
    return NULL;
}
