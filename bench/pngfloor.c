/* pngfloor: the PNG decode floor for bench/run.sh.
 *
 * Decodes every PNG named on the command line with libpng, row by row, the
 * way a streaming thumbnailer would (palette and low bit depths expanded to
 * 8 bits, tRNS to an alpha channel, 16-bit samples stripped to 8), and throws
 * the rows away. Nothing is resized or written: the time this takes is the
 * least any libpng-based thumbnailer can spend on the same files.
 *
 * Exit status: 0 if every file decoded, 1 if any failed (each failure is
 * reported on stderr), 2 on a usage error.
 */
#include <png.h>

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct decode_error {
    char message[256];
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct decode_error *err = png_get_error_ptr(png);
    snprintf(err->message, sizeof err->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (bad CRC in ancillary chunks, ...) are not failures */
}

/* Decodes one file and discards its rows. Returns 0 on success, -1 on
 * failure with a message in err. */
static int decode_one(const char *path, struct decode_error *err,
                      unsigned long long *pixels)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err->message, sizeof err->message, "cannot open: %s",
                 strerror(errno));
        return -1;
    }

    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, err, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        snprintf(err->message, sizeof err->message, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return -1;
    }

    /* Declared volatile: they change between setjmp and a possible longjmp. */
    png_bytep volatile row = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(row);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return -1;
    }

    png_init_io(png, fp);
    png_read_info(png, info);

    /* What a thumbnailer asks libpng for: 8-bit samples, one byte each,
     * palette to RGB, transparency chunk to alpha. */
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);

    row = malloc(rowbytes);
    if (row == NULL) {
        snprintf(err->message, sizeof err->message,
                 "out of memory for a row of %zu bytes", rowbytes);
        png_longjmp(png, 1);
    }

    /* For an interlaced file libpng hands out each row once per pass; with a
     * single row buffer this still touches every pixel once. */
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++)
            png_read_row(png, row, NULL);
    }
    png_read_end(png, NULL);

    *pixels += (unsigned long long)width * height;
    free(row);
    row = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: %s FILE.png...\n"
                        "decodes each PNG row by row with libpng and discards it\n",
                argv[0]);
        return 2;
    }

    int failed = 0;
    unsigned long long pixels = 0;
    for (int i = 1; i < argc; i++) {
        struct decode_error err = {{0}};
        if (decode_one(argv[i], &err, &pixels) != 0) {
            fprintf(stderr, "pngfloor: %s: %s\n", argv[i], err.message);
            failed = 1;
        }
    }
    if (getenv("PNGFLOOR_VERBOSE") != NULL)
        fprintf(stderr, "pngfloor: %d files, %llu pixels\n", argc - 1, pixels);
    return failed;
}
