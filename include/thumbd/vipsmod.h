/* The interface between thumbd and its libvips module, thumbd_vips.so
 * (src/vipsmod.c): the module exports vipsmod_abi and the vipsmod_*
 * functions below, each with the contract of its vipsengine_* namesake
 * (vipsengine.h), which loads the module and calls them.
 *
 * A module and a thumbd of different builds may disagree on the layout of
 * what passes between them, so the loader uses a module only if its
 * vipsmod_abi equals the loader's VIPSMOD_ABI (a module without the symbol
 * counts as ABI 0). Raise VIPSMOD_ABI with any change to these declarations
 * or to the types they use: vipsengine_params, vipsengine_thumb, out_kind,
 * fit_mode, failon_level, cancel_token, td_status, TD_ERRLEN. */
#ifndef THUMBD_VIPSMOD_H
#define THUMBD_VIPSMOD_H

#include "thumbd/vipsengine.h"

#define VIPSMOD_ABI 3

/* The ABI the module was built with: VIPSMOD_ABI then. */
extern const int vipsmod_abi;

typedef td_status (*vipsmod_make_fn)(const vipsengine_params *, int, cancel_token *, vipsengine_thumb *,
                                     char *);
typedef td_status (*vipsmod_encode_fn)(const vipsengine_thumb *, out_kind, int, FILE *, char *);
typedef bool (*vipsmod_can_save_fn)(out_kind);
typedef void (*vipsmod_thread_end_fn)(void);
typedef bool (*vipsmod_start_fn)(void);

td_status vipsmod_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                       char err[TD_ERRLEN]);
td_status vipsmod_encode(const vipsengine_thumb *th, out_kind kind, int quality, FILE *out,
                         char err[TD_ERRLEN]);
bool vipsmod_can_save(out_kind kind);
void vipsmod_thread_end(void);
bool vipsmod_start(void);

#endif
