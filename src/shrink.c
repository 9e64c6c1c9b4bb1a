#include "thumbd/shrink.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

td_status shrink_begin(shrink *s, int in_w, int c, int alpha, int x, int y, int w, int h, int k,
                       char err[TD_ERRLEN])
{
    memset(s, 0, sizeof *s);
    if (in_w < 1 || c < 1 || c > 4 || k < 1 || k > 1 << 14 || w < 1 || h < 1 || x < 0 || y < 0 || x + w > in_w)
        return td_fail(err, TD_EINPUT, "internal: bad shrink geometry %dx%d+%d+%d of width %d", w,
                       h, x, y, in_w);
    s->in_w = in_w;
    s->c = c;
    s->alpha = alpha;
    s->x0 = x;
    s->x1 = x + w;
    s->y0 = y;
    s->y1 = y + h;
    s->k = k;
    s->fw = w;
    s->fh = h;
    s->out_w = (w + k - 1) / k;
    s->out_h = (h + k - 1) / k;
    s->acc = calloc((size_t)w * (size_t)c, sizeof *s->acc);
    if (!s->acc || !image_alloc(&s->out, s->out_w, s->out_h, c, alpha)) {
        shrink_abort(s);
        return td_fail(err, TD_ENOMEM, "out of memory for a %dx%d intermediate image", s->out_w,
                       s->out_h);
    }
    memset(s->out.px, 0, (size_t)s->out_w * (size_t)s->out_h * (size_t)c * sizeof(float));
    return TD_OK;
}

/* Writes the averaged band into output row oy: each box adds up its k
 * columns of sums (one pass per band, not per row). C and ALPHA are
 * constants at each call site, so the channel loops unroll. */
static inline __attribute__((always_inline)) void flush_band(shrink *s, float *dst, int C,
                                                             int ALPHA)
{
    int w = s->x1 - s->x0, k = s->k;
    const uint32_t *a = s->acc;
    for (int x = 0; x < w; x += k, dst += C) {
        int n = w - x < k ? w - x : k;
        uint64_t sum[4] = {0, 0, 0, 0};
        for (int i = 0; i < n; i++, a += C)
            for (int ch = 0; ch < C; ch++)
                sum[ch] += a[ch];
        float cnt = (float)(n * s->rows_in_band);
        if (ALPHA < 0) {
            for (int ch = 0; ch < C; ch++)
                dst[ch] = (float)sum[ch] / cnt;
        } else {
            /* Colour sums are alpha-weighted: divide by the alpha sum. */
            float aw = (float)sum[ALPHA];
            for (int ch = 0; ch < C; ch++)
                dst[ch] = ch == ALPHA ? aw / cnt : aw > 0 ? (float)sum[ch] / aw : 0.0f;
        }
    }
}

static void flush(shrink *s, int oy)
{
    float *dst = s->out.px + (size_t)oy * (size_t)s->out_w * (size_t)s->c;
    switch (s->c * 8 + s->alpha + 1) {
    case 1 * 8: flush_band(s, dst, 1, -1); break;
    case 3 * 8: flush_band(s, dst, 3, -1); break;
    case 4 * 8: flush_band(s, dst, 4, -1); break;
    case 4 * 8 + 4: flush_band(s, dst, 4, 3); break;
    default: flush_band(s, dst, s->c, s->alpha); break;
    }
    s->rows_in_band = 0;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Adds 4 RGBA pixels premultiplied by alpha to their sums (GCC does not
 * vectorise the scalar loop: its channels need different weights).
 * Products fit 16 bits, so SSE2's 16-bit multiply serves. */
static inline void add_rgba4(uint32_t *a, const uint8_t *p, bool first)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i px = _mm_loadu_si128((const __m128i *)p);
    __m128i al = _mm_srli_epi32(px, 24);
    /* per byte: the pixel's alpha for colour, 1 for alpha itself */
    __m128i wt = _mm_or_si128(_mm_or_si128(al, _mm_slli_epi32(al, 8)),
                              _mm_or_si128(_mm_slli_epi32(al, 16), _mm_set1_epi32(1 << 24)));
    __m128i lo = _mm_mullo_epi16(_mm_unpacklo_epi8(px, zero), _mm_unpacklo_epi8(wt, zero));
    __m128i hi = _mm_mullo_epi16(_mm_unpackhi_epi8(px, zero), _mm_unpackhi_epi8(wt, zero));
    __m128i s[4] = {_mm_unpacklo_epi16(lo, zero), _mm_unpackhi_epi16(lo, zero),
                    _mm_unpacklo_epi16(hi, zero), _mm_unpackhi_epi16(hi, zero)};
    for (int j = 0; j < 4; j++) {
        __m128i *d = (__m128i *)(a + 4 * j);
        _mm_storeu_si128(d, first ? s[j] : _mm_add_epi32(_mm_loadu_si128(d), s[j]));
    }
}
#endif

/* Adds one input row to the band's column sums (the band's first row sets
 * them, so nothing needs clearing). Colour is summed premultiplied by alpha,
 * so a transparent pixel adds nothing to its box's colour (no dark fringes).
 * C and ALPHA are constants at each call site: the loops vectorise. */
static inline __attribute__((always_inline)) void add_row(shrink *s, const uint8_t *restrict p,
                                                          int C, int ALPHA)
{
    uint32_t *restrict a = s->acc;
    int w = s->x1 - s->x0, x = 0;
    bool first = s->rows_in_band == 0;
    if (ALPHA < 0) {
        if (first)
            for (int i = 0; i < w * C; i++)
                a[i] = p[i];
        else
            for (int i = 0; i < w * C; i++)
                a[i] += p[i];
        return;
    }
#ifdef __SSE2__
    if (C == 4 && ALPHA == 3)
        for (; x + 4 <= w; x += 4)
            add_rgba4(a + x * 4, p + x * 4, first);
#endif
    for (; x < w; x++) {
        const uint8_t *q = p + x * C;
        uint32_t *d = a + x * C, wt = q[ALPHA];
        for (int ch = 0; ch < C; ch++)
            d[ch] = (first ? 0 : d[ch]) + (ch == ALPHA ? wt : q[ch] * wt);
    }
}

void shrink_row(shrink *s, int y, const uint8_t *row)
{
    if (y < s->y0 || y >= s->y1 || !s->acc)
        return;
    const uint8_t *p = row + (size_t)s->x0 * (size_t)s->c;
    switch (s->c * 8 + s->alpha + 1) {
    case 1 * 8: add_row(s, p, 1, -1); break;
    case 2 * 8 + 2: add_row(s, p, 2, 1); break;
    case 3 * 8: add_row(s, p, 3, -1); break;
    case 4 * 8: add_row(s, p, 4, -1); break;
    case 4 * 8 + 4: add_row(s, p, 4, 3); break;
    default: add_row(s, p, s->c, s->alpha); break;
    }
    s->rows_in_band++;
    if (s->rows_in_band == s->k || y == s->y1 - 1)
        flush(s, (y - s->y0) / s->k);
}

bool shrink_done(const shrink *s, int next_y)
{
    return next_y >= s->y1;
}

void shrink_window(shrink *s, double fx, double fy, double fw, double fh)
{
    int w = s->x1 - s->x0, h = s->y1 - s->y0;
    /* written so that NaN fails every test */
    if (!(fx >= 0 && fw > 0 && fx + fw <= w && fy >= 0 && fh > 0 && fy + fh <= h))
        return;
    s->fx = fx;
    s->fy = fy;
    s->fw = fw;
    s->fh = fh;
}

void shrink_end(shrink *s, image_f *out)
{
    s->out.win_x = s->fx / s->k;
    s->out.win_y = s->fy / s->k;
    s->out.win_w = s->fw / s->k;
    s->out.win_h = s->fh / s->k;
    *out = s->out;
    s->out.px = NULL;
    shrink_abort(s);
}

void shrink_abort(shrink *s)
{
    free(s->acc);
    image_free(&s->out);
    s->acc = NULL;
}

/* Adds one row of w pixels (c channels, alpha index al or -1) to the
 * column sums acc: colour weighted by alpha, as add_row does. */
static void add_float_row(float *restrict acc, const float *restrict p, int w, int c, int al)
{
    if (al < 0) {
        for (int i = 0; i < w * c; i++)
            acc[i] += p[i];
        return;
    }
    for (int i = 0; i < w; i++, p += c, acc += c) {
        float a = p[al];
        for (int ch = 0; ch < c; ch++)
            acc[ch] += ch == al ? a : p[ch] * a;
    }
}

/* Output row d (ow pixels) from the column sums acc of w pixels and ny
 * rows: each box adds up its k columns, as flush_band does. C and AL are
 * constants at each call site (flush_float_row), so the loops unroll. */
static inline __attribute__((always_inline)) void flush_float(float *d, const float *acc, int w,
                                                              int C, int AL, int k, int ny)
{
    for (int x = 0; x < w; x += k, d += C) {
        int nx = w - x < k ? w - x : k;
        float sum[4] = {0, 0, 0, 0};
        const float *a = acc + (size_t)x * (size_t)C;
        for (int i = 0; i < nx; i++, a += C)
            for (int ch = 0; ch < C; ch++)
                sum[ch] += a[ch];
        float inv = 1.0f / (float)(nx * ny);
        float ainv = AL >= 0 && sum[AL >= 0 ? AL : 0] > 0 ? 1.0f / sum[AL >= 0 ? AL : 0] : 0.0f;
        for (int ch = 0; ch < C; ch++)
            d[ch] = AL < 0 || ch == AL ? sum[ch] * inv : sum[ch] * ainv;
    }
}

static void flush_float_row(float *d, const float *acc, int w, int c, int al, int k, int ny)
{
    switch (c * 8 + al + 1) {
    case 1 * 8: flush_float(d, acc, w, 1, -1, k, ny); break;
    case 3 * 8: flush_float(d, acc, w, 3, -1, k, ny); break;
    case 4 * 8: flush_float(d, acc, w, 4, -1, k, ny); break;
    case 4 * 8 + 4: flush_float(d, acc, w, 4, 3, k, ny); break;
    case 2 * 8 + 2: flush_float(d, acc, w, 2, 1, k, ny); break;
    default: flush_float(d, acc, w, c, al, k, ny); break;
    }
}

td_status shrink_region(const image_f *src, int x, int y, int w, int h, int k, image_f *out,
                        char err[TD_ERRLEN])
{
    memset(out, 0, sizeof *out);
    if (k < 1 || w < 1 || h < 1 || x < 0 || y < 0 || x + w > src->w || y + h > src->h)
        return td_fail(err, TD_EINPUT, "internal: bad region %dx%d+%d+%d of %dx%d", w, h, x, y,
                       src->w, src->h);
    int ow = (w + k - 1) / k, oh = (h + k - 1) / k, c = src->c;
    size_t row = (size_t)w * (size_t)c, stride = (size_t)src->w * (size_t)c;
    float *acc = k > 1 ? malloc(row * sizeof *acc) : NULL;
    if ((k > 1 && !acc) || !image_alloc(out, ow, oh, c, src->alpha)) {
        free(acc);
        return td_fail(err, TD_ENOMEM, "out of memory for a %dx%d image", ow, oh);
    }
    const float *base = src->px + (size_t)y * stride + (size_t)x * (size_t)c;
    for (int oy = 0; oy < oh; oy++) {
        float *d = out->px + (size_t)oy * (size_t)ow * (size_t)c;
        if (k == 1) { /* a copy */
            memcpy(d, base + (size_t)oy * stride, row * sizeof *d);
            continue;
        }
        int ny = h - oy * k < k ? h - oy * k : k;
        memset(acc, 0, row * sizeof *acc);
        for (int j = 0; j < ny; j++)
            add_float_row(acc, base + (size_t)(oy * k + j) * stride, w, c, src->alpha);
        flush_float_row(d, acc, w, c, src->alpha, k, ny);
    }
    free(acc);
    return TD_OK;
}
