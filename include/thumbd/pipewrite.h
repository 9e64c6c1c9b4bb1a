/* Writing the thumbnails a task made (pipeline.h) into OUT_DIR: each
 * encoded next to its final name and linked or renamed into place (fsutil.h),
 * with the source's mtime. */
#ifndef THUMBD_PIPEWRITE_H
#define THUMBD_PIPEWRITE_H

#include <stdbool.h>
#include <time.h>

#include "thumbd/pipeline.h"

/* Writes the n thumbnails of th (one per size of env->cfg, config_boxes'
 * order), all in one format (pipeline_format_all), each at the path the
 * --name template gives its size, with mtime; the first also into t's
 * out_rel, out_bytes, out_ino; with several sizes t's outs list them
 * (nouts: those begun). Stops at the first that fails. *transient: it
 * failed in a way worth retrying (a full disk, EIO...). */
td_status pipewrite_outputs(const pipeline_env *env, thumbd_task *t, pipeline_thumb *th, int n,
                            const struct timespec *mtime, bool *transient, char err[TD_ERRLEN]);

#endif
