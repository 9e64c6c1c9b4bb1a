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
    s->wsum = calloc((size_t)s->out_w, sizeof *s->wsum);
    if (!s->acc || !s->wsum || !image_alloc(&s->out, s->out_w, s->out_h, c, alpha)) {
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
        float *a = s->acc + (size_t)ox * (size_t)c, *d = dst + (size_t)ox * (size_t)c;
        if (s->alpha < 0) {
            for (int ch = 0; ch < c; ch++)
                d[ch] = a[ch] / n;
        } else {
            float aw = s->wsum[ox];
            for (int ch = 0; ch < c; ch++)
                d[ch] = ch == s->alpha ? a[ch] / n : aw > 0 ? a[ch] / aw : 0.0f;
        }
    }
    memset(s->acc, 0, (size_t)s->out_w * (size_t)c * sizeof *s->acc);
    memset(s->wsum, 0, (size_t)s->out_w * sizeof *s->wsum);
    s->rows_in_band = 0;
}

static void add_row_opaque(shrink *s, const uint8_t *p)
{
    int c = s->c, k = s->k;
    for (int ox = 0; ox < s->out_w; ox++) {
        float *a = s->acc + (size_t)ox * (size_t)c;
        int n = s->x1 - (s->x0 + ox * k);
        if (n > k)
            n = k;
        for (int i = 0; i < n; i++, p += c)
            for (int ch = 0; ch < c; ch++)
                a[ch] += p[ch];
    }
}

/* Colour is summed premultiplied by alpha, so a transparent pixel adds
 * nothing to its box's colour (no dark fringes). */
static void add_row_alpha(shrink *s, const uint8_t *p)
{
    int c = s->c, k = s->k, al = s->alpha;
    for (int ox = 0; ox < s->out_w; ox++) {
        float *a = s->acc + (size_t)ox * (size_t)c;
        int n = s->x1 - (s->x0 + ox * k);
        if (n > k)
            n = k;
        for (int i = 0; i < n; i++, p += c) {
            float w = p[al];
            for (int ch = 0; ch < c; ch++)
                a[ch] += ch == al ? w : p[ch] * w;
            s->wsum[ox] += w;
        }
    }
}

void shrink_row(shrink *s, int y, const uint8_t *row)
{
    if (y < s->y0 || y >= s->y1 || !s->acc)
        return;
    const uint8_t *p = row + (size_t)s->x0 * (size_t)s->c;
    if (s->alpha < 0)
        add_row_opaque(s, p);
    else
        add_row_alpha(s, p);
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
    free(s->wsum);
    image_free(&s->out);
    s->acc = s->wsum = NULL;
}
