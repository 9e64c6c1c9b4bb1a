#include "thumbd/resize.h"

#include <math.h>
#include <stb_image_resize.h>
#include <stdlib.h>

td_status resize_to_u8(const image_f *img, int out_w, int out_h, uint8_t **out, char err[TD_ERRLEN])
{
    size_t n = (size_t)out_w * (size_t)out_h * (size_t)img->c;
    float *tmp = malloc(n * sizeof *tmp);
    uint8_t *px = malloc(n);
    if (!tmp || !px) {
        free(tmp);
        free(px);
        return td_fail(err, TD_ENOMEM, "out of memory resizing to %dx%d", out_w, out_h);
    }
    /* Values stay in 0..255 and gamma-encoded sRGB, as vipsthumbnail does by
     * default; stb weights colour by alpha itself when alpha is given. */
    int ok = stbir_resize_float_generic(img->px, img->w, img->h, img->w * img->c * (int)sizeof(float),
                                        tmp, out_w, out_h, out_w * img->c * (int)sizeof(float),
                                        img->c, img->alpha >= 0 ? img->alpha : STBIR_ALPHA_CHANNEL_NONE,
                                        0, STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT,
                                        STBIR_COLORSPACE_LINEAR, NULL);
    if (!ok) {
        free(tmp);
        free(px);
        return td_fail(err, TD_ENOMEM, "resize to %dx%d failed", out_w, out_h);
    }
    for (size_t i = 0; i < n; i++) {
        float v = tmp[i];
        px[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrintf(v);
    }
    free(tmp);
    *out = px;
    return TD_OK;
}
