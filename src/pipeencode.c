/* The encoding of a finished thumbnail (pipeline.h): its format under
 * --format, alpha composited for JPEG, grey+alpha PNGs, the formats libvips
 * writes. */
#include "thumbd/pipeline.h"

#include <errno.h>
#include <stdlib.h>

#include "thumbd/codec.h"
#include "thumbd/vipsengine.h"

/* Composites alpha over white for a JPEG output of an image with alpha. */
static void flatten(uint8_t *px, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) {
        unsigned a = px[i * 4 + 3];
        for (int k = 0; k < 3; k++)
            px[i * 3 + k] = (uint8_t)((px[i * 4 + k] * a + 255 * (255 - a) + 127) / 255);
    }
}

/* Whether th has a pixel that is not fully opaque. The thumbnail's own
 * pixels decide, after the resize: an alpha channel that is 255 throughout
 * (as many RGBA exports carry) is no transparency. */
static bool transparent(const pipeline_thumb *th)
{
    size_t n = (size_t)th->w * (size_t)th->h;
    for (size_t i = 0; th->alpha && i < n; i++)
        if (th->px[i * 4 + 3] != 255)
            return true;
    return false;
}

/* Whether every pixel of the RGBA th is grey (R = G = B): a grey source's
 * are, through the colour conversion and the resize, and for any other
 * image a grey+alpha PNG of it holds exactly the same pixels. */
static bool grey(const pipeline_thumb *th)
{
    size_t n = (size_t)th->w * (size_t)th->h;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = th->px + i * 4;
        if (p[0] != p[1] || p[0] != p[2])
            return false;
    }
    return true;
}

out_kind pipeline_format(const thumbd_config *cfg, const pipeline_thumb *th)
{
    switch (cfg->format) {
    case FORMAT_JPEG: return OUT_JPEG;
    case FORMAT_PNG: return OUT_PNG;
    case FORMAT_WEBP: return OUT_WEBP;
    case FORMAT_AVIF: return OUT_AVIF;
    default: return transparent(th) ? OUT_PNG : OUT_JPEG;
    }
}

/* A PNG of the RGBA th: grey+alpha (colour type 4) when every pixel is
 * grey, else RGBA. */
static td_status encode_png_alpha(const pipeline_thumb *th, FILE *out, char *err)
{
    if (!grey(th))
        return png_encode(out, th->px, th->w, th->h, 4, err);
    size_t n = (size_t)th->w * (size_t)th->h;
    uint8_t *ga = malloc(n * 2);
    if (!ga)
        return td_fail(err, TD_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        ga[i * 2] = th->px[i * 4];
        ga[i * 2 + 1] = th->px[i * 4 + 3];
    }
    td_status st = png_encode(out, ga, th->w, th->h, 2, err);
    int e = errno; /* as the write left it, for the caller */
    free(ga);
    errno = e;
    return st;
}

out_kind pipeline_format_all(const thumbd_config *cfg, const pipeline_thumb *th, int n)
{
    for (int i = 0; i < n; i++)
        if (pipeline_format(cfg, &th[i]) == OUT_PNG && cfg->format == FORMAT_AUTO)
            return OUT_PNG;
    return pipeline_format(cfg, th);
}

td_status pipeline_encode(const thumbd_config *cfg, pipeline_thumb *th, FILE *out, char err[TD_ERRLEN])
{
    return pipeline_encode_as(cfg, th, pipeline_format(cfg, th), out, err);
}

void pipeline_as_stored(pipeline_thumb *th, out_kind fmt)
{
    if (fmt == OUT_JPEG && th->alpha) {
        flatten(th->px, th->w, th->h);
        th->alpha = false;
    }
}

td_status pipeline_encode_as(const thumbd_config *cfg, pipeline_thumb *th, out_kind fmt, FILE *out,
                             char err[TD_ERRLEN])
{
    if (fmt == OUT_WEBP || fmt == OUT_AVIF) {
        vipsengine_thumb vt = {.px = th->px, .w = th->w, .h = th->h, .alpha = th->alpha};
        return vipsengine_encode(&vt, fmt, cfg->quality, out, err);
    }
    pipeline_as_stored(th, fmt);
    int c = th->alpha ? 4 : 3;
    if (fmt == OUT_PNG && th->alpha)
        return encode_png_alpha(th, out, err);
    return fmt == OUT_JPEG ? jpeg_encode(out, th->px, th->w, th->h, c, cfg->quality, err)
                          : png_encode(out, th->px, th->w, th->h, c, err);
}
