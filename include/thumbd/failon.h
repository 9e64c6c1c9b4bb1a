/* --fail-on: which damage to a source makes its decode fail, in libvips's
 * vocabulary and order. Each problem a decoder meets has a kind, the least
 * strict level at which it fails: a file that ends before its last row is
 * FAIL_ON_TRUNCATED, corrupt data the decoder can read past (a bad Huffman
 * code, extraneous bytes before a marker, a CRC error in an ancillary PNG
 * chunk) is FAIL_ON_ERROR, a warning about a file that is not damaged (an
 * odd progression script, an unknown JFIF revision, a libpng benign error)
 * is FAIL_ON_WARNING. Below the level, the decoder goes on (missing rows
 * filled: codec.h) and the problem becomes a warning of the thumbnail. */
#ifndef THUMBD_FAILON_H
#define THUMBD_FAILON_H

#include <stdbool.h>

typedef enum failon_level {
    FAIL_ON_NONE = 0,          /* nothing fails that can be read at all */
    FAIL_ON_TRUNCATED,         /* the default */
    FAIL_ON_ERROR,
    FAIL_ON_WARNING,           /* any warning fails */
} failon_level;

/* Whether a problem of kind (not FAIL_ON_NONE) fails the decode at level. */
static inline bool failon_fails(failon_level level, failon_level kind)
{
    return level != FAIL_ON_NONE && level >= kind;
}

/* "none", "truncated", "error", "warning". */
static inline const char *failon_name(failon_level level)
{
    static const char *const names[] = {"none", "truncated", "error", "warning"};
    return level >= FAIL_ON_NONE && level <= FAIL_ON_WARNING ? names[level] : "truncated";
}

#endif
