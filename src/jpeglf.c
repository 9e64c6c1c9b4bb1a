/* Progressive JPEG at 2/8 or 4/8 scale (see jpeglf.h): the per-block store
 * of the reduced IDCT's samples, upsampling and colour conversion. The
 * entropy decoding is jpegscan.c's. */
#include "thumbd/jpeglf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/jpegscan.h"

typedef struct lfcomp {
    int n;                     /* IDCT size: samples a block gives each way */
    int up;                    /* horizontal upsampling: 1 or 2 */
    int cw;                    /* samples a row really has */
    int sw;                    /* samples a row of rows[] has (whole blocks) */
    float basis[8][8];         /* [u][i]: frequency u's weight at sample i */
    uint64_t used;             /* natural-order coefficients reaching the samples */
    float w[64][16];           /* n < 8: coefficient k's weights in the samples,
                                  dequantised (once the table is latched) */
    bool w_ready;
    float *acc;                /* n < 8: each block's n x n samples, less 128 */
    int16_t *lc;               /* low-frequency mode, n < 8: each block's n x n
                                  lowest coefficients, [v * n + u] */
    int8_t slot[64];           /* natural index to its place in lc, -1 none */
    int16_t *coef;             /* n == 8: each block's coefficients */
    uint8_t *rows;             /* the n sample rows of block row rows_by */
    int rows_by;
    uint8_t *wide;             /* a row upsampled, when up == 2 */
} lfcomp;

typedef struct lfdec {
    jscan s;
    int scale, ow, oh;
    jpeglf_mode mode;
    lfcomp c[JSCAN_MAX_COMPS];
    int rcr[256], gcb[256], gcr[256], bcb[256];
    const codec_sink *sink;
} lfdec;

/* libjpeg-turbo's choice of IDCT size for each component (jdmaster.c): the
 * scale, doubled while the sampling lets a larger IDCT stand in for
 * upsampling; then the upsampling left. False if it is not 1:1 or h2v1. */
static bool layout(int scale, int nc, const int *h, const int *v, int *n, int *up)
{
    int hmax = 1, vmax = 1;
    for (int i = 0; i < nc; i++) {
        if (h[i] < 1 || v[i] < 1)
            return false;
        hmax = h[i] > hmax ? h[i] : hmax;
        vmax = v[i] > vmax ? v[i] : vmax;
    }
    for (int i = 0; i < nc; i++) {
        int s = scale;
        while (s < 8 && (hmax * scale) % (h[i] * s * 2) == 0 && (vmax * scale) % (v[i] * s * 2) == 0)
            s *= 2;
        n[i] = s;
        if ((hmax * scale) % (h[i] * s) || (vmax * scale) % (v[i] * s))
            return false;
        int rh = hmax * scale / (h[i] * s), rv = vmax * scale / (v[i] * s);
        if (rv != 1 || (rh != 1 && rh != 2))
            return false;
        up[i] = rh;
    }
    return true;
}

bool jpeglf_supported(int scale, int nc, const int *h, const int *v)
{
    int n[JSCAN_MAX_COMPS], up[JSCAN_MAX_COMPS], one[JSCAN_MAX_COMPS] = {1, 1, 1};
    if ((scale != 2 && scale != 4) || (nc != 1 && nc != 3))
        return false;
    return nc == 1 ? layout(scale, 1, one, one, n, up) : layout(scale, nc, h, v, n, up);
}

/* Two masks (jpegscan.h: as wide as the kept coefficients' zigzag
 * indices, at most 4 at 2/8 and 24 at 4/8) and the store. */
static size_t block_bytes(jpeglf_mode mode, int n)
{
    if (n == 8)
        return 2 * sizeof(uint64_t) + 64 * sizeof(int16_t);
    if (mode == JPEGLF_EXACT)
        return 2 * sizeof(uint64_t) + (size_t)n * (size_t)n * sizeof(float);
    return 2 * (n == 2 ? sizeof(uint8_t) : sizeof(uint32_t)) + (size_t)n * (size_t)n * sizeof(int16_t);
}

size_t jpeglf_work_bytes(jpeglf_mode mode, int scale, int w, int h, int nc, const int *hs, const int *vs)
{
    int n[JSCAN_MAX_COMPS], up[JSCAN_MAX_COMPS], one[JSCAN_MAX_COMPS] = {1, 1, 1};
    if (nc < 1 || nc > JSCAN_MAX_COMPS)
        return 0;
    if (nc == 1)
        hs = vs = one;
    if (!layout(scale, nc, hs, vs, n, up))
        return 0;
    int hmax = 1, vmax = 1;
    for (int i = 0; i < nc; i++) {
        hmax = hs[i] > hmax ? hs[i] : hmax;
        vmax = vs[i] > vmax ? vs[i] : vmax;
    }
    size_t mcux = ((size_t)w + 8 * (size_t)hmax - 1) / (8 * (size_t)hmax);
    size_t mcuy = ((size_t)h + 8 * (size_t)vmax - 1) / (8 * (size_t)vmax);
    size_t ow = ((size_t)w * (size_t)scale + 7) / 8, total = sizeof(lfdec) + 65536 + ow * (size_t)nc;
    for (int i = 0; i < nc; i++) {
        size_t pw = mcux * (size_t)hs[i], ph = mcuy * (size_t)vs[i];
        total += pw * ph * block_bytes(mode, n[i]) + pw * (size_t)n[i] * (size_t)n[i] + ow;
    }
    return total;
}

/* Frequency u's weight in sample i of an n-sample reduced IDCT: the mean of
 * the 8-point IDCT basis (T.81 A.3.3) over the 8/n pixels sample i covers. */
static void make_basis(lfcomp *c)
{
    int m = 8 / c->n;
    c->used = 0;
    uint8_t nonzero = 0;
    for (int u = 0; u < 8; u++) {
        double cu = u ? 0.5 : 0.5 / sqrt(2.0);
        for (int i = 0; i < c->n; i++) {
            double sum = 0;
            for (int x = i * m; x < (i + 1) * m; x++)
                sum += cos((2 * x + 1) * u * 3.14159265358979323846 / 16);
            c->basis[u][i] = (float)(cu * sum / m);
            if (fabs(sum) > 1e-9)
                nonzero |= (uint8_t)(1u << u);
        }
    }
    for (int k = 0; k < 64; k++)
        if (nonzero >> (k >> 3) & 1 && nonzero >> (k & 7) & 1)
            c->used |= 1ULL << k;
}

/* The low-frequency mode's basis: the n-point inverse DCT-II, scaled as
 * the 8-point one (T.81 A.3.3) so that a block of DC alone gives what
 * libjpeg's reduced IDCT gives; and the coefficients it keeps (u, v < n). */
static void lowfreq_basis(lfcomp *c, jscan_comp *sc)
{
    int n = c->n;
    memset(c->basis, 0, sizeof c->basis);
    for (int u = 0; u < n; u++)
        for (int i = 0; i < n; i++)
            c->basis[u][i] = (float)((u ? 0.5 : 0.5 / sqrt(2.0)) * cos((2 * i + 1) * u * 3.14159265358979323846 / (2 * n)));
    c->used = 0;
    sc->keep = 0;
    memset(c->slot, -1, sizeof c->slot);
    for (int z = 0; z < 64; z++) {
        int k = jscan_natural[z], u = k & 7, v = k >> 3;
        if (u < n && v < n) {
            c->used |= 1ULL << k;
            sc->keep |= 1ULL << z;
            c->slot[k] = (int8_t)(v * n + u);
        }
    }
}

/* jscan's frame callback: the layout at this scale, and the store. */
static int lf_frame(void *ctx, jscan *s)
{
    lfdec *L = ctx;
    int h[JSCAN_MAX_COMPS], v[JSCAN_MAX_COMPS], n[JSCAN_MAX_COMPS], up[JSCAN_MAX_COMPS];
    for (int i = 0; i < s->nc; i++) {
        h[i] = s->c[i].h;
        v[i] = s->c[i].v;
    }
    if (!layout(L->scale, s->nc, h, v, n, up))
        return JSCAN_FALLBACK;
    L->ow = (s->w * L->scale + 7) / 8;
    L->oh = (s->h * L->scale + 7) / 8;
    for (int i = 0; i < s->nc; i++) {
        lfcomp *c = &L->c[i];
        c->n = n[i];
        c->up = up[i];
        c->cw = (int)(((long)s->w * h[i] * n[i] + 8L * s->hmax - 1) / (8L * s->hmax));
        c->sw = s->c[i].pw * n[i];
        c->rows_by = -1;
        size_t blocks = (size_t)s->c[i].pw * (size_t)s->c[i].ph;
        if (n[i] < 8 && L->mode == JPEGLF_LOWFREQ) {
            lowfreq_basis(c, &s->c[i]);
            c->lc = calloc(blocks * (size_t)(n[i] * n[i]), sizeof *c->lc);
        } else if (n[i] < 8) {
            make_basis(c);
            c->acc = calloc(blocks * (size_t)(n[i] * n[i]), sizeof *c->acc);
        } else {
            make_basis(c);
            c->coef = calloc(blocks * 64, sizeof *c->coef);
        }
        c->rows = malloc((size_t)c->sw * (size_t)n[i]);
        c->wide = malloc((size_t)c->cw * 2 + 2);
        if ((!c->acc && !c->coef && !c->lc) || !c->rows || !c->wide)
            return td_fail(s->err, TD_ENOMEM, "out of memory for %zu JPEG blocks", blocks);
    }
    return TD_OK;
}

/* The samples' weights of each coefficient, times its quantisation step:
 * made at the first change, when the component's table is latched. */
static void make_weights(lfdec *L, int ci)
{
    lfcomp *c = &L->c[ci];
    int n = c->n;
    for (int k = 0; k < 64; k++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                c->w[k][y * n + x] = (float)L->s.c[ci].q[k] * c->basis[k >> 3][y] * c->basis[k & 7][x];
    c->w_ready = true;
}

/* Adds the changes of block blk's coefficients to its samples. */
static void add_samples(lfdec *L, int ci, size_t blk, const int *delta, uint64_t changed)
{
    lfcomp *c = &L->c[ci];
    if (!c->w_ready)
        make_weights(L, ci);
    changed &= c->used;
    if (c->n == 2) {
        float *a = c->acc + blk * 4, s[4] = {a[0], a[1], a[2], a[3]};
        for (; changed; changed &= changed - 1) {
            int k = __builtin_ctzll(changed);
            float d = (float)delta[k];
            for (int i = 0; i < 4; i++)
                s[i] += d * c->w[k][i];
        }
        memcpy(a, s, sizeof s);
        return;
    }
    float *a = c->acc + blk * 16, s[16];
    memcpy(s, a, sizeof s);
    for (; changed; changed &= changed - 1) {
        int k = __builtin_ctzll(changed);
        float d = (float)delta[k];
        for (int i = 0; i < 16; i++)
            s[i] += d * c->w[k][i];
    }
    memcpy(a, s, sizeof s);
}

/* jscan's store: changes of a block's coefficients (natural order). */
static void lf_add(void *ctx, int ci, size_t blk, const int *delta, uint64_t changed)
{
    lfdec *L = ctx;
    lfcomp *c = &L->c[ci];
    if (c->lc) {
        int16_t *p = c->lc + blk * (size_t)(c->n * c->n);
        for (changed &= c->used; changed; changed &= changed - 1) {
            int k = __builtin_ctzll(changed);
            p[c->slot[k]] = (int16_t)(p[c->slot[k]] + delta[k]);
        }
        return;
    }
    if (!c->coef) {
        add_samples(L, ci, blk, delta, changed);
        return;
    }
    int16_t *p = c->coef + blk * 64;
    for (; changed; changed &= changed - 1) {
        int k = __builtin_ctzll(changed);
        p[k] = (int16_t)(p[k] + delta[k]); /* libjpeg's JCOEF wraps alike */
    }
}

static void lf_warn(void *ctx, const char *msg)
{
    lfdec *L = ctx;
    if (L->sink->warning)
        L->sink->warning(L->sink->ctx, msg);
}

static uint8_t sample(float v)
{
    v += 128.5f;
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
}

/* The full 8x8 IDCT of one block, separably, skipping zero rows. */
static void idct8(const lfcomp *c, const int16_t *coef, const uint16_t *q, float *out)
{
    float tmp[64];
    bool row[8];
    for (int v = 0; v < 8; v++) {
        row[v] = false;
        for (int u = 0; u < 8; u++)
            row[v] |= coef[v * 8 + u] != 0;
        if (!row[v])
            continue;
        for (int x = 0; x < 8; x++) {
            float t = 0;
            for (int u = 0; u < 8; u++)
                t += (float)coef[v * 8 + u] * (float)q[v * 8 + u] * c->basis[u][x];
            tmp[v * 8 + x] = t;
        }
    }
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            float t = 0;
            for (int v = 0; v < 8; v++)
                if (row[v])
                    t += c->basis[v][y] * tmp[v * 8 + x];
            out[y * 8 + x] = t;
        }
}

/* The low-frequency mode's samples of one block: its kept coefficients,
 * those whose low bits no scan read taken at the middle of their interval
 * (DC: floor of a shift; AC: magnitude, toward zero), through the weights
 * c->w (lowfreq_weights). */
static void idct_low(const lfcomp *c, const int16_t *coef, const float *half, float *out)
{
    int nn = c->n * c->n;
    for (int i = 0; i < nn; i++)
        out[i] = 0;
    for (int j = 0; j < nn; j++) {
        float v = coef[j];
        if (j == 0)
            v += half[0];
        else if (coef[j])
            v += coef[j] > 0 ? half[j] : -half[j];
        else
            continue;
        for (int i = 0; i < nn; i++)
            out[i] += v * c->w[j][i];
    }
}

/* The low-frequency mode's weights, by slot, dequantised, and the midpoints
 * of what is missing of each kept coefficient. */
static void lowfreq_weights(lfdec *L, int ci, float *half)
{
    lfcomp *c = &L->c[ci];
    const jscan_comp *sc = &L->s.c[ci];
    int n = c->n;
    for (int z = 0; z < 64; z++) {
        int k = jscan_natural[z], j = c->slot[k];
        if (j < 0)
            continue;
        int p = z ? sc->prec[z] : sc->dc_al;
        half[j] = p > 0 ? (float)((1 << p) - 1) / 2 : 0;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                c->w[j][y * n + x] = (float)sc->q[k] * c->basis[k >> 3][y] * c->basis[k & 7][x];
    }
    c->w_ready = true;
}

/* The samples of block row by of component ci into c->rows. */
static void fill_rows(lfdec *L, int ci, int by)
{
    lfcomp *c = &L->c[ci];
    const jscan_comp *sc = &L->s.c[ci];
    int n = c->n;
    float out[64], half[16];
    if (c->lc)
        lowfreq_weights(L, ci, half);
    for (int bx = 0; bx < sc->pw; bx++) {
        size_t blk = (size_t)by * (size_t)sc->pw + (size_t)bx;
        const float *src = out;
        if (c->lc)
            idct_low(c, c->lc + blk * (size_t)(n * n), half, out);
        else if (c->coef)
            idct8(c, c->coef + blk * 64, sc->q, out);
        else
            src = c->acc + blk * (size_t)(n * n);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                c->rows[(size_t)y * (size_t)c->sw + (size_t)(bx * n + x)] = sample(src[y * n + x]);
    }
    c->rows_by = by;
}

/* libjpeg's "fancy" h2v1 upsampling: each output sample 3/4 of its own
 * input sample and 1/4 of the nearer neighbour (plain doubling when a row
 * has 2 samples or fewer). */
static void upsample_h2(const uint8_t *in, int cw, uint8_t *out)
{
    for (int i = 0; i < cw; i++) {
        int l = in[i > 0 ? i - 1 : 0], r = in[i + 1 < cw ? i + 1 : i], c3 = 3 * in[i];
        out[2 * i] = cw > 2 ? (uint8_t)((c3 + l + 1) >> 2) : in[i];
        out[2 * i + 1] = cw > 2 ? (uint8_t)((c3 + r + 2) >> 2) : in[i];
    }
}

/* Row y of component ci, at output resolution. */
static const uint8_t *comp_row(lfdec *L, int ci, int y)
{
    lfcomp *c = &L->c[ci];
    if (y / c->n != c->rows_by)
        fill_rows(L, ci, y / c->n);
    const uint8_t *r = c->rows + (size_t)(y % c->n) * (size_t)c->sw;
    if (c->up == 1)
        return r;
    upsample_h2(r, c->cw, c->wide);
    return c->wide;
}

/* libjpeg's YCbCr to RGB (jdcolor.c): JFIF's equations in 16-bit fixed
 * point, on 8-bit samples. */
static void color_tables(lfdec *L)
{
    enum { ONE_HALF = 1 << 15 };
    const long fr = lround(1.40200 * 65536), fb = lround(1.77200 * 65536);
    const long gr = lround(0.71414 * 65536), gb = lround(0.34414 * 65536);
    for (int i = 0; i < 256; i++) {
        long x = i - 128;
        L->rcr[i] = (int)((fr * x + ONE_HALF) >> 16);
        L->bcb[i] = (int)((fb * x + ONE_HALF) >> 16);
        L->gcr[i] = (int)(-gr * x);
        L->gcb[i] = (int)(-gb * x + ONE_HALF);
    }
}

static uint8_t clamp255(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static td_status emit_rows(lfdec *L)
{
    int nc = L->s.nc;
    uint8_t *row = malloc((size_t)L->ow * (size_t)nc);
    if (!row)
        return td_fail(L->s.err, TD_ENOMEM, "out of memory");
    color_tables(L);
    for (int y = 0; y < L->oh; y++) {
        if (nc == 1) {
            memcpy(row, comp_row(L, 0, y), (size_t)L->ow);
        } else {
            const uint8_t *yy = comp_row(L, 0, y), *cb = comp_row(L, 1, y), *cr = comp_row(L, 2, y);
            for (int x = 0; x < L->ow; x++) {
                int Y = yy[x];
                row[3 * x] = clamp255(Y + L->rcr[cr[x]]);
                row[3 * x + 1] = clamp255(Y + ((L->gcb[cb[x]] + L->gcr[cr[x]]) >> 16));
                row[3 * x + 2] = clamp255(Y + L->bcb[cb[x]]);
            }
        }
        if (!L->sink->row(L->sink->ctx, y, row))
            break;
    }
    free(row);
    return TD_OK;
}

td_status jpeglf_decode(FILE *f, const codec_sink *sink, jpeglf_mode mode, int scale, int max_scans,
                        failon_level fail_on, cancel_token *tok, bool *fallback,
                        char err[TD_ERRLEN])
{
    *fallback = false;
    if (scale != 2 && scale != 4) {
        *fallback = true;
        return TD_OK;
    }
    lfdec *L = calloc(1, sizeof *L);
    if (!L)
        return td_fail(err, TD_ENOMEM, "out of memory");
    L->scale = scale;
    L->mode = mode;
    L->sink = sink;
    L->s = (jscan){.f = f, .max_scans = max_scans, .want_ac = true, .fail_on = fail_on,
                   .tok = tok, .err = err, .frame = lf_frame, .add = lf_add, .warn = lf_warn, .ctx = L};
    int st = jscan_run(&L->s);
    if (st == JSCAN_FALLBACK) {
        *fallback = true;
        st = TD_OK;
    } else if (st == JSCAN_DONE) {
        st = emit_rows(L);
    }
    for (int i = 0; i < JSCAN_MAX_COMPS; i++) {
        free(L->c[i].acc);
        free(L->c[i].lc);
        free(L->c[i].coef);
        free(L->c[i].rows);
        free(L->c[i].wide);
    }
    jscan_free(&L->s);
    free(L);
    return (td_status)st;
}
