/* The entropy layer of a progressive, Huffman-coded, 8-bit JPEG (ITU-T T.81
 * Annex G): markers, tables, and the DC and AC scans, first and refinement.
 *
 * The scanner keeps no coefficients. The changes a scan makes to a block's
 * coefficients go to the caller's store as add(component, block, delta,
 * changed): delta[k] for each k (natural order) set in changed, already
 * scaled by 2^Al. So a store may keep
 * the coefficients themselves or anything linear in them (the samples of a
 * reduced IDCT). What AC successive approximation needs to parse the stream
 * (which coefficients are nonzero so far, and their signs) the scanner keeps
 * itself: two masks per block, bit k for zigzag index k, as wide as the
 * store's kept coefficients need (jscan_comp.keep: 1, 4 or 8 bytes each;
 * an AC refinement is parsed only over kept coefficients). */
#ifndef THUMBD_JPEGSCAN_H
#define THUMBD_JPEGSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/failon.h"
#include "thumbd/status.h"

enum { JSCAN_MAX_COMPS = 3 };

/* Outcomes of jscan_run besides td_status values. */
enum { JSCAN_FALLBACK = 100, JSCAN_DONE = 101 };

typedef struct jscan_huff {
    int32_t maxcode[18];       /* largest code of each length, -1 if none */
    int32_t valoff[17];        /* index in vals of a code of that length, minus the code */
    uint16_t fast[512];        /* 9-bit lookahead: length << 8 | value, 0 when longer */
    uint8_t vals[256];
    bool defined;
} jscan_huff;

typedef struct jscan_comp {
    int id, h, v, tq;
    int bw, bh;                /* blocks the component really has */
    int pw, ph;                /* its block grid, padded to whole MCUs */
    uint16_t q[64];            /* quantisation table, natural order, as at its first scan */
    bool latched;
    int dc_al;                 /* DC precision so far: -1 none, 0 complete */
    int td, ta, pred;
    void *mask;                /* per block, nonzero then sign; NULL unless AC is decoded */
    int mask_w;                /* bytes of each of the two */
    uint64_t keep;             /* zigzag coefficients the store wants: all,
                                  unless the frame callback narrows it */
    uint64_t dead;             /* kept ones a skipped refinement left short */
    int8_t prec[64];           /* zigzag: AC precision (Al) read, -1 none */
} jscan_comp;

enum { JSCAN_INBUF = 4096 };

typedef struct jscan {
    FILE *f;
    uint8_t in[JSCAN_INBUF];   /* read ahead of f */
    size_t in_pos, in_len;
    uint64_t acc;              /* bit buffer: nbits valid bits at the bottom */
    int nbits, pad;            /* pad: of those, zero bits made up past the data */
    int marker;                /* marker met inside entropy data, 0 none */
    bool eof;
    int w, h, nc, hmax, vmax, mcux, mcuy;
    jscan_comp c[JSCAN_MAX_COMPS];
    uint16_t qt[4][64];        /* natural order */
    jscan_huff dc[4], ac[4];
    int restart;
    unsigned eobrun;
    int delta[64];             /* the current block's changes, natural order */
    uint64_t changed;
    int scans, max_scans;
    bool want_ac;              /* decode AC scans; else stop at the first AC
                                  scan once every component has its DC */
    failon_level fail_on;      /* damage that fails; below it, warn and go on */
    cancel_token *tok;
    char *err;
    /* The store. frame: once, after the frame header (allocate). */
    int (*frame)(void *ctx, struct jscan *s);  /* TD_OK, JSCAN_FALLBACK or an error */
    void (*add)(void *ctx, int ci, size_t block, const int *delta, uint64_t changed);
    void (*warn)(void *ctx, const char *msg);  /* optional */
    void *ctx;
} jscan;

/* Which scans a store needs (src/jpegpick.c), with want_ac. A scan is
 * read when its band (Ss..Se) holds a kept coefficient of one of its
 * components; an AC refinement only when, besides, every coefficient of its
 * band is kept (else parsing it, one correction bit for each nonzero
 * coefficient of the band, costs far more than the kept ones' last bit
 * gives) and has been read to the precision Ah (AC refinement needs the
 * band's nonzero history). A skipped refinement leaves its kept
 * coefficients at their precision for good (dead). The parse stops once
 * every kept coefficient is complete or dead. */
enum { JSCAN_SKIP = 0, JSCAN_READ = 1 };
int jscan_pick(jscan *s, int ns, const int *ci, int ss, int se, int ah);
void jscan_picked(jscan *s, int ns, const int *ci, int ss, int se, int al);
bool jscan_complete(const jscan *s);

/* A DHT or DQT segment's body (p, len bytes) into s's tables
 * (src/jpegtables.c): TD_OK, or TD_EINPUT (err: "corrupt JPEG: ..."). */
int jscan_parse_dht(jscan *s, const uint8_t *p, int len);
int jscan_parse_dqt(jscan *s, const uint8_t *p, int len);

/* Zigzag index to natural (row-major) index. */
extern const uint8_t jscan_natural[64];

/* Parses f from its start to its EOI marker (without want_ac, to the first
 * AC scan or the file's end once every component has its DC; with it, to
 * where jscan_complete holds after a scan, the damage below fail_on of an
 * AC scan counting as read). Returns
 * JSCAN_DONE when the image's data is read (or, below fail_on, as much of
 * it as could be);
 * JSCAN_FALLBACK for what this parser leaves to libjpeg (another frame type,
 * arithmetic coding, 12-bit, other than 1 or 3 components); TD_EINPUT for a
 * corrupt or truncated file at or above fail_on (err says "truncated JPEG"
 * or "corrupt JPEG"); TD_ELIMIT past max_scans; TD_ECANCEL; TD_ENOMEM.
 * s must be zeroed but for f, max_scans, want_ac, fail_on, tok, err and the
 * store. jscan_free releases what it allocated. */
int jscan_run(jscan *s);
void jscan_free(jscan *s);

#endif
