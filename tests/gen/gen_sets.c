/* thumbd_gen: the orient/, color/ and alpha/ sets. */
#include "gen_util.h"

static const char xmp_packet[] =
    "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
    " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
    "  <rdf:Description rdf:about=\"\"\n"
    "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
    "    xmlns:exif=\"http://ns.adobe.com/exif/1.0/\">\n"
    "   <dc:description>" SECRET " xmp</dc:description>\n"
    "   <exif:GPSLatitude>48,51.4N</exif:GPSLatitude>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    "<?xpacket end=\"w\"?>";

static const char xmp_ns[] = "http://ns.adobe.com/xap/1.0/";   /* + its NUL */

static const char comment_text[] = SECRET " comment: taken at 48N 2E";

/* A matrix/TRC RGB profile (D65 white, pure power TRC) whose primaries are
 * the sRGB ones permuted: prim[i] is the sRGB primary (0 R, 1 G, 2 B) the
 * file's channel i stands for. The creation date is fixed. */
static int make_profile(const int prim[3], double gamma, const char *desc, uint8_t **out,
                        unsigned *out_len)
{
    const cmsCIExyY srgb[3] = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE tri = {srgb[prim[0]], srgb[prim[1]], srgb[prim[2]]};
    cmsToneCurve *tc = cmsBuildGamma(NULL, gamma);
    if (!tc)
        return -1;
    cmsToneCurve *curves[3] = {tc, tc, tc};
    cmsHPROFILE h = cmsCreateRGBProfile(&white, &tri, curves);
    cmsFreeToneCurve(tc);
    if (!h)
        return -1;
    cmsMLU *mlu = cmsMLUalloc(NULL, 1);
    if (mlu) {
        cmsMLUsetASCII(mlu, "en", "US", desc);
        cmsWriteTag(h, cmsSigProfileDescriptionTag, mlu);
        cmsMLUfree(mlu);
    }
    cmsUInt32Number n = 0;
    if (!cmsSaveProfileToMem(h, NULL, &n) || n < 128) {
        cmsCloseProfile(h);
        return -1;
    }
    uint8_t *buf = malloc(n);
    if (!buf || !cmsSaveProfileToMem(h, buf, &n)) {
        free(buf);
        cmsCloseProfile(h);
        return -1;
    }
    cmsCloseProfile(h);
    /* dateTimeNumber at bytes 24..35: 2024-01-01 00:00:00 (big-endian). */
    static const uint8_t date[12] = {0x07, 0xE8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf + 24, date, sizeof date);
    memset(buf + 84, 0, 16);   /* profile ID: "not computed" */
    *out = buf;
    *out_len = n;
    return 0;
}

/* sRGB values of n 8-bit RGB colours tagged with the profile, by lcms2,
 * relative colorimetric (the same as perceptual for a matrix/TRC profile). */
static int icc_reference(const uint8_t *icc, unsigned len, const int in[][4], int out[][4],
                         int n)
{
    cmsHPROFILE src = cmsOpenProfileFromMem(icc, len);
    cmsHPROFILE dst = cmsCreate_sRGBProfile();
    cmsHTRANSFORM t = src && dst ? cmsCreateTransform(src, TYPE_RGB_8, dst, TYPE_RGB_8,
                                                      INTENT_RELATIVE_COLORIMETRIC, 0)
                                 : NULL;
    if (src)
        cmsCloseProfile(src);
    if (dst)
        cmsCloseProfile(dst);
    if (!t) {
        fprintf(stderr, "thumbd_gen: lcms2 cannot build the reference transform\n");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        uint8_t a[3] = {(uint8_t)in[i][0], (uint8_t)in[i][1], (uint8_t)in[i][2]}, b[3];
        cmsDoTransform(t, a, b, 1);
        for (int c = 0; c < 3; c++)
            out[i][c] = b[c];
        out[i][3] = 255;
    }
    cmsDeleteTransform(t);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The test set                                                              */

static const int RED[4] = {255, 0, 0, 255}, GREEN[4] = {0, 255, 0, 255},
                 BLUE[4] = {0, 0, 255, 255}, WHITE[4] = {255, 255, 255, 255};

int gen_orient(gen *g)
{
    char path[PATH_MAX], name[64];
    int q[4][4];
    memcpy(q[0], RED, sizeof q[0]);
    memcpy(q[1], GREEN, sizeof q[1]);
    memcpy(q[2], BLUE, sizeof q[2]);
    memcpy(q[3], WHITE, sizeof q[3]);
    img up;
    if (img_quads(&up, 400, 300, 3, q) != 0)
        return -1;
    int rc = 0;
    for (int o = 1; o <= 8 && rc == 0; o++) {
        img st;
        if (img_for_orientation(&up, o, &st) != 0) {
            rc = -1;
            break;
        }
        uint8_t app1[6 + EXIF_MAX];
        memcpy(app1, "Exif\0\0", 6);
        size_t tl = build_tiff(app1 + 6, o);
        uint8_t xmp[sizeof xmp_ns + sizeof xmp_packet];
        memcpy(xmp, xmp_ns, sizeof xmp_ns);   /* with its NUL */
        memcpy(xmp + sizeof xmp_ns, xmp_packet, sizeof xmp_packet - 1);
        jmarker m[3] = {
            {JPEG_APP0 + 1, app1, (unsigned)(6 + tl)},
            {JPEG_APP0 + 1, xmp, (unsigned)(sizeof xmp - 1)},
            {JPEG_COM, (const uint8_t *)comment_text, (unsigned)(sizeof comment_text - 1)},
        };
        snprintf(name, sizeof name, "orient/o%d.jpg", o);
        if (gen_path(g, name, path, sizeof path) != 0 ||
            write_jpeg_img(path, &st, JCS_RGB, JCS_UNKNOWN, 92, 0, -1, m, o == 1 ? 3 : 1,
                           NULL, 0) != 0)
            rc = -1;
        else {
            exp_image(g, name, "orient", "jpeg", st.w, st.h, 400, 300, o, false);
            exp_kv(g, "meta=exif,gps%s", o == 1 ? ",xmp,com" : "");
            exp_quad_probes(g, q, 3);
            exp_end(g);
            g->files++;
        }
        img_free(&st);
    }
    if (rc == 0) {
        /* The same pattern as a PNG with an eXIf chunk (orientation 6) and a
         * tEXt comment. */
        img st;
        if (img_for_orientation(&up, 6, &st) != 0) {
            img_free(&up);
            return -1;
        }
        uint8_t tiff[EXIF_MAX];
        size_t tl = build_tiff(tiff, 6);
        png_text text[1] = {{.compression = PNG_TEXT_COMPRESSION_NONE,
                             .key = "Comment",
                             .text = (char *)comment_text}};
        img_rows r = {&st, 8};
        png_spec sp = {
            .w = st.w, .h = st.h, .color_type = PNG_COLOR_TYPE_RGB, .depth = 8,
            .exif = tiff, .exif_len = (unsigned)tl, .text = text, .ntext = 1, .zlevel = -1,
            .row = img_row, .ud = &r,
        };
        /* (in its own folder: orient/o6.png would make the same thumbnail name,
         * orient/o6.jpg, as orient/o6.jpg) */
        if (gen_path(g, "orient/png/o6.png", path, sizeof path) != 0 ||
            write_png(path, &sp) != 0)
            rc = -1;
        else {
            exp_image(g, "orient/png/o6.png", "orient", "png", st.w, st.h, 400, 300, 6, false);
            exp_kv(g, "meta=exif,gps,text");
            exp_quad_probes(g, q, 3);
            exp_end(g);
            g->files++;
        }
        img_free(&st);
    }
    img_free(&up);
    return rc;
}

/* Naive CMYK (ink, 255 = full) to RGB: R = (255-C)(255-K)/255, rounded. */
static void cmyk_naive(const int ink[4], int rgb[4])
{
    for (int c = 0; c < 3; c++)
        rgb[c] = ((255 - ink[c]) * (255 - ink[3]) + 127) / 255;
    rgb[3] = 255;
}

int gen_cmyk(gen *g)
{
    /* Ink values (C, M, Y, K), 255 = 100% ink. */
    static const int ink[4][4] = {
        {255, 0, 0, 0},     /* TL: cyan */
        {0, 0, 255, 0},     /* TR: yellow */
        {0, 255, 0, 64},    /* BL: magenta + 25% black */
        {64, 32, 0, 32},    /* BR: a light blue-grey */
    };
    int inverted[4][4], ref[4][4];
    for (int i = 0; i < 4; i++) {
        for (int c = 0; c < 4; c++)
            inverted[i][c] = 255 - ink[i][c];
        cmyk_naive(ink[i], ref[i]);
    }
    img adobe, plain;
    if (img_quads(&adobe, 256, 256, 4, inverted) != 0)
        return -1;
    if (img_quads(&plain, 256, 256, 4, ink) != 0) {
        img_free(&adobe);
        return -1;
    }
    struct {
        const char *name, *how;
        const img *im;
        J_COLOR_SPACE cs;
        int adobe;
    } v[3] = {
        {"color/cmyk_adobe.jpg", "adobe-inverted", &adobe, JCS_CMYK, 1},
        {"color/ycck_adobe.jpg", "adobe-ycck-inverted", &adobe, JCS_YCCK, 1},
        {"color/cmyk_plain.jpg", "plain-ink", &plain, JCS_CMYK, 0},
    };
    int rc = 0;
    char path[PATH_MAX];
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (gen_path(g, v[i].name, path, sizeof path) != 0 ||
            write_jpeg_img(path, v[i].im, JCS_CMYK, v[i].cs, 95, 0, v[i].adobe, NULL, 0, NULL,
                           0) != 0) {
            rc = -1;
            break;
        }
        exp_image(g, v[i].name, "color", "jpeg", 256, 256, 256, 256, 1, false);
        exp_kv(g, "cmyk=%s conv=naive", v[i].how);
        exp_quad_probes(g, ref, 3);
        exp_end(g);
        g->files++;
    }
    img_free(&adobe);
    img_free(&plain);
    return rc;
}

int gen_icc(gen *g)
{
    /* JPEG: file channels R,G,B stand for sRGB G,B,R; gamma 2.2.
     * PNG:  file channels R,G,B stand for sRGB B,R,G; linear TRC (gamma 1),
     *       so mid-tones move a lot too. */
    static const int perm_jpg[3] = {1, 2, 0}, perm_png[3] = {2, 0, 1};
    static const int stored_jpg[4][4] = {
        {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {200, 120, 40, 255}};
    static const int stored_png[4][4] = {
        {255, 255, 0, 255}, {0, 255, 255, 255}, {255, 0, 255, 255}, {60, 180, 230, 255}};
    struct {
        const char *name, *fmt;
        const int *perm;
        double gamma;
        const int (*stored)[4];
    } v[2] = {
        {"color/icc.jpg", "jpeg", perm_jpg, 2.2, stored_jpg},
        /* own folder: color/icc.png would collide with color/icc.jpg's thumbnail */
        {"color/png/icc.png", "png", perm_png, 1.0, stored_png},
    };
    char path[PATH_MAX];
    for (int i = 0; i < 2; i++) {
        uint8_t *icc = NULL;
        unsigned icc_len = 0;
        int ref[4][4];
        if (make_profile(v[i].perm, v[i].gamma, "thumbd test: permuted primaries", &icc,
                         &icc_len) != 0) {
            fprintf(stderr, "thumbd_gen: lcms2 cannot build the test profile\n");
            return -1;
        }
        img im;
        int rc = icc_reference(icc, icc_len, v[i].stored, ref, 4);
        if (rc == 0)
            rc = img_quads(&im, 256, 256, 3, v[i].stored);
        if (rc == 0) {
            rc = gen_path(g, v[i].name, path, sizeof path);
            if (rc == 0 && i == 0) {
                rc = write_jpeg_img(path, &im, JCS_RGB, JCS_UNKNOWN, 95, -1, -1, NULL, 0, icc,
                                    icc_len);
            } else if (rc == 0) {
                img_rows r = {&im, 8};
                png_spec sp = {
                    .w = im.w, .h = im.h, .color_type = PNG_COLOR_TYPE_RGB, .depth = 8,
                    .icc = icc, .icc_len = icc_len, .zlevel = -1, .row = img_row, .ud = &r,
                };
                rc = write_png(path, &sp);
            }
            img_free(&im);
        }
        free(icc);
        if (rc != 0)
            return -1;
        exp_image(g, v[i].name, "color", v[i].fmt, 256, 256, 256, 256, 1, false);
        exp_kv(g, "meta=icc icc=permuted-primaries,gamma-%.1f intent=relative", v[i].gamma);
        exp_quad_probes(g, ref, 3);
        exp_end(g);
        g->files++;
    }
    return 0;
}

/* gen_alpha: alpha/rgba.png. */
static int gen_alpha_rgba(gen *g)
{
    char path[PATH_MAX];
    const int W = 256, H = 256, band0 = 96, band1 = 160;
    static const int wa[4] = {255, 255, 255, 255}, tr[4] = {0, 0, 0, 0},
                     half[4] = {255, 255, 255, 128};

    /* rgba.png: left half opaque white; right half transparent black, with a
     * band of 50% white across its middle. Carries tEXt, iTXt (XMP), eXIf. */
    img im;
    if (img_new(&im, W, H, 4) != 0)
        return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t *p = img_px(&im, x, y);
            if (x < W / 2)
                p[0] = p[1] = p[2] = p[3] = 255;
            else if (y >= band0 && y < band1) {
                p[0] = p[1] = p[2] = 255;
                p[3] = 128;
            }
        }
    uint8_t tiff[EXIF_MAX];
    size_t tl = build_tiff(tiff, 1);
    png_text text[2] = {
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment",
         .text = (char *)comment_text},
        {.compression = PNG_ITXT_COMPRESSION_NONE, .key = "XML:com.adobe.xmp",
         .text = (char *)xmp_packet, .lang = "", .lang_key = ""},
    };
    img_rows r = {&im, 8};
    png_spec sp = {
        .w = W, .h = H, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 8,
        .exif = tiff, .exif_len = (unsigned)tl, .text = text, .ntext = 2, .zlevel = -1,
        .row = img_row, .ud = &r,
    };
    int rc = gen_path(g, "alpha/rgba.png", path, sizeof path);
    if (rc == 0)
        rc = write_png(path, &sp);
    img_free(&im);
    if (rc != 0)
        return -1;
    exp_image(g, "alpha/rgba.png", "alpha", "png", W, H, W, H, 1, true);
    exp_kv(g, "meta=exif,gps,text,xmp fringe=255,255,255");
    exp_probe(g, 0.25, 0.25, wa, 4);
    exp_probe(g, 0.25, 0.75, wa, 4);
    exp_probe(g, 0.25, 0.5, wa, 4);
    exp_probe(g, 0.8, 0.2, tr, 4);
    exp_probe(g, 0.8, 0.8, tr, 4);
    exp_probe(g, 0.8, 0.5, half, 4);
    exp_end(g);
    g->files++;
    return 0;
}

/* gen_alpha: alpha/ga.png. */
static int gen_alpha_ga(gen *g)
{
    char path[PATH_MAX];
    const int W = 256, H = 256, band0 = 96, band1 = 160;
    static const int tr[4] = {0, 0, 0, 0};
    img im;
    int rc;
    /* ga.png: gray 200 opaque on the left, transparent black on the right,
     * a 50% band of gray 200 across the right half. */
    if (img_new(&im, W, H, 2) != 0)
        return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t *p = img_px(&im, x, y);
            if (x < W / 2) {
                p[0] = 200;
                p[1] = 255;
            } else if (y >= band0 && y < band1) {
                p[0] = 200;
                p[1] = 128;
            }
        }
    rc = gen_path(g, "alpha/ga.png", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false);
    img_free(&im);
    if (rc != 0)
        return -1;
    static const int g200[4] = {200, 200, 200, 255}, g200h[4] = {200, 200, 200, 128};
    exp_image(g, "alpha/ga.png", "alpha", "png", W, H, W, H, 1, true);
    exp_kv(g, "fringe=200,200,200");
    exp_probe(g, 0.25, 0.25, g200, 4);
    exp_probe(g, 0.25, 0.75, g200, 4);
    exp_probe(g, 0.8, 0.2, tr, 4);
    exp_probe(g, 0.8, 0.8, tr, 4);
    exp_probe(g, 0.8, 0.5, g200h, 4);
    exp_end(g);
    g->files++;
    return 0;
}

/* gen_alpha: alpha/palette_trns.png. */
static int gen_alpha_palette(gen *g)
{
    char path[PATH_MAX];
    const int W = 256, H = 256;
    img im;
    int rc;
    img_rows r;
    png_spec sp;
    /* palette_trns.png: 8-bit palette; TL red, TR transparent (black), BL
     * magenta, BR yellow at 50%. Every visible colour has R = 255. */
    static const png_color pal[4] = {{255, 0, 0}, {0, 0, 0}, {255, 0, 255}, {255, 255, 0}};
    static const png_byte trns[4] = {255, 0, 255, 128};
    static const int pq[4][4] = {{0}, {1}, {2}, {3}};
    if (img_quads(&im, W, H, 1, pq) != 0)
        return -1;
    r = (img_rows){&im, 8};
    sp = (png_spec){
        .w = W, .h = H, .color_type = PNG_COLOR_TYPE_PALETTE, .depth = 8, .pal = pal,
        .npal = 4, .trns = trns, .ntrns = 4, .zlevel = -1, .row = img_row, .ud = &r,
    };
    rc = gen_path(g, "alpha/palette_trns.png", path, sizeof path);
    if (rc == 0)
        rc = write_png(path, &sp);
    img_free(&im);
    if (rc != 0)
        return -1;
    int pref[4][4];
    for (int i = 0; i < 4; i++) {
        pref[i][0] = pal[i].red;
        pref[i][1] = pal[i].green;
        pref[i][2] = pal[i].blue;
        pref[i][3] = trns[i];
    }
    exp_image(g, "alpha/palette_trns.png", "alpha", "png", W, H, W, H, 1, true);
    exp_kv(g, "fringe=255,0,0");
    exp_quad_probes(g, pref, 4);
    exp_end(g);
    g->files++;
    return 0;
}

/* gen_alpha: alpha/rgba16.png. */
static int gen_alpha_rgba16(gen *g)
{
    char path[PATH_MAX];
    const int W = 256, H = 256, band0 = 96, band1 = 160;
    static const int tr[4] = {0, 0, 0, 0};
    img im;
    int rc;
    /* rgba16.png: 16-bit RGBA; samples whose high and low bytes differ (a
     * decoder that takes the wrong byte gets other colours). Left half
     * opaque (0xFF00, 0x80FF, 0x00C0), right half transparent black, a
     * band at alpha 0x8000 across the right half. */
    if (img_new(&im, W, H, 4) != 0)
        return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t *p = img_px(&im, x, y);
            if (x < W / 2 || (y >= band0 && y < band1)) {
                p[0] = 0xFF00;
                p[1] = 0x80FF;
                p[2] = 0x00C0;
                p[3] = x < W / 2 ? 0xFFFF : 0x8000;
            }
        }
    rc = gen_path(g, "alpha/rgba16.png", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_RGB_ALPHA, 16, false);
    img_free(&im);
    if (rc != 0)
        return -1;
    /* 16 -> 8 bits: round(v / 257). */
    static const int o16[4] = {254, 129, 1, 255}, o16h[4] = {254, 129, 1, 128};
    exp_image(g, "alpha/rgba16.png", "alpha", "png", W, H, W, H, 1, true);
    exp_kv(g, "fringe=254,129,0");
    exp_probe(g, 0.25, 0.25, o16, 4);
    exp_probe(g, 0.25, 0.75, o16, 4);
    exp_probe(g, 0.8, 0.2, tr, 4);
    exp_probe(g, 0.8, 0.8, tr, 4);
    exp_probe(g, 0.8, 0.5, o16h, 4);
    exp_end(g);
    g->files++;
    return 0;
}

int gen_alpha(gen *g)
{
    if (gen_alpha_rgba(g) || gen_alpha_ga(g) || gen_alpha_palette(g) || gen_alpha_rgba16(g))
        return -1;
    return 0;
}
