/* A progressive JPEG at 2/8 or 4/8 scale from the coefficients that scale
 * uses, without libjpeg's whole-image coefficient buffer.
 *
 * libjpeg's reduced IDCTs at n/8 (n = 2, 4) give each n x n output sample
 * the mean of an (8/n) x (8/n) square of the full 8x8 IDCT; subsampled
 * chroma is scaled up by a larger IDCT where the sampling allows (4:2:0 at
 * 2/8 takes a 4x4 IDCT), else upsampled (4:2:2: "fancy" h2v1). Those samples
 * are linear in the coefficients, so this decoder keeps, per block, the
 * n x n samples themselves, updated as each scan adds to a coefficient,
 * plus the two 64-bit masks AC successive approximation needs to parse the
 * stream (jpegscan.h): 16 + 4n^2 bytes a block instead of libjpeg's 128
 * (a component at full 8x8 keeps its 64 coefficients, 16 + 128).
 *
 * Every scan is read: the reduced IDCTs use coefficients up to (7,7) (at
 * 2/8, keeping only the 2x2 lowest differs from libjpeg by up to 11 grey
 * levels, mean 1, on tests/test_jpeglf.c's images), and an AC refinement
 * scan can only be parsed knowing which coefficients of its whole band are
 * nonzero. The output matches libjpeg's own n/8 decode
 * within rounding (tests/test_jpeglf.c measures it). */
#ifndef THUMBD_JPEGLF_H
#define THUMBD_JPEGLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/codec.h"
#include "thumbd/failon.h"
#include "thumbd/status.h"

/* Whether the component layout (nc 1 or 3; sampling factors h[i], v[i]) is
 * one this decoder handles at scale/8 (scale 2 or 4): no upsampling, or
 * horizontal 2:1. */
/* JPEGLF_EXACT: every coefficient the reduced IDCT uses, as libjpeg.
 * JPEGLF_LOWFREQ: only u, v < n (see above). */
typedef enum jpeglf_mode { JPEGLF_LOWFREQ, JPEGLF_EXACT } jpeglf_mode;

bool jpeglf_supported(int scale, int nc, const int *h, const int *v);

/* What the decoder holds for a w x h image of that layout: its working
 * memory, to reserve before calling jpeglf_decode. */
size_t jpeglf_work_bytes(jpeglf_mode mode, int scale, int w, int h, int nc, const int *hs, const int *vs);

/* Decodes f (positioned at its start) at scale/8 and hands the rows,
 * ceil(W*scale/8) pixels wide, RGB (3 components) or grey (1), to
 * sink->row; sink->header and sink->start are not called. Damage below
 * fail_on goes to sink->warning and the image is made of what could be
 * read (missing coefficients zero). Returns as jpegdc_decode (jpegdc.h):
 * TD_OK, possibly with *fallback set (no row delivered) for what it leaves
 * to libjpeg; TD_EINPUT ("truncated JPEG..." or "corrupt JPEG...", no row
 * delivered); TD_ELIMIT past max_scans; TD_ECANCEL; TD_ENOMEM. */
td_status jpeglf_decode(FILE *f, const codec_sink *sink, jpeglf_mode mode, int scale, int max_scans,
                        failon_level fail_on, cancel_token *tok, bool *fallback,
                        char err[TD_ERRLEN]);

#endif
