/* Memory bombs: small files whose decode needs hundreds of MB.
 *
 *   thumbd_membombs OUTDIR
 *
 * writes
 *   OUTDIR/prog444.jpg  a progressive 4:4:4 JPEG of 32768x3051 (about 0.6 MB):
 *                       libjpeg holds every DCT coefficient, 600 MB
 *   OUTDIR/big.gif      a GIF of 10000x9999 (about 70 KB): libvips's loader
 *                       holds an RGBA frame, 400 MB
 * Both are written by hand, bit by bit: an encoder would itself hold what
 * the decoder needs. The JPEG is flat grey (every DC difference 0, every AC
 * band one end-of-band run), the GIF four bands of colour. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct out {
    FILE *f;                   /* the JPEG's file */
    struct blocks *k;          /* the GIF's sub-blocks, when not NULL */
    uint32_t acc;              /* bits not yet written */
    int n;                     /* how many */
    bool stuff;                /* JPEG: a 0xFF byte is followed by 0x00 */
    bool lsb;                  /* GIF: bits fill bytes from the low end */
} out;

static void block_put(struct blocks *k, unsigned byte);

static void die(const char *what)
{
    fprintf(stderr, "thumbd_membombs: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put_byte(out *o, unsigned b)
{
    if (o->k) {
        block_put(o->k, b);
        return;
    }
    if (fputc((int)b, o->f) == EOF)
        die("write");
    if (o->stuff && b == 0xFF && fputc(0, o->f) == EOF)
        die("write");
}

static void put_bits(out *o, uint32_t v, int len)
{
    for (int i = len - 1; i >= 0 && !o->lsb; i--) {
        o->acc = o->acc << 1 | (v >> i & 1);
        if (++o->n == 8) {
            put_byte(o, o->acc & 0xFF);
            o->acc = 0;
            o->n = 0;
        }
    }
    if (o->lsb) {
        o->acc |= v << o->n;
        o->n += len;
        for (; o->n >= 8; o->n -= 8, o->acc >>= 8)
            put_byte(o, o->acc & 0xFF);
    }
}

/* JPEG: the last byte of a scan padded with 1 bits. */
static void flush_msb(out *o)
{
    if (o->n)
        put_bits(o, (1u << (8 - o->n)) - 1, 8 - o->n);
}

static void raw(out *o, const uint8_t *p, size_t n)
{
    if (fwrite(p, 1, n, o->f) != n)
        die("write");
}

enum { JW = 32768, JH = 3051 };

static void jpeg_headers(out *o)
{
    static const uint8_t soi[] = {0xFF, 0xD8};
    raw(o, soi, sizeof soi);
    uint8_t dqt[4 + 1 + 64] = {0xFF, 0xDB, 0, 67, 0};
    memset(dqt + 5, 1, 64);
    raw(o, dqt, sizeof dqt);
    const uint8_t sof[] = {0xFF, 0xC2, 0, 17, 8, JH >> 8, JH & 0xFF, JW >> 8, JW & 0xFF, 3,
                           1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0};
    raw(o, sof, sizeof sof);
    /* DC table 0: category 0 only, code 0. AC table 0: EOB14 as 0, and the
     * run that ends a band as 10. */
    int rest = (JW / 8) * ((JH + 7) / 8) % 32767, r = 0;
    while ((2 << r) <= rest)
        r++;
    uint8_t dht[] = {0xFF, 0xC4, 0, 2 + 17 + 1 + 17 + 2, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                     0, 0, 0x00, 0x10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xE0,
                     (uint8_t)(r << 4)};
    raw(o, dht, sizeof dht);
}

static void sos(out *o, int ncomp, int comp, int ss, int se)
{
    uint8_t s[14] = {0xFF, 0xDA, 0, (uint8_t)(6 + 2 * ncomp), (uint8_t)ncomp};
    int k = 5;
    for (int i = 0; i < ncomp; i++) {
        s[k++] = (uint8_t)(ncomp == 1 ? comp : i + 1);
        s[k++] = 0x00;
    }
    s[k++] = (uint8_t)ss;
    s[k++] = (uint8_t)se;
    s[k++] = 0;
    raw(o, s, (size_t)k);
}

static void write_jpeg(const char *path)
{
    out o = {.f = fopen(path, "wb")};
    if (!o.f)
        die(path);
    jpeg_headers(&o);
    long blocks = (long)(JW / 8) * ((JH + 7) / 8);
    sos(&o, 3, 0, 0, 0); /* the DC scan: a 1-bit code per block */
    o.stuff = true;
    for (long i = 0; i < blocks * 3; i++)
        put_bits(&o, 0, 1);
    flush_msb(&o);
    o.stuff = false;
    for (int c = 1; c <= 3; c++) { /* the AC bands: end-of-band runs */
        sos(&o, 1, c, 1, 63);
        o.stuff = true;
        long left = blocks;
        for (; left >= 32767; left -= 32767) {
            put_bits(&o, 0, 1);
            put_bits(&o, 32767 - 16384, 14);
        }
        if (left) {
            int r = 0;
            while ((2L << r) <= left)
                r++;
            put_bits(&o, 2, 2);
            put_bits(&o, (uint32_t)(left - (1L << r)), r);
        }
        flush_msb(&o);
        o.stuff = false;
    }
    static const uint8_t eoi[] = {0xFF, 0xD9};
    raw(&o, eoi, sizeof eoi);
    if (fclose(o.f) != 0)
        die(path);
}

enum { GW = 10000, GH = 9999 };

/* GIF's LZW data goes out in sub-blocks of up to 255 bytes. */
typedef struct blocks {
    FILE *f;
    uint8_t b[255];
    int n;
} blocks;

static void block_put(blocks *k, unsigned byte)
{
    k->b[k->n++] = (uint8_t)byte;
    if (k->n == 255) {
        if (fputc(255, k->f) == EOF || fwrite(k->b, 1, 255, k->f) != 255)
            die("write");
        k->n = 0;
    }
}

/* LZW over 4 colours (a minimum code size of 2), clearing the table when
 * it is full. */
static void lzw(out *o)
{
    static int16_t next[4096][4];
    memset(next, -1, sizeof next);
    int avail = 6, size = 3, prefix = -1;
    put_bits(o, 4, size); /* clear */
    for (long i = 0; i < (long)GW * GH; i++) {
        int px = (int)(i / GW * 4 / GH);
        if (prefix < 0) {
            prefix = px;
            continue;
        }
        if (next[prefix][px] >= 0) {
            prefix = next[prefix][px];
            continue;
        }
        put_bits(o, (uint32_t)prefix, size);
        next[prefix][px] = (int16_t)avail++;
        if (avail > (1 << size) && size < 12)
            size++;
        if (avail == 4096) {
            put_bits(o, 4, size);
            memset(next, -1, sizeof next);
            avail = 6;
            size = 3;
        }
        prefix = px;
    }
    put_bits(o, (uint32_t)prefix, size);
    put_bits(o, 5, size); /* end of information */
    if (o->n)
        put_bits(o, 0, 8 - o->n);
}

static void write_gif(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path);
    const uint8_t head[] = {'G', 'I', 'F', '8', '9', 'a', GW & 0xFF, GW >> 8, GH & 0xFF, GH >> 8,
                            0x81, 0, 0,
                            0x20, 0x40, 0x80, 0xE0, 0xC0, 0x30, 0x40, 0xA0, 0x20, 0xF0, 0xF0, 0x70,
                            0x2C, 0, 0, 0, 0, GW & 0xFF, GW >> 8, GH & 0xFF, GH >> 8, 0, 2};
    if (fwrite(head, 1, sizeof head, f) != sizeof head)
        die("write");
    blocks k = {.f = f};
    out o = {.k = &k, .lsb = true};
    lzw(&o);
    if (k.n && (fputc(k.n, f) == EOF || fwrite(k.b, 1, (size_t)k.n, f) != (size_t)k.n))
        die("write");
    if (fputc(0, f) == EOF || fputc(0x3B, f) == EOF || fclose(f) != 0)
        die(path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: thumbd_membombs OUTDIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        die(argv[1]);
    char path[4096];
    snprintf(path, sizeof path, "%.4000s/prog444.jpg", argv[1]);
    write_jpeg(path);
    snprintf(path, sizeof path, "%.4000s/big.gif", argv[1]);
    write_gif(path);
    return 0;
}
