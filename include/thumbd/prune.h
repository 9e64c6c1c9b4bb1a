/* --prune: removing the thumbnails whose source is gone. */
#ifndef THUMBD_PRUNE_H
#define THUMBD_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "thumbd/status.h"
#include "thumbd/task.h"

/* Receives a TASK_PRUNED task for each removed thumbnail (ownership passes). */
typedef void (*prune_emit_fn)(thumbd_task *t, void *ctx);

/* Walks OUT_DIR beside IN_DIR and removes every file thumbd writes (a
 * regular file named *.jpg, *.png, *.webp or *.avif) for which IN_DIR's matching directory
 * holds no image (with vips_formats, of any format libvips reads) with the
 * same name but for the extension; then removes the
 * directories that became empty. thumbd's own files (.thumbd*) and anything
 * else are left alone. Symlinks are never followed. ids are numbered from
 * *next_id. Returns how many thumbnails were removed. */
uint64_t prune_run(int in_fd, int out_fd, bool vips_formats, uint64_t *next_id, prune_emit_fn emit,
                   void *ctx);

#endif
