#include "thumbd/bmpico.h"

#include <stdbool.h>
#include <string.h>

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int bits_known(uint32_t bpp, int zero_ok)
{
    return (zero_ok && bpp == 0) || bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 ||
           bpp == 32;
}

/* A BMP's file header and info header from the first n bytes; w, h, and
 * where the pixel data ends as declared. NULL when it is sound. */
static const char *bmp_header(const uint8_t *h, size_t n, bmpico_info *bi)
{
    if (n < 26 || h[0] != 'B' || h[1] != 'M')
        return "not a BMP (no BM signature)";
    uint32_t off = le32(h + 10), hs = le32(h + 14);
    if (hs != 12 && hs != 16 && hs != 40 && hs != 52 && hs != 56 && hs != 64 && hs != 108 && hs != 124)
        return "BMP info header of an unknown size";
    if (off < 14 + hs)
        return "BMP pixel data offset inside its headers";
    int64_t w, ht;
    uint32_t planes, bpp, comp = 0;
    if (hs == 12) {
        w = le16(h + 18);
        ht = le16(h + 20);
        planes = le16(h + 22);
        bpp = le16(h + 24);
    } else {
        if (n < 34)
            return "BMP header cut short";
        w = (int32_t)le32(h + 18);
        ht = (int32_t)le32(h + 22);
        planes = le16(h + 26);
        bpp = le16(h + 28);
        comp = hs >= 20 ? le32(h + 30) : 0;
    }
    if (planes != 1 || !bits_known(bpp, 0))
        return "BMP with a bad plane or bit count";
    bool ok = comp == 0 || (comp == 1 && bpp == 8) || (comp == 2 && bpp == 4) ||
              ((comp == 3 || comp == 6) && (bpp == 16 || bpp == 32));
    if (!ok)
        return "BMP compression thumbd does not read (embedded JPEG/PNG, or unknown)";
    if (ht < 0 && comp != 0 && comp != 3 && comp != 6)
        return "top-down BMP with RLE compression";
    ht = ht < 0 ? -ht : ht;
    if (w <= 0 || ht <= 0 || w > INT32_MAX || ht > INT32_MAX)
        return "BMP of zero or negative width or height";
    bi->w = (int)w;
    bi->h = (int)ht;
    uint64_t row = comp == 1 || comp == 2 ? 2 * ((uint64_t)w + 2) : ((uint64_t)w * bpp + 31) / 32 * 4;
    uint64_t end = (uint64_t)off + row * (uint64_t)ht + 2;
    bi->end = end > SIZE_MAX ? SIZE_MAX : (size_t)end;
    return NULL;
}

/* One ICO directory entry's image size: from the image itself (PNG IHDR,
 * or the BMP info header) when its first bytes are within n. */
static const char *ico_entry(const uint8_t *h, size_t n, uint64_t file_size, size_t dir_end,
                             const uint8_t *e, int *w, int *ht)
{
    uint32_t planes = le16(e + 4), bpp = le16(e + 6), size = le32(e + 8), off = le32(e + 12);
    if (planes > 1 || !bits_known(bpp, 1) || size == 0)
        return "ICO directory entry with a bad plane count, bit count or size";
    if (off < dir_end || (uint64_t)off + size > file_size)
        return "ICO entry's data outside the file";
    *w = e[0] ? e[0] : 256;
    *ht = e[1] ? e[1] : 256;
    if ((uint64_t)off + 40 > n || size < 40)
        return size < 40 ? "ICO entry too small to hold an image" : NULL;
    const uint8_t *im = h + off;
    if (!memcmp(im, "\x89PNG\r\n\x1A\n", 8)) {
        uint32_t pw = be32(im + 16), ph = be32(im + 20);
        if (memcmp(im + 12, "IHDR", 4) || pw == 0 || ph == 0 || pw > INT32_MAX || ph > INT32_MAX)
            return "ICO entry's PNG has no sound IHDR";
        *w = (int)pw;
        *ht = (int)ph;
        return NULL;
    }
    int32_t bw = (int32_t)le32(im + 4), bh = (int32_t)le32(im + 8);
    if (le32(im) < 40 || le32(im) > 124 || le16(im + 12) != 1 || !bits_known(le16(im + 14), 0) ||
        bw <= 0 || bh <= 0 || bh % 2)
        return "ICO entry is neither a PNG nor a sound BMP (info header, planes, bit count, "
               "height twice the image's)";
    *w = bw;
    *ht = bh / 2;
    return NULL;
}

static const char *ico_header(const uint8_t *h, size_t n, uint64_t file_size, bmpico_info *bi)
{
    if (n < 22 || memcmp(h, "\0\0\1\0", 4))
        return "not an ICO (no 00 00 01 00 signature)";
    uint32_t count = le16(h + 4);
    if (count == 0 || count > 512)
        return "ICO with no entries or over 512";
    size_t dir_end = 6 + 16 * (size_t)count;
    uint64_t best = 0, end = dir_end;
    for (uint32_t i = 0; i < count && 6 + 16 * (size_t)(i + 1) <= n; i++) {
        const uint8_t *e = h + 6 + 16 * (size_t)i;
        int w = 0, ht = 0;
        const char *why = ico_entry(h, n, file_size, dir_end, e, &w, &ht);
        if (why)
            return why;
        uint64_t area = (uint64_t)w * (uint64_t)ht;
        if (area > best) {
            best = area;
            bi->w = w;
            bi->h = ht;
            bi->entry = (int)i;
        }
        uint64_t e_end = (uint64_t)le32(e + 12) + le32(e + 8);
        end = e_end > end ? e_end : end;
    }
    bi->end = end > SIZE_MAX ? SIZE_MAX : (size_t)end;
    return NULL;
}

void bmpico_probe(const uint8_t *h, size_t n, uint64_t file_size, bmpico_info *info, const char **why)
{
    memset(info, 0, sizeof *info);
    const char *bad;
    bmpico_kind k = n >= 2 && h[0] == 'B' && h[1] == 'M' ? BMPICO_BMP : BMPICO_ICO;
    if (k == BMPICO_BMP) {
        bad = bmp_header(h, n, info);
        if (!bad && le32(h + 10) >= file_size)
            bad = "BMP pixel data offset past the end of the file";
    } else {
        bad = ico_header(h, n, file_size, info);
    }
    if (bad) {
        memset(info, 0, sizeof *info);
        *why = bad;
        return;
    }
    info->kind = k;
    *why = NULL;
}

bmpico_kind bmpico_sniff(const uint8_t *h, size_t n)
{
    bmpico_info bi;
    const char *why;
    bmpico_probe(h, n, UINT64_MAX, &bi, &why);
    return bi.kind;
}
