#include "thumbd/stemset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

bool stemset_init(stemset *s, size_t entries)
{
    s->cap = 16;
    while (s->cap < 2 * entries + 1)
        s->cap *= 2;
    s->name = calloc(s->cap, sizeof *s->name);
    return s->name != NULL;
}

void stemset_free(stemset *s)
{
    free(s->name);
    s->name = NULL;
}

const char *stemset_first(stemset *s, const char *name)
{
    size_t n = stem_len(name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
    for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        const char *o = s->name[i];
        if (!o)
            return s->name[i] = name;
        if (stem_len(o) == n && !strncmp(o, name, n))
            return o;
    }
}

void stemset_collision_message(char msg[TD_ERRLEN], const char *first, const char *name)
{
    snprintf(msg, TD_ERRLEN,
             "output name collision: '%s' and '%s' in the same directory map to the same "
             "thumbnail name; only '%s' was thumbnailed (rename one)",
             first, name, first);
}
