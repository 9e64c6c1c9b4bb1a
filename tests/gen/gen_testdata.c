/* thumbd_gen: writes the images of thumbd's end-to-end tests, and a small
 * set of demo images, with libjpeg, libpng and lcms2.
 *
 *   thumbd_gen [--big] [--samples] OUTDIR
 *
 * Default: the test set (orient/, color/, alpha/, png/, bad/, ok/, size/) and
 * OUTDIR/expected.txt, which records for every file what thumbd must make of
 * it (reference colours at probe points, dimensions, expected status...).
 * --big also writes big/big.jpg and big/big.png (large, for timeout tests).
 * --samples writes only the demo images (no expected.txt).
 *
 * Everything is deterministic: fixed seeds, no timestamps (the creation date
 * of the ICC profiles lcms2 builds is overwritten with a fixed one).
 *
 * expected.txt: '#' lines are comments; every other line is
 *
 *   NAME key=value key=value ...
 *
 * NAME is the path relative to OUTDIR (never contains spaces). Keys:
 *   cat=      orient | color | alpha | png | size | bad | ok | big
 *   fmt=      jpeg | png | none (what the bytes really are)
 *   w= h=     stored dimensions (what the report's src_w/src_h must say)
 *   dw= dh=   displayed (upright) dimensions
 *   orient=   EXIF orientation carried by the file (1 when none)
 *   alpha=    1 if the image has transparency (thumbnail must be a PNG)
 *   status=   ok | failed
 *   out=      expected thumbnail path relative to OUT_DIR (or "-")
 *   err=      for failures: alternatives ('|') of which the error message
 *             must contain one (case-insensitive; '_' stands for a space)
 *   probe=FX,FY,R,G,B[,A]
 *             reference colour of the UPRIGHT image at the point (FX*dw,
 *             FY*dh); R,G,B may be '*' when A is 0. Points are chosen far
 *             from every colour edge.
 *   fringe=R,G,B  every output pixel with alpha >= 16 must have each channel
 *             >= this minus the tolerance (no dark fringes from transparent
 *             black pixels)
 *   meta=     metadata the source carries (exif,gps,xmp,com,text,icc)
 *   cmyk= icc= intent=  how the reference colour was computed
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>

#define SECRET "thumbd-gen secret"

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */

typedef struct gen {
    char dir[PATH_MAX];
    FILE *expected;     /* NULL in --samples mode */
    uint64_t rng;
    int files;
} gen;

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int make_parents(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof tmp) {
        fprintf(stderr, "thumbd_gen: path too long: %s\n", path);
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "thumbd_gen: cannot create directory %s: %s\n", tmp,
                    strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return 0;
}

/* OUTDIR/rel into out, creating the parent directories. */
static int gen_path(const gen *g, const char *rel, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/%s", g->dir, rel);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "thumbd_gen: path too long: %s/%s\n", g->dir, rel);
        return -1;
    }
    return make_parents(out);
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
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "thumbd_gen: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "thumbd_gen: cannot read %s\n", path);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* expected.txt                                                             */

static void exp_begin(gen *g, const char *name, const char *cat)
{
    if (g->expected)
        fprintf(g->expected, "%s cat=%s", name, cat);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void exp_kv(gen *g, const char *fmt, ...)
{
    if (!g->expected)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputc(' ', g->expected);
    vfprintf(g->expected, fmt, ap);
    va_end(ap);
}

static void exp_end(gen *g)
{
    if (g->expected)
        fputc('\n', g->expected);
}

/* Expected thumbnail name: the extension becomes .jpg (opaque) or .png. */
static void exp_out(gen *g, const char *name, bool alpha)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", name);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    exp_kv(g, "out=%s.%s", out, alpha ? "png" : "jpg");
}

/* A probe: colour c (3 channels, or 4 when na == 4) at (fx, fy). */
static void exp_probe(gen *g, double fx, double fy, const int *c, int na)
{
    if (na == 4 && c[3] == 0)
        exp_kv(g, "probe=%.3f,%.3f,*,*,*,0", fx, fy);
    else if (na == 4)
        exp_kv(g, "probe=%.3f,%.3f,%d,%d,%d,%d", fx, fy, c[0], c[1], c[2], c[3]);
    else
        exp_kv(g, "probe=%.3f,%.3f,%d,%d,%d", fx, fy, c[0], c[1], c[2]);
}

/* Probes at the centres of the four quadrants: q[0]=TL, TR, BL, BR. */
static void exp_quad_probes(gen *g, const int q[4][4], int na)
{
    static const double pos[4][2] = {{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}};
    for (int i = 0; i < 4; i++)
        exp_probe(g, pos[i][0], pos[i][1], q[i], na);
}

/* ------------------------------------------------------------------------ */
/* Images in memory: samples as uint16 (0..255 for 8-bit targets, 0..65535
 * for 16-bit ones, palette indices for palette images).                    */

typedef struct img {
    int w, h, nc;
    uint16_t *s;
} img;

static int img_new(img *im, int w, int h, int nc)
{
    im->w = w;
    im->h = h;
    im->nc = nc;
    im->s = calloc((size_t)w * (size_t)h * (size_t)nc, sizeof *im->s);
    if (!im->s) {
        fprintf(stderr, "thumbd_gen: out of memory (%dx%d)\n", w, h);
        return -1;
    }
    return 0;
}

static void img_free(img *im)
{
    free(im->s);
    im->s = NULL;
}

static uint16_t *img_px(const img *im, int x, int y)
{
    return im->s + ((size_t)y * (size_t)im->w + (size_t)x) * (size_t)im->nc;
}

/* Quadrants split at w/2, h/2; q[0]=TL, TR, BL, BR (nc samples each). */
static int img_quads(img *im, int w, int h, int nc, const int q[4][4])
{
    if (img_new(im, w, h, nc) != 0)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int k = (y >= h / 2) * 2 + (x >= w / 2);
            uint16_t *p = img_px(im, x, y);
            for (int c = 0; c < nc; c++)
                p[c] = (uint16_t)q[k][c];
        }
    return 0;
}

/* Where the stored pixel (sx, sy) of a sw x sh image with EXIF orientation o
 * appears once the orientation is applied (TIFF/EXIF definition). */
static void orient_map(int o, int sw, int sh, int sx, int sy, int *dx, int *dy)
{
    switch (o) {
    case 2: *dx = sw - 1 - sx; *dy = sy; break;            /* mirror horizontal */
    case 3: *dx = sw - 1 - sx; *dy = sh - 1 - sy; break;   /* rotate 180 */
    case 4: *dx = sx; *dy = sh - 1 - sy; break;            /* mirror vertical */
    case 5: *dx = sy; *dy = sx; break;                     /* transpose */
    case 6: *dx = sh - 1 - sy; *dy = sx; break;            /* rotate 90 CW */
    case 7: *dx = sh - 1 - sy; *dy = sw - 1 - sx; break;   /* transverse */
    case 8: *dx = sy; *dy = sw - 1 - sx; break;            /* rotate 90 CCW */
    default: *dx = sx; *dy = sy; break;
    }
}

/* The stored image that shows as `up` once orientation o is applied. */
static int img_for_orientation(const img *up, int o, img *st)
{
    int sw = o >= 5 ? up->h : up->w, sh = o >= 5 ? up->w : up->h;
    if (img_new(st, sw, sh, up->nc) != 0)
        return -1;
    for (int sy = 0; sy < sh; sy++)
        for (int sx = 0; sx < sw; sx++) {
            int dx, dy;
            orient_map(o, sw, sh, sx, sy, &dx, &dy);
            memcpy(img_px(st, sx, sy), img_px(up, dx, dy), (size_t)up->nc * sizeof(uint16_t));
        }
    return 0;
}

/* Row providers: fill `row` with the packed bytes of row y. */
typedef void (*row_fn)(void *ud, int y, uint8_t *row);

typedef struct img_rows {
    const img *im;
    int depth;          /* 1, 2, 4, 8 or 16 */
} img_rows;

static void img_row(void *ud, int y, uint8_t *row)
{
    const img_rows *r = ud;
    const img *im = r->im;
    const uint16_t *s = img_px(im, 0, y);
    size_t n = (size_t)im->w * (size_t)im->nc;
    if (r->depth == 8) {
        for (size_t i = 0; i < n; i++)
            row[i] = (uint8_t)s[i];
    } else if (r->depth == 16) {
        for (size_t i = 0; i < n; i++) {
            row[2 * i] = (uint8_t)(s[i] >> 8);
            row[2 * i + 1] = (uint8_t)(s[i] & 0xFF);
        }
    } else {
        size_t nbytes = (n * (size_t)r->depth + 7) / 8;
        memset(row, 0, nbytes);
        unsigned per = 8u / (unsigned)r->depth, mask = (1u << r->depth) - 1u;
        for (size_t i = 0; i < n; i++) {
            unsigned shift = 8u - (unsigned)r->depth * (unsigned)(i % per + 1);
            row[i / per] |= (uint8_t)((s[i] & mask) << shift);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* JPEG writer                                                               */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

typedef struct jmarker {
    int code;
    const uint8_t *data;
    unsigned len;
} jmarker;

typedef struct jpeg_spec {
    int w, h, nc;
    J_COLOR_SPACE in_cs;
    J_COLOR_SPACE jpeg_cs;   /* JCS_UNKNOWN: libjpeg's default for in_cs */
    int quality;
    int jfif, adobe;         /* -1: libjpeg's default */
    const jmarker *markers;
    int nmarkers;
    const uint8_t *icc;
    unsigned icc_len;
    row_fn row;
    void *ud;
} jpeg_spec;

static int write_jpeg(const char *path, const jpeg_spec *sp)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "thumbd_gen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    JSAMPLE *row = malloc((size_t)sp->w * (size_t)sp->nc);
    if (!row) {
        fclose(f);
        fprintf(stderr, "thumbd_gen: out of memory\n");
        return -1;
    }
    struct jpeg_compress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    if (setjmp(e.jb)) {
        fprintf(stderr, "thumbd_gen: %s: libjpeg: %s\n", path, e.msg);
        jpeg_destroy_compress(&c);
        fclose(f);
        free(row);
        remove(path);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)sp->w;
    c.image_height = (JDIMENSION)sp->h;
    c.input_components = sp->nc;
    c.in_color_space = sp->in_cs;
    jpeg_set_defaults(&c);
    if (sp->jpeg_cs != JCS_UNKNOWN)
        jpeg_set_colorspace(&c, sp->jpeg_cs);
    jpeg_set_quality(&c, sp->quality, TRUE);
    if (sp->jfif >= 0)
        c.write_JFIF_header = (boolean)sp->jfif;
    if (sp->adobe >= 0)
        c.write_Adobe_marker = (boolean)sp->adobe;
    jpeg_start_compress(&c, TRUE);
    for (int i = 0; i < sp->nmarkers; i++)
        jpeg_write_marker(&c, sp->markers[i].code, sp->markers[i].data, sp->markers[i].len);
    if (sp->icc)
        jpeg_write_icc_profile(&c, sp->icc, sp->icc_len);
    while (c.next_scanline < c.image_height) {
        sp->row(sp->ud, (int)c.next_scanline, row);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "thumbd_gen: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_jpeg_img(const char *path, const img *im, J_COLOR_SPACE in_cs,
                          J_COLOR_SPACE jpeg_cs, int quality, int jfif, int adobe,
                          const jmarker *markers, int nmarkers, const uint8_t *icc,
                          unsigned icc_len)
{
    img_rows r = {im, 8};
    jpeg_spec sp = {
        .w = im->w, .h = im->h, .nc = im->nc, .in_cs = in_cs, .jpeg_cs = jpeg_cs,
        .quality = quality, .jfif = jfif, .adobe = adobe, .markers = markers,
        .nmarkers = nmarkers, .icc = icc, .icc_len = icc_len, .row = img_row, .ud = &r,
    };
    return write_jpeg(path, &sp);
}

/* A plain RGB JPEG of im (quality 92, libjpeg's defaults otherwise). */
static int write_jpeg_rgb(const char *path, const img *im)
{
    return write_jpeg_img(path, im, JCS_RGB, JCS_UNKNOWN, 92, -1, -1, NULL, 0, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* PNG writer                                                                */

typedef struct png_spec {
    int w, h, color_type, depth;
    bool interlace;
    const png_color *pal;
    int npal;
    const png_byte *trns;
    int ntrns;
    const uint8_t *icc;
    unsigned icc_len;
    const uint8_t *exif;
    unsigned exif_len;
    png_text *text;
    int ntext;
    int zlevel;          /* -1: libpng's default */
    row_fn row;
    void *ud;
} png_spec;

static void pngerr_fn(png_structp p, png_const_charp m)
{
    char *buf = png_get_error_ptr(p);
    snprintf(buf, 256, "%s", m);
    png_longjmp(p, 1);
}

static void pngwarn_fn(png_structp p, png_const_charp m)
{
    (void)p;
    fprintf(stderr, "thumbd_gen: libpng warning: %s\n", m);
}

static int png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;   /* palette */
    }
}

static int write_png(const char *path, const png_spec *sp)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "thumbd_gen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t rowbytes =
        ((size_t)sp->w * (size_t)png_channels(sp->color_type) * (size_t)sp->depth + 7) / 8;
    uint8_t *row = malloc(rowbytes);
    char msg[256] = "";
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, pngerr_fn, pngwarn_fn);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!row || !p || !info) {
        fprintf(stderr, "thumbd_gen: %s: out of memory\n", path);
        png_destroy_write_struct(&p, &info);
        free(row);
        fclose(f);
        return -1;
    }
    if (setjmp(png_jmpbuf(p))) {
        fprintf(stderr, "thumbd_gen: %s: libpng: %s\n", path, msg);
        png_destroy_write_struct(&p, &info);
        free(row);
        fclose(f);
        remove(path);
        return -1;
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)sp->w, (png_uint_32)sp->h, sp->depth, sp->color_type,
                 sp->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (sp->pal)
        png_set_PLTE(p, info, sp->pal, sp->npal);
    if (sp->trns)
        png_set_tRNS(p, info, sp->trns, sp->ntrns, NULL);
    if (sp->icc)
        png_set_iCCP(p, info, "thumbd test profile", PNG_COMPRESSION_TYPE_BASE, sp->icc,
                     sp->icc_len);
    if (sp->exif)
        png_set_eXIf_1(p, info, sp->exif_len, (png_bytep)sp->exif);
    if (sp->text)
        png_set_text(p, info, sp->text, sp->ntext);
    if (sp->zlevel >= 0)
        png_set_compression_level(p, sp->zlevel);
    png_write_info(p, info);
    int passes = sp->interlace ? png_set_interlace_handling(p) : 1;
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < sp->h; y++) {
            sp->row(sp->ud, y, row);
            png_write_row(p, row);
        }
    png_write_end(p, NULL);   /* (with info, libpng 1.6 writes eXIf a second time) */
    png_destroy_write_struct(&p, &info);
    free(row);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "thumbd_gen: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_png_img(const char *path, const img *im, int color_type, int depth,
                         bool interlace)
{
    img_rows r = {im, depth};
    png_spec sp = {
        .w = im->w, .h = im->h, .color_type = color_type, .depth = depth,
        .interlace = interlace, .zlevel = -1, .row = img_row, .ud = &r,
    };
    return write_png(path, &sp);
}

/* ------------------------------------------------------------------------ */
/* Metadata written by hand                                                  */

static void put16le(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v & 0xFF);
    b[1] = (uint8_t)((v >> 8) & 0xFF);
}

static void put32le(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)((v >> (8 * i)) & 0xFF);
}

static void ifd_entry(uint8_t *b, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
    put16le(b, tag);
    put16le(b + 2, type);
    put32le(b + 4, count);
    put32le(b + 8, value);
}

enum { TIFF_BYTE = 1, TIFF_ASCII = 2, TIFF_SHORT = 3, TIFF_LONG = 4, TIFF_RATIONAL = 5 };

/* A little-endian TIFF structure (what follows "Exif\0\0" in APP1, and the
 * content of a PNG eXIf chunk): IFD0 with Make, Orientation and a pointer to
 * a GPS IFD holding a latitude and a longitude. Returns its length. */
#define EXIF_MAX 256
static size_t build_tiff(uint8_t buf[EXIF_MAX], int orientation)
{
    static const char make[] = SECRET " camera";
    memset(buf, 0, EXIF_MAX);
    const uint32_t ifd0 = 8, n0 = 3;
    const uint32_t make_off = ifd0 + 2 + n0 * 12 + 4;
    const uint32_t gps_off = (make_off + (uint32_t)sizeof make + 1) & ~1u;
    const uint32_t n1 = 5;
    const uint32_t rat_off = gps_off + 2 + n1 * 12 + 4;
    const uint32_t end = rat_off + 6 * 8;

    buf[0] = 'I';
    buf[1] = 'I';
    put16le(buf + 2, 42);
    put32le(buf + 4, ifd0);

    uint8_t *b = buf + ifd0;
    put16le(b, n0);
    ifd_entry(b + 2, 0x010F, TIFF_ASCII, sizeof make, make_off);           /* Make */
    ifd_entry(b + 14, 0x0112, TIFF_SHORT, 1, 0);                           /* Orientation */
    put16le(b + 14 + 8, (unsigned)orientation);
    ifd_entry(b + 26, 0x8825, TIFF_LONG, 1, gps_off);                      /* GPS IFD */
    put32le(b + 38, 0);                                                    /* no IFD1 */
    memcpy(buf + make_off, make, sizeof make);

    b = buf + gps_off;
    put16le(b, n1);
    ifd_entry(b + 2, 0x0000, TIFF_BYTE, 4, 0);                             /* GPSVersionID */
    b[2 + 8] = 2;
    b[2 + 9] = 3;
    ifd_entry(b + 14, 0x0001, TIFF_ASCII, 2, 0);                           /* GPSLatitudeRef */
    b[14 + 8] = 'N';
    ifd_entry(b + 26, 0x0002, TIFF_RATIONAL, 3, rat_off);                  /* GPSLatitude */
    ifd_entry(b + 38, 0x0003, TIFF_ASCII, 2, 0);                           /* GPSLongitudeRef */
    b[38 + 8] = 'E';
    ifd_entry(b + 50, 0x0004, TIFF_RATIONAL, 3, rat_off + 24);             /* GPSLongitude */
    put32le(b + 62, 0);

    static const uint32_t rat[12] = {48, 1, 51, 1, 2400, 100, 2, 1, 21, 1, 300, 100};
    for (int i = 0; i < 12; i++)
        put32le(buf + rat_off + 4 * (uint32_t)i, rat[i]);
    return end;
}

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

/* ------------------------------------------------------------------------ */
/* lcms2                                                                     */

static void lcms_log(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)ctx;
    fprintf(stderr, "thumbd_gen: lcms2 error %u: %s\n", (unsigned)code, text);
}

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

/* Records the common keys of an image entry. */
static void exp_image(gen *g, const char *name, const char *cat, const char *fmt, int w, int h,
                      int dw, int dh, int orient, bool alpha)
{
    exp_begin(g, name, cat);
    exp_kv(g, "fmt=%s w=%d h=%d dw=%d dh=%d orient=%d alpha=%d status=ok", fmt, w, h, dw, dh,
           orient, alpha ? 1 : 0);
    exp_out(g, name, alpha);
}

static int gen_orient(gen *g)
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

static int gen_cmyk(gen *g)
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

static int gen_icc(gen *g)
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

static int gen_alpha(gen *g)
{
    if (gen_alpha_rgba(g) || gen_alpha_ga(g) || gen_alpha_palette(g) || gen_alpha_rgba16(g))
        return -1;
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

static int gen_png(gen *g)
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

static int gen_bad(gen *g)
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

static int gen_samples(gen *g)
{
    if (sample_sunset(g) || sample_shapes(g) || sample_bubbles(g) || sample_arrow(g) ||
        sample_cmyk(g))
        return -1;
    g->files += 5;
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
    if (n >= sizeof g.dir - 64) {
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
