/* thumbd_gen's shared parts: paths, expected.txt lines, images in memory, the JPEG, PNG, Exif and ICC writers (tests/gen/README.md). */
#ifndef THUMBD_GEN_GEN_UTIL_H
#define THUMBD_GEN_GEN_UTIL_H

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

typedef struct gen {
    char dir[PATH_MAX - 64]; /* room for a name under it in a PATH_MAX buffer */
    FILE *expected;     /* NULL in --samples mode */
    uint64_t rng;
    int files;
} gen;

int make_parents(const char *path);

/* OUTDIR/rel into out, creating the parent directories. */
int gen_path(const gen *g, const char *rel, char *out, size_t n);

void exp_begin(gen *g, const char *name, const char *cat);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void exp_kv(gen *g, const char *fmt, ...);

void exp_end(gen *g);

/* Expected thumbnail name: the extension becomes .jpg (opaque) or .png. */
void exp_out(gen *g, const char *name, bool alpha);

/* A probe: colour c (3 channels, or 4 when na == 4) at (fx, fy). */
void exp_probe(gen *g, double fx, double fy, const int *c, int na);

/* Probes at the centres of the four quadrants: q[0]=TL, TR, BL, BR. */
void exp_quad_probes(gen *g, const int q[4][4], int na);

typedef struct img {
    int w, h, nc;
    uint16_t *s;
} img;

int img_new(img *im, int w, int h, int nc);

void img_free(img *im);

uint16_t *img_px(const img *im, int x, int y);

/* Quadrants split at w/2, h/2; q[0]=TL, TR, BL, BR (nc samples each). */
int img_quads(img *im, int w, int h, int nc, const int q[4][4]);

/* Where the stored pixel (sx, sy) of a sw x sh image with EXIF orientation o
 * appears once the orientation is applied (TIFF/EXIF definition). */
void orient_map(int o, int sw, int sh, int sx, int sy, int *dx, int *dy);

/* The stored image that shows as `up` once orientation o is applied. */
int img_for_orientation(const img *up, int o, img *st);

/* Row providers: fill `row` with the packed bytes of row y. */
typedef void (*row_fn)(void *ud, int y, uint8_t *row);

typedef struct img_rows {
    const img *im;
    int depth;          /* 1, 2, 4, 8 or 16 */
} img_rows;

void img_row(void *ud, int y, uint8_t *row);

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

void jerr_exit(j_common_ptr c);

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

int write_jpeg(const char *path, const jpeg_spec *sp);

int write_jpeg_img(const char *path, const img *im, J_COLOR_SPACE in_cs,
                          J_COLOR_SPACE jpeg_cs, int quality, int jfif, int adobe,
                          const jmarker *markers, int nmarkers, const uint8_t *icc,
                          unsigned icc_len);

/* A plain RGB JPEG of im (quality 92, libjpeg's defaults otherwise). */
int write_jpeg_rgb(const char *path, const img *im);

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

void pngerr_fn(png_structp p, png_const_charp m);

void pngwarn_fn(png_structp p, png_const_charp m);

int png_channels(int color_type);

int write_png(const char *path, const png_spec *sp);

int write_png_img(const char *path, const img *im, int color_type, int depth,
                         bool interlace);

void put16le(uint8_t *b, unsigned v);

void put32le(uint8_t *b, uint32_t v);

void ifd_entry(uint8_t *b, unsigned tag, unsigned type, uint32_t count, uint32_t value);

enum { TIFF_BYTE = 1, TIFF_ASCII = 2, TIFF_SHORT = 3, TIFF_LONG = 4, TIFF_RATIONAL = 5 };

/* A little-endian TIFF structure (what follows "Exif\0\0" in APP1, and the
 * content of a PNG eXIf chunk): IFD0 with Make, Orientation and a pointer to
 * a GPS IFD holding a latitude and a longitude. Returns its length. */
#define EXIF_MAX 256

size_t build_tiff(uint8_t buf[EXIF_MAX], int orientation);

/* Records the common keys of an image entry. */
void exp_image(gen *g, const char *name, const char *cat, const char *fmt, int w, int h,
                      int dw, int dh, int orient, bool alpha);

/* The sets (each writes its files and their expected.txt entries; 0 or -1):
 * orient/, color/ and alpha/ (gen_sets.c) */
int gen_orient(gen *g);
int gen_cmyk(gen *g);
int gen_icc(gen *g);
int gen_alpha(gen *g);
/* png/ and bad/ (gen_pngbad.c) */
int gen_png(gen *g);
int gen_bad(gen *g);
/* the --samples demo images (gen_samples.c) */
int gen_samples(gen *g);

#endif
