/* Conversion of the intermediate image to sRGB with lcms2. */
#ifndef THUMBD_COLOR_H
#define THUMBD_COLOR_H

#include <stddef.h>
#include <stdint.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

typedef enum color_space {
    COLOR_GRAY,
    COLOR_RGB,
    COLOR_CMYK,            /* ink values: 255 = full ink */
    COLOR_CMYK_INVERTED,   /* Adobe convention: 0 = full ink */
} color_space;

/* Converts img in place (reallocating) to RGB (c = 3) or RGBA (c = 4, alpha
 * kept). An embedded ICC profile, if given, is honoured; without one, gray
 * and RGB are taken as sRGB and CMYK is converted with the naive formula
 * R = (1 - C)(1 - K). A profile that is unusable or does not match the data's
 * colour space is ignored (the image is treated as untagged). */
td_status color_to_srgb(image_f *img, color_space space, const uint8_t *icc, size_t icc_len,
                        char err[TD_ERRLEN]);

/* Each thread keeps the colour transforms of the last few profiles it saw
 * (building one costs more than converting a small image). Frees them; call
 * when a thread that converted colours ends. */
void color_thread_end(void);

#endif
