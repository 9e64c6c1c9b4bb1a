/* Quality of the default filter (Lanczos3, src/resize.c): sharpness against
 * a full-resolution Lanczos3 reference (lanczos_ref.h), and aliasing on a
 * zone plate and on 1-px stripes; and of the decode headroom
 * (src/geometry.c) in front of it, through a JPEG's DCT scale and the box
 * shrink. Each measure is printed for every filter; the goals are
 * asserted for the default, the aliasing ones also against Mitchell's
 * (the filter thumbd used before). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "thumbd/geometry.h"
#include "thumbd/image.h"
#include "thumbd/resize.h"
#include "thumbd/shrink.h"
#include "lanczos_ref.h"

static const double PI = 3.14159265358979323846;

static uint8_t *resize_ok(const image_f *img, int out_w, int out_h, resize_filter f)
{
    uint8_t *px = NULL;
    char err[TD_ERRLEN] = "";
    if (resize_to_u8(img, out_w, out_h, f, &px, err) != TD_OK)
        fail_msg("resize %dx%d -> %dx%d: %s", img->w, img->h, out_w, out_h, err);
    return px;
}

/* Deterministic pseudo-random numbers (xorshift32) in 0..1. */
static uint32_t g_rng = 12345;
static double rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (double)(g_rng % 1000000u) / 1000000.0;
}

/* A grey, photo-like image: soft shading, hard-edged shapes and texture of
 * every scale up to a third of the sampling rate, clamped to 0..255. */
static image_f photo_like(int w, int h)
{
    image_f img;
    assert_true(image_alloc(&img, w, h, 1, -1));
    enum { WAVES = 40, BOXES = 12 };
    double fx[WAVES], fy[WAVES], ph[WAVES], amp[WAVES];
    for (int k = 0; k < WAVES; k++) {
        double f = 0.005 * pow(60.0, rnd()), th = rnd() * PI; /* 0.005..0.3 cycles/px */
        fx[k] = f * cos(th);
        fy[k] = f * sin(th);
        ph[k] = rnd() * 2 * PI;
        amp[k] = 2.5 / (f * 40 + 0.2);
    }
    int bx[BOXES][4];
    double bv[BOXES];
    for (int b = 0; b < BOXES; b++) {
        bx[b][0] = (int)(rnd() * w);
        bx[b][1] = (int)(rnd() * h);
        bx[b][2] = bx[b][0] + 5 + (int)(rnd() * w / 3);
        bx[b][3] = bx[b][1] + 5 + (int)(rnd() * h / 3);
        bv[b] = rnd() * 80 - 40;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = 128 + 40 * sin(x * 0.01) * cos(y * 0.013);
            for (int k = 0; k < WAVES; k++)
                v += amp[k] * sin(2 * PI * (fx[k] * x + fy[k] * y) + ph[k]);
            for (int b = 0; b < BOXES; b++)
                if (x >= bx[b][0] && x < bx[b][2] && y >= bx[b][1] && y < bx[b][3])
                    v += bv[b];
            img.px[(size_t)y * (size_t)w + (size_t)x] = (float)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return img;
}

/* What the decoder's shortcut hands the resampler: the image at half size
 * (each pixel the mean of a 2x2 block, as a 1/2 DCT scale roughly makes). */
static image_f half(const image_f *src)
{
    image_f img;
    assert_true(image_alloc(&img, src->w / 2, src->h / 2, 1, -1));
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w; x++) {
            const float *p = src->px + (size_t)(2 * y) * (size_t)src->w + (size_t)(2 * x);
            img.px[(size_t)y * (size_t)img.w + (size_t)x] =
                (p[0] + p[1] + p[src->w] + p[src->w + 1]) / 4;
        }
    return img;
}

/* Sum of the squared 4-neighbour Laplacian over the interior. */
static double laplacian_energy(const uint8_t *px, int w, int h)
{
    double e = 0;
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            const uint8_t *p = px + (size_t)y * (size_t)w + (size_t)x;
            double l = 4.0 * p[0] - p[-1] - p[1] - p[-w] - p[w];
            e += l * l;
        }
    return e;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? 99.0 : 10 * log10(255.0 * 255.0 * (double)n / se);
}

/* The quality goal of issue 17 on a synthetic photo: a 800x600 original,
 * decoded at half size, thumbnailed to 200x150, against a Lanczos3 resize
 * of the original: PSNR at least 45 dB and at least 0.93 of the fine
 * detail (Laplacian energy) kept. */
static void test_sharp_as_reference(void **state)
{
    (void)state;
    image_f full = photo_like(800, 600), dec = half(&full);
    uint8_t *ref = lanczos_reference(&full, 200, 150);
    double ref_e = laplacian_energy(ref, 200, 150);
    double got_psnr = 0, got_detail = 0;
    for (int f = RESIZE_LANCZOS3; f <= RESIZE_BOX; f++) {
        uint8_t *got = resize_ok(&dec, 200, 150, (resize_filter)f);
        double p = psnr(got, ref, 200 * 150), d = laplacian_energy(got, 200, 150) / ref_e;
        print_message("%-8s PSNR %.1f dB, detail kept %.3f\n", resize_filter_name(f), p, d);
        if (f == RESIZE_LANCZOS3) {
            got_psnr = p;
            got_detail = d;
        }
        free(got);
    }
    if (got_psnr < 45.0 || got_detail < 0.93)
        fail_msg("lanczos3: PSNR %.1f dB (goal 45), detail %.3f (goal 0.93)", got_psnr,
                 got_detail);
    free(ref);
    image_free(&dec);
    image_free(&full);
}

/* A grey JPEG of img in memory, quality 92. */
static unsigned char *jpeg_of(const image_f *img, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *buf = NULL;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, len);
    c.image_width = (JDIMENSION)img->w;
    c.image_height = (JDIMENSION)img->h;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 92, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)img->w);
    assert_non_null(row);
    while (c.next_scanline < c.image_height) {
        const float *p = img->px + (size_t)c.next_scanline * (size_t)img->w;
        for (int x = 0; x < img->w; x++)
            row[x] = (uint8_t)lrintf(p[x]);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return buf;
}

/* The JPEG decoded whole, as floats. */
static image_f decode_full(const unsigned char *jpg, unsigned long len)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, jpg, len);
    jpeg_read_header(&d, TRUE);
    jpeg_start_decompress(&d);
    image_f img;
    assert_true(image_alloc(&img, (int)d.output_width, (int)d.output_height, 1, -1));
    uint8_t *row = malloc((size_t)img.w);
    assert_non_null(row);
    while (d.output_scanline < d.output_height) {
        size_t y = d.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&d, &r, 1);
        for (int x = 0; x < img.w; x++)
            img.px[y * (size_t)img.w + (size_t)x] = row[x];
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(row);
    return img;
}

/* Lanczos3 weights of one axis, shrinking n input pixels to m: for output
 * o, wt[o * span + j] weighs input first[o] + j (clamped to the edge), as
 * lanczos_pixel weighs them; normalised. */
static double *axis_weights(int n, int m, int *span, int *first)
{
    double r = (double)m / n, s = r < 1 ? r : 1;
    *span = (int)ceil(6 / s) + 4;
    double *wt = calloc((size_t)m * (size_t)*span, sizeof *wt);
    assert_non_null(wt);
    for (int o = 0; o < m; o++) {
        double c = (o + 0.5) / r, total = 0;
        first[o] = (int)floor(c - 3 / s) - 1;
        for (int j = 0; j < *span; j++)
            total += wt[(size_t)o * (size_t)*span + (size_t)j] =
                lanczos3((first[o] + j + 0.5 - c) * s);
        for (int j = 0; j < *span; j++)
            wt[(size_t)o * (size_t)*span + (size_t)j] /= total;
    }
    return wt;
}

/* lanczos_reference of a grey image, computed per axis: the 2-D weights
 * are products, so the result is the same, without the 2-D cost on large
 * reductions. */
static uint8_t *lanczos_reference_sep(const image_f *img, int out_w, int out_h)
{
    int sx, sy, *fx = malloc((size_t)out_w * sizeof(int));
    int *fy = malloc((size_t)out_h * sizeof(int));
    assert_true(fx && fy);
    double *wx = axis_weights(img->w, out_w, &sx, fx), *wy = axis_weights(img->h, out_h, &sy, fy);
    double *tmp = malloc((size_t)out_w * (size_t)img->h * sizeof *tmp);
    uint8_t *px = malloc((size_t)out_w * (size_t)out_h);
    assert_true(tmp && px);
    for (int y = 0; y < img->h; y++)
        for (int o = 0; o < out_w; o++) {
            double v = 0;
            for (int j = 0; j < sx; j++)
                v += wx[(size_t)o * (size_t)sx + (size_t)j] *
                     img->px[(size_t)y * (size_t)img->w + (size_t)clampi(fx[o] + j, 0, img->w - 1)];
            tmp[(size_t)y * (size_t)out_w + (size_t)o] = v;
        }
    for (int o = 0; o < out_h; o++)
        for (int x = 0; x < out_w; x++) {
            double v = 0;
            for (int j = 0; j < sy; j++)
                v += wy[(size_t)o * (size_t)sy + (size_t)j] *
                     tmp[(size_t)clampi(fy[o] + j, 0, img->h - 1) * (size_t)out_w + (size_t)x];
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            px[(size_t)o * (size_t)out_w + (size_t)x] = (uint8_t)lrint(v);
        }
    free(fx);
    free(fy);
    free(wx);
    free(wy);
    free(tmp);
    return px;
}

/* The decode thumbd's pipeline makes (src/pipeline.c): the JPEG at the DCT
 * scale n/8 of geom_jpeg_scale, the crop mapped to the decoded pixels (a
 * decoded pixel stands for 8/n stored ones) and box-shrunk by
 * geom_shrink_factor, the exact crop its window, then Lanczos3 to need_w x
 * need_h. n = 8 with the box shrink alone is the PNG path. */
static uint8_t *thumb_of(const unsigned char *jpg, unsigned long len, const geom_plan *p,
                         int n)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, jpg, len);
    jpeg_read_header(&d, TRUE);
    d.scale_num = (unsigned)n;
    d.scale_denom = 8;
    jpeg_start_decompress(&d);
    int w = (int)d.output_width;
    geom_decoded dc;
    geom_decoded_crop(p, (int)d.image_width, (int)d.image_height, w, (int)d.output_height, &dc);
    int k = geom_shrink_factor(dc.x1 - dc.x0, dc.y1 - dc.y0, p->need_w, p->need_h);
    shrink sh_;
    char err[TD_ERRLEN] = "";
    if (shrink_begin(&sh_, w, 1, -1, dc.x0, dc.y0, dc.x1 - dc.x0, dc.y1 - dc.y0, k, err) != TD_OK)
        fail_msg("shrink_begin: %s", err);
    shrink_window(&sh_, dc.fx, dc.fy, dc.fw, dc.fh);
    uint8_t *row = malloc((size_t)w);
    assert_non_null(row);
    while (d.output_scanline < d.output_height) {
        int y = (int)d.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&d, &r, 1);
        shrink_row(&sh_, y, row);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(row);
    image_f small;
    shrink_end(&sh_, &small);
    uint8_t *out = resize_ok(&small, p->need_w, p->need_h, RESIZE_LANCZOS3);
    image_free(&small);
    return out;
}

/* The region [x, x+w) x [y, y+h) of src, copied into an image of its own. */
static image_f crop_of(const image_f *src, int x, int y, int w, int h)
{
    image_f img;
    assert_true(image_alloc(&img, w, h, 1, -1));
    for (int r = 0; r < h; r++)
        memcpy(img.px + (size_t)r * (size_t)w,
               src->px + (size_t)(y + r) * (size_t)src->w + (size_t)x, (size_t)w * sizeof(float));
    return img;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The headroom rule (src/geometry.c) against the quality goal of issue 17,
 * as bench/quality.sh measures it on the photo corpus: a 1600x1200
 * synthetic photo stored as a JPEG, thumbnailed through the DCT scale and
 * the box shrink the rule picks into boxes from 90 to 350 px, inside and
 * cover (whose crops decode at other scales), and through the box shrink
 * alone (the PNG path), each against a Lanczos3 of the full-resolution
 * decode. Every case at least 50 dB: a box shrink whose last box is
 * partial (1600 px by 7 into 110: 228.57 boxes) is exact only if the
 * resize maps the thumbnail onto the crop's extent, not onto the
 * ceil(1600 / 7) = 229 boxes' grid, which stretches it by up to 3/7 of a
 * box (42 dB; after the mapping 54.5 dB, the worst case 54.3 dB).
 * Medians over the boxes: PSNR at least 45 dB; detail at least
 * 0.93 through the DCT scale (2x: 0.955; 1.5x: 0.924) and 0.91 through the
 * box shrink alone, whose detail the synthetic texture (up to 0.3
 * cycles/px everywhere) lowers more than the corpus does (2x: 0.929, PNGs
 * of the corpus 0.927; 1.5x: 0.89). */
static void test_headroom_keeps_goal(void **state)
{
    (void)state;
    enum { W = 1600, H = 1200, NBOX = 8 };
    static const int boxes[NBOX] = {90, 110, 130, 150, 190, 230, 290, 350};
    image_f orig = photo_like(W, H);
    unsigned long len = 0;
    unsigned char *jpg = jpeg_of(&orig, &len);
    image_free(&orig);
    image_f full = decode_full(jpg, len);
    double ps[2][2 * NBOX], ds[2][2 * NBOX];
    for (int i = 0; i < 2 * NBOX; i++) {
        fit_mode fit = i < NBOX ? FIT_INSIDE : FIT_COVER;
        geom_plan p;
        geom_plan_compute(W, H, 1, boxes[i % NBOX], boxes[i % NBOX], fit, false, &p);
        image_f region = crop_of(&full, p.crop_x, p.crop_y, p.crop_w, p.crop_h);
        uint8_t *ref = lanczos_reference_sep(&region, p.need_w, p.need_h);
        double ref_e = laplacian_energy(ref, p.need_w, p.need_h);
        size_t npx = (size_t)p.need_w * (size_t)p.need_h;
        int scale = geom_jpeg_scale(p.crop_w, p.crop_h, p.need_w, p.need_h);
        for (int path = 0; path < 2; path++) {
            uint8_t *got = thumb_of(jpg, len, &p, path ? 8 : scale);
            ps[path][i] = psnr(got, ref, npx);
            ds[path][i] = laplacian_energy(got, p.need_w, p.need_h) / ref_e;
            print_message("%-6s box %3d %s: %dx%d from %dx%d at %d/8: PSNR %.1f dB, detail %.3f\n",
                          fit == FIT_COVER ? "cover" : "inside", boxes[i % NBOX],
                          path ? "box shrink" : "jpeg scale", p.need_w, p.need_h, p.crop_w,
                          p.crop_h, path ? 8 : scale, ps[path][i], ds[path][i]);
            if (ps[path][i] < 50.0)
                fail_msg("%s box %d through the %s: PSNR %.1f dB (bound 50)",
                         fit == FIT_COVER ? "cover" : "inside", boxes[i % NBOX],
                         path ? "box shrink" : "jpeg scale", ps[path][i]);
            free(got);
        }
        free(ref);
        image_free(&region);
    }
    for (int path = 0; path < 2; path++) {
        double mp = median(ps[path], 2 * NBOX), md = median(ds[path], 2 * NBOX);
        print_message("%s: median PSNR %.1f dB, detail %.3f (headroom %.2fx, %.2fx)\n",
                      path ? "box shrink" : "jpeg scale", mp, md, GEOM_JPEG_HEADROOM_Q4 / 4.0,
                      GEOM_SHRINK_HEADROOM_Q4 / 4.0);
        double goal = path ? 0.91 : 0.93;
        if (mp < 45.0 || md < goal)
            fail_msg("%s: median PSNR %.1f dB (goal 45), detail %.3f (goal %.2f)",
                     path ? "box shrink" : "jpeg scale", mp, md, goal);
    }
    image_free(&full);
    free(jpg);
}

/* A zone plate: a circular chirp whose frequency rises linearly from 0 at
 * the centre to the sampling Nyquist (0.5 cycles/px) at radius n/2. */
static image_f zone_plate(int n)
{
    image_f img;
    assert_true(image_alloc(&img, n, n, 1, -1));
    double rmax = n / 2.0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double dx = x + 0.5 - rmax, dy = y + 0.5 - rmax;
            double phase = PI * (dx * dx + dy * dy) / (2 * rmax);
            img.px[(size_t)y * (size_t)n + (size_t)x] = (float)(127.5 + 127.5 * cos(phase));
        }
    return img;
}

/* RMS contrast of out (side m, reduced k times from n) over the pixels whose
 * local input frequency, in units of the output's Nyquist, lies in lo..hi;
 * 1 is the plate's own (full-swing sine) contrast. */
static double ring_contrast(const uint8_t *out, int m, int n, double lo, double hi)
{
    double k = (double)n / m, rmax = n / 2.0, se = 0;
    size_t count = 0;
    for (int y = 0; y < m; y++)
        for (int x = 0; x < m; x++) {
            double dx = (x + 0.5) * k - rmax, dy = (y + 0.5) * k - rmax;
            double f = sqrt(dx * dx + dy * dy) / rmax * k; /* 0.5 / (0.5 / k) at rmax */
            if (f < lo || f > hi)
                continue;
            double d = out[(size_t)y * (size_t)m + (size_t)x] - 127.5;
            se += d * d;
            count++;
        }
    assert_true(count > 100);
    return sqrt(se / (double)count) / (127.5 / sqrt(2.0));
}

/* Aliasing: where the plate's frequency f is above the output's Nyquist
 * any contrast in the thumbnail is the frequency folded back to 2 - f.
 * Moire is the part folded far below Nyquist (f >= 1.5 folds to <= 0.5,
 * broad visible rings): bounded, and no worse than Mitchell's. The
 * transition band (1..1.5, folded to fine grain just below Nyquist) is
 * printed; Lanczos3 leaks more there than Mitchell, as any sharper filter
 * does. Sharpness: the contrast kept at 0.64..0.96 of Nyquist. The
 * outermost ring (f near 4, the plate's own Nyquist) is left out. */
static void test_zone_plate(void **state)
{
    (void)state;
    enum { N = 800, M = 200 };
    image_f img = zone_plate(N);
    double alias[RESIZE_BOX + 1], kept[RESIZE_BOX + 1];
    for (int f = RESIZE_LANCZOS3; f <= RESIZE_BOX; f++) {
        uint8_t *got = resize_ok(&img, M, M, (resize_filter)f);
        alias[f] = ring_contrast(got, M, N, 1.5, 3.8);
        kept[f] = ring_contrast(got, M, N, 0.64, 0.96);
        print_message("%-8s contrast kept at 0.64-0.96 Nyquist %.3f; alias at 1-1.5 Nyquist "
                      "%.3f, above 1.5 Nyquist %.4f\n",
                      resize_filter_name(f), kept[f], ring_contrast(got, M, N, 1.0, 1.5),
                      alias[f]);
        free(got);
    }
    if (alias[RESIZE_LANCZOS3] > 0.02 || alias[RESIZE_LANCZOS3] > alias[RESIZE_MITCHELL] + 0.002)
        fail_msg("moire: alias contrast lanczos3 %.4f, mitchell %.4f (bound 0.02)",
                 alias[RESIZE_LANCZOS3], alias[RESIZE_MITCHELL]);
    if (kept[RESIZE_LANCZOS3] < 0.8)
        fail_msg("lanczos3 keeps %.3f of the contrast below Nyquist (goal 0.8)",
                 kept[RESIZE_LANCZOS3]);
    image_free(&img);
}

/* The zone plate through the box shrink the headroom leaves (src/shrink.c)
 * and Lanczos3: 800 px to 150, the box factor k that 2x, 1.5x and 1x
 * headroom give (2, 3, 5), printed; the rule's own factor
 * (geom_shrink_factor) asserted to keep moire within the resizer's bound. */
static void test_headroom_zone_plate(void **state)
{
    (void)state;
    enum { N = 800, M = 150 };
    image_f img = zone_plate(N);
    uint8_t *row = malloc(N);
    assert_non_null(row);
    int rule_k = geom_shrink_factor(N, N, M, M);
    static const int q4s[] = {8, 6, 4};
    for (int i = 0; i < 4; i++) {
        int k = i < 3 ? 4 * N / (q4s[i] * M) : rule_k;
        shrink sh;
        char err[TD_ERRLEN] = "";
        if (shrink_begin(&sh, N, 1, -1, 0, 0, N, N, k, err) != TD_OK)
            fail_msg("shrink_begin: %s", err);
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++)
                row[x] = (uint8_t)lrintf(img.px[(size_t)y * N + (size_t)x]);
            shrink_row(&sh, y, row);
        }
        image_f small;
        shrink_end(&sh, &small);
        uint8_t *got = resize_ok(&small, M, M, RESIZE_LANCZOS3);
        double alias = ring_contrast(got, M, N, 1.5, 3.8);
        double kept = ring_contrast(got, M, N, 0.64, 0.96);
        if (i < 3)
            print_message("headroom %.2fx (box factor %d): contrast kept at 0.64-0.96 Nyquist "
                          "%.3f; alias at 1-1.5 Nyquist %.3f, above 1.5 Nyquist %.4f\n",
                          q4s[i] / 4.0, k, kept, ring_contrast(got, M, N, 1.0, 1.5), alias);
        else if (alias > 0.02 || kept < 0.8)
            fail_msg("box factor %d: alias above 1.5 Nyquist %.4f (bound 0.02), contrast kept "
                     "%.3f (goal 0.8)", k, alias, kept);
        free(got);
        image_free(&small);
    }
    free(row);
    image_free(&img);
}

/* Worst |value - 127.5| of a w x h grey image, twice (integers), over the
 * pixels at least margin from the ends of the axis the stripes cross. */
static int off_grey(const uint8_t *px, int w, int h, bool rows, int margin)
{
    int worst = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int at = rows ? y : x, len = rows ? h : w;
            if (at < margin || at >= len - margin)
                continue;
            int d = abs(2 * px[(size_t)y * (size_t)w + (size_t)x] - 255);
            worst = d > worst ? d : worst;
        }
    return worst;
}

/* 1-px black and white stripes (columns, then rows) reduced 3.7 times:
 * a flat grey, no bands: within 2 of 127.5 away from the ends; at the
 * ends, where the edge stripe is repeated outwards (clamp-to-edge), no
 * further off than Mitchell. */
static void test_stripes_turn_grey(void **state)
{
    (void)state;
    enum { W = 370, H = 111, OW = 100, OH = 30 };
    for (int dir = 0; dir < 2; dir++) {
        int w = dir ? H : W, h = dir ? W : H, ow = dir ? OH : OW, oh = dir ? OW : OH;
        image_f img;
        assert_true(image_alloc(&img, w, h, 1, -1));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img.px[(size_t)y * (size_t)w + (size_t)x] = (dir ? y : x) % 2 ? 255.0f : 0.0f;
        int inner[RESIZE_BOX + 1], all[RESIZE_BOX + 1];
        for (int f = RESIZE_LANCZOS3; f <= RESIZE_BOX; f++) {
            uint8_t *got = resize_ok(&img, ow, oh, (resize_filter)f);
            inner[f] = off_grey(got, ow, oh, dir, 3);
            all[f] = off_grey(got, ow, oh, dir, 0);
            print_message("%-8s %s stripes: |value - 127.5| at most %.1f, %.1f at the ends\n",
                          resize_filter_name(f), dir ? "row" : "column", inner[f] / 2.0,
                          all[f] / 2.0);
            free(got);
        }
        if (inner[RESIZE_LANCZOS3] > 2 * 2 || all[RESIZE_LANCZOS3] > all[RESIZE_MITCHELL])
            fail_msg("lanczos3: %s stripes give %.1f off grey (bound 2), %.1f at the ends "
                     "(mitchell %.1f)",
                     dir ? "row" : "column", inner[RESIZE_LANCZOS3] / 2.0,
                     all[RESIZE_LANCZOS3] / 2.0, all[RESIZE_MITCHELL] / 2.0);
        image_free(&img);
    }
}

/* Negative lobes over an alpha edge: where the pixel is visible the colour
 * stays what it was (colour and alpha ring together, so the division by
 * alpha cancels it: no fringe). */
static void test_ringing_clamped_with_alpha(void **state)
{
    (void)state;
    image_f img;
    assert_true(image_alloc(&img, 90, 30, 4, 3));
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 90; x++) {
            float *p = img.px + ((size_t)y * 90 + (size_t)x) * 4;
            bool opaque = x >= 45;
            p[0] = 250.0f;
            p[1] = 20.0f;
            p[2] = 128.0f;
            p[3] = opaque ? 255.0f : 0.0f;
        }
    uint8_t *got = resize_ok(&img, 24, 8, RESIZE_LANCZOS3);
    for (size_t p = 0; p < 24 * 8; p++) {
        const uint8_t *q = got + p * 4;
        if (q[3] == 0)
            continue;
        if (abs(q[0] - 250) > 1 || abs(q[1] - 20) > 1 || abs(q[2] - 128) > 1)
            fail_msg("pixel %zu (alpha %d): colour %d %d %d, want 250 20 128", p, q[3], q[0],
                     q[1], q[2]);
    }
    free(got);
    image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sharp_as_reference),
        cmocka_unit_test(test_headroom_keeps_goal),
        cmocka_unit_test(test_zone_plate),
        cmocka_unit_test(test_headroom_zone_plate),
        cmocka_unit_test(test_stripes_turn_grey),
        cmocka_unit_test(test_ringing_clamped_with_alpha),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
