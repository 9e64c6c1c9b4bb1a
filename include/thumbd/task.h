/* ImageTask: one image file found by the scanner, and its result. */
#ifndef THUMBD_TASK_H
#define THUMBD_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "thumbd/cancel.h"
#include "thumbd/status.h"
#include "thumbd/thumbhash.h"

typedef enum task_status {
    TASK_OK = 0,
    TASK_FAILED,
    TASK_SKIPPED,
    TASK_CANCELLED,
    TASK_PRUNED,               /* a thumbnail removed: its source is gone */
    TASK_NSTATUS
} task_status;

/* What a decode went past (--fail-on, failon.h): the first few distinct
 * messages, each cut to TASK_WARN_LEN - 1 bytes. */
enum { TASK_WARN_MAX = 4, TASK_WARN_LEN = 120 };
typedef struct task_warnings {
    int n;
    char msg[TASK_WARN_MAX][TASK_WARN_LEN];
} task_warnings;

/* Adds msg unless it is there already or w is full. */
void task_warn_add(task_warnings *w, const char *msg);

/* One thumbnail of a source made at several sizes (--size given more than
 * once). */
enum { TASK_MAX_OUTPUTS = 8 };
typedef struct task_output {
    char *rel;                 /* owned: the path relative to OUT_DIR */
    int box_w, box_h;          /* the size asked ({size}) */
    int w, h;
    int64_t bytes;
    uint64_t ino;
} task_output;

typedef struct task_result {
    task_status status;
    char error[TD_ERRLEN];     /* empty when none */
    char *out_rel;             /* owned; NULL when no output */
    int src_w, src_h;
    int out_w, out_h;
    int64_t out_bytes;
    const char *decoder;       /* static: how the source was decoded, or NULL */
    task_warnings warnings;    /* TASK_OK despite these */
    double queue_ms, decode_ms, resize_ms, encode_ms, total_ms;
    int worker;                /* -1: never ran */
    cancel_reason why;         /* for TASK_CANCELLED */
    bool transient;            /* TASK_FAILED by an error worth retrying */
    bool deferred;             /* given back before decoding: the memory budget was busy */
    bool lasting;              /* TASK_FAILED by the file itself (corrupt, over a limit):
                                * it fails again while the file is unchanged */
    int64_t read_size;         /* the source as it was read (else as the scan saw it) */
    struct timespec read_mtime;
    uint64_t out_ino;          /* the thumbnail's inode */
    /* --placeholder thumbhash: the thumbnail's ThumbHash in base64, else "" */
    char placeholder[THUMBHASH_B64_SIZE];
    /* Several sizes: every output in --size order, outs[0] also in out_rel,
     * out_w... (owned apart); 0 for a run of one size. */
    int nouts;
    task_output outs[TASK_MAX_OUTPUTS];
} task_result;

/* Frees r's outputs (out_rel and outs) and leaves it with none. */
void task_result_clear_outputs(task_result *r);

typedef struct thumbd_task {
    uint64_t id;               /* scan order, from 1 */
    char *rel;                 /* owned: path relative to IN_DIR */
    int64_t size;              /* bytes, from the scan */
    struct timespec mtime;
    double t_queued;           /* clock_now_s() at submission */
    char *preset_error;        /* owned: the scanner already knows it fails */
    bool urgent;               /* listed with '!' in --files-from: goes first */
    bool known_bad;            /* preset_error: it failed before and is unchanged */
    bool dir;                  /* not an image: a directory the scan could not read, settled
                                * by the scanner as failed and counted apart */
    _Atomic int attempts;      /* runs so far (retries of transient failures); atomic:
                                * an abandoned task's copy reads it during the run */
    int deferrals;             /* times given back for the memory budget */
    task_result res;
} thumbd_task;

/* A task for rel (copied), or NULL when out of memory. */
thumbd_task *task_new(uint64_t id, const char *rel, int64_t size, struct timespec mtime);
void task_free(thumbd_task *t);

const char *task_status_name(task_status s);

#endif
