#include "thumbd/shrink.h"

#include <stdlib.h>
#include <string.h>

td_status shrink_begin(shrink *s, int in_w, int c, int alpha, int x, int y, int w, int h, int k,
                       char err[TD_ERRLEN])
{
    memset(s, 0, sizeof *s);
    if (in_w < 1 || c < 1 || c > 4 || k < 1 || w < 1 || h < 1 || x < 0 || y < 0 || x + w > in_w)
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
    s->out_w = (w + k - 1) / k;
    s->out_h = (h + k - 1) / k;
    s->acc = calloc((size_t)s->out_w * (size_t)c, sizeof *s->acc);
    if (!s->acc || !image_alloc(&s->out, s->out_w, s->out_h, c, alpha)) {
        shrink_abort(s);
        return td_fail(err, TD_ENOMEM, "out of memory for a %dx%d intermediate image", s->out_w,
                       s->out_h);
    }
    memset(s->out.px, 0, (size_t)s->out_w * (size_t)s->out_h * (size_t)c * sizeof(float));
    return TD_OK;
}

/* Writes the averaged band into output row oy and clears the sums. */
static void flush(shrink *s, int oy)
{
    float *dst = s->out.px + (size_t)oy * (size_t)s->out_w * (size_t)s->c;
    int c = s->c;
    for (int ox = 0; ox < s->out_w; ox++) {
        int bx0 = s->x0 + ox * s->k, bx1 = bx0 + s->k < s->x1 ? bx0 + s->k : s->x1;
        float n = (float)((bx1 - bx0) * s->rows_in_band);
        const uint64_t *a = s->acc + (size_t)ox * (size_t)c;
        float *d = dst + (size_t)ox * (size_t)c;
        if (s->alpha < 0) {
            for (int ch = 0; ch < c; ch++)
                d[ch] = (float)a[ch] / n;
        } else {
            /* Colour sums are alpha-weighted: divide by the alpha sum. */
            float aw = (float)a[s->alpha];
            for (int ch = 0; ch < c; ch++)
                d[ch] = ch == s->alpha ? aw / n : aw > 0 ? (float)a[ch] / aw : 0.0f;
        }
    }
    memset(s->acc, 0, (size_t)s->out_w * (size_t)c * sizeof *s->acc);
    s->rows_in_band = 0;
}

/* Adds one input row to the band's sums. C and ALPHA are constants at each
 * call site, so the compiler unrolls the channel loops. Colour is summed
 * premultiplied by alpha, so a transparent pixel adds nothing to its box's
 * colour (no dark fringes). */
static inline __attribute__((always_inline)) void add_row(shrink *s, const uint8_t *p, int C,
                                                          int ALPHA)
{
    int k = s->k;
    uint64_t *a = s->acc;
    for (int ox = 0; ox < s->out_w; ox++, a += C) {
        int n = s->x1 - (s->x0 + ox * k);
        if (n > k)
            n = k;
        uint32_t sum[4] = {0, 0, 0, 0}; /* one box row: at most k*255*255 */
        for (int i = 0; i < n; i++, p += C) {
            if (ALPHA < 0) {
                for (int ch = 0; ch < C; ch++)
                    sum[ch] += p[ch];
            } else {
                uint32_t w = p[ALPHA];
                for (int ch = 0; ch < C; ch++)
                    sum[ch] += ch == ALPHA ? w : p[ch] * w;
            }
        }
        for (int ch = 0; ch < C; ch++)
            a[ch] += sum[ch];
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

void shrink_end(shrink *s, image_f *out)
{
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
