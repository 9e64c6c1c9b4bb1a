/* Final high-quality resize to 8-bit pixels: our own separable resampler,
 * computing the filter thumbd has always used (stb_image_resize v1's
 * default), so thumbnails stay the same to within rounding. */
#ifndef THUMBD_RESIZE_H
#define THUMBD_RESIZE_H

#include <stdint.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

/* Resizes img (1..4 channels, alpha index or -1) to out_w x out_h into *out
 * (malloc'd, out_w*out_h*img->c bytes, caller frees). Per axis: Mitchell
 * (B = C = 1/3) when it shrinks, its support scaled by the ratio, and
 * Catmull-Rom when it grows; pixel centres aligned and edges clamped as
 * stb_image_resize v1 does, values filtered as they are (gamma-encoded),
 * colour weighted by alpha (0 where the filtered alpha is 0), rounded to
 * nearest and clamped to 0..255. Each value is within 1 of what
 * stb_image_resize v1 gives, except colour under an alpha that rounds to 0
 * (invisible, and noise divided by a near-zero alpha in both). TD_EINPUT
 * for a bad geometry, TD_ENOMEM when out of memory; *out is untouched on
 * failure. */
td_status resize_to_u8(const image_f *img, int out_w, int out_h, uint8_t **out,
                       char err[TD_ERRLEN]);

#endif
