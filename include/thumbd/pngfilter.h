/* PNG's row filters undone: None, Sub, Up, Average and Paeth, with SSE2
 * for the common pixel sizes (two Paeth rows side by side). */
#ifndef THUMBD_PNGFILTER_H
#define THUMBD_PNGFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unfilters row (len bytes, filter type byte removed) in place against the
 * unfiltered previous row (zeros for the first). bpp: bytes per complete
 * pixel, at least 1 (1, 2, 3, 4, 6 or 8). False if filter is not 0..4. */
bool pngfilter_row(int filter, uint8_t *row, const uint8_t *prev, size_t len, int bpp);

/* Unfilters two consecutive rows, each with its filter type byte first
 * (len bytes with it), row1 below row0, prev above row0 (filter byte slot
 * included, unfiltered); two Paeth rows go side by side, faster. Sets the
 * filter bytes of the rows done to 0. False on a filter type not 0..4. */
bool pngfilter_rows2(uint8_t *row0, uint8_t *row1, const uint8_t *prev, size_t len, int bpp);

#endif
