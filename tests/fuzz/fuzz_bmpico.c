/* libFuzzer target: the BMP/ICO header check (src/bmpico.c), the only
 * thumbd code between an untrusted file and libvips's ImageMagick loader.
 * Each input is probed whole, as its first SNIFF_BYTES (what --detect
 * content reads), and as its first 6 + 16 * 512 bytes against its real
 * size (vipsmod.c's first pass), then again up to info.end (the second).
 *
 * Contracts checked (abort, a crash libFuzzer reports, when broken): an
 * accepted file has a width and height of at least 1, an end past its
 * headers and, for an ICO, an entry index under its count; a refusal says
 * why; the second pass of an accepted first pass never reads past the
 * input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "thumbd/bmpico.h"
#include "thumbd/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void contract(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz: contract broken: %s\n", what);
        abort();
    }
}

static void check(const uint8_t *data, size_t n, const bmpico_info *bi, const char *why)
{
    if (bi->kind == BMPICO_NONE) {
        contract(why != NULL && why[0] != '\0', "a refusal says why");
        return;
    }
    contract(bi->w >= 1 && bi->h >= 1, "an accepted image has a size");
    contract(bi->end >= 14, "its data ends past its headers");
    if (bi->kind == BMPICO_ICO)
        contract(n >= 6 && bi->entry >= 0 && (unsigned)bi->entry < (unsigned)(data[4] | data[5] << 8),
                 "the chosen entry is one of the directory's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmpico_info bi;
    const char *why;
    bmpico_probe(data, size, size, &bi, &why);
    check(data, size, &bi, why);
    size_t head = size < SNIFF_BYTES ? size : SNIFF_BYTES;
    (void)sniff_bytes(data, head);
    (void)bmpico_sniff(data, head);
    size_t first = size < 6 + 16 * 512 ? size : 6 + 16 * 512;
    bmpico_probe(data, first, size, &bi, &why);
    check(data, first, &bi, why);
    if (bi.kind != BMPICO_NONE) {
        size_t all = bi.end < size ? bi.end : size;
        bmpico_probe(data, all, size, &bi, &why);
        check(data, all, &bi, why);
    }
    return 0;
}
