/* One ImageTask -> one result: decode rows, shrink, orient, colour, resize,
 * encode, atomic rename. */
#ifndef THUMBD_PIPELINE_H
#define THUMBD_PIPELINE_H

#include "thumbd/cancel.h"
#include "thumbd/config.h"
#include "thumbd/memgate.h"
#include "thumbd/task.h"

/* What every task of a run shares. */
typedef struct pipeline_env {
    const thumbd_config *cfg;
    int in_fd, out_fd;         /* open directories IN_DIR and OUT_DIR */
    memgate *gate;             /* decoder memory budget */
} pipeline_env;

/* Fills task->res (status, message, sizes, timings). Never exits, never
 * leaves a partial file at a final name. */
void pipeline_run(const pipeline_env *env, thumbd_task *task, int worker, cancel_token *tok);

/* The output path for src_rel with the extension of the format
 * ('j' -> .jpg, 'p' -> .png); malloc'd. */
char *pipeline_out_name(const char *src_rel, char format);

#endif
