#include "thumbd/outname.h"

#include <stdlib.h>
#include <string.h>

/* Indexed by out_kind. */
static const struct {
    const char *ext;
    char code;
} kinds[] = {
    [OUT_JPEG] = {".jpg", 'j'},
    [OUT_PNG] = {".png", 'p'},
    [OUT_WEBP] = {".webp", 'w'},
    [OUT_AVIF] = {".avif", 'a'},
};
enum { NKINDS = sizeof kinds / sizeof *kinds };

static bool known(out_kind kind)
{
    return (unsigned)kind < NKINDS;
}

const char *outname_ext(out_kind kind)
{
    return kinds[known(kind) ? kind : OUT_JPEG].ext;
}

/* Where the extension of path's last component starts (its dot), or NULL. */
static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot > base ? dot : NULL;
}

char *outname_for(const char *src_rel, out_kind kind)
{
    const char *dot = ext_of(src_rel);
    size_t stem = dot ? (size_t)(dot - src_rel) : strlen(src_rel);
    const char *ext = outname_ext(kind);
    size_t elen = strlen(ext);
    char *out = malloc(stem + elen + 1);
    if (!out)
        return NULL;
    memcpy(out, src_rel, stem);
    memcpy(out + stem, ext, elen + 1);
    return out;
}

bool outname_kind(const char *path, out_kind *kind)
{
    const char *dot = ext_of(path);
    for (int k = 0; dot && k < NKINDS; k++)
        if (!strcmp(dot, kinds[k].ext)) {
            *kind = (out_kind)k;
            return true;
        }
    return false;
}

char outname_code(out_kind kind)
{
    return kinds[known(kind) ? kind : OUT_JPEG].code;
}

bool outname_from_code(char code, out_kind *kind)
{
    for (int k = 0; k < NKINDS; k++)
        if (kinds[k].code == code) {
            *kind = (out_kind)k;
            return true;
        }
    return false;
}
