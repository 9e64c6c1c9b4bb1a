#include "thumbd/color.h"

#include <lcms2.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static cmsColorSpaceSignature expected_sig(color_space s)
{
    switch (s) {
    case COLOR_GRAY: return cmsSigGrayData;
    case COLOR_RGB: return cmsSigRgbData;
    default: return cmsSigCmykData;
    }
}

/* One pixel's colour in lcms2's 16-bit units (0..65535; CMYK as ink). */
static void to_lcms16(const float *p, color_space s, int ncolor, uint16_t *dst)
{
    for (int i = 0; i < ncolor; i++) {
        float v = s == COLOR_CMYK_INVERTED ? 255.0f - p[i] : p[i];
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        dst[i] = (uint16_t)(v * 257.0f + 0.5f);
    }
}

/* Whether colorant tag sig of a and b agree within tol (XYZ units). */
static bool same_colorant(cmsHPROFILE a, cmsHPROFILE b, cmsTagSignature sig)
{
    const cmsCIEXYZ *x = cmsReadTag(a, sig), *y = cmsReadTag(b, sig);
    const double tol = 0.002;
    return x && y && fabs(x->X - y->X) < tol && fabs(x->Y - y->Y) < tol && fabs(x->Z - y->Z) < tol;
}

/* Whether curve tag sig of a and b agree within a fifth of an 8-bit level. */
static bool same_curve(cmsHPROFILE a, cmsHPROFILE b, cmsTagSignature sig)
{
    const cmsToneCurve *x = cmsReadTag(a, sig), *y = cmsReadTag(b, sig);
    if (!x || !y)
        return false;
    for (int i = 0; i <= 255; i++) {
        float v = (float)i / 255.0f;
        if (fabsf(cmsEvalToneCurveFloat(x, v) - cmsEvalToneCurveFloat(y, v)) > 0.2f / 255.0f)
            return false;
    }
    return true;
}

/* Whether an RGB profile is sRGB in all but its bytes: a matrix-shaper (no
 * lookup table that the perceptual intent would use instead) whose
 * colorants and curves are those of lcms2's own sRGB. Most tagged photos
 * and web images carry such a profile; converting from it to sRGB changes
 * nothing an 8-bit thumbnail shows, and cost half the time of a small
 * image. */
static bool is_srgb(cmsHPROFILE in, cmsHPROFILE srgb)
{
    static const cmsTagSignature luts[] = {cmsSigAToB0Tag, cmsSigAToB1Tag, cmsSigAToB2Tag,
                                           cmsSigDToB0Tag};
    for (size_t i = 0; i < sizeof luts / sizeof *luts; i++)
        if (cmsIsTag(in, luts[i]))
            return false;
    return same_colorant(in, srgb, cmsSigRedColorantTag) &&
           same_colorant(in, srgb, cmsSigGreenColorantTag) &&
           same_colorant(in, srgb, cmsSigBlueColorantTag) &&
           same_curve(in, srgb, cmsSigRedTRCTag) && same_curve(in, srgb, cmsSigGreenTRCTag) &&
           same_curve(in, srgb, cmsSigBlueTRCTag);
}

/* Builds an lcms transform from the embedded profile (at least a header's
 * 128 bytes: get_transform checks) to sRGB, or NULL when the profile is
 * broken, of another colour space, or (RGB) sRGB already. */
static cmsHTRANSFORM make_transform(color_space s, const uint8_t *icc, size_t len)
{
    cmsHPROFILE in = cmsOpenProfileFromMem(icc, (cmsUInt32Number)len);
    if (!in)
        return NULL;
    cmsHTRANSFORM xf = NULL;
    if (cmsGetColorSpace(in) == expected_sig(s)) {
        cmsHPROFILE srgb = cmsCreate_sRGBProfile();
        if (srgb && s == COLOR_RGB && is_srgb(in, srgb)) {
            cmsCloseProfile(srgb);
            srgb = NULL; /* nothing to convert */
        }
        /* 16-bit: lcms2 precomputes its curves into tables (float would
         * evaluate pow() per pixel), with precision to spare for 8-bit output. */
        cmsUInt32Number fmt = s == COLOR_GRAY  ? TYPE_GRAY_16
                              : s == COLOR_RGB ? TYPE_RGB_16
                                               : TYPE_CMYK_16;
        /* A coarse precalculated grid: building the default one costs more
         * than converting the image (lcms2 linearises the curves first, so
         * the thumbnails stay within 0.1 dB). */
        if (srgb)
            xf = cmsCreateTransform(in, fmt, srgb, TYPE_RGB_16, INTENT_PERCEPTUAL,
                                    cmsFLAGS_LOWRESPRECALC);
        if (srgb)
            cmsCloseProfile(srgb);
    }
    cmsCloseProfile(in);
    return xf;
}

/* Transforms are cached per thread: building one costs about 1.4 ms (an
 * RGB matrix-shaper, coarse grid), as much as decoding an 800x600 JPEG,
 * and a batch's images mostly carry one of a few profiles (a camera's,
 * Display P3; sRGB is cached too, as "nothing to do", which spares its
 * check). Profiles over CACHE_MAX_ICC are not kept: a hostile file's
 * 4 MiB profile would otherwise stay in memory, outside --max-memory. */
enum { CACHE_N = 4, CACHE_MAX_ICC = 256 << 10 };

typedef struct cached {
    color_space s;
    uint8_t *icc;              /* a copy; NULL: an empty slot */
    size_t len;
    cmsHTRANSFORM xf;          /* NULL: the profile is unusable for s */
    uint64_t used;
} cached;

static _Thread_local cached cache[CACHE_N];
static _Thread_local uint64_t cache_clock;

static void cached_free(cached *c)
{
    if (c->xf)
        cmsDeleteTransform(c->xf);
    free(c->icc);
    *c = (cached){0};
}

void color_thread_end(void)
{
    for (int i = 0; i < CACHE_N; i++)
        cached_free(&cache[i]);
}

/* The transform for this profile, from the cache or built (NULL: none).
 * *owned: the caller must delete it (it could not be cached). */
static cmsHTRANSFORM get_transform(color_space s, const uint8_t *icc, size_t len, bool *owned)
{
    *owned = false;
    if (!icc || len < 128)
        return NULL;
    cached *lru = &cache[0];
    for (int i = 0; i < CACHE_N; i++) {
        cached *c = &cache[i];
        if (c->icc && c->s == s && c->len == len && !memcmp(c->icc, icc, len)) {
            c->used = ++cache_clock;
            return c->xf;
        }
        if (c->used < lru->used)
            lru = c;
    }
    cmsHTRANSFORM xf = make_transform(s, icc, len);
    uint8_t *copy = len <= CACHE_MAX_ICC ? malloc(len) : NULL;
    if (!copy) {
        *owned = xf != NULL;
        return xf;
    }
    memcpy(copy, icc, len);
    cached_free(lru);
    *lru = (cached){s, copy, len, xf, ++cache_clock};
    return xf;
}

/* Untagged data: gray and RGB are sRGB already; CMYK by the naive formula. */
static void naive_rgb(const float *src, color_space s, float *rgb)
{
    switch (s) {
    case COLOR_GRAY:
        rgb[0] = rgb[1] = rgb[2] = src[0];
        break;
    case COLOR_RGB:
        memcpy(rgb, src, 3 * sizeof(float));
        break;
    default: {
        float ink[4];
        for (int i = 0; i < 4; i++)
            ink[i] = (s == COLOR_CMYK_INVERTED ? 255.0f - src[i] : src[i]) / 255.0f;
        for (int i = 0; i < 3; i++)
            rgb[i] = 255.0f * (1.0f - ink[i]) * (1.0f - ink[3]);
    }
    }
}

/* Pixels per lcms2 call: the 16-bit staging buffer stays small (a chunk of
 * CMYK is 56 KiB) instead of holding the whole image twice over. */
enum { CHUNK = 4096 };

/* Converts pixels [i0, i0 + n) of src into dst. When dst and src are one
 * buffer (oc <= c), a pixel's output never lands on input not yet read: the
 * chunk's input is staged in buf before any of it is written. */
static void convert_chunk(const image_f *src, float *dst, int oc, size_t i0, size_t n,
                          color_space s, int ncolor, cmsHTRANSFORM xf, uint16_t *buf)
{
    const float *in = src->px + i0 * (size_t)src->c;
    float *out = dst + i0 * (size_t)oc;
    uint16_t *rgb = xf ? buf + n * (size_t)ncolor : NULL; /* no buffer without a transform */
    if (xf) {
        for (size_t i = 0; i < n; i++)
            to_lcms16(in + i * (size_t)src->c, s, ncolor, buf + i * (size_t)ncolor);
        cmsDoTransform(xf, buf, rgb, (cmsUInt32Number)n);
    }
    for (size_t i = 0; i < n; i++) {
        const float *p = in + i * (size_t)src->c;
        float *d = out + i * (size_t)oc;
        float a = src->alpha >= 0 ? p[src->alpha] : 0.0f;
        if (xf) {
            for (int k = 0; k < 3; k++)
                d[k] = rgb[i * 3 + (size_t)k] / 257.0f;
        } else {
            naive_rgb(p, s, d);
        }
        if (oc == 4)
            d[3] = a;
    }
}

td_status color_to_srgb(image_f *img, color_space s, const uint8_t *icc, size_t icc_len,
                        char err[TD_ERRLEN])
{
    int ncolor = s == COLOR_GRAY ? 1 : s == COLOR_RGB ? 3 : 4;
    bool has_alpha = img->alpha >= 0;
    if (img->c != ncolor + (has_alpha ? 1 : 0))
        return td_fail(err, TD_EINPUT, "internal: %d channels for a %d-colour image", img->c, ncolor);
    bool owned;
    cmsHTRANSFORM xf = get_transform(s, icc, icc_len, &owned);
    if (!xf && s == COLOR_RGB)
        return TD_OK; /* already sRGB, nothing to do */
    int oc = has_alpha ? 4 : 3;
    /* RGB(A) and CMYK convert in place; only gray grows into a new image. */
    image_f out = {.w = img->w, .h = img->h, .c = oc, .alpha = has_alpha ? 3 : -1, .px = img->px};
    uint16_t *buf = xf ? malloc(CHUNK * (size_t)(ncolor + 3) * sizeof *buf) : NULL;
    if ((xf && !buf) || (oc > img->c && !image_alloc(&out, img->w, img->h, oc, out.alpha))) {
        free(buf);
        if (owned)
            cmsDeleteTransform(xf);
        return td_fail(err, TD_ENOMEM, "out of memory converting colour");
    }
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t i = 0; i < n; i += CHUNK)
        convert_chunk(img, out.px, oc, i, n - i < CHUNK ? n - i : CHUNK, s, ncolor, xf, buf);
    free(buf);
    if (owned)
        cmsDeleteTransform(xf);
    if (out.px != img->px) {
        image_free(img);
    } else if (oc < img->c) {
        float *smaller = realloc(out.px, n * (size_t)oc * sizeof(float));
        out.px = smaller ? smaller : out.px; /* keeping the larger block is harmless */
    }
    out.win_x = img->win_x; /* same grid, same region */
    out.win_y = img->win_y;
    out.win_w = img->win_w;
    out.win_h = img->win_h;
    *img = out;
    return TD_OK;
}
