#include "thumbd/geometry.h"

#include <math.h>

#include "thumbd/orient.h"

static int clampi(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

void geom_box(int *box_w, int *box_h, fit_mode *fit)
{
    if (*box_w > 0 && *box_h > 0)
        return;
    if (*box_w <= 0)
        *box_w = GEOM_UNBOUNDED;
    if (*box_h <= 0)
        *box_h = GEOM_UNBOUNDED;
    *fit = FIT_INSIDE;
}

void geom_plan_compute(int src_w, int src_h, int orientation, int box_w, int box_h,
                       fit_mode fit, bool enlarge, geom_plan *plan)
{
    geom_box(&box_w, &box_h, &fit);
    bool tr = orient_transposes(orientation);
    int uw = tr ? src_h : src_w, uh = tr ? src_w : src_h; /* upright */
    double sx = (double)box_w / uw, sy = (double)box_h / uh;
    double s = fit == FIT_COVER ? fmax(sx, sy) : fmin(sx, sy);
    if (!enlarge && s > 1.0)
        s = 1.0;
    int out_w = clampi(lround(uw * s), 1, box_w);
    int out_h = clampi(lround(uh * s), 1, box_h);
    /* Upright crop: the centred region that scales to exactly out_w x out_h. */
    int cw = uw, ch = uh;
    if (fit == FIT_COVER) {
        cw = clampi(lround(out_w / s), 1, uw);
        ch = clampi(lround(out_h / s), 1, uh);
    }
    int cx = (uw - cw) / 2, cy = (uh - ch) / 2;
    /* A centred rectangle stays centred under flips; a transpose swaps axes. */
    plan->out_w = out_w;
    plan->out_h = out_h;
    if (tr) {
        plan->crop_x = cy; plan->crop_y = cx; plan->crop_w = ch; plan->crop_h = cw;
        plan->need_w = out_h; plan->need_h = out_w;
    } else {
        plan->crop_x = cx; plan->crop_y = cy; plan->crop_w = cw; plan->crop_h = ch;
        plan->need_w = out_w; plan->need_h = out_h;
    }
}

int geom_jpeg_scale(int crop_w, int crop_h, int need_w, int need_h)
{
    for (int n = 1; n < 8; n++) {
        /* libjpeg rounds scaled dimensions up. */
        long w = ((long)crop_w * n + 7) / 8, h = ((long)crop_h * n + 7) / 8;
        if (4 * w >= GEOM_JPEG_HEADROOM_Q4 * (long)need_w &&
            4 * h >= GEOM_JPEG_HEADROOM_Q4 * (long)need_h)
            return n;
    }
    return 8;
}

/* One axis of geom_decoded_crop at the scale num / den. */
static void decoded_axis(int crop, int len, int w, long num, long den, int *lo, int *hi,
                         double *f, double *fl)
{
    *lo = (int)((long)crop * num / den);
    *hi = (int)(((long)(crop + len) * num + den - 1) / den);
    *hi = *hi > w ? w : *hi;
    *hi = *hi <= *lo ? *lo + 1 : *hi;
    *f = (double)crop * (double)num / (double)den - *lo;
    *fl = (double)len * (double)num / (double)den;
    if (*f + *fl > *hi - *lo) /* the stretched fallback's rounding */
        *fl = *hi - *lo - *f;
}

void geom_decoded_crop(const geom_plan *p, int sw, int sh, int w, int h, geom_decoded *d)
{
    long nx = w, dx = sw, ny = h, dy = sh;
    for (long n = 8; n >= 1; n--)
        if (w == ((long)sw * n + 7) / 8 && h == ((long)sh * n + 7) / 8) {
            nx = ny = n;
            dx = dy = 8;
            break;
        }
    decoded_axis(p->crop_x, p->crop_w, w, nx, dx, &d->x0, &d->x1, &d->fx, &d->fw);
    decoded_axis(p->crop_y, p->crop_h, h, ny, dy, &d->y0, &d->y1, &d->fy, &d->fh);
}

int geom_shrink_factor(int w, int h, int need_w, int need_h)
{
    long kx = 4L * w / (GEOM_SHRINK_HEADROOM_Q4 * (long)need_w);
    long ky = 4L * h / (GEOM_SHRINK_HEADROOM_Q4 * (long)need_h);
    long k = kx < ky ? kx : ky;
    return k < 1 ? 1 : (int)(k > 1 << 14 ? 1 << 14 : k); /* keeps shrink sums in range */
}
