/* End-to-end tests of BMP and ICO: files written here byte by byte (24-bit,
 * 8-bit palette, 32-bit BITFIELDS with alpha, top-down; ICOs of BMP and PNG
 * entries) get thumbnails of the right colours, the right way up, from an
 * ICO's largest entry; a file named .bmp that is no BMP (a PPM, which only
 * a loader thumbd keeps closed would read; a broken header) fails cleanly;
 * --detect content knows BMP and ICO; the header's size meets the limits.
 *
 *   test_bmpico_e2e THUMBD_BIN
 *
 * THUMBD_BMPICO_KEEP=1 keeps the directory under $TMPDIR (or /tmp). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "e2e_util.h"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* Writing BMP and ICO                                                        */

typedef struct buf {
    uint8_t d[1 << 16];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void u8(buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}

static void u16(buf *b, unsigned v)
{
    u8(b, v & 0xFF);
    u8(b, (v >> 8) & 0xFF);
}

static void u32(buf *b, uint32_t v)
{
    u16(b, v & 0xFFFF);
    u16(b, v >> 16);
}

typedef struct rgba {
    uint8_t r, g, b, a;
} rgba;

/* The colour of pixel (x, y), y from the top: top half `top`, bottom half
 * `bottom`; with alpha_right, the right half is fully transparent. */
typedef struct picture {
    int w, h;
    rgba top, bottom;
    bool alpha_right;
} picture;

static rgba pixel(const picture *p, int x, int y)
{
    rgba c = y < p->h / 2 ? p->top : p->bottom;
    if (p->alpha_right && x >= p->w / 2)
        c.a = 0;
    return c;
}

/* An info header (40 bytes, or 108: V4 with BITFIELDS masks for 32-bit
 * alpha) and the pixels of p: bpp 24, 32 or 8 (palette of top and bottom);
 * height doubled and a zeroed AND mask added for an ICO entry. */
static void dib(buf *b, const picture *p, int bpp, bool top_down, bool ico)
{
    bool v4 = bpp == 32 && !ico;
    u32(b, v4 ? 108 : 40);
    u32(b, (uint32_t)p->w);
    int32_t h = ico ? 2 * p->h : top_down ? -p->h : p->h;
    u32(b, (uint32_t)h);
    u16(b, 1);
    u16(b, (unsigned)bpp);
    u32(b, v4 ? 3 : 0); /* BI_BITFIELDS or BI_RGB */
    u32(b, 0);
    u32(b, 2835);
    u32(b, 2835);
    u32(b, bpp == 8 ? 2 : 0);
    u32(b, 0);
    if (v4) {
        u32(b, 0x00FF0000);
        u32(b, 0x0000FF00);
        u32(b, 0x000000FF);
        u32(b, 0xFF000000);
        u32(b, 0x73524742); /* 'sRGB' */
        for (int i = 0; i < 12; i++)
            u32(b, 0); /* endpoints and gamma */
    }
    if (bpp == 8) {
        const rgba pal[2] = {p->top, p->bottom};
        for (int i = 0; i < 2; i++) {
            u8(b, pal[i].b);
            u8(b, pal[i].g);
            u8(b, pal[i].r);
            u8(b, 0);
        }
    }
    size_t row = ((size_t)p->w * (size_t)bpp + 31) / 32 * 4;
    for (int i = 0; i < p->h; i++) {
        int y = top_down ? i : p->h - 1 - i;
        size_t start = b->n;
        for (int x = 0; x < p->w; x++) {
            rgba c = pixel(p, x, y);
            if (bpp == 8) {
                u8(b, y < p->h / 2 ? 0 : 1);
                continue;
            }
            u8(b, c.b);
            u8(b, c.g);
            u8(b, c.r);
            if (bpp == 32)
                u8(b, c.a);
        }
        while (b->n - start < row)
            u8(b, 0);
    }
    if (ico) { /* the AND mask: 0, every pixel drawn */
        size_t mrow = ((size_t)p->w + 31) / 32 * 4;
        for (size_t i = 0; i < mrow * (size_t)p->h; i++)
            u8(b, 0);
    }
}

static void bmp_at(const char *path, const picture *p, int bpp, bool top_down)
{
    static buf d, b;
    d.n = b.n = 0;
    dib(&d, p, bpp, top_down, false);
    size_t hs = d.d[0] | (size_t)d.d[1] << 8;
    size_t pal = bpp == 8 ? 8 : 0;
    put(&b, "BM", 2);
    u32(&b, (uint32_t)(14 + d.n));
    u32(&b, 0);
    u32(&b, (uint32_t)(14 + hs + pal));
    put(&b, d.d, d.n);
    write_file(path, b.d, b.n);
}

static size_t png_of(const picture *p, uint8_t *out, size_t cap)
{
    png_image im = {.version = PNG_IMAGE_VERSION, .width = (png_uint_32)p->w,
                    .height = (png_uint_32)p->h, .format = PNG_FORMAT_RGBA};
    uint8_t *px = malloc((size_t)p->w * (size_t)p->h * 4);
    assert_non_null(px);
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            rgba c = pixel(p, x, y);
            uint8_t *q = px + ((size_t)y * (size_t)p->w + (size_t)x) * 4;
            q[0] = c.r;
            q[1] = c.g;
            q[2] = c.b;
            q[3] = c.a;
        }
    png_alloc_size_t n = cap;
    int ok = png_image_write_to_memory(&im, out, &n, 0, px, 0, NULL);
    free(px);
    assert_true(ok);
    return (size_t)n;
}

/* An ICO of the given entries: each a picture as a 24-bit BMP with its AND
 * mask, or (as_png) a PNG. */
static void ico_at(const char *path, const picture *const *pics, const bool *as_png, int n)
{
    static buf img[4], b;
    b.n = 0;
    for (int i = 0; i < n; i++) {
        img[i].n = 0;
        if (as_png[i])
            img[i].n = png_of(pics[i], img[i].d, sizeof img[i].d);
        else
            dib(&img[i], pics[i], 24, false, true);
    }
    u16(&b, 0);
    u16(&b, 1);
    u16(&b, (unsigned)n);
    size_t off = 6 + 16 * (size_t)n;
    for (int i = 0; i < n; i++) {
        u8(&b, pics[i]->w >= 256 ? 0 : (unsigned)pics[i]->w);
        u8(&b, pics[i]->h >= 256 ? 0 : (unsigned)pics[i]->h);
        u8(&b, 0);
        u8(&b, 0);
        u16(&b, 1);
        u16(&b, as_png[i] ? 32 : 24);
        u32(&b, (uint32_t)img[i].n);
        u32(&b, (uint32_t)off);
        off += img[i].n;
    }
    for (int i = 0; i < n; i++)
        put(&b, img[i].d, img[i].n);
    write_file(path, b.d, b.n);
}

/* ------------------------------------------------------------------------ */
/* Reading thumbnails                                                         */

typedef struct thumb {
    int w, h, ch;
    uint8_t *px;
} thumb;

static bool load_thumb(const char *path, thumb *t)
{
    memset(t, 0, sizeof *t);
    png_image im = {.version = PNG_IMAGE_VERSION};
    if (strstr(path, ".png")) {
        if (!png_image_begin_read_from_file(&im, path))
            return false;
        im.format = PNG_FORMAT_RGBA;
        t->w = (int)im.width;
        t->h = (int)im.height;
        t->ch = 4;
        t->px = malloc(PNG_IMAGE_SIZE(im));
        return t->px && png_image_finish_read(&im, NULL, t->px, 0, NULL);
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_decompress(&c);
    jpeg_stdio_src(&c, f);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    t->w = (int)c.output_width;
    t->h = (int)c.output_height;
    t->ch = 3;
    t->px = malloc((size_t)t->w * (size_t)t->h * 3);
    while (t->px && c.output_scanline < c.output_height) {
        JSAMPROW rp = t->px + (size_t)c.output_scanline * (size_t)t->w * 3;
        jpeg_read_scanlines(&c, &rp, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    fclose(f);
    return t->px != NULL;
}

static bool near(int a, int b)
{
    return abs(a - b) <= 24;
}

/* Pixel (fx*w, fy*h) of the thumbnail at out/name is c (alpha too in a PNG). */
static void check_pixel(const char *name, double fx, double fy, rgba c)
{
    char path[700];
    snprintf(path, sizeof path, "%s/out/%s", e2e_root, name);
    thumb t;
    CHECK(load_thumb(path, &t), "%s: no thumbnail that reads", name);
    if (!t.px)
        return;
    int x = (int)(fx * t.w), y = (int)(fy * t.h);
    const uint8_t *p = t.px + ((size_t)y * (size_t)t.w + (size_t)x) * (size_t)t.ch;
    int a = t.ch == 4 ? p[3] : 255;
    CHECK(near(p[0], c.r) && near(p[1], c.g) && near(p[2], c.b) && near(a, c.a),
          "%s (%dx%d): pixel (%d,%d) is %d,%d,%d,%d, expected %d,%d,%d,%d", name, t.w, t.h, x, y, p[0],
          p[1], p[2], a, c.r, c.g, c.b, c.a);
    free(t.px);
}

/* thumbd args... IN OUT --report REPORT; the exit status. */
static int run_thumbd(const char *const *args, e2e_report *rep)
{
    char in[600], out[600], rp[600], so[600], se[600];
    snprintf(in, sizeof in, "%s/in", e2e_root);
    snprintf(out, sizeof out, "%s/out", e2e_root);
    snprintf(rp, sizeof rp, "%s/report.jsonl", e2e_root);
    snprintf(so, sizeof so, "%s/thumbd.out", e2e_root);
    snprintf(se, sizeof se, "%s/thumbd.err", e2e_root);
    rm_tree(out);
    unlink(rp);
    char *argv[32];
    int c = 0;
    argv[c++] = (char *)e2e_bin;
    for (int i = 0; args[i]; i++)
        argv[c++] = (char *)args[i];
    argv[c++] = "--report";
    argv[c++] = rp;
    argv[c++] = in;
    argv[c++] = out;
    argv[c] = NULL;
    char *envp[256];
    int e = 0;
    for (char **p = environ; *p && e < 255; p++)
        if (strncmp(*p, "THUMBD_", 7))
            envp[e++] = *p;
    envp[e] = NULL;
    e2e_proc pr = e2e_run(argv, envp, so, se, 120, 10, "thumbd");
    e2e_report_must_load(rp, rep);
    return pr.code;
}

static void fresh_in(void)
{
    char in[600];
    snprintf(in, sizeof in, "%s/in", e2e_root);
    rm_tree(in);
    assert_int_equal(mkdir(in, 0755), 0);
}

static void in_path(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/in/%s", e2e_root, name);
}

static void expect_ok(const e2e_report *rep, const char *src, const char *out)
{
    const e2e_jrec *r = e2e_report_one(rep, src);
    CHECK(e2e_is(r, "ok") && !strcmp(e2e_str_or(r, "out", ""), out), "%s: expected ok as %s: %s", src,
          out, e2e_report_text(rep, r));
}

static void expect_failed(const e2e_report *rep, const char *src, const char *says)
{
    const e2e_jrec *r = e2e_report_one(rep, src);
    CHECK(e2e_is(r, "failed") && strstr(e2e_str_or(r, "error", ""), says),
          "%s: expected failed saying '%s': %s", src, says, e2e_report_text(rep, r));
}

static const rgba RED = {255, 0, 0, 255}, BLUE = {0, 0, 255, 255}, GREEN = {0, 160, 0, 255},
                  YELLOW = {255, 255, 0, 255}, MAGENTA = {255, 0, 255, 255}, CLEAR = {0, 0, 0, 0};

/* ------------------------------------------------------------------------ */
/* Tests                                                                      */

/* Every BMP kind and both ICO kinds: thumbnails of the right size, way up
 * and colours (alpha kept in a PNG). */
static void test_thumbnails(void **state)
{
    (void)state;
    begin_checks();
    fresh_in();
    char p[700];
    picture rb = {40, 30, RED, BLUE, false};
    in_path(p, sizeof p, "rgb24.bmp");
    bmp_at(p, &rb, 24, false);
    in_path(p, sizeof p, "topdown.bmp");
    bmp_at(p, &rb, 24, true);
    picture yg = {40, 30, YELLOW, GREEN, false};
    in_path(p, sizeof p, "pal8.bmp");
    bmp_at(p, &yg, 8, false);
    picture alpha = {40, 30, RED, RED, true};
    in_path(p, sizeof p, "alpha32.BMP");
    bmp_at(p, &alpha, 32, false);
    /* the larger entry second: the largest is chosen, not the first */
    picture small = {16, 16, BLUE, BLUE, false}, big = {32, 32, GREEN, RED, false};
    const picture *bmp_entries[] = {&small, &big};
    in_path(p, sizeof p, "bmps.ico");
    ico_at(p, bmp_entries, (const bool[]){false, false}, 2);
    picture png_big = {64, 64, MAGENTA, MAGENTA, false};
    const picture *png_entries[] = {&small, &png_big};
    in_path(p, sizeof p, "png.ico");
    ico_at(p, png_entries, (const bool[]){false, true}, 2);
    e2e_report rep = {0};
    int code = run_thumbd((const char *const[]){"--size", "20", NULL}, &rep);
    CHECK(code == 0, "exit %d", code);
    expect_ok(&rep, "rgb24.bmp", "rgb24.jpg");
    expect_ok(&rep, "topdown.bmp", "topdown.jpg");
    expect_ok(&rep, "pal8.bmp", "pal8.jpg");
    expect_ok(&rep, "alpha32.BMP", "alpha32.png");
    expect_ok(&rep, "bmps.ico", "bmps.jpg");
    expect_ok(&rep, "png.ico", "png.jpg");
    CHECK(e2e_num(e2e_report_one(&rep, "png.ico"), "src_w") == 64, "png.ico: %s",
          e2e_report_text(&rep, e2e_report_one(&rep, "png.ico")));
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "topdown.jpg" : "rgb24.jpg";
        check_pixel(name, 0.5, 0.1, RED);
        check_pixel(name, 0.5, 0.9, BLUE);
    }
    check_pixel("pal8.jpg", 0.5, 0.1, YELLOW);
    check_pixel("pal8.jpg", 0.5, 0.9, GREEN);
    check_pixel("alpha32.png", 0.1, 0.5, RED);
    check_pixel("alpha32.png", 0.9, 0.5, CLEAR);
    check_pixel("bmps.jpg", 0.5, 0.1, GREEN);
    check_pixel("bmps.jpg", 0.5, 0.9, RED);
    check_pixel("png.jpg", 0.5, 0.5, MAGENTA);
    e2e_report_free(&rep);
    end_checks();
}

/* Named .bmp or .ico but not one: a PPM (read only by loaders thumbd keeps
 * closed, ImageMagick's among them), a broken BMP header, a BMP whose data
 * lies past its end, an ICO entry pointing outside the file: each a failed
 * record saying why, the others' thumbnails made. */
static void test_refused(void **state)
{
    (void)state;
    begin_checks();
    fresh_in();
    char p[700];
    static const char ppm[] = "P6\n4 4\n255\n"
                              "\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0"
                              "\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0\xff\0\0";
    in_path(p, sizeof p, "ppm.bmp");
    write_file(p, ppm, sizeof ppm - 1);
    in_path(p, sizeof p, "ppm2.ico");
    write_file(p, ppm, sizeof ppm - 1);
    in_path(p, sizeof p, "junk.bmp");
    write_file(p, "BM this is not a bitmap header at all, only text", 48);
    picture rb = {40, 30, RED, BLUE, false};
    in_path(p, sizeof p, "cut.bmp");
    bmp_at(p, &rb, 24, false);
    assert_int_equal(truncate(p, 54), 0); /* headers only: the data offset is the end */
    in_path(p, sizeof p, "outside.ico");
    const picture *one[] = {&rb};
    ico_at(p, one, (const bool[]){false}, 1);
    assert_int_equal(truncate(p, 100), 0);
    in_path(p, sizeof p, "good.bmp");
    bmp_at(p, &rb, 24, false);
    e2e_report rep = {0};
    int code = run_thumbd((const char *const[]){NULL}, &rep);
    CHECK(code == 1 || code == 2, "exit %d", code);
    expect_failed(&rep, "ppm.bmp", "a loader thumbd keeps closed");
    expect_failed(&rep, "ppm2.ico", "a loader thumbd keeps closed");
    expect_failed(&rep, "junk.bmp", "not a BMP or ICO thumbd reads");
    expect_failed(&rep, "cut.bmp", "past the end of the file");
    expect_failed(&rep, "outside.ico", "outside the file");
    expect_ok(&rep, "good.bmp", "good.jpg");
    e2e_report_free(&rep);
    end_checks();
}

/* --detect content takes a BMP and an ICO by their bytes, whatever their
 * names; a text file named .bmp is not taken. */
static void test_detect_content(void **state)
{
    (void)state;
    begin_checks();
    fresh_in();
    char p[700];
    picture rb = {40, 30, RED, BLUE, false};
    in_path(p, sizeof p, "upload-1");
    bmp_at(p, &rb, 24, false);
    const picture *one[] = {&rb};
    in_path(p, sizeof p, "upload-2");
    ico_at(p, one, (const bool[]){false}, 1);
    in_path(p, sizeof p, "notes.bmp");
    write_file(p, "BM is not enough", 16);
    e2e_report rep = {0};
    int code = run_thumbd((const char *const[]){"--detect", "content", NULL}, &rep);
    CHECK(code == 0, "exit %d", code);
    expect_ok(&rep, "upload-1", "upload-1.jpg");
    expect_ok(&rep, "upload-2", "upload-2.jpg");
    CHECK(!e2e_report_find(&rep, "notes.bmp", NULL), "notes.bmp was taken for an image");
    check_pixel("upload-1.jpg", 0.5, 0.1, RED);
    e2e_report_free(&rep);
    end_checks();
}

/* The header's size meets --max-dimension and --max-pixels before any
 * pixel is read: a BMP declaring 3000x2 pixels of a few bytes. */
static void test_limits(void **state)
{
    (void)state;
    begin_checks();
    fresh_in();
    char p[700];
    picture wide = {3000, 2, RED, RED, false};
    in_path(p, sizeof p, "wide.bmp");
    bmp_at(p, &wide, 8, false);
    picture big = {300, 300, MAGENTA, MAGENTA, false};
    const picture *one[] = {&big};
    in_path(p, sizeof p, "bigpng.ico");
    ico_at(p, one, (const bool[]){true}, 1);
    e2e_report rep = {0};
    run_thumbd((const char *const[]){"--max-dimension", "1000", NULL}, &rep);
    expect_failed(&rep, "wide.bmp", "over --max-dimension 1000");
    e2e_report_free(&rep);
    run_thumbd((const char *const[]){"--max-pixels", "50000", NULL}, &rep);
    expect_failed(&rep, "bigpng.ico", "over --max-pixels");
    e2e_report_free(&rep);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbnails),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_detect_content),
        cmocka_unit_test(test_limits),
    };
    return e2e_main(argc, argv, "bmpico", tests, sizeof tests / sizeof tests[0]);
}
