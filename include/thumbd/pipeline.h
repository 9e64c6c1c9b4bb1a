/* One ImageTask -> one result: decode rows, shrink, orient, colour, resize,
 * encode, atomic rename. */
#ifndef THUMBD_PIPELINE_H
#define THUMBD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/config.h"
#include "thumbd/memgate.h"
#include "thumbd/outname.h"
#include "thumbd/task.h"

/* What every task of a run shares. */
typedef struct pipeline_env {
    const thumbd_config *cfg;
    int in_fd, out_fd;         /* open directories IN_DIR and OUT_DIR */
    memgate *gate;             /* decoder memory budget */
    struct uptodate *ut;       /* notes what each task made or failed at (NULL: nothing) */
    /* Optional: asked before a task's decode whether, should the memory
     * budget be busy, the task may be given back (res.deferred) rather than
     * wait in it; with defer_ctx. */
    bool (*may_defer)(const thumbd_task *t, void *ctx);
    void *defer_ctx;
} pipeline_env;

/* Fills task->res afresh (status, message, sizes, timings; for a failure, whether
 * it is transient: an I/O error or a file that changed while read, worth
 * another attempt, unlike a corrupt file). Never exits, never
 * leaves a partial file at a final name. A thumbnail gets its source's
 * mtime (how the next run tells it is up to date: uptodate.h). Notes what it
 * made or failed at in env->ut. */
void pipeline_run(const pipeline_env *env, thumbd_task *task, int worker, cancel_token *tok);

/* A task's message for its --task-timeout of t seconds: "task timeout
 * after 2.0 s", "... after 0.05 s" (the budget as given). */
void pipeline_timeout_message(char buf[TD_ERRLEN], double t);

/* Frees the calling thread's read buffer (kept from task to task): call it
 * as each worker thread ends. */
void pipeline_thread_end(void);

/* A finished thumbnail in memory, and what making it took. */
typedef struct pipeline_thumb {
    uint8_t *px;               /* w*h*(alpha ? 4 : 3) bytes, RGB(A); owned */
    int w, h;
    bool alpha;
    int src_w, src_h;          /* as stored */
    const char *decoder;       /* the decode path taken (report's "decoder"), or NULL */
    task_warnings warnings;    /* what the decode went past (--fail-on) */
    double decode_ms, resize_ms;
} pipeline_thumb;

/* Decodes one JPEG or PNG from in (at its start) and makes its thumbnail:
 * shrink, colour, orientation, resize. gate: the decoder memory budget (NULL:
 * none); may_defer: return TD_EBUSY rather than wait when it is busy. No
 * file is written; on failure th holds nothing. This is the whole
 * per-image path but for the output file, and what the fuzz targets
 * drive. */
td_status pipeline_make(const thumbd_config *cfg, memgate *gate, bool may_defer, FILE *in,
                        cancel_token *tok, pipeline_thumb *th, char err[TD_ERRLEN]);

/* The thumbnails of every size of cfg (config_boxes: n of them) from one
 * decode of in, into th[0..n): the source is decoded at the scale the
 * largest need asks for, and each size made from that one intermediate
 * image. th[0] also holds what the decode took (src_w, src_h, decoder,
 * warnings, decode_ms, and resize_ms for all of them). On failure th holds
 * nothing. pipeline_make is this for cfg's first size alone. */
td_status pipeline_make_sizes(const thumbd_config *cfg, memgate *gate, bool may_defer, FILE *in,
                              cancel_token *tok, pipeline_thumb th[CONFIG_MAX_SIZES], int *n,
                              char err[TD_ERRLEN]);

/* The output format for th: --format's; for auto, PNG when a pixel of th
 * is not fully opaque (alpha below 255), else JPEG. */
out_kind pipeline_format(const thumbd_config *cfg, const pipeline_thumb *th);

/* The one format of the n thumbnails of a source (every size of a source
 * has the same extension): --format's; for auto, PNG when any of them has
 * a pixel that is not fully opaque. */
out_kind pipeline_format_all(const thumbd_config *cfg, const pipeline_thumb *th, int n);

/* Encodes th to out in pipeline_format (a JPEG of an image with alpha is
 * composited on white, in place; a PNG of one whose pixels are all grey is
 * grey+alpha). No metadata is written. A failed write of
 * out: TD_EIO, ferror(out) set and errno as the write left it. */
td_status pipeline_encode(const thumbd_config *cfg, pipeline_thumb *th, FILE *out,
                          char err[TD_ERRLEN]);

/* th's pixels as a file of format fmt holds them: a JPEG has no alpha, so
 * an image with alpha is composited on white, in place (alpha cleared). */
void pipeline_as_stored(pipeline_thumb *th, out_kind fmt);

/* pipeline_encode in the format fmt. */
td_status pipeline_encode_as(const thumbd_config *cfg, pipeline_thumb *th, out_kind fmt, FILE *out,
                             char err[TD_ERRLEN]);

void pipeline_thumb_free(pipeline_thumb *th);

#endif
