/* Progressive JPEG DC-only decoder (see jpegdc.h): the store of one DC
 * coefficient per block, and the 1/8-scale image made from it. The scans
 * are parsed by jpegscan.c, which stops at the first AC scan once every
 * component has its DC. */
#include "thumbd/jpegdc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/jpegscan.h"

typedef struct dcdec {
    jscan s;
    int16_t *dc[JSCAN_MAX_COMPS];  /* DC coefficient per block, scaled by 2^al */
} dcdec;

/* jscan's frame callback: one coefficient per block of each component. */
static int dc_frame(void *ctx, jscan *s)
{
    dcdec *d = ctx;
    for (int i = 0; i < s->nc; i++) {
        d->dc[i] = calloc((size_t)s->c[i].pw * (size_t)s->c[i].ph, sizeof *d->dc[i]);
        if (!d->dc[i])
            return td_fail(s->err, TD_ENOMEM, "out of memory for DC coefficients");
    }
    return TD_OK;
}

/* jscan's store: only DC scans reach it. A DC coefficient fits in 16 bits
 * (jpegscan checks a first scan's value; a refinement adds one low bit). */
static void dc_add(void *ctx, int ci, size_t blk, const int *delta, uint64_t changed)
{
    dcdec *d = ctx;
    if (changed & 1)
        d->dc[ci][blk] = (int16_t)(d->dc[ci][blk] + delta[0]);
}

static uint8_t clamp8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* The 1x1 IDCT of libjpeg (jidctred.c), with the midpoint of the missing
 * low bits when the DC refinement scan was not read. */
static double dc_pixel(const dcdec *d, int ci, int x, int y)
{
    const jscan_comp *c = &d->s.c[ci];
    int bx = x * c->h / d->s.hmax, by = y * c->v / d->s.vmax;
    double coef = d->dc[ci][(size_t)by * (size_t)c->pw + (size_t)bx];
    if (c->dc_al > 0)
        coef += ((1 << c->dc_al) - 1) / 2.0;
    return coef * c->q[0] / 8.0 + 128.0;
}

static int emit_rows(dcdec *d, const codec_sink *sink)
{
    int ow = (d->s.w + 7) / 8, oh = (d->s.h + 7) / 8, nc = d->s.nc;
    uint8_t *row = malloc((size_t)ow * (size_t)nc);
    if (!row)
        return td_fail(d->s.err, TD_ENOMEM, "out of memory");
    for (int y = 0; y < oh; y++) {
        uint8_t *p = row;
        for (int x = 0; x < ow; x++, p += nc) {
            double yy = dc_pixel(d, 0, x, y);
            if (nc == 1) {
                p[0] = clamp8(yy);
                continue;
            }
            double cb = dc_pixel(d, 1, x, y) - 128.0, cr = dc_pixel(d, 2, x, y) - 128.0;
            p[0] = clamp8(yy + 1.402 * cr);
            p[1] = clamp8(yy - 0.344136 * cb - 0.714136 * cr);
            p[2] = clamp8(yy + 1.772 * cb);
        }
        if (!sink->row(sink->ctx, y, row))
            break;
    }
    free(row);
    return TD_OK;
}

td_status jpegdc_decode(FILE *f, const codec_sink *sink, int max_scans, cancel_token *tok,
                        bool *fallback, char err[TD_ERRLEN])
{
    *fallback = false;
    dcdec *d = calloc(1, sizeof *d);
    if (!d)
        return td_fail(err, TD_ENOMEM, "out of memory");
    /* Any damage fails here: the caller decides whether libjpeg reads past it. */
    d->s = (jscan){.f = f, .max_scans = max_scans, .fail_on = FAIL_ON_WARNING, .tok = tok,
                   .err = err, .frame = dc_frame, .add = dc_add, .ctx = d};
    int st = jscan_run(&d->s);
    if (st == JSCAN_FALLBACK) {
        *fallback = true;
        st = TD_OK;
    } else if (st == JSCAN_DONE) {
        st = emit_rows(d, sink);
    }
    for (int i = 0; i < JSCAN_MAX_COMPS; i++)
        free(d->dc[i]);
    jscan_free(&d->s);
    free(d);
    return (td_status)st;
}
