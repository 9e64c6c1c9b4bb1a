#include "thumbd/hash.h"

#include <string.h>

uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t hash_str(const char *s)
{
    return hash_fnv1a(HASH_FNV0, s, strlen(s));
}
