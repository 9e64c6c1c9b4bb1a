/* Thumbnail geometry: what to crop, how far to shrink, what comes out. */
#ifndef THUMBD_GEOMETRY_H
#define THUMBD_GEOMETRY_H

#include <stdbool.h>

/* --fit: cover fills the box exactly (cropping), inside keeps the whole
 * image within it. */
typedef enum fit_mode { FIT_COVER, FIT_INSIDE } fit_mode;

/* What a box side of 0 (unbounded: --size 200x or x200) stands for: the
 * largest side a bounded box may have. */
enum { GEOM_UNBOUNDED = 16384 };

/* Resolves a box with an unbounded side (0) in place: that side becomes
 * GEOM_UNBOUNDED and fit becomes FIT_INSIDE, since only the bounded side
 * decides the scale (cover with one side unbounded is the same as inside;
 * without enlarge no side exceeds the source's). A bounded box is left as
 * it is. */
void geom_box(int *box_w, int *box_h, fit_mode *fit);

typedef struct geom_plan {
    /* Region of the stored (not yet oriented) image to use. */
    int crop_x, crop_y, crop_w, crop_h;
    /* Final thumbnail size, upright. */
    int out_w, out_h;
    /* Thumbnail size in stored orientation (out swapped for 5..8). */
    int need_w, need_h;
} geom_plan;

/* Plans a thumbnail of a stored src_w x src_h image with EXIF orientation
 * (1..8) into a box_w x box_h box (a side of 0: unbounded, see geom_box).
 * cover: exactly the box (or the image if smaller and !enlarge),
 * centre-cropped; inside: aspect kept. */
void geom_plan_compute(int src_w, int src_h, int orientation, int box_w, int box_h,
                       fit_mode fit, bool enlarge, geom_plan *plan);

/* The smallest JPEG DCT scale n/8 (n in 1..8) for which a crop_w x crop_h
 * region still has at least 2x need_w x need_h pixels (or 8 if none does). */
int geom_jpeg_scale(int crop_w, int crop_h, int need_w, int need_h);

/* The largest integer box factor k >= 1 that leaves at least 2x need. */
int geom_shrink_factor(int w, int h, int need_w, int need_h);

#endif
