/* A progressive JPEG at 2/8 or 4/8 scale from the coefficients that scale
 * uses, without libjpeg's whole-image coefficient buffer. Two modes:
 *
 * JPEGLF_LOWFREQ (thumbnails): a component whose IDCT is n x n (n = 2 or
 * 4) keeps, per block, its n x n lowest coefficients (u, v < n: 4 or 16,
 * int16) and makes its samples with the n-point inverse DCT-II, scaled as
 * the 8-point one (T.81 A.3.3) so that a block of DC alone gives what
 * libjpeg's reduced IDCT gives. The scans are chosen as jpegscan.h says
 * (jscan_pick): a scan whose band holds no kept coefficient is skipped,
 * and so is an AC refinement whose band holds others or whose history was
 * not read; a kept coefficient whose low bits no scan gave is taken at the
 * middle of its interval; the file is read no further once every kept
 * coefficient is complete or can get no more (under libjpeg's default
 * script no AC refinement is read, and the last two scans are never
 * reached). Per block two masks (jpegscan.h: 1 byte each at 2/8, 4 at
 * 4/8) and 2n^2 bytes of coefficients: 10 at 2/8, 40 at 4/8. The output
 * matches libjpeg's own
 * coefficients through that IDCT, with its upsampling and colour
 * conversion, within rounding (tests/test_jpeglf.c).
 *
 * JPEGLF_EXACT: libjpeg's reduced IDCTs at n/8 give each n x n output
 * sample the mean of an (8/n) x (8/n) square of the full 8x8 IDCT, using
 * coefficients up to (7,7); this mode keeps those samples (n^2 floats a
 * block, updated as each scan adds to a coefficient) and reads every scan:
 * 16 + 4n^2 bytes a block. Its output is libjpeg's n/8 decode within
 * rounding.
 *
 * In both, subsampled chroma is scaled up by a larger IDCT where the
 * sampling allows (4:2:0 at 2/8 takes a 4x4 IDCT), else upsampled (4:2:2:
 * "fancy" h2v1); a component at full 8x8 keeps its 64 coefficients
 * (16 + 128 bytes a block) and reads every scan of its own. */
#ifndef THUMBD_JPEGLF_H
#define THUMBD_JPEGLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/codec.h"
#include "thumbd/failon.h"
#include "thumbd/status.h"

typedef enum jpeglf_mode { JPEGLF_LOWFREQ, JPEGLF_EXACT } jpeglf_mode;

/* Whether the component layout (nc 1 or 3; sampling factors h[i], v[i]) is
 * one this decoder handles at scale/8 (scale 2 or 4): no upsampling, or
 * horizontal 2:1. */
bool jpeglf_supported(int scale, int nc, const int *h, const int *v);

/* What the decoder holds in mode for a w x h image of that layout: its
 * working memory, to reserve before calling jpeglf_decode. */
size_t jpeglf_work_bytes(jpeglf_mode mode, int scale, int w, int h, int nc, const int *hs, const int *vs);

/* Decodes f (positioned at its start) at scale/8 in mode and hands the
 * rows, ceil(W*scale/8) pixels wide, RGB (3 components) or grey (1), to
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
