/* tests/lanczos_ref.h: an independent Lanczos3 resize for the resampler's
 * tests, written from the textbook formula: a direct 2-D convolution in
 * double, slow and obviously correct. Include after cmocka.h, math.h and
 * thumbd/image.h. */
#ifndef THUMBD_TEST_LANCZOS_REF_H
#define THUMBD_TEST_LANCZOS_REF_H

/* Lanczos3 from its definition, in double. */
static double lanczos3(double x)
{
    const double pi = 3.14159265358979323846;
    if (fabs(x) < 1e-12)
        return 1.0;
    if (fabs(x) >= 3.0)
        return 0.0;
    return 3.0 * sin(pi * x) * sin(pi * x / 3.0) / (pi * pi * x * x);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Output pixel (ox, oy) of a Lanczos3 resize, straight from the textbook:
 * its centre mapped into the input, every input pixel within the kernel's
 * reach weighted by L(dx * sx) L(dy * sy), where s is the ratio when an
 * axis shrinks (the kernel stretched by the reduction) and 1 when it
 * grows; pixels past an edge are the edge pixel; weights normalised; colour
 * weighted by alpha. No tables, no separation, no float. */
static void lanczos_pixel(const image_f *img, int out_w, int out_h, int ox, int oy, double *v)
{
    double rx = (double)out_w / img->w, ry = (double)out_h / img->h;
    double sx = rx < 1 ? rx : 1, sy = ry < 1 ? ry : 1;
    double cx = (ox + 0.5) / rx, cy = (oy + 0.5) / ry; /* in input pixels */
    double acc[4] = {0, 0, 0, 0}, total = 0;
    int c = img->c;
    for (int iy = (int)floor(cy - 3 / sy) - 1; iy <= (int)ceil(cy + 3 / sy) + 1; iy++) {
        double wy = lanczos3((iy + 0.5 - cy) * sy);
        for (int ix = (int)floor(cx - 3 / sx) - 1; ix <= (int)ceil(cx + 3 / sx) + 1; ix++) {
            double wgt = wy * lanczos3((ix + 0.5 - cx) * sx);
            if (wgt == 0)
                continue;
            const float *p = img->px + ((size_t)clampi(iy, 0, img->h - 1) * (size_t)img->w +
                                        (size_t)clampi(ix, 0, img->w - 1)) * (size_t)c;
            double a = img->alpha >= 0 ? p[img->alpha] : 1;
            for (int ch = 0; ch < c; ch++)
                acc[ch] += wgt * (ch == img->alpha ? p[ch] : p[ch] * a);
            total += wgt;
        }
    }
    double alpha = img->alpha >= 0 ? acc[img->alpha] / total : 1;
    for (int ch = 0; ch < c; ch++) {
        v[ch] = acc[ch] / total;
        if (ch != img->alpha && img->alpha >= 0)
            v[ch] = alpha > 0 ? v[ch] / alpha : 0;
    }
}

/* The whole image by lanczos_pixel, rounded and clamped to 0..255. */
static uint8_t *lanczos_reference(const image_f *img, int out_w, int out_h)
{
    uint8_t *px = malloc((size_t)out_w * (size_t)out_h * (size_t)img->c);
    assert_non_null(px);
    for (int oy = 0; oy < out_h; oy++)
        for (int ox = 0; ox < out_w; ox++) {
            double v[4];
            lanczos_pixel(img, out_w, out_h, ox, oy, v);
            for (int ch = 0; ch < img->c; ch++) {
                double x = v[ch] < 0 ? 0 : v[ch] > 255 ? 255 : v[ch];
                px[((size_t)oy * (size_t)out_w + (size_t)ox) * (size_t)img->c + (size_t)ch] =
                    (uint8_t)lrint(x);
            }
        }
    return px;
}

#endif
