/* Final high-quality resize (stb_image_resize) to 8-bit pixels. */
#ifndef THUMBD_RESIZE_H
#define THUMBD_RESIZE_H

#include <stdint.h>

#include "thumbd/image.h"
#include "thumbd/status.h"

/* Resizes img to out_w x out_h (Mitchell/Catmull-Rom filters, alpha-weighted)
 * into *out (malloc'd, out_w*out_h*img->c bytes, caller frees). */
td_status resize_to_u8(const image_f *img, int out_w, int out_h, uint8_t **out,
                       char err[TD_ERRLEN]);

#endif
