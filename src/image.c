#include "thumbd/image.h"

#include <stdint.h>
#include <stdlib.h>

_Bool image_alloc(image_f *img, int w, int h, int c, int alpha)
{
    img->w = w;
    img->h = h;
    img->c = c;
    img->alpha = alpha;
    img->px = NULL;
    img->win_x = img->win_y = img->win_w = img->win_h = 0;
    if (w <= 0 || h <= 0 || c <= 0 || (size_t)w * (size_t)h > SIZE_MAX / sizeof(float) / (size_t)c)
        return 0;
    img->px = malloc((size_t)w * (size_t)h * (size_t)c * sizeof(float));
    return img->px != NULL;
}

void image_free(image_f *img)
{
    free(img->px);
    img->px = NULL;
}
