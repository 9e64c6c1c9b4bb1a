/* The state of one run, shared by the files that make it up: the
 * orchestration and the pool's callbacks (run.c), and the scan thread that
 * feeds the pool (runfeed.c). Internal to the run: nothing else uses it. */
#ifndef THUMBD_RUNCTX_H
#define THUMBD_RUNCTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "thumbd/adaptrun.h"
#include "thumbd/config.h"
#include "thumbd/order.h"
#include "thumbd/pipeline.h"
#include "thumbd/pool.h"
#include "thumbd/prune.h"
#include "thumbd/ratelimit.h"
#include "thumbd/report.h"
#include "thumbd/retry.h"
#include "thumbd/scan.h"
#include "thumbd/state.h"
#include "thumbd/uptodate.h"

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
    uint64_t last_id;          /* the highest id the scan gave (scan thread; read after it ends) */
    scan_stats stats;
    td_status scan_st;
    char scan_err[TD_ERRLEN];
    order_list *listing;       /* orders other than the walk's: the tree, listed */
    retry_policy retry;
    bool limited;              /* --max-rate */
    ratelimit limiter;
    _Atomic uint64_t ran;      /* tasks that ran to the end, for the adaptive pool */
    _Atomic uint64_t ran_bytes;  /* and the bytes of their sources */
    adaptrun *adapt;           /* NULL: a fixed worker count */
    pthread_t supervisor;      /* the main thread, woken with SIGRTMIN */
    bool progress;             /* a live progress line on stderr */
    bool prune_refused;        /* --prune would have removed more than --max-prune */
} run_ctx;

/* Wakes the supervisor's loop at once instead of at its next tick: the end
 * of a run is seen without waiting up to SUPERVISE_TICK_S (a no-op re-run
 * takes ~0.1 s in all). */
void run_wake_supervisor(run_ctx *rc);

/* Why the run stops (CANCEL_SHUTDOWN until a shutdown says otherwise). */
cancel_reason run_stop_reason(run_ctx *rc);

/* The scan thread (arg: the run_ctx): walks IN_DIR or reads the
 * --files-from list, hands each task to the pool (after sorting them all
 * for --order), then closes the pool, sets scan_done and wakes the
 * supervisor. */
void *runfeed_main(void *arg);

#endif
