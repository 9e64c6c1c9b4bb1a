/* thumbd_gen's shared parts: paths, expected.txt lines, images in memory, the JPEG, PNG, Exif and ICC writers (tests/gen/README.md). */
#include "gen_util.h"

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */

int make_parents(const char *path)
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

int gen_path(const gen *g, const char *rel, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/%s", g->dir, rel);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "thumbd_gen: path too long: %s/%s\n", g->dir, rel);
        return -1;
    }
    return make_parents(out);
}

/* ------------------------------------------------------------------------ */
/* expected.txt                                                             */

void exp_begin(gen *g, const char *name, const char *cat)
{
    if (g->expected)
        fprintf(g->expected, "%s cat=%s", name, cat);
}

void exp_kv(gen *g, const char *fmt, ...)
{
    if (!g->expected)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputc(' ', g->expected);
    vfprintf(g->expected, fmt, ap);
    va_end(ap);
}

void exp_end(gen *g)
{
    if (g->expected)
        fputc('\n', g->expected);
}

void exp_out(gen *g, const char *name, bool alpha)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", name);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    exp_kv(g, "out=%s.%s", out, alpha ? "png" : "jpg");
}

void exp_probe(gen *g, double fx, double fy, const int *c, int na)
{
    if (na == 4 && c[3] == 0)
        exp_kv(g, "probe=%.3f,%.3f,*,*,*,0", fx, fy);
    else if (na == 4)
        exp_kv(g, "probe=%.3f,%.3f,%d,%d,%d,%d", fx, fy, c[0], c[1], c[2], c[3]);
    else
        exp_kv(g, "probe=%.3f,%.3f,%d,%d,%d", fx, fy, c[0], c[1], c[2]);
}

void exp_quad_probes(gen *g, const int q[4][4], int na)
{
    static const double pos[4][2] = {{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}};
    for (int i = 0; i < 4; i++)
        exp_probe(g, pos[i][0], pos[i][1], q[i], na);
}

/* ------------------------------------------------------------------------ */
/* Images in memory: samples as uint16 (0..255 for 8-bit targets, 0..65535
 * for 16-bit ones, palette indices for palette images).                    */

int img_new(img *im, int w, int h, int nc)
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

void img_free(img *im)
{
    free(im->s);
    im->s = NULL;
}

uint16_t *img_px(const img *im, int x, int y)
{
    return im->s + ((size_t)y * (size_t)im->w + (size_t)x) * (size_t)im->nc;
}

int img_quads(img *im, int w, int h, int nc, const int q[4][4])
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

void orient_map(int o, int sw, int sh, int sx, int sy, int *dx, int *dy)
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

int img_for_orientation(const img *up, int o, img *st)
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

void img_row(void *ud, int y, uint8_t *row)
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

void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

int write_jpeg(const char *path, const jpeg_spec *sp)
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

int write_jpeg_img(const char *path, const img *im, J_COLOR_SPACE in_cs,
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

int write_jpeg_rgb(const char *path, const img *im)
{
    return write_jpeg_img(path, im, JCS_RGB, JCS_UNKNOWN, 92, -1, -1, NULL, 0, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* PNG writer                                                                */

void pngerr_fn(png_structp p, png_const_charp m)
{
    char *buf = png_get_error_ptr(p);
    snprintf(buf, 256, "%s", m);
    png_longjmp(p, 1);
}

void pngwarn_fn(png_structp p, png_const_charp m)
{
    (void)p;
    fprintf(stderr, "thumbd_gen: libpng warning: %s\n", m);
}

int png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;   /* palette */
    }
}

int write_png(const char *path, const png_spec *sp)
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

int write_png_img(const char *path, const img *im, int color_type, int depth,
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

void put16le(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v & 0xFF);
    b[1] = (uint8_t)((v >> 8) & 0xFF);
}

void put32le(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)((v >> (8 * i)) & 0xFF);
}

void ifd_entry(uint8_t *b, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
    put16le(b, tag);
    put16le(b + 2, type);
    put32le(b + 4, count);
    put32le(b + 8, value);
}

size_t build_tiff(uint8_t buf[EXIF_MAX], int orientation)
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

void exp_image(gen *g, const char *name, const char *cat, const char *fmt, int w, int h,
                      int dw, int dh, int orient, bool alpha)
{
    exp_begin(g, name, cat);
    exp_kv(g, "fmt=%s w=%d h=%d dw=%d dh=%d orient=%d alpha=%d status=ok", fmt, w, h, dw, dh,
           orient, alpha ? 1 : 0);
    exp_out(g, name, alpha);
}
