/* thumbd_hostile's shared parts: buffers, files under the corpus root, pseudo-random bytes, JPEG and PNG encoders in memory. */
#ifndef THUMBD_GEN_GEN_HOSTILE_UTIL_H
#define THUMBD_GEN_GEN_HOSTILE_UTIL_H

/* thumbd_hostile OUTDIR: a corpus of hostile inputs for tests/test_hostile.c,
 * made here with libjpeg, libpng and zlib (nothing is downloaded; fixed seeds,
 * so the output is the same on every run).
 *
 * Layout (the test decides what it expects from the folder):
 *
 *   good/       valid images (baseline and progressive JPEG, RGB, grey and
 *               RGBA PNG): must be thumbnailed
 *   names/      valid images with hostile names: newlines, other control
 *               characters, bytes that are not UTF-8, leading dashes,
 *               printf conversions: must be thumbnailed
 *   wrongext/   a PNG named .jpg and a JPEG named .png (valid), text and HTML
 *               named .jpg/.png (must fail), notes.txt (not an image name)
 *   empty/      zero-length .jpg, .jpeg, .png
 *   truncated/  jpg/ a baseline JPEG cut at 40 offsets, png/ a PNG cut at 40
 *               offsets, prog/ a progressive JPEG cut at 12 offsets; every cut
 *               removes image data (none is in the last 64 bytes)
 *   bitflip/    copies with 1..4 flipped bits (jpg/ 20, png/ 20, prog/ 10):
 *               may decode or fail, must not crash
 *   huge/       a JPEG whose SOF says 60000x60000 and a PNG whose IHDR says
 *               100000x100000, each with a tiny body
 *   dims/       valid but extreme shapes: 300000x1 PNG, 30000x8 JPEG
 *   bomb/       idat_bomb.png: 10000x10000 8-bit grey (100 MB raw, within
 *               the default --max-pixels) whose IDAT inflates to 2 GiB of
 *               zeros (about 2 MB on disk); idat_exact.png: the same image
 *               with an honest stream (exactly the 100,010,000 bytes it
 *               needs); idat_bomb_2000.png / idat_exact_2000.png: the same
 *               pair at 2000x2000
 *   chunks/     PNG metadata attacks: a zTXt and an iCCP chunk that inflate
 *               to 2 GiB, 50000 tEXt chunks, a 1 MiB private chunk, a chunk
 *               whose length field says ~2 GiB in a file that ends early
 *   scans/      many_scans.jpg: 2048x2048 progressive JPEG with the longest
 *               scan script libjpeg's encoder accepts (2112 scans);
 *               dup_scans.jpg: the same plus 20000 copies of one of its scans
 *               (a decoder accepts repeats with a warning; libjpeg's encoder
 *               cannot write them)
 *   appflood/   app1_flood.jpg: a 64x64 JPEG behind 640 maximal APP1 markers
 *               (about 42 MB of metadata)
 *   deep/       200 nested directories with an image at levels 100 and 200
 *   deeplong/   200 nested directories with 32-byte names: the deepest image's
 *               path (about 6.4 KB) is longer than PATH_MAX
 *
 * A summary (scan counts, sizes) goes to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

enum {
    N_CUTS = 40,          /* truncation offsets per baseline JPEG / PNG */
    N_CUTS_PROG = 12,
    N_FLIPS = 20,         /* bit-flipped copies per baseline JPEG / PNG */
    N_FLIPS_PROG = 10,
    DEEP_LEVELS = 200,
    DUP_SCANS = 20000,    /* repeated scans inserted into dup_scans.jpg */
    FLOOD_MARKERS = 640,  /* maximal APP1 segments in app1_flood.jpg */
    TEXT_CHUNKS = 50000,
};

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void die(const char *fmt, ...);

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
} buf;

void buf_put(buf *b, const void *p, size_t n);

void buf_free(buf *b);

extern int g_root;

/* mkdir -p of rel's parent directories under dirfd. */
void mkparents_at(int dirfd, const char *rel);

void write_at(int dirfd, const char *rel, const void *data, size_t n);

void write_file(const char *rel, const void *data, size_t n);

/* Deterministic pseudo-random numbers (xorshift64*). */
extern uint64_t g_rng;

uint64_t rnd(void);

/* A smooth, colourful "photo" with a little texture: rows differ, and it
 * compresses like a real picture. */
double sine(double a)   /* sin(a) from a table: the generator stays fast under ASan */;

uint8_t photo_px(int x, int y, int c, int w, int h);

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

void jerr_exit(j_common_ptr c);

typedef struct jpeg_job {
    int w, h, comps;              /* comps 1 (grey) or 3 (RGB input) */
    int quality;
    bool simple_progressive;      /* jpeg_simple_progression */
    const jpeg_scan_info *scans;  /* a custom scan script, or NULL */
    int nscans;
    /* out */
    unsigned char *mem;
    unsigned long len;
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

/* Encodes job; false (job->msg says why) if libjpeg refuses it. */
bool jpeg_encode_job(jpeg_job *job);

void jpeg_simple(int w, int h, int comps, bool progressive, buf *out);

void png_buf_write(png_structp p, png_bytep data, size_t n);

void png_buf_flush(png_structp p);

void png_die(png_structp p, png_const_charp msg);

/* color_type: PNG_COLOR_TYPE_GRAY, _RGB or _RGB_ALPHA, 8-bit. */
void png_simple(int w, int h, int color_type, buf *out);

/* The corpus folders written by the other files (each dies on an error):
 * JPEGs of many scans, a flood of APP markers (gen_hostile_jpeg.c) */
void make_many_scans(void);
void make_appflood(void);
/* huge declared dimensions, extreme shapes, inflate bombs (gen_hostile_png.c) */
void make_huge(void);
void make_dims(void);
void make_bombs(void);

#endif
