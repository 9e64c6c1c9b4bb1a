/* BMP and ICO told by their headers: the signature check that stands
 * between a file and libvips's ImageMagick loader (vipsmod.c), and the
 * content detection's (sniff.c). ImageMagick reads far more formats than
 * these two; thumbd hands it only files whose header this check accepts. */
#ifndef THUMBD_BMPICO_H
#define THUMBD_BMPICO_H

#include <stddef.h>
#include <stdint.h>

typedef enum bmpico_kind {
    BMPICO_NONE,
    BMPICO_BMP,
    BMPICO_ICO,
} bmpico_kind;

/* What a header says. */
typedef struct bmpico_info {
    bmpico_kind kind;
    int w, h;                  /* of the image thumbd reads (ICO: its largest entry) */
    int entry;                 /* ICO: that entry's index (libvips's page); BMP: 0 */
    size_t end;                /* bytes of the file that image needs: where its data ends
                                * (BMP: the pixel data's end at most, as declared) */
} bmpico_info;

/* The kind of the n first bytes of a file, from the fixed parts of its
 * header alone (what fits in SNIFF_BYTES):
 *  BMP: "BM", a pixel data offset past the headers, an info header of a
 *       known size (12, 16, 40, 52, 56, 64, 108, 124), one plane, a width
 *       and height that are not zero, a bit count of 1, 4, 8, 16, 24 or 32,
 *       and a known compression (RGB, RLE8, RLE4, BITFIELDS, ALPHABITFIELDS);
 *  ICO: 00 00 01 00, 1 to 512 entries, the first (as far as the bytes
 *       reach) with 0 or 1 plane, a bit count of 0, 1, 4, 8, 16, 24 or 32,
 *       a size that is not zero and an offset past the directory.
 * Anything else is BMPICO_NONE. */
bmpico_kind bmpico_sniff(const uint8_t *h, size_t n);

/* The whole check of a file of file_size bytes from its first n: the
 * fixed header as bmpico_sniff; a BMP's pixel data must start inside the
 * file; an ICO's directory must be within the n bytes, each entry's data
 * inside the file, and the image of each entry whose data is within the n
 * bytes must be a PNG (signature and IHDR: its real size) or a BMP
 * without file header (an info header of 40 bytes or more, one plane, a
 * known bit count, the height twice the image's for the AND mask). The
 * largest entry (by area) is the one chosen; entries beyond the n bytes
 * are sized by their directory entry (0 meaning 256). A caller that has
 * read the first bytes calls again with all of info->end to check every
 * entry. BMPICO_NONE in info->kind when the file is not a BMP or ICO this
 * check accepts; *why then says what is wrong. */
void bmpico_probe(const uint8_t *h, size_t n, uint64_t file_size, bmpico_info *info, const char **why);

#endif
