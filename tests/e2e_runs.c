/* Helpers shared by the end-to-end test programs test_e2e.c and
 * test_e2eimage.c: the generated images and their expectations, the lazily
 * made runs and their reports. */
#include "e2e_runs.h"

const char *g_bin = THUMBD_BIN;

const char *g_gen = THUMBD_GEN;

char g_tmp[1024];            /* the temporary root */

char g_in[1100];             /* <tmp>/in: the generated images */

/* ------------------------------------------------------------------------ */
/* Running programs                                                           */

int run_cmd(char *const argv[], const char *out_path, const char *err_path, int timeout_s)
{
    return e2e_run(argv, NULL, out_path, err_path, timeout_s, 10, NULL).code;
}

/* ------------------------------------------------------------------------ */
/* expected.txt                                                               */

expect *g_exp;

int g_nexp;

bool parse_probe(const char *v, probe *p)
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

int load_expected(const char *path)
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

const expect *find_expect(const char *name)
{
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].name, name))
            return &g_exp[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report (flat objects; nested values are skipped)            */

long long rec_num(const rec *r, const char *key)
{
    const jfield *f = e2e_jrec_get(r, key);
    return f && f->type == E2E_J_NUM ? (long long)llround(f->n) : LLONG_MIN;
}

/* ------------------------------------------------------------------------ */
/* thumbd runs (each made once, on first use)                                 */

const run_def g_defs[NRUNS] = {
    {"cover", "", {NULL}, false, false},
    {"inside", "", {"--fit", "inside", NULL}, true, false},
    {"orient", "orient", {NULL}, false, false},
    {"enlarge-inside", "size", {"--fit", "inside", "--enlarge", NULL}, true, true},
    {"enlarge-cover", "size", {"--enlarge", NULL}, false, true},
    /* orient/ holds 400x300 images (120,000 pixels) of a few KiB each. */
    {"max-pixels", "orient", {"--max-pixels", "100000", NULL}, false, false},
    {"max-file-size", "orient", {"--max-file-size", "1K", NULL}, false, false},
};

run g_runs[NRUNS];

run *get_run(int which)
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

void load_report(run *r, const char *tag)
{
    e2e_report_load(r->report, &r->rp, 0);
    if (r->rp.bad)
        printf("  [run %s] %d unparsable report lines, the first: %s\n", tag, r->rp.bad,
               r->rp.first_bad);
}

const rec *find_rec(const run *r, const char *src, int *count)
{
    return e2e_report_find(&r->rp, src, count);
}

const char *rel_to_run(int which, const char *name)
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

void jerr_exit(j_common_ptr c)
{
    jerr_mgr *e = (jerr_mgr *)c->err;
    c->err->format_message(c, e->px->err);
    longjmp(e->jb, 1);
}

void jerr_msg(j_common_ptr c, int level)
{
    jerr_mgr *e = (jerr_mgr *)c->err;
    if (level < 0)
        e->px->warnings++;
}

bool decode_jpeg(const uint8_t *data, size_t len, pixels *px)
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

void pngerr(png_structp p, png_const_charp m)
{
    pixels *px = png_get_error_ptr(p);
    snprintf(px->err, sizeof px->err, "%s", m);
    png_longjmp(p, 1);
}

void pngwarn(png_structp p, png_const_charp m)
{
    (void)m;
    pixels *px = png_get_error_ptr(p);
    px->warnings++;
}

void png_mem_read(png_structp p, png_bytep out, size_t n)
{
    memrd *m = png_get_io_ptr(p);
    if (n > m->len - m->pos)
        png_error(p, "read past the end of the file");
    memcpy(out, m->d + m->pos, n);
    m->pos += n;
}

bool decode_png(const uint8_t *data, size_t len, pixels *px)
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

bool decode_image(const uint8_t *data, size_t len, pixels *px)
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

void sample(const pixels *px, double x, double y, double mean[4], int *amin, int *amax)
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

void map_probe(const expect *e, bool cover, int w, int h, double fx, double fy,
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

bool load_thumb(int which, const expect *e, pixels *px, const rec **rout)
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

void check_probes(int which, const expect *e, const pixels *px, int tol)
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

void check_image(int which, const expect *e, int tol, int want_w, int want_h)
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
/* Setup / teardown                                                           */

int group_setup(void **state)
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

int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NRUNS; i++) {
        e2e_report_free(&g_runs[i].rp);
    }
    free(g_exp);
    keep_or_remove("THUMBD_E2E_KEEP", g_tmp, rm_tree);
    return 0;
}

int e2e_runs_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc > 1)
        g_bin = argv[1];
    if (argc > 2)
        g_gen = argv[2];
    return _cmocka_run_group_tests("e2e", tests, n, group_setup, group_teardown);
}
