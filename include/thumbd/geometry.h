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

/* Headroom of the decode scale, in quarters: the DCT-scaled decode and the
 * integer box shrink each leave at least GEOM_*_HEADROOM_Q4 / 4 times
 * need_w x need_h for the final filter (src/resize.c), so the box and DCT
 * averaging, which blur and alias, stay below the output's frequencies.
 * 2x (8) keeps the quality goal of bench/quality.md (median PSNR >= 45 dB
 * and detail >= 0.93 against a full-resolution Lanczos on the photo corpus)
 * with a margin; 1.5x and 1x miss the detail goal there. A bench build may
 * set them (-DGEOM_JPEG_HEADROOM_Q4=6 ..., bench/headroom.sh); nothing else
 * should. */
#ifndef GEOM_JPEG_HEADROOM_Q4
#define GEOM_JPEG_HEADROOM_Q4 8
#endif
#ifndef GEOM_SHRINK_HEADROOM_Q4
#define GEOM_SHRINK_HEADROOM_Q4 8
#endif

/* The smallest JPEG DCT scale n/8 (n in 1..8) for which a crop_w x crop_h
 * region still has at least the headroom (GEOM_JPEG_HEADROOM_Q4 / 4) times
 * need_w x need_h pixels (or 8 if none does). */
int geom_jpeg_scale(int crop_w, int crop_h, int need_w, int need_h);

/* A crop of the stored image on a decode of it: the decoded pixels
 * [x0, x1) x [y0, y1) that hold it (rounded out to whole pixels), and
 * where exactly it lies in them, relative to (x0, y0):
 * [fx, fx + fw) x [fy, fy + fh), for shrink_window (shrink.h). */
typedef struct geom_decoded {
    int x0, y0, x1, y1;
    double fx, fy, fw, fh;
} geom_decoded;

/* Maps plan's crop of a stored sw x sh image onto a w x h decode of it.
 * libjpeg's DCT scale n/8 gives ceil(sw n / 8) x ceil(sh n / 8) pixels,
 * each of 8/n stored ones (the last partly past the image): a decode of
 * that size maps at n/8 exactly, not at w / sw. Any other size is taken
 * as the image stretched to it (w / sw, h / sh). */
void geom_decoded_crop(const geom_plan *plan, int sw, int sh, int w, int h, geom_decoded *d);

/* The largest integer box factor k >= 1 that leaves at least the headroom
 * (GEOM_SHRINK_HEADROOM_Q4 / 4) times need_w x need_h. */
int geom_shrink_factor(int w, int h, int need_w, int need_h);

#endif
