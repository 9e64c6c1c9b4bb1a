/* Helpers shared by the end-to-end test programs: see e2e_util.h. */
#include "e2e_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>

/* ------------------------------------------------------------------------ */
/* Soft checks                                                                */

static int g_fails;

void fail_check(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  CHECK FAILED: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    g_fails++;
}

void begin_checks(void)
{
    g_fails = 0;
}

void end_checks(void)
{
    if (g_fails)
        printf("  (%d failed checks)\n", g_fails);
    assert_int_equal(g_fails, 0);
}

/* ------------------------------------------------------------------------ */
/* Time, formatting                                                           */

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pathf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < n);
}

/* ------------------------------------------------------------------------ */
/* String lists                                                               */

void strlist_add(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n] = strdup(s);
    assert_non_null(l->v[l->n]);
    l->n++;
}

bool strlist_has(const strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(strlist *l)
{
    if (l->n > 1)
        qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_str);
}

void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void rm_tree(const char *path)
{
    nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

void keep_or_remove(const char *keep_env, const char *dir, void (*remove_tree)(const char *))
{
    const char *keep = getenv(keep_env);
    if (keep && *keep && strcmp(keep, "0"))
        printf("  kept %s\n", dir);
    else if (dir[0])
        remove_tree(dir);
}

/* ------------------------------------------------------------------------ */
/* JSON strings                                                               */

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static char *utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

char *e2e_json_string(const char **pp, bool lone_surrogates_ok)
{
    const char *p = *pp;
    if (*p++ != '"')
        return NULL;
    char *out = malloc(strlen(p) * 3 + 1), *o = out;
    assert_non_null(out);
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || c < 0x20)
            goto bad;   /* unterminated, or a raw control character */
        if (c == '"')
            break;
        if (c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        p++;
        unsigned u, lo;
        switch (*p) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (hex4(p + 1, &u) != 0)
                goto bad;
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                o = utf8_put(o, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                p += 6;
            } else if (u >= 0xDC80 && u <= 0xDCFF) {
                *o++ = (char)(u - 0xDC00);   /* surrogateescape: one raw byte */
            } else if (u >= 0xD800 && u <= 0xDFFF && !lone_surrogates_ok) {
                goto bad;
            } else {
                o = utf8_put(o, u);
            }
            break;
        default:
            goto bad;
        }
        p++;
    }
    *o = '\0';
    *pp = p + 1;
    return out;
bad:
    free(out);
    return NULL;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Skips the nested object / array at p; NULL if it does not end. */
static const char *skip_nested(const char *p, bool lone_surrogates_ok)
{
    int depth = 0;
    while (*p) {
        if (*p == '"') {
            char *tmp = e2e_json_string(&p, lone_surrogates_ok);
            if (!tmp)
                return NULL;
            free(tmp);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
    return NULL;
}

bool e2e_jrec_parse(const char *line, e2e_jrec *r, int max_fields, bool lone_surrogates_ok)
{
    memset(r, 0, sizeof *r);
    if (max_fields > E2E_JREC_MAX)
        max_fields = E2E_JREC_MAX;
    const char *p = skip_ws(line);
    if (*p++ != '{')
        return false;
    p = skip_ws(p);
    if (*p == '}')
        return *skip_ws(p + 1) == '\0';
    for (;;) {
        if (r->nf == max_fields)
            return false;
        e2e_jfield *f = &r->f[r->nf];
        p = skip_ws(p);
        char *key = e2e_json_string(&p, lone_surrogates_ok);
        if (!key)
            return false;
        snprintf(f->key, sizeof f->key, "%s", key);
        free(key);
        p = skip_ws(p);
        if (*p++ != ':')
            return false;
        p = skip_ws(p);
        if (*p == '"') {
            f->type = E2E_J_STR;
            if (!(f->s = e2e_json_string(&p, lone_surrogates_ok)))
                return false;
        } else if (!strncmp(p, "null", 4)) {
            f->type = E2E_J_NULL;
            p += 4;
        } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
            f->type = E2E_J_BOOL;
            f->n = *p == 't';
            p += *p == 't' ? 4 : 5;
        } else if (*p == '{' || *p == '[') {
            f->type = E2E_J_OTHER;
            if (!(p = skip_nested(p, lone_surrogates_ok)))
                return false;
        } else {
            char *end;
            f->type = E2E_J_NUM;
            f->n = strtod(p, &end);
            if (end == p)
                return false;
            p = end;
        }
        r->nf++;
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        return *p == '}' && *skip_ws(p + 1) == '\0';
    }
}

void e2e_jrec_free(e2e_jrec *r)
{
    for (int i = 0; i < r->nf; i++)
        free(r->f[i].s);
    r->nf = 0;
}

const e2e_jfield *e2e_jrec_get(const e2e_jrec *r, const char *key)
{
    for (int i = 0; i < r->nf; i++)
        if (!strcmp(r->f[i].key, key))
            return &r->f[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Images                                                                     */

int write_rgb_jpeg(const char *path, int w, int h, int quality, e2e_row_fn fill, void *ctx)
{
    return write_rgb_jpeg_ex(path, w, h, quality, false, fill, ctx);
}

int write_rgb_jpeg_ex(const char *path, int w, int h, int quality, bool progressive,
                      e2e_row_fn fill, void *ctx)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    assert_non_null(row);
    while (c.next_scanline < c.image_height) {
        fill(row, w, (int)c.next_scanline, ctx);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f);
}

void e2e_noise_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)y;
    uint32_t *s = ctx;
    for (int i = 0; i < w * 3; i++) {
        *s = *s * 1103515245u + 12345u;
        row[i] = (unsigned char)((*s >> 16) & 0xFF);
    }
}

int e2e_noise_jpeg(const char *path, int w, int h, unsigned seed)
{
    uint32_t s = seed * 2654435761u + 1;
    return write_rgb_jpeg(path, w, h, 90, e2e_noise_row, &s);
}
