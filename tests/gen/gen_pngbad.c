/* thumbd_gen: the png/ and bad/ sets. */
#include "gen_util.h"

#include "../file_read.h"

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "thumbd_gen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int bad = w != len || ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "thumbd_gen: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
    if (read_file(path, data, len) != 0) {
        fprintf(stderr, "thumbd_gen: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* One opaque PNG of four solid quadrants. q holds the samples written (grey
 * level, RGB, or palette index), ref the 8-bit sRGB reference colours. */
static int png_quads(gen *g, const char *name, int size, int color_type, int depth,
                     bool interlace, const int q[4][4], const png_color *pal, int npal,
                     const int ref[4][4])
{
    char path[PATH_MAX];
    img im;
    if (img_quads(&im, size, size, png_channels(color_type), q) != 0)
        return -1;
    img_rows r = {&im, depth};
    png_spec sp = {
        .w = size, .h = size, .color_type = color_type, .depth = depth,
        .interlace = interlace, .pal = pal, .npal = npal, .zlevel = -1, .row = img_row,
        .ud = &r,
    };
    int rc = gen_path(g, name, path, sizeof path);
    if (rc == 0)
        rc = write_png(path, &sp);
    img_free(&im);
    if (rc != 0)
        return -1;
    exp_image(g, name, "png", "png", size, size, size, size, 1, false);
    exp_kv(g, "depth=%d interlace=%d", depth, interlace ? 1 : 0);
    exp_quad_probes(g, ref, 3);
    exp_end(g);
    g->files++;
    return 0;
}

static void grey_ref(const int q[4][4], int maxval, int ref[4][4])
{
    for (int i = 0; i < 4; i++) {
        int v = (q[i][0] * 255 + maxval / 2) / maxval;
        ref[i][0] = ref[i][1] = ref[i][2] = v;
        ref[i][3] = 255;
    }
}

/* gen_png: grey at every depth, RGB 16-bit. */
static int gen_png_grey(gen *g)
{
    int ref[4][4];
    /* Grey at every depth. */
    static const int g1[4][4] = {{1}, {0}, {0}, {1}};
    static const int g2[4][4] = {{0}, {1}, {2}, {3}};
    static const int g4[4][4] = {{3}, {7}, {11}, {15}};
    static const int g8[4][4] = {{30}, {100}, {170}, {240}};
    static const int g16[4][4] = {{0x20FF}, {0x6000}, {0xA0A0}, {0xE0FF}};
    grey_ref(g1, 1, ref);
    if (png_quads(g, "png/gray1.png", 256, PNG_COLOR_TYPE_GRAY, 1, false, g1, NULL, 0, ref))
        return -1;
    grey_ref(g2, 3, ref);
    if (png_quads(g, "png/gray2.png", 256, PNG_COLOR_TYPE_GRAY, 2, false, g2, NULL, 0, ref))
        return -1;
    grey_ref(g4, 15, ref);
    if (png_quads(g, "png/gray4.png", 256, PNG_COLOR_TYPE_GRAY, 4, false, g4, NULL, 0, ref))
        return -1;
    grey_ref(g8, 255, ref);
    if (png_quads(g, "png/gray8.png", 256, PNG_COLOR_TYPE_GRAY, 8, false, g8, NULL, 0, ref))
        return -1;
    grey_ref(g16, 65535, ref);
    if (png_quads(g, "png/gray16.png", 256, PNG_COLOR_TYPE_GRAY, 16, false, g16, NULL, 0, ref))
        return -1;

    /* RGB 16-bit, high and low bytes different. */
    static const int c16[4][4] = {{0xFF00, 0x00FF, 0x0000},
                                  {0x0000, 0xFF00, 0x8000},
                                  {0x1000, 0x2000, 0xF0F0},
                                  {0xC0C0, 0xC0C0, 0x4000}};
    for (int i = 0; i < 4; i++) {
        for (int c = 0; c < 3; c++)
            ref[i][c] = (c16[i][c] * 255 + 32767) / 65535;
        ref[i][3] = 255;
    }
    if (png_quads(g, "png/rgb16.png", 256, PNG_COLOR_TYPE_RGB, 16, false, c16, NULL, 0, ref))
        return -1;
    return 0;
}

/* gen_png: palettes of every depth. */
static int gen_png_palettes(gen *g)
{
    int ref[4][4];
    /* Palettes of 2, 4, 16 and 256 entries; the quadrants use entries spread
     * over the palette (a decoder that unpacks sub-byte indices wrongly picks
     * other entries). */
    png_color pal[256];
    uint64_t s = 0x7468756D6264ULL;   /* fixed seed */
    for (int i = 0; i < 256; i++) {
        uint64_t v = rng_next(&s);
        pal[i] = (png_color){(png_byte)(v & 0xFF), (png_byte)((v >> 8) & 0xFF),
                             (png_byte)((v >> 16) & 0xFF)};
    }
    /* Make the entries used clearly distinct. */
    static const png_color used[4] = {{20, 40, 160}, {250, 160, 30}, {40, 200, 90},
                                      {230, 230, 230}};
    struct {
        const char *name;
        int depth, idx[4];
    } pv[4] = {
        {"png/palette1.png", 1, {0, 1, 1, 0}},
        {"png/palette2.png", 2, {0, 1, 2, 3}},
        {"png/palette4.png", 4, {3, 7, 11, 15}},
        {"png/palette8.png", 8, {17, 99, 180, 255}},
    };
    for (int k = 0; k < 4; k++) {
        png_color p[256];
        int n = 1 << pv[k].depth;
        memcpy(p, pal, sizeof p);
        int q[4][4] = {{0}};
        for (int i = 0; i < 4; i++) {
            int e = pv[k].idx[i];
            /* palette1 uses two entries: 0 (TL, BR) and 1 (TR, BL). */
            p[e] = used[k == 0 ? (e == 0 ? 0 : 1) : i];
            q[i][0] = e;
            ref[i][0] = p[e].red;
            ref[i][1] = p[e].green;
            ref[i][2] = p[e].blue;
            ref[i][3] = 255;
        }
        if (png_quads(g, pv[k].name, 256, PNG_COLOR_TYPE_PALETTE, pv[k].depth, false, q, p, n,
                      ref))
            return -1;
    }
    return 0;
}

/* gen_png: Adam7 interlaced RGB and palette. */
static int gen_png_interlaced(gen *g)
{
    int ref[4][4];
    /* Adam7, odd sizes (the last passes are partial). */
    static const int ci[4][4] = {{230, 40, 40}, {40, 160, 230}, {250, 210, 40}, {60, 60, 60}};
    for (int i = 0; i < 4; i++) {
        memcpy(ref[i], ci[i], sizeof ref[i]);
        ref[i][3] = 255;
    }
    if (png_quads(g, "png/interlaced_rgb.png", 257, PNG_COLOR_TYPE_RGB, 8, true, ci, NULL, 0,
                  ref))
        return -1;
    static const png_color ipal[4] = {{200, 30, 120}, {30, 200, 120}, {120, 30, 200},
                                      {250, 250, 250}};
    static const int iq[4][4] = {{0}, {1}, {2}, {3}};
    for (int i = 0; i < 4; i++) {
        ref[i][0] = ipal[i].red;
        ref[i][1] = ipal[i].green;
        ref[i][2] = ipal[i].blue;
        ref[i][3] = 255;
    }
    if (png_quads(g, "png/interlaced_palette.png", 257, PNG_COLOR_TYPE_PALETTE, 8, true, iq,
                  ipal, 4, ref))
        return -1;
    return 0;
}

int gen_png(gen *g)
{
    if (gen_png_grey(g) || gen_png_palettes(g) || gen_png_interlaced(g))
        return -1;
    return 0;
}

/* A JPEG-friendly but non-trivial pattern (gradients and rings), so cuts and
 * scrambles land in real entropy-coded data. */
static int img_pattern(img *im, int w, int h)
{
    if (img_new(im, w, h, 3) != 0)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint16_t *p = img_px(im, x, y);
            double dx = x - w / 2.0, dy = y - h / 2.0;
            double d = sqrt(dx * dx + dy * dy);
            p[0] = (uint16_t)(x * 255 / (w - 1));
            p[1] = (uint16_t)(y * 255 / (h - 1));
            p[2] = (uint16_t)(127.5 + 127.5 * sin(d / 6.0));
        }
    return 0;
}

/* gen_bad: the JPEG in data with its entropy-coded data replaced by
 * pseudo-random bytes (no 0xFF, so no false markers); -1 if it has no scan. */
static int scramble_scan(uint8_t *data, size_t len)
{
    int rc = 0;
    size_t sos = 0;
    for (size_t i = 2; i + 3 < len;) {
        if (data[i] != 0xFF) {
            rc = -1;
            break;
        }
        unsigned m = data[i + 1], seglen = (unsigned)data[i + 2] << 8 | data[i + 3];
        if (m == 0xDA) {
            sos = i + 2 + seglen;
            break;
        }
        i += 2 + seglen;
    }
    if (rc != 0 || sos == 0 || sos + 2 >= len) {
        fprintf(stderr, "thumbd_gen: cannot find the scan of bad/truncated.jpg\n");
        return -1;
    }
    uint64_t s = 0xC0220717ULL;
    for (size_t i = sos; i < len - 2; i++) {
        uint8_t b;
        do
            b = (uint8_t)(rng_next(&s) & 0xFF);
        while (b == 0xFF);
        data[i] = b;
    }
    return 0;
}

/* gen_bad: files that are no image at all (garbage.jpg, text.png). */
static int gen_bad_junk(gen *g)
{
    char path[PATH_MAX];
    static const char *not_image =
        "err=not_a_jpeg|not_a_png|not_an_image|unknown|unrecogni|unsupported|format|"
        "signature|invalid";
    /* garbage.jpg: 4096 pseudo-random bytes (neither signature). */
    uint8_t junk[4096];
    uint64_t s = 0x6A756E6BULL;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(rng_next(&s) & 0xFF);
    if (junk[0] == 0xFF || junk[0] == 0x89)
        junk[0] = 0x42;
    if (gen_path(g, "bad/garbage.jpg", path, sizeof path) ||
        write_bytes(path, junk, sizeof junk))
        return -1;
    exp_begin(g, "bad/garbage.jpg", "bad");
    exp_kv(g, "fmt=none status=failed out=- %s", not_image);
    exp_end(g);
    g->files++;

    /* text.png: plain ASCII text. */
    static const char text[] =
        "This is not a PNG file.\n"
        "It is plain ASCII text with a .png name, written by thumbd_gen.\n";
    if (gen_path(g, "bad/text.png", path, sizeof path) ||
        write_bytes(path, text, sizeof text - 1))
        return -1;
    exp_begin(g, "bad/text.png", "bad");
    exp_kv(g, "fmt=none status=failed out=- %s", not_image);
    exp_end(g);
    g->files++;
    return 0;
}

int gen_bad(gen *g)
{
    char path[PATH_MAX];
    static const char *truncated = "err=truncat|premature|end_of|incomplete|short|unexpected";

    /* empty.jpg */
    if (gen_path(g, "bad/empty.jpg", path, sizeof path) || write_bytes(path, "", 0))
        return -1;
    exp_begin(g, "bad/empty.jpg", "bad");
    exp_kv(g, "fmt=none status=failed out=- err=empty|0_bytes|zero|no_data");
    exp_end(g);
    g->files++;

    /* truncated.jpg: a valid 320x240 JPEG cut at 40%. */
    img im;
    uint8_t *data = NULL;
    size_t len = 0;
    if (img_pattern(&im, 320, 240) != 0)
        return -1;
    int rc = gen_path(g, "bad/truncated.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_jpeg_rgb(path, &im);
    if (rc == 0)
        rc = read_all(path, &data, &len);
    if (rc == 0)
        rc = write_bytes(path, data, len * 2 / 5);
    if (rc != 0) {
        img_free(&im);
        free(data);
        return -1;
    }
    exp_begin(g, "bad/truncated.jpg", "bad");
    exp_kv(g, "fmt=jpeg w=320 h=240 status=failed out=- %s", truncated);
    exp_end(g);
    g->files++;

    /* corrupt.jpg: the same JPEG, complete, with its entropy-coded data
     * replaced by pseudo-random bytes (no 0xFF, so no false markers). */
    if (scramble_scan(data, len) != 0) {
        img_free(&im);
        free(data);
        return -1;
    }
    rc = gen_path(g, "bad/corrupt.jpg", path, sizeof path);
    if (rc == 0)
        rc = write_bytes(path, data, len);
    free(data);
    data = NULL;
    if (rc != 0) {
        img_free(&im);
        return -1;
    }
    /* libjpeg reads past corrupt entropy data (as browsers show it): under
     * the default --fail-on truncated it gets a thumbnail, with warnings. */
    exp_begin(g, "bad/corrupt.jpg", "damaged");
    exp_kv(g, "fmt=jpeg w=320 h=240 status=ok out=bad/corrupt.jpg");
    exp_end(g);
    g->files++;

    /* truncated.png: a valid PNG of the pattern, cut at 50%. */
    rc = gen_path(g, "bad/truncated.png", path, sizeof path);
    if (rc == 0)
        rc = write_png_img(path, &im, PNG_COLOR_TYPE_RGB, 8, false);
    img_free(&im);
    if (rc == 0)
        rc = read_all(path, &data, &len);
    if (rc == 0)
        rc = write_bytes(path, data, len / 2);
    free(data);
    if (rc != 0)
        return -1;
    exp_begin(g, "bad/truncated.png", "bad");
    exp_kv(g, "fmt=png w=320 h=240 status=failed out=- %s", truncated);
    exp_end(g);
    g->files++;

    return gen_bad_junk(g);
}
