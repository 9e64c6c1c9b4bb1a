/* A task's thumbnails by the libvips engine (vipsengine.h), as the native
 * path's (pipeline_make_sizes) would be given: libvips decodes the file
 * once for each size, each reservation bounded and gated as the native
 * path's (memgate_acquire_bounded). */
#ifndef THUMBD_PIPEVIPS_H
#define THUMBD_PIPEVIPS_H

#include <stdbool.h>

#include "thumbd/cancel.h"
#include "thumbd/config.h"
#include "thumbd/memgate.h"
#include "thumbd/pipeline.h"
#include "thumbd/status.h"

/* The thumbnails of the image open at fd, one for each box of cfg (*n:
 * how many) into th[0..*n); th[0] also holds the source's dimensions, the
 * decoder's name and the decode time. On failure every thumbnail is
 * freed. */
td_status pipevips_make(const thumbd_config *cfg, memgate *gate, bool may_defer, int fd,
                        cancel_token *tok, pipeline_thumb *th, int *n, char err[TD_ERRLEN]);

#endif
