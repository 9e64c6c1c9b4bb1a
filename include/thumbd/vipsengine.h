/* The libvips engine: every format the native JPEG/PNG path does not handle
 * (WebP, TIFF, GIF, HEIF/AVIF, JPEG XL, SVG, PDF... as the libvips build
 * allows), and the whole path for --engine vips. Behind the same contract as
 * the native path: upright, sRGB, 8-bit, no metadata, cancellable. */
#ifndef THUMBD_VIPSENGINE_H
#define THUMBD_VIPSENGINE_H

#include <stdbool.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/config.h"
#include "thumbd/pipeline.h"
#include "thumbd/status.h"

/* Makes the thumbnail of the image open at fd (its first page or frame):
 * vips_thumbnail with shrink-on-load, auto-rotation, conversion to sRGB
 * (embedded profile honoured; CMYK through libvips's own CMYK profile), then
 * 8-bit RGB or RGBA. Limits (--max-pixels, --max-dimension, --max-frames)
 * are checked from the header first. The token stops it through the
 * image's kill flag. libvips is started on first use, with one thread per
 * image, no operation cache. */
td_status vipsengine_make(const thumbd_config *cfg, int fd, cancel_token *tok, pipeline_thumb *th,
                          char err[TD_ERRLEN]);

/* Encodes th as WebP ('w') or AVIF ('a') into out, without metadata. A
 * failed write of out: TD_EIO, ferror(out) set and errno as the write left
 * it. */
td_status vipsengine_encode(const pipeline_thumb *th, char format, int quality, FILE *out,
                            char err[TD_ERRLEN]);

/* Loads the module and starts libvips now rather than in the first task
 * that needs them: that is 60-100 ms (more with a cold page cache) which
 * would otherwise count against that task's time and --task-timeout.
 * False if the engine is unavailable; each task then fails saying why. */
bool vipsengine_start(void);

/* Whether this libvips build can write WebP ('w') or AVIF ('a'). */
bool vipsengine_can_save(char format);

/* Frees libvips's per-thread state; call when a worker thread ends. */
void vipsengine_thread_end(void);

/* The module (thumbd_vips.so) exports these under the names below; the
 * vipsengine_* functions above load it on first use (vipsload.c): from
 * $THUMBD_VIPS_MODULE, else beside the executable, else the install
 * directory. Without it, they fail with a message saying so. */
typedef td_status (*vipsmod_make_fn)(const thumbd_config *, int, cancel_token *, pipeline_thumb *, char *);
typedef td_status (*vipsmod_encode_fn)(const pipeline_thumb *, char, int, FILE *, char *);
typedef bool (*vipsmod_can_save_fn)(char);
typedef void (*vipsmod_thread_end_fn)(void);
typedef bool (*vipsmod_start_fn)(void);
td_status vipsmod_make(const thumbd_config *cfg, int fd, cancel_token *tok, pipeline_thumb *th,
                       char err[TD_ERRLEN]);
td_status vipsmod_encode(const pipeline_thumb *th, char format, int quality, FILE *out,
                         char err[TD_ERRLEN]);
bool vipsmod_can_save(char format);
void vipsmod_thread_end(void);
bool vipsmod_start(void);

#endif
