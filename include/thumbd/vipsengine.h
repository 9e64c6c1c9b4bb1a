/* The libvips engine: every format the native JPEG/PNG path does not handle
 * (WebP, TIFF, GIF, HEIF/AVIF, JPEG XL, SVG, PDF... as the libvips build
 * allows), and the whole path for --engine vips. Behind the same contract as
 * the native path: upright, sRGB, 8-bit, no metadata, cancellable.
 *
 * The engine is a module, thumbd_vips.so (vipsmod.h), that these functions
 * load on first use (vipsengine.c): from $THUMBD_VIPS_MODULE, else beside
 * the executable, else the install directory. The first of those that
 * loads is the one used: without it, or when it is from another version of
 * thumbd (another VIPSMOD_ABI), they fail with a message saying so. */
#ifndef THUMBD_VIPSENGINE_H
#define THUMBD_VIPSENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/failon.h"
#include "thumbd/geometry.h"
#include "thumbd/outname.h"
#include "thumbd/status.h"

/* What to make of an image: the box, how it fits, and the limits its
 * header must keep within. */
typedef struct vipsengine_params {
    int box_w, box_h;
    fit_mode fit;
    bool enlarge;              /* an image smaller than the box is scaled up */
    uint64_t max_pixels;       /* width x height */
    int max_dimension;         /* width or height */
    int max_frames;            /* pages or frames */
    failon_level fail_on;      /* libvips's fail_on, the same four levels */
    /* Called once, when the header is read and before any pixel is
     * decoded, with the bytes the loader will hold (an estimate from the
     * header: vipsengine_make): TD_OK goes on, any other status fails the
     * image with it and err's message. NULL: nothing to ask. */
    td_status (*reserve)(void *ctx, size_t bytes, char err[TD_ERRLEN]);
    void *reserve_ctx;
} vipsengine_params;

/* A thumbnail vipsengine_make made, or the pixels vipsengine_encode takes
 * (px, w, h, alpha). */
typedef struct vipsengine_thumb {
    uint8_t *px;               /* w*h*(alpha ? 4 : 3) bytes, RGB(A); malloc'd, the caller's */
    int w, h;
    bool alpha;
    int src_w, src_h;          /* the image as stored, once its header is read */
    double decode_ms;
} vipsengine_thumb;

/* Makes the thumbnail of the image open at fd (its first page or frame):
 * vips_thumbnail with shrink-on-load, auto-rotation, conversion to sRGB
 * (embedded profile honoured; CMYK through libvips's own CMYK profile), then
 * 8-bit RGB or RGBA. The limits are checked from the header first, then
 * p->reserve is given what the decode will hold: a full frame
 * (width x height x bands x sample size) for loaders that materialise one
 * (GIF, HEIF, JPEG XL, JPEG 2000, BMP/ICO through ImageMagick, an
 * interlaced PNG, a progressive JPEG's coefficients, an animated WebP's
 * canvas), libvips's buffers of about 1024 rows for those that stream
 * (TIFF, PNG, JPEG at an eighth of its width), and the file for loaders
 * that read it whole (WebP, GIF, SVG, PDF, HEIF). The
 * token stops it through the image's kill flag. libvips is started on
 * first use, with one thread per image, no operation cache. On failure th
 * holds no pixels (src_w, src_h and decode_ms may be set). */
td_status vipsengine_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                          char err[TD_ERRLEN]);

/* Encodes th as OUT_WEBP or OUT_AVIF into out, without metadata. A failed
 * write of out: TD_EIO, ferror(out) set and errno as the write left it. */
td_status vipsengine_encode(const vipsengine_thumb *th, out_kind kind, int quality, FILE *out,
                            char err[TD_ERRLEN]);

/* Loads the module and starts libvips now rather than in the first task
 * that needs them: that is 60-100 ms (more with a cold page cache) which
 * would otherwise count against that task's time and --task-timeout.
 * False if the engine is unavailable; each task then fails saying why. */
bool vipsengine_start(void);

/* Whether this libvips build can write kind (OUT_WEBP or OUT_AVIF). */
bool vipsengine_can_save(out_kind kind);

/* Frees libvips's per-thread state; call when a worker thread ends. */
void vipsengine_thread_end(void);

#endif
