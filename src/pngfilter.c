#include "thumbd/pngfilter.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The scalar filters work on bytes from..len-1 (from > 0: the SSE2 loops
 * did the bytes before). Bytes left of the first pixel count as 0. */

static void unfilter_sub(uint8_t *restrict row, size_t from, size_t len, size_t bpp)
{
    for (size_t i = from > bpp ? from : bpp; i < len; i++)
        row[i] = (uint8_t)(row[i] + row[i - bpp]);
}

static void unfilter_up(uint8_t *restrict row, const uint8_t *restrict prev, size_t len)
{
    for (size_t i = 0; i < len; i++)
        row[i] = (uint8_t)(row[i] + prev[i]);
}

static void unfilter_avg(uint8_t *restrict row, const uint8_t *restrict prev, size_t from,
                         size_t len, size_t bpp)
{
    for (size_t i = from; i < bpp && i < len; i++)
        row[i] = (uint8_t)(row[i] + (prev[i] >> 1));
    for (size_t i = from > bpp ? from : bpp; i < len; i++)
        row[i] = (uint8_t)(row[i] + ((row[i - bpp] + prev[i]) >> 1));
}

/* Branch-free: the predictor's choice depends on the data, and mispredicted
 * branches are what made libpng's byte loop slow. */
static inline uint8_t paeth(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int pick_b = (pb < pa) & (pb <= pc);  /* a wins ties, then b */
    int pick_c = (pc < pa) & (pc < pb);
    return (uint8_t)(pick_c ? c : pick_b ? b : a);
}

static void unfilter_paeth(uint8_t *restrict row, const uint8_t *restrict prev, size_t from,
                           size_t len, size_t bpp)
{
    for (size_t i = from; i < bpp && i < len; i++)
        row[i] = (uint8_t)(row[i] + prev[i]); /* a = c = 0: Paeth picks b */
    for (size_t i = from > bpp ? from : bpp; i < len; i++)
        row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], prev[i], prev[i - bpp]));
}

#ifdef __SSE2__
/* 3 and 4-byte pixels, one at a time (each needs the one to its left) with
 * its samples side by side in a register. Loads and stores are 4 bytes
 * wide; for 3-byte pixels the fourth byte, the next pixel's first, is
 * written back unchanged, and the last pixel, whose fourth byte would be
 * past the row, is left to the scalar code. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __m128i load4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtsi32_si128((int)v);
}

/* The filtered pixel after the one at i, loaded before the store at i:
 * for 3-byte pixels that store covers its first byte, and a load partly
 * overlapping an earlier store stalls (no store forwarding). */
static ALWAYS_INLINE __m128i load_next(const uint8_t *row, size_t i, size_t len, int bpp)
{
    return i + (size_t)bpp + 4 <= len ? load4(row + i + (size_t)bpp) : _mm_setzero_si128();
}

/* Stores the pixel v, keeping byte 3 of x (the bytes loaded from p) if
 * the pixel has 3 bytes. */
static ALWAYS_INLINE void store4(uint8_t *p, __m128i v, __m128i x, int bpp)
{
    if (bpp == 3) {
        const __m128i keep = _mm_cvtsi32_si128((int)0xff000000u);
        v = _mm_or_si128(_mm_andnot_si128(keep, v), _mm_and_si128(keep, x));
    }
    uint32_t u = (uint32_t)_mm_cvtsi128_si32(v);
    memcpy(p, &u, 4);
}

static ALWAYS_INLINE size_t sub_sse2(uint8_t *restrict row, size_t len, int bpp)
{
    __m128i a = _mm_setzero_si128(), x = len >= 4 ? load4(row) : a;
    size_t i = 0;
    for (; i + 4 <= len; i += (size_t)bpp) {
        __m128i next = load_next(row, i, len, bpp);
        a = _mm_add_epi8(x, a);
        store4(row + i, a, x, bpp);
        x = next;
    }
    return i;
}

/* Average, rounding down: _mm_avg_epu8 rounds up, so take the carry back. */
static ALWAYS_INLINE size_t avg_sse2(uint8_t *restrict row, const uint8_t *restrict prev,
                                     size_t len, int bpp)
{
    const __m128i one = _mm_set1_epi8(1);
    __m128i a = _mm_setzero_si128(), x = len >= 4 ? load4(row) : a;
    size_t i = 0;
    for (; i + 4 <= len; i += (size_t)bpp) {
        __m128i b = load4(prev + i), next = load_next(row, i, len, bpp);
        __m128i avg = _mm_sub_epi8(_mm_avg_epu8(a, b), _mm_and_si128(_mm_xor_si128(a, b), one));
        a = _mm_add_epi8(x, avg);
        store4(row + i, a, x, bpp);
        x = next;
    }
    return i;
}

static ALWAYS_INLINE __m128i abs16(__m128i v)
{
    return _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v));
}

/* One pixel of Paeth in 16-bit lanes: pa = |b - c|, pb = |a - c|,
 * pc = |a + b - 2c|. Only a comes from the previous pixel, and the chain
 * from a to the result is 7 instructions; the rest overlaps. */
static ALWAYS_INLINE __m128i paeth_px(__m128i x, __m128i a, __m128i b, __m128i c)
{
    __m128i pa = abs16(_mm_sub_epi16(b, c));
    __m128i t = _mm_sub_epi16(_mm_add_epi16(c, c), b); /* pc = |a - t| */
    __m128i pb = _mm_max_epi16(_mm_sub_epi16(a, c), _mm_sub_epi16(c, a));
    __m128i pc = _mm_max_epi16(_mm_sub_epi16(a, t), _mm_sub_epi16(t, a));
    __m128i not_a = _mm_cmpgt_epi16(pa, _mm_min_epi16(pb, pc));
    __m128i use_c = _mm_cmpgt_epi16(pb, pc);
    __m128i bc = _mm_or_si128(_mm_andnot_si128(use_c, b), _mm_and_si128(use_c, c));
    __m128i pred = _mm_or_si128(_mm_andnot_si128(not_a, a), _mm_and_si128(not_a, bc));
    /* bytewise add: the low byte wraps, the high byte stays 0 */
    return _mm_add_epi8(x, pred);
}

static ALWAYS_INLINE __m128i widen(__m128i v)
{
    return _mm_unpacklo_epi8(v, _mm_setzero_si128());
}

static ALWAYS_INLINE size_t paeth_sse2(uint8_t *restrict row, const uint8_t *restrict prev,
                                       size_t len, int bpp)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i a = zero, c = zero, x8 = len >= 4 ? load4(row) : zero;
    size_t i = 0;
    for (; i + 4 <= len; i += (size_t)bpp) {
        __m128i next = load_next(row, i, len, bpp);
        __m128i b = widen(load4(prev + i));
        a = paeth_px(widen(x8), a, b, c);
        store4(row + i, _mm_packus_epi16(a, a), x8, bpp);
        c = b;
        x8 = next;
    }
    return i;
}

/* Two Paeth rows at once, the second one pixel behind the first: its pixel
 * k - 1 needs the first row's pixels k - 1 and k - 2, both just done. The
 * two chains are independent, so the core runs them side by side (one
 * row's chain alone leaves it mostly waiting). Pixels whose 4-byte access
 * would pass the row's end are left to the scalar code. len >= 4. */
static ALWAYS_INLINE void paeth2_sse2(uint8_t *restrict r0, uint8_t *restrict r1,
                                      const uint8_t *restrict prev, size_t len, int bpp)
{
    const __m128i zero = _mm_setzero_si128();
    size_t m = (len - 4) / (size_t)bpp + 1; /* pixels with 4 bytes in the row */
    __m128i a0 = zero, c0 = zero, a1 = zero, c1 = zero;
    __m128i x0 = load4(r0), x1 = load4(r1);
    for (size_t k = 0; k < m; k++) {
        size_t i = k * (size_t)bpp;
        __m128i next0 = k + 1 < m ? load4(r0 + i + (size_t)bpp) : zero;
        __m128i b0 = widen(load4(prev + i));
        __m128i new0 = paeth_px(widen(x0), a0, b0, c0);
        c0 = b0;
        if (k > 0) { /* the second row's pixel k - 1 */
            __m128i next1 = load4(r1 + i);
            a1 = paeth_px(widen(x1), a1, a0, c1);
            c1 = a0;
            store4(r1 + i - (size_t)bpp, _mm_packus_epi16(a1, a1), x1, bpp);
            x1 = next1;
        }
        a0 = new0;
        store4(r0 + i, _mm_packus_epi16(a0, a0), x0, bpp);
        x0 = next0;
    }
    unfilter_paeth(r0, prev, m * (size_t)bpp, len, (size_t)bpp);
    unfilter_paeth(r1, r0, (m - 1) * (size_t)bpp, len, (size_t)bpp);
}

/* Filters 1, 3 and 4 for 3 and 4-byte pixels; returns how many bytes are
 * done (the scalar code finishes the row). */
static size_t unfilter_sse2(int filter, uint8_t *row, const uint8_t *prev, size_t len, int bpp)
{
    if (bpp == 3)
        return filter == 1 ? sub_sse2(row, len, 3) : filter == 3 ? avg_sse2(row, prev, len, 3)
                                                                 : paeth_sse2(row, prev, len, 3);
    return filter == 1 ? sub_sse2(row, len, 4) : filter == 3 ? avg_sse2(row, prev, len, 4)
                                                             : paeth_sse2(row, prev, len, 4);
}
#endif

bool pngfilter_rows2(uint8_t *row0, uint8_t *row1, const uint8_t *prev, size_t len, int bpp)
{
#ifdef __SSE2__
    if (row0[0] == 4 && row1[0] == 4 && (bpp == 3 || bpp == 4) && len >= 5) {
        if (bpp == 3)
            paeth2_sse2(row0 + 1, row1 + 1, prev + 1, len - 1, 3);
        else
            paeth2_sse2(row0 + 1, row1 + 1, prev + 1, len - 1, 4);
        row0[0] = row1[0] = 0;
        return true;
    }
#endif
    if (!pngfilter_row(row0[0], row0 + 1, prev + 1, len - 1, bpp))
        return false;
    row0[0] = 0;
    if (!pngfilter_row(row1[0], row1 + 1, row0 + 1, len - 1, bpp))
        return false;
    row1[0] = 0;
    return true;
}

bool pngfilter_row(int filter, uint8_t *row, const uint8_t *prev, size_t len, int bpp)
{
    if (filter < 0 || filter > 4)
        return false;
    size_t from = 0, n = (size_t)bpp;
#ifdef __SSE2__
    if ((bpp == 3 || bpp == 4) && (filter == 1 || filter == 3 || filter == 4))
        from = unfilter_sse2(filter, row, prev, len, bpp);
#endif
    switch (filter) {
    case 1:
        unfilter_sub(row, from, len, n);
        break;
    case 2:
        unfilter_up(row, prev, len);
        break;
    case 3:
        unfilter_avg(row, prev, from, len, n);
        break;
    case 4:
        unfilter_paeth(row, prev, from, len, n);
        break;
    }
    return true;
}
