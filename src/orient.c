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

/* The window (image.h) of the stored image img, upright: swapped with the
 * axes for 5..8, mirrored where orient_map counts an upright axis from
 * the far end of the stored one. */
static void orient_window(const image_f *img, int o, image_f *up)
{
    bool tr = orient_transposes(o);
    double sx = img->win_x, sw = img->win_w > 0 ? img->win_w : img->w;
    double sy = img->win_y, sh = img->win_h > 0 ? img->win_h : img->h;
    if (img->win_w <= 0)
        sx = 0;
    if (img->win_h <= 0)
        sy = 0;
    up->win_x = tr ? sy : sx;
    up->win_w = tr ? sh : sw;
    up->win_y = tr ? sx : sy;
    up->win_h = tr ? sw : sh;
    if (o == 2 || o == 3 || o == 6 || o == 7)
        up->win_x = up->w - (up->win_x + up->win_w);
    if (o == 3 || o == 4 || o == 7 || o == 8)
        up->win_y = up->h - (up->win_y + up->win_h);
}

td_status orient_copy(const image_f *img, int x0, int y0, const image_f *reg, int o, image_f *up,
                      char err[TD_ERRLEN])
{
    bool tr = orient_transposes(o);
    int uw = tr ? reg->h : reg->w, uh = tr ? reg->w : reg->h, c = img->c;
    if (!image_alloc(up, uw, uh, c, img->alpha))
        return td_fail(err, TD_ENOMEM, "out of memory orienting a %dx%d image", uw, uh);
    for (int y = 0; y < uh; y++) {
        float *d = up->px + (size_t)y * (size_t)uw * (size_t)c;
        for (int x = 0; x < uw; x++, d += c) {
            int sx, sy;
            orient_map(o, uw, uh, x, y, &sx, &sy);
            memcpy(d, img->px + ((size_t)(y0 + sy) * (size_t)img->w + (size_t)(x0 + sx)) * (size_t)c,
                   (size_t)c * sizeof(float));
        }
    }
    orient_window(reg, o, up);
    return TD_OK;
}

td_status orient_apply(image_f *img, int o, char err[TD_ERRLEN])
{
    if (o < 2 || o > 8)
        return TD_OK;
    image_f up;
    td_status st = orient_copy(img, 0, 0, img, o, &up, err);
    if (st != TD_OK)
        return st;
    image_free(img);
    *img = up;
    return TD_OK;
}
