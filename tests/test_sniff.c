/* Unit tests for content detection (src/sniff.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/sniff.h"

typedef struct sample {
    const char *what;
    const char *bytes;
    size_t n;
    sniff_kind want;
} sample;

#define S(what, lit, want) {what, lit, sizeof lit - 1, want}
/* A BMP's file header and 40-byte info header of 2x2 pixels: bit count (2
 * bytes), compression (4 bytes). */
#define BMP40(bpp, comp) "BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\2\0\0\0\2\0\0\0\1\0" bpp comp
/* An ICO directory entry of a 16x16 32-bit image of 0x468 bytes at offset. */
#define ICOENTRY(offset) "\x10\x10\0\0\1\0\x20\0\x68\x04\0\0" offset

static const sample samples[] = {
    S("JPEG", "\xFF\xD8\xFF\xE0\0\x10JFIF", SNIFF_NATIVE),
    S("JPEG, 3 bytes", "\xFF\xD8\xFF", SNIFF_NATIVE),
    S("PNG", "\x89PNG\r\n\x1A\n\0\0\0\rIHDR", SNIFF_NATIVE),
    S("GIF87a", "GIF87a\x10\0\x10\0", SNIFF_VIPS),
    S("GIF89a", "GIF89a\x10\0\x10\0", SNIFF_VIPS),
    S("WebP", "RIFF\x24\0\0\0WEBPVP8 ", SNIFF_VIPS),
    S("TIFF II", "II*\0\x08\0\0\0", SNIFF_VIPS),
    S("TIFF MM", "MM\0*\0\0\0\x08", SNIFF_VIPS),
    S("HEIC", "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", SNIFF_VIPS),
    S("AVIF", "\0\0\0\x1C" "ftypavif\0\0\0\0avifmif1miaf", SNIFF_VIPS),
    S("HEIF by a compatible brand", "\0\0\0\x18" "ftypmiaf\0\0\0\0miafmif1", SNIFF_VIPS),
    S("JPEG XL codestream", "\xFF\x0A\xFA\x7F", SNIFF_VIPS),
    S("JPEG XL container", "\0\0\0\x0CJXL \r\n\x87\n\0\0\0\x14" "ftypjxl ", SNIFF_VIPS),
    S("JPEG 2000", "\0\0\0\x0CjP  \r\n\x87\n\0\0\0\x14" "ftypjp2 ", SNIFF_VIPS),
    S("PDF", "%PDF-1.7\n", SNIFF_VIPS),
    S("SVG", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", SNIFF_VIPS),
    S("SVG after a declaration", "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<svg width=\"1\"", SNIFF_VIPS),
    S("SVG after a comment", "<!-- drawn -->\r\n<svg>", SNIFF_VIPS),
    S("BMP, 24-bit", BMP40("\x18\0", "\0\0\0\0"), SNIFF_VIPS),
    S("BMP, 8-bit RLE", BMP40("\x08\0", "\x01\0\0\0"), SNIFF_VIPS),
    S("BMP, 32-bit BITFIELDS", BMP40("\x20\0", "\x03\0\0\0"), SNIFF_VIPS),
    S("BMP, OS/2 core header", "BM\x2a\0\0\0\0\0\0\0\x1a\0\0\0\x0c\0\0\0\2\0\2\0\1\0\x18\0", SNIFF_VIPS),
    S("ICO", "\0\0\1\0\1\0" ICOENTRY("\x16\0\0\0"), SNIFF_VIPS),
    S("SVG doctype", "<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC", SNIFF_VIPS),
    /* What is not an image thumbd reads */
    S("empty", "", SNIFF_NONE),
    S("JPEG, 2 bytes", "\xFF\xD8", SNIFF_NONE),
    S("PNG, cut", "\x89PNG\r\n\x1A", SNIFF_NONE),
    S("text", "hello, world\n", SNIFF_NONE),
    S("GIF90a", "GIF90a", SNIFF_NONE),
    S("WAVE", "RIFF\x24\0\0\0WAVEfmt ", SNIFF_NONE),
    S("MP4", "\0\0\0\x18" "ftypisom\0\0\0\0isomiso2", SNIFF_NONE),
    S("ftyp brand in the minor version only", "\0\0\0\x10" "ftypisomheic", SNIFF_NONE),
    S("ftyp of a nonsense size", "\0\0\0\x05" "ftypheic", SNIFF_NONE),
    S("XML", "<?xml version=\"1.0\"?>\n<html><body>", SNIFF_NONE),
    S("XML declaration cut", "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"no\"", SNIFF_NONE),
    S("svgz-like name in text", "this is about <svg> files", SNIFF_NONE),
    S("<svgfoo", "<svgfoo>", SNIFF_NONE),
    S("BMP cut short", "BM\x36\0\0\0\0\0", SNIFF_NONE),
    S("ICO cut short", "\0\0\1\0\1\0", SNIFF_NONE),
    S("BMP as text", "BM is a fine abbreviation for a bitmap, they say", SNIFF_NONE),
    S("BMP of embedded JPEG", BMP40("\x18\0", "\x04\0\0\0"), SNIFF_NONE),
    S("BMP of zero width", "BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0" "\0\0\0\0\2\0\0\0\1\0\x18\0\0\0\0\0",
      SNIFF_NONE),
    S("BMP data offset in its headers", "BM\x46\0\0\0\0\0\0\0\x20\0\0\0\x28\0\0\0"
      "\2\0\0\0\2\0\0\0\1\0\x18\0\0\0\0\0", SNIFF_NONE),
    S("ICO of no entries", "\0\0\1\0\0\0" ICOENTRY("\x16\0\0\0"), SNIFF_NONE),
    S("ICO entry inside its directory", "\0\0\1\0\1\0" ICOENTRY("\x10\0\0\0"), SNIFF_NONE),
    S("CUR (a cursor)", "\0\0\2\0\1\0" ICOENTRY("\x16\0\0\0"), SNIFF_NONE),
    S("J2K codestream (not the signature box)", "\xFF\x4F\xFF\x51", SNIFF_NONE),
};

static void test_signatures(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        const sample *s = &samples[i];
        sniff_kind got = sniff_bytes((const uint8_t *)s->bytes, s->n);
        if (got != s->want) {
            printf("  %s: got %d, want %d\n", s->what, (int)got, (int)s->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Only the first SNIFF_BYTES count: an SVG root past them is not seen. */
static void test_first_bytes_only(void **state)
{
    (void)state;
    char buf[200];
    int n = snprintf(buf, sizeof buf, "<!-- %0*d -->\n<svg>", SNIFF_BYTES, 0);
    assert_int_equal(sniff_bytes((const uint8_t *)buf, (size_t)n), SNIFF_NONE);
    n = snprintf(buf, sizeof buf, "<!-- %0*d -->\n<svg>", SNIFF_BYTES - 20, 0);
    assert_int_equal(sniff_bytes((const uint8_t *)buf, (size_t)n), SNIFF_VIPS);
}

/* sniff_file: files by their bytes; a FIFO opened without blocking and not
 * read; a symbolic link refused without follow; a missing file's errno. */
static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/thumbd-sniff-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    int fd = openat(dfd, "blob", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x89PNG\r\n\x1A\n", 8), 8);
    close(fd);
    assert_int_equal(symlinkat("blob", dfd, "link"), 0);
    assert_int_equal(mkfifoat(dfd, "fifo", 0644), 0);
    int err = -1;
    assert_int_equal(sniff_file(dfd, "blob", false, &err), SNIFF_NATIVE);
    assert_int_equal(err, 0);
    assert_int_equal(sniff_file(dfd, "link", true, &err), SNIFF_NATIVE);
    assert_int_equal(sniff_file(dfd, "link", false, &err), SNIFF_NONE);
    assert_int_equal(err, ELOOP);
    assert_int_equal(sniff_file(dfd, "fifo", false, &err), SNIFF_NONE); /* returns: no writer needed */
    assert_int_equal(err, 0);
    assert_int_equal(sniff_file(dfd, "missing", false, &err), SNIFF_NONE);
    assert_int_equal(err, ENOENT);
    unlinkat(dfd, "blob", 0);
    unlinkat(dfd, "link", 0);
    unlinkat(dfd, "fifo", 0);
    close(dfd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_first_bytes_only),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
