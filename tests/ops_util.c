/* Helpers shared by the operations test programs (test_ops.c, test_opslist.c,
 * test_opsprune.c): a fresh tree under $TMPDIR, small images, the runner and
 * the report checks. */
#include "ops_util.h"

const char *g_bin, *g_gen;

char g_root[512];

/* ------------------------------------------------------------------------ */
/* Small utilities                                                            */

void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void mkdirs(const char *path, bool dir)
{
    char tmp[1024];
    pathf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0)
            assert_int_equal(errno, EEXIST);
        *p = '/';
    }
    if (dir && mkdir(tmp, 0755) != 0)
        assert_int_equal(errno, EEXIST);
}

bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

void write_text(const char *path, const char *text, size_t len)
{
    mkdirs(path, false);
    write_file(path, text, len);
}

uint8_t noise(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (uint8_t)(*s >> 8);
}

void fill_row(uint8_t *row, int w, int y, void *ctx)
{
    jpeg_fill *j = ctx;
    for (int x = 0; x < w; x++) {
        row[3 * x] = (unsigned char)((x * 255 / w + noise(&j->s) / 4) & 0xFF);
        row[3 * x + 1] = (unsigned char)((y * 255 / j->h + noise(&j->s) / 4) & 0xFF);
        row[3 * x + 2] = (unsigned char)(((int)j->seed * 37 + noise(&j->s) / 2) & 0xFF);
    }
}

void write_jpeg(const char *path, int w, int h, unsigned seed)
{
    mkdirs(path, false);
    jpeg_fill j = {h, seed, seed * 2654435761u + 7};
    assert_int_equal(write_rgb_jpeg(path, w, h, 90, fill_row, &j), 0);
}

void write_png(const char *path, int w, int h, unsigned seed, bool alpha)
{
    mkdirs(path, false);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(p);
    png_infop info = png_create_info_struct(p);
    assert_non_null(info);
    int ch = alpha ? 4 : 3;
    unsigned char *row = malloc((size_t)w * (size_t)ch);
    assert_non_null(row);
    if (setjmp(png_jmpbuf(p)))
        fail_msg("libpng could not write %s", path);
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
                 alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint32_t s = seed * 2246822519u + 3;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *px = row + (size_t)x * (size_t)ch;
            px[0] = (unsigned char)(x * 255 / w);
            px[1] = (unsigned char)(y * 255 / h);
            px[2] = noise(&s);
            if (alpha)
                px[3] = x < w / 2 ? 255 : 0;
        }
        png_write_row(p, row);
    }
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(row);
    assert_int_equal(fclose(f), 0);
}

/* ------------------------------------------------------------------------ */
/* String lists                                                               */

void sl_assert_same(strlist *a, strlist *b, const char *what)
{
    strlist_sort(a);
    strlist_sort(b);
    bool same = a->n == b->n;
    for (int i = 0; same && i < a->n; i++)
        same = !strcmp(a->v[i], b->v[i]);
    if (same)
        return;
    printf("  %s differ:\n", what);
    for (int i = 0; i < a->n; i++)
        if (!strlist_has(b, a->v[i]))
            printf("    only in the first:  %s\n", a->v[i]);
    for (int i = 0; i < b->n; i++)
        if (!strlist_has(a, b->v[i]))
            printf("    only in the second: %s\n", b->v[i]);
    fail_msg("%s differ (%d vs %d entries)", what, a->n, b->n);
}

bool has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".jpe") || !strcasecmp(dot, ".png"));
}

void list_rec(const char *dir, const char *rel, strlist *out, bool temps)
{
    char path[1024];
    pathf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        bool tmp = !strncmp(n, ".thumbd-tmp-", 12);
        if (tmp ? !temps : !*rel && !strncmp(n, ".thumbd", 7))
            continue;
        char r2[1024], full[2048];
        pathf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", n);
        pathf(full, sizeof full, "%s/%s", dir, r2);
        struct stat sb;
        if (lstat(full, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            list_rec(dir, r2, out, temps);
        else
            strlist_add(out, r2);
    }
    closedir(d);
}

strlist tree(const char *dir)
{
    strlist l = {0};
    list_rec(dir, "", &l, false);
    strlist_sort(&l);
    return l;
}

int count_temps(const char *dir)
{
    strlist l = {0};
    list_rec(dir, "", &l, true);
    int n = 0;
    for (int i = 0; i < l.n; i++) {
        const char *base = strrchr(l.v[i], '/');
        n += !strncmp(base ? base + 1 : l.v[i], ".thumbd-tmp-", 12);
    }
    strlist_free(&l);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

char g_last_out[600], g_last_err[600];

e2e_child spawn_va(const io *o, va_list ap)
{
    static const io none = {{NULL}, NULL, NULL, NULL};
    if (!o)
        o = &none;
    const char *args[48] = {"--report-skipped"}; /* the tests count skipped records */
    int n = 1;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        assert_true(n < 47);
        args[n++] = a;
    }
    args[n] = NULL;
    static const char *const leaks[] = {"THUMBD_", "JOB_COMPLETION_INDEX=",
                                        "AWS_BATCH_JOB_ARRAY_INDEX=", NULL};
    e2e_cmd c = {.bin = g_bin, .args = args, .unset = leaks, .env = o->env, .in = o->in,
                 .out = o->out ? o->out : g_last_out, .err = o->err ? o->err : g_last_err};
    e2e_child ch;
    if (!e2e_start(&c, &ch))
        fail_msg("cannot run %s", g_bin);
    return ch;
}

e2e_child spawn_l(const io *o, ...)
{
    va_list ap;
    va_start(ap, o);
    e2e_child ch = spawn_va(o, ap);
    va_end(ap);
    return ch;
}

int finish(e2e_child *ch, double timeout_s)
{
    ch->t0 = now_s();
    e2e_proc p = e2e_wait(ch, timeout_s, 2);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.0f s", timeout_s);
    return p.code;
}

int run_l(const io *o, ...)
{
    va_list ap;
    va_start(ap, o);
    e2e_child ch = spawn_va(o, ap);
    va_end(ap);
    return finish(&ch, RUN_TIMEOUT_S);
}

void expect_exit(int got, int want)
{
    if (got == want)
        return;
    char *e = e2e_slurp(g_last_err, NULL);
    printf("  thumbd exited %d, expected %d; its stderr:\n%s\n", got, want, e ? e : "(none)");
    free(e);
    fail_msg("exit code %d, expected %d", got, want);
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report                                                      */

const char *str(const e2e_jrec *x, const char *key)
{
    return e2e_str_or(x, key, "");
}

e2e_report load_report(const char *path)
{
    e2e_report r;
    if (!e2e_report_load(path, &r, 0))
        fail_msg("no report at %s", path);
    return r;
}

const e2e_jrec *must_rec(const e2e_report *r, const char *src)
{
    const e2e_jrec *x = e2e_report_one(r, src);
    if (!x)
        fail_msg("no record for '%s'", src);
    return x;
}

const e2e_jrec *expect_status(const e2e_report *r, const char *src, const char *status)
{
    const e2e_jrec *x = must_rec(r, src);
    if (strcmp(str(x, "status"), status))
        fail_msg("'%s': status '%s' (error '%s'), expected '%s'", src, str(x, "status"),
                 str(x, "error"), status);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                   */

char g_big[600];

char g_shard_in[600];

strlist g_shard_images;

int setup_all(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_root, sizeof g_root, "%s/thumbd-ops-XXXXXX", tmp);
    if (!mkdtemp(g_root))
        return -1;
    snprintf(g_last_out, sizeof g_last_out, "%s/last.out", g_root);
    snprintf(g_last_err, sizeof g_last_err, "%s/last.err", g_root);

    snprintf(g_big, sizeof g_big, "%s/big", g_root);
    for (int i = 0; i < BIG; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/b%02d.jpg", g_big, i);
        write_jpeg(p, 1600, 1200, 1000u + (unsigned)i);
    }

    snprintf(g_shard_in, sizeof g_shard_in, "%s/shard-in", g_root);
    char samples[700];
    snprintf(samples, sizeof samples, "%s/samples", g_shard_in);
    mkdirs(g_shard_in, true);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "'%s' --samples '%s' >/dev/null", g_gen, samples);
    if (system(cmd) != 0) {
        printf("cannot run %s\n", cmd);
        return -1;
    }
    for (int i = 0; i < SHARD_N; i++) {
        char p[700];
        int w = 90 + 13 * i, h = 70 + 9 * (SHARD_N - i);
        const char *ext = i % 5 == 3 ? "png" : "jpg";
        snprintf(p, sizeof p, "%s/d%d/e%d/img%02d.%s", g_shard_in, i % 6, i % 2, i, ext);
        if (i % 5 == 3)
            write_png(p, w, h, (unsigned)i, i % 2 == 0);
        else
            write_jpeg(p, w, h, (unsigned)i);
    }
    strlist all = tree(g_shard_in);
    for (int i = 0; i < all.n; i++)
        if (has_image_ext(all.v[i]))
            strlist_add(&g_shard_images, all.v[i]);
    strlist_free(&all);
    return g_shard_images.n >= SHARD_N ? 0 : -1;
}

int teardown_all(void **state)
{
    (void)state;
    strlist_free(&g_shard_images);
    const char *keep = getenv("THUMBD_OPS_KEEP");
    if (keep && !strcmp(keep, "1"))
        printf("kept %s\n", g_root);
    else
        rm_tree(g_root);
    return 0;
}

void fresh(char *buf, size_t n, const char *name)
{
    pathf(buf, n, "%s/%s", g_root, name);
    rm_tree(buf);
}

const char *const SMALL_SRC[] = {"a.jpg", "b.jpg", "e.png", "sub/c.jpg", "sub/d.png"};

const char *const SMALL_OUT[] = {"a.jpg", "b.jpg", "e.jpg", "sub/c.jpg", "sub/d.png"};

void make_small_tree(const char *in)
{
    char p[900];
    pathf(p, sizeof p, "%s/a.jpg", in);
    write_jpeg(p, 300, 200, 1);
    pathf(p, sizeof p, "%s/b.jpg", in);
    write_jpeg(p, 250, 250, 2);
    pathf(p, sizeof p, "%s/e.png", in);
    write_png(p, 320, 240, 5, false);
    pathf(p, sizeof p, "%s/sub/c.jpg", in);
    write_jpeg(p, 400, 300, 3);
    pathf(p, sizeof p, "%s/sub/d.png", in);
    write_png(p, 300, 300, 4, true);
}

int memo_count(const char *out)
{
    char p[700];
    pathf(p, sizeof p, "%s/.thumbd.memo", out);
    strlist l = {0};
    list_rec(p, "", &l, true);
    int n = (int)l.n;
    strlist_free(&l);
    return n;
}

int ops_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s THUMBD_BIN THUMBD_GEN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_gen = argv[2];
    return _cmocka_run_group_tests("tests", tests, n, setup_all, teardown_all);
}
