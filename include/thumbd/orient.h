/* EXIF orientation (1..8) applied to a small image. */
#ifndef THUMBD_ORIENT_H
#define THUMBD_ORIENT_H

#include <stdbool.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

/* True for orientations 5..8, which swap width and height. */
bool orient_transposes(int orientation);

/* Maps the upright pixel (x, y) of a w x h (upright) image to its position in
 * the stored image. Exposed for tests. */
void orient_map(int orientation, int w, int h, int x, int y, int *sx, int *sy);

/* Replaces img by its upright version, its window (image.h) turned with it.
 * Orientation outside 2..8 is a no-op. */
td_status orient_apply(image_f *img, int orientation, char err[TD_ERRLEN]);

/* The upright version (orientation 2..8) of the region of img at (x0, y0)
 * the size of reg, into up (allocated; img is left as it is): reg gives
 * the region's size and its window (image.h), which up's is turned from.
 * reg may be img itself (x0 = y0 = 0): its copy, upright. */
td_status orient_copy(const image_f *img, int x0, int y0, const image_f *reg, int orientation,
                      image_f *up, char err[TD_ERRLEN]);

#endif
