/* Output-name collisions within one directory. Two image files whose
 * thumbnails may get the same name have the same stem ("a" of a.jpg,
 * a.JPEG, a.png); the first in name order keeps the output name. A stem set
 * per directory finds that first image in O(1). */
#ifndef THUMBD_STEMSET_H
#define THUMBD_STEMSET_H

#include <stdbool.h>
#include <stddef.h>

#include "thumbd/status.h"

typedef struct stemset {
    const char **name;         /* the first image of each stem, or NULL */
    size_t cap;                /* a power of two, at least twice the entries */
} stemset;

/* An empty set for up to `entries` names; false when out of memory. */
bool stemset_init(stemset *s, size_t entries);

/* Frees the table (not the names) and leaves s empty (s->name NULL). */
void stemset_free(stemset *s);

/* The first name recorded with name's stem; name itself when it is the
 * first (it is then recorded: the set keeps the pointer, so the name must
 * outlive the set). Names must come in name order, at most `entries` of
 * them. The stem is the name up to its last '.', unless that dot starts
 * the name. */
const char *stemset_first(stemset *s, const char *name);

/* The error message of an image that lost its output name to first. */
void stemset_collision_message(char msg[TD_ERRLEN], const char *first, const char *name);

#endif
