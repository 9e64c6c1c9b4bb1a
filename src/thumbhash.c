/* ThumbHash encoder. The arithmetic follows the reference encoder's
 * (JavaScript doubles) operation for operation, in the same order, so that
 * the bytes agree exactly: every sum is accumulated in the same order, each
 * product is grouped as the reference groups it, and rounding is
 * JavaScript's Math.round (halves towards +infinity). CMake builds this file
 * with -ffp-contract=off: a fused multiply-add would round differently. The
 * cosines are the C library's cos; glibc's and V8's agree on the test
 * vectors' (tests/test_thumbhash.c), a libm that rounds one differently
 * may change a low bit of a sum and, rarely, a 4-bit term. */
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

/* Up to 7 x 7 luminance terms in a triangle: 28 terms, 27 of them AC. */
enum { TERMS_MAX = 32, AC_MAX = TERMS_MAX };

/* Two accumulators side by side (GCC's and Clang's vector extension; an
 * SSE2 register): lane by lane the same IEEE operations as scalar code, so
 * the same roundings. aligned(8): from malloc. */
enum { LANES = 2, GROUPS_MAX = TERMS_MAX / LANES };
typedef double lanes __attribute__((vector_size(LANES * sizeof(double)), aligned(8)));

typedef struct channel_terms {
    double dc, scale;
    double ac[AC_MAX];         /* normalised to 0..1 */
    int nac;
} channel_terms;

/* What an encode computes once: cos(pi / w * cx * (x + 0.5)) for each
 * frequency cx < 8 and column x (the reference's expression, so the same
 * value), likewise for the rows, and the columns' cosines of the terms. */
enum { FREQ_MAX = 8 };
typedef struct dct_scratch {
    double cosx[FREQ_MAX][THUMBHASH_MAX_SIDE], cosy[FREQ_MAX][THUMBHASH_MAX_SIDE];
    lanes tx[THUMBHASH_MAX_SIDE * GROUPS_MAX];
} dct_scratch;

static void cosines(dct_scratch *s, int w, int h)
{
    for (int c = 0; c < FREQ_MAX; c++) {
        for (int x = 0; x < w; x++)
            s->cosx[c][x] = cos(M_PI / w * c * (x + 0.5));
        for (int y = 0; y < h; y++)
            s->cosy[c][y] = cos(M_PI / h * c * (y + 0.5));
    }
}

/* sum[k] = the sum over the pixels, row by row, of (ch * cos x) * cos y of
 * term k, (tcx[k], tcy[k]), for the nt terms: each in its own accumulator,
 * added to in the reference's order, so each rounds as the reference's
 * does. The accumulators of all terms advance together: independent sums
 * run in parallel. */
static void sum_terms(const double *ch, int w, int h, const int *tcx, const int *tcy, int nt,
                      dct_scratch *s, double *sum)
{
    int ng = (nt + LANES - 1) / LANES;
    for (int x = 0; x < w; x++)
        for (int k = 0; k < ng * LANES; k++)
            s->tx[x * ng + k / LANES][k % LANES] = k < nt ? s->cosx[tcx[k]][x] : 0;
    lanes f[GROUPS_MAX] = {0}, fy[GROUPS_MAX];
    for (int y = 0; y < h; y++) {
        for (int k = 0; k < ng * LANES; k++)
            fy[k / LANES][k % LANES] = k < nt ? s->cosy[tcy[k]][y] : 0;
        for (int x = 0; x < w; x++) {
            double v = ch[x + y * w];
            const lanes *fx = s->tx + x * ng;
            for (int g = 0; g < ng; g++)
                f[g] += v * fx[g] * fy[g];
        }
    }
    for (int k = 0; k < nt; k++)
        sum[k] = f[k / LANES][k % LANES];
}

/* The DCT terms (cx, cy) of the w x h plane ch with cx * ny < nx * (ny - cy),
 * row of cy by row: the DC term, and the AC terms normalised by the largest
 * magnitude among them (scale). */
static void encode_channel(const double *ch, int w, int h, int nx, int ny, dct_scratch *sc,
                           channel_terms *t)
{
    int tcx[TERMS_MAX], tcy[TERMS_MAX], nt = 0;
    for (int cy = 0; cy < ny && cy < FREQ_MAX; cy++)
        for (int cx = 0; cx * ny < nx * (ny - cy) && nt < TERMS_MAX && cx < FREQ_MAX; cx++) {
            tcx[nt] = cx;
            tcy[nt++] = cy;
        }
    double f[TERMS_MAX] = {0};
    sum_terms(ch, w, h, tcx, tcy, nt, sc, f);
    t->dc = f[0] / (double)(w * h); /* term 0 is (0, 0) */
    t->scale = 0;
    t->nac = 0;
    for (int k = 1; k < nt; k++) {
        double a = f[k] / (double)(w * h);
        t->ac[t->nac++] = a;
        if (fabs(a) > t->scale)
            t->scale = fabs(a);
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
    dct_scratch *sc = malloc(sizeof *sc);
    if (!planes || !sc) {
        free(planes);
        free(sc);
        return td_fail(err, TD_ENOMEM, "out of memory");
    }
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
    cosines(sc, w, h);

    channel_terms tl, tp, tq, ta = {0};
    encode_channel(l, w, h, lx > 3 ? lx : 3, ly > 3 ? ly : 3, sc, &tl);
    encode_channel(p, w, h, 3, 3, sc, &tp);
    encode_channel(q, w, h, 3, 3, sc, &tq);
    if (has_alpha)
        encode_channel(a, w, h, 5, 5, sc, &ta);
    free(planes);
    free(sc);

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

/* The sums of one row of output pixels: colours weighted by alpha, alpha,
 * and plain colours (for a block wholly transparent). They fit: a block is
 * at most 165 x 165 pixels (16384 / 100, rounded up), and
 * 165 * 165 * 255 * 255 < 2^32. */
typedef struct box_sums {
    uint32_t wc[THUMBHASH_MAX_SIDE][3], a[THUMBHASH_MAX_SIDE], c[THUMBHASH_MAX_SIDE][3];
} box_sums;

/* Adds source row `row` to the sums, column x to output column ox while
 * x < xs[ox + 1]. */
static void box_add_row(const uint8_t *row, int w, int channels, const int *xs, box_sums *s)
{
    for (int x = 0, ox = 0; x < w; x++, row += channels) {
        ox += x == xs[ox + 1];
        unsigned al = channels == 4 ? row[3] : 255;
        s->wc[ox][0] += row[0] * al;
        s->wc[ox][1] += row[1] * al;
        s->wc[ox][2] += row[2] * al;
        s->a[ox] += al;
        s->c[ox][0] += row[0];
        s->c[ox][1] += row[1];
        s->c[ox][2] += row[2];
    }
}

void thumbhash_downscale(const uint8_t *px, int w, int h, int channels, uint8_t *out, int fw,
                         int fh)
{
    if (fw < 1 || fh < 1 || fw > w || fh > h || fw > THUMBHASH_MAX_SIDE || fh > THUMBHASH_MAX_SIDE)
        return; /* not a size thumbhash_fit gives */
    int xs[THUMBHASH_MAX_SIDE + 1]; /* output column ox covers [xs[ox], xs[ox + 1]) */
    for (int ox = 0; ox <= fw; ox++)
        xs[ox] = (int)((int64_t)ox * w / fw);
    box_sums s;
    for (int oy = 0; oy < fh; oy++) {
        int y0 = (int)((int64_t)oy * h / fh), y1 = (int)((int64_t)(oy + 1) * h / fh);
        memset(&s, 0, sizeof s);
        for (int y = y0; y < y1; y++)
            box_add_row(px + (size_t)y * (size_t)w * (size_t)channels, w, channels, xs, &s);
        for (int ox = 0; ox < fw; ox++) {
            uint8_t *o = out + ((size_t)oy * (size_t)fw + (size_t)ox) * 4;
            uint32_t n = (uint32_t)(xs[ox + 1] - xs[ox]) * (uint32_t)(y1 - y0), sa = s.a[ox];
            for (int k = 0; k < 3; k++) /* a wholly transparent block: its plain mean */
                o[k] = (uint8_t)(sa ? (s.wc[ox][k] + sa / 2) / sa : (s.c[ox][k] + n / 2) / n);
            o[3] = (uint8_t)((sa + n / 2) / n);
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
