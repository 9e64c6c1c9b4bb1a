#include "thumbd/stemset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/hash.h"

static size_t stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

bool stemset_init(stemset *s, size_t entries, const outname_rule *rule)
{
    memset(s, 0, sizeof *s);
    s->rule = rule;
    s->by_stem = !rule || !rule->tmpl || !strcmp(rule->tmpl, OUTNAME_DEFAULT);
    s->unique = outname_unique(rule);
    s->cap = 16;
    while (!s->unique && s->cap < 2 * entries + 1)
        s->cap *= 2;
    s->name = calloc(s->cap, sizeof *s->name);
    if (s->name && !s->by_stem && !s->unique && !(s->key = calloc(s->cap, sizeof *s->key))) {
        free(s->name);
        s->name = NULL;
    }
    return s->name != NULL;
}

void stemset_free(stemset *s)
{
    for (size_t i = 0; s->key && i < s->cap; i++)
        free(s->key[i]);
    free(s->key);
    free(s->name);
    s->key = NULL;
    s->name = NULL;
}

const char *stemset_first(stemset *s, const char *name)
{
    if (s->unique)
        return name;
    /* The path under the template, {ext} one for all (any kind will do). */
    char *key = s->by_stem ? NULL : outname_path(s->rule, name, OUT_JPEG);
    if (!s->by_stem && !key)
        return name;
    const char *k = s->by_stem ? name : key;
    size_t n = s->by_stem ? stem_len(name) : strlen(key);
    uint64_t h = hash_fnv1a(HASH_FNV0, k, n);
    for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        const char *o = s->name[i];
        if (!o) {
            if (key)
                s->key[i] = key;
            return s->name[i] = name;
        }
        bool same = s->by_stem ? stem_len(o) == n && !strncmp(o, name, n) : !strcmp(s->key[i], key);
        if (same) {
            free(key);
            return o;
        }
    }
}

void stemset_collision_message(char msg[TD_ERRLEN], const char *first, const char *name)
{
    /* Names cut at 60 bytes: the way out always fits. */
    snprintf(msg, TD_ERRLEN,
             "output name collision: '%.60s' and '%.60s' map to one thumbnail name; only the "
             "first was thumbnailed (--name '{name}.{ext}' keeps both)",
             first, name);
}
