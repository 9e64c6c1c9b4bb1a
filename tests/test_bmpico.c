/* Unit tests of bmpico_probe: the whole header check of BMP and ICO files
 * built here byte by byte (the ICO's largest entry, a PNG entry's real
 * size from its IHDR, entries outside the file, a BMP whose data offset is
 * past its end, the second call with the bytes up to info.end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "thumbd/bmpico.h"

typedef struct buf {
    uint8_t d[4096];
    size_t n;
} buf;

static void u8(buf *b, unsigned v)
{
    assert_true(b->n < sizeof b->d);
    b->d[b->n++] = (uint8_t)v;
}

static void u16(buf *b, unsigned v)
{
    u8(b, v & 0xFF);
    u8(b, v >> 8);
}

static void u32(buf *b, uint32_t v)
{
    u16(b, v & 0xFFFF);
    u16(b, v >> 16);
}

static void be32(buf *b, uint32_t v)
{
    u8(b, v >> 24);
    u8(b, (v >> 16) & 0xFF);
    u8(b, (v >> 8) & 0xFF);
    u8(b, v & 0xFF);
}

/* A 40-byte info header: w x h (h doubled by the caller for an ICO). */
static void info40(buf *b, int32_t w, int32_t h, unsigned bpp, uint32_t comp)
{
    u32(b, 40);
    u32(b, (uint32_t)w);
    u32(b, (uint32_t)h);
    u16(b, 1);
    u16(b, bpp);
    u32(b, comp);
    for (int i = 0; i < 5; i++)
        u32(b, 0);
}

static void bmp(buf *b, int32_t w, int32_t h, unsigned bpp, uint32_t comp, size_t data)
{
    b->n = 0;
    u8(b, 'B');
    u8(b, 'M');
    u32(b, (uint32_t)(54 + data));
    u32(b, 0);
    u32(b, 54);
    info40(b, w, h, bpp, comp);
    for (size_t i = 0; i < data; i++)
        u8(b, 0);
}

static void probe(const buf *b, bmpico_info *bi, const char **why)
{
    bmpico_probe(b->d, b->n, b->n, bi, why);
}

static void test_bmp(void **state)
{
    (void)state;
    buf b;
    bmpico_info bi;
    const char *why;
    bmp(&b, 3, -2, 24, 0, 24); /* top-down, rows of 12 bytes */
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_BMP);
    assert_int_equal(bi.w, 3);
    assert_int_equal(bi.h, 2);
    assert_int_equal(bi.end, 54 + 24 + 2);
    bmp(&b, 3, 2, 24, 0, 0); /* headers only */
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    assert_non_null(strstr(why, "past the end"));
    bmp(&b, 3, 2, 24, 4, 24); /* an embedded JPEG */
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    bmp(&b, 3, -2, 8, 1, 24); /* top-down RLE */
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    bmp(&b, 3, 2, 8, 2, 24); /* RLE4 of 8 bits */
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    bmp(&b, 3, INT32_MIN, 24, 0, 24);
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
}

/* An ICO of n entries: sizes[i] pixels square, png[i] a PNG (signature and
 * IHDR of real_w x real_w) or a 24-bit BMP; data of 64 bytes each. */
static void ico(buf *b, int n, const int *sizes, const bool *png, const int *real_w)
{
    b->n = 0;
    u16(b, 0);
    u16(b, 1);
    u16(b, (unsigned)n);
    for (int i = 0; i < n; i++) {
        u8(b, sizes[i] >= 256 ? 0 : (unsigned)sizes[i]);
        u8(b, sizes[i] >= 256 ? 0 : (unsigned)sizes[i]);
        u16(b, 0);
        u16(b, 1);
        u16(b, 24);
        u32(b, 64);
        u32(b, (uint32_t)(6 + 16 * n + 64 * i));
    }
    for (int i = 0; i < n; i++) {
        size_t start = b->n;
        if (png[i]) {
            const char sig[] = "\x89PNG\r\n\x1A\n";
            for (int k = 0; k < 8; k++)
                u8(b, (uint8_t)sig[k]);
            be32(b, 13);
            u8(b, 'I'); u8(b, 'H'); u8(b, 'D'); u8(b, 'R');
            be32(b, (uint32_t)real_w[i]);
            be32(b, (uint32_t)real_w[i]);
        } else {
            info40(b, sizes[i], 2 * sizes[i], 24, 0);
        }
        while (b->n - start < 64)
            u8(b, 0);
    }
}

static void test_ico(void **state)
{
    (void)state;
    buf b;
    bmpico_info bi;
    const char *why;
    ico(&b, 3, (const int[]){16, 48, 32}, (const bool[]){false, false, false}, NULL);
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_ICO);
    assert_int_equal(bi.entry, 1);
    assert_int_equal(bi.w, 48);
    assert_int_equal(bi.end, b.n);
    /* a PNG entry that says 16 in the directory and is 1000 pixels wide */
    ico(&b, 2, (const int[]){32, 16}, (const bool[]){false, true}, (const int[]){0, 1000});
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_ICO);
    assert_int_equal(bi.entry, 1);
    assert_int_equal(bi.w, 1000);
    /* the first bytes alone: the directory sizes the entries */
    bmpico_probe(b.d, 6 + 32, b.n, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_ICO);
    assert_int_equal(bi.entry, 0);
    assert_int_equal(bi.end, b.n);
    /* an entry past the end of the file */
    bmpico_probe(b.d, b.n - 1, b.n - 1, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    assert_non_null(strstr(why, "outside the file"));
    /* a BMP entry whose height is not twice the image's (no AND mask) */
    ico(&b, 1, (const int[]){16}, (const bool[]){false}, NULL);
    b.d[6 + 16 + 8] = 17;
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
    /* a PNG entry with a zero width */
    ico(&b, 1, (const int[]){16}, (const bool[]){true}, (const int[]){0});
    probe(&b, &bi, &why);
    assert_int_equal(bi.kind, BMPICO_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bmp),
        cmocka_unit_test(test_ico),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
