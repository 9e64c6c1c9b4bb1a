/* On-the-fly integer box shrink: folds decoded rows into a small float image
 * as they arrive, so memory is O(row width), never the full frame. */
#ifndef THUMBD_SHRINK_H
#define THUMBD_SHRINK_H

#include <stdbool.h>
#include <stdint.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

typedef struct shrink {
    int in_w, c, alpha;
    int x0, x1, y0, y1;        /* crop window in input pixels, half-open */
    int k;                     /* box factor */
    double fx, fy, fw, fh;     /* the exact region, relative to (x0, y0) */
    int out_w, out_h;
    uint32_t *acc;             /* the band's sums per input sample of the crop
                                  (colour x alpha): k rows of 255 x 255 fit */
    int rows_in_band;
    image_f out;
} shrink;

/* Prepares a shrink of the crop [x, x+w) x [y, y+h) of rows in_w pixels wide
 * with c channels (alpha: index or -1) by factor k: the output is
 * ceil(w/k) x ceil(h/k); edge boxes average the pixels they have. Colour is
 * averaged weighted by alpha, so transparent pixels do not darken edges.
 * The output's window (image.h) is the crop in output pixels, w/k x h/k
 * from (0, 0) (shrink_window refines it): a last box of r < k pixels is
 * a whole output pixel of which the window covers r/k, so the resize
 * (resize.h) maps the thumbnail onto the crop's true extent. Chosen over
 * shrinking only whole boxes and carrying the remainder apart: exact at
 * the cost of a window, no extra pass or buffer. */
td_status shrink_begin(shrink *s, int in_w, int c, int alpha, int x, int y, int w, int h,
                       int k, char err[TD_ERRLEN]);

/* The exact region the crop stands for when it was rounded out to whole
 * input pixels (a crop of the stored image mapped onto a DCT-scaled
 * decode): [fx, fx + fw) x [fy, fy + fh) relative to the crop's origin,
 * in input pixels, within [0, w] x [0, h]. Call before shrink_end;
 * values outside the crop are ignored. */
void shrink_window(shrink *s, double fx, double fy, double fw, double fh);

/* Feeds input row y (rows must come in increasing order; rows outside the
 * crop are ignored). */
void shrink_row(shrink *s, int y, const uint8_t *row);

/* True once every row the crop needs has been fed. */
bool shrink_done(const shrink *s, int next_y);

/* Moves the finished image into *out (caller frees it) and releases the rest.
 * Rows never fed (truncated input) are left as they were zeroed. */
void shrink_end(shrink *s, image_f *out);

/* Releases everything, for error paths. Safe after shrink_end. */
void shrink_abort(shrink *s);

/* The region [x, x+w) x [y, y+h) of the float image src shrunk by the box
 * factor k into *out (allocated; k 1: a copy), averaged as shrink_row
 * averages (colour weighted by alpha; edge boxes average what they have).
 * The several sizes of one decode are made from its one intermediate image
 * with it. */
td_status shrink_region(const image_f *src, int x, int y, int w, int h, int k, image_f *out,
                        char err[TD_ERRLEN]);

#endif
