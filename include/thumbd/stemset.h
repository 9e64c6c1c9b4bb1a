/* Output-name collisions within one directory. Two image files collide when
 * the --name template (outname.h) gives them the same thumbnail path; as
 * the format (with -f auto) is known only once a file is decoded, {ext} is
 * taken to be the same for all. Under the default template that is the
 * same stem ("a" of a.jpg, a.JPEG, a.png); under one with {name}, no two
 * names collide. The first in name order keeps the output path. A set per
 * directory finds that first image in O(1). */
#ifndef THUMBD_STEMSET_H
#define THUMBD_STEMSET_H

#include <stdbool.h>
#include <stddef.h>

#include "thumbd/outname.h"
#include "thumbd/status.h"

typedef struct stemset {
    const char **name;         /* the first image of each path, or NULL */
    char **key;                /* its path (a template other than the default), or NULL */
    size_t cap;                /* a power of two, at least twice the entries */
    const outname_rule *rule;  /* NULL: the default template */
    bool by_stem;              /* the default template: the key is the stem */
    bool unique;               /* a template with {name}: nothing collides */
} stemset;

/* An empty set for up to `entries` names under rule (NULL: the default
 * template; kept, not copied); false when out of memory. */
bool stemset_init(stemset *s, size_t entries, const outname_rule *rule);

/* Frees the table and keys (not the names) and leaves s empty (s->name NULL). */
void stemset_free(stemset *s);

/* The first name recorded whose thumbnail path is name's; name itself when
 * it is the first (it is then recorded: the set keeps the pointer, so the
 * name must outlive the set), or when out of memory. Names must come in
 * name order, at most `entries` of them. Under the default template the
 * key is the stem: the name up to its last '.', unless that dot starts the
 * name. */
const char *stemset_first(stemset *s, const char *name);

/* The error message of an image that lost its output name to first (each
 * name cut at 60 bytes): it names --name '{name}.{ext}' as the way to keep
 * both. */
void stemset_collision_message(char msg[TD_ERRLEN], const char *first, const char *name);

#endif
