/* Helpers shared by the libvips engine test programs (test_vips.c,
 * test_vipslimits.c): images written with the libvips C API, the runner,
 * thumbnails decoded back, checks. */
#include "vips_util.h"

#include <stdlib.h>

const char *g_bin = THUMBD_BIN;

char g_tmp[PATH_MAX - 200]; /* the temporary root */

bool g_avif_ok, g_heic_ok;  /* this libvips can write AVIF / HEIF (HEVC) */

void vips_die(const char *what)
{
    print_error("libvips: %s: %s\n", what, vips_error_buffer());
    vips_error_clear();
    fail();
    abort(); /* fail() does not return, but cmocka does not declare it so */
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    assert_true(k > 0 && (size_t)k < n);
}

void make_dir(char *buf, size_t n, const char *name)
{
    path_in(buf, n, g_tmp, name);
    assert_int_equal(mkdir(buf, 0777), 0);
}

void out_dir(char *buf, size_t n, const char *tag)
{
    int k = snprintf(buf, n, "%s/out-%s", g_tmp, tag);
    assert_true(k > 0 && (size_t)k < n);
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

runres run_thumbd_env(const char *tag, const char *const *opts, const char *in,
                             const char *out, const char *report, const char *const *san)
{
    char so[PATH_MAX], se[PATH_MAX];
    snprintf(so, sizeof so, "%s/%s.stdout", g_tmp, tag);
    snprintf(se, sizeof se, "%s/%s.stderr", g_tmp, tag);
    const char *args[40];
    int n = 0;
    for (int i = 0; opts && opts[i]; i++) {
        assert_true(n < 32);
        args[n++] = opts[i];
    }
    const char *const tail[] = {"--quiet", "--report", report, in, out, NULL};
    for (int i = 0; tail[i]; i++)
        args[n++] = tail[i];
    args[n] = NULL;
    e2e_cmd c = {.bin = g_bin, .args = args, .out = so, .err = se, .san_opts = san, .tag = tag};
    return e2e_exec(&c, RUN_TIMEOUT_S);
}

runres run_thumbd(const char *tag, const char *const *opts, const char *in, const char *out,
                         const char *report)
{
    return run_thumbd_env(tag, opts, in, out, report, NULL);
}

void show_stderr(const char *tag)
{
    char se[PATH_MAX];
    snprintf(se, sizeof se, "%s/%s.stderr", g_tmp, tag);
    FILE *f = fopen(se, "r");
    if (!f)
        return;
    char line[512];
    for (int i = 0; i < 20 && fgets(line, sizeof line, f); i++)
        printf("    [%s stderr] %s", tag, line);
    fclose(f);
}

void check_exit(const char *tag, runres r, int want)
{
    CHECK(r.code == want, "[%s] exit %d, want %d", tag, r.code, want);
    if (r.code != want)
        show_stderr(tag);
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report (flat objects, as the README documents)              */

void rec_of(const e2e_jrec *x, rec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->src, sizeof r->src, "%s", e2e_str_or(x, "src", ""));
    snprintf(r->out, sizeof r->out, "%s", e2e_str_or(x, "out", ""));
    snprintf(r->status, sizeof r->status, "%s", e2e_str_or(x, "status", ""));
    snprintf(r->error, sizeof r->error, "%s", e2e_str_or(x, "error", ""));
    r->out_null = e2e_is_null(x, "out");
    long *num[] = {&r->src_w, &r->src_h, &r->out_w, &r->out_h};
    static const char *const keys[] = {"src_w", "src_h", "out_w", "out_h"};
    for (int i = 0; i < 4; i++)
        *num[i] = isnan(e2e_num(x, keys[i])) ? -1 : lround(e2e_num(x, keys[i]));
    r->total_ms = isnan(e2e_num(x, "total_ms")) ? -1 : e2e_num(x, "total_ms");
}

void load_report(const char *path, report *rep)
{
    memset(rep, 0, sizeof *rep);
    e2e_report j;
    if (!e2e_report_load(path, &j, 0)) {
        CHECK(false, "no report at %s", path);
        return;
    }
    CHECK(j.bad == 0, "%d unparsable report lines in %s, the first: %s", j.bad, path, j.first_bad);
    rep->bad = j.bad;
    rep->n = j.n;
    rep->v = calloc((size_t)j.n + 1, sizeof *rep->v);
    assert_non_null(rep->v);
    for (int i = 0; i < j.n; i++)
        rec_of(&j.v[i], &rep->v[i]);
    e2e_report_free(&j);
}

const rec *find_rec(const report *rep, const char *src)
{
    for (int i = 0; i < rep->n; i++)
        if (!strcmp(rep->v[i].src, src))
            return &rep->v[i];
    return NULL;
}

void free_report(report *rep)
{
    free(rep->v);
    memset(rep, 0, sizeof *rep);
}

const rec *ok_rec(const char *tag, const report *rep, const char *src)
{
    const rec *r = find_rec(rep, src);
    CHECK(r != NULL, "[%s] %s: no record", tag, src);
    if (!r)
        return NULL;
    CHECK(!strcmp(r->status, "ok"), "[%s] %s: status %s (%s), want ok", tag, src, r->status,
          r->error);
    return strcmp(r->status, "ok") ? NULL : r;
}

/* ------------------------------------------------------------------------ */
/* Making images                                                              */

const rgba Q_OPAQUE[4] = {
    {220, 30, 30, 255}, {30, 170, 50, 255}, {40, 60, 210, 255}, {235, 215, 40, 255}};

const rgba MAGENTA = {200, 40, 200, 255}, CYAN = {40, 200, 200, 255};

VipsImage *wrap(const void *px, size_t len, int w, int h, int bands, VipsBandFormat fmt,
                       VipsInterpretation interp)
{
    VipsImage *m = vips_image_new_from_memory_copy(px, len, w, h, bands, fmt);
    if (!m)
        vips_die("vips_image_new_from_memory_copy");
    VipsImage *out;
    if (vips_copy(m, &out, "interpretation", interp, NULL))
        vips_die("vips_copy");
    g_object_unref(m);
    return out;
}

VipsImage *quad_image(int w, int h, const rgba q[4], int bands)
{
    size_t n = (size_t)w * (size_t)h * (size_t)bands;
    uint8_t *px = malloc(n);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const rgba *c = &q[(y >= h / 2) * 2 + (x >= w / 2)];
            uint8_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * (size_t)bands;
            o[0] = (uint8_t)c->r;
            o[1] = (uint8_t)c->g;
            o[2] = (uint8_t)c->b;
            if (bands == 4)
                o[3] = (uint8_t)c->a;
        }
    VipsImage *im = wrap(px, n, w, h, bands, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    return im;
}

VipsImage *solid_image(int w, int h, rgba c, int bands)
{
    const rgba q[4] = {c, c, c, c};
    return quad_image(w, h, q, bands);
}

VipsImage *join_pages(VipsImage **pages, int n)
{
    VipsImage *j, *out;
    if (vips_arrayjoin(pages, &j, n, "across", 1, NULL))
        vips_die("vips_arrayjoin");
    if (vips_copy(j, &out, NULL))
        vips_die("vips_copy");
    g_object_unref(j);
    vips_image_set_int(out, "page-height", vips_image_get_height(pages[0]));
    for (int i = 0; i < n; i++)
        g_object_unref(pages[i]);
    return out;
}

unsigned hash3(unsigned x, unsigned y, unsigned seed)
{
    unsigned h = x * 0x9E3779B1u ^ y * 0x85EBCA77u ^ seed * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

uint8_t clamp8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrint(v);
}

uint8_t *photo_rgb(int w, int h, unsigned seed)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double r = 128 + 90 * sin(6.0 * u + seed) * cos(3.0 * v);
            double g = 40 + 180 * v;
            double b = 60 + 150 * (1 - hypot(u - 0.6, v - 0.4));
            if (u > 0.15 && u < 0.45 && v > 0.55 && v < 0.85) {
                r = 240;
                g = 230;
                b = 205;
            }
            if (hypot(u - 0.7, v - 0.65) < 0.15) {
                r = 30;
                g = 50;
                b = 95;
            }
            int noise = (int)(hash3((unsigned)x, (unsigned)y, seed) % 17) - 8;
            uint8_t *o = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            o[0] = clamp8(r + noise);
            o[1] = clamp8(g + noise);
            o[2] = clamp8(b + noise);
        }
    return px;
}

VipsImage *photo_image(int w, int h, unsigned seed)
{
    uint8_t *px = photo_rgb(w, h, seed);
    VipsImage *im = wrap(px, (size_t)w * (size_t)h * 3, w, h, 3, VIPS_FORMAT_UCHAR,
                         VIPS_INTERPRETATION_sRGB);
    free(px);
    return im;
}

bool can_write_heif(VipsForeignHeifCompression comp)
{
    if (!vips_type_find("VipsOperation", "heifsave_buffer"))
        return false;
    VipsImage *im = solid_image(16, 16, CYAN, 3);
    void *buf = NULL;
    size_t len = 0;
    int rc = vips_heifsave_buffer(im, &buf, &len, "compression", comp, NULL);
    g_object_unref(im);
    g_free(buf);
    vips_error_clear();
    return rc == 0 && len > 0;
}

/* ------------------------------------------------------------------------ */
/* Reading thumbnails back                                                    */

bool pix_load(const char *path, pix *p)
{
    memset(p, 0, sizeof *p);
    VipsImage *im = vips_image_new_from_file(path, NULL);
    VipsImage *u = NULL;
    if (!im || vips_cast_uchar(im, &u, NULL)) {
        printf("  cannot decode %s: %s\n", path, vips_error_buffer());
        vips_error_clear();
        if (im)
            g_object_unref(im);
        return false;
    }
    g_object_unref(im);
    size_t len = 0;
    void *mem = vips_image_write_to_memory(u, &len);
    if (mem) {
        p->w = vips_image_get_width(u);
        p->h = vips_image_get_height(u);
        p->bands = vips_image_get_bands(u);
        p->px = malloc(len);
        assert_non_null(p->px);
        memcpy(p->px, mem, len);
        g_free(mem);
    } else {
        printf("  cannot decode %s: %s\n", path, vips_error_buffer());
        vips_error_clear();
    }
    g_object_unref(u);
    return mem != NULL;
}

void pix_free(pix *p)
{
    free(p->px);
    p->px = NULL;
}

rgba pix_at(const pix *p, int x, int y)
{
    const uint8_t *s = p->px + ((size_t)y * (size_t)p->w + (size_t)x) * (size_t)p->bands;
    rgba c;
    if (p->bands <= 2) {
        c.r = c.g = c.b = s[0];
        c.a = p->bands == 2 ? s[1] : 255;
    } else {
        c.r = s[0];
        c.g = s[1];
        c.b = s[2];
        c.a = p->bands == 4 ? s[3] : 255;
    }
    return c;
}

rgba pix_probe(const pix *p, double fx, double fy)
{
    int cx = (int)(fx * p->w), cy = (int)(fy * p->h), n = 0;
    long s[4] = {0, 0, 0, 0};
    for (int y = cy - 2; y <= cy + 2; y++)
        for (int x = cx - 2; x <= cx + 2; x++) {
            if (x < 0 || y < 0 || x >= p->w || y >= p->h)
                continue;
            rgba c = pix_at(p, x, y);
            s[0] += c.r;
            s[1] += c.g;
            s[2] += c.b;
            s[3] += c.a;
            n++;
        }
    rgba m = {0, 0, 0, 0};
    if (n) {
        m.r = (int)(s[0] / n);
        m.g = (int)(s[1] / n);
        m.b = (int)(s[2] / n);
        m.a = (int)(s[3] / n);
    }
    return m;
}

void check_quadrants(const char *what, const pix *p, const rgba q[4], int tol)
{
    static const double at[4][2] = {{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}};
    static const char *const qn[4] = {"top-left", "top-right", "bottom-left", "bottom-right"};
    for (int i = 0; i < 4; i++) {
        rgba g = pix_probe(p, at[i][0], at[i][1]), w = q[i];
        CHECK(abs(g.a - w.a) <= TOL_ALPHA, "%s: %s alpha %d, want %d", what, qn[i], g.a, w.a);
        if (w.a == 0)
            continue;
        CHECK(abs(g.r - w.r) <= tol && abs(g.g - w.g) <= tol && abs(g.b - w.b) <= tol,
              "%s: %s is (%d,%d,%d), want (%d,%d,%d) +-%d", what, qn[i], g.r, g.g, g.b, w.r, w.g,
              w.b, tol);
    }
}

/* ------------------------------------------------------------------------ */

void log_filter(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    if (msg && strstr(msg, "nclx"))
        return;
    g_log_default_handler(domain, level, msg, data);
}

int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/thumbd-vips-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("mkdtemp %s: %s\n", g_tmp, strerror(errno));
        return -1;
    }
    if (VIPS_INIT("test_vips") != 0) {
        printf("libvips does not start: %s\n", vips_error_buffer());
        return -1;
    }
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, log_filter, NULL);
    vips_cache_set_max(0); /* files are read back after thumbd rewrote them */
    vips_concurrency_set(2);
    g_avif_ok = can_write_heif(VIPS_FOREIGN_HEIF_COMPRESSION_AV1);
    g_heic_ok = can_write_heif(VIPS_FOREIGN_HEIF_COMPRESSION_HEVC);
    printf("  thumbd: %s; temporary files in %s; libvips %s writes AVIF: %s, HEIF: %s\n", g_bin,
           g_tmp, vips_version_string(), g_avif_ok ? "yes" : "no", g_heic_ok ? "yes" : "no");
    return 0;
}

int group_teardown(void **state)
{
    (void)state;
    keep_or_remove("THUMBD_VIPS_KEEP", g_tmp, rm_tree);
    vips_shutdown();
    return 0;
}

int vips_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc > 1)
        g_bin = argv[1];
    return _cmocka_run_group_tests("vips", tests, n, group_setup, group_teardown);
}

bool pix_alpha(const pix *p)
{
    return p->bands == 2 || p->bands == 4;
}

/* RGB composited over white, for comparisons (alpha compared as what a
 * viewer shows on a white page). */
uint8_t *pix_over_white(const pix *p)
{
    size_t n = (size_t)p->w * (size_t)p->h;
    uint8_t *o = malloc(n * 3);
    assert_non_null(o);
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            rgba c = pix_at(p, x, y);
            uint8_t *d = o + ((size_t)y * (size_t)p->w + (size_t)x) * 3;
            d[0] = (uint8_t)((c.r * c.a + 255 * (255 - c.a) + 127) / 255);
            d[1] = (uint8_t)((c.g * c.a + 255 * (255 - c.a) + 127) / 255);
            d[2] = (uint8_t)((c.b * c.a + 255 * (255 - c.a) + 127) / 255);
        }
    return o;
}

double psnr(const pix *a, const pix *b)
{
    uint8_t *x = pix_over_white(a), *y = pix_over_white(b);
    size_t n = (size_t)a->w * (size_t)a->h * 3;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        se += d * d;
    }
    free(x);
    free(y);
    double mse = se / (double)n;
    return mse <= 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}
