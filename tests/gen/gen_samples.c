/* thumbd_gen --samples: a few pleasant demo images. */
#include "gen_util.h"

/* ------------------------------------------------------------------------ */
/* --samples: a few pleasant demo images                                     */

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double smooth(double e0, double e1, double v)
{
    double t = clamp01((v - e0) / (e1 - e0));
    return t * t * (3 - 2 * t);
}

static void mix(double *c, const double *d, double t)
{
    for (int i = 0; i < 3; i++)
        c[i] = c[i] + (d[i] - c[i]) * t;
}

static uint16_t to8(double v)
{
    return (uint16_t)lround(clamp01(v) * 255.0);
}

/* A sunset over the sea behind hills. */
static int sample_sunset(gen *g)
{
    const int W = 640, H = 400;
    img im;
    if (img_new(&im, W, H, 3) != 0)
        return -1;
    const double sx = 0.66 * W, sy = 0.56 * H, sr = 46, horizon = 0.68 * H;
    static const double top[3] = {0.16, 0.10, 0.36}, low[3] = {0.98, 0.55, 0.25},
                        sun[3] = {1.0, 0.90, 0.55}, hill[3] = {0.20, 0.10, 0.24},
                        sea0[3] = {0.10, 0.12, 0.30}, sea1[3] = {0.04, 0.05, 0.16},
                        glint[3] = {1.0, 0.70, 0.35};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double c[3];
            if (y < horizon) {
                double t = y / horizon;
                memcpy(c, top, sizeof c);
                mix(c, low, t * t);
                double d = hypot(x - sx, y - sy);
                mix(c, glint, 0.55 * exp(-(d - sr) * (d - sr) / 4000.0) * (d > sr));
                mix(c, sun, 1.0 - smooth(sr - 1.5, sr + 1.5, d));
                double ridge = 0.58 * H + 18 * sin(x * 0.011) + 9 * sin(x * 0.037 + 1.3) +
                               4 * sin(x * 0.11);
                mix(c, hill, smooth(ridge - 1.0, ridge + 1.0, y));
            } else {
                double t = (y - horizon) / (H - horizon);
                memcpy(c, sea0, sizeof c);
                mix(c, sea1, t);
                double spread = 30 + 90 * t;
                double band = ((int)((y - horizon) / (3 + 5 * t)) % 2) ? 1.0 : 0.35;
                mix(c, glint, 0.8 * band * exp(-(x - sx) * (x - sx) / (2 * spread * spread)));
            }
            uint16_t *p = img_px(&im, x, y);
            for (int i = 0; i < 3; i++)
                p[i] = to8(c[i]);
        }
    char path[PATH_MAX];
    int rc = gen_path(g, "photos/sunset.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_jpeg_img(path, &im, JCS_RGB, JCS_UNKNOWN, 85, -1, -1, NULL, 0, NULL, 0);
    img_free(&im);
    return rc;
}

/* Coverage (0..1) of a pixel by a shape, by 4x4 supersampling. */
typedef bool (*shape_fn)(double x, double y, const double *a);

static double coverage(shape_fn f, const double *a, int x, int y)
{
    int n = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++)
            n += f(x + (i + 0.5) / 4, y + (j + 0.5) / 4, a);
    return n / 16.0;
}

static bool in_circle(double x, double y, const double *a)
{
    return (x - a[0]) * (x - a[0]) + (y - a[1]) * (y - a[1]) <= a[2] * a[2];
}

static bool in_rect(double x, double y, const double *a)
{
    /* centre a0,a1, half sizes a2,a3, rotation a4 */
    double c = cos(a[4]), s = sin(a[4]);
    double u = (x - a[0]) * c + (y - a[1]) * s, v = -(x - a[0]) * s + (y - a[1]) * c;
    return fabs(u) <= a[2] && fabs(v) <= a[3];
}

static bool in_triangle(double x, double y, const double *a)
{
    double d1 = (x - a[2]) * (a[1] - a[3]) - (a[0] - a[2]) * (y - a[3]);
    double d2 = (x - a[4]) * (a[3] - a[5]) - (a[2] - a[4]) * (y - a[5]);
    double d3 = (x - a[0]) * (a[5] - a[1]) - (a[4] - a[0]) * (y - a[1]);
    bool neg = d1 < 0 || d2 < 0 || d3 < 0, pos = d1 > 0 || d2 > 0 || d3 > 0;
    return !(neg && pos);
}

/* Flat shapes on a paper background (an opaque PNG). */
static int sample_shapes(gen *g)
{
    const int W = 360, H = 240;
    img im;
    if (img_new(&im, W, H, 3) != 0)
        return -1;
    struct {
        shape_fn f;
        double a[6];
        double c[3];
    } sh[] = {
        {in_rect, {250, 125, 70, 45, 0.35}, {0.16, 0.42, 0.72}},
        {in_circle, {120, 110, 70}, {0.90, 0.33, 0.27}},
        {in_triangle, {150, 215, 230, 60, 310, 215}, {0.98, 0.78, 0.20}},
        {in_circle, {300, 50, 28}, {0.22, 0.65, 0.42}},
    };
    static const double paper[3] = {0.96, 0.94, 0.89};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double c[3];
            memcpy(c, paper, sizeof c);
            for (size_t k = 0; k < sizeof sh / sizeof sh[0]; k++) {
                double t = coverage(sh[k].f, sh[k].a, x, y);
                if (t > 0)
                    mix(c, sh[k].c, 0.92 * t);
            }
            uint16_t *p = img_px(&im, x, y);
            for (int i = 0; i < 3; i++)
                p[i] = to8(c[i]);
        }
    char path[PATH_MAX];
    int rc = gen_path(g, "graphics/shapes.png", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_RGB, 8, false);
    img_free(&im);
    return rc;
}

/* Soft translucent bubbles on a transparent background (RGBA PNG). */
static int sample_bubbles(gen *g)
{
    const int W = 240, H = 240;
    img im;
    if (img_new(&im, W, H, 4) != 0)
        return -1;
    static const struct {
        double x, y, r, c[3];
    } b[] = {
        {95, 110, 70, {0.30, 0.60, 0.95}},
        {165, 150, 55, {0.95, 0.40, 0.60}},
        {150, 60, 35, {0.40, 0.85, 0.55}},
    };
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            /* "over" compositing in premultiplied form */
            double pc[3] = {0, 0, 0}, pa = 0;
            for (size_t k = 0; k < sizeof b / sizeof b[0]; k++) {
                double d = hypot(x + 0.5 - b[k].x, y + 0.5 - b[k].y) / b[k].r;
                if (d >= 1.0)
                    continue;
                double a = (0.35 + 0.55 * d * d) * (1.0 - smooth(0.96, 1.0, d));
                double hl = exp(-((x - b[k].x + 0.35 * b[k].r) * (x - b[k].x + 0.35 * b[k].r) +
                                  (y - b[k].y + 0.4 * b[k].r) * (y - b[k].y + 0.4 * b[k].r)) /
                                (0.02 * b[k].r * b[k].r));
                double c[3];
                memcpy(c, b[k].c, sizeof c);
                static const double wh[3] = {1, 1, 1};
                mix(c, wh, hl);
                a = a + (1 - a) * 0.8 * hl;
                for (int i = 0; i < 3; i++)
                    pc[i] = c[i] * a + pc[i] * (1 - a);
                pa = a + pa * (1 - a);
            }
            uint16_t *p = img_px(&im, x, y);
            for (int i = 0; i < 3; i++)
                p[i] = pa > 0 ? to8(pc[i] / pa) : 0;
            p[3] = to8(pa);
        }
    char path[PATH_MAX];
    int rc = gen_path(g, "graphics/bubbles.png", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_RGB_ALPHA, 8, false);
    img_free(&im);
    return rc;
}

static bool in_arrow(double x, double y, const double *a)
{
    /* upright arrow: head triangle + shaft, centre a0, a1, size a2 */
    double s = a[2], u = x - a[0], v = y - a[1];
    double head[6] = {a[0], a[1] - s, a[0] - 0.6 * s, a[1] - 0.1 * s, a[0] + 0.6 * s,
                      a[1] - 0.1 * s};
    return in_triangle(x, y, head) || (fabs(u) <= 0.22 * s && v >= -0.11 * s && v <= s);
}

/* Sky, grass and an arrow pointing up, stored rotated with EXIF
 * orientation 6 (shows upright in a viewer that honours it). */
static int sample_arrow(gen *g)
{
    const int W = 480, H = 320;
    img up;
    if (img_new(&up, W, H, 3) != 0)
        return -1;
    static const double sky0[3] = {0.25, 0.50, 0.85}, sky1[3] = {0.75, 0.88, 0.98},
                        grass0[3] = {0.30, 0.62, 0.25}, grass1[3] = {0.15, 0.40, 0.14},
                        arrow[3] = {0.98, 0.96, 0.90};
    const double a[3] = {W / 2.0, H / 2.0 - 10, 110};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double c[3];
            if (y < 0.72 * H) {
                memcpy(c, sky0, sizeof c);
                mix(c, sky1, y / (0.72 * H));
            } else {
                memcpy(c, grass0, sizeof c);
                mix(c, grass1, (y - 0.72 * H) / (0.28 * H));
            }
            mix(c, arrow, coverage(in_arrow, a, x, y));
            uint16_t *p = img_px(&up, x, y);
            for (int i = 0; i < 3; i++)
                p[i] = to8(c[i]);
        }
    img st;
    int rc = img_for_orientation(&up, 6, &st);
    img_free(&up);
    if (rc != 0)
        return -1;
    uint8_t app1[6 + EXIF_MAX];
    memcpy(app1, "Exif\0\0", 6);
    size_t tl = build_tiff(app1 + 6, 6);
    jmarker m = {JPEG_APP0 + 1, app1, (unsigned)(6 + tl)};
    char path[PATH_MAX];
    rc = gen_path(g, "photos/arrow_orient6.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_jpeg_img(path, &st, JCS_RGB, JCS_UNKNOWN, 85, 0, -1, &m, 1, NULL, 0);
    img_free(&st);
    return rc;
}

/* A CMYK print-style poster, Adobe (inverted) convention. */
static int sample_cmyk(gen *g)
{
    const int W = 400, H = 300;
    img im;
    if (img_new(&im, W, H, 4) != 0)
        return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double c = (double)x / W, m = (double)y / H, yy = 0.1, k = 0;
            double d = hypot(x - 0.5 * W, y - 0.5 * H);
            yy += 0.85 * (1.0 - smooth(88, 92, d));
            if (x < 14 || y < 14 || x >= W - 14 || y >= H - 14)
                k = 0.85;
            uint16_t *p = img_px(&im, x, y);
            p[0] = (uint16_t)(255 - to8(c * 0.8));
            p[1] = (uint16_t)(255 - to8(m * 0.8));
            p[2] = (uint16_t)(255 - to8(yy));
            p[3] = (uint16_t)(255 - to8(k));
        }
    char path[PATH_MAX];
    int rc = gen_path(g, "print/cmyk_poster.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_jpeg_img(path, &im, JCS_CMYK, JCS_UNKNOWN, 85, 0, 1, NULL, 0, NULL, 0);
    img_free(&im);
    return rc;
}

int gen_samples(gen *g)
{
    if (sample_sunset(g) || sample_shapes(g) || sample_bubbles(g) || sample_arrow(g) ||
        sample_cmyk(g))
        return -1;
    g->files += 5;
    return 0;
}
