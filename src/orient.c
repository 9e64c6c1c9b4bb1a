#include "thumbd/orient.h"

#include <stdlib.h>
#include <string.h>

bool orient_transposes(int o)
{
    return o >= 5 && o <= 8;
}

/* EXIF 2.3, tag 0x0112: where the stored row 0 / column 0 are displayed.
 * Inverted here: upright (x, y) of a w x h upright image -> stored pixel. */
void orient_map(int o, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = w - 1 - x; *sy = y; break;
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4: *sx = x; *sy = h - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = w - 1 - x; break;
    case 7: *sx = h - 1 - y; *sy = w - 1 - x; break;
    case 8: *sx = h - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

td_status orient_apply(image_f *img, int o, char err[TD_ERRLEN])
{
    if (o < 2 || o > 8)
        return TD_OK;
    bool tr = orient_transposes(o);
    int uw = tr ? img->h : img->w, uh = tr ? img->w : img->h, c = img->c;
    image_f up;
    if (!image_alloc(&up, uw, uh, c, img->alpha))
        return td_fail(err, TD_ENOMEM, "out of memory orienting a %dx%d image", uw, uh);
    for (int y = 0; y < uh; y++) {
        float *d = up.px + (size_t)y * (size_t)uw * (size_t)c;
        for (int x = 0; x < uw; x++, d += c) {
            int sx, sy;
            orient_map(o, uw, uh, x, y, &sx, &sy);
            memcpy(d, img->px + ((size_t)sy * (size_t)img->w + (size_t)sx) * (size_t)c,
                   (size_t)c * sizeof(float));
        }
    }
    image_free(img);
    *img = up;
    return TD_OK;
}
