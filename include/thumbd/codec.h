/* The small interface every decoder and encoder offers the pipeline.
 * Library error paths (longjmp) never leave the codec's own file. */
#ifndef THUMBD_CODEC_H
#define THUMBD_CODEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/color.h"
#include "thumbd/failon.h"
#include "thumbd/status.h"

typedef struct codec_info {
    int width, height;         /* as stored */
    int channels;              /* of the rows delivered: 1, 2, 3 or 4 */
    int alpha;                 /* alpha channel index or -1 */
    color_space space;
    int orientation;           /* EXIF 1..8 */
    const uint8_t *icc;        /* embedded profile, valid during the decode */
    size_t icc_len;
} codec_info;

typedef struct codec_sink {
    /* After the header: check limits, plan, and choose the JPEG DCT scale
     * numerator (n/8, 1..8; others ignore it). Non-OK stops the decode. */
    td_status (*header)(void *ctx, const codec_info *info, int *scale_num, char *err);
    /* Once, with the dimensions of the rows that will follow and what the
     * decoder is about to hold (whole-image buffers such as progressive JPEG
     * coefficients or an interlaced PNG frame, else a few rows), before it
     * allocates that. */
    td_status (*start)(void *ctx, int w, int h, size_t work_bytes, char *err);
    /* Row y of h. Return false once no further rows are needed. */
    bool (*row)(void *ctx, int y, const uint8_t *px);
    void *ctx;
    /* Optional: how the rows are decoded ("jpeg-dc-1/8", "jpeg-2/8", "png"...,
     * a static string), told before the first row; told again if the
     * decoder changes course. */
    void (*decoder)(void *ctx, const char *name);
    /* Optional: a problem below codec_limits.fail_on that the decode went
     * past ("Corrupt JPEG data: bad Huffman code (at row 480 of 512)"),
     * valid during the call; possibly the same one several times. */
    void (*warning)(void *ctx, const char *msg);
} codec_sink;

typedef struct codec_limits {
    size_t max_chunk;          /* cap on a metadata chunk (ICC, EXIF), also
                                  after decompression */
    int max_scans;             /* of a multi-scan JPEG */
    size_t max_whole;          /* PNG: the most a decoder may hold to inflate
                                  a whole image at once (faster) instead of
                                  streaming it; 0 = always stream */
    failon_level fail_on;      /* the damage that fails the decode (failon.h);
                                  below it, a file that ends early or whose
                                  data cannot be read past some row gets the
                                  rest filled: JPEG as libjpeg pads (grey
                                  blocks), PNG with zero bytes (black, or
                                  transparent with alpha) */
} codec_limits;

/* Decoders: stream f through sink, polling tok between rows. */
td_status jpeg_decode(FILE *f, const codec_sink *sink, const codec_limits *lim,
                      cancel_token *tok, char err[TD_ERRLEN]);
td_status png_decode(FILE *f, const codec_sink *sink, const codec_limits *lim,
                     cancel_token *tok, char err[TD_ERRLEN]);

/* Encoders: 8-bit pixels (c = 3 for JPEG; 2 (grey+alpha), 3 or 4 for PNG)
 * to f, no metadata.
 * A failed write of f: TD_EIO, ferror(f) set and errno as the write left it. */
td_status jpeg_encode(FILE *f, const uint8_t *px, int w, int h, int c, int quality,
                      char err[TD_ERRLEN]);
td_status png_encode(FILE *f, const uint8_t *px, int w, int h, int c, char err[TD_ERRLEN]);

/* Sniffs the first bytes: 'j' JPEG, 'p' PNG, 0 neither. */
char codec_sniff(const uint8_t *head, size_t n);

#endif
