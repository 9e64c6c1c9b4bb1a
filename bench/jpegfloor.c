/* jpegfloor: a JPEG decode floor that does not pay one process per file.
 *
 * Decodes every JPEG named on the command line with libjpeg-turbo at DCT
 * scale 1/8, the way `djpeg -scale 1/8 -outfile /dev/null` does (every scan
 * of a progressive file, colour converted to RGB, fancy upsampling and the
 * islow IDCT, djpeg's defaults), row by row, and throws the rows away. One
 * decompressor is created per process and reused for every file, so with
 * many files per process (bench/small.sh runs it with `xargs -n 64`) the
 * time is the decoding itself, not exec, dynamic linking and libc start-up
 * once per image, which dominate `djpeg` on small files.
 *
 * `--scale N` (first argument) decodes at N/8 instead, 1 <= N <= 8:
 * bench/small.sh also times the scale thumbd itself decodes at.
 *
 * Exit status: 0 if every file decoded, 1 if any failed (each failure is
 * reported on stderr), 2 on a usage error.
 */
#include <stdio.h> /* before jpeglib.h, which needs FILE and size_t */

#include <jpeglib.h>

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct floor_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr cinfo)
{
    struct floor_error *err = (struct floor_error *)cinfo->err;
    cinfo->err->format_message(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void on_message(j_common_ptr cinfo)
{
    (void)cinfo; /* warnings (corrupt data that libjpeg recovers from) are not failures */
}

/* Decodes one file with the shared decompressor d. Returns 0 on success, -1
 * on failure with a message in err. */
static int decode_one(struct jpeg_decompress_struct *d, struct floor_error *err,
                      const char *path, unsigned scale, unsigned long long *pixels)
{
    FILE *volatile fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err->message, sizeof err->message, "cannot open: %s", strerror(errno));
        return -1;
    }
    JSAMPARRAY volatile rows = NULL;
    if (setjmp(err->jump)) {
        jpeg_abort_decompress(d); /* keeps d usable for the next file */
        fclose(fp);
        return -1;
    }
    jpeg_stdio_src(d, fp);
    jpeg_read_header(d, TRUE);
    d->scale_num = scale;
    d->scale_denom = 8;
    jpeg_start_decompress(d);
    /* One row buffer from the image's own pool: freed by jpeg_finish. */
    rows = d->mem->alloc_sarray((j_common_ptr)d, JPOOL_IMAGE,
                                d->output_width * d->output_components, 1);
    while (d->output_scanline < d->output_height)
        jpeg_read_scanlines(d, rows, 1);
    *pixels += (unsigned long long)d->image_width * d->image_height;
    jpeg_finish_decompress(d);
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: %s [--scale N] FILE.jpg...\n"
                        "decodes each JPEG at scale N/8 (default 1/8) with libjpeg-turbo"
                        " and discards it\n",
                argv[0]);
        return 2;
    }
    unsigned scale = 1;
    int first = 1;
    if (strcmp(argv[1], "--scale") == 0) {
        char *end = NULL;
        long n = argc > 2 ? strtol(argv[2], &end, 10) : 0;
        if (end == NULL || *end != '\0' || n < 1 || n > 8 || argc < 4) {
            fprintf(stderr, "jpegfloor: --scale needs N from 1 to 8, then files\n");
            return 2;
        }
        scale = (unsigned)n;
        first = 3;
    }

    struct jpeg_decompress_struct d;
    struct floor_error err;
    memset(&err, 0, sizeof err);
    d.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = on_error;
    err.mgr.output_message = on_message;
    jpeg_create_decompress(&d);

    int failed = 0;
    unsigned long long pixels = 0;
    for (int i = first; i < argc; i++) {
        if (decode_one(&d, &err, argv[i], scale, &pixels) != 0) {
            fprintf(stderr, "jpegfloor: %s: %s\n", argv[i], err.message);
            failed = 1;
        }
    }
    jpeg_destroy_decompress(&d);
    if (getenv("JPEGFLOOR_VERBOSE") != NULL)
        fprintf(stderr, "jpegfloor: %d files at %u/8, %llu pixels\n", argc - first, scale, pixels);
    return failed;
}
