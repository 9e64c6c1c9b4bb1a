/* Decoding a thumbnail completely, for the checks of the e2e test programs:
 * see e2e_util.h. */
#include "e2e_util.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* libjpeg's errors and warnings both end the decode, with the message. */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_emit(j_common_ptr c, int level)
{
    if (level < 0)   /* a warning: corrupt or truncated data */
        jerr_exit(c);
}

bool e2e_jpeg_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
{
    struct jpeg_decompress_struct c;
    jerr e;
    memset(&e, 0, sizeof e);
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_emit;
    JSAMPLE *volatile row = NULL;
    if (setjmp(e.jb)) {
        snprintf(why, whyn, "libjpeg: %s", e.msg);
        jpeg_destroy_decompress(&c);
        free(row);
        return false;
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, d, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    jpeg_start_decompress(&c);
    row = malloc((size_t)c.output_width * (size_t)c.output_components);
    if (!row)
        longjmp(e.jb, 1);
    while (c.output_scanline < c.output_height) {
        JSAMPROW rp = row;
        jpeg_read_scanlines(&c, &rp, 1);
    }
    *w = (int)c.output_width;
    *h = (int)c.output_height;
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    free(row);
    return true;
}
