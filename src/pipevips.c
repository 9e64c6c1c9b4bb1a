/* The libvips engine's thumbnails (pipevips.h). */
#include "thumbd/pipevips.h"

#include <string.h>

#include "thumbd/geometry.h"
#include "thumbd/vipsengine.h"

/* A reservation of the libvips path, bounded and gated as the native
 * decoders' are (pipeline.c's on_start). */
typedef struct vips_gate {
    const thumbd_config *cfg;
    memgate *gate;
    bool may_defer;
    cancel_token *tok;
    size_t reserved;
} vips_gate;

static td_status vips_reserve(void *ctx, size_t bytes, char err[TD_ERRLEN])
{
    vips_gate *g = ctx;
    td_status st = memgate_acquire_bounded(g->gate, g->cfg->max_memory, bytes, g->may_defer, g->tok,
                                           err);
    if (st == TD_OK)
        g->reserved = bytes;
    return st;
}

td_status pipevips_make(const thumbd_config *cfg, memgate *gate, bool may_defer, int fd,
                        cancel_token *tok, pipeline_thumb *th, int *n, char err[TD_ERRLEN])
{
    config_size boxes[CONFIG_MAX_SIZES];
    *n = config_boxes(cfg, boxes);
    memset(th, 0, (size_t)*n * sizeof *th);
    td_status st = TD_OK;
    for (int i = 0; i < *n && st == TD_OK; i++) {
        int box_w = boxes[i].w, box_h = boxes[i].h;
        fit_mode fit = (fit_mode)boxes[i].fit;
        geom_box(&box_w, &box_h, &fit); /* the native path's own reading of an unbounded side */
        vips_gate g = {.cfg = cfg, .gate = gate, .may_defer = may_defer, .tok = tok};
        vipsengine_params p = {.box_w = box_w, .box_h = box_h, .fit = fit,
                               .enlarge = cfg->enlarge, .max_pixels = cfg->max_pixels,
                               .max_dimension = cfg->max_dimension, .max_frames = cfg->max_frames,
                               .fail_on = cfg->fail_on, .reserve = vips_reserve,
                               .reserve_ctx = &g};
        vipsengine_thumb vt;
        st = vipsengine_make(&p, fd, tok, &vt, err);
        memgate_release(gate, g.reserved);
        th[i] = (pipeline_thumb){.px = vt.px, .w = vt.w, .h = vt.h, .alpha = vt.alpha};
        th->src_w = vt.src_w;
        th->src_h = vt.src_h;
        th->decoder = "vips";
        th->decode_ms += vt.decode_ms;
    }
    for (int i = 0; st != TD_OK && i < *n; i++)
        pipeline_thumb_free(&th[i]);
    return st;
}
