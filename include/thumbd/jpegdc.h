/* A progressive JPEG at 1/8 scale from its DC coefficients alone.
 *
 * At 1/8 scale libjpeg's IDCT uses nothing but each block's DC coefficient,
 * and a progressive file sends every DC coefficient in its first scan(s). So
 * this decoder reads only those scans, keeps one value per 8x8 block (1/64 of
 * the coefficient buffer libjpeg would hold), and stops reading the file at
 * the first AC scan once every component has its DC. When the DC refinement
 * scan has not been reached, the missing low bit(s) are reconstructed at the
 * midpoint of their interval (an error of at most half a quantisation step of
 * the DC, i.e. well under one grey level at the usual qualities). */
#ifndef THUMBD_JPEGDC_H
#define THUMBD_JPEGDC_H

#include <stdbool.h>
#include <stdio.h>

#include "thumbd/cancel.h"
#include "thumbd/codec.h"
#include "thumbd/status.h"

/* Decodes f (positioned at its start) and hands the rows, ceil(W/8) pixels
 * wide, RGB (3 components) or grey (1), to sink->row. sink->header and
 * sink->start are not called: the caller has done that.
 * Returns TD_OK; TD_EINPUT for a corrupt or truncated file; TD_ELIMIT past
 * max_scans scans (only those read count); TD_ECANCEL; or
 * TD_OK with *fallback set when the file uses something this decoder leaves
 * to libjpeg (arithmetic coding, 12-bit, odd component layouts). No row has
 * been delivered when *fallback is set. */
td_status jpegdc_decode(FILE *f, const codec_sink *sink, int max_scans, cancel_token *tok,
                        bool *fallback, char err[TD_ERRLEN]);

#endif
