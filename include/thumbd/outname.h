/* Output naming: the formats thumbd writes, their file extensions, and the
 * path of a source's thumbnail (--name TEMPLATE). The pipeline names what it
 * writes with it, the up-to-date check finds the thumbnail again with it,
 * the scan refuses two sources to which it gives one path, and memos store
 * a format as its one-letter code. */
#ifndef THUMBD_OUTNAME_H
#define THUMBD_OUTNAME_H

#include <stdbool.h>

#include "thumbd/status.h"

typedef enum out_kind { OUT_JPEG, OUT_PNG, OUT_WEBP, OUT_AVIF } out_kind;

/* The extension of kind, dot included: ".jpg", ".png", ".webp", ".avif". */
const char *outname_ext(out_kind kind);

/* The thumbnail path of src_rel in kind under the default template
 * (outname_path(NULL, ...)): src_rel with the extension of its last
 * component (from its last dot, unless the component starts with that dot)
 * replaced by outname_ext(kind), or outname_ext(kind) appended when it has
 * none. "a/b.JPEG" -> "a/b.jpg", "a.d/.x" -> "a.d/.x.jpg". Malloc'd; NULL
 * when out of memory. */
char *outname_for(const char *src_rel, out_kind kind);

/* --name: the thumbnail's path below the source's mirrored directory,
 * made of text and the fields {stem} (the source's name without its last
 * extension, as outname_for takes it off), {name} (its whole name), {ext}
 * (the output format's extension, no dot) and {size} (the box, "WxH"); '/'
 * makes subdirectories. */
#define OUTNAME_DEFAULT "{stem}.{ext}"

/* The default of a run that makes several sizes (--size given more than
 * once): photo.jpg -> photo_200x200.jpg, photo_400x400.jpg... */
#define OUTNAME_DEFAULT_SIZES "{stem}_{size}.{ext}"

/* Longest component outname_path makes (NAME_MAX of Linux file systems). */
enum { OUTNAME_MAX_COMPONENT = 255 };

typedef struct outname_rule {
    const char *tmpl;          /* a template outname_check accepts; NULL: OUTNAME_DEFAULT */
    int box_w, box_h;          /* {size} */
} outname_rule;

/* The rule of one size of a run: --name's template tmpl (NULL: the
 * default, OUTNAME_DEFAULT_SIZES when several is set) with the box. */
outname_rule outname_rule_of(const char *tmpl, bool several, int box_w, int box_h);

/* Whether tmpl is a template outname_path can use: not empty, relative,
 * no empty, "." or ".." component, none starting with ".thumbd" (thumbd's
 * own files), every '{' opening one of the four fields and no '}'
 * elsewhere. False with err saying what is wrong. */
bool outname_check(const char *tmpl, char err[TD_ERRLEN]);

/* The thumbnail path of src_rel in kind under rule r (NULL: the default
 * template): src_rel's directory, then the template filled in. A component
 * the fields make "." or ".." has its dots written "%2E", as does the
 * leading dot of a component starting with ".thumbd" at OUT_DIR's top
 * under a template other than the default (whose names never clash with
 * thumbd's own); one longer than OUTNAME_MAX_COMPONENT bytes becomes its
 * first 200 bytes (cut at a UTF-8 character boundary), '~', the 16 hex
 * digits of the FNV-1a hash (hash.h) of the whole component and its
 * extension (from its last dot, when at most 32 bytes): the same name for
 * the same source, every run. Malloc'd; NULL when out of memory. */
char *outname_path(const outname_rule *r, const char *src_rel, out_kind kind);

/* Whether r's template makes subdirectories (has a '/'). */
bool outname_has_dir(const outname_rule *r);

/* Whether r gives every name of a directory its own path ({name} is in the
 * template): then no two sources collide. */
bool outname_unique(const outname_rule *r);

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
