/* The libvips engine, built as a module (thumbd_vips.so) that thumbd loads
 * on first use: linking libvips into thumbd would map its hundred shared
 * libraries, about 23 MB of RSS, into every run. See vipsmod.h. */
#include "thumbd/vipsmod.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

#include "thumbd/bmpico.h"

const int vipsmod_abi = VIPSMOD_ABI;

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Set once by start_vips; read by workers that end without having used
 * libvips while another starts it (atomic: no lock orders the two). */
static atomic_bool started;

/* Started lazily: a run over JPEGs and PNGs alone never pays for libvips's
 * start-up (its modules, its thread pool). */
/* libvips's warnings ("ignoring nclx profile") would interleave with the
 * progress line; its errors reach the report through the error buffer. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

static void start_vips(void)
{
    if (VIPS_INIT("thumbd") != 0)
        return;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, drop_log, NULL);
    /* libvips picks a loader by a file's content, whatever its name says:
     * of the loaders libvips does not vouch for, only those of the formats
     * thumbd names (scan_is_vips_name) stay open; OpenSlide, FITS, MATLAB,
     * PPM, CSV, raw, Radiance, OpenEXR... are never reached. ImageMagick's
     * loader is open, but only magick_thumb calls it, on the bytes of a file
     * bmpico_probe accepted as a BMP or ICO; loader_family refuses it to
     * every other file. */
    vips_block_untrusted_set(TRUE);
    static const char *const wanted[] = {"VipsForeignLoadSvg", "VipsForeignLoadPdf",
                                         "VipsForeignLoadJp2k", "VipsForeignLoadJxl",
                                         "VipsForeignLoadMagick"};
    for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
        vips_operation_block_set(wanted[i], FALSE);
    vips_concurrency_set(1); /* the pool already runs one image per core */
    vips_cache_set_max(0);   /* a batch never asks for the same thing twice */
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    atomic_store(&started, true);
}

static bool ensure_started(char *err)
{
    pthread_once(&once, start_vips);
    bool ok = atomic_load(&started);
    if (!ok)
        td_fail(err, TD_EIO, "libvips failed to start");
    return ok;
}

/* The last message in libvips's error buffer. In libvips 8.14 the buffer is
 * shared by all threads: clearing it after each failure would wipe another
 * worker's message before it is read, so it is only cleared once it grows
 * long, and a failure reports its newest line. */
static td_status vips_fail_as(char *err, td_status st, const char *what, const char *family)
{
    char buf[TD_ERRLEN] = "";
    char *all = vips_error_buffer_copy(); /* and clears it */
    /* The newest line that speaks of this file's format (another worker's
     * message may have landed since, or taken ours). */
    char *save = NULL;
    for (char *line = all ? strtok_r(all, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
        if (!family || strcasestr(line, family))
            snprintf(buf, sizeof buf, "%s", line);
    g_free(all);
    if (buf[0])
        return td_fail(err, st, "%s: %s", what, buf);
    return td_fail(err, st, "%s: the %s decoder failed (libvips gave no details)", what,
                   family ? family : "image");
}

static td_status vips_fail(char *err, td_status st, const char *what)
{
    return vips_fail_as(err, st, what, NULL);
}

/* "tiff" for tiffload_source: how libvips's messages about it start.
 * Empty when no loader takes the file; *blocked when only a blocked one
 * (see start_vips) would. */
static void loader_family(VipsSource *src, char *fam, size_t len, bool *blocked)
{
    const char *name = vips_foreign_find_load_source(src);
    GType type = name ? vips_type_find("VipsOperation", name) : 0;
    *blocked = false;
    if (type) { /* name may be the class's name: use its nickname */
        VipsObjectClass *class = VIPS_OBJECT_CLASS(g_type_class_ref(type));
        snprintf(fam, len, "%s", class->nickname);
        *blocked = VIPS_OPERATION_CLASS(class)->flags & VIPS_OPERATION_BLOCKED;
        /* Open to BMP and ICO only, through magick_thumb. */
        *blocked = *blocked || !strncmp(class->nickname, "magick", 6);
        g_type_class_unref(class);
    } else {
        snprintf(fam, len, "%s", name ? name : "");
    }
    char *cut = strstr(fam, "load");
    if (cut)
        *cut = '\0';
}

static void on_eval(VipsImage *image, VipsProgress *progress, void *tok)
{
    (void)progress;
    if (cancel_check(tok) != CANCEL_NONE)
        vips_image_set_kill(image, TRUE);
}

/* What the header says (libvips reads no pixels for it). */
typedef struct header {
    int w, h;
    bool managed;              /* an ICC profile, or CMYK: colour-manage to sRGB */
} header;

static td_status check_limits(const vipsengine_params *p, int w, int ht, int pages, char *err);

/* Bytes a frame of w x h pixels of the given bands and sample size takes. */
static uint64_t frame_bytes(int w, int h, int bands, uint64_t sample)
{
    return (uint64_t)(w > 0 ? w : 0) * (uint64_t)(h > 0 ? h : 0) * (uint64_t)(bands > 0 ? bands : 1) *
           sample;
}

/* Loaders that read the whole file into memory before they decode. */
static bool reads_whole(const char *fam)
{
    static const char *const whole[] = {"webp", "gif", "svg", "pdf", "heif"};
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++)
        if (!strcmp(fam, whole[i]))
            return true;
    return false;
}

/* What the loader of family fam holds whole to read the first page of h:
 * a frame, or a progressive JPEG's coefficients; 0 for those that stream
 * rows or render at the thumbnail's scale. */
static uint64_t held_need(VipsImage *h, const char *fam)
{
    int w = vips_image_get_width(h), ht = vips_image_get_height(h), bands = vips_image_get_bands(h);
    uint64_t frame = frame_bytes(w, ht, bands, vips_format_sizeof(vips_image_get_format(h)));
    int flag = 0;
    if (!strcmp(fam, "jpeg")) /* a progressive file: every DCT coefficient, 2 bytes each */
        return vips_image_get_int(h, "jpeg-multiscan", &flag) == 0 && flag ? frame_bytes(w, ht, bands, 2) : 0;
    if (!strcmp(fam, "png") || !strcmp(fam, "spng")) /* Adam7: the whole frame */
        return vips_image_get_int(h, "interlaced", &flag) == 0 && flag ? frame : 0;
    if (!strcmp(fam, "webp")) /* an animation: the canvas and the frame drawn on it */
        return vips_image_get_n_pages(h) > 1 ? 2 * frame_bytes(w, ht, 4, 1) : 0;
    if (!strcmp(fam, "gif")) /* libnsgif's RGBA frame */
        return frame_bytes(w, ht, 4, 1);
    if (!strcmp(fam, "heif")) /* libheif's decoded planes, then the interleaved image */
        return 2 * frame;
    if (!strcmp(fam, "jxl") || !strcmp(fam, "jp2k")) /* 32-bit samples while decoding */
        return frame_bytes(w, ht, bands, 4) + frame;
    if (!strcmp(fam, "tiff") || !strcmp(fam, "svg") || !strcmp(fam, "pdf"))
        return 0; /* strips or tiles; rendered at scale */
    return frame;
}

/* libvips's own buffers on the way to the thumbnail: up to 1024 rows at
 * the width the loader gives (measured: 8000x8000 TIFFs, 8 and 16 bits),
 * of 32-bit floats where an alpha band makes it premultiply (measured:
 * 5120x2880 RGBA PNGs), an eighth of the width for a JPEG (shrink-on-load),
 * none for the formats decoded or rendered at the thumbnail's scale. */
static uint64_t lines_need(VipsImage *h, const char *fam)
{
    if (!strcmp(fam, "webp") || !strcmp(fam, "svg") || !strcmp(fam, "pdf") || !strcmp(fam, "heif"))
        return 0;
    int w = vips_image_get_width(h), rows = vips_image_get_height(h);
    if (!strcmp(fam, "jpeg"))
        w = (w + 7) / 8;
    if (rows > 1024)
        rows = 1024;
    bool gif = !strcmp(fam, "gif");
    int bands = gif ? 4 : vips_image_get_bands(h);
    uint64_t sample = vips_format_sizeof(vips_image_get_format(h));
    if (!gif && vips_image_hasalpha(h) && sample < 4)
        sample = 4;
    return frame_bytes(w, rows, bands, sample);
}

/* What reading the first page of h takes (vipsengine.h), from its header
 * alone: what the loader holds, libvips's rows, and the file itself for
 * loaders that read it whole (reads_whole). */
static uint64_t loader_need(VipsImage *h, const char *fam, uint64_t file_bytes)
{
    return held_need(h, fam) + lines_need(h, fam) + (reads_whole(fam) ? file_bytes : 0);
}

/* Asks p->reserve for need bytes (nothing when it is 0 or there is no one
 * to ask). */
static td_status reserve(const vipsengine_params *p, uint64_t need, char *err)
{
    if (!p->reserve || need == 0)
        return TD_OK;
    return p->reserve(p->reserve_ctx, need > SIZE_MAX ? SIZE_MAX : (size_t)need, err);
}

/* Limits from the header alone. */
static td_status check_header(const vipsengine_params *p, VipsSource *src, header *hd,
                              const char *fam, uint64_t file_bytes, char *err)
{
    VipsImage *h = vips_image_new_from_source(src, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!h)
        return *fam ? vips_fail_as(err, TD_EINPUT, "unreadable image", fam)
                    : vips_fail(err, TD_EINPUT, "unreadable image");
    int w = vips_image_get_width(h), ht = vips_image_get_height(h);
    int pages = vips_image_get_n_pages(h);
    hd->w = w;
    hd->h = ht;
    /* export_profile on an untagged RGB image shifts its colours in libvips
     * 8.14: ask for colour management only where there is colour to manage. */
    hd->managed = vips_image_get_typeof(h, VIPS_META_ICC_NAME) != 0 ||
                  vips_image_guess_interpretation(h) == VIPS_INTERPRETATION_CMYK;
    uint64_t need = loader_need(h, fam, file_bytes);
    g_object_unref(h);
    td_status st = check_limits(p, w, ht, pages, err);
    return st == TD_OK ? reserve(p, need, err) : st;
}

/* --max-dimension, --max-pixels and --max-frames. */
static td_status check_limits(const vipsengine_params *p, int w, int ht, int pages, char *err)
{
    if (w > p->max_dimension || ht > p->max_dimension)
        return td_fail(err, TD_ELIMIT, "image is %dx%d, over --max-dimension %d", w, ht,
                       p->max_dimension);
    uint64_t px = (uint64_t)w * (uint64_t)ht;
    if (px > p->max_pixels)
        return td_fail(err, TD_ELIMIT, "image is %dx%d (%.1f megapixels), over --max-pixels %.1f megapixels",
                       w, ht, (double)px / 1e6, (double)p->max_pixels / 1e6);
    if (pages > p->max_frames)
        return td_fail(err, TD_ELIMIT, "image has %d pages or frames, over --max-frames %d", pages,
                       p->max_frames);
    return TD_OK;
}

/* Some loaders (GIF) give every image an alpha band: one that is opaque
 * everywhere is dropped, so the thumbnail is a JPEG like any opaque image. */
static void drop_opaque_alpha(vipsengine_thumb *th)
{
    size_t n = (size_t)th->w * (size_t)th->h;
    for (size_t i = 0; i < n; i++)
        if (th->px[i * 4 + 3] != 255)
            return;
    for (size_t i = 0; i < n; i++)
        memmove(th->px + i * 3, th->px + i * 4, 3);
    th->alpha = false;
}

/* WebP's container may carry EXIF, XMP and ICC chunks; libvips 8.14 adds a
 * small EXIF block even with strip. Removes those chunks and their VP8X
 * flags in place; returns the new length. */
static size_t webp_strip(uint8_t *p, size_t len)
{
    if (len < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WEBP", 4))
        return len;
    size_t in = 12, out = 12;
    while (in + 8 <= len) {
        uint32_t sz = (uint32_t)p[in + 4] | (uint32_t)p[in + 5] << 8 | (uint32_t)p[in + 6] << 16 |
                      (uint32_t)p[in + 7] << 24;
        size_t whole = 8 + (size_t)sz + (sz & 1);
        if (whole > len - in)
            return len; /* malformed: leave it alone */
        bool drop = !memcmp(p + in, "EXIF", 4) || !memcmp(p + in, "XMP ", 4) || !memcmp(p + in, "ICCP", 4);
        if (!memcmp(p + in, "VP8X", 4) && sz >= 1)
            p[in + 8] &= (uint8_t)~(0x20 | 0x08 | 0x04); /* ICC, EXIF, XMP flags */
        if (!drop) {
            memmove(p + out, p + in, whole);
            out += whole;
        }
        in += whole;
    }
    uint32_t riff = (uint32_t)(out - 8);
    p[4] = (uint8_t)riff;
    p[5] = (uint8_t)(riff >> 8);
    p[6] = (uint8_t)(riff >> 16);
    p[7] = (uint8_t)(riff >> 24);
    return out;
}

/* 8-bit sRGB, 3 bands, or 4 with alpha. */
static VipsImage *to_srgb8(VipsImage *in)
{
    VipsImage *a = NULL, *b = NULL;
    if (vips_colourspace(in, &a, VIPS_INTERPRETATION_sRGB, NULL))
        return NULL;
    int bands = vips_image_get_bands(a) >= 4 ? 4 : 3;
    if (vips_image_get_bands(a) != bands) {
        VipsImage *c;
        if (vips_extract_band(a, &c, 0, "n", bands, NULL)) {
            g_object_unref(a);
            return NULL;
        }
        g_object_unref(a);
        a = c;
    }
    if (vips_cast_uchar(a, &b, NULL)) {
        g_object_unref(a);
        return NULL;
    }
    g_object_unref(a);
    return b;
}

/* libvips reads through us: once the token trips, the file "ends", and the
 * loader stops at its next read. (The "eval" signal alone is not enough:
 * cover crops compute the whole thumbnail inside vips_thumbnail_source.)
 * Returning 0 (end of file), never -1: an error return from this callback
 * drives libtiff 4.5 into a heap overflow. */
typedef struct reader {
    int fd;
    cancel_token *tok;
} reader;

static gint64 on_read(VipsSourceCustom *s, void *buf, gint64 len, void *user)
{
    (void)s;
    reader *r = user;
    if (cancel_check(r->tok) != CANCEL_NONE)
        return 0;
    ssize_t n = read(r->fd, buf, (size_t)len);
    return n < 0 ? 0 : n;
}

static gint64 on_seek(VipsSourceCustom *s, gint64 off, int whence, void *user)
{
    (void)s;
    return lseek(((reader *)user)->fd, (off_t)off, whence);
}

static td_status cancelled_or(cancel_token *tok, td_status st, char *err)
{
    cancel_reason why = cancel_check(tok);
    return why != CANCEL_NONE ? td_fail(err, TD_ECANCEL, "%s", cancel_reason_name(why)) : st;
}

/* thumb as 8-bit sRGB pixels in th (w, h, alpha, px). */
static td_status finish(VipsImage *thumb, cancel_token *tok, const char *fam, vipsengine_thumb *th,
                        char *err)
{
    VipsImage *out = to_srgb8(thumb);
    if (!out)
        return vips_fail(err, TD_EINPUT, "libvips colour conversion");
    td_status st = TD_OK;
    vips_image_set_progress(out, TRUE);
    g_signal_connect(out, "eval", G_CALLBACK(on_eval), tok);
    size_t len = 0;
    void *mem = vips_image_write_to_memory(out, &len);
    if (!mem) {
        st = cancelled_or(tok, vips_fail_as(err, TD_EINPUT, "libvips", fam), err);
    } else {
        th->px = malloc(len);
        if (th->px)
            memcpy(th->px, mem, len);
        else
            st = td_fail(err, TD_ENOMEM, "out of memory");
        g_free(mem);
        th->w = vips_image_get_width(out);
        th->h = vips_image_get_height(out);
        th->alpha = vips_image_get_bands(out) == 4;
        if (th->px && th->alpha)
            drop_opaque_alpha(th);
    }
    g_object_unref(out);
    return st;
}

static uint64_t file_size(int fd)
{
    struct stat sb;
    return fstat(fd, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
}

/* Every format but BMP and ICO: libvips reads through us, and picks the
 * loader by the content (never ImageMagick's: loader_family). */
static td_status source_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                             char *err)
{
    reader rd = {fd, tok};
    VipsSourceCustom *custom = vips_source_custom_new();
    if (!custom)
        return vips_fail(err, TD_EIO, "libvips cannot read the file");
    g_signal_connect(custom, "read", G_CALLBACK(on_read), &rd);
    g_signal_connect(custom, "seek", G_CALLBACK(on_seek), &rd);
    VipsSource *src = VIPS_SOURCE(custom);
    char fam[48];
    bool blocked;
    loader_family(src, fam, sizeof fam, &blocked);
    header hd = {0};
    td_status st = blocked ? td_fail(err, TD_EINPUT, "not an image format thumbd reads: libvips would "
                                                     "read it as '%s', a loader thumbd keeps closed to "
                                                     "untrusted files", fam)
                   : *fam ? check_header(p, src, &hd, fam, file_size(fd), err)
                          : td_fail(err, TD_EINPUT, "libvips: no loader recognises this file "
                                                    "(not an image format thumbd reads: unrecognised signature)");
    if (st != TD_OK)
        st = cancelled_or(tok, st, err);
    th->src_w = hd.w;
    th->src_h = hd.h;
    VipsImage *thumb = NULL;
    VipsInteresting crop = p->fit == FIT_COVER ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE;
    VipsSize size = p->enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN;
    int rc = 0;
    /* The loader's option: --fail-on's level has libvips's name. */
    char opts[32];
    snprintf(opts, sizeof opts, "fail_on=%s", failon_name(p->fail_on));
    if (st == TD_OK && hd.managed)
        rc = vips_thumbnail_source(src, &thumb, p->box_w, "height", p->box_h, "crop", crop,
                                   "size", size, "export_profile", "srgb", "option_string",
                                   opts, NULL);
    else if (st == TD_OK)
        rc = vips_thumbnail_source(src, &thumb, p->box_w, "height", p->box_h, "crop", crop,
                                   "size", size, "option_string", opts, NULL);
    if (rc)
        st = cancelled_or(tok, vips_fail_as(err, TD_EINPUT, "libvips", fam), err);
    if (st == TD_OK)
        st = finish(thumb, tok, fam, th, err);
    if (thumb)
        g_object_unref(thumb);
    g_object_unref(src);
    return st;
}

/* Up to n bytes of fd from offset 0; how many in *got. */
static td_status read_all(int fd, uint8_t *buf, size_t n, size_t *got, char *err)
{
    size_t at = 0;
    while (at < n) {
        ssize_t r = pread(fd, buf + at, n - at, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return td_fail(err, TD_EIO, "cannot read the file: %s", strerror(errno));
        if (r == 0)
            break;
        at += (size_t)r;
    }
    *got = at;
    return TD_OK;
}

/* The bytes of a BMP or ICO that bmpico_probe accepts whole, into *buf
 * (malloc'd, the caller's): its headers first, checked with the limits
 * before the rest is read, then up to where its image's data ends. */
static td_status bmpico_read(const vipsengine_params *p, int fd, bmpico_info *bi, uint8_t **buf, size_t *len,
                             char *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return td_fail(err, TD_EIO, "cannot stat the file: %s", strerror(errno));
    uint64_t size = (uint64_t)sb.st_size;
    size_t want = size < 6 + 16 * 512 ? (size_t)size : 6 + 16 * 512; /* an ICO's largest directory */
    td_status st = TD_OK;
    const char *why = NULL;
    *buf = NULL;
    for (int pass = 0; pass < 2 && st == TD_OK; pass++) {
        uint8_t *b = realloc(*buf, want ? want : 1);
        if (!b)
            return td_fail(err, TD_ENOMEM, "out of memory");
        *buf = b;
        st = read_all(fd, b, want, len, err);
        if (st != TD_OK)
            break;
        bmpico_probe(b, *len, size, bi, &why);
        if (bi->kind == BMPICO_NONE)
            st = td_fail(err, TD_EINPUT, "not a BMP or ICO thumbd reads: %s", why);
        else
            st = check_limits(p, bi->w, bi->h, 1, err);
        want = bi->end < size ? bi->end : (size_t)size;
    }
    return st;
}

/* BMP and ICO: libvips 8.14 reads them only through ImageMagick's loader,
 * and that only from memory (magickload_buffer). It sees no file before
 * bmpico_read has checked its headers; an ICO gives the entry
 * bmpico_probe chose as libvips's page. */
static td_status magick_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                             char *err)
{
    bmpico_info bi;
    uint8_t *buf = NULL;
    size_t len = 0;
    td_status st = bmpico_read(p, fd, &bi, &buf, &len, err);
    th->src_w = bi.w;
    th->src_h = bi.h;
    /* ImageMagick holds the image at 16 bits a channel, RGBA, and libvips
     * a copy at 8. */
    if (st == TD_OK)
        st = reserve(p, frame_bytes(bi.w, bi.h, 4, 3), err);
    const char *name = st == TD_OK ? vips_foreign_find_load_buffer(buf, len) : NULL;
    if (st == TD_OK && (!name || strncmp(name, "VipsForeignLoadMagick", 21)))
        st = td_fail(err, TD_EINPUT, "not a BMP or ICO thumbd reads: libvips would not read it "
                                     "with ImageMagick");
    st = cancelled_or(tok, st, err);
    VipsImage *thumb = NULL;
    if (st == TD_OK) {
        char opts[48];
        snprintf(opts, sizeof opts, "fail_on=%s,page=%d", failon_name(p->fail_on), bi.entry);
        VipsInteresting crop = p->fit == FIT_COVER ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE;
        if (vips_thumbnail_buffer(buf, len, &thumb, p->box_w, "height", p->box_h, "crop", crop, "size",
                                  p->enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN, "option_string", opts,
                                  NULL))
            st = cancelled_or(tok, vips_fail_as(err, TD_EINPUT, "libvips", "magick"), err);
    }
    if (st == TD_OK)
        st = finish(thumb, tok, "magick", th, err);
    if (thumb)
        g_object_unref(thumb);
    free(buf);
    return st;
}

td_status vipsmod_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                       char err[TD_ERRLEN])
{
    memset(th, 0, sizeof *th);
    if (!ensure_started(err))
        return TD_EIO;
    double t0 = clock_now_s();
    /* The caller may have read through stdio: start from the beginning. */
    lseek(fd, 0, SEEK_SET);
    uint8_t head[64];
    size_t n = 0;
    td_status st = read_all(fd, head, sizeof head, &n, err);
    /* No other format libvips reads starts with BM: a broken BMP is told so. */
    bool bm = n >= 2 && head[0] == 'B' && head[1] == 'M';
    if (st == TD_OK && (bm || bmpico_sniff(head, n) == BMPICO_ICO))
        st = magick_make(p, fd, tok, th, err);
    else if (st == TD_OK)
        st = source_make(p, fd, tok, th, err);
    th->decode_ms = (clock_now_s() - t0) * 1000.0;
    if (st != TD_OK) {
        free(th->px); /* src_w, src_h: still worth reporting */
        th->px = NULL;
    }
    return st;
}

bool vipsmod_start(void)
{
    char err[TD_ERRLEN];
    return ensure_started(err);
}

bool vipsmod_can_save(out_kind kind)
{
    char err[TD_ERRLEN];
    if (!ensure_started(err))
        return false;
    const char *op = kind == OUT_WEBP ? "webpsave_buffer" : "heifsave_buffer";
    return vips_type_find("VipsOperation", op) != 0;
}

td_status vipsmod_encode(const vipsengine_thumb *th, out_kind kind, int quality, FILE *out,
                         char err[TD_ERRLEN])
{
    if (!ensure_started(err))
        return TD_EIO;
    int bands = th->alpha ? 4 : 3;
    VipsImage *im = vips_image_new_from_memory(th->px, (size_t)th->w * (size_t)th->h * (size_t)bands,
                                               th->w, th->h, bands, VIPS_FORMAT_UCHAR);
    if (!im)
        return vips_fail(err, TD_ENOMEM, "libvips");
    void *buf = NULL;
    size_t len = 0;
    int rc = kind == OUT_WEBP
                 ? vips_webpsave_buffer(im, &buf, &len, "Q", quality, "strip", TRUE, NULL)
                 : vips_heifsave_buffer(im, &buf, &len, "Q", quality, "compression",
                                        VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "strip", TRUE, NULL);
    g_object_unref(im);
    if (rc)
        return vips_fail(err, TD_EIO, kind == OUT_WEBP ? "WebP encoder" : "AVIF encoder");
    if (kind == OUT_WEBP)
        len = webp_strip(buf, len);
    size_t n = fwrite(buf, 1, len, out);
    int e = errno;
    td_status st = n == len ? TD_OK : td_fail(err, TD_EIO, "cannot write thumbnail: %s", strerror(e));
    g_free(buf);
    errno = e; /* the write's, for the caller (vipsengine.h) */
    return st;
}

void vipsmod_thread_end(void)
{
    if (atomic_load(&started))
        vips_thread_shutdown();
}
