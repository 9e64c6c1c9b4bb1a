/* End-to-end test of EXIF orientation of any integer type (exif.h): a
 * 64x32 JPEG, left half red and right half blue, with an Exif APP1 whose
 * Orientation is 6 stored as SHORT (type 3), as SLONG (type 9), as LONG
 * (type 4), and one without Exif. With --fit inside and a 64x64 box, the
 * oriented ones come out 32x64, red on top (6: rotate 90 degrees
 * clockwise to display); the plain one 64x32. argv[1]: the thumbd binary.
 * THUMBD_EXIF_KEEP=1 keeps the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "e2e_util.h"

/* Writes the 64x32 red | blue JPEG, with an Exif APP1 holding IFD0's
 * Orientation = 6 of the given TIFF type (0: no Exif). Little-endian TIFF. */
static void write_oriented(const char *path, int type)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 64;
    c.image_height = 32;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (type) {
        uint8_t app1[] = {
            'E', 'x', 'i', 'f', 0, 0,             /* Exif header */
            'I', 'I', 42, 0, 8, 0, 0, 0,          /* TIFF, IFD0 at 8 */
            1, 0,                                 /* one entry */
            0x12, 0x01, (uint8_t)type, 0, 1, 0, 0, 0, 6, 0, 0, 0,  /* Orientation, count 1, 6 */
            0, 0, 0, 0,                           /* no next IFD */
        };
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof app1);
    }
    uint8_t row[64 * 3];
    for (int x = 0; x < 64; x++) {
        row[x * 3 + 0] = x < 32 ? 230 : 20;
        row[x * 3 + 1] = 20;
        row[x * 3 + 2] = x < 32 ? 20 : 230;
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    assert_int_equal(fclose(f), 0);
}

/* The thumbnail's size and the RGB of pixel (x, y). */
static bool read_pixel(const char *path, int x, int y, int *w, int *h, uint8_t rgb[3])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    *w = (int)d.output_width;
    *h = (int)d.output_height;
    uint8_t *row = malloc((size_t)d.output_width * 3);
    assert_non_null(row);
    while (d.output_scanline < d.output_height) {
        int at = (int)d.output_scanline;
        JSAMPROW rp = row;
        jpeg_read_scanlines(&d, &rp, 1);
        if (at == y && x < *w)
            memcpy(rgb, row + x * 3, 3);
    }
    free(row);
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    fclose(f);
    return true;
}

static bool is_red(const uint8_t p[3])
{
    return p[0] > 150 && p[2] < 100;
}

static bool is_blue(const uint8_t p[3])
{
    return p[2] > 150 && p[0] < 100;
}

static void test_orientation_types(void **state)
{
    (void)state;
    begin_checks();
    char in[512], out[512], log[512], p[512];
    pathf(in, sizeof in, "%s/in", e2e_root);
    pathf(out, sizeof out, "%s/out", e2e_root);
    pathf(log, sizeof log, "%s/log", e2e_root);
    mkdir(in, 0755);
    static const struct {
        const char *name;
        int type;
    } files[] = {{"short", 3}, {"slong", 9}, {"long", 4}, {"plain", 0}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        pathf(p, sizeof p, "%s/%s.jpg", in, files[i].name);
        write_oriented(p, files[i].type);
    }
    char *argv[] = {(char *)e2e_bin, "--fit", "inside", "-s", "64x64", in, out, NULL};
    e2e_proc r = e2e_run(argv, NULL, log, log, 60, 20, "exif");
    CHECK(r.code == 0, "thumbd exit %d (see %s)", r.code, log);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        pathf(p, sizeof p, "%s/%s.jpg", out, files[i].name);
        bool oriented = files[i].type != 0;
        int w = 0, h = 0;
        uint8_t top[3] = {0}, bottom[3] = {0};
        int x = oriented ? 16 : 8, y = oriented ? 8 : 16;
        if (!read_pixel(p, x, y, &w, &h, top)) {
            fail_check("%s: no thumbnail %s", files[i].name, p);
            continue;
        }
        read_pixel(p, oriented ? 16 : 56, oriented ? 56 : 16, &w, &h, bottom);
        CHECK(w == (oriented ? 32 : 64) && h == (oriented ? 64 : 32), "%s: %dx%d, want %s",
              files[i].name, w, h, oriented ? "32x64" : "64x32");
        CHECK(is_red(top) && is_blue(bottom),
              "%s: red part %d,%d,%d and blue part %d,%d,%d: %s", files[i].name, top[0], top[1],
              top[2], bottom[0], bottom[1], bottom[2],
              oriented ? "want red on top, blue below" : "want red left, blue right");
    }
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_orientation_types)};
    return e2e_main(argc, argv, "exif", tests, sizeof tests / sizeof tests[0]);
}
