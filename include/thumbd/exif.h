/* The one EXIF field thumbd needs: orientation. */
#ifndef THUMBD_EXIF_H
#define THUMBD_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* Orientation (1..8) from a TIFF-structured EXIF block (starting at the
 * "II"/"MM" byte order mark). Returns 1 when absent or malformed; never
 * reads outside [data, data+len). */
int exif_orientation(const uint8_t *data, size_t len);

#endif
