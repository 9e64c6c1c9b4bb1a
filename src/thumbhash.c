/* ThumbHash encoder. The arithmetic follows the reference encoder's
 * (JavaScript doubles) operation for operation, in the same order, so that
 * the bytes agree exactly: every sum is accumulated in the same order, each
 * product is grouped as the reference groups it, and rounding is
 * JavaScript's Math.round (halves towards +infinity). CMake builds this file
 * with -ffp-contract=off: a fused multiply-add would round differently. */
#include "thumbd/thumbhash.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Math.round: the nearest integer, halves towards +infinity. x - floor(x)
 * is exact for the magnitudes here, unlike floor(x + 0.5) near 0.5. */
static double js_round(double x)
{
    double r = floor(x);
    return x - r >= 0.5 ? r + 1.0 : r;
}

/* Up to 7 x 7 luminance terms in a triangle: 27 AC terms at most. */
enum { AC_MAX = 32 };

typedef struct channel_terms {
    double dc, scale;
    double ac[AC_MAX];         /* normalised to 0..1 */
    int nac;
} channel_terms;

/* The DCT terms (cx, cy) of the w x h plane ch with cx * ny < nx * (ny - cy),
 * row of cy by row: the DC term, and the AC terms normalised by the largest
 * magnitude among them (scale). */
static void encode_channel(const double *ch, int w, int h, int nx, int ny, channel_terms *t)
{
    double fx[THUMBHASH_MAX_SIDE];
    t->dc = 0;
    t->scale = 0;
    t->nac = 0;
    for (int cy = 0; cy < ny; cy++) {
        for (int cx = 0; cx * ny < nx * (ny - cy); cx++) {
            double f = 0;
            for (int x = 0; x < w; x++)
                fx[x] = cos(M_PI / w * cx * (x + 0.5));
            for (int y = 0; y < h; y++) {
                double fy = cos(M_PI / h * cy * (y + 0.5));
                for (int x = 0; x < w; x++)
                    f += ch[x + y * w] * fx[x] * fy;
            }
            f /= (double)(w * h);
            if (cx || cy) {
                t->ac[t->nac++] = f;
                if (fabs(f) > t->scale)
                    t->scale = fabs(f);
            } else {
                t->dc = f;
            }
        }
    }
    if (t->scale != 0)
        for (int i = 0; i < t->nac; i++)
            t->ac[i] = 0.5 + 0.5 / t->scale * t->ac[i];
}

/* The average colour, weighted by alpha (0..1 each), and the sum of alpha. */
static void average(const uint8_t *rgba, int n, double avg[3], double *sum_a)
{
    double r = 0, g = 0, b = 0, a = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *p = rgba + (size_t)i * 4;
        double alpha = p[3] / 255.0;
        r += alpha / 255.0 * p[0];
        g += alpha / 255.0 * p[1];
        b += alpha / 255.0 * p[2];
        a += alpha;
    }
    if (a != 0) {
        r /= a;
        g /= a;
        b /= a;
    }
    avg[0] = r;
    avg[1] = g;
    avg[2] = b;
    *sum_a = a;
}

/* Splits rgba into luminance, yellow-blue, red-green and alpha planes, each
 * pixel composited over the average colour. */
static void to_lpqa(const uint8_t *rgba, int n, const double avg[3], double *l, double *p,
                    double *q, double *a)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *s = rgba + (size_t)i * 4;
        double alpha = s[3] / 255.0;
        double r = avg[0] * (1 - alpha) + alpha / 255.0 * s[0];
        double g = avg[1] * (1 - alpha) + alpha / 255.0 * s[1];
        double b = avg[2] * (1 - alpha) + alpha / 255.0 * s[2];
        l[i] = (r + g + b) / 3;
        p[i] = (r + g) / 2 - b;
        q[i] = r - g;
        a[i] = alpha;
    }
}

/* Packs the AC terms of the channels, two 4-bit values a byte, low nibble
 * first, from hash[start]; returns the length of the hash. */
static size_t pack_ac(const channel_terms *const *chs, int nch, uint8_t *hash, size_t start)
{
    size_t k = 0;
    for (int c = 0; c < nch; c++)
        for (int i = 0; i < chs[c]->nac; i++, k++) {
            unsigned v = (unsigned)js_round(15 * chs[c]->ac[i]);
            if (k % 2 == 0)
                hash[start + k / 2] = 0;
            hash[start + k / 2] |= (uint8_t)(v << (k % 2 * 4));
        }
    return start + (k + 1) / 2;
}

td_status thumbhash_encode(const uint8_t *rgba, int w, int h, uint8_t hash[THUMBHASH_MAX_BYTES],
                           size_t *len, char err[TD_ERRLEN])
{
    if (w < 1 || h < 1 || w > THUMBHASH_MAX_SIDE || h > THUMBHASH_MAX_SIDE)
        return td_fail(err, TD_EINPUT, "thumbhash: %dx%d does not fit in %dx%d", w, h,
                       THUMBHASH_MAX_SIDE, THUMBHASH_MAX_SIDE);
    int n = w * h;
    double *planes = malloc(sizeof(double) * 4 * (size_t)n);
    if (!planes)
        return td_fail(err, TD_ENOMEM, "out of memory");
    double avg[3], sum_a;
    average(rgba, n, avg, &sum_a);
    bool has_alpha = sum_a < n;
    int limit = has_alpha ? 5 : 7; /* fewer luminance terms when alpha takes room */
    int wh = w > h ? w : h;
    int lx = (int)js_round((double)(limit * w) / wh), ly = (int)js_round((double)(limit * h) / wh);
    lx = lx < 1 ? 1 : lx;
    ly = ly < 1 ? 1 : ly;
    double *l = planes, *p = planes + n, *q = planes + 2 * n, *a = planes + 3 * n;
    to_lpqa(rgba, n, avg, l, p, q, a);

    channel_terms tl, tp, tq, ta = {0};
    encode_channel(l, w, h, lx > 3 ? lx : 3, ly > 3 ? ly : 3, &tl);
    encode_channel(p, w, h, 3, 3, &tp);
    encode_channel(q, w, h, 3, 3, &tq);
    if (has_alpha)
        encode_channel(a, w, h, 5, 5, &ta);
    free(planes);

    bool landscape = w > h;
    uint32_t h24 = (uint32_t)js_round(63 * tl.dc) | (uint32_t)js_round(31.5 + 31.5 * tp.dc) << 6 |
                   (uint32_t)js_round(31.5 + 31.5 * tq.dc) << 12 |
                   (uint32_t)js_round(31 * tl.scale) << 18 | (uint32_t)has_alpha << 23;
    uint32_t h16 = (uint32_t)(landscape ? ly : lx) | (uint32_t)js_round(63 * tp.scale) << 3 |
                   (uint32_t)js_round(63 * tq.scale) << 9 | (uint32_t)landscape << 15;
    hash[0] = (uint8_t)(h24 & 255);
    hash[1] = (uint8_t)(h24 >> 8 & 255);
    hash[2] = (uint8_t)(h24 >> 16);
    hash[3] = (uint8_t)(h16 & 255);
    hash[4] = (uint8_t)(h16 >> 8);
    size_t start = 5;
    if (has_alpha)
        hash[start++] = (uint8_t)((unsigned)js_round(15 * ta.dc) |
                                  (unsigned)js_round(15 * ta.scale) << 4);
    const channel_terms *chs[] = {&tl, &tp, &tq, &ta};
    *len = pack_ac(chs, has_alpha ? 4 : 3, hash, start);
    return TD_OK;
}

void thumbhash_fit(int w, int h, int *fw, int *fh)
{
    *fw = w;
    *fh = h;
    if (w <= THUMBHASH_MAX_SIDE && h <= THUMBHASH_MAX_SIDE)
        return;
    int64_t m = THUMBHASH_MAX_SIDE;
    if (w >= h) {
        *fw = THUMBHASH_MAX_SIDE;
        *fh = (int)(((int64_t)h * m + w / 2) / w);
    } else {
        *fh = THUMBHASH_MAX_SIDE;
        *fw = (int)(((int64_t)w * m + h / 2) / h);
    }
    *fw = *fw < 1 ? 1 : *fw;
    *fh = *fh < 1 ? 1 : *fh;
}

/* One output pixel: the mean of the source block [x0, x1) x [y0, y1). */
static void box_pixel(const uint8_t *px, int w, int channels, int x0, int x1, int y0, int y1,
                      uint8_t *o)
{
    uint64_t sum[3] = {0, 0, 0}, wsum[3] = {0, 0, 0}, sa = 0;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = px + ((size_t)y * (size_t)w + (size_t)x0) * (size_t)channels;
        for (int x = x0; x < x1; x++, row += channels) {
            unsigned al = channels == 4 ? row[3] : 255;
            for (int k = 0; k < 3; k++) {
                sum[k] += row[k];
                wsum[k] += (uint64_t)row[k] * al;
            }
            sa += al;
        }
    }
    uint64_t n = (uint64_t)(x1 - x0) * (uint64_t)(y1 - y0);
    for (int k = 0; k < 3; k++) /* a block wholly transparent keeps its plain mean */
        o[k] = (uint8_t)(sa ? (wsum[k] + sa / 2) / sa : (sum[k] + n / 2) / n);
    o[3] = (uint8_t)((sa + n / 2) / n);
}

void thumbhash_downscale(const uint8_t *px, int w, int h, int channels, uint8_t *out, int fw,
                         int fh)
{
    for (int oy = 0; oy < fh; oy++) {
        int y0 = (int)((int64_t)oy * h / fh), y1 = (int)((int64_t)(oy + 1) * h / fh);
        y1 = y1 > y0 ? y1 : y0 + 1; /* an upscale repeats pixels */
        for (int ox = 0; ox < fw; ox++) {
            int x0 = (int)((int64_t)ox * w / fw), x1 = (int)((int64_t)(ox + 1) * w / fw);
            x1 = x1 > x0 ? x1 : x0 + 1;
            box_pixel(px, w, channels, x0, x1, y0, y1, out + ((size_t)oy * (size_t)fw + (size_t)ox) * 4);
        }
    }
}

void thumbhash_base64(const uint8_t *hash, size_t len, char out[THUMBHASH_B64_SIZE])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    if (len > THUMBHASH_MAX_BYTES)
        len = THUMBHASH_MAX_BYTES;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)hash[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)hash[i + 1] << 8;
        if (i + 2 < len)
            v |= hash[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

td_status thumbhash_placeholder(const uint8_t *px, int w, int h, int channels,
                                char out[THUMBHASH_B64_SIZE], char err[TD_ERRLEN])
{
    out[0] = '\0';
    if (w < 1 || h < 1 || (channels != 3 && channels != 4))
        return td_fail(err, TD_EINPUT, "thumbhash: %dx%d image of %d channels", w, h, channels);
    int fw, fh;
    thumbhash_fit(w, h, &fw, &fh);
    uint8_t *rgba = malloc((size_t)fw * (size_t)fh * 4);
    if (!rgba)
        return td_fail(err, TD_ENOMEM, "out of memory");
    thumbhash_downscale(px, w, h, channels, rgba, fw, fh);
    uint8_t hash[THUMBHASH_MAX_BYTES];
    size_t len = 0;
    td_status st = thumbhash_encode(rgba, fw, fh, hash, &len, err);
    free(rgba);
    if (st == TD_OK)
        thumbhash_base64(hash, len, out);
    return st;
}
