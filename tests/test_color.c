/* Unit tests for the conversion to sRGB (src/color.c). Profiles are built
 * with lcms2 itself and embedded as bytes, as a decoder would hand them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lcms2.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/color.h"
#include "thumbd/image.h"

static image_f make_img(int w, int h, int c, int alpha, const float *values)
{
    image_f img;
    assert_true(image_alloc(&img, w, h, c, alpha));
    memcpy(img.px, values, (size_t)w * (size_t)h * (size_t)c * sizeof(float));
    return img;
}

static void expect_near(const image_f *img, int i, int ch, double want, double tol, int line)
{
    double got = img->px[(size_t)i * (size_t)img->c + (size_t)ch];
    if (fabs(got - want) > tol)
        fail_msg("line %d: pixel %d channel %d = %.3f, want %.3f (+-%g)", line, i, ch, got, want,
                 tol);
}
#define NEAR(img, i, ch, want, tol) expect_near(img, i, ch, want, tol, __LINE__)

/* Saves a profile to a malloc'd buffer. */
static uint8_t *profile_bytes(cmsHPROFILE h, size_t *len)
{
    cmsUInt32Number n = 0;
    assert_true(cmsSaveProfileToMem(h, NULL, &n));
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    assert_true(cmsSaveProfileToMem(h, buf, &n));
    *len = n;
    return buf;
}

static cmsToneCurve *srgb_curve(void)
{
    const cmsFloat64Number p[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    cmsToneCurve *c = cmsBuildParametricToneCurve(NULL, 4, p);
    assert_non_null(c);
    return c;
}

/* An RGB profile whose red and green primaries are sRGB's green and red:
 * stored (r, g, b) means sRGB (g, r, b). */
static uint8_t *swapped_rgb_profile(size_t *len)
{
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {
        .Red = {0.30, 0.60, 1.0}, .Green = {0.64, 0.33, 1.0}, .Blue = {0.15, 0.06, 1.0}};
    cmsToneCurve *c = srgb_curve();
    cmsToneCurve *curves[3] = {c, c, c};
    cmsHPROFILE h = cmsCreateRGBProfile(&d65, &prim, curves);
    assert_non_null(h);
    uint8_t *b = profile_bytes(h, len);
    cmsCloseProfile(h);
    cmsFreeToneCurve(c);
    return b;
}

/* A gray profile with a linear (gamma 1) tone curve. */
static uint8_t *linear_gray_profile(size_t *len)
{
    cmsToneCurve *c = cmsBuildGamma(NULL, 1.0);
    cmsHPROFILE h = cmsCreateGrayProfile(cmsD50_xyY(), c);
    assert_non_null(h);
    uint8_t *b = profile_bytes(h, len);
    cmsCloseProfile(h);
    cmsFreeToneCurve(c);
    return b;
}

/* What lcms itself makes of one pixel (values 0..255) with this profile. */
static void lcms_predict(const uint8_t *icc, size_t len, cmsUInt32Number fmt, int ncolor,
                         const float *in255, float *out255)
{
    cmsHPROFILE in = cmsOpenProfileFromMem(icc, (cmsUInt32Number)len);
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    assert_non_null(in);
    cmsHTRANSFORM xf = cmsCreateTransform(in, fmt, srgb, TYPE_RGB_FLT, INTENT_PERCEPTUAL, 0);
    assert_non_null(xf);
    float v[4], rgb[3];
    for (int i = 0; i < ncolor; i++)
        v[i] = in255[i] / 255.0f;
    cmsDoTransform(xf, v, rgb, 1);
    for (int i = 0; i < 3; i++) {
        float x = rgb[i] * 255.0f;
        out255[i] = x < 0 ? 0 : x > 255 ? 255 : x;
    }
    cmsDeleteTransform(xf);
    cmsCloseProfile(srgb);
    cmsCloseProfile(in);
}

static void test_naive_cmyk_both_conventions(void **state)
{
    (void)state;
    /* Ink values, 255 = full ink. */
    const float ink[6][4] = {
        {0, 0, 0, 0}, {255, 0, 0, 0}, {0, 255, 0, 0}, {0, 0, 255, 0}, {0, 0, 0, 255},
        {51, 102, 153, 51},
    };
    const double rgb[6][3] = {
        {255, 255, 255}, {0, 255, 255}, {255, 0, 255}, {255, 255, 0}, {0, 0, 0},
        {163.2, 122.4, 81.6}, /* 255 (1 - .2|.4|.6) (1 - .2) */
    };
    for (int inverted = 0; inverted <= 1; inverted++) {
        float px[6 * 4];
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 4; k++)
                px[i * 4 + k] = inverted ? 255.0f - ink[i][k] : ink[i][k];
        image_f img = make_img(6, 1, 4, -1, px);
        char err[TD_ERRLEN];
        assert_int_equal(color_to_srgb(&img, inverted ? COLOR_CMYK_INVERTED : COLOR_CMYK, NULL, 0,
                                       err),
                         TD_OK);
        assert_int_equal(img.c, 3);
        assert_int_equal(img.alpha, -1);
        assert_int_equal(img.w, 6);
        assert_int_equal(img.h, 1);
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 3; k++)
                NEAR(&img, i, k, rgb[i][k], 0.01);
        image_free(&img);
    }
}

static void test_cmyk_alpha_kept(void **state)
{
    (void)state;
    const float px[2 * 5] = {255, 0, 0, 0, 10, 0, 0, 0, 0, 200};
    image_f img = make_img(2, 1, 5, 4, px);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_CMYK, NULL, 0, err), TD_OK);
    assert_int_equal(img.c, 4);
    assert_int_equal(img.alpha, 3);
    NEAR(&img, 0, 0, 0, 0.01);
    NEAR(&img, 0, 1, 255, 0.01);
    NEAR(&img, 0, 3, 10, 0.001);
    NEAR(&img, 1, 0, 255, 0.01);
    NEAR(&img, 1, 3, 200, 0.001);
    image_free(&img);
}

static void test_rgb_untagged_unchanged(void **state)
{
    (void)state;
    const float px[3 * 3] = {0, 0, 0, 12.5f, 130, 255, 255, 254, 1};
    image_f img = make_img(3, 1, 3, -1, px);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_RGB, NULL, 0, err), TD_OK);
    assert_int_equal(img.c, 3);
    assert_memory_equal(img.px, px, sizeof px);
    image_free(&img);

    const float rgba[2 * 4] = {10, 20, 30, 40, 250, 128, 0, 255};
    img = make_img(2, 1, 4, 3, rgba);
    assert_int_equal(color_to_srgb(&img, COLOR_RGB, NULL, 0, err), TD_OK);
    assert_int_equal(img.c, 4);
    assert_int_equal(img.alpha, 3);
    assert_memory_equal(img.px, rgba, sizeof rgba);
    image_free(&img);
}

static void test_gray_expands(void **state)
{
    (void)state;
    const float g[3] = {0, 77, 255};
    image_f img = make_img(3, 1, 1, -1, g);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_GRAY, NULL, 0, err), TD_OK);
    assert_int_equal(img.c, 3);
    assert_int_equal(img.alpha, -1);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            NEAR(&img, i, k, g[i], 0.001);
    image_free(&img);

    const float ga[2 * 2] = {77, 0, 200, 128};
    img = make_img(2, 1, 2, 1, ga);
    assert_int_equal(color_to_srgb(&img, COLOR_GRAY, NULL, 0, err), TD_OK);
    assert_int_equal(img.c, 4);
    assert_int_equal(img.alpha, 3);
    for (int k = 0; k < 3; k++) {
        NEAR(&img, 0, k, 77, 0.001);
        NEAR(&img, 1, k, 200, 0.001);
    }
    NEAR(&img, 0, 3, 0, 0.001);
    NEAR(&img, 1, 3, 128, 0.001);
    image_free(&img);
}

static void test_rgb_profile_honoured(void **state)
{
    (void)state;
    size_t len;
    uint8_t *icc = swapped_rgb_profile(&len);
    const float px[5 * 4] = {
        255, 0, 0, 255,   0, 0, 255, 128,   200, 100, 50, 0,   128, 128, 128, 64,
        10, 240, 90, 1,
    };
    image_f img = make_img(5, 1, 4, 3, px);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_RGB, icc, len, err), TD_OK);
    assert_int_equal(img.c, 4);
    assert_int_equal(img.alpha, 3);
    for (int i = 0; i < 5; i++) {
        float want[3];
        lcms_predict(icc, len, TYPE_RGB_FLT, 3, &px[i * 4], want);
        for (int k = 0; k < 3; k++)
            NEAR(&img, i, k, want[k], 0.05);
        NEAR(&img, i, 3, px[i * 4 + 3], 0.001); /* alpha untouched */
    }
    /* And what that means: red and green trade places. */
    NEAR(&img, 0, 0, 0, 2.0);
    NEAR(&img, 0, 1, 255, 2.0);
    NEAR(&img, 0, 2, 0, 2.0);
    NEAR(&img, 1, 2, 255, 2.0);
    NEAR(&img, 2, 0, 100, 2.0);
    NEAR(&img, 2, 1, 200, 2.0);
    NEAR(&img, 2, 2, 50, 2.0);
    NEAR(&img, 3, 0, 128, 2.0);
    image_free(&img);
    free(icc);
}

static void test_gray_profile_honoured(void **state)
{
    (void)state;
    size_t len;
    uint8_t *icc = linear_gray_profile(&len);
    const float g[4] = {0, 64, 128, 255};
    image_f img = make_img(4, 1, 1, -1, g);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_GRAY, icc, len, err), TD_OK);
    assert_int_equal(img.c, 3);
    for (int i = 0; i < 4; i++) {
        float want[3];
        lcms_predict(icc, len, TYPE_GRAY_FLT, 1, &g[i], want);
        for (int k = 0; k < 3; k++)
            NEAR(&img, i, k, want[k], 0.05);
    }
    /* Linear light 50% is about 188 in sRGB: clearly not left as 128. */
    NEAR(&img, 2, 0, 188, 3.0);
    NEAR(&img, 2, 1, 188, 3.0);
    NEAR(&img, 3, 2, 255, 1.0);
    image_free(&img);
    free(icc);
}

static void test_mismatched_profile_ignored(void **state)
{
    (void)state;
    size_t glen, rlen;
    uint8_t *gray = linear_gray_profile(&glen), *rgb = swapped_rgb_profile(&rlen);
    char err[TD_ERRLEN];

    /* A gray profile on RGB data: untagged RGB, unchanged. */
    const float px[3] = {255, 0, 0};
    image_f img = make_img(1, 1, 3, -1, px);
    assert_int_equal(color_to_srgb(&img, COLOR_RGB, gray, glen, err), TD_OK);
    NEAR(&img, 0, 0, 255, 0.001);
    NEAR(&img, 0, 1, 0, 0.001);
    image_free(&img);

    /* An RGB profile on CMYK data: the naive formula. */
    const float cmyk[4] = {51, 102, 153, 51};
    img = make_img(1, 1, 4, -1, cmyk);
    assert_int_equal(color_to_srgb(&img, COLOR_CMYK, rgb, rlen, err), TD_OK);
    assert_int_equal(img.c, 3);
    NEAR(&img, 0, 0, 163.2, 0.01);
    NEAR(&img, 0, 1, 122.4, 0.01);
    NEAR(&img, 0, 2, 81.6, 0.01);
    image_free(&img);

    /* An RGB profile on gray data: plain expansion. */
    const float g[1] = {128};
    img = make_img(1, 1, 1, -1, g);
    assert_int_equal(color_to_srgb(&img, COLOR_GRAY, rgb, rlen, err), TD_OK);
    for (int k = 0; k < 3; k++)
        NEAR(&img, 0, k, 128, 0.001);
    image_free(&img);
    free(gray);
    free(rgb);
}

static void test_garbage_profile_ignored(void **state)
{
    (void)state;
    uint8_t junk[700];
    uint32_t x = 0xC0FFEEu;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    size_t rlen;
    uint8_t *real = swapped_rgb_profile(&rlen);
    uint8_t *head = malloc(200);
    memcpy(head, real, 200); /* a real profile cut short */
    struct { const uint8_t *p; size_t n; } bad[] = {
        {junk, sizeof junk}, {junk, 10}, {head, 200}, {real, 127}, {real, 0},
    };
    char err[TD_ERRLEN];
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        const float px[3] = {255, 0, 0};
        image_f img = make_img(1, 1, 3, -1, px);
        assert_int_equal(color_to_srgb(&img, COLOR_RGB, bad[b].p, bad[b].n, err), TD_OK);
        assert_int_equal(img.c, 3);
        NEAR(&img, 0, 0, 255, 0.001);
        NEAR(&img, 0, 1, 0, 0.001);
        image_free(&img);

        const float cmyk[4] = {255, 0, 0, 0};
        img = make_img(1, 1, 4, -1, cmyk);
        assert_int_equal(color_to_srgb(&img, COLOR_CMYK, bad[b].p, bad[b].n, err), TD_OK);
        NEAR(&img, 0, 0, 0, 0.01);
        NEAR(&img, 0, 1, 255, 0.01);
        image_free(&img);
    }
    free(head);
    free(real);
}

static void test_channel_mismatch_rejected(void **state)
{
    (void)state;
    const float px[3] = {1, 2, 3};
    image_f img = make_img(1, 1, 3, -1, px);
    char err[TD_ERRLEN] = "";
    assert_int_not_equal(color_to_srgb(&img, COLOR_CMYK, NULL, 0, err), TD_OK);
    assert_true(strlen(err) > 0);
    image_free(&img);
}

/* An RGB profile with sRGB's primaries and a pure gamma curve, padded with
 * a private tag of pad random bytes (0: none). */
static uint8_t *gamma_rgb_profile(double gamma, size_t pad, size_t *len)
{
    cmsToneCurve *c = cmsBuildGamma(NULL, gamma);
    cmsToneCurve *curves[3] = {c, c, c};
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {
        .Red = {0.64, 0.33, 1.0}, .Green = {0.30, 0.60, 1.0}, .Blue = {0.15, 0.06, 1.0}};
    cmsHPROFILE h = cmsCreateRGBProfile(&d65, &prim, curves);
    assert_non_null(h);
    if (pad) {
        uint8_t *junk = malloc(pad);
        assert_non_null(junk);
        uint32_t x = 12345;
        for (size_t i = 0; i < pad; i++)
            junk[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
        assert_true(cmsWriteRawTag(h, (cmsTagSignature)0x74687464, junk, (cmsUInt32Number)pad));
        free(junk);
    }
    uint8_t *b = profile_bytes(h, len);
    cmsCloseProfile(h);
    cmsFreeToneCurve(c);
    return b;
}

enum { NPROF = 7 };

/* Profiles of gamma 1.0, 1.25 ... 2.5, the last padded past what a cache
 * keeps; want: what lcms2 itself makes of PIXEL with each. */
typedef struct profiles {
    uint8_t *icc[NPROF];
    size_t len[NPROF];
    float want[NPROF][3];
} profiles;

static const float PIXEL[3] = {120, 60, 200};

/* Cycles through more profiles than a thread keeps transforms of, in an
 * order that hits, misses and evicts, checking each image's result (the
 * coarse precalculated grid is within 0.5 of lcms2's float answer; the
 * profiles' answers are several levels apart), then ends the thread's
 * cache. Returns how many results were wrong (no cmocka calls: it runs in
 * other threads too). */
static void *cycle_profiles(void *arg)
{
    const profiles *p = arg;
    static const int order[] = {0, 1, 0, 2, 3, 4, 0, 5, 1, 6, 6, 2, 0, 3, 5, 4, 1};
    intptr_t wrong = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int k = order[i];
        image_f img;
        char err[TD_ERRLEN];
        if (!image_alloc(&img, 1, 1, 3, -1)) {
            wrong++;
            continue;
        }
        memcpy(img.px, PIXEL, sizeof PIXEL);
        if (color_to_srgb(&img, COLOR_RGB, p->icc[k], p->len[k], err) != TD_OK)
            wrong++;
        else
            for (int ch = 0; ch < 3; ch++)
                wrong += fabsf(img.px[ch] - p->want[k][ch]) > 0.5f;
        image_free(&img);
    }
    color_thread_end();
    return (void *)wrong;
}

/* Transforms are cached per thread by profile bytes and colour space: each
 * image still gets its own profile's transform, whatever the cache holds;
 * a profile too large to keep (over 256 KiB) still converts; two threads
 * at once; and the same bytes on data of another colour space are judged
 * for that space (a gray profile honoured on gray, ignored on RGB). */
static void test_transform_cache(void **state)
{
    (void)state;
    profiles p;
    for (int i = 0; i < NPROF; i++) {
        p.icc[i] = gamma_rgb_profile(1.0 + 0.25 * i, i == NPROF - 1 ? 300000 : 0, &p.len[i]);
        lcms_predict(p.icc[i], p.len[i], TYPE_RGB_FLT, 3, PIXEL, p.want[i]);
        if (i)
            assert_true(fabsf(p.want[i][0] - p.want[i - 1][0]) > 2);
    }
    assert_true(p.len[NPROF - 1] > 256 << 10);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, cycle_profiles, &p), 0);
    assert_int_equal((intptr_t)cycle_profiles(&p), 0);
    for (int t = 0; t < 2; t++) {
        void *wrong;
        pthread_join(th[t], &wrong);
        assert_int_equal((intptr_t)wrong, 0);
    }

    size_t glen;
    uint8_t *gray = linear_gray_profile(&glen);
    const float g[1] = {128};
    image_f img = make_img(1, 1, 1, -1, g);
    char err[TD_ERRLEN];
    assert_int_equal(color_to_srgb(&img, COLOR_GRAY, gray, glen, err), TD_OK);
    NEAR(&img, 0, 0, 188, 3.0); /* linear light: honoured */
    image_free(&img);
    const float px[3] = {128, 128, 128};
    img = make_img(1, 1, 3, -1, px);
    assert_int_equal(color_to_srgb(&img, COLOR_RGB, gray, glen, err), TD_OK);
    NEAR(&img, 0, 0, 128, 0.001); /* a gray profile on RGB data: ignored */
    image_free(&img);
    color_thread_end();
    free(gray);
    for (int i = 0; i < NPROF; i++)
        free(p.icc[i]);
}

/* An sRGB profile as other tools write it: sRGB's colorants (from lcms2's
 * own) and its curve as a table of n entries rather than parametric. */
static uint8_t *tabulated_srgb_profile(int n, size_t *len)
{
    cmsHPROFILE ref = cmsCreate_sRGBProfile();
    cmsCIEXYZ *r = cmsReadTag(ref, cmsSigRedColorantTag), *g = cmsReadTag(ref, cmsSigGreenColorantTag),
              *b = cmsReadTag(ref, cmsSigBlueColorantTag);
    assert_true(r && g && b);
    cmsUInt16Number *tab = malloc((size_t)n * sizeof *tab);
    for (int i = 0; i < n; i++) {
        double v = (double)i / (n - 1);
        double lin = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
        tab[i] = (cmsUInt16Number)(lin * 65535.0 + 0.5);
    }
    cmsToneCurve *c = cmsBuildTabulatedToneCurve16(NULL, (cmsUInt32Number)n, tab);
    cmsHPROFILE h = cmsCreateProfilePlaceholder(NULL);
    cmsSetDeviceClass(h, cmsSigDisplayClass);
    cmsSetColorSpace(h, cmsSigRgbData);
    cmsSetPCS(h, cmsSigXYZData);
    assert_true(cmsWriteTag(h, cmsSigRedColorantTag, r) && cmsWriteTag(h, cmsSigGreenColorantTag, g) &&
                cmsWriteTag(h, cmsSigBlueColorantTag, b) && cmsWriteTag(h, cmsSigRedTRCTag, c) &&
                cmsWriteTag(h, cmsSigGreenTRCTag, c) && cmsWriteTag(h, cmsSigBlueTRCTag, c) &&
                cmsWriteTag(h, cmsSigMediaWhitePointTag, cmsD50_XYZ()));
    uint8_t *bytes = profile_bytes(h, len);
    cmsCloseProfile(h);
    cmsCloseProfile(ref);
    cmsFreeToneCurve(c);
    free(tab);
    return bytes;
}

/* An sRGB profile, lcms2's own or tabulated like many in the wild, leaves
 * RGB pixels exactly as they are (no conversion runs); a profile that only
 * looks close (sRGB's primaries, a pure 2.2 gamma) is converted. */
static void test_srgb_profile_skipped(void **state)
{
    (void)state;
    const float px[4 * 3] = {3, 40, 250, 128, 128, 128, 17, 200, 90, 255, 0, 1};
    size_t len[3];
    cmsHPROFILE ref = cmsCreate_sRGBProfile();
    uint8_t *icc[3] = {profile_bytes(ref, &len[0]), tabulated_srgb_profile(1024, &len[1]),
                       gamma_rgb_profile(2.2, 0, &len[2])};
    cmsCloseProfile(ref);
    for (int k = 0; k < 3; k++) {
        image_f img = make_img(4, 1, 3, -1, px);
        char err[TD_ERRLEN];
        assert_int_equal(color_to_srgb(&img, COLOR_RGB, icc[k], len[k], err), TD_OK);
        bool same = !memcmp(img.px, px, sizeof px);
        if (k < 2 && !same)
            fail_msg("profile %d (sRGB) changed the pixels", k);
        if (k == 2) {
            assert_false(same);
            for (int i = 0; i < 4; i++) {
                float want[3];
                lcms_predict(icc[k], len[k], TYPE_RGB_FLT, 3, &px[i * 3], want);
                for (int ch = 0; ch < 3; ch++) /* the coarse grid: 1.2 off at level 3 */
                    NEAR(&img, i, ch, want[ch], 1.5);
            }
        }
        image_free(&img);
        free(icc[k]);
    }
    color_thread_end();
}

/* The window (image.h) is of the grid, which the conversion keeps: gray
 * growing to RGB (a new image) and CMYK shrinking in place carry it. */
static void test_window_carried(void **state)
{
    (void)state;
    static const float v[4] = {10, 20, 30, 40};
    const color_space spaces[2] = {COLOR_GRAY, COLOR_CMYK};
    for (int i = 0; i < 2; i++) {
        image_f img = make_img(i ? 1 : 4, 1, i ? 4 : 1, -1, v);
        img.win_x = 0.25;
        img.win_w = i ? 0.5 : 3.5;
        img.win_y = 0.125;
        img.win_h = 0.75;
        char err[TD_ERRLEN] = "";
        assert_int_equal(color_to_srgb(&img, spaces[i], NULL, 0, err), TD_OK);
        assert_int_equal(img.c, 3);
        assert_true(img.win_x == 0.25 && img.win_w == (i ? 0.5 : 3.5) && img.win_y == 0.125 &&
                    img.win_h == 0.75);
        image_free(&img);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_cmyk_both_conventions),
        cmocka_unit_test(test_cmyk_alpha_kept),
        cmocka_unit_test(test_rgb_untagged_unchanged),
        cmocka_unit_test(test_gray_expands),
        cmocka_unit_test(test_rgb_profile_honoured),
        cmocka_unit_test(test_gray_profile_honoured),
        cmocka_unit_test(test_mismatched_profile_ignored),
        cmocka_unit_test(test_garbage_profile_ignored),
        cmocka_unit_test(test_channel_mismatch_rejected),
        cmocka_unit_test(test_transform_cache),
        cmocka_unit_test(test_srgb_profile_skipped),
        cmocka_unit_test(test_window_carried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
