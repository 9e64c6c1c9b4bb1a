/* Quality of the default filter (Lanczos3, src/resize.c): sharpness against
 * a full-resolution Lanczos3 reference (lanczos_ref.h), and aliasing on a
 * zone plate and on 1-px stripes. Each measure is printed for every filter;
 * the goals are asserted for the default, the aliasing ones also against
 * Mitchell's (the filter thumbd used before). */
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

#include "thumbd/image.h"
#include "thumbd/resize.h"
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
        cmocka_unit_test(test_zone_plate),
        cmocka_unit_test(test_stripes_turn_grey),
        cmocka_unit_test(test_ringing_clamped_with_alpha),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
