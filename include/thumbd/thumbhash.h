/* ThumbHash (Evan Wallace's algorithm, https://evanw.github.io/thumbhash/):
 * up to 25 bytes describing an image's colours, shape and alpha, from which
 * a web front end renders a blurred placeholder while the thumbnail loads.
 * --placeholder thumbhash writes one per thumbnail in the report (its
 * base64), computed from the thumbnail's pixels. */
#ifndef THUMBD_THUMBHASH_H
#define THUMBD_THUMBHASH_H

#include <stddef.h>
#include <stdint.h>

#include "thumbd/status.h"

enum {
    THUMBHASH_MAX_SIDE = 100,  /* the encoder's input fits in 100x100 */
    THUMBHASH_MAX_BYTES = 25,  /* 5 header bytes (6 with alpha) and at most 19 of AC */
    THUMBHASH_B64_SIZE = 37,   /* the base64 of THUMBHASH_MAX_BYTES (36 chars) and a NUL */
};

/* The ThumbHash of the w x h image rgba (4 bytes a pixel, row by row, not
 * premultiplied), 1 <= w, h <= THUMBHASH_MAX_SIDE: the bytes the reference
 * encoder (the npm package thumbhash, rgbaToThumbHash) gives for the same
 * pixels, computed in the same double-precision steps in the same order.
 * Fills hash and *len. TD_EINPUT for a size out of range, TD_ENOMEM. */
td_status thumbhash_encode(const uint8_t *rgba, int w, int h, uint8_t hash[THUMBHASH_MAX_BYTES],
                           size_t *len, char err[TD_ERRLEN]);

/* The size w x h is box-downscaled to for the encoder: itself when it fits
 * in 100x100, else the longer side 100 and the other in proportion
 * (rounded, at least 1). w, h >= 1. */
void thumbhash_fit(int w, int h, int *fw, int *fh);

/* Box-downscales px (w x h, `channels` 3 for RGB or 4 for RGBA) to fw x fh
 * RGBA pixels in out (fw * fh * 4 bytes), where fw <= w, fh <= h and both
 * fit in 100 (thumbhash_fit's; another size leaves out as it was): each output
 * pixel averages the block of source pixels it covers, colours weighted by
 * alpha (a transparent pixel's colour does not bleed into its opaque
 * neighbours'), rounded to nearest. RGB input becomes opaque RGBA. */
void thumbhash_downscale(const uint8_t *px, int w, int h, int channels, uint8_t *out, int fw,
                         int fh);

/* hash (len <= THUMBHASH_MAX_BYTES bytes) in base64 (RFC 4648's alphabet,
 * '=' padded: what JavaScript's btoa and Node's Buffer give), NUL-ended. */
void thumbhash_base64(const uint8_t *hash, size_t len, char out[THUMBHASH_B64_SIZE]);

/* The placeholder of a thumbnail: px (w x h, channels 3 or 4, any size
 * >= 1x1) downscaled (thumbhash_fit, thumbhash_downscale), encoded and in
 * base64 in out. TD_EINPUT for a bad size or channel count, TD_ENOMEM. */
td_status thumbhash_placeholder(const uint8_t *px, int w, int h, int channels,
                                char out[THUMBHASH_B64_SIZE], char err[TD_ERRLEN]);

#endif
