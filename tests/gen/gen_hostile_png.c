/* thumbd_hostile: huge declared dimensions, extreme shapes and inflate bombs. */
#include "gen_hostile_util.h"

/* 2 GiB of zeros behind every inflate bomb. */
static const uint64_t BOMB_BYTES = 2ull << 30;

static void buf_u32be(buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, q, 4);
}

static void png_chunk(buf *b, const char type[4], const void *data, size_t n)
{
    buf_u32be(b, (uint32_t)n);
    size_t at = b->n;
    buf_put(b, type, 4);
    buf_put(b, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, b->d + at, (uInt)(n + 4));
    buf_u32be(b, (uint32_t)crc);
}

static void png_sig_ihdr(buf *b, uint32_t w, uint32_t h, int bit_depth, int color_type)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    buf_put(b, sig, 8);
    buf ih = {0};
    buf_u32be(&ih, w);
    buf_u32be(&ih, h);
    uint8_t rest[5] = {(uint8_t)bit_depth, (uint8_t)color_type, 0, 0, 0};
    buf_put(&ih, rest, 5);
    png_chunk(b, "IHDR", ih.d, ih.n);
    buf_free(&ih);
}

/* Writes data as IDAT chunks of at most 256 KiB. */
static void png_idats(buf *b, const uint8_t *data, size_t n)
{
    do {
        size_t k = n < (256u << 10) ? n : (256u << 10);
        png_chunk(b, "IDAT", data, k);
        data += k;
        n -= k;
    } while (n);
}

/* zlib stream of the filtered rows (filter 0) of a small RGB photo. */
static void small_rgb_idat(int w, int h, buf *z)
{
    size_t raw_n = (size_t)h * (size_t)(1 + 3 * w);
    uint8_t *raw = malloc(raw_n);
    if (!raw)
        die("out of memory");
    uint8_t *q = raw;
    for (int y = 0; y < h; y++) {
        *q++ = 0;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                *q++ = photo_px(x, y, k, w, h);
    }
    uLongf zn = compressBound((uLong)raw_n);
    uint8_t *zd = malloc(zn);
    if (!zd || compress2(zd, &zn, raw, (uLong)raw_n, 9) != Z_OK)
        die("zlib: compress2 failed");
    buf_put(z, zd, zn);
    free(zd);
    free(raw);
}

/* Deflates n zeros (n <= 64 MiB) with flush into out; false if deflate
 * did not take it all. */
static bool deflate_zeros(z_stream *s, size_t n, int flush, buf *out)
{
    static uint8_t in[64u << 20], obuf[1 << 16];
    s->next_in = in;
    s->avail_in = (uInt)n;
    int r;
    do {
        s->next_out = obuf;
        s->avail_out = sizeof obuf;
        r = deflate(s, flush);
        if (r == Z_STREAM_ERROR)
            return false;
        buf_put(out, obuf, sizeof obuf - s->avail_out);
    } while (s->avail_out == 0);
    return s->avail_in == 0 && (flush != Z_FINISH || r == Z_STREAM_END);
}

/* A zlib stream of `total` zero bytes, deflated at level 9 (strategy Z_RLE:
 * the same ~1030:1 ratio as the default strategy on zeros, faster) in 64 MiB
 * chunks. Each chunk ends with Z_FULL_FLUSH, after which deflate starts
 * afresh: every chunk after the first compresses to the same bytes, so when
 * the 2nd and 3rd agree the rest are copies, and the trailer's Adler-32 of
 * N zeros is ((N mod 65521) << 16) | 1. (If they did not agree, every chunk
 * is deflated.) Gigabytes of zeros in a fraction of a second. */
static void zeros_zlib(uint64_t total, buf *out)
{
    const uint64_t chunk = 64u << 20;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 9, Z_DEFLATED, 15, 9, Z_RLE) != Z_OK)
        die("zlib: deflateInit2 failed");
    uint64_t done = 0;
    if (total >= 3 * chunk && total % chunk == 0) {
        buf b2 = {0}, b3 = {0};
        if (!deflate_zeros(&s, chunk, Z_FULL_FLUSH, out) ||
            !deflate_zeros(&s, chunk, Z_FULL_FLUSH, &b2) ||
            !deflate_zeros(&s, chunk, Z_FULL_FLUSH, &b3))
            die("zlib: deflate failed");
        done = 3 * chunk;
        buf_put(out, b2.d, b2.n);
        buf_put(out, b3.d, b3.n);
        if (b2.n == b3.n && !memcmp(b2.d, b3.d, b2.n)) {
            for (; done < total; done += chunk)
                buf_put(out, b3.d, b3.n);
            if (!deflate_zeros(&s, 0, Z_FINISH, out) || out->n < 4)
                die("zlib: deflate failed");
            uint32_t adler = (uint32_t)(total % 65521u) << 16 | 1u;
            uint8_t *t = out->d + out->n - 4;
            t[0] = (uint8_t)(adler >> 24);
            t[1] = (uint8_t)(adler >> 16);
            t[2] = (uint8_t)(adler >> 8);
            t[3] = (uint8_t)adler;
        }
        buf_free(&b2);
        buf_free(&b3);
        if (done == total) {
            deflateEnd(&s);
            return;
        }
    }
    while (done < total) {
        uint64_t left = total - done, n = left < chunk ? left : chunk;
        done += n;
        if (!deflate_zeros(&s, (size_t)n, done == total ? Z_FINISH : Z_NO_FLUSH, out))
            die("zlib: deflate failed");
    }
    deflateEnd(&s);
}

void make_huge(void)
{
    /* JPEG: a 16x16 image whose SOF0 is patched to say 60000x60000 */
    buf j = {0};
    jpeg_simple(16, 16, 3, false, &j);
    uint8_t *sof = NULL;
    for (size_t i = 2; i + 9 < j.n; i++)
        if (j.d[i] == 0xFF && j.d[i + 1] == 0xC0) {
            sof = j.d + i;
            break;
        }
    if (!sof)
        die("no SOF0 in a JPEG we made");
    sof[5] = 60000 >> 8;
    sof[6] = 60000 & 0xFF;
    sof[7] = 60000 >> 8;
    sof[8] = 60000 & 0xFF;
    write_file("huge/sof_60000x60000.jpg", j.d, j.n);
    buf_free(&j);

    /* PNG: IHDR 100000x100000 grey, an IDAT holding two rows */
    buf p = {0}, z = {0};
    png_sig_ihdr(&p, 100000, 100000, 8, PNG_COLOR_TYPE_GRAY);
    zeros_zlib(2 * 100001, &z);
    png_idats(&p, z.d, z.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("huge/ihdr_100000x100000.png", p.d, p.n);
    buf_free(&p);
    buf_free(&z);
}

void make_dims(void)
{
    buf b = {0};
    png_simple(300000, 1, PNG_COLOR_TYPE_GRAY, &b);
    write_file("dims/wide_300000x1.png", b.d, b.n);
    b.n = 0;
    jpeg_simple(30000, 8, 3, false, &b);
    write_file("dims/wide_30000x8.jpg", b.d, b.n);
    buf_free(&b);
}

/* A small RGB PNG with `extra` chunks (already framed) before its IDAT. */
static void png_with(const buf *extra, buf *out)
{
    png_sig_ihdr(out, 64, 64, 8, PNG_COLOR_TYPE_RGB);
    buf_put(out, extra->d, extra->n);
    buf z = {0};
    small_rgb_idat(64, 64, &z);
    png_idats(out, z.d, z.n);
    png_chunk(out, "IEND", NULL, 0);
    buf_free(&z);
}

void make_bombs(void)
{
    buf zeros = {0};
    zeros_zlib(BOMB_BYTES, &zeros);

    /* IDAT bomb: 10000x10000 grey needs 100,010,000 bytes (a filter byte per
     * row); the stream holds 2 GiB, all zeros (filter 0, black). */
    buf p = {0};
    png_sig_ihdr(&p, 10000, 10000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, zeros.d, zeros.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_bomb.png", p.d, p.n);
    printf("idat_bomb.png: 10000x10000 grey, IDAT inflates to %llu bytes (the image needs "
           "100010000), %zu bytes on disk\n", (unsigned long long)BOMB_BYTES, p.n);

    /* its honest twin: the same image, a stream of exactly 100,010,000 zeros
     * (what decoding the image costs, for comparison) */
    buf honest = {0};
    zeros_zlib(10000ull * 10001ull, &honest);
    p.n = 0;
    png_sig_ihdr(&p, 10000, 10000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, honest.d, honest.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_exact.png", p.d, p.n);

    /* the same pair at 2000x2000 (4,002,000 bytes needed): decoding the
     * image is cheap, so the cost of inflating 2 GiB stands out */
    p.n = 0;
    png_sig_ihdr(&p, 2000, 2000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, zeros.d, zeros.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_bomb_2000.png", p.d, p.n);
    honest.n = 0;
    zeros_zlib(2000ull * 2001ull, &honest);
    p.n = 0;
    png_sig_ihdr(&p, 2000, 2000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, honest.d, honest.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_exact_2000.png", p.d, p.n);
    buf_free(&honest);

    /* zTXt and iCCP whose compressed payload inflates to 2 GiB */
    buf c = {0}, x = {0};
    buf_put(&c, "Comment\0\0", 9);   /* keyword, NUL, compression method 0 */
    buf_put(&c, zeros.d, zeros.n);
    png_chunk(&x, "zTXt", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/ztxt_bomb.png", p.d, p.n);

    c.n = x.n = 0;
    buf_put(&c, "bomb\0\0", 6);      /* profile name, NUL, method 0 */
    buf_put(&c, zeros.d, zeros.n);
    png_chunk(&x, "iCCP", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/iccp_bomb.png", p.d, p.n);

    /* 50000 tEXt chunks */
    x.n = 0;
    for (int i = 0; i < TEXT_CHUNKS; i++)
        png_chunk(&x, "tEXt", "k\0v", 3);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/many_text.png", p.d, p.n);

    /* a 1 MiB private ancillary chunk */
    c.n = x.n = 0;
    for (int i = 0; i < (1 << 20); i++) {
        uint8_t v = (uint8_t)rnd();
        buf_put(&c, &v, 1);
    }
    png_chunk(&x, "prVt", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/big_private.png", p.d, p.n);

    /* a chunk whose length says 0x7FFFFFF0 in a file that ends 64 bytes later */
    p.n = 0;
    png_sig_ihdr(&p, 64, 64, 8, PNG_COLOR_TYPE_RGB);
    buf_u32be(&p, 0x7FFFFFF0u);
    buf_put(&p, "prVt", 4);
    for (int i = 0; i < 64; i++) {
        uint8_t v = (uint8_t)i;
        buf_put(&p, &v, 1);
    }
    write_file("chunks/huge_length.png", p.d, p.n);

    buf_free(&zeros);
    buf_free(&p);
    buf_free(&c);
    buf_free(&x);
}
