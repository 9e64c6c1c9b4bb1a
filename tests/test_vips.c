/* End-to-end tests of the libvips engine, part 1: every format in and out, the
 * encoders, agreement with the built-in decoders (helpers: vips_util.h). */
#include "vips_util.h"

/* PSNR thresholds for --engine native against --engine vips (test_agreement).
 *
 * The two engines are different implementations of one contract, so their
 * thumbnails are not byte-identical: thumbd's native path shrinks in the DCT
 * (JPEG) then box-averages, then resamples with stb_image_resize's default
 * downsampling filter (Mitchell, a cubic with B = C = 1/3); libvips shrinks
 * on load too but then reduces with lanczos3, which is sharper and rings at
 * edges. Chroma upsampling of 4:2:0 JPEGs differs (libjpeg's fancy
 * upsampling against libvips's), and so do the exact centre of the cover
 * crop and rounding. On a flat area this is ~0; on hard edges the two
 * kernels differ by tens of levels over a pixel or two. On the photo-like
 * images below (smooth gradients, two hard-edged shapes, +-8 levels of
 * texture), vipsthumbnail against the native path measures 38-51 dB;
 * thumbd's libvips engine as of this writing measures 31-37 dB, because it
 * also runs untagged images through an sRGB ICC export that shifts
 * saturated colours (see test_formats). 30 dB (RMS error 8 levels) is still
 * "the same picture", while a real defect (not rotated, channels swapped,
 * alpha ignored, a shifted crop) drops below 20 dB.
 *
 * CMYK is different: a CMYK JPEG without a profile has no defined colours.
 * thumbd's native path converts it with the naive formula
 * (R = 255 - min(255, C + K)...), as the README says; libvips converts it
 * through its built-in CMYK profile (a press profile, whose inks are far
 * less saturated), as vipsengine.h says. The two differ by design, by up to
 * ~80 levels in saturated areas: measured 21.2-21.6 dB on cmyk.jpg (also
 * with vipsthumbnail). That case gets its own threshold, PSNR_CMYK, 3 dB
 * under the measurement, which still catches what would be a bug either way
 * (the native thumbnail against its own inverse, CMYK read with the wrong
 * Adobe convention: 6.7 dB; against itself with R and B swapped: 13.7 dB);
 * its dimensions must agree like the others. */
#define PSNR_MIN 30.0

#define PSNR_CMYK 18.0

static bool has_bytes(const uint8_t *d, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(d + i, needle, k))
            return true;
    return false;
}

/* With alpha: opaque, transparent, half, opaque. */
static const rgba Q_ALPHA[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 0}, {40, 60, 210, 128}, {235, 215, 40, 255}};

/* GIF transparency is all or nothing: two transparent quadrants. */
static const rgba Q_GIF[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 0}, {40, 60, 210, 0}, {235, 215, 40, 255}};

/* The quadrants in 16 bits per sample: high byte the colour, low byte 128,
 * so that a loader taking the wrong byte sees 128 everywhere. */
static VipsImage *quad_image16(int w, int h, const rgba q[4])
{
    size_t n = (size_t)w * (size_t)h * 3;
    uint16_t *px = malloc(n * sizeof *px);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const rgba *c = &q[(y >= h / 2) * 2 + (x >= w / 2)];
            uint16_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            o[0] = (uint16_t)(c->r * 256 + 128);
            o[1] = (uint16_t)(c->g * 256 + 128);
            o[2] = (uint16_t)(c->b * 256 + 128);
        }
    VipsImage *im = wrap(px, n * sizeof *px, w, h, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16);
    free(px);
    return im;
}

/* A copy of in, rotated so that orientation 6 (rotate 90 degrees clockwise to
 * display) makes it in again, tagged with orientation 6. Unrefs in. */
static VipsImage *store_as_orientation6(VipsImage *in)
{
    VipsImage *r, *out;
    if (vips_rot(in, &r, VIPS_ANGLE_D270, NULL))
        vips_die("vips_rot");
    if (vips_copy(r, &out, NULL))
        vips_die("vips_copy");
    g_object_unref(r);
    g_object_unref(in);
    vips_image_set_int(out, "orientation", 6);
    return out;
}

/* The metadata fields libvips finds in a file that a thumbnail must not
 * carry; NULL if there is none, else the first one's name (in buf). */
static const char *metadata_field(const char *path, char *buf, size_t cap)
{
    VipsImage *im = vips_image_new_from_file(path, NULL);
    if (!im) {
        vips_error_clear();
        snprintf(buf, cap, "(unreadable)");
        return buf;
    }
    gchar **f = vips_image_get_fields(im);
    const char *found = NULL;
    for (int i = 0; f && f[i] && !found; i++)
        if (!strcmp(f[i], "exif-data") || !strcmp(f[i], "xmp-data") ||
            !strcmp(f[i], "icc-profile-data") || !strcmp(f[i], "iptc-data") ||
            !strcmp(f[i], "orientation") || !strncmp(f[i], "exif-", 5) ||
            !strncmp(f[i], "png-comment", 11) || !strcmp(f[i], "gif-comment")) {
            snprintf(buf, cap, "%s", f[i]);
            found = buf;
        }
    g_strfreev(f);
    g_object_unref(im);
    return found;
}

/* The header of a file as libvips reads it: size, pages, orientation. */
static void header_of(const char *path, int *w, int *h, int *pages, int *orient)
{
    VipsImage *im = vips_image_new_from_file(path, NULL);
    if (!im)
        vips_die(path);
    *w = vips_image_get_width(im);
    *h = vips_image_get_height(im);
    *pages = vips_image_get_n_pages(im);
    if (vips_image_get_int(im, "orientation", orient))
        *orient = 1;
    vips_error_clear();
    g_object_unref(im);
}

/* out_rel's name with the extension replaced. */
static void with_ext(char *buf, size_t n, const char *name, const char *ext)
{
    const char *dot = strrchr(name, '.');
    int stem = dot ? (int)(dot - name) : (int)strlen(name);
    snprintf(buf, n, "%.*s%s", stem, name, ext);
}

/* ------------------------------------------------------------------------ */
/* 1. Formats through the libvips engine                                     */

typedef struct fcase {
    const char *name;
    int sw, sh;        /* as stored */
    int dw, dh;        /* upright */
    const rgba *q;     /* quadrants, upright */
    int tol;
    bool alpha;        /* output PNG with alpha */
    int pages, orient; /* what the file must carry */
    bool present;
} fcase;

static void make_format_inputs(const char *dir, fcase *c, int n)
{
    char p[PATH_MAX];
    for (int i = 0; i < n; i++) {
        const char *nm = c[i].name;
        path_in(p, sizeof p, dir, nm);
        c[i].present = true;
        if (!strcmp(nm, "webp_lossy.webp")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "webp_lossless.webp")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_webpsave(im, p, "lossless", TRUE, NULL));
        } else if (!strcmp(nm, "webp_alpha.webp")) {
            VipsImage *im = quad_image(400, 300, Q_ALPHA, 4);
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "webp_orient6.webp")) {
            VipsImage *im = store_as_orientation6(quad_image(400, 300, Q_OPAQUE, 3));
            SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
        } else if (!strcmp(nm, "tiff_rgb8.tif")) {
            VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_rgb16.tif")) {
            VipsImage *im = quad_image16(400, 300, Q_OPAQUE);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_pages.tif")) {
            VipsImage *pg[3] = {quad_image(400, 300, Q_OPAQUE, 3), solid_image(400, 300, MAGENTA, 3),
                                solid_image(400, 300, CYAN, 3)};
            VipsImage *im = join_pages(pg, 3);
            SAVE(im, vips_tiffsave(im, p, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL));
        } else if (!strcmp(nm, "tiff_orient6.tif")) {
            VipsImage *im = store_as_orientation6(quad_image(400, 300, Q_OPAQUE, 3));
            SAVE(im, vips_tiffsave(im, p, NULL));
        } else if (!strcmp(nm, "gif_anim.gif")) {
            VipsImage *pg[3] = {quad_image(400, 300, Q_OPAQUE, 3), solid_image(400, 300, MAGENTA, 3),
                                solid_image(400, 300, CYAN, 3)};
            VipsImage *im = join_pages(pg, 3);
            SAVE(im, vips_gifsave(im, p, NULL));
        } else if (!strcmp(nm, "gif_alpha.gif")) {
            VipsImage *im = quad_image(400, 300, Q_GIF, 4);
            SAVE(im, vips_gifsave(im, p, NULL));
        } else if (!strcmp(nm, "avif_quad.avif")) {
            c[i].present = g_avif_ok;
            if (g_avif_ok) {
                VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
                SAVE(im, vips_heifsave(im, p, "Q", 90, "compression",
                                       VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL));
            }
        } else if (!strcmp(nm, "heif_quad.heic")) {
            c[i].present = g_heic_ok;
            if (g_heic_ok) {
                VipsImage *im = quad_image(400, 300, Q_OPAQUE, 3);
                SAVE(im, vips_heifsave(im, p, "Q", 90, "compression",
                                       VIPS_FOREIGN_HEIF_COMPRESSION_HEVC, NULL));
            }
        } else {
            fail_msg("no generator for %s", nm);
        }
    }
}

/* The generator did what it says: sizes, pages, orientation tags. The
 * number of cases this libvips could write. */
static int check_format_inputs(const char *in, const fcase *cases, int nc)
{
    int present = 0;
    for (int i = 0; i < nc; i++) {
        if (!cases[i].present) {
            printf("  %s: skipped, this libvips cannot write it\n", cases[i].name);
            CHECK(!test_strict(), "%s: not tested (THUMBD_TEST_STRICT=1)", cases[i].name);
            continue;
        }
        present++;
        char p[PATH_MAX];
        int w, h, pages, orient;
        path_in(p, sizeof p, in, cases[i].name);
        header_of(p, &w, &h, &pages, &orient);
        CHECK(w == cases[i].sw && h == cases[i].sh && pages == cases[i].pages &&
                  orient == cases[i].orient,
              "generator: %s is %dx%d, %d pages, orientation %d; want %dx%d, %d, %d",
              cases[i].name, w, h, pages, orient, cases[i].sw, cases[i].sh, cases[i].pages,
              cases[i].orient);
    }
    return present;
}

static void test_formats(void **state)
{
    (void)state;
    begin_checks();
    fcase cases[] = {
        {"webp_lossy.webp", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
        {"webp_lossless.webp", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"webp_alpha.webp", 400, 300, 400, 300, Q_ALPHA, TOL_LOSSY, true, 1, 1, false},
        {"webp_orient6.webp", 300, 400, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 6, false},
        {"tiff_rgb8.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"tiff_rgb16.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 1, false},
        {"tiff_pages.tif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 3, 1, false},
        {"tiff_orient6.tif", 300, 400, 400, 300, Q_OPAQUE, TOL_EXACT, false, 1, 6, false},
        {"gif_anim.gif", 400, 300, 400, 300, Q_OPAQUE, TOL_EXACT, false, 3, 1, false},
        {"gif_alpha.gif", 400, 300, 400, 300, Q_GIF, TOL_EXACT, true, 1, 1, false},
        {"avif_quad.avif", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
        {"heif_quad.heic", 400, 300, 400, 300, Q_OPAQUE, TOL_LOSSY, false, 1, 1, false},
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    char in[PATH_MAX];
    make_dir(in, sizeof in, "formats");
    make_format_inputs(in, cases, NC);

    /* The generator did what it says: sizes, pages, orientation tags. */
    int present = check_format_inputs(in, cases, NC);

    static const struct {
        const char *tag;
        const char *opts[4];
        bool inside;
    } runs[] = {
        {"formats-cover", {NULL}, false},
        {"formats-inside", {"--fit", "inside", NULL}, true},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        runres rr = run_thumbd(tag, runs[k].opts, in, out, rp);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == present, "[%s] %d records, want %d", tag, rep.n, present);
        for (int i = 0; i < NC; i++) {
            const fcase *c = &cases[i];
            if (!c->present)
                continue;
            const rec *r = ok_rec(tag, &rep, c->name);
            if (!r)
                continue;
            char want_out[256], what[600], p[PATH_MAX * 2];
            with_ext(want_out, sizeof want_out, c->name, c->alpha ? ".png" : ".jpg");
            CHECK(!strcmp(r->out, want_out), "[%s] %s: out %s, want %s", tag, c->name, r->out,
                  want_out);
            int ww = BOX, wh = BOX;
            if (runs[k].inside) {
                /* aspect kept: the upright 400x300 into 200x200 */
                ww = BOX;
                wh = (int)lround((double)BOX * c->dh / c->dw);
            }
            CHECK(r->out_w == ww && r->out_h == wh, "[%s] %s: out_w x out_h %ldx%ld, want %dx%d",
                  tag, c->name, r->out_w, r->out_h, ww, wh);
            CHECK(r->src_w == c->sw && r->src_h == c->sh,
                  "[%s] %s: src_w x src_h %ldx%ld, want %dx%d (as stored)", tag, c->name, r->src_w,
                  r->src_h, c->sw, c->sh);
            path_in(p, sizeof p, out, r->out);
            pix px;
            if (!pix_load(p, &px)) {
                CHECK(false, "[%s] %s: thumbnail %s unreadable", tag, c->name, r->out);
                continue;
            }
            CHECK(px.w == ww && px.h == wh, "[%s] %s: thumbnail is %dx%d, want %dx%d", tag,
                  c->name, px.w, px.h, ww, wh);
            CHECK(pix_alpha(&px) == c->alpha, "[%s] %s: thumbnail has %d bands, alpha %s", tag,
                  c->name, px.bands, c->alpha ? "expected" : "not expected");
            snprintf(what, sizeof what, "[%s] %s", tag, c->name);
            if (px.w == ww && px.h == wh)
                check_quadrants(what, &px, c->q, c->tol);
            pix_free(&px);
        }
        free_report(&rep);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 2. --format webp / avif                                                   */

/* Walks the RIFF chunks of a WebP: only image data (VP8, VP8L, VP8X, ALPH)
 * is allowed, and VP8X must not announce ICC, EXIF or XMP. */
static const char *webp_problem(const uint8_t *d, size_t n, char *buf, size_t cap)
{
    if (n < 20 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WEBP", 4))
        return "no RIFF....WEBP signature";
    uint32_t riff = (uint32_t)d[4] | (uint32_t)d[5] << 8 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24;
    if ((size_t)riff + 8 != n) {
        snprintf(buf, cap, "RIFF size %u but file is %zu bytes", riff, n);
        return buf;
    }
    for (size_t at = 12; at + 8 <= n;) {
        const uint8_t *ch = d + at;
        uint32_t len = (uint32_t)ch[4] | (uint32_t)ch[5] << 8 | (uint32_t)ch[6] << 16 |
                       (uint32_t)ch[7] << 24;
        if (memcmp(ch, "VP8 ", 4) && memcmp(ch, "VP8L", 4) && memcmp(ch, "VP8X", 4) &&
            memcmp(ch, "ALPH", 4)) {
            snprintf(buf, cap, "chunk '%.4s'", (const char *)ch);
            return buf;
        }
        if (!memcmp(ch, "VP8X", 4) && len >= 1 && (ch[8] & 0x2C)) {
            snprintf(buf, cap, "VP8X flags 0x%02x announce ICC/EXIF/XMP", ch[8]);
            return buf;
        }
        at += 8 + (size_t)len + (len & 1);
    }
    return NULL;
}

static const char *avif_problem(const uint8_t *d, size_t n)
{
    if (n < 12 || memcmp(d + 4, "ftypavif", 8))
        return "no ftypavif signature";
    if (has_bytes(d, n, "colrprof", 8) || has_bytes(d, n, "colrrICC", 8))
        return "an ICC profile (colr prof)";
    return NULL;
}

/* A source of test_encoders: name, quadrant colours, alpha. */
typedef struct enc_src {
    const char *name;
    const rgba *q;
    bool alpha;
} enc_src;

/* Writes the ns sources into in with every kind of metadata and checks that
 * libvips reads it all back. */
static void write_encoder_sources(const char *in, const enc_src *src, int ns)
{
    char p[PATH_MAX];
    /* Sources with every kind of metadata: EXIF (libvips writes it from the
     * orientation), XMP holding a secret, an ICC profile (sRGB). */
    static const char xmp[] =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>thumbd-vips secret</dc:title>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>";
    VipsBlob *icc = NULL;
    if (vips_profile_load("srgb", &icc, NULL))
        vips_die("vips_profile_load");
    size_t icc_len = 0;
    const void *icc_data = vips_blob_get(icc, &icc_len);
    for (int i = 0; i < ns; i++) {
        VipsImage *im = quad_image(400, 300, src[i].q, src[i].alpha ? 4 : 3);
        vips_image_set_int(im, "orientation", 1);
        vips_image_set_blob_copy(im, "xmp-data", xmp, sizeof xmp - 1);
        vips_image_set_blob_copy(im, "icc-profile-data", icc_data, icc_len);
        path_in(p, sizeof p, in, src[i].name);
        if (strstr(src[i].name, ".jpg"))
            SAVE(im, vips_jpegsave(im, p, "Q", 95, NULL));
        else
            SAVE(im, vips_pngsave(im, p, NULL));
        /* The source really carries it all (libvips reads it back). */
        VipsImage *back = vips_image_new_from_file(p, NULL);
        if (!back)
            vips_die(p);
        CHECK(vips_image_get_typeof(back, "xmp-data") && vips_image_get_typeof(back, "icc-profile-data") &&
                  (!strstr(src[i].name, ".jpg") || vips_image_get_typeof(back, "exif-data")),
              "generator: %s lacks some of its metadata", src[i].name);
        g_object_unref(back);
    }
    vips_area_unref((VipsArea *)icc);
}

/* One record of an encoder run (tag, output extension ext, AVIF or WebP):
 * the thumbnail's name, format, stripped metadata, size, alpha and colours. */
static void check_encoded(const char *tag, const char *ext, bool avif, const char *out, const rec *r,
                          const enc_src *s)
{
    char want_out[256], what[600], fp[PATH_MAX * 2], buf[96];
    with_ext(want_out, sizeof want_out, s->name, ext);
    CHECK(!strcmp(r->out, want_out), "[%s] %s: out %s, want %s", tag, s->name, r->out,
          want_out);
    path_in(fp, sizeof fp, out, r->out);
    uint8_t *d;
    size_t n;
    if (read_file(fp, &d, &n) != 0) {
        CHECK(false, "[%s] %s: no thumbnail at %s", tag, s->name, r->out);
        return;
    }
    const char *why = avif ? avif_problem(d, n) : webp_problem(d, n, buf, sizeof buf);
    CHECK(!why, "[%s] %s: %s", tag, r->out, why);
    CHECK(!has_bytes(d, n, "thumbd-vips secret", 18) && !has_bytes(d, n, "Exif", 4) &&
              !has_bytes(d, n, "http://ns.adobe.com/xap", 23) &&
              !has_bytes(d, n, "acsp", 4),
          "[%s] %s: holds the source's metadata (XMP, Exif or an ICC profile)", tag, r->out);
    free(d);
    why = metadata_field(fp, buf, sizeof buf);
    CHECK(!why, "[%s] %s: libvips finds metadata '%s'", tag, r->out, why);
    pix px;
    if (!pix_load(fp, &px)) {
        CHECK(false, "[%s] %s: unreadable", tag, r->out);
        return;
    }
    CHECK(px.w == BOX && px.h == BOX && r->out_w == BOX && r->out_h == BOX,
          "[%s] %s: %dx%d (report %ldx%ld), want %dx%d", tag, r->out, px.w, px.h, r->out_w,
          r->out_h, BOX, BOX);
    CHECK(pix_alpha(&px) == s->alpha, "[%s] %s: %d bands, alpha %s", tag, r->out,
          px.bands, s->alpha ? "expected" : "not expected");
    snprintf(what, sizeof what, "[%s] %s", tag, r->out);
    if (px.w == BOX && px.h == BOX)
        check_quadrants(what, &px, s->q, TOL_LOSSY);
    pix_free(&px);
}

static void test_encoders(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX];
    make_dir(in, sizeof in, "encode");
    static const enc_src src[] = {
        {"photo.jpg", Q_OPAQUE, false},
        {"alpha.png", Q_ALPHA, true},
        {"plain.png", Q_OPAQUE, false},
    };
    enum { NS = sizeof src / sizeof src[0] };
    write_encoder_sources(in, src, NS);

    static const struct {
        const char *tag, *format, *engine, *ext;
    } runs[] = {
        {"enc-webp-auto", "webp", "auto", ".webp"},
        {"enc-webp-vips", "webp", "vips", ".webp"},
        {"enc-avif-auto", "avif", "auto", ".avif"},
        {"enc-avif-vips", "avif", "vips", ".avif"},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        bool avif = !strcmp(runs[k].format, "avif");
        if (avif && !g_avif_ok) {
            printf("  [%s] skipped: this libvips cannot write AVIF\n", tag);
            continue;
        }
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--format", runs[k].format, "--engine", runs[k].engine, NULL};
        runres rr = run_thumbd(tag, opts, in, out, rp);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == NS, "[%s] %d records, want %d", tag, rep.n, (int)NS);
        for (int i = 0; i < NS; i++) {
            const rec *r = ok_rec(tag, &rep, src[i].name);
            if (!r)
                continue;
            check_encoded(tag, runs[k].ext, avif, out, r, &src[i]);
        }
        free_report(&rep);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 3. --engine native against --engine vips                                  */

static void make_agreement_inputs(const char *dir)
{
    char p[PATH_MAX];
    VipsImage *im;

    im = photo_image(1200, 900, 1);
    path_in(p, sizeof p, dir, "photo.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    im = photo_image(1001, 667, 2); /* odd sizes: rounding of --fit inside */
    path_in(p, sizeof p, dir, "odd.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    im = photo_image(333, 1000, 3);
    path_in(p, sizeof p, dir, "tall.png");
    SAVE(im, vips_pngsave(im, p, NULL));

    /* EXIF orientation 6: stored 600x800, upright 800x600. */
    im = store_as_orientation6(photo_image(800, 600, 4));
    path_in(p, sizeof p, dir, "rot6.jpg");
    SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));

    /* RGBA: a horizontal alpha ramp, an opaque rectangle, a transparent disc. */
    {
        int w = 800, h = 600;
        uint8_t *rgb = photo_rgb(w, h, 5), *px = malloc((size_t)w * (size_t)h * 4);
        assert_non_null(px);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * (size_t)w + (size_t)x;
                double u = (double)x / w, v = (double)y / h;
                int a = (int)(255 * u);
                if (u > 0.05 && u < 0.3 && v > 0.1 && v < 0.4)
                    a = 255;
                if (hypot(u - 0.75, v - 0.3) < 0.12)
                    a = 0;
                memcpy(px + i * 4, rgb + i * 3, 3);
                px[i * 4 + 3] = (uint8_t)a;
            }
        im = wrap(px, (size_t)w * (size_t)h * 4, w, h, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "rgba.png");
        SAVE(im, vips_pngsave(im, p, NULL));
    }

    /* Gray: the luma of a photo. */
    {
        int w = 640, h = 480;
        uint8_t *rgb = photo_rgb(w, h, 6), *px = malloc((size_t)w * (size_t)h);
        assert_non_null(px);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            px[i] = clamp8(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]);
        im = wrap(px, (size_t)w * (size_t)h, w, h, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "gray.png");
        SAVE(im, vips_pngsave(im, p, NULL));
    }

    /* CMYK without a profile (libjpeg writes Adobe's APP14 marker, and
     * libvips Adobe's inverted convention): the photo in naive CMYK. */
    {
        int w = 1000, h = 750;
        uint8_t *rgb = photo_rgb(w, h, 7), *px = malloc((size_t)w * (size_t)h * 4);
        assert_non_null(px);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
            int r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
            int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
            int k = 255 - mx;
            uint8_t *o = px + i * 4;
            for (int c = 0; c < 3; c++) {
                int v = c == 0 ? r : c == 1 ? g : b;
                o[c] = (uint8_t)(mx ? (255 * (mx - v) + mx / 2) / mx : 0);
            }
            o[3] = (uint8_t)k;
        }
        im = wrap(px, (size_t)w * (size_t)h * 4, w, h, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_CMYK);
        free(px);
        free(rgb);
        path_in(p, sizeof p, dir, "cmyk.jpg");
        SAVE(im, vips_jpegsave(im, p, "Q", 92, NULL));
    }
}

static void test_agreement(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX];
    make_dir(in, sizeof in, "agree");
    make_agreement_inputs(in);
    static const char *const names[] = {"photo.jpg", "odd.jpg", "tall.png", "rot6.jpg",
                                        "rgba.png",  "gray.png", "cmyk.jpg"};
    enum { NN = sizeof names / sizeof names[0] };
    char p[PATH_MAX];
    {
        int w, h, pages, orient;
        path_in(p, sizeof p, in, "rot6.jpg");
        header_of(p, &w, &h, &pages, &orient);
        CHECK(orient == 6, "generator: rot6.jpg has orientation %d", orient);
        path_in(p, sizeof p, in, "cmyk.jpg");
        VipsImage *im = vips_image_new_from_file(p, NULL);
        if (!im)
            vips_die(p);
        CHECK(vips_image_get_interpretation(im) == VIPS_INTERPRETATION_CMYK &&
                  !vips_image_get_typeof(im, "icc-profile-data"),
              "generator: cmyk.jpg is not a CMYK JPEG without a profile");
        g_object_unref(im);
    }
    /* PNG output for both: compare the engines, not our JPEG encoder twice. */
    static const char *const fits[] = {"cover", "inside"};
    printf("  PSNR native vs vips, dB (threshold %.0f; CMYK %.0f):\n", PSNR_MIN, PSNR_CMYK);
    for (int f = 0; f < 2; f++) {
        char out[2][PATH_MAX], rp[2][PATH_MAX], tag[2][64];
        report rep[2];
        static const char *const engines[] = {"native", "vips"};
        for (int e = 0; e < 2; e++) {
            snprintf(tag[e], sizeof tag[e], "agree-%s-%s", fits[f], engines[e]);
            out_dir(out[e], sizeof out[e], tag[e]);
            snprintf(rp[e], sizeof rp[e], "%s/%s.jsonl", g_tmp, tag[e]);
            const char *opts[] = {"--engine", engines[e], "--fit", fits[f], "--format", "png", NULL};
            runres rr = run_thumbd(tag[e], opts, in, out[e], rp[e]);
            check_exit(tag[e], rr, 0);
            load_report(rp[e], &rep[e]);
        }
        for (int i = 0; i < NN; i++) {
            const rec *r0 = ok_rec(tag[0], &rep[0], names[i]);
            const rec *r1 = ok_rec(tag[1], &rep[1], names[i]);
            if (!r0 || !r1)
                continue;
            CHECK(r0->out_w == r1->out_w && r0->out_h == r1->out_h,
                  "[agree-%s] %s: native %ldx%ld, vips %ldx%ld", fits[f], names[i], r0->out_w,
                  r0->out_h, r1->out_w, r1->out_h);
            pix a, b;
            char pa[PATH_MAX * 2], pb[PATH_MAX * 2];
            path_in(pa, sizeof pa, out[0], r0->out);
            path_in(pb, sizeof pb, out[1], r1->out);
            bool la = pix_load(pa, &a), lb = pix_load(pb, &b);
            CHECK(la && lb, "[agree-%s] %s: a thumbnail is unreadable", fits[f], names[i]);
            if (la && lb && a.w == b.w && a.h == b.h) {
                double db = psnr(&a, &b);
                double min = strstr(names[i], "cmyk") ? PSNR_CMYK : PSNR_MIN;
                printf("    %-7s %-9s %4dx%-4d %5.1f\n", fits[f], names[i], a.w, a.h, db);
                CHECK(db >= min, "[agree-%s] %s: PSNR %.1f dB, want >= %.0f", fits[f], names[i], db,
                      min);
            } else if (la && lb) {
                CHECK(false, "[agree-%s] %s: decoded sizes differ: %dx%d vs %dx%d", fits[f],
                      names[i], a.w, a.h, b.w, b.h);
            }
            if (la)
                pix_free(&a);
            if (lb)
                pix_free(&b);
        }
        free_report(&rep[0]);
        free_report(&rep[1]);
    }
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_agreement),
    };
    return vips_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
