/* A stand-in for a thumbd_vips.so from another version of thumbd, for
 * test_vipsabi: it exports every vipsmod_* function, but vipsmod_abi is
 * STALE_ABI (not VIPSMOD_ABI), or absent when STALE_ABI is not defined (a
 * module built without the symbol). The loader must refuse it: each function
 * aborts, so a thumbd that calls one dies of SIGABRT. */
#include <stdlib.h>

#include "thumbd/vipsmod.h"

#ifdef STALE_ABI
const int vipsmod_abi = STALE_ABI;
#endif

td_status vipsmod_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                       char err[TD_ERRLEN])
{
    (void)p, (void)fd, (void)tok, (void)th, (void)err;
    abort();
}

td_status vipsmod_encode(const vipsengine_thumb *th, out_kind kind, int quality, FILE *out,
                         char err[TD_ERRLEN])
{
    (void)th, (void)kind, (void)quality, (void)out, (void)err;
    abort();
}

bool vipsmod_can_save(out_kind kind)
{
    (void)kind;
    abort();
}

void vipsmod_thread_end(void)
{
    abort();
}

bool vipsmod_start(void)
{
    abort();
}
