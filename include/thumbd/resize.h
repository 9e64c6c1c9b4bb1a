/* Final high-quality resize to 8-bit pixels: our own separable resampler,
 * with a choice of filter (--filter). */
#ifndef THUMBD_RESIZE_H
#define THUMBD_RESIZE_H

#include <stdint.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

/* The resampling filter, per axis, when it shrinks / grows:
 * LANCZOS3: Lanczos a = 3 both ways, as libvips, Pillow and sharp reduce
 *   (the sharpest; negative lobes, so edges ring slightly);
 * MITCHELL: Mitchell (B = C = 1/3) / Catmull-Rom: stb_image_resize v1's
 *   default (softer: keeps about 0.73 of the fine detail);
 * CATROM: Catmull-Rom both ways;
 * BOX: stb's box (a trapezoid, area-weighted at non-integer ratios). */
typedef enum resize_filter {
    RESIZE_LANCZOS3,
    RESIZE_MITCHELL,
    RESIZE_CATROM,
    RESIZE_BOX
} resize_filter;

/* Resizes img (1..4 channels, alpha index or -1) to out_w x out_h into *out
 * (malloc'd, out_w*out_h*img->c bytes, caller frees) with filter. The
 * output covers img's window (image.h), not necessarily its whole grid:
 * output column i's centre is at win_x + (i + 0.5) * win_w / out_w in
 * img's pixels (rows alike), the ratio out_w / win_w. Pixels past the
 * grid's edges repeat the edge pixel, so an edge pixel that stands for a
 * narrower strip of the source (a box shrink's partial last box: window
 * w / k of a grid of ceil(w / k)) is placed right as long as the window
 * ends inside it: from that pixel outwards the signal is its value either
 * way, so only the window's extent needs to be right, not the pixel's
 * width.
 * Per axis the kernel's support is scaled by the ratio when the axis shrinks;
 * pixel centres aligned and edges clamped as stb_image_resize v1 does,
 * weights normalised to sum 1, values filtered as they are
 * (gamma-encoded), colour weighted by alpha (0 where the filtered alpha is
 * 0), rounded to nearest and clamped to 0..255 after both passes.
 * For MITCHELL, CATROM and BOX and a window of the whole grid each value
 * is within 1 of what stb_image_resize v1 gives with that filter
 * (STBIR_FILTER_DEFAULT for MITCHELL), except colour under an alpha that
 * rounds to 0 (invisible).
 * TD_EINPUT for a bad geometry (a window outside the grid too), TD_ENOMEM
 * when out of memory; *out is untouched on failure. */
td_status resize_to_u8(const image_f *img, int out_w, int out_h, resize_filter filter,
                       uint8_t **out, char err[TD_ERRLEN]);

/* The --filter name of f ("lanczos3", "mitchell", "catrom", "box"). */
const char *resize_filter_name(resize_filter f);

#endif
