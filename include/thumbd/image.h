/* A small float image: the intermediate between the shrinker and the encoder. */
#ifndef THUMBD_IMAGE_H
#define THUMBD_IMAGE_H

typedef struct image_f {
    int w, h, c;     /* channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK */
    int alpha;       /* index of the alpha channel, or -1 */
    float *px;       /* w*h*c values in 0..255, not premultiplied; owned */
} image_f;

/* Allocates px (uninitialised). Returns false when out of memory. */
_Bool image_alloc(image_f *img, int w, int h, int c, int alpha);
void image_free(image_f *img);

#endif
