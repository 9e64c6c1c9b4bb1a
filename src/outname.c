#include "thumbd/outname.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/hash.h"

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

/* A shortened component: this prefix, '~', 16 hex digits, an extension of
 * at most SHORT_EXT bytes: 249 bytes at most. */
enum { SHORT_PREFIX = 200, SHORT_EXT = 32 };

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

/* ---- templates ------------------------------------------------------------- */

static const char *const fields[] = {"{stem}", "{name}", "{ext}", "{size}"};
enum { NFIELDS = sizeof fields / sizeof *fields };

/* The field t starts with (its index), or -1. */
static int field_at(const char *t)
{
    for (int f = 0; f < NFIELDS; f++)
        if (!strncmp(t, fields[f], strlen(fields[f])))
            return f;
    return -1;
}

static const char *tmpl_of(const outname_rule *r)
{
    return r && r->tmpl ? r->tmpl : OUTNAME_DEFAULT;
}

/* Why component c (n bytes) of a template is refused, or NULL. */
static const char *bad_component(const char *c, size_t n)
{
    if (n == 0)
        return "an empty path component (\"//\" or a trailing '/')";
    if ((n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
        return "a '.' or '..' component";
    if (n >= 7 && !strncmp(c, ".thumbd", 7))
        return "a component starting with .thumbd (thumbd's own files)";
    return NULL;
}

bool outname_check(const char *tmpl, char err[TD_ERRLEN])
{
    const char *why = !*tmpl ? "an empty template" : *tmpl == '/' ? "an absolute path" : NULL;
    for (const char *c = tmpl; c && !why;) {
        const char *end = strchr(c, '/');
        why = bad_component(c, end ? (size_t)(end - c) : strlen(c));
        c = end ? end + 1 : NULL;
    }
    for (const char *p = tmpl; *p && !why; p++) {
        int f = *p == '{' ? field_at(p) : -1;
        if (*p == '{' && f < 0)
            why = "a '{' that starts none of {stem} {name} {ext} {size}";
        else if (*p == '}')
            why = "a '}' that ends no field";
        else if (f >= 0)
            p += strlen(fields[f]) - 1;
    }
    if (why)
        td_fail(err, TD_EUSAGE, "%s", why);
    return !why;
}

outname_rule outname_rule_of(const char *tmpl, bool several, int box_w, int box_h)
{
    return (outname_rule){tmpl ? tmpl : several ? OUTNAME_DEFAULT_SIZES : NULL, box_w, box_h};
}

bool outname_has_dir(const outname_rule *r)
{
    return strchr(tmpl_of(r), '/') != NULL;
}

bool outname_unique(const outname_rule *r)
{
    return strstr(tmpl_of(r), "{name}") != NULL;
}

/* A growing string; len counts what did not fit too (oom then set). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Appends component c (n bytes) as outname_path writes it. top: it is a
 * first component at OUT_DIR's top, under a template other than the
 * default. */
static void put_component(sbuf *b, const char *c, size_t n, bool top)
{
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
        put(b, n == 1 ? "%2E" : "%2E%2E", n * 3);
        return;
    }
    if (top && n >= 7 && !strncmp(c, ".thumbd", 7)) {
        put(b, "%2E", 3);
        c++;
        n--;
    }
    if (n <= OUTNAME_MAX_COMPONENT) {
        put(b, c, n);
        return;
    }
    const char *dot = NULL;
    for (size_t i = n; i-- > 1 && !dot;)
        dot = c[i] == '.' ? c + i : NULL;
    size_t elen = dot && (size_t)(c + n - dot) <= SHORT_EXT ? (size_t)(c + n - dot) : 0;
    size_t plen = SHORT_PREFIX;
    while (plen > 0 && ((unsigned char)c[plen] & 0xC0) == 0x80)
        plen--; /* c[plen] continues a UTF-8 character: cut before it */
    char hex[20];
    snprintf(hex, sizeof hex, "~%016llx", (unsigned long long)hash_fnv1a(HASH_FNV0, c, n));
    put(b, c, plen);
    put(b, hex, strlen(hex));
    put(b, c + n - elen, elen);
}

char *outname_path(const outname_rule *r, const char *src_rel, out_kind kind)
{
    const char *tmpl = tmpl_of(r);
    const char *slash = strrchr(src_rel, '/');
    const char *name = slash ? slash + 1 : src_rel;
    const char *dot = ext_of(src_rel);
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    char size[32];
    snprintf(size, sizeof size, "%dx%d", r ? r->box_w : 0, r ? r->box_h : 0);
    const char *ext = outname_ext(kind) + 1;
    sbuf full = {0}, out = {0};
    for (const char *p = tmpl; *p;) { /* the template filled in */
        int f = *p == '{' ? field_at(p) : -1;
        if (f < 0) {
            size_t n = strcspn(p + 1, "{") + 1;
            put(&full, p, n);
            p += n;
            continue;
        }
        const char *v[] = {name, name, ext, size};
        put(&full, v[f], f == 0 ? stem : strlen(v[f]));
        p += strlen(fields[f]);
    }
    put(&out, src_rel, (size_t)(name - src_rel));
    bool top = !slash && strcmp(tmpl, OUTNAME_DEFAULT);
    for (const char *c = full.s; c && !full.oom;) { /* then component by component */
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (c != full.s)
            put(&out, "/", 1);
        put_component(&out, c, n, top && c == full.s);
        c = end ? end + 1 : NULL;
    }
    bool ok = !full.oom && !out.oom && out.s;
    free(full.s);
    if (!ok)
        free(out.s);
    return ok ? out.s : NULL;
}

char *outname_for(const char *src_rel, out_kind kind)
{
    return outname_path(NULL, src_rel, kind);
}

/* ---- kinds and codes ------------------------------------------------------- */

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
