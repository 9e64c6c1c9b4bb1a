/* Separable resampler. Each output pixel is a normalised weighted sum of
 * input pixels; the weights come from one of four filters (resize.h). For
 * Mitchell, Catmull-Rom and box they reproduce stb_image_resize v1's
 * (float, linear, clamp-to-edge) resize: the same kernels, supports, pixel
 * centres and normalisation, so thumbnails match it to rounding. Lanczos3
 * runs through the same walk with its own kernel and support. The passes
 * are ours: weights are planned once per axis as gather spans, and each
 * output row is made from a ring of prepared rows, so the scratch memory
 * is a few rows, not an intermediate image. */
#include "thumbd/resize.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Four floats: one 3- or 4-channel pixel in the horizontal pass. */
typedef float rs_v4 __attribute__((vector_size(16)));

/* Floats after the horizontal pass's source row: a 3-channel load of the
 * last pixel reads one past it. */
enum { RS_PAD = 4 };

/* A kernel k(x, scale) over distances in output pixels (shrinking) or input
 * pixels (growing), and its half-width support(scale); scale is the ratio
 * (shrinking) or its inverse (growing), which only the box uses, as stb. */
typedef struct rs_kernel {
    float (*k)(float x, float scale);
    float (*support)(float scale);
} rs_kernel;

/* One axis: for output i, inputs first[i] .. first[i]+count[i]-1 with weights
 * w[i*taps ...] (zero beyond count). Edge taps are folded onto the edge
 * pixel, which is what clamp-to-edge means. */
typedef struct rs_axis {
    int in, out;
    float off;    /* where the window (image.h) starts, in input pixels */
    float ratio;  /* out / the window's extent (out / in, as stb, for the whole grid) */
    const rs_kernel *down, *up; /* the kernel when the axis shrinks / grows */
    int *first, *count;
    float *norm;  /* per output: sum of raw weights, then its reciprocal */
    int taps;     /* the widest span */
    float *w;
} rs_axis;

/* Mitchell-Netravali, B = C = 1/3: stb's default filter when an axis
 * shrinks. */
static float rs_mitchell(float x, float s)
{
    (void)s;
    x = fabsf(x);
    if (x < 1.0f)
        return (16 + x * x * (21 * x - 36)) / 18;
    if (x < 2.0f)
        return (32 + x * (-60 + x * (36 - 7 * x))) / 18;
    return 0.0f;
}

/* Catmull-Rom: stb's default filter when an axis grows. */
static float rs_catmull_rom(float x, float s)
{
    (void)s;
    x = fabsf(x);
    if (x < 1.0f)
        return 1 - x * x * (2.5f - 1.5f * x);
    if (x < 2.0f)
        return 2 - x * (4 + x * (0.5f * x - 2.5f));
    return 0.0f;
}

static float rs_support_two(float s)
{
    (void)s;
    return 2.0f;
}

/* stb's box: a trapezoid whose ramps are one input pixel wide in output
 * units (s = the scale, at most 1), so it is a plain box at integer
 * ratios and area-weighted in between. */
static float rs_trapezoid(float x, float s)
{
    float half = s / 2, t = 0.5f + half;
    x = fabsf(x);
    if (x >= t)
        return 0.0f;
    return x <= 0.5f - half ? 1.0f : (t - x) / s;
}

static float rs_support_trapezoid(float s)
{
    return 0.5f + s / 2;
}

/* Lanczos, a = 3: sinc(x) sinc(x / 3) for |x| < 3, in double so the
 * weights are exact to float. One sine: with t = pi x / 3,
 * sin(pi x) = sin(3t) = 3 sin t - 4 sin^3 t. */
static float rs_lanczos3(float x, float s)
{
    (void)s;
    static const double pi = 3.14159265358979323846;
    double ax = fabs((double)x);
    if (ax >= 3.0)
        return 0.0f;
    if (ax < 1e-7)
        return 1.0f;
    double t = pi * ax / 3.0, st = sin(t);
    return (float)(st * st * (3.0 - 4.0 * st * st) / (3.0 * t * t));
}

static float rs_support_three(float s)
{
    (void)s;
    return 3.0f;
}

static const rs_kernel rs_k_mitchell = {rs_mitchell, rs_support_two};
static const rs_kernel rs_k_catrom = {rs_catmull_rom, rs_support_two};
static const rs_kernel rs_k_box = {rs_trapezoid, rs_support_trapezoid};
static const rs_kernel rs_k_lanczos3 = {rs_lanczos3, rs_support_three};

/* The kernels of a filter, shrinking and growing. */
static void rs_kernels(resize_filter f, const rs_kernel **down, const rs_kernel **up)
{
    switch (f) {
    case RESIZE_MITCHELL: *down = &rs_k_mitchell; *up = &rs_k_catrom; return;
    case RESIZE_CATROM: *down = *up = &rs_k_catrom; return;
    case RESIZE_BOX: *down = *up = &rs_k_box; return;
    case RESIZE_LANCZOS3: break;
    }
    *down = *up = &rs_k_lanczos3;
}

static int rs_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Pass one (fill false) grows output i's span and sums its raw weights;
 * pass two (fill true) adds the normalised weight into the span. */
static void rs_visit(rs_axis *ax, bool fill, int n, int i, float coef)
{
    int k = rs_clamp(n, 0, ax->in - 1);
    if (fill) {
        ax->w[(size_t)i * (size_t)ax->taps + (size_t)(k - ax->first[i])] += coef * ax->norm[i];
        return;
    }
    if (ax->count[i] == 0) {
        ax->first[i] = k;
        ax->count[i] = 1;
    } else {
        int last = ax->first[i] + ax->count[i] - 1;
        if (k < ax->first[i])
            ax->first[i] = k;
        if (k > last)
            last = k;
        ax->count[i] = last - ax->first[i] + 1;
    }
    ax->norm[i] += coef;
}

/* Shrinking: stb scatters each input pixel n, including a margin of
 * clamped pixels either side, onto the outputs its scaled kernel reaches,
 * then normalises each output's weights. Same ranges, same float maths, in
 * the same order (n ascending), so the sums match. The kernel runs over
 * output pixels: its support, in input pixels, grows with the reduction. */
static void rs_walk_down(rs_axis *ax, bool fill)
{
    float r = ax->ratio;
    float support = ax->down->support(r);
    float radius = support / r;                   /* in input pixels */
    int margin = (int)ceil(support * 2 / r) / 2;  /* stb's filter pixel margin */
    for (int n = -margin; n < ax->in + margin; n++) {
        float centre = (float)n + 0.5f - ax->off;
        float out_centre = centre * r;
        int lo = (int)floor((centre - radius) * r + 0.5);
        int hi = (int)floor((centre + radius) * r - 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > ax->out - 1 ? ax->out - 1 : hi;
        for (int i = lo; i <= hi; i++) {
            float coef = ax->down->k(((float)i + 0.5f) - out_centre, r) * r;
            if (coef != 0.0f)
                rs_visit(ax, fill, n, i, coef);
        }
    }
}

/* Growing: stb gathers, for each output, the inputs within the kernel's
 * reach of its centre mapped back into the input. */
static void rs_walk_up(rs_axis *ax, bool fill)
{
    float r = ax->ratio;
    float radius = ax->up->support(1 / r) * r; /* kernel support, in output pixels */
    for (int i = 0; i < ax->out; i++) {
        float centre = (float)i + 0.5f;
        float in_centre = centre / r + ax->off;
        int lo = (int)floor((centre - radius) / r + ax->off + 0.5);
        int hi = (int)floor((centre + radius) / r + ax->off - 0.5);
        for (int n = lo; n <= hi; n++) {
            float coef = ax->up->k(in_centre - ((float)n + 0.5f), 1 / r);
            if (coef != 0.0f)
                rs_visit(ax, fill, n, i, coef);
        }
    }
}

static void rs_walk(rs_axis *ax, bool fill)
{
    if (ax->ratio > 1.0f)
        rs_walk_up(ax, fill);
    else
        rs_walk_down(ax, fill);
}

/* Pass one: spans and sums into first/count/norm (out entries each,
 * zeroed by the caller); sets taps. The output spans the window
 * [off, off + ext) of the in pixels. */
static void rs_axis_measure(rs_axis *ax, int in, int out, double off, double ext)
{
    ax->in = in;
    ax->out = out;
    ax->off = (float)off;
    /* for the whole grid the same float as stb's (float)out / (float)in */
    ax->ratio = (float)((double)out / ext);
    rs_walk(ax, false);
    ax->taps = 1;
    for (int i = 0; i < out; i++) {
        ax->norm[i] = 1.0f / ax->norm[i];
        if (ax->count[i] > ax->taps)
            ax->taps = ax->count[i];
    }
}

/* Pass two: the normalised weights into w (out * taps floats). */
static void rs_axis_weigh(rs_axis *ax, float *w)
{
    ax->w = w;
    memset(w, 0, (size_t)ax->out * (size_t)ax->taps * sizeof *w);
    rs_walk(ax, true);
}

/* One sweep of dst over four rows: dst = (add ? dst : 0) + w0*r0 + w1*r1
 * + w2*r2 + w3*r3, left to right (stb's order). A plain multiply-add over
 * contiguous floats: the compiler vectorises it. */
static void rs_vsweep(float *restrict dst, const float *const r[4], const float w[4], bool add,
                      size_t len)
{
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
    float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    if (add)
        for (size_t x = 0; x < len; x++)
            dst[x] = (((dst[x] + w0 * r0[x]) + w1 * r1[x]) + w2 * r2[x]) + w3 * r3[x];
    else
        for (size_t x = 0; x < len; x++)
            dst[x] = ((w0 * r0[x] + w1 * r1[x]) + w2 * r2[x]) + w3 * r3[x];
}

/* dst = sum over k of w[k] * rows[k], k ascending, four rows per sweep so
 * dst stays in registers; a short last group is padded with weight 0
 * (adding 0 changes nothing). */
static void rs_vsum(float *restrict dst, const float *const *rows, const float *w, int n,
                    size_t len)
{
    for (int k = 0; k < n; k += 4) {
        const float *r[4];
        float wk[4];
        for (int i = 0; i < 4; i++) {
            r[i] = rows[k + i < n ? k + i : n - 1];
            wk[i] = k + i < n ? w[k + i] : 0.0f;
        }
        rs_vsweep(dst, r, wk, k > 0, len);
    }
}

static rs_v4 rs_load4(const float *p)
{
    rs_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The horizontal pass, one version per channel count. src is padded by
 * RS_PAD floats. */
static void rs_h1(float *restrict dst, const float *restrict src, const rs_axis *ax)
{
    for (int i = 0; i < ax->out; i++) {
        const float *s = src + ax->first[i];
        const float *w = ax->w + (size_t)i * (size_t)ax->taps;
        float a = 0;
        for (int j = 0; j < ax->count[i]; j++)
            a += w[j] * s[j];
        dst[i] = a;
    }
}

static void rs_h2(float *restrict dst, const float *restrict src, const rs_axis *ax)
{
    for (int i = 0; i < ax->out; i++) {
        const float *s = src + (size_t)ax->first[i] * 2;
        const float *w = ax->w + (size_t)i * (size_t)ax->taps;
        float a = 0, b = 0;
        for (int j = 0; j < ax->count[i]; j++) {
            a += w[j] * s[2 * j];
            b += w[j] * s[2 * j + 1];
        }
        dst[2 * i] = a;
        dst[2 * i + 1] = b;
    }
}

static void rs_h3(float *restrict dst, const float *restrict src, const rs_axis *ax)
{
    for (int i = 0; i < ax->out; i++) {
        const float *s = src + (size_t)ax->first[i] * 3;
        const float *w = ax->w + (size_t)i * (size_t)ax->taps;
        int n = ax->count[i], j = 0;
        rs_v4 a = {0, 0, 0, 0}; /* lane 3 picks up the next pixel's first channel: ignored */
        for (; j + 1 < n; j += 2) {
            a += w[j] * rs_load4(s + 3 * j);
            a += w[j + 1] * rs_load4(s + 3 * j + 3);
        }
        if (j < n)
            a += w[j] * rs_load4(s + 3 * j);
        dst[3 * i] = a[0];
        dst[3 * i + 1] = a[1];
        dst[3 * i + 2] = a[2];
    }
}

static void rs_h4(float *restrict dst, const float *restrict src, const rs_axis *ax)
{
    for (int i = 0; i < ax->out; i++) {
        const float *s = src + (size_t)ax->first[i] * 4;
        const float *w = ax->w + (size_t)i * (size_t)ax->taps;
        int n = ax->count[i], j = 0;
        rs_v4 a = {0, 0, 0, 0};
        for (; j + 1 < n; j += 2) {
            a += w[j] * rs_load4(s + 4 * j);
            a += w[j + 1] * rs_load4(s + 4 * j + 4);
        }
        if (j < n)
            a += w[j] * rs_load4(s + 4 * j);
        memcpy(dst + 4 * i, &a, sizeof a);
    }
}

static void rs_hpass(float *restrict dst, const float *restrict src, const rs_axis *ax, int c)
{
    switch (c) {
    case 1: rs_h1(dst, src, ax); break;
    case 2: rs_h2(dst, src, ax); break;
    case 3: rs_h3(dst, src, ax); break;
    default: rs_h4(dst, src, ax); break;
    }
}

/* Rows filtered horizontally together: each weight is loaded once for all
 * of them. */
enum { RS_BATCH = 4 };

/* The 3- and 4-channel pass over RS_BATCH rows at once (c a constant where
 * inlined); each sum runs in the same order as rs_h3/rs_h4's. */
static inline void rs_hvec_batch(float *const dst[RS_BATCH], const float *const src[RS_BATCH],
                                 const rs_axis *ax, int c)
{
    const float *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3];
    for (int i = 0; i < ax->out; i++) {
        size_t at = (size_t)ax->first[i] * (size_t)c, o = (size_t)i * (size_t)c;
        const float *w = ax->w + (size_t)i * (size_t)ax->taps;
        rs_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < ax->count[i]; j++, at += (size_t)c) {
            float wj = w[j];
            a0 += wj * rs_load4(s0 + at);
            a1 += wj * rs_load4(s1 + at);
            a2 += wj * rs_load4(s2 + at);
            a3 += wj * rs_load4(s3 + at);
        }
        memcpy(dst[0] + o, &a0, (size_t)c * sizeof(float));
        memcpy(dst[1] + o, &a1, (size_t)c * sizeof(float));
        memcpy(dst[2] + o, &a2, (size_t)c * sizeof(float));
        memcpy(dst[3] + o, &a3, (size_t)c * sizeof(float));
    }
}

/* The horizontal pass over n (1..RS_BATCH) rows. */
static void rs_hpass_rows(float *const dst[RS_BATCH], const float *const src[RS_BATCH], int n,
                          const rs_axis *ax, int c)
{
    if (n == RS_BATCH && c == 3)
        rs_hvec_batch(dst, src, ax, 3);
    else if (n == RS_BATCH && c == 4)
        rs_hvec_batch(dst, src, ax, 4);
    else
        for (int r = 0; r < n; r++)
            rs_hpass(dst[r], src[r], ax, c);
}

/* What thumbd has always done: clamp, then round to nearest (ties to even
 * in the default rounding mode); NaN gives 0. */
static uint8_t rs_to_u8(float v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrintf(v);
}

/* Per-lane factors that scale colour by f and leave alpha as it is:
 * lane = f * colour_lane + alpha_lane. */
typedef struct rs_lanes {
    rs_v4 colour, alpha;
} rs_lanes;

static rs_lanes rs_alpha_lanes(int alpha)
{
    rs_lanes l = {{1, 1, 1, 1}, {0, 0, 0, 0}};
    l.colour[alpha] = 0;
    l.alpha[alpha] = 1;
    return l;
}

/* Colour times alpha, as stb weights colour before filtering. */
static void rs_premultiply(float *restrict dst, const float *restrict src, int w, int c,
                           int alpha)
{
    if (c == 4) {
        rs_lanes l = rs_alpha_lanes(alpha);
        for (size_t p = 0; p < (size_t)w * 4; p += 4) {
            rs_v4 v = rs_load4(src + p);
            v *= src[p + (size_t)alpha] * l.colour + l.alpha;
            memcpy(dst + p, &v, sizeof v);
        }
        return;
    }
    for (size_t p = 0; p < (size_t)w * (size_t)c; p += (size_t)c) {
        float a = src[p + (size_t)alpha];
        for (int ch = 0; ch < c; ch++)
            dst[p + (size_t)ch] = ch == alpha ? a : src[p + (size_t)ch] * a;
    }
}

/* Undoes the weighting: colour 0 where the filtered alpha is exactly 0,
 * as stb does. A negative lobe's undershoot (alpha below 0, an invisible
 * pixel) divides out like any other alpha: colour and alpha were filtered
 * with the same weights. */
static void rs_unpremultiply(float *row, int w, int c, int alpha)
{
    rs_lanes l = rs_alpha_lanes(alpha);
    for (size_t p = 0; p < (size_t)w * (size_t)c; p += (size_t)c) {
        float a = row[p + (size_t)alpha];
        float inv = a != 0.0f ? 1.0f / a : 0.0f;
        if (c == 4) {
            rs_v4 v = rs_load4(row + p);
            v *= inv * l.colour + l.alpha;
            memcpy(row + p, &v, sizeof v);
            continue;
        }
        for (int ch = 0; ch < c; ch++)
            if (ch != alpha)
                row[p + (size_t)ch] *= inv;
    }
}

/* rs_to_u8 over a row. With SSE2 (every x86-64), 16 values at a time:
 * maxps(v, 0) turns NaN into 0 as well, cvtps2dq rounds in the current
 * mode as lrintf does, and two saturating packs narrow to bytes. */
static void rs_to_u8_row(uint8_t *restrict dst, const float *restrict row, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128 zero = _mm_setzero_ps(), top = _mm_set1_ps(255.0f);
    __m128i q[4];
    for (; i + 16 <= n; i += 16) {
        for (int k = 0; k < 4; k++) {
            __m128 v = _mm_min_ps(_mm_max_ps(_mm_loadu_ps(row + i + 4 * k), zero), top);
            q[k] = _mm_cvtps_epi32(v);
        }
        __m128i b = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
        _mm_storeu_si128((__m128i *)(void *)(dst + i), b);
    }
#endif
    for (; i < n; i++)
        dst[i] = rs_to_u8(row[i]);
}

static void rs_store(uint8_t *restrict dst, float *restrict row, int w, int c, int alpha)
{
    if (alpha >= 0)
        rs_unpremultiply(row, w, c, alpha);
    rs_to_u8_row(dst, row, (size_t)w * (size_t)c);
}

/* The whole resize: the source, both axes, the order, the scratch. */
typedef struct rs_job {
    const image_f *img;
    rs_axis h, v;
    bool vfirst;        /* vertical pass on input rows, then horizontal */
    int slots;          /* ring entries: v.taps, or 0 if input rows are used as they are */
    size_t slot_len;    /* floats per ring entry */
    float *ring;
    int *slot_row;      /* which prepared row each ring entry holds, or -1 */
    const float **rows; /* the current output row's source rows */
    float *line[RS_BATCH]; /* input-width rows (padded): the horizontal pass's sources */
    float *orow[RS_BATCH]; /* output-width rows */
} rs_job;

/* Estimated cost of each order, in vector multiply-adds: the vertical sum
 * runs four floats at a time over whole rows, the horizontal pass one pixel
 * at a time (four floats for 3 or 4 channels, one for 1 or 2). */
static bool rs_vertical_first(const rs_job *j)
{
    double c = j->img->c, hc = c >= 3 ? 1 : c;
    double in_w = j->h.in, out_w = j->h.out, in_h = j->v.in, out_h = j->v.out;
    double vfirst = out_h * in_w * c / 4 * j->v.taps + out_h * out_w * hc * j->h.taps;
    double hfirst = in_h * out_w * hc * j->h.taps + out_h * out_w * c / 4 * j->v.taps;
    return vfirst <= hfirst;
}

/* Makes ring row k: the input row weighted by alpha (vertical first), or
 * weighted and filtered horizontally (horizontal first). */
static void rs_prepare(rs_job *j, int k, float *dst)
{
    const image_f *img = j->img;
    const float *src = img->px + (size_t)k * (size_t)img->w * (size_t)img->c;
    if (j->vfirst) {
        rs_premultiply(dst, src, img->w, img->c, img->alpha);
        return;
    }
    if (img->alpha >= 0)
        rs_premultiply(j->line[0], src, img->w, img->c, img->alpha);
    else
        memcpy(j->line[0], src, (size_t)img->w * (size_t)img->c * sizeof *src);
    rs_hpass(dst, j->line[0], &j->h, img->c);
}

static const float *rs_row(rs_job *j, int k)
{
    if (j->slots == 0)
        return j->img->px + (size_t)k * (size_t)j->img->w * (size_t)j->img->c;
    int s = k % j->slots; /* a span is at most slots consecutive rows: no clash */
    float *dst = j->ring + (size_t)s * j->slot_len;
    if (j->slot_row[s] != k) {
        rs_prepare(j, k, dst);
        j->slot_row[s] = k;
    }
    return dst;
}

/* Output row y summed vertically into dst. */
static void rs_vrow(rs_job *j, int y, float *dst, size_t len)
{
    int n = j->v.count[y];
    for (int k = 0; k < n; k++)
        j->rows[k] = rs_row(j, j->v.first[y] + k);
    rs_vsum(dst, j->rows, j->v.w + (size_t)y * (size_t)j->v.taps, n, len);
}

static void rs_run(rs_job *j, uint8_t *out)
{
    const image_f *img = j->img;
    size_t in_row = (size_t)img->w * (size_t)img->c, out_row = (size_t)j->h.out * (size_t)img->c;
    for (int y = 0; y < j->v.out; y += RS_BATCH) {
        int n = j->v.out - y < RS_BATCH ? j->v.out - y : RS_BATCH;
        for (int r = 0; r < n; r++)
            rs_vrow(j, y + r, j->vfirst ? j->line[r] : j->orow[r], j->vfirst ? in_row : out_row);
        if (j->vfirst)
            rs_hpass_rows(j->orow, (const float *const *)j->line, n, &j->h, img->c);
        for (int r = 0; r < n; r++)
            rs_store(out + (size_t)(y + r) * out_row, j->orow[r], j->h.out, img->c, img->alpha);
    }
}

static size_t rs_align(size_t bytes)
{
    return (bytes + 15) & ~(size_t)15;
}

/* One block for both axes' weights and every row buffer. */
static void *rs_alloc_work(rs_job *j)
{
    const image_f *img = j->img;
    size_t c = (size_t)img->c;
    j->slots = j->vfirst && img->alpha < 0 ? 0 : j->v.taps;
    j->slot_len = (j->vfirst ? (size_t)img->w : (size_t)j->h.out) * c;
    size_t hw = (size_t)j->h.out * (size_t)j->h.taps, vw = (size_t)j->v.out * (size_t)j->v.taps;
    size_t line = (size_t)img->w * c + RS_PAD, orow = (size_t)j->h.out * c;
    size_t floats = hw + vw + (size_t)j->slots * j->slot_len + (line + orow) * RS_BATCH;
    size_t head = rs_align((size_t)j->v.taps * sizeof *j->rows) +
                  rs_align((size_t)j->slots * sizeof *j->slot_row);
    char *block = malloc(head + floats * sizeof(float));
    if (!block)
        return NULL;
    j->rows = (const float **)(void *)block;
    j->slot_row = (int *)(void *)(block + rs_align((size_t)j->v.taps * sizeof *j->rows));
    for (int s = 0; s < j->slots; s++)
        j->slot_row[s] = -1;
    float *f = (float *)(void *)(block + head);
    rs_axis_weigh(&j->h, f);
    rs_axis_weigh(&j->v, f + hw);
    j->ring = f + hw + vw;
    for (int r = 0; r < RS_BATCH; r++) {
        j->line[r] = j->ring + (size_t)j->slots * j->slot_len + (size_t)r * line;
        j->orow[r] = j->line[0] + (size_t)RS_BATCH * line + (size_t)r * orow;
        /* read (and ignored) by 3-channel loads: keep it defined */
        memset(j->line[r] + line - RS_PAD, 0, RS_PAD * sizeof(float));
    }
    return block;
}

/* One axis of img's window (image.h): *off and *ext, the whole grid of n
 * pixels when ext <= 0. False unless it lies within [0, n]. */
static bool rs_window(double off, double ext, int n, double *o, double *e)
{
    *o = ext > 0 ? off : 0;
    *e = ext > 0 ? ext : n;
    return *o >= 0 && *o + *e <= n * (1 + 1e-9);
}

td_status resize_to_u8(const image_f *img, int out_w, int out_h, resize_filter filter,
                       uint8_t **out, char err[TD_ERRLEN])
{
    double ox, ex, oy, ey;
    if (img->w < 1 || img->h < 1 || img->c < 1 || img->c > 4 || out_w < 1 || out_h < 1 ||
        img->alpha >= img->c || !rs_window(img->win_x, img->win_w, img->w, &ox, &ex) ||
        !rs_window(img->win_y, img->win_h, img->h, &oy, &ey))
        return td_fail(err, TD_EINPUT,
                       "internal: cannot resize %dx%dx%d (alpha %d, window %gx%g+%g+%g) to %dx%d",
                       img->w, img->h, img->c, img->alpha, img->win_w, img->win_h, img->win_x,
                       img->win_y, out_w, out_h);
    size_t n = (size_t)out_w * (size_t)out_h * (size_t)img->c;
    size_t axes = (size_t)out_w + (size_t)out_h;
    int *spans = calloc(axes * 2, sizeof *spans);
    float *norms = calloc(axes, sizeof *norms);
    uint8_t *px = malloc(n);
    rs_job j = {.img = img};
    void *work = NULL;
    if (spans && norms && px) {
        j.h = (rs_axis){.first = spans, .count = spans + out_w, .norm = norms};
        j.v = (rs_axis){.first = spans + 2 * (size_t)out_w,
                        .count = spans + 2 * (size_t)out_w + out_h,
                        .norm = norms + out_w};
        rs_kernels(filter, &j.h.down, &j.h.up);
        j.v.down = j.h.down;
        j.v.up = j.h.up;
        rs_axis_measure(&j.h, img->w, out_w, ox, ex);
        rs_axis_measure(&j.v, img->h, out_h, oy, ey);
        j.vfirst = rs_vertical_first(&j);
        work = rs_alloc_work(&j);
    }
    if (work)
        rs_run(&j, px);
    free(work);
    free(norms);
    free(spans);
    if (!work) {
        free(px);
        return td_fail(err, TD_ENOMEM, "out of memory resizing to %dx%d", out_w, out_h);
    }
    *out = px;
    return TD_OK;
}

const char *resize_filter_name(resize_filter f)
{
    switch (f) {
    case RESIZE_MITCHELL: return "mitchell";
    case RESIZE_CATROM: return "catrom";
    case RESIZE_BOX: return "box";
    case RESIZE_LANCZOS3: break;
    }
    return "lanczos3";
}
