/* PNG pixels: zlib inflate a batch of rows at a time (or libdeflate, a
 * whole small image at once), our own unfilter, expansion to 8-bit rows
 * laid out as libpng's transforms in png.c lay them out. */
#include "thumbd/pngpix.h"

#include "thumbd/pngfilter.h"

#include <libdeflate.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------- expand */

/* What a row expansion needs, prepared once per image. */
typedef struct expander {
    const pngpix_format *f;
    int channels;
    uint8_t lut[256][4];       /* palette: RGBA of every index (libpng pads
                                  the palette with black, alpha with 255) */
} expander;

int pngpix_channels(const pngpix_format *f)
{
    int bd = f->bit_depth;
    bool trans = f->has_trans_color;
    switch (f->color_type) {
    case 0:
        return (bd == 1 || bd == 2 || bd == 4 || bd == 8 || bd == 16) ? 1 + trans : 0;
    case 2:
        return (bd == 8 || bd == 16) ? 3 + trans : 0;
    case 3:
        return (bd == 1 || bd == 2 || bd == 4 || bd == 8) && f->num_palette >= 1 &&
                       f->num_palette <= 256 && f->num_trans >= 0 && f->num_trans <= 256
                   ? 3 + (f->num_trans > 0)
                   : 0;
    case 4:
        return (bd == 8 || bd == 16) ? 2 : 0;
    case 6:
        return (bd == 8 || bd == 16) ? 4 : 0;
    default:
        return 0;
    }
}

static int samples_per_pixel(int color_type)
{
    static const int spp[7] = {1, 0, 3, 1, 2, 0, 4};
    return spp[color_type];
}

/* Bytes of one row without its filter byte; 0 if it would overflow. */
static size_t row_bytes(const pngpix_format *f)
{
    uint64_t bits = (uint64_t)f->width * (uint64_t)(samples_per_pixel(f->color_type) * f->bit_depth);
    uint64_t n = (bits + 7) / 8;
    return n > SIZE_MAX / 8 ? 0 : (size_t)n;
}

static void expander_init(expander *e, const pngpix_format *f)
{
    e->f = f;
    e->channels = pngpix_channels(f);
    if (f->color_type != 3)
        return;
    memset(e->lut, 0, sizeof e->lut);
    for (int i = 0; i < 256; i++) {
        if (i < f->num_palette)
            memcpy(e->lut[i], f->palette[i], 3);
        e->lut[i][3] = i < f->num_trans ? f->trans_alpha[i] : 255;
    }
}

/* png_set_scale_16's rounding (png_do_scale_16_to_8): v * 255 / 65535. */
static inline uint8_t scale16(const uint8_t *s)
{
    int hi = s[0];
    return (uint8_t)(hi + (((s[1] - hi + 128) * 65535) >> 24));
}

/* Sample x of a row of 1, 2 or 4-bit samples, most significant bits first. */
static inline unsigned low_sample(const uint8_t *raw, size_t x, int bd)
{
    size_t bit = x * (size_t)bd;
    return (unsigned)(raw[bit >> 3] >> (8 - bd - (int)(bit & 7))) & ((1u << bd) - 1);
}

static void expand_palette(const expander *e, const uint8_t *raw, uint8_t *out)
{
    const pngpix_format *f = e->f;
    int ch = e->channels;
    for (size_t x = 0; x < f->width; x++, out += ch) {
        unsigned i = f->bit_depth == 8 ? raw[x] : low_sample(raw, x, f->bit_depth);
        memcpy(out, e->lut[i], (size_t)ch);
    }
}

/* Gray of 1, 2 or 4 bits to 8 (x 255, 85 or 17), alpha from tRNS: libpng
 * compares the value masked to the bit depth. */
static void expand_low_gray(const expander *e, const uint8_t *raw, uint8_t *out)
{
    const pngpix_format *f = e->f;
    int bd = f->bit_depth;
    unsigned mask = (1u << bd) - 1, mul = 255 / mask, tr = f->trans_gray & mask;
    for (size_t x = 0; x < f->width; x++) {
        unsigned v = low_sample(raw, x, bd);
        *out++ = (uint8_t)(v * mul);
        if (f->has_trans_color)
            *out++ = v == tr ? 0 : 255;
    }
}

/* 8 or 16-bit gray or RGB with a tRNS colour: an alpha channel. */
static void expand_trans_color(const expander *e, const uint8_t *raw, uint8_t *out)
{
    const pngpix_format *f = e->f;
    int n = f->color_type == 2 ? 3 : 1, wide = f->bit_depth == 16;
    const uint16_t *key = f->color_type == 2 ? f->trans_rgb : &f->trans_gray;
    for (size_t x = 0; x < f->width; x++) {
        bool opaque = false;
        for (int s = 0; s < n; s++, raw += 1 + wide) {
            unsigned v = wide ? (unsigned)raw[0] << 8 | raw[1] : raw[0];
            opaque |= v != (wide ? key[s] : (key[s] & 0xffu));
            *out++ = wide ? scale16(raw) : raw[0];
        }
        *out++ = opaque ? 255 : 0;
    }
}

static void expand_16(const expander *e, const uint8_t *raw, uint8_t *out)
{
    size_t n = (size_t)e->f->width * (size_t)e->channels;
    for (size_t i = 0; i < n; i++, raw += 2)
        out[i] = scale16(raw);
}

/* True if rows need no expansion: 8-bit gray, GA, RGB, RGBA without tRNS. */
static bool rows_as_stored(const pngpix_format *f)
{
    return f->bit_depth == 8 && f->color_type != 3 && !f->has_trans_color;
}

static void expand_row(const expander *e, const uint8_t *raw, uint8_t *out)
{
    const pngpix_format *f = e->f;
    if (f->color_type == 3)
        expand_palette(e, raw, out);
    else if (f->bit_depth < 8)
        expand_low_gray(e, raw, out);
    else if (f->has_trans_color)
        expand_trans_color(e, raw, out);
    else if (f->bit_depth == 16)
        expand_16(e, raw, out);
    else
        memcpy(out, raw, (size_t)f->width * (size_t)e->channels);
}

/* tRNS only means something for the color types it is defined for (libpng
 * rejects the others). */
static pngpix_format normalized(const pngpix_format *f)
{
    pngpix_format n = *f;
    if (n.color_type != 0 && n.color_type != 2)
        n.has_trans_color = false;
    if (n.color_type != 3)
        n.num_trans = 0;
    return n;
}

void pngpix_expand(const pngpix_format *f, const uint8_t *raw, uint8_t *out)
{
    pngpix_format n = normalized(f);
    expander e;
    expander_init(&e, &n);
    expand_row(&e, raw, out);
}

/* -------------------------------------------------------- the decoder */

struct pngpix {
    pngpix_format f;
    expander ex;
    pngpix_row_fn fn;
    void *ctx;
    bool done;
    size_t rowlen;             /* filter byte + row bytes */
    uint8_t *out;              /* the expanded row; NULL if rows go out
                                  as stored */
    int bpp;                   /* filter's bytes per pixel, at least 1 */
    uint32_t y;                /* rows delivered */
    /* whole-buffer strategy, while zbuf is set */
    uint8_t *zbuf;             /* the stream so far */
    size_t zlen, zcap;
    /* streaming strategy, once buf is set */
    z_stream z;
    bool z_live;
    size_t slots;              /* rows inflated per batch */
    uint8_t *buf;              /* the previous row (zeros at first), then
                                  the slots */
    size_t fill;               /* bytes inflated into the slots */
    uint64_t left;             /* bytes of the image not inflated yet */
};

/* Inflating many rows per call keeps zlib in its fast loop (which stops 258
 * bytes short of the end of the output) and copies less into its window. */
enum { BATCH_BYTES = 128 * 1024 };

static size_t batch_rows(size_t rowlen, uint32_t height)
{
    size_t k = BATCH_BYTES / rowlen;
    if (k < 1)
        k = 1;
    return k < height ? k : height;
}

size_t pngpix_work_bytes(const pngpix_format *f)
{
    size_t rb = pngpix_channels(f) && f->height ? row_bytes(f) : 0;
    if (rb == 0)
        return 0;
    /* the rows, one expanded row (at most 4 bytes a pixel), zlib's state
     * (about 7 KiB) and window */
    return (batch_rows(rb + 1, f->height) + 1) * (rb + 1) + (size_t)f->width * 4 + sizeof(pngpix) +
           7 * 1024 + 32 * 1024;
}

static td_status stream_begin(pngpix *p, char *err);

size_t pngpix_whole_bytes(const pngpix_format *f, size_t stream_max)
{
    size_t stream = pngpix_work_bytes(f), rb = row_bytes(f);
    if (stream == 0 || (uint64_t)(rb + 1) * (f->height + 1ull) > SIZE_MAX / 4 || stream_max > SIZE_MAX / 4)
        return 0;
    /* the stream, the raw image after a zero row, libdeflate's decompressor
     * (about 11 KiB); a stream it cannot take goes on through zlib, which
     * needs the streaming bytes on top */
    return stream_max + (rb + 1) * (f->height + 1) + 16 * 1024 + stream;
}

td_status pngpix_create(pngpix **out, const pngpix_format *f, size_t whole_max, pngpix_row_fn fn,
                        void *ctx, char err[TD_ERRLEN])
{
    *out = NULL;
    size_t rb = pngpix_channels(f) && f->width && f->height ? row_bytes(f) : 0;
    if (rb == 0 || (uint64_t)rb + 1 > SIZE_MAX / 2 / f->height) /* the image's bytes must add up */
        return td_fail(err, TD_EINPUT, "corrupt PNG: bad image format (%ux%u, %d-bit, color type %d)",
                       f->width, f->height, f->bit_depth, f->color_type);
    pngpix *p = calloc(1, sizeof *p);
    if (!p)
        return td_fail(err, TD_ENOMEM, "out of memory for a PNG decoder");
    p->f = normalized(f);
    expander_init(&p->ex, &p->f);
    p->fn = fn;
    p->ctx = ctx;
    p->rowlen = rb + 1;
    int bits = samples_per_pixel(f->color_type) * f->bit_depth;
    p->bpp = bits < 8 ? 1 : bits / 8;
    if (!rows_as_stored(&p->f))
        p->out = malloc((size_t)f->width * (size_t)p->ex.channels);
    if (whole_max && !(p->zbuf = malloc(p->zcap = whole_max)))
        p->zcap = 0;
    if ((!rows_as_stored(&p->f) && !p->out) || (whole_max && !p->zbuf)) {
        pngpix_destroy(p);
        return td_fail(err, TD_ENOMEM, "out of memory for %ux%u PNG rows", f->width, f->height);
    }
    td_status st = whole_max ? TD_OK : stream_begin(p, err);
    if (st != TD_OK) {
        pngpix_destroy(p);
        return st;
    }
    *out = p;
    return TD_OK;
}

/* row (filter byte first) is complete, prev the row above, unfiltered:
 * unfilter, expand, deliver. next: the row below if it is complete too,
 * else NULL; two Paeth rows are unfiltered together (faster), and the
 * filter byte of one that is done is set to 0 (none). */
static td_status finish_row(pngpix *p, uint8_t *row, const uint8_t *prev, uint8_t *next, char *err)
{
    if (row[0] == 4 && next && next[0] == 4)
        pngfilter_rows2(row, next, prev, p->rowlen, p->bpp);
    else if (!pngfilter_row(row[0], row + 1, prev + 1, p->rowlen - 1, p->bpp))
        return td_fail(err, TD_EINPUT, "corrupt PNG: bad adaptive filter value %d at row %u of %u",
                       row[0], p->y, p->f.height);
    const uint8_t *px = row + 1;
    if (p->out) {
        expand_row(&p->ex, row + 1, p->out);
        px = p->out;
    }
    uint32_t y = p->y++;
    if (!p->fn(p->ctx, (int)y, px) || p->y == p->f.height)
        p->done = true;
    return TD_OK;
}

/* ---------------------------------------------- streaming: zlib, batches */

static td_status stream_begin(pngpix *p, char *err)
{
    p->slots = batch_rows(p->rowlen, p->f.height);
    p->left = (uint64_t)p->rowlen * p->f.height;
    if (!(p->buf = calloc(p->slots + 1, p->rowlen)))
        return td_fail(err, TD_ENOMEM, "out of memory for %ux%u PNG rows", p->f.width, p->f.height);
    if (inflateInit(&p->z) != Z_OK)
        return td_fail(err, TD_ENOMEM, "out of memory starting zlib");
    p->z_live = true;
    /* The caller verifies chunk CRCs; zlib's Adler-32 of the same bytes is
     * redundant and costs ~7% of a decode (like PNG_IGNORE_ADLER32). */
    inflateValidate(&p->z, 0);
    return TD_OK;
}

/* Delivers the complete rows in the slots, then keeps the last of them as
 * the row above and moves the partial one to the first slot. */
static td_status flush_rows(pngpix *p, char *err)
{
    uint8_t *slot = p->buf + p->rowlen;
    size_t n = p->fill / p->rowlen;
    for (size_t i = 0; i < n && !p->done; i++) {
        uint8_t *row = slot + i * p->rowlen;
        td_status st = finish_row(p, row, row - p->rowlen, i + 1 < n ? row + p->rowlen : NULL, err);
        if (st != TD_OK)
            return st;
    }
    if (p->done || n == 0)
        return TD_OK;
    memcpy(p->buf, slot + (n - 1) * p->rowlen, p->rowlen);
    p->fill -= n * p->rowlen;
    memmove(slot, slot + n * p->rowlen, p->fill);
    return TD_OK;
}

static td_status stream_feed(pngpix *p, const uint8_t *data, size_t n, char *err)
{
    p->z.next_in = (Bytef *)(uintptr_t)data; /* zlib does not write through it */
    p->z.avail_in = (uInt)n;
    if ((size_t)p->z.avail_in != n)
        return td_fail(err, TD_EINPUT, "corrupt PNG: oversized IDAT piece");
    while (!p->done) {
        /* Never more output room than the image has left: nothing past the
         * last row is ever inflated. */
        size_t room = p->slots * p->rowlen - p->fill;
        if (room > p->left)
            room = (size_t)p->left;
        if (room > UINT_MAX)
            room = UINT_MAX;
        p->z.next_out = p->buf + p->rowlen + p->fill;
        p->z.avail_out = (uInt)room;
        int ret = inflate(&p->z, Z_NO_FLUSH);
        size_t got = room - p->z.avail_out;
        p->fill += got;
        p->left -= got;
        if (p->fill >= p->rowlen) {
            td_status st = flush_rows(p, err);
            if (st != TD_OK || p->done)
                return st;
        }
        if (ret == Z_STREAM_END)
            return td_fail(err, TD_EINPUT, "truncated PNG: not enough image data at row %u of %u",
                           p->y, p->f.height);
        if (ret == Z_BUF_ERROR || (ret == Z_OK && p->z.avail_in == 0 && p->z.avail_out > 0))
            break; /* all input used: wait for more */
        if (ret == Z_MEM_ERROR)
            return td_fail(err, TD_ENOMEM, "out of memory in zlib");
        if (ret != Z_OK)
            return td_fail(err, TD_EINPUT, "corrupt PNG: %s at row %u of %u",
                           p->z.msg ? p->z.msg : "bad compressed data", p->y, p->f.height);
    }
    return TD_OK;
}

/* Leaves the whole-buffer strategy: what was collected goes through zlib,
 * so the rows and errors are exactly the streaming ones. */
static td_status to_streaming(pngpix *p, char *err)
{
    td_status st = stream_begin(p, err);
    if (st == TD_OK && p->zlen)
        st = stream_feed(p, p->zbuf, p->zlen, err);
    free(p->zbuf);
    p->zbuf = NULL;
    return st;
}

/* ------------------------------------------ whole buffer: libdeflate */

/* zlib's own header checks (inflate would refuse the stream otherwise),
 * and a 32 KiB window: with a smaller one declared, zlib refuses distances
 * past it that libdeflate would take, and the outcome would depend on the
 * strategy. */
static bool zlib_header_ok(const uint8_t *z, size_t n)
{
    return n >= 2 && (z[0] & 0x0f) == 8 && (z[0] >> 4) == 7 && !(z[1] & 0x20) &&
           ((unsigned)z[0] << 8 | z[1]) % 31 == 0;
}

/* Inflates the collected stream at once and delivers the rows. False (and
 * nothing delivered) unless it inflates to exactly the image: the caller
 * then lets zlib go through it. The deflate data is inflated raw, without
 * the zlib wrapper, so that the Adler-32 is not checked, as zlib does not. */
static bool whole_inflate(pngpix *p, td_status *st, char *err)
{
    size_t raw = p->rowlen * p->f.height;
    if (!zlib_header_ok(p->zbuf, p->zlen))
        return false;
    uint8_t *img = malloc(raw + p->rowlen);
    struct libdeflate_decompressor *d = img ? libdeflate_alloc_decompressor() : NULL;
    size_t in_used = 0, got = 0;
    bool ok = d && libdeflate_deflate_decompress_ex(d, p->zbuf + 2, p->zlen - 2, img + p->rowlen, raw,
                                                    &in_used, &got) == LIBDEFLATE_SUCCESS &&
              got == raw;
    libdeflate_free_decompressor(d);
    if (ok) {
        memset(img, 0, p->rowlen); /* the row above the first */
        *st = TD_OK;
        for (uint8_t *row = img + p->rowlen; *st == TD_OK && !p->done; row += p->rowlen)
            *st = finish_row(p, row, row - p->rowlen, p->y + 1 < p->f.height ? row + p->rowlen : NULL,
                             err);
    }
    free(img);
    return ok;
}

/* ------------------------------------------------------------ the API */

td_status pngpix_feed(pngpix *p, const uint8_t *data, size_t n, char err[TD_ERRLEN])
{
    if (p->done)
        return TD_OK;
    if (p->zbuf && n <= p->zcap - p->zlen) {
        memcpy(p->zbuf + p->zlen, data, n);
        p->zlen += n;
        return TD_OK;
    }
    if (p->zbuf) { /* longer than the file was: the file grows */
        td_status st = to_streaming(p, err);
        if (st != TD_OK || p->done)
            return st;
    }
    return stream_feed(p, data, n, err);
}

td_status pngpix_finish(pngpix *p, char err[TD_ERRLEN])
{
    if (p->done || !p->zbuf)
        return TD_OK;
    td_status st = TD_OK;
    if (whole_inflate(p, &st, err)) {
        free(p->zbuf);
        p->zbuf = NULL;
        return st;
    }
    return to_streaming(p, err);
}

bool pngpix_done(const pngpix *p)
{
    return p->done;
}

void pngpix_destroy(pngpix *p)
{
    if (!p)
        return;
    if (p->z_live)
        inflateEnd(&p->z);
    free(p->buf);
    free(p->zbuf);
    free(p->out);
    free(p);
}
