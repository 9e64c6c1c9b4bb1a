/* Output naming: the formats thumbd writes, their file extensions, and the
 * name of a source's thumbnail. The pipeline names what it writes with it,
 * the up-to-date check finds the thumbnail again with it, and memos store a
 * format as its one-letter code. */
#ifndef THUMBD_OUTNAME_H
#define THUMBD_OUTNAME_H

#include <stdbool.h>

typedef enum out_kind { OUT_JPEG, OUT_PNG, OUT_WEBP, OUT_AVIF } out_kind;

/* The extension of kind, dot included: ".jpg", ".png", ".webp", ".avif". */
const char *outname_ext(out_kind kind);

/* The thumbnail path of src_rel in kind: src_rel with the extension of its
 * last component (from its last dot, unless the component starts with that
 * dot) replaced by outname_ext(kind), or outname_ext(kind) appended when it
 * has none. "a/b.JPEG" -> "a/b.jpg", "a.d/.x" -> "a.d/.x.jpg". Malloc'd;
 * NULL when out of memory. */
char *outname_for(const char *src_rel, out_kind kind);

/* The kind of path from its extension (that of its last component, exactly
 * one of outname_ext's): the inverse of outname_for. False when it has none
 * of them. */
bool outname_kind(const char *path, out_kind *kind);

/* The one-letter code of kind: 'j', 'p', 'w', 'a'. Memos store it on disk,
 * so a code never changes meaning. */
char outname_code(out_kind kind);

/* The kind of a code outname_code gives; false for any other character. */
bool outname_from_code(char code, out_kind *kind);

#endif
