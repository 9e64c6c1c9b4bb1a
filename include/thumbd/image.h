/* A small float image: the intermediate between the shrinker and the encoder. */
#ifndef THUMBD_IMAGE_H
#define THUMBD_IMAGE_H

typedef struct image_f {
    int w, h, c;     /* channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK */
    int alpha;       /* index of the alpha channel, or -1 */
    float *px;       /* w*h*c values in 0..255, not premultiplied; owned */
    /* The region of the source the thumbnail shows, in this image's pixel
     * units: [win_x, win_x + win_w) x [win_y, win_y + win_h), within
     * [0, w] x [0, h]. It differs from the whole grid where an edge
     * pixel holds only part of a pixel's worth of that region: a box
     * shrink's last box of fewer than k pixels (shrink.h), a crop edge
     * falling inside a DCT-scaled pixel (geometry.h). The
     * resize (resize.h) maps the output onto the region, not onto the
     * grid. win_w or win_h <= 0: the whole grid on that axis. */
    double win_x, win_y, win_w, win_h;
} image_f;

/* Allocates px (uninitialised); the window is the whole grid (0). Returns
 * false when out of memory. */
_Bool image_alloc(image_f *img, int w, int h, int c, int alpha);
void image_free(image_f *img);

#endif
