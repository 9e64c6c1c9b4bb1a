/* End-to-end tests: the real thumbd binary on images made by thumbd_gen.
 *
 *   test_e2e [THUMBD_BIN [THUMBD_GEN]]
 *
 * (defaults: the compile definitions THUMBD_BIN / THUMBD_GEN). The generator
 * writes its images and expected.txt (reference colours, dimensions, the
 * expected status of every file) into a fresh directory under $TMPDIR (or
 * /tmp); thumbd is run on it with several option sets; the JSON Lines report
 * is parsed and the thumbnails are decoded with libjpeg / libpng and checked
 * pixel by pixel at probe points recorded by the generator.
 *
 * Every test collects all its failed checks (printed one per line) before
 * failing, so one run shows everything that is wrong.
 * THUMBD_E2E_KEEP=1 keeps the temporary directory for inspection.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "e2e_util.h"

/* Tolerances, per 8-bit channel.
 *
 * TOL_ORIENT (40): the orientation tests only need to tell red, green, blue
 * and white quadrants apart (they differ by 255 on some channel).
 *
 * TOL_COLOR (12): colour references (CMYK, ICC, PNG variants). The error
 * budget at a probe point, far from any edge, is: source JPEG at quality 95
 * (flat 8x8 blocks are coded almost exactly; YCbCr/YCCK rounding <= 2),
 * lcms2 or naive CMYK rounding (<= 2), resampling of a flat area (<= 1), and
 * the thumbnail's own JPEG encoding at quality 85 with 4:2:0 chroma (flat
 * area: <= 3-4). That is <= ~9; 12 leaves a little room, while every real
 * defect these tests look for (profile ignored, CMYK not inverted or inverted
 * twice, wrong 16-bit byte, wrong palette index) is off by >= 60 on some
 * channel.
 *
 * TOL_ALPHA_HALF (8): a 50% alpha band (128) after resampling.
 *
 * TOL_FRINGE (40): near an edge between an opaque colour and transparent
 * black, a thumbnail resized in premultiplied alpha keeps the opaque colour
 * (unpremultiplying an 8-bit value at alpha >= 16 costs at most ~8); one
 * resized with straight alpha blends in the black and shows a dark fringe
 * (half-way: ~128 below the colour). */
enum { TOL_ORIENT = 40, TOL_COLOR = 12, TOL_ALPHA_HALF = 8, TOL_FRINGE = 40 };
enum { BOX = 200, RUN_TIMEOUT_S = 180 };

#ifndef THUMBD_BIN
#define THUMBD_BIN "thumbd"
#endif
#ifndef THUMBD_GEN
#define THUMBD_GEN "thumbd_gen"
#endif

static const char *g_bin = THUMBD_BIN;
static const char *g_gen = THUMBD_GEN;
static char g_tmp[1024];            /* the temporary root */
static char g_in[1100];             /* <tmp>/in: the generated images */

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

static bool is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash) || dot == name || (slash && dot == slash + 1))
        return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpe") ||
           !strcasecmp(dot, ".png");
}

/* Relative paths of all regular files under root, recursively. */
static void list_files_rec(const char *root, const char *rel, strlist *out)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        /* thumbd's own bookkeeping at the top of OUT_DIR (README: re-runs) */
        if (!*rel && !strncmp(de->d_name, ".thumbd.", 8)) /* .lock .state .run/ .memo/ */
            continue;
        char r2[PATH_MAX], full[PATH_MAX * 2];
        snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, r2);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            list_files_rec(root, r2, out);
        else
            strlist_add(out, r2);
    }
    closedir(d);
}

/* ------------------------------------------------------------------------ */
/* Running programs                                                           */

/* Runs argv with stdin from /dev/null and stdout/stderr to the given files.
 * Returns the exit code, 128 + signal, -1 if it could not start, or -2 on
 * timeout (the child is killed). */
static int run_cmd(char *const argv[], const char *out_path, const char *err_path, int timeout_s)
{
    return e2e_run(argv, NULL, out_path, err_path, timeout_s, 10, NULL).code;
}

/* ------------------------------------------------------------------------ */
/* expected.txt                                                               */

typedef struct probe {
    double fx, fy;
    int c[4];          /* c[3] = 255 when the reference is opaque */
} probe;

typedef struct expect {
    char name[256], cat[16], fmt[8], status[16], out[256], err[256], meta[64];
    int w, h, dw, dh, orient, alpha;
    bool has_fringe;
    int fringe[3];
    int nprobe;
    probe p[8];
} expect;

static expect *g_exp;
static int g_nexp;

static bool parse_probe(const char *v, probe *p)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL, *tok[6];
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t && n < 6; t = strtok_r(NULL, ",", &save))
        tok[n++] = t;
    if (n != 5 && n != 6)
        return false;
    p->fx = atof(tok[0]);
    p->fy = atof(tok[1]);
    for (int i = 0; i < 3; i++)
        p->c[i] = tok[2 + i][0] == '*' ? -1 : atoi(tok[2 + i]);
    p->c[3] = n == 6 ? atoi(tok[5]) : 255;
    return true;
}

static int load_expected(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (g_nexp == cap) {
            cap = cap ? cap * 2 : 64;
            g_exp = realloc(g_exp, (size_t)cap * sizeof *g_exp);
            if (!g_exp) {
                fclose(f);
                return -1;
            }
        }
        expect *e = &g_exp[g_nexp];
        memset(e, 0, sizeof *e);
        e->orient = 1;
        char *save = NULL;
        char *t = strtok_r(line, " ", &save);
        snprintf(e->name, sizeof e->name, "%s", t);
        while ((t = strtok_r(NULL, " ", &save)) != NULL) {
            char *eq = strchr(t, '=');
            if (!eq)
                continue;
            *eq = '\0';
            const char *k = t, *v = eq + 1;
            if (!strcmp(k, "cat"))
                snprintf(e->cat, sizeof e->cat, "%s", v);
            else if (!strcmp(k, "fmt"))
                snprintf(e->fmt, sizeof e->fmt, "%s", v);
            else if (!strcmp(k, "status"))
                snprintf(e->status, sizeof e->status, "%s", v);
            else if (!strcmp(k, "out"))
                snprintf(e->out, sizeof e->out, "%s", v);
            else if (!strcmp(k, "err"))
                snprintf(e->err, sizeof e->err, "%s", v);
            else if (!strcmp(k, "meta"))
                snprintf(e->meta, sizeof e->meta, "%s", v);
            else if (!strcmp(k, "w"))
                e->w = atoi(v);
            else if (!strcmp(k, "h"))
                e->h = atoi(v);
            else if (!strcmp(k, "dw"))
                e->dw = atoi(v);
            else if (!strcmp(k, "dh"))
                e->dh = atoi(v);
            else if (!strcmp(k, "orient"))
                e->orient = atoi(v);
            else if (!strcmp(k, "alpha"))
                e->alpha = atoi(v);
            else if (!strcmp(k, "fringe"))
                e->has_fringe =
                    sscanf(v, "%d,%d,%d", &e->fringe[0], &e->fringe[1], &e->fringe[2]) == 3;
            else if (!strcmp(k, "probe") && e->nprobe < 8) {
                if (parse_probe(v, &e->p[e->nprobe]))
                    e->nprobe++;
            }
        }
        g_nexp++;
    }
    fclose(f);
    return g_nexp > 0 ? 0 : -1;
}

static const expect *find_expect(const char *name)
{
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].name, name))
            return &g_exp[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report (flat objects; nested values are skipped)            */

typedef e2e_jfield jfield;
typedef e2e_jrec rec;

/* A number field rounded, LLONG_MIN when absent or not a number. */
static long long rec_num(const rec *r, const char *key)
{
    const jfield *f = e2e_jrec_get(r, key);
    return f && f->type == E2E_J_NUM ? (long long)llround(f->n) : LLONG_MIN;
}

/* ------------------------------------------------------------------------ */
/* thumbd runs (each made once, on first use)                                 */

typedef struct run_def {
    const char *tag;
    const char *subdir;      /* IN_DIR below the generated tree ("" = all) */
    const char *args[6];
    bool inside, enlarge;
} run_def;

enum { RUN_MAIN, RUN_INSIDE, RUN_ORIENT, RUN_ENLARGE_INSIDE, RUN_ENLARGE_COVER, RUN_MAX_PIXELS,
       RUN_MAX_FILE_SIZE, NRUNS };

static const run_def g_defs[NRUNS] = {
    {"cover", "", {NULL}, false, false},
    {"inside", "", {"--fit", "inside", NULL}, true, false},
    {"orient", "orient", {NULL}, false, false},
    {"enlarge-inside", "size", {"--fit", "inside", "--enlarge", NULL}, true, true},
    {"enlarge-cover", "size", {"--enlarge", NULL}, false, true},
    /* orient/ holds 400x300 images (120,000 pixels) of a few KiB each. */
    {"max-pixels", "orient", {"--max-pixels", "100000", NULL}, false, false},
    {"max-file-size", "orient", {"--max-file-size", "1K", NULL}, false, false},
};

typedef struct run {
    bool done;
    int exit_code;
    char in[PATH_MAX], out[PATH_MAX], report[PATH_MAX], err[PATH_MAX];
    e2e_report rp;
} run;

static run g_runs[NRUNS];

static void load_report(run *r, const char *tag);

static run *get_run(int which)
{
    run *r = &g_runs[which];
    if (r->done)
        return r;
    const run_def *d = &g_defs[which];
    r->done = true;
    snprintf(r->in, sizeof r->in, "%s%s%s", g_in, *d->subdir ? "/" : "", d->subdir);
    snprintf(r->out, sizeof r->out, "%s/out-%s", g_tmp, d->tag);
    snprintf(r->report, sizeof r->report, "%s/report-%s.jsonl", g_tmp, d->tag);
    snprintf(r->err, sizeof r->err, "%s/stderr-%s.txt", g_tmp, d->tag);
    char outlog[PATH_MAX + 16];
    snprintf(outlog, sizeof outlog, "%s/stdout-%s.txt", g_tmp, d->tag);

    char *argv[16];
    int n = 0;
    argv[n++] = (char *)g_bin;
    for (int i = 0; d->args[i]; i++)
        argv[n++] = (char *)d->args[i];
    argv[n++] = "--report";
    argv[n++] = r->report;
    argv[n++] = r->in;
    argv[n++] = r->out;
    argv[n] = NULL;
    r->exit_code = run_cmd(argv, outlog, r->err, RUN_TIMEOUT_S);
    printf("  [run %s] thumbd", d->tag);
    for (int i = 1; i < n; i++)
        printf(" %s", argv[i]);
    printf(" -> exit %d\n", r->exit_code);
    load_report(r, d->tag);
    return r;
}

/* Loads r->report into r->rp (unparsable lines are counted, the first shown). */
static void load_report(run *r, const char *tag)
{
    e2e_report_load(r->report, &r->rp, 0);
    if (r->rp.bad)
        printf("  [run %s] %d unparsable report lines, the first: %s\n", tag, r->rp.bad,
               r->rp.first_bad);
}

/* The record of src (relative to the run's IN_DIR); NULL if none. Counts
 * how many there are in *count. */
static const rec *find_rec(const run *r, const char *src, int *count)
{
    return e2e_report_find(&r->rp, src, count);
}

/* The name of an expected entry relative to the run's IN_DIR (NULL when the
 * entry is outside it). */
static const char *rel_to_run(int which, const char *name)
{
    const char *sub = g_defs[which].subdir;
    size_t n = strlen(sub);
    if (n == 0)
        return name;
    if (strncmp(name, sub, n) == 0 && name[n] == '/')
        return name + n + 1;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Decoding thumbnails                                                        */

typedef struct pixels {
    int w, h;
    uint8_t *rgba;        /* w * h * 4 */
    bool png, png_alpha;  /* PNG; with an alpha channel or tRNS */
    int warnings;         /* libjpeg / libpng warnings while decoding */
    char err[256];
} pixels;

typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    pixels *px;
} jerr_mgr;

static void jerr_exit(j_common_ptr c)
{
    jerr_mgr *e = (jerr_mgr *)c->err;
    c->err->format_message(c, e->px->err);
    longjmp(e->jb, 1);
}

static void jerr_msg(j_common_ptr c, int level)
{
    jerr_mgr *e = (jerr_mgr *)c->err;
    if (level < 0)
        e->px->warnings++;
}

static bool decode_jpeg(const uint8_t *data, size_t len, pixels *px)
{
    struct jpeg_decompress_struct c;
    jerr_mgr e;
    JSAMPLE *row = NULL;
    px->rgba = NULL;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_msg;
    e.px = px;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&c);
        free(px->rgba);
        px->rgba = NULL;
        return false;
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, data, (unsigned long)len);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    px->w = (int)c.output_width;
    px->h = (int)c.output_height;
    px->rgba = malloc((size_t)px->w * (size_t)px->h * 4 + (size_t)px->w * 3);
    if (!px->rgba) {
        snprintf(px->err, sizeof px->err, "out of memory");
        jpeg_destroy_decompress(&c);
        return false;
    }
    /* the row buffer lives after the pixels, so the error path frees both */
    row = px->rgba + (size_t)px->w * (size_t)px->h * 4;
    while (c.output_scanline < c.output_height) {
        JSAMPROW rp = row;
        int y = (int)c.output_scanline;
        jpeg_read_scanlines(&c, &rp, 1);
        uint8_t *o = px->rgba + (size_t)y * (size_t)px->w * 4;
        for (int x = 0; x < px->w; x++) {
            o[4 * x] = row[3 * x];
            o[4 * x + 1] = row[3 * x + 1];
            o[4 * x + 2] = row[3 * x + 2];
            o[4 * x + 3] = 255;
        }
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    return true;
}

static void pngerr(png_structp p, png_const_charp m)
{
    pixels *px = png_get_error_ptr(p);
    snprintf(px->err, sizeof px->err, "%s", m);
    png_longjmp(p, 1);
}

static void pngwarn(png_structp p, png_const_charp m)
{
    (void)m;
    pixels *px = png_get_error_ptr(p);
    px->warnings++;
}

typedef struct memrd {
    const uint8_t *d;
    size_t len, pos;
} memrd;

static void png_mem_read(png_structp p, png_bytep out, size_t n)
{
    memrd *m = png_get_io_ptr(p);
    if (n > m->len - m->pos)
        png_error(p, "read past the end of the file");
    memcpy(out, m->d + m->pos, n);
    m->pos += n;
}

static bool decode_png(const uint8_t *data, size_t len, pixels *px)
{
    memrd m = {data, len, 0};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, px, pngerr, pngwarn);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    png_bytep *rows = NULL;
    px->rgba = NULL;
    if (!p || !info) {
        png_destroy_read_struct(&p, &info, NULL);
        snprintf(px->err, sizeof px->err, "out of memory");
        return false;
    }
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(px->rgba);
        px->rgba = NULL;
        return false;
    }
    png_set_read_fn(p, &m, png_mem_read);
    png_read_info(p, info);
    int ct = png_get_color_type(p, info);
    px->png_alpha = (ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(p, info, PNG_INFO_tRNS);
    png_set_expand(p);
    png_set_strip_16(p);
    png_set_gray_to_rgb(p);
    png_set_add_alpha(p, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    px->w = (int)png_get_image_width(p, info);
    px->h = (int)png_get_image_height(p, info);
    if (png_get_rowbytes(p, info) != (size_t)px->w * 4)
        png_error(p, "unexpected row size after transforms");
    /* one block: pixels, then the row pointers */
    px->rgba = malloc((size_t)px->w * (size_t)px->h * 4 + (size_t)px->h * sizeof *rows);
    if (!px->rgba)
        png_error(p, "out of memory");
    rows = (png_bytep *)(void *)(px->rgba + (size_t)px->w * (size_t)px->h * 4);
    for (int y = 0; y < px->h; y++)
        rows[y] = px->rgba + (size_t)y * (size_t)px->w * 4;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    return true;
}

/* Decodes a thumbnail (by content). */
static bool decode_image(const uint8_t *data, size_t len, pixels *px)
{
    memset(px, 0, sizeof *px);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, len, px);
    if (len >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8)) {
        px->png = true;
        return decode_png(data, len, px);
    }
    snprintf(px->err, sizeof px->err, "neither JPEG nor PNG");
    return false;
}

/* Mean of the 3x3 block around (x, y), clamped to the image. */
static void sample(const pixels *px, double x, double y, double mean[4], int *amin, int *amax)
{
    int cx = (int)floor(x), cy = (int)floor(y);
    double s[4] = {0, 0, 0, 0};
    int n = 0;
    *amin = 255;
    *amax = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int xx = cx + dx, yy = cy + dy;
            if (xx < 0 || yy < 0 || xx >= px->w || yy >= px->h)
                continue;
            const uint8_t *q = px->rgba + ((size_t)yy * (size_t)px->w + (size_t)xx) * 4;
            for (int c = 0; c < 4; c++)
                s[c] += q[c];
            if (q[3] < *amin)
                *amin = q[3];
            if (q[3] > *amax)
                *amax = q[3];
            n++;
        }
    for (int c = 0; c < 4; c++)
        mean[c] = n ? s[c] / n : -1;
}

/* Where the probe (fx, fy) of the upright source lands in a w x h thumbnail:
 * for cover output (exactly the box) the image is scaled to cover the box and
 * centre-cropped; otherwise the thumbnail shows the whole image. */
static void map_probe(const expect *e, bool cover, int w, int h, double fx, double fy,
                      double *ox, double *oy)
{
    if (cover && w == BOX && h == BOX) {
        double s = fmax((double)BOX / e->dw, (double)BOX / e->dh);
        double sw = e->dw * s, sh = e->dh * s;
        *ox = fx * sw - (sw - BOX) / 2.0;
        *oy = fy * sh - (sh - BOX) / 2.0;
    } else {
        *ox = fx * w;
        *oy = fy * h;
    }
}

/* Loads the thumbnail of e produced by run `which`: checks the record, the
 * file, decodes it. Returns false (with failed checks) if that is not
 * possible. */
static bool load_thumb(int which, const expect *e, pixels *px, const rec **rout)
{
    run *r = get_run(which);
    const char *src = rel_to_run(which, e->name);
    assert_non_null(src);
    int count = 0;
    const rec *x = find_rec(r, src, &count);
    if (rout)
        *rout = x;
    CHECK(count == 1, "[%s] %s: %d report records (want exactly 1)", g_defs[which].tag, src,
          count);
    if (!x)
        return false;
    const char *status = e2e_str(x, "status");
    CHECK(status && !strcmp(status, "ok"), "[%s] %s: status %s (want ok), error: %s",
          g_defs[which].tag, src, status ? status : "(missing)",
          e2e_str(x, "error") ? e2e_str(x, "error") : "null");
    const char *out = e2e_str(x, "out");
    if (!out) {
        CHECK(false, "[%s] %s: no \"out\" in the record", g_defs[which].tag, src);
        return false;
    }
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", r->out, out);
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        CHECK(false, "[%s] %s: cannot read the thumbnail %s", g_defs[which].tag, src, path);
        return false;
    }
    bool ok = decode_image(data, len, px);
    free(data);
    CHECK(ok, "[%s] %s: thumbnail %s does not decode: %s", g_defs[which].tag, src, out,
          px->err);
    if (!ok)
        return false;
    CHECK(px->warnings == 0, "[%s] %s: decoding the thumbnail gave %d warnings",
          g_defs[which].tag, src, px->warnings);
    CHECK(rec_num(x, "out_w") == px->w && rec_num(x, "out_h") == px->h,
          "[%s] %s: report says %lldx%lld, thumbnail is %dx%d", g_defs[which].tag, src,
          rec_num(x, "out_w"), rec_num(x, "out_h"), px->w, px->h);
    return true;
}

/* Checks every probe of e on the thumbnail px, with colour tolerance tol. */
static void check_probes(int which, const expect *e, const pixels *px, int tol)
{
    bool cover = !g_defs[which].inside;
    int checked = 0;
    for (int i = 0; i < e->nprobe; i++) {
        const probe *p = &e->p[i];
        double ox, oy, m[4];
        int amin, amax;
        map_probe(e, cover, px->w, px->h, p->fx, p->fy, &ox, &oy);
        if (ox < 0 || oy < 0 || ox >= px->w || oy >= px->h) {
            /* cover crops: a probe of a long image may be cut away */
            CHECK(cover, "[%s] %s: probe (%.2f,%.2f) falls outside the %dx%d thumbnail",
                  g_defs[which].tag, e->name, p->fx, p->fy, px->w, px->h);
            continue;
        }
        checked++;
        sample(px, ox, oy, m, &amin, &amax);
        char want[64], got[96];
        snprintf(want, sizeof want, "(%d,%d,%d,a=%d)", p->c[0], p->c[1], p->c[2], p->c[3]);
        snprintf(got, sizeof got, "(%.0f,%.0f,%.0f,a=%.0f..%d..%d)", m[0], m[1], m[2], m[3],
                 amin, amax);
        if (p->c[3] == 0) {
            CHECK(amax == 0, "[%s] %s: at (%.2f,%.2f) -> px (%.0f,%.0f) want transparent, got %s",
                  g_defs[which].tag, e->name, p->fx, p->fy, ox, oy, got);
            continue;
        }
        if (p->c[3] == 255)
            CHECK(amin == 255, "[%s] %s: at (%.2f,%.2f) -> px (%.0f,%.0f) want opaque, got %s",
                  g_defs[which].tag, e->name, p->fx, p->fy, ox, oy, got);
        else
            CHECK(fabs(m[3] - p->c[3]) <= TOL_ALPHA_HALF,
                  "[%s] %s: at (%.2f,%.2f) -> px (%.0f,%.0f) want alpha %d +-%d, got %s",
                  g_defs[which].tag, e->name, p->fx, p->fy, ox, oy, p->c[3], TOL_ALPHA_HALF,
                  got);
        bool near = true;
        for (int c = 0; c < 3; c++)
            if (p->c[c] >= 0 && fabs(m[c] - p->c[c]) > tol)
                near = false;
        CHECK(near, "[%s] %s: at (%.2f,%.2f) -> px (%.0f,%.0f) want %s +-%d, got %s",
              g_defs[which].tag, e->name, p->fx, p->fy, ox, oy, want, tol, got);
    }
    CHECK(checked >= 4, "[%s] %s: only %d probes inside the %dx%d thumbnail",
          g_defs[which].tag, e->name, checked, px->w, px->h);
}

/* Full check of one opaque or transparent image in one run. */
static void check_image(int which, const expect *e, int tol, int want_w, int want_h)
{
    assert_non_null(e);   /* an entry expected.txt must have */
    pixels px;
    const rec *x = NULL;
    if (!load_thumb(which, e, &px, &x))
        return;
    if (want_w > 0)
        CHECK(px.w == want_w && px.h == want_h, "[%s] %s: thumbnail is %dx%d, want %dx%d",
              g_defs[which].tag, e->name, px.w, px.h, want_w, want_h);
    const char *out = e2e_str(x, "out");
    const char *dot = out ? strrchr(out, '.') : NULL;
    if (e->alpha) {
        CHECK(px.png && px.png_alpha, "[%s] %s: image with alpha must give a PNG with alpha",
              g_defs[which].tag, e->name);
        CHECK(dot && !strcmp(dot, ".png"), "[%s] %s: out %s should end in .png",
              g_defs[which].tag, e->name, out ? out : "null");
    } else {
        CHECK(!px.png, "[%s] %s: opaque image must give a JPEG", g_defs[which].tag, e->name);
        CHECK(dot && !strcmp(dot, ".jpg"), "[%s] %s: out %s should end in .jpg",
              g_defs[which].tag, e->name, out ? out : "null");
    }
    check_probes(which, e, &px, tol);
    if (e->has_fringe) {
        int bad = 0, fx = -1, fy = -1;
        const uint8_t *first = NULL;
        for (int y = 0; y < px.h; y++)
            for (int xx = 0; xx < px.w; xx++) {
                const uint8_t *q = px.rgba + ((size_t)y * (size_t)px.w + (size_t)xx) * 4;
                if (q[3] < 16)
                    continue;
                for (int c = 0; c < 3; c++)
                    if (q[c] < e->fringe[c] - TOL_FRINGE) {
                        if (!bad++) {
                            fx = xx;
                            fy = y;
                            first = q;
                        }
                        break;
                    }
            }
        CHECK(bad == 0,
              "[%s] %s: %d pixels with alpha >= 16 are darker than (%d,%d,%d)-%d (dark "
              "fringe); first at (%d,%d): (%d,%d,%d,a=%d)",
              g_defs[which].tag, e->name, bad, e->fringe[0], e->fringe[1], e->fringe[2],
              TOL_FRINGE, fx, fy, first ? first[0] : 0, first ? first[1] : 0,
              first ? first[2] : 0, first ? first[3] : 0);
    }
    free(px.rgba);
}

/* ------------------------------------------------------------------------ */
/* Metadata scans                                                             */

/* Returns NULL if the JPEG holds only SOI, APP0 (JFIF), DQT, SOFn, DHT, DRI,
 * SOS, RSTn and EOI; else a description of the first other marker. */
static const char *jpeg_foreign_marker(const uint8_t *d, size_t n, char *buf, size_t bn)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return "no SOI";
    size_t i = 2;
    while (i + 1 < n) {
        if (d[i] != 0xFF) {
            snprintf(buf, bn, "garbage byte 0x%02X at %zu", d[i], i);
            return buf;
        }
        while (i < n && d[i] == 0xFF)
            i++;
        if (i >= n)
            break;
        unsigned m = d[i++];
        if (m == 0xD9)
            return NULL;   /* EOI */
        if (m >= 0xD0 && m <= 0xD7)
            continue;
        if (i + 2 > n)
            return "truncated marker";
        size_t len = (size_t)d[i] << 8 | d[i + 1];
        bool ok = m == 0xDB || m == 0xC4 || m == 0xDD || m == 0xDA ||
                  (m >= 0xC0 && m <= 0xC2) ||
                  (m == 0xE0 && len >= 7 && !memcmp(d + i + 2, "JFIF\0", 5));
        if (!ok) {
            if (m == 0xFE)
                snprintf(buf, bn, "COM marker at %zu", i - 2);
            else if (m >= 0xE0 && m <= 0xEF)
                snprintf(buf, bn, "APP%u marker at %zu", m - 0xE0, i - 2);
            else
                snprintf(buf, bn, "marker 0x%02X at %zu", m, i - 2);
            return buf;
        }
        i += len;
        if (m == 0xDA) {
            /* entropy-coded data: up to the next marker other than RSTn */
            while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0 &&
                                  !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7)))
                i++;
        }
    }
    return "no EOI";
}

static const char *png_foreign_chunk(const uint8_t *d, size_t n, char *buf, size_t bn)
{
    static const char *bad[] = {"eXIf", "tEXt", "iTXt", "zTXt", "iCCP"};
    size_t i = 8;
    while (i + 8 <= n) {
        size_t len = (size_t)d[i] << 24 | (size_t)d[i + 1] << 16 | (size_t)d[i + 2] << 8 | d[i + 3];
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
            if (!memcmp(d + i + 4, bad[k], 4)) {
                snprintf(buf, bn, "%s chunk at %zu", bad[k], i);
                return buf;
            }
        if (!memcmp(d + i + 4, "IEND", 4))
            return NULL;
        i += 12 + len;
    }
    return "no IEND";
}

static bool has_bytes(const uint8_t *d, size_t n, const void *needle, size_t nl)
{
    return memmem(d, n, needle, nl) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Setup / teardown                                                           */

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    if (!t || !*t)
        t = "/tmp";
    snprintf(g_tmp, sizeof g_tmp, "%s/thumbd-e2e-XXXXXX", t);
    if (!mkdtemp(g_tmp)) {
        printf("mkdtemp %s: %s\n", g_tmp, strerror(errno));
        return -1;
    }
    snprintf(g_in, sizeof g_in, "%s/in", g_tmp);
    char out[PATH_MAX + 32], err[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/gen.stdout", g_tmp);
    snprintf(err, sizeof err, "%s/gen.stderr", g_tmp);
    char *argv[] = {(char *)g_gen, g_in, NULL};
    int rc = run_cmd(argv, out, err, 120);
    if (rc != 0) {
        printf("generator %s failed (exit %d); see %s\n", g_gen, rc, err);
        return -1;
    }
    char exp[PATH_MAX + 32];
    snprintf(exp, sizeof exp, "%s/expected.txt", g_in);
    if (load_expected(exp) != 0) {
        printf("cannot load %s\n", exp);
        return -1;
    }
    printf("  test images in %s (%d entries); thumbd = %s\n", g_in, g_nexp, g_bin);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NRUNS; i++) {
        e2e_report_free(&g_runs[i].rp);
    }
    free(g_exp);
    keep_or_remove("THUMBD_E2E_KEEP", g_tmp, rm_tree);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                      */

/* --help / --version exit 0 with output; usage errors exit 2; an IN_DIR that
 * does not exist exits 3. */
static void test_cli_exit_codes(void **state)
{
    (void)state;
    begin_checks();
    char out[PATH_MAX + 32], err[PATH_MAX + 32], missing[PATH_MAX + 32], o2[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/cli.stdout", g_tmp);
    snprintf(err, sizeof err, "%s/cli.stderr", g_tmp);
    snprintf(missing, sizeof missing, "%s/no-such-dir", g_tmp);
    snprintf(o2, sizeof o2, "%s/out-cli", g_tmp);
    struct {
        const char *what;
        char *argv[8];
        int want;
        bool want_stdout;
    } cases[] = {
        {"--help", {(char *)g_bin, "--help", NULL}, 0, true},
        {"-h", {(char *)g_bin, "-h", NULL}, 0, true},
        {"--version", {(char *)g_bin, "--version", NULL}, 0, true},
        {"-V", {(char *)g_bin, "-V", NULL}, 0, true},
        {"bad option", {(char *)g_bin, "--no-such-option", g_in, o2, NULL}, 2, false},
        {"no arguments", {(char *)g_bin, NULL}, 2, false},
        {"--quality 101", {(char *)g_bin, "--quality", "101", g_in, o2, NULL}, 2, false},
        {"--fit sideways", {(char *)g_bin, "--fit", "sideways", g_in, o2, NULL}, 2, false},
        {"--size 0x0", {(char *)g_bin, "--size", "0x0", g_in, o2, NULL}, 2, false},
        {"missing IN_DIR", {(char *)g_bin, missing, o2, NULL}, 3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_cmd(cases[i].argv, out, err, 60);
        CHECK(rc == cases[i].want, "%s: exit %d, want %d", cases[i].what, rc, cases[i].want);
        if (cases[i].want_stdout)
            CHECK(file_size(out) > 0, "%s: printed nothing on stdout", cases[i].what);
        if (cases[i].want != 0)
            CHECK(file_size(err) > 0, "%s: no message on stderr", cases[i].what);
    }
    end_checks();
}

/* The cover run over the whole tree: exit code 1 (there are bad files), one
 * well-formed record per image file, consistent fields, and OUT_DIR holds
 * exactly the thumbnails of the ok records (no temporary leftovers). */
static void test_report_records(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    CHECK(r->exit_code == 1, "exit code %d, want 1 (some images fail)", r->exit_code);
    CHECK(r->rp.bad == 0, "%d report lines are not valid JSON objects", r->rp.bad);
    CHECK(r->rp.n > 0, "no report records in %s", r->report);

    static const char *keys[] = {"id", "src", "out", "status", "error", "src_w", "src_h",
                                 "src_bytes", "out_w", "out_h", "out_bytes", "decoder", "queue_ms",
                                 "decode_ms", "resize_ms", "encode_ms", "total_ms", "worker"};
    for (int i = 0; i < r->rp.n; i++) {
        const rec *x = &r->rp.v[i];
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            CHECK(e2e_jrec_get(x, keys[k]) != NULL, "record without \"%s\": %s", keys[k],
                  r->rp.line[i]);
        const char *st = e2e_str(x, "status");
        CHECK(st && (!strcmp(st, "ok") || !strcmp(st, "failed") || !strcmp(st, "skipped") ||
                     !strcmp(st, "cancelled")), "bad status in %s", r->rp.line[i]);
        for (int j = 0; j < i; j++)
            CHECK(rec_num(x, "id") != rec_num(&r->rp.v[j], "id"), "duplicate id %lld",
                  rec_num(x, "id"));
    }

    /* every image file under IN_DIR: exactly one record */
    strlist files = {0};
    list_files_rec(g_in, "", &files);
    int nimages = 0;
    for (int i = 0; i < files.n; i++) {
        int count;
        const rec *x = find_rec(r, files.v[i], &count);
        if (is_image_name(files.v[i])) {
            nimages++;
            CHECK(count == 1, "%s: %d records (want exactly 1)", files.v[i], count);
        } else if (x) {
            const char *st = e2e_str(x, "status");
            CHECK(st && strcmp(st, "failed"), "%s (not an image name) has a failed record",
                  files.v[i]);
        }
    }
    for (int i = 0; i < r->rp.n; i++) {
        const char *src = e2e_str(&r->rp.v[i], "src");
        bool found = false;
        for (int k = 0; src && k < files.n && !found; k++)
            found = !strcmp(files.v[k], src);
        CHECK(found, "record for a file that does not exist: %s", r->rp.line[i]);
    }
    CHECK(nimages >= 40, "only %d image files generated", nimages);

    /* every expected entry: status, out, sizes */
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (!strcmp(e->cat, "big"))
            continue;
        const rec *x = find_rec(r, e->name, NULL);
        if (!x)
            continue;   /* reported above */
        const char *st = e2e_str(x, "status");
        char src_path[PATH_MAX * 2];
        snprintf(src_path, sizeof src_path, "%s/%s", g_in, e->name);
        CHECK(rec_num(x, "src_bytes") == file_size(src_path), "%s: src_bytes %lld, file has %lld",
              e->name, rec_num(x, "src_bytes"), file_size(src_path));
        CHECK(st && !strcmp(st, e->status), "%s: status %s, want %s (error: %s)", e->name,
              st ? st : "(none)", e->status,
              e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        if (strcmp(e->status, "ok"))
            continue;
        const char *out = e2e_str(x, "out");
        CHECK(out && !strcmp(out, e->out), "%s: out %s, want %s", e->name, out ? out : "null",
              e->out);
        const jfield *ef = e2e_jrec_get(x, "error");
        CHECK(ef && ef->type == E2E_J_NULL, "%s: ok record with an error: %s", e->name,
              e2e_report_text(&r->rp, x));
        CHECK(rec_num(x, "src_w") == e->w && rec_num(x, "src_h") == e->h,
              "%s: src %lldx%lld, want %dx%d (as stored)", e->name, rec_num(x, "src_w"),
              rec_num(x, "src_h"), e->w, e->h);
        CHECK(rec_num(x, "worker") >= 0, "%s: ok record with worker %lld", e->name,
              rec_num(x, "worker"));
        if (out) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", r->out, out);
            CHECK(rec_num(x, "out_bytes") == file_size(p), "%s: out_bytes %lld, file has %lld",
                  e->name, rec_num(x, "out_bytes"), file_size(p));
        }
    }

    /* OUT_DIR: exactly the outputs of the ok records */
    strlist outs = {0};
    list_files_rec(r->out, "", &outs);
    for (int i = 0; i < outs.n; i++) {
        bool claimed = false;
        for (int k = 0; k < r->rp.n && !claimed; k++) {
            const char *o = e2e_str(&r->rp.v[k], "out");
            const char *st = e2e_str(&r->rp.v[k], "status");
            claimed = o && st && !strcmp(st, "ok") && !strcmp(o, outs.v[i]);
        }
        CHECK(claimed, "OUT_DIR holds %s, which no ok record claims (leftover?)", outs.v[i]);
    }
    strlist_free(&outs);
    strlist_free(&files);
    end_checks();
}

/* A run where every image is fine exits 0. */
static void test_clean_run_exit_0(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_ORIENT);
    CHECK(r->exit_code == 0, "exit code %d on orient/ (all valid), want 0", r->exit_code);
    CHECK(r->rp.n == 9, "%d records for the 9 images of orient/", r->rp.n);
    end_checks();
}

/* Decompression-bomb limits refuse every file with a message naming the
 * limit, and write nothing. */
static void test_limits(void **state)
{
    (void)state;
    begin_checks();
    const int runs[2] = {RUN_MAX_PIXELS, RUN_MAX_FILE_SIZE};
    const char *words[2] = {"--max-pixels", "--max-file-size"};
    for (int k = 0; k < 2; k++) {
        run *r = get_run(runs[k]);
        CHECK(r->exit_code == 1, "%s: exit code %d, want 1", words[k], r->exit_code);
        CHECK(r->rp.n == 9, "%s: %d records, want 9", words[k], r->rp.n);
        for (int i = 0; i < r->rp.n; i++) {
            const char *st = e2e_str(&r->rp.v[i], "status"), *er = e2e_str(&r->rp.v[i], "error");
            CHECK(st && !strcmp(st, "failed"), "%s: status %s, want failed", words[k], st ? st : "?");
            CHECK(er && strstr(er, words[k]), "%s: error '%s' does not name the limit", words[k],
                  er ? er : "(null)");
            CHECK(e2e_str(&r->rp.v[i], "out") == NULL, "%s: a refused file has an output",
                  words[k]);
        }
    }
    end_checks();
}

/* All 8 EXIF orientations (and a PNG eXIf orientation 6) come out upright:
 * 200x200 with --fit cover, 200x150 with --fit inside. */
static void test_orientation(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->cat, "orient"))
            continue;
        n++;
        check_image(RUN_MAIN, e, TOL_ORIENT, BOX, BOX);
        check_image(RUN_INSIDE, e, TOL_ORIENT, 200, 150);
    }
    CHECK(n == 9, "%d orientation images in expected.txt, want 9", n);
    end_checks();
}

/* Adobe CMYK and YCCK JPEGs (inverted ink) match the naive conversion. */
static void test_cmyk_adobe(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/cmyk_adobe.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("color/ycck_adobe.jpg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* A CMYK JPEG without the Adobe marker holds plain ink values. */
static void test_cmyk_plain(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/cmyk_plain.jpg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* Embedded ICC profiles (JPEG APP2, PNG iCCP) are converted to sRGB: the
 * references were computed by lcms2 in the generator. */
static void test_icc(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/icc.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("color/png/icc.png"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* Alpha PNGs give PNGs: transparent stays alpha 0, opaque alpha 255, the 50%
 * band ~128, and no dark fringe where opaque meets transparent black. */
static void test_alpha(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].cat, "alpha")) {
            n++;
            check_image(RUN_MAIN, &g_exp[i], TOL_COLOR, BOX, BOX);
        }
    CHECK(n == 4, "%d alpha images in expected.txt, want 4", n);
    end_checks();
}

/* Grey 1/2/4/8/16-bit, RGB 16-bit, palettes of 1/2/4/8 bits, Adam7. */
static void test_png_variants(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].cat, "png")) {
            n++;
            check_image(RUN_MAIN, &g_exp[i], TOL_COLOR, BOX, BOX);
        }
    CHECK(n == 12, "%d PNG variants in expected.txt, want 12", n);
    end_checks();
}

/* cover: exactly the box; inside: aspect kept; small images not enlarged
 * unless --enlarge. */
static void test_geometry(void **state)
{
    (void)state;
    begin_checks();
    const expect *wide = find_expect("size/wide.jpg"), *tall = find_expect("size/tall.png"),
                 *small = find_expect("size/small.jpg");
    assert_non_null(wide);
    assert_non_null(tall);
    assert_non_null(small);

    /* cover: every ok image at least as large as the box is exactly 200x200 */
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->status, "ok") || !strcmp(e->cat, "big") || e == small)
            continue;
        const rec *x = find_rec(get_run(RUN_MAIN), e->name, NULL);
        if (x && e2e_str(x, "status") && !strcmp(e2e_str(x, "status"), "ok"))
            CHECK(rec_num(x, "out_w") == BOX && rec_num(x, "out_h") == BOX,
                  "[cover] %s: %lldx%lld, want %dx%d", e->name, rec_num(x, "out_w"),
                  rec_num(x, "out_h"), BOX, BOX);
    }
    check_image(RUN_MAIN, wide, TOL_ORIENT, BOX, BOX);
    check_image(RUN_MAIN, tall, TOL_ORIENT, BOX, BOX);

    /* inside */
    check_image(RUN_INSIDE, wide, TOL_ORIENT, 200, 50);
    check_image(RUN_INSIDE, tall, TOL_ORIENT, 50, 200);
    check_image(RUN_INSIDE, small, TOL_ORIENT, 120, 80);

    /* cover without --enlarge: never scaled up */
    pixels px;
    if (load_thumb(RUN_MAIN, small, &px, NULL)) {
        CHECK(px.w <= 120 && px.h <= 80, "[cover] size/small.jpg: %dx%d, enlarged beyond 120x80",
              px.w, px.h);
        free(px.rgba);
    }

    /* --enlarge: inside 200x133 (or 134), cover 200x200 */
    if (load_thumb(RUN_ENLARGE_INSIDE, small, &px, NULL)) {
        CHECK(px.w == 200 && (px.h == 133 || px.h == 134),
              "[enlarge-inside] size/small.jpg: %dx%d, want 200x133 or 200x134", px.w, px.h);
        check_probes(RUN_ENLARGE_INSIDE, small, &px, TOL_ORIENT);
        free(px.rgba);
    }
    check_image(RUN_ENLARGE_COVER, small, TOL_ORIENT, BOX, BOX);
    run *r = get_run(RUN_ENLARGE_INSIDE);
    CHECK(r->exit_code == 0, "[enlarge-inside] exit %d on size/, want 0", r->exit_code);
    end_checks();
}

/* Bad files fail with a message that names the problem; no thumbnail. */
static void test_bad_files(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    int n = 0;
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->cat, "bad"))
            continue;
        n++;
        int count;
        const rec *x = find_rec(r, e->name, &count);
        CHECK(count == 1, "%s: %d records, want 1", e->name, count);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *err = e2e_str(x, "error");
        CHECK(st && !strcmp(st, "failed"), "%s: status %s, want failed", e->name,
              st ? st : "(none)");
        const jfield *of = e2e_jrec_get(x, "out");
        CHECK(of && of->type == E2E_J_NULL, "%s: a failed record must have out null: %s", e->name,
              e2e_report_text(&r->rp, x));
        CHECK(err && *err, "%s: empty or null error", e->name);
        if (!err)
            continue;
        /* one of the alternatives of err= ('_' = space), case-insensitive */
        char alts[256];
        snprintf(alts, sizeof alts, "%s", e->err);
        for (char *c = alts; *c; c++)
            if (*c == '_')
                *c = ' ';
        bool hit = false;
        char *save = NULL;
        for (char *t = strtok_r(alts, "|", &save); t && !hit; t = strtok_r(NULL, "|", &save))
            hit = strcasestr(err, t) != NULL;
        CHECK(hit, "%s: error \"%s\" mentions none of: %s", e->name, err, e->err);
    }
    CHECK(n == 5, "%d bad files in expected.txt, want 5", n);
    end_checks();
}

/* Content decides, not the name: a PNG named .jpg and a .jpeg name. */
static void test_names(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("ok/png_named.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("ok/ext.jpeg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* No thumbnail carries metadata: JPEG markers are only SOI, APP0 (JFIF),
 * DQT, SOFn, DHT, DRI, SOS, RSTn, EOI; PNGs have no eXIf, tEXt, iTXt, zTXt
 * or iCCP; and none holds the generator's secret strings anywhere. */
static void test_no_metadata(void **state)
{
    (void)state;
    begin_checks();
    for (int w = 0; w < NRUNS; w++) {
        run *r = get_run(w);
        strlist outs = {0};
        list_files_rec(r->out, "", &outs);
        for (int i = 0; i < outs.n; i++) {
            char p[PATH_MAX * 2], buf[96];
            snprintf(p, sizeof p, "%s/%s", r->out, outs.v[i]);
            uint8_t *d;
            size_t n;
            if (read_file(p, &d, &n) != 0) {
                CHECK(false, "[%s] cannot read %s", g_defs[w].tag, p);
                continue;
            }
            const char *why = NULL;
            if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8)
                why = jpeg_foreign_marker(d, n, buf, sizeof buf);
            else if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
                why = png_foreign_chunk(d, n, buf, sizeof buf);
            else
                why = "neither JPEG nor PNG";
            CHECK(!why, "[%s] %s: %s", g_defs[w].tag, outs.v[i], why);
            CHECK(!has_bytes(d, n, "thumbd-gen secret", 17), "[%s] %s: holds a source's metadata",
                  g_defs[w].tag, outs.v[i]);
            CHECK(!has_bytes(d, n, "Exif\0\0", 6), "[%s] %s: holds an Exif block",
                  g_defs[w].tag, outs.v[i]);
            CHECK(!has_bytes(d, n, "http://ns.adobe.com/xap", 23), "[%s] %s: holds XMP",
                  g_defs[w].tag, outs.v[i]);
            free(d);
        }
        if (w == RUN_MAIN)
            CHECK(outs.n >= 30, "[%s] only %d thumbnails to scan", g_defs[w].tag, outs.n);
        strlist_free(&outs);
    }
    end_checks();
}

static int copy_file(const char *from, const char *to)
{
    uint8_t *d;
    size_t n;
    if (read_file(from, &d, &n) != 0)
        return -1;
    FILE *f = fopen(to, "wb");
    int rc = f && fwrite(d, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(d);
    return rc;
}

/* Names round-trip through the report: UTF-8, bytes that are not UTF-8
 * (written as \udcXX), and characters JSON must escape. */
static void test_name_encoding(void **state)
{
    (void)state;
    begin_checks();
    static const char *names[] = {
        "caf\xc3\xa9 \xe2\x9c\x93.jpg",   /* valid UTF-8 */
        "raw\xff\xfe\x80.jpg",              /* not UTF-8 */
        "quote\"back\\slash.jpg",          /* JSON specials */
        "new\nline\ttab.jpg",               /* control characters */
    };
    enum { NN = sizeof names / sizeof names[0] };
    char in[PATH_MAX], out[PATH_MAX], report[PATH_MAX], err[PATH_MAX], so[PATH_MAX];
    char src[PATH_MAX];
    snprintf(in, sizeof in, "%s/names", g_tmp);
    snprintf(out, sizeof out, "%s/out-names", g_tmp);
    snprintf(report, sizeof report, "%s/report-names.jsonl", g_tmp);
    snprintf(err, sizeof err, "%s/stderr-names.txt", g_tmp);
    snprintf(so, sizeof so, "%s/stdout-names.txt", g_tmp);
    snprintf(src, sizeof src, "%s/ok/ext.jpeg", g_in);
    assert_int_equal(mkdir(in, 0777), 0);
    for (int i = 0; i < NN; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", in, names[i]);
        assert_int_equal(copy_file(src, p), 0);
    }
    char *argv[] = {(char *)g_bin, "--report", report, in, out, NULL};
    int rc = run_cmd(argv, so, err, RUN_TIMEOUT_S);
    CHECK(rc == 0, "[names] exit %d, want 0", rc);
    run r = {0};
    CHECK(e2e_report_load(report, &r.rp, 0), "[names] no report");
    CHECK(r.rp.bad == 0, "[names] %d unparsable report lines, the first: %s", r.rp.bad,
          r.rp.first_bad);
    CHECK(r.rp.n == NN, "[names] %d records, want %d", r.rp.n, (int)NN);
    for (int i = 0; i < NN; i++) {
        int count;
        const rec *x = find_rec(&r, names[i], &count);
        CHECK(count == 1, "[names] name #%d: %d records whose src decodes to it", i, count);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *o = e2e_str(x, "out");
        CHECK(st && !strcmp(st, "ok"), "[names] name #%d: status %s", i, st ? st : "(none)");
        CHECK(o && !strcmp(o, names[i]), "[names] name #%d: out does not round-trip: %s", i,
              e2e_report_text(&r.rp, x));
        if (o) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", out, o);
            CHECK(file_size(p) > 0, "[names] name #%d: no thumbnail at the reported out", i);
        }
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* A smooth gradient, so every decode path gives a plausible picture. */
static void gradient_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int x = 0; x < w; x++) {
        row[x * 3] = (uint8_t)(x * 255 / w);
        row[x * 3 + 1] = (uint8_t)(y & 0xFF);
        row[x * 3 + 2] = (uint8_t)(255 - x * 255 / w);
    }
}

/* The report's "decoder": the DC-only shortcut is taken for a progressive
 * JPEG exactly when its 1/8 scale still leaves twice the thumbnail (here,
 * --size 100x100 --fit inside: 200x150 for a 4:3 image), else libjpeg
 * decodes at the smallest scale that does; baseline JPEGs never take it. */
static void test_decoder_choice(void **state)
{
    (void)state;
    begin_checks();
    static const struct {
        const char *name;
        int w, h;
        bool progressive;
        const char *want;
    } cases[] = {
        {"p1600x1200.jpg", 1600, 1200, true, "jpeg-dc-1/8"},  /* 1/8: 200x150, just enough */
        {"p4000x3000.jpg", 4000, 3000, true, "jpeg-dc-1/8"},  /* 1/8: 500x375 */
        {"p1592x1192.jpg", 1592, 1192, true, "jpeg-2/8"},     /* 1/8: 199x149, too small */
        {"p1000x800.jpg", 1000, 800, true, "jpeg-2/8"},       /* 1/8: 125x100 */
        {"p400x300.jpg", 400, 300, true, "jpeg-4/8"},         /* 4/8: 200x150, just enough */
        {"p240x180.jpg", 240, 180, true, "jpeg-7/8"},         /* 7/8: 210x158 */
        {"p220x165.jpg", 220, 165, true, "jpeg-8/8"},         /* 7/8: 193x145, too small */
        {"b1600x1200.jpg", 1600, 1200, false, "jpeg-1/8"},    /* baseline: libjpeg at 1/8 */
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    run r = {0};
    snprintf(r.in, sizeof r.in, "%s/decoder", g_tmp);
    snprintf(r.out, sizeof r.out, "%s/out-decoder", g_tmp);
    snprintf(r.report, sizeof r.report, "%s/report-decoder.jsonl", g_tmp);
    snprintf(r.err, sizeof r.err, "%s/stderr-decoder.txt", g_tmp);
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/stdout-decoder.txt", g_tmp);
    assert_int_equal(mkdir(r.in, 0777), 0);
    for (int i = 0; i < NC; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", r.in, cases[i].name);
        assert_int_equal(write_rgb_jpeg_ex(p, cases[i].w, cases[i].h, 85, cases[i].progressive,
                                           gradient_row, NULL),
                         0);
    }
    char *argv[] = {(char *)g_bin, "--size", "100x100", "--fit", "inside", "--report", r.report,
                    r.in, r.out, NULL};
    r.exit_code = run_cmd(argv, so, r.err, RUN_TIMEOUT_S);
    CHECK(r.exit_code == 0, "[decoder] exit %d, want 0", r.exit_code);
    load_report(&r, "decoder");
    CHECK(r.rp.n == NC, "[decoder] %d records, want %d", r.rp.n, (int)NC);
    for (int i = 0; i < NC; i++) {
        const rec *x = find_rec(&r, cases[i].name, NULL);
        CHECK(x != NULL, "[decoder] no record for %s", cases[i].name);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *dec = e2e_str(x, "decoder");
        CHECK(st && !strcmp(st, "ok"), "[decoder] %s: %s", cases[i].name,
              e2e_report_text(&r.rp, x));
        CHECK(dec && !strcmp(dec, cases[i].want), "[decoder] %s: decoder %s, want %s",
              cases[i].name, dec ? dec : "(none)", cases[i].want);
        long long want_h = cases[i].h == 800 ? 80 : 75;
        CHECK(rec_num(x, "out_w") == 100 && rec_num(x, "out_h") == want_h,
              "[decoder] %s: thumbnail %lldx%lld, want 100x%lld", cases[i].name,
              rec_num(x, "out_w"), rec_num(x, "out_h"), want_h);
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* The main run names the PNG paths (a small PNG inflated at once, a whole
 * frame for Adam7; row-by-row streaming is test_pngpix's), and no decoder
 * for a file refused before decoding. */
static void test_decoder_png(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    static const struct {
        const char *src, *want;
    } cases[] = {{"png/rgb16.png", "png-whole"}, {"png/interlaced_rgb.png", "png-interlaced"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rec *x = find_rec(r, cases[i].src, NULL);
        const char *dec = x ? e2e_str(x, "decoder") : NULL;
        CHECK(dec && !strcmp(dec, cases[i].want), "%s: decoder %s, want %s", cases[i].src,
              dec ? dec : "(none)", cases[i].want);
    }
    /* Refused before any decoder saw it. */
    const rec *bad = find_rec(r, "bad/empty.jpg", NULL);
    CHECK(bad && e2e_jrec_get(bad, "decoder") && e2e_jrec_get(bad, "decoder")->type == E2E_J_NULL,
          "bad/empty.jpg: decoder should be null: %s", e2e_report_text(&r->rp, bad));
    end_checks();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_bin = argv[1];
    if (argc > 2)
        g_gen = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_exit_codes),
        cmocka_unit_test(test_report_records),
        cmocka_unit_test(test_clean_run_exit_0),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_orientation),
        cmocka_unit_test(test_cmyk_adobe),
        cmocka_unit_test(test_cmyk_plain),
        cmocka_unit_test(test_icc),
        cmocka_unit_test(test_alpha),
        cmocka_unit_test(test_png_variants),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_no_metadata),
        cmocka_unit_test(test_name_encoding),
        cmocka_unit_test(test_decoder_choice),
        cmocka_unit_test(test_decoder_png),
    };
    return cmocka_run_group_tests_name("e2e", tests, group_setup, group_teardown);
}
