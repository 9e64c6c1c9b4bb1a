/* The pixel path of a non-interlaced PNG: the IDAT payload bytes, as they
 * stream by, to 8-bit rows. Inflates with zlib a batch of rows at a time
 * (or, for a small image, the whole stream at once with libdeflate, 4-5x
 * faster), unfilters them itself (SSE2 for 3 and 4 bytes per pixel) and
 * expands them to the
 * layout png.c asked libpng for: gray, gray+alpha, RGB or RGBA, 8 bits per
 * sample (palette to RGB, or RGBA with tRNS; gray 1/2/4 bits scaled to 8;
 * tRNS on gray or RGB to an alpha channel; 16 bits scaled to 8 with
 * png_set_scale_16's rounding). The rows are bit-identical to libpng's.
 * Memory: streaming, a few rows and zlib's 32 KiB window, whatever the
 * height (pngpix_work_bytes); whole-buffer, the stream and the raw image
 * (pngpix_whole_bytes), which the caller chooses only under a cap.
 * Chunk parsing (IHDR, PLTE, tRNS, CRCs) is the caller's: libpng's. */
#ifndef THUMBD_PNGPIX_H
#define THUMBD_PNGPIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thumbd/status.h"

typedef struct pngpix_format {
    uint32_t width, height;    /* as in IHDR, both >= 1 */
    int bit_depth;             /* 1, 2, 4, 8 or 16, valid for color_type */
    int color_type;            /* PNG's: 0 gray, 2 RGB, 3 palette, 4 GA, 6 RGBA */
    uint8_t palette[256][3];   /* color_type 3: num_palette entries used */
    int num_palette;
    uint8_t trans_alpha[256];  /* color_type 3 with tRNS: num_trans entries */
    int num_trans;             /* 0: no tRNS */
    bool has_trans_color;      /* color_type 0 or 2 with tRNS: */
    uint16_t trans_gray, trans_rgb[3];  /* the transparent sample values */
} pngpix_format;

/* Channels of the rows delivered (1 to 4), or 0 if the format is invalid. */
int pngpix_channels(const pngpix_format *f);

/* Bytes pngpix_create allocates for f (rows, zlib state and window), or 0 if
 * the format is invalid or a row would not fit in memory. */
size_t pngpix_work_bytes(const pngpix_format *f);

/* Receives row y (0 .. height-1, in order), valid during the call. Returns
 * false to stop: no further rows are inflated. */
typedef bool (*pngpix_row_fn)(void *ctx, int y, const uint8_t *px);

/* Bytes the whole-buffer strategy may hold for a stream of at most
 * stream_max bytes (pngpix_work_bytes included: a stream libdeflate cannot
 * take goes on through zlib), or 0 if f is invalid or it would not fit. */
size_t pngpix_whole_bytes(const pngpix_format *f, size_t stream_max);

typedef struct pngpix pngpix;

/* A decoder for one image; rows go to fn(ctx, ...). whole_max > 0: collect
 * up to that many stream bytes (allocated now) and inflate them at once in
 * pngpix_finish; a longer stream switches to streaming on the way. */
td_status pngpix_create(pngpix **out, const pngpix_format *f, size_t whole_max, pngpix_row_fn fn,
                        void *ctx, char err[TD_ERRLEN]);

/* The next n bytes of the zlib stream (IDAT payloads, concatenated in any
 * pieces). Streaming, delivers every row they complete and stops at the
 * last one (or when fn says stop): nothing past it is inflated. The Adler-32 checksum is
 * not verified. Errors: "corrupt PNG: ..." for a bad stream or filter type,
 * "truncated PNG: ..." when the stream ends before the last row. */
td_status pngpix_feed(pngpix *p, const uint8_t *data, size_t n, char err[TD_ERRLEN]);

/* The stream has ended (a chunk other than IDAT, or the end of the file):
 * the whole-buffer strategy delivers its rows now. Rows and errors are the
 * ones streaming would have given for the same bytes. Not done afterwards:
 * the stream was short (the caller's "truncated" message). */
td_status pngpix_finish(pngpix *p, char err[TD_ERRLEN]);

/* True once the last row went out or fn said stop. */
bool pngpix_done(const pngpix *p);

void pngpix_destroy(pngpix *p);

/* The building blocks, for the tests. */

/* Expands one unfiltered row of f into out (width x pngpix_channels bytes). */
void pngpix_expand(const pngpix_format *f, const uint8_t *raw, uint8_t *out);

#endif
