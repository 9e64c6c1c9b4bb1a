/* thumbd_gen: the command line, and the ok/, size/ and big/ sets. */
#include "gen_util.h"

/* ------------------------------------------------------------------------ */
/* lcms2                                                                     */

static void lcms_log(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)ctx;
    fprintf(stderr, "thumbd_gen: lcms2 error %u: %s\n", (unsigned)code, text);
}

static int gen_ok(gen *g)
{
    char path[PATH_MAX];
    static const int q[4][4] = {{250, 120, 20}, {20, 120, 250}, {120, 250, 20}, {90, 30, 130}};
    int ref[4][4];
    for (int i = 0; i < 4; i++) {
        memcpy(ref[i], q[i], sizeof ref[i]);
        ref[i][3] = 255;
    }
    img im;
    if (img_quads(&im, 256, 256, 3, q) != 0)
        return -1;
    /* A valid PNG named .jpg: content decides, not the name. */
    int rc = gen_path(g, "ok/png_named.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_RGB, 8, false);
    if (rc == 0) {
        exp_image(g, "ok/png_named.jpg", "ok", "png", 256, 256, 256, 256, 1, false);
        exp_quad_probes(g, ref, 3);
        exp_end(g);
        g->files++;
        /* A .jpeg name: the thumbnail is named .jpg. */
        rc = gen_path(g, "ok/ext.jpeg", path, sizeof path);
    }
    if (rc == 0)
        rc = write_jpeg_rgb(path, &im);
    img_free(&im);
    if (rc != 0)
        return -1;
    exp_image(g, "ok/ext.jpeg", "ok", "jpeg", 256, 256, 256, 256, 1, false);
    exp_quad_probes(g, ref, 3);
    exp_end(g);
    g->files++;
    return 0;
}

static int gen_size(gen *g)
{
    char path[PATH_MAX];
    static const int q[4][4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    int ref[4][4];
    for (int i = 0; i < 4; i++) {
        memcpy(ref[i], q[i], sizeof ref[i]);
        ref[i][3] = 255;
    }
    struct {
        const char *name;
        int w, h;
        bool png;
    } v[3] = {
        {"size/wide.jpg", 1600, 400, false},
        {"size/tall.png", 300, 1200, true},
        {"size/small.jpg", 120, 80, false},
    };
    for (int i = 0; i < 3; i++) {
        img im;
        if (img_quads(&im, v[i].w, v[i].h, 3, q) != 0)
            return -1;
        int rc = gen_path(g, v[i].name, path, sizeof path);
        if (rc == 0)
            rc = v[i].png ? write_png_img(path, &im, PNG_COLOR_TYPE_RGB, 8, false)
                          : write_jpeg_rgb(path, &im);
        img_free(&im);
        if (rc != 0)
            return -1;
        exp_image(g, v[i].name, "size", v[i].png ? "png" : "jpeg", v[i].w, v[i].h, v[i].w,
                  v[i].h, 1, false);
        exp_quad_probes(g, ref, 3);
        /* Probes near the centre line too: --fit cover crops the quadrant
         * centres of a 4:1 image away. */
        for (int k = 0; k < 4 && v[i].w != v[i].h && i < 2; k++) {
            bool right = k & 1, bottom = k & 2;
            if (v[i].w > v[i].h)
                exp_probe(g, right ? 0.55 : 0.45, bottom ? 0.75 : 0.25, ref[k], 3);
            else
                exp_probe(g, right ? 0.75 : 0.25, bottom ? 0.55 : 0.45, ref[k], 3);
        }
        exp_end(g);
        g->files++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* --big                                                                     */

typedef struct big_rows {
    int w, h;
} big_rows;

/* Gradients, a checkerboard and rings: compresses, but is not trivial. */
static void big_row(void *ud, int y, uint8_t *row)
{
    const big_rows *b = ud;
    long cx = b->w / 2, cy = b->h / 2;
    for (int x = 0; x < b->w; x++) {
        long dx = x - cx, dy = y - cy;
        long d2 = dx * dx + dy * dy;
        uint8_t r = (uint8_t)((long)x * 255 / (b->w - 1));
        uint8_t gg = (uint8_t)((long)y * 255 / (b->h - 1));
        uint8_t bl = (((x >> 7) ^ (y >> 7)) & 1) ? 190 : 60;
        if ((d2 >> 16) & 4)
            r = (uint8_t)(255 - r);
        row[3 * x] = r;
        row[3 * x + 1] = gg;
        row[3 * x + 2] = bl;
    }
}

static int gen_big(gen *g)
{
    char path[PATH_MAX];
    big_rows bj = {10000, 10000};
    jpeg_spec js = {
        .w = bj.w, .h = bj.h, .nc = 3, .in_cs = JCS_RGB, .jpeg_cs = JCS_UNKNOWN,
        .quality = 85, .jfif = -1, .adobe = -1, .row = big_row, .ud = &bj,
    };
    if (gen_path(g, "big/big.jpg", path, sizeof path) || write_jpeg(path, &js))
        return -1;
    exp_image(g, "big/big.jpg", "big", "jpeg", bj.w, bj.h, bj.w, bj.h, 1, false);
    exp_end(g);
    g->files++;

    big_rows bp = {8000, 8000};
    png_spec ps = {
        .w = bp.w, .h = bp.h, .color_type = PNG_COLOR_TYPE_RGB, .depth = 8, .zlevel = 3,
        .row = big_row, .ud = &bp,
    };
    if (gen_path(g, "big/big.png", path, sizeof path) || write_png(path, &ps))
        return -1;
    exp_image(g, "big/big.png", "big", "png", bp.w, bp.h, bp.w, bp.h, 1, false);
    exp_end(g);
    g->files++;
    return 0;
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage: thumbd_gen [--big] [--samples] OUTDIR\n"
               "  (default)  the end-to-end test images and OUTDIR/expected.txt\n"
               "  --big      also big/big.jpg (10000x10000) and big/big.png (8000x8000)\n"
               "  --samples  only a few demo images (for the repository's testdata/)\n");
}

int main(int argc, char **argv)
{
    bool big = false, samples = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--big"))
            big = true;
        else if (!strcmp(argv[i], "--samples"))
            samples = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "thumbd_gen: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (dir) {
            fprintf(stderr, "thumbd_gen: more than one OUTDIR\n");
            usage(stderr);
            return 2;
        } else
            dir = argv[i];
    }
    if (!dir) {
        usage(stderr);
        return 2;
    }

    static gen g;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof g.dir) {
        fprintf(stderr, "thumbd_gen: OUTDIR too long\n");
        return 1;
    }
    memcpy(g.dir, dir, n);
    g.dir[n] = '\0';
    char probe[PATH_MAX];
    if (gen_path(&g, "x", probe, sizeof probe) != 0)
        return 1;
    if (mkdir(g.dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "thumbd_gen: cannot create %s: %s\n", g.dir, strerror(errno));
        return 1;
    }
    cmsSetLogErrorHandler(lcms_log);

    int rc;
    if (samples) {
        rc = gen_samples(&g);
    } else {
        char path[PATH_MAX];
        if (gen_path(&g, "expected.txt", path, sizeof path) != 0)
            return 1;
        g.expected = fopen(path, "w");
        if (!g.expected) {
            fprintf(stderr, "thumbd_gen: cannot create %s: %s\n", path, strerror(errno));
            return 1;
        }
        fprintf(g.expected,
                "# thumbd_gen expected values, format 1 (see tests/gen/gen_testdata.c)\n"
                "# NAME key=value ...; probe=FX,FY,R,G,B[,A] is the reference colour of the\n"
                "# upright image at (FX*dw, FY*dh); cmyk conv=naive: R=(255-C)(255-K)/255 on\n"
                "# ink values; icc: lcms2 profile -> sRGB, INTENT_RELATIVE_COLORIMETRIC\n"
                "# (identical to perceptual for these matrix/TRC profiles).\n");
        rc = gen_orient(&g);
        if (rc == 0)
            rc = gen_cmyk(&g);
        if (rc == 0)
            rc = gen_icc(&g);
        if (rc == 0)
            rc = gen_alpha(&g);
        if (rc == 0)
            rc = gen_png(&g);
        if (rc == 0)
            rc = gen_bad(&g);
        if (rc == 0)
            rc = gen_ok(&g);
        if (rc == 0)
            rc = gen_size(&g);
        if (rc == 0 && big)
            rc = gen_big(&g);
        int bad = ferror(g.expected);
        if (fclose(g.expected) != 0 || bad) {
            fprintf(stderr, "thumbd_gen: cannot write %s\n", path);
            rc = -1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "thumbd_gen: failed\n");
        return 1;
    }
    fprintf(stderr, "thumbd_gen: wrote %d files to %s\n", g.files, g.dir);
    return 0;
}
