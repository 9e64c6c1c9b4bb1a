/* End-to-end tests of thumbd's operations: incremental re-runs, the OUT_DIR
 * lock, --files-from lists, shards, THUMBD_* environment, --metrics, --prune
 * and -v.
 *
 *   test_ops THUMBD_BIN THUMBD_GEN
 *
 * Every test runs the real binary (e2e_start, a cleaned environment: no
 * THUMBD_* or job-index variables leak in from the caller) on small images
 * made here with libjpeg and libpng (plus thumbd_gen's demo images in the
 * shard tree), in a fresh directory under $TMPDIR (or /tmp).
 * THUMBD_OPS_KEEP=1 keeps that directory for inspection.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
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
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "e2e_util.h"


enum { RUN_TIMEOUT_S = 60 };

static const char *g_bin, *g_gen;
static char g_root[512];

/* ------------------------------------------------------------------------ */
/* Small utilities                                                            */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* mkdir -p of path's parent directories (and of path itself if dir). */
static void mkdirs(const char *path, bool dir)
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

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
    mkdirs(path, false);
    write_file(path, text, len);
}

/* A string literal's bytes (without its terminating NUL). */
#define WRITE_LIT(path, lit) write_text((path), (lit), sizeof(lit) - 1)

static bool same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = e2e_slurp(a, &na), *y = e2e_slurp(b, &nb);
    bool same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* A pseudo-random byte stream (xorshift), so that every image differs. */
static uint8_t noise(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (uint8_t)(*s >> 8);
}

typedef struct jpeg_fill {
    int h;
    unsigned seed;
    uint32_t s;
} jpeg_fill;

static void fill_row(uint8_t *row, int w, int y, void *ctx)
{
    jpeg_fill *j = ctx;
    for (int x = 0; x < w; x++) {
        row[3 * x] = (unsigned char)((x * 255 / w + noise(&j->s) / 4) & 0xFF);
        row[3 * x + 1] = (unsigned char)((y * 255 / j->h + noise(&j->s) / 4) & 0xFF);
        row[3 * x + 2] = (unsigned char)(((int)j->seed * 37 + noise(&j->s) / 2) & 0xFF);
    }
}

/* A JPEG of smooth colour plus noise (JPEG encodes it at a size that
 * depends on the quality). */
static void write_jpeg(const char *path, int w, int h, unsigned seed)
{
    mkdirs(path, false);
    jpeg_fill j = {h, seed, seed * 2654435761u + 7};
    assert_int_equal(write_rgb_jpeg(path, w, h, 90, fill_row, &j), 0);
}

/* A PNG, RGBA with a transparent right half (thumbd makes a PNG of it), or
 * opaque RGB (thumbd makes a JPEG). */
static void write_png(const char *path, int w, int h, unsigned seed, bool alpha)
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

/* Width and height from a JPEG's or PNG's header; false if neither. */
typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c)
{
    longjmp(((jerr *)c->err)->jb, 1);
}

static bool image_dims(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char hd[24];
    size_t n = fread(hd, 1, sizeof hd, f);
    if (n == sizeof hd && !memcmp(hd, "\x89PNG\r\n\x1a\n", 8)) {
        *w = (int)((unsigned)hd[16] << 24 | (unsigned)hd[17] << 16 | (unsigned)hd[18] << 8 | hd[19]);
        *h = (int)((unsigned)hd[20] << 24 | (unsigned)hd[21] << 16 | (unsigned)hd[22] << 8 | hd[23]);
        fclose(f);
        return true;
    }
    rewind(f);
    struct jpeg_decompress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    jpeg_create_decompress(&c);
    volatile bool ok = false;
    if (!setjmp(e.jb)) {
        jpeg_stdio_src(&c, f);
        if (jpeg_read_header(&c, TRUE) == JPEG_HEADER_OK) {
            *w = (int)c.image_width;
            *h = (int)c.image_height;
            ok = true;
        }
    }
    jpeg_destroy_decompress(&c);
    fclose(f);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* String lists                                                               */

/* Asserts that two lists hold the same strings (in any order), printing
 * the differences. */
static void sl_assert_same(strlist *a, strlist *b, const char *what)
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

static bool has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".jpe") || !strcasecmp(dot, ".png"));
}

/* Regular files under dir (relative paths), without thumbd's own files at
 * the top (.thumbd.lock, .thumbd.state, shard locks and states); with
 * temps, also its temporary files (.thumbd-tmp-*) at any level. */
static void list_rec(const char *dir, const char *rel, strlist *out, bool temps)
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

static strlist tree(const char *dir)
{
    strlist l = {0};
    list_rec(dir, "", &l, false);
    strlist_sort(&l);
    return l;
}

static int count_temps(const char *dir)
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

typedef struct io {
    const char *env[6];   /* extra NAME=VALUE, NULL-terminated */
    const char *in;       /* stdin (default /dev/null) */
    const char *out;      /* stdout (default <root>/last.out) */
    const char *err;      /* stderr (default <root>/last.err) */
} io;

static char g_last_out[600], g_last_err[600];

/* Starts thumbd with the arguments in ap (NULL-terminated), without the
 * caller's THUMBD_* and job-index variables. */
static e2e_child spawn_va(const io *o, va_list ap)
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

#define SPAWN(o, ...) spawn_l((o), __VA_ARGS__, (char *)NULL)
#define RUN(o, ...) run_l((o), __VA_ARGS__, (char *)NULL)

static e2e_child spawn_l(const io *o, ...)
{
    va_list ap;
    va_start(ap, o);
    e2e_child ch = spawn_va(o, ap);
    va_end(ap);
    return ch;
}

/* The exit code (128 + N for signal N), or fails the test after timeout_s
 * (killing thumbd). */
static int finish(e2e_child *ch, double timeout_s)
{
    ch->t0 = now_s();
    e2e_proc p = e2e_wait(ch, timeout_s, 2);
    if (p.code == -2)
        fail_msg("thumbd did not exit within %.0f s", timeout_s);
    return p.code;
}

static int run_l(const io *o, ...)
{
    va_list ap;
    va_start(ap, o);
    e2e_child ch = spawn_va(o, ap);
    va_end(ap);
    return finish(&ch, RUN_TIMEOUT_S);
}

/* Fails, showing thumbd's stderr, if the last run's exit code is wrong. */
static void expect_exit(int got, int want)
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

/* A string field of a record, "" for null or absent. */
static const char *str(const e2e_jrec *x, const char *key)
{
    return e2e_str_or(x, key, "");
}

/* The report at path (e2e_report; lines that are not records ignored). */
static e2e_report load_report(const char *path)
{
    e2e_report r;
    if (!e2e_report_load(path, &r, 0))
        fail_msg("no report at %s", path);
    return r;
}

/* The one record of src (fails if there is none, or two). */
static const e2e_jrec *must_rec(const e2e_report *r, const char *src)
{
    const e2e_jrec *x = e2e_report_one(r, src);
    if (!x)
        fail_msg("no record for '%s'", src);
    return x;
}

/* Asserts that the record of src has this status (and prints it if not). */
static const e2e_jrec *expect_status(const e2e_report *r, const char *src, const char *status)
{
    const e2e_jrec *x = must_rec(r, src);
    if (strcmp(str(x, "status"), status))
        fail_msg("'%s': status '%s' (error '%s'), expected '%s'", src, str(x, "status"),
                 str(x, "error"), status);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                   */

/* A big-ish tree (slow enough to be caught mid-run): BIG noise JPEGs. */
enum { BIG = 24 };
static char g_big[600];

/* The shard tree: thumbd_gen's demo images plus SHARD_N generated ones. */
enum { SHARD_N = 60 };
static char g_shard_in[600];
static strlist g_shard_images;

static int setup_all(void **state)
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

static int teardown_all(void **state)
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

/* <root>/<name>, a fresh (removed) path. */
static void fresh(char *buf, size_t n, const char *name)
{
    pathf(buf, n, "%s/%s", g_root, name);
    rm_tree(buf);
}

/* A small mixed tree: JPEGs, an opaque PNG (thumbnail .jpg) and a PNG
 * with alpha (thumbnail .png), one level of subdirectory. */
static const char *const SMALL_SRC[] = {"a.jpg", "b.jpg", "e.png", "sub/c.jpg", "sub/d.png"};
static const char *const SMALL_OUT[] = {"a.jpg", "b.jpg", "e.jpg", "sub/c.jpg", "sub/d.png"};
enum { SMALL_N = 5 };

static void make_small_tree(const char *in)
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

typedef struct snap {
    ino_t ino;
    struct timespec mtime, ctime;
} snap;

static snap snap_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        fail_msg("no file %s", path);
    return (snap){sb.st_ino, sb.st_mtim, sb.st_ctim};
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool snap_same(snap a, snap b)
{
    return a.ino == b.ino && same_time(a.mtime, b.mtime) && same_time(a.ctime, b.ctime);
}

/* Runs thumbd over the small tree with the extra arguments; asserts exit
 * 0 and that every image got status want (with out set). */
static void small_run(const io *o, const char *in, const char *out, const char *rep,
                      const char *want, const char *a1, const char *a2)
{
    int code = a2 ? RUN(o, "-r", rep, a1, a2, in, out)
             : a1 ? RUN(o, "-r", rep, a1, in, out)
                  : RUN(o, "-r", rep, in, out);
    expect_exit(code, 0);
    e2e_report r = load_report(rep);
    if (r.n != SMALL_N)
        fail_msg("%d records, expected %d (options %s %s)", r.n, SMALL_N, a1 ? a1 : "", a2 ? a2 : "");
    for (int i = 0; i < SMALL_N; i++) {
        const e2e_jrec *x = must_rec(&r, SMALL_SRC[i]);
        if (strcmp(str(x, "status"), want))
            fail_msg("options '%s %s': '%s' is %s (%s), expected %s", a1 ? a1 : "", a2 ? a2 : "",
                     str(x, "src"), str(x, "status"), str(x, "error"), want);
        assert_true(str(x, "out")[0] != '\0');
    }
    e2e_report_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 1. Incremental re-runs                                                     */

static void test_rerun_incremental(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900], q[900];
    fresh(in, sizeof in, "inc-in");
    fresh(out, sizeof out, "inc-out");
    pathf(rep, sizeof rep, "%s/inc.jsonl", g_root);
    make_small_tree(in);

    /* First run: everything made, each thumbnail with its source's mtime. */
    small_run(NULL, in, out, rep, "ok", NULL, NULL);
    e2e_report r = load_report(rep);
    for (int i = 0; i < SMALL_N; i++)
        assert_string_equal(str(must_rec(&r, SMALL_SRC[i]), "out"), SMALL_OUT[i]);
    e2e_report_free(&r);
    snap before[SMALL_N];
    for (int i = 0; i < SMALL_N; i++) {
        pathf(p, sizeof p, "%s/%s", in, SMALL_SRC[i]);
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
        before[i] = snap_of(q);
        if (!same_time(snap_of(p).mtime, before[i].mtime))
            fail_msg("%s does not have its source's mtime", SMALL_OUT[i]);
    }
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_true(exists(p));

    /* Unchanged tree: all skipped, nothing rewritten (same inode, mtime,
     * ctime). */
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    r = load_report(rep);
    for (int i = 0; i < SMALL_N; i++)
        assert_string_equal(str(must_rec(&r, SMALL_SRC[i]), "out"), SMALL_OUT[i]);
    e2e_report_free(&r);
    for (int i = 0; i < SMALL_N; i++) {
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
        if (!snap_same(before[i], snap_of(q)))
            fail_msg("%s was rewritten by a no-op run", SMALL_OUT[i]);
    }

    /* A touched source (newer mtime), then one set to an OLDER mtime: each
     * time exactly that one is redone. */
    struct {
        int idx;
        struct timespec t[2];
    } touches[2] = {
        {0, {{0, UTIME_NOW}, {0, UTIME_NOW}}},
        {3, {{978307200, 0}, {978307200, 123456789}}}, /* 2001-01-01 */
    };
    for (int k = 0; k < 2; k++) {
        int idx = touches[k].idx;
        pathf(p, sizeof p, "%s/%s", in, SMALL_SRC[idx]);
        assert_int_equal(utimensat(AT_FDCWD, p, touches[k].t, 0), 0);
        expect_exit(RUN(NULL, "-r", rep, in, out), 0);
        r = load_report(rep);
        assert_int_equal(r.n, SMALL_N);
        for (int i = 0; i < SMALL_N; i++)
            expect_status(&r, SMALL_SRC[i], i == idx ? "ok" : "skipped");
        e2e_report_free(&r);
        pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[idx]);
        assert_true(same_time(snap_of(p).mtime, snap_of(q).mtime));
        for (int i = 0; i < SMALL_N; i++) {
            pathf(q, sizeof q, "%s/%s", out, SMALL_OUT[i]);
            if (i == idx)
                before[i] = snap_of(q);
            else if (!snap_same(before[i], snap_of(q)))
                fail_msg("%s was rewritten though only %s changed", SMALL_OUT[i], SMALL_SRC[idx]);
        }
    }

    /* An option that shapes thumbnails redoes everything; the new options
     * are then remembered (the same run again skips everything). */
    static const char *const opts[][2] = {
        {"-q", "60"}, {"--size", "100x100"}, {"--fit", "inside"}, {"--format", "png"}, {"--enlarge", NULL},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        small_run(NULL, in, out, rep, "ok", opts[k][0], opts[k][1]);
        if (k == 0)
            small_run(NULL, in, out, rep, "skipped", opts[k][0], opts[k][1]);
    }
    small_run(NULL, in, out, rep, "ok", NULL, NULL);       /* back to the defaults */
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);

    /* --force and THUMBD_FORCE=1 redo everything; they do not forget the
     * fingerprint. */
    small_run(NULL, in, out, rep, "ok", "--force", NULL);
    io force_env = {.env = {"THUMBD_FORCE=1", NULL}};
    small_run(&force_env, in, out, rep, "ok", NULL, NULL);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
}

/* Runs thumbd over the small tree (with flag, if not NULL); asserts that
 * exactly the sources in redo (a '|'-separated list, "" for none) were
 * redone, the rest skipped. */
static void expect_redone_with(const char *flag, const char *in, const char *out, const char *rep,
                               const char *redo)
{
    expect_exit(flag ? RUN(NULL, "-r", rep, flag, in, out) : RUN(NULL, "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, SMALL_N);
    for (int i = 0; i < SMALL_N; i++) {
        char key[64];
        pathf(key, sizeof key, "|%s|", SMALL_SRC[i]);
        char list[256];
        pathf(list, sizeof list, "|%s|", redo);
        expect_status(&r, SMALL_SRC[i], strstr(list, key) ? "ok" : "skipped");
    }
    e2e_report_free(&r);
}

static void expect_redone(const char *in, const char *out, const char *rep, const char *redo)
{
    expect_redone_with(NULL, in, out, rep, redo);
}

static int memo_count(const char *out)
{
    char p[700];
    pathf(p, sizeof p, "%s/.thumbd.memo", out);
    strlist l = {0};
    list_rec(p, "", &l, true);
    int n = (int)l.n;
    strlist_free(&l);
    return n;
}

/* A run after the thumbnails settled (MEMO_RACY_S) writes a memo per
 * directory, and later runs trust it instead of stat'ing each thumbnail;
 * what a memo must not hide still shows: a thumbnail deleted or replaced,
 * a source changed. */
static void test_rerun_memos(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900], q[900];
    fresh(in, sizeof in, "memo-in");
    fresh(out, sizeof out, "memo-out");
    pathf(rep, sizeof rep, "%s/memo.jsonl", g_root);
    make_small_tree(in);
    small_run(NULL, in, out, rep, "ok", NULL, NULL);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    assert_int_equal(memo_count(out), 0); /* the thumbnails are too new */
    sleep_s(1.2);
    small_run(NULL, in, out, rep, "skipped", NULL, NULL);
    assert_int_equal(memo_count(out), 2); /* the top and sub/ */

    /* A thumbnail deleted, then one replaced by another file (rename). */
    pathf(q, sizeof q, "%s/sub/d.png", out);
    assert_int_equal(unlink(q), 0);
    expect_redone(in, out, rep, "sub/d.png");
    pathf(p, sizeof p, "%s/a.jpg", out);
    pathf(q, sizeof q, "%s/b.tmp", out);
    uint8_t *data;
    size_t len;
    assert_int_equal(read_file(p, &data, &len), 0);
    write_file(q, data, len);
    free(data);
    struct timespec old[2] = {{978307200, 0}, {978307200, 0}};
    assert_int_equal(utimensat(AT_FDCWD, q, old, 0), 0);
    pathf(p, sizeof p, "%s/b.jpg", out);
    assert_int_equal(rename(q, p), 0);
    expect_redone(in, out, rep, "b.jpg");

    /* Memos again for both directories; a changed source still shows. */
    sleep_s(1.2);
    expect_redone(in, out, rep, "");
    pathf(p, sizeof p, "%s/sub/c.jpg", in);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    assert_int_equal(utimensat(AT_FDCWD, p, now, 0), 0);
    expect_redone(in, out, rep, "sub/c.jpg");

    /* What a memo does not see, as documented: a thumbnail's mtime changed
     * in place (its name kept). That the run skips it shows the memo is
     * what vouched; --no-memo (a stat of every thumbnail) redoes it, and
     * --force everything. */
    pathf(q, sizeof q, "%s/a.jpg", out);
    assert_int_equal(utimensat(AT_FDCWD, q, old, 0), 0);
    expect_redone(in, out, rep, "");
    expect_redone_with("--no-memo", in, out, rep, "a.jpg");
    small_run(NULL, in, out, rep, "ok", "--force", NULL);
}

/* The fingerprint is saved only by a complete run: not by a --files-from
 * run, not by a run stopped by its deadline, not by a killed run. */
static void test_state_saved_only_by_complete_runs(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], st[900];
    fresh(in, sizeof in, "st-in");
    fresh(out, sizeof out, "st-out");
    pathf(rep, sizeof rep, "%s/st.jsonl", g_root);
    pathf(list, sizeof list, "%s/st.list", g_root);
    make_small_tree(in);
    pathf(st, sizeof st, "%s/.thumbd.state", out);

    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "-r", rep, "--files-from", list, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 1);
    expect_status(&r, "a.jpg", "ok");
    e2e_report_free(&r);
    if (exists(st))
        fail_msg("a --files-from run saved the fingerprint");
    /* No fingerprint, yet the thumbnail the list made counts (the ledger):
     * the next run makes the others and saves it. */
    expect_exit(RUN(NULL, "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(r.n, SMALL_N);
    for (int i = 0; i < SMALL_N; i++)
        expect_status(&r, SMALL_SRC[i], strcmp(SMALL_SRC[i], "a.jpg") ? "ok" : "skipped");
    e2e_report_free(&r);
    assert_true(exists(st));

    /* Stopped by --deadline (exit 124): no fingerprint. */
    fresh(out, sizeof out, "st-out2");
    pathf(st, sizeof st, "%s/.thumbd.state", out);
    expect_exit(RUN(NULL, "-j", "1", "--deadline", "0.05", "-r", rep, g_big, out), 124);
    if (exists(st))
        fail_msg("a run stopped by its deadline saved the fingerprint");
}

/* ------------------------------------------------------------------------ */
/* 2. The lock                                                                */

/* Takes OUT_DIR's lock as another run would. O_CLOEXEC: thumbd must not
 * inherit it. */
static int hold_lock(const char *out)
{
    char p[900];
    mkdirs(out, true);
    pathf(p, sizeof p, "%s/.thumbd.lock", out);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    return fd;
}

static void test_lock_busy_exits_75(void **state)
{
    (void)state;
    char in[600], out[600], p[900];
    fresh(in, sizeof in, "lock-in");
    fresh(out, sizeof out, "lock-out");
    make_small_tree(in);
    int fd = hold_lock(out);

    double t0 = now_s();
    expect_exit(RUN(NULL, in, out), 75);
    double el = now_s() - t0;
    if (el > 3.0) /* at once; the slack is for sanitizer builds on a busy machine */
        fail_msg("a locked OUT_DIR took %.2f s to refuse (expected at once)", el);
    if (!e2e_file_has(g_last_err, "--wait-lock"))
        fail_msg("the message does not mention --wait-lock: %s", e2e_slurp(g_last_err, NULL));
    /* A shard cannot start under an exclusive holder either. */
    expect_exit(RUN(NULL, "--shard", "0/2", in, out), 75);
    /* --wait-lock S gives up after S seconds. */
    t0 = now_s();
    expect_exit(RUN(NULL, "--wait-lock", "0.5", in, out), 75);
    el = now_s() - t0;
    if (el < 0.45 || el > 4.0)
        fail_msg("--wait-lock 0.5 gave up after %.2f s", el);
    strlist t = tree(out);
    assert_int_equal(t.n, 0); /* nothing written */
    strlist_free(&t);
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_false(exists(p));
    close(fd);
}

static void test_wait_lock_waits_for_release(void **state)
{
    (void)state;
    char in[600], out[600];
    fresh(in, sizeof in, "wl-in");
    fresh(out, sizeof out, "wl-out");
    make_small_tree(in);
    int fd = hold_lock(out);

    double t0 = now_s();
    e2e_child pid = SPAWN(NULL, "--wait-lock", "3", in, out);
    sleep_s(1.0);
    e2e_proc ended;
    if (e2e_poll(&pid, &ended))
        fail_msg("thumbd --wait-lock 3 exited (%d) while the lock was held", ended.code);
    strlist t = tree(out);
    assert_int_equal(t.n, 0); /* it waited before writing anything */
    strlist_free(&t);
    double released = now_s();
    close(fd);
    expect_exit(finish(&pid, RUN_TIMEOUT_S), 0);
    double done = now_s();
    if (done - t0 > 3.0 + 2.0)
        fail_msg("thumbd took %.2f s in all (lock released after %.2f s)", done - t0, released - t0);
    if (done - released > 2.0)
        fail_msg("thumbd finished %.2f s after the lock was released", done - released);
    t = tree(out);
    assert_int_equal(t.n, SMALL_N);
    strlist_free(&t);
}

/* flock dies with its process: a SIGKILLed run never blocks the next. */
static void test_killed_run_lock_never_blocks(void **state)
{
    (void)state;
    char out[600], marker[900], p[900];
    fresh(out, sizeof out, "kill-out");
    pathf(marker, sizeof marker, "%s/.thumbd.run/.thumbd-tmp-running", out);
    e2e_child pid = SPAWN(NULL, "-j", "1", g_big, out);
    double t0 = now_s();
    while (!exists(marker)) {
        if (now_s() - t0 > 20)
            fail_msg("thumbd never started its run");
        sleep_s(0.001);
    }
    kill(pid.pid, SIGKILL);
    assert_int_equal(finish(&pid, 10), 128 + SIGKILL);
    /* The run was cut short: its marker stays, no fingerprint. */
    assert_true(exists(marker));
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_false(exists(p));

    t0 = now_s();
    expect_exit(RUN(NULL, "-j", "2", g_big, out), 0); /* no --wait-lock */
    strlist t = tree(out);
    assert_int_equal(t.n, BIG);
    strlist_free(&t);
    assert_false(exists(marker));
    assert_int_equal(count_temps(out), 0);
    assert_true(exists(p));
}

/* ------------------------------------------------------------------------ */

/* Waits up to 10 s for path to exist. */
static bool appears(const char *path)
{
    double t0 = now_s();
    while (!exists(path) && now_s() - t0 < 10)
        sleep_s(0.005);
    return exists(path);
}

/* --files-from - fed by an endless producer (inotifywait -m ... | thumbd
 * --files-from - ...): each listed file is done as it comes, not once the
 * list ends; SIGTERM ends the run at once, with the records of what was
 * done. */
static void test_files_from_stream(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], fifo[600], p[900];
    fresh(in, sizeof in, "ffs-in");
    fresh(out, sizeof out, "ffs-out");
    pathf(rep, sizeof rep, "%s/ffs.jsonl", g_root);
    pathf(fifo, sizeof fifo, "%s/ffs.fifo", g_root);
    make_small_tree(in);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* Opened first, and read-write: e2e_start returns only once the child
     * has opened its stdin, which for a FIFO waits for a writer. */
    int w = open(fifo, O_RDWR | O_CLOEXEC);
    assert_true(w >= 0);
    io o = {.in = fifo};
    e2e_child pid = SPAWN(&o, "-r", rep, "--files-from", "-", in, out);
    assert_int_equal(write(w, "a.jpg\n", 6), 6);
    pathf(p, sizeof p, "%s/a.jpg", out);
    if (!appears(p))
        fail_msg("a.jpg, listed on a pipe still open, was not made within 10 s");
    assert_int_equal(write(w, "sub/c.jpg\n", 10), 10);
    pathf(p, sizeof p, "%s/sub/c.jpg", out);
    if (!appears(p))
        fail_msg("sub/c.jpg, listed second, was not made within 10 s");
    double t0 = now_s();
    kill(pid.pid, SIGTERM);
    int code = finish(&pid, 10);
    double took = now_s() - t0;
    close(w);
    expect_exit(code, 143);
    if (took > 3)
        fail_msg("thumbd took %.1f s to stop while waiting for its list", took);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 2);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "sub/c.jpg", "ok");
    e2e_report_free(&r);
    unlink(fifo);
}
/* 3. --files-from                                                            */

static void test_files_from_list(void **state)
{
    (void)state;
    char base[600], in[700], out[700], rep[600], list[600], outside[700], outside_out[700];
    fresh(base, sizeof base, "ff");
    pathf(in, sizeof in, "%s/in", base);
    pathf(out, sizeof out, "%s/o/out", base);
    pathf(rep, sizeof rep, "%s/ff.jsonl", g_root);
    pathf(list, sizeof list, "%s/ff.list", g_root);
    make_small_tree(in);
    char p[900];
    pathf(p, sizeof p, "%s/notes.txt", in);
    WRITE_LIT(p, "not an image\n");
    /* A real image just outside IN_DIR: "../outside.jpg" from IN_DIR. Its
     * thumbnail would land at <base>/o/outside.jpg. */
    pathf(outside, sizeof outside, "%s/outside.jpg", base);
    write_jpeg(outside, 120, 90, 9);
    pathf(outside_out, sizeof outside_out, "%s/o/outside.jpg", base);

    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(ino >= 0);
    assert_true(inotify_add_watch(ino, base, IN_OPEN | IN_ACCESS) >= 0);

    char text[4096];
    pathf(text, sizeof text,
          "./a.jpg\n"
          "sub/c.jpg\r\n"
          "missing.jpg\n"
          "../outside.jpg\n"
          "sub/../../outside.jpg\n"
          "%s\n"
          "/etc/x.jpg\n"
          "notes.txt\n"
          "sub\n"
          "\n",
          outside);
    write_text(list, text, strlen(text));
    expect_exit(RUN(NULL, "-r", rep, "--files-from", list, in, out), 1);

    e2e_report r = load_report(rep);
    expect_status(&r, "a.jpg", "ok");            /* "./" dropped */
    expect_status(&r, "sub/c.jpg", "ok");        /* CRLF accepted */
    const e2e_jrec *x = expect_status(&r, "missing.jpg", "failed");
    if (!strstr(str(x, "error"), "--files-from"))
        fail_msg("missing.jpg: the error does not mention --files-from: %s", str(x, "error"));
    const char *leaving[] = {"../outside.jpg", "sub/../../outside.jpg", outside, "/etc/x.jpg"};
    for (int i = 0; i < 4; i++) {
        x = expect_status(&r, leaving[i], "failed");
        if (!strstr(str(x, "error"), "leaves IN_DIR"))
            fail_msg("%s: the error does not say it leaves IN_DIR: %s", leaving[i],
                     str(x, "error"));
        assert_string_equal(str(x, "out"), "");
    }
    assert_int_equal(r.n, 7); /* notes.txt, the directory, the empty line: none */
    e2e_report_free(&r);

    /* Exactly the listed images were thumbnailed. */
    strlist got = tree(out), want = {0};
    strlist_add(&want, "a.jpg");
    strlist_add(&want, "sub/c.jpg");
    sl_assert_same(&got, &want, "the thumbnails of a --files-from run");
    strlist_free(&got);
    strlist_free(&want);
    assert_false(exists(outside_out));

    /* Nothing outside IN_DIR was opened. */
    _Alignas(struct inotify_event) char ev[8192];
    ssize_t n;
    while ((n = read(ino, ev, sizeof ev)) > 0) {
        for (char *q = ev; q < ev + n;) {
            struct inotify_event *e = (struct inotify_event *)(void *)q;
            if (e->len && !strcmp(e->name, "outside.jpg"))
                fail_msg("thumbd opened or read %s", outside);
            q += sizeof *e + e->len;
        }
    }
    close(ino);
}

static void test_files_from_stdin_nul(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], p[900];
    fresh(in, sizeof in, "ff0-in");
    fresh(out, sizeof out, "ff0-out");
    pathf(rep, sizeof rep, "%s/ff0.jsonl", g_root);
    pathf(list, sizeof list, "%s/ff0.list", g_root);
    make_small_tree(in);
    pathf(p, sizeof p, "%s/odd\nname.jpg", in); /* why -0 exists */
    write_jpeg(p, 200, 100, 11);
    static const char text[] = "./a.jpg\0odd\nname.jpg\0sub/d.png\0notes.txt\0";
    write_text(list, text, sizeof text - 1);
    io o = {.in = list};
    expect_exit(RUN(&o, "-r", rep, "--files-from", "-", "-0", in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(r.n, 3);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "odd\nname.jpg", "ok");
    expect_status(&r, "sub/d.png", "ok");
    e2e_report_free(&r);
    strlist got = tree(out), want = {0};
    strlist_add(&want, "a.jpg");
    strlist_add(&want, "odd\nname.jpg");
    strlist_add(&want, "sub/d.png");
    sl_assert_same(&got, &want, "the thumbnails of a --files-from - -0 run");
    strlist_free(&got);
    strlist_free(&want);

    /* The same list newline-separated from stdin, without -0. */
    fresh(out, sizeof out, "ff0-out2");
    WRITE_LIT(list, "sub/c.jpg\nb.jpg\n");
    expect_exit(RUN(&o, "-r", rep, "--files-from", "-", in, out), 0);
    r = load_report(rep);
    assert_int_equal(r.n, 2);
    expect_status(&r, "sub/c.jpg", "ok");
    expect_status(&r, "b.jpg", "ok");
    e2e_report_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 4. Shards                                                                  */


/* The set of src of the records of a report (all statuses). */
static strlist report_srcs(const char *rep, const char *status)
{
    e2e_report r = load_report(rep);
    strlist l = {0};
    for (int i = 0; i < r.n; i++) {
        if (status && strcmp(str(&r.v[i], "status"), status))
            fail_msg("%s: '%s' is %s (%s), expected %s", rep, str(&r.v[i], "src"),
                     str(&r.v[i], "status"), str(&r.v[i], "error"), status);
        if (strlist_has(&l, str(&r.v[i], "src")))
            fail_msg("%s: two records for '%s'", rep, str(&r.v[i], "src"));
        strlist_add(&l, str(&r.v[i], "src"));
    }
    e2e_report_free(&r);
    strlist_sort(&l);
    return l;
}

/* A shard's first run keeps the fingerprints of shards that ran before it
 * with the same options: their next runs skip what they made. */
static void test_shard_first_run_keeps_others(void **state)
{
    (void)state;
    char in[600], out[600], rep[600];
    fresh(in, sizeof in, "shk-in");
    fresh(out, sizeof out, "shk-out");
    pathf(rep, sizeof rep, "%s/shk.jsonl", g_root);
    make_small_tree(in);
    expect_exit(RUN(NULL, "--shard", "0/2", "-r", rep, in, out), 0);
    strlist made = report_srcs(rep, "ok");
    expect_exit(RUN(NULL, "--shard", "1/2", "-r", rep, in, out), 0);
    strlist_free(&made);
    expect_exit(RUN(NULL, "--shard", "0/2", "-r", rep, in, out), 0);
    strlist again = report_srcs(rep, "skipped");
    assert_true(again.n > 0);
    strlist_free(&again);
}

static void test_shards_partition_the_tree(void **state)
{
    (void)state;
    char out[600], one[600], rep[3][700], log[3][700];
    fresh(out, sizeof out, "shard-out");
    fresh(one, sizeof one, "shard-one");
    /* --wait-lock: shards that start at the same moment can collide on
     * the OUT_DIR lock (see test_shards_started_together). */
    e2e_child pid[3];
    char spec[3][8];
    for (int k = 0; k < 3; k++) {
        pathf(rep[k], sizeof rep[k], "%s/shard%d.jsonl", g_root, k);
        pathf(log[k], sizeof log[k], "%s/shard%d.log", g_root, k);
        pathf(spec[k], sizeof spec[k], "%d/3", k);
    }
    for (int k = 0; k < 3; k++) {
        io o = {.err = log[k]};
        pid[k] = SPAWN(&o, "-j", "1", "--fit", "inside", "--wait-lock", "30", "--shard", spec[k],
                       "-r", rep[k], g_shard_in, out);
    }
    for (int k = 0; k < 3; k++) {
        int code = finish(&pid[k], RUN_TIMEOUT_S);
        if (code != 0)
            fail_msg("shard %s exited %d: %s", spec[k], code, e2e_slurp(log[k], NULL));
    }
    /* Every image in exactly one shard, all ok. */
    strlist uni = {0};
    for (int k = 0; k < 3; k++) {
        strlist s = report_srcs(rep[k], "ok");
        if (s.n < 5)
            fail_msg("shard %s got only %d of %d images", spec[k], s.n, g_shard_images.n);
        for (int i = 0; i < s.n; i++) {
            if (strlist_has(&uni, s.v[i]))
                fail_msg("'%s' is in two shards", s.v[i]);
            strlist_add(&uni, s.v[i]);
        }
        strlist_free(&s);
    }
    strlist all = {0};
    for (int i = 0; i < g_shard_images.n; i++)
        strlist_add(&all, g_shard_images.v[i]);
    sl_assert_same(&uni, &all, "the images of the three shards and the images of the tree");
    strlist_free(&uni);
    strlist_free(&all);

    /* The same output as one unsharded run: same files, same sizes. */
    expect_exit(RUN(NULL, "-j", "2", "--fit", "inside", g_shard_in, one), 0);
    strlist a = tree(out), b = tree(one);
    sl_assert_same(&a, &b, "the sharded and unsharded output trees");
    assert_int_equal(a.n, g_shard_images.n);
    for (int i = 0; i < a.n; i++) {
        char pa[900], pb[900];
        int wa = 0, ha = 0, wb = 0, hb = 0;
        pathf(pa, sizeof pa, "%s/%s", out, a.v[i]);
        pathf(pb, sizeof pb, "%s/%s", one, a.v[i]);
        if (!image_dims(pa, &wa, &ha) || !image_dims(pb, &wb, &hb))
            fail_msg("%s: not a readable image", a.v[i]);
        if (wa != wb || ha != hb)
            fail_msg("%s: %dx%d sharded, %dx%d unsharded", a.v[i], wa, ha, wb, hb);
    }
    strlist_free(&a);
    strlist_free(&b);
    assert_int_equal(count_temps(out), 0);

    /* A second sharded pass skips everything (each shard's fingerprint). */
    for (int k = 0; k < 3; k++) {
        expect_exit(RUN(NULL, "-j", "1", "--fit", "inside", "--shard", spec[k], "-r", rep[k],
                        g_shard_in, out), 0);
        strlist s = report_srcs(rep[k], "skipped");
        strlist_free(&s);
    }
}

static void test_shard_from_environment(void **state)
{
    (void)state;
    char out[600], rep[600];
    fresh(out, sizeof out, "shenv-out");
    pathf(rep, sizeof rep, "%s/shenv.jsonl", g_root);
    /* The reference selections. */
    expect_exit(RUN(NULL, "--shard", "1/3", "-r", rep, g_shard_in, out), 0);
    strlist s1 = report_srcs(rep, NULL);
    expect_exit(RUN(NULL, "--shard", "2/3", "-r", rep, g_shard_in, out), 0);
    strlist s2 = report_srcs(rep, NULL);
    assert_true(s1.n > 0 && s2.n > 0);

    io k8s = {.env = {"JOB_COMPLETION_INDEX=1", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&k8s, "-r", rep, g_shard_in, out), 0);
    strlist got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s1, "JOB_COMPLETION_INDEX=1 THUMBD_SHARDS=3 vs --shard 1/3");
    strlist_free(&got);

    io aws = {.env = {"AWS_BATCH_JOB_ARRAY_INDEX=1", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&aws, "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s1, "AWS_BATCH_JOB_ARRAY_INDEX=1 THUMBD_SHARDS=3 vs --shard 1/3");
    strlist_free(&got);

    /* --shard wins over the environment. */
    expect_exit(RUN(&k8s, "--shard", "2/3", "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    sl_assert_same(&got, &s2, "--shard 2/3 with JOB_COMPLETION_INDEX=1 vs --shard 2/3");
    strlist_free(&got);

    /* A job index without THUMBD_SHARDS: the whole tree. */
    io idx_only = {.env = {"JOB_COMPLETION_INDEX=1", NULL}};
    expect_exit(RUN(&idx_only, "-r", rep, g_shard_in, out), 0);
    got = report_srcs(rep, NULL);
    assert_int_equal(got.n, g_shard_images.n);
    strlist_free(&got);
    strlist_free(&s1);
    strlist_free(&s2);

    /* Bad values: usage errors. */
    static const char *const bad[] = {"3/3", "1/0", "x", "-1/3", "1/", "/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int code = RUN(NULL, "--shard", bad[i], g_shard_in, out);
        if (code != 2)
            fail_msg("--shard %s: exit %d, expected 2", bad[i], code);
    }
    io bad_idx = {.env = {"JOB_COMPLETION_INDEX=3", "THUMBD_SHARDS=3", NULL}};
    expect_exit(RUN(&bad_idx, g_shard_in, out), 2);
    io bad_n = {.env = {"JOB_COMPLETION_INDEX=0", "THUMBD_SHARDS=x", NULL}};
    expect_exit(RUN(&bad_n, g_shard_in, out), 2);
    assert_true(e2e_file_has(g_last_err, "THUMBD_SHARDS"));
}

/* ------------------------------------------------------------------------ */
/* 5. THUMBD_* environment                                                    */

static void test_environment_options(void **state)
{
    (void)state;
    char in[600], p[900];
    fresh(in, sizeof in, "env-in");
    pathf(p, sizeof p, "%s/p.jpg", in);
    write_jpeg(p, 400, 300, 21);

    /* Output of p.jpg with the given environment and flags. */
    struct {
        const char *name, *env, *a1, *a2;
        char path[700];
    } runs[] = {
        {"env-def", NULL, NULL, NULL, ""},
        {"env-q50", NULL, "-q", "50", ""},
        {"env-e50", "THUMBD_QUALITY=50", NULL, NULL, ""},
        {"env-e50-q85", "THUMBD_QUALITY=50", "-q", "85", ""},
        {"env-inside", "THUMBD_FIT=inside", NULL, NULL, ""},
        {"env-inside-cover", "THUMBD_FIT=inside", "--fit", "cover", ""},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char out[600];
        fresh(out, sizeof out, runs[i].name);
        io o = {.env = {runs[i].env, NULL}};
        int code = runs[i].a1 ? RUN(&o, runs[i].a1, runs[i].a2, in, out) : RUN(&o, in, out);
        expect_exit(code, 0);
        pathf(runs[i].path, sizeof runs[i].path, "%s/p.jpg", out);
    }
    /* THUMBD_QUALITY=50 is -q 50 (same bytes), not the default. */
    assert_true(same_bytes(runs[2].path, runs[1].path));
    assert_false(same_bytes(runs[2].path, runs[0].path));
    struct stat a, b;
    assert_int_equal(stat(runs[0].path, &a), 0);
    assert_int_equal(stat(runs[2].path, &b), 0);
    if (b.st_size >= a.st_size)
        fail_msg("THUMBD_QUALITY=50 made %lld bytes, the default %lld", (long long)b.st_size,
                 (long long)a.st_size);
    /* The flag wins. */
    assert_true(same_bytes(runs[3].path, runs[0].path));
    /* THUMBD_FIT=inside: 400x300 into 200x200 is 200x150; --fit cover wins. */
    int w, h;
    assert_true(image_dims(runs[4].path, &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 150);
    assert_true(image_dims(runs[5].path, &w, &h));
    assert_int_equal(w, 200);
    assert_int_equal(h, 200);

    /* Bad values: exit 2, naming the variable. */
    char out[600];
    fresh(out, sizeof out, "env-bad");
    static const char *const bad[][2] = {
        {"THUMBD_QUALITY=999", "THUMBD_QUALITY"},
        {"THUMBD_FIT=sideways", "THUMBD_FIT"},
        {"THUMBD_FORCE=maybe", "THUMBD_FORCE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        io o = {.env = {bad[i][0], NULL}};
        expect_exit(RUN(&o, in, out), 2);
        if (!e2e_file_has(g_last_err, bad[i][1]))
            fail_msg("%s: the message does not name %s: %s", bad[i][0], bad[i][1],
                     e2e_slurp(g_last_err, NULL));
    }
    assert_false(exists(out)); /* a usage error touches nothing */
}

/* ------------------------------------------------------------------------ */
/* 6. --metrics                                                               */

typedef struct metric {
    char key[256];     /* name{labels} as written */
    char value[64];
} metric;

typedef struct metrics {
    metric v[64];
    int n;
} metrics;

/* Parses a Prometheus text exposition strictly enough for a textfile
 * collector: HELP/TYPE comments, then `name{l="v",...} value` samples, each
 * metric typed once, before its samples. */
static void load_metrics(const char *path, metrics *m)
{
    memset(m, 0, sizeof *m);
    size_t len;
    char *text = e2e_slurp(path, &len);
    if (!text)
        fail_msg("no metrics file %s", path);
    assert_true(len > 0 && text[len - 1] == '\n');
    regex_t sample, help, type;
    assert_int_equal(regcomp(&sample,
                             "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                             "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})?"
                             " ([^ ]+)$",
                             REG_EXTENDED), 0);
    assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^ ].*$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$",
                             REG_EXTENDED), 0);
    strlist typed = {0};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t g[5];
        char name[128];
        if (line[0] == '#') {
            if (!regexec(&type, line, 3, g, 0)) {
                pathf(name, sizeof name, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), line + g[1].rm_so);
                if (strlist_has(&typed, name))
                    fail_msg("metrics: %s typed twice", name);
                strlist_add(&typed, name);
            } else if (regexec(&help, line, 0, NULL, 0)) {
                fail_msg("metrics: a comment that is neither HELP nor TYPE: '%s'", line);
            }
            continue;
        }
        if (regexec(&sample, line, 5, g, 0))
            fail_msg("metrics: not a sample line: '%s'", line);
        pathf(name, sizeof name, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), line + g[1].rm_so);
        if (!strlist_has(&typed, name))
            fail_msg("metrics: %s has no TYPE before its sample", name);
        const char *v = line + g[4].rm_so;
        char *end;
        strtod(v, &end);
        if (end == v || *end)
            fail_msg("metrics: bad value in '%s'", line);
        assert_true(m->n < 64);
        metric *x = &m->v[m->n++];
        pathf(x->key, sizeof x->key, "%.*s", (int)(g[4].rm_so - 1), line);
        pathf(x->value, sizeof x->value, "%s", v);
        for (int i = 0; i < m->n - 1; i++)
            if (!strcmp(m->v[i].key, x->key))
                fail_msg("metrics: %s twice", x->key);
    }
    strlist_free(&typed);
    regfree(&sample);
    regfree(&help);
    regfree(&type);
    free(text);
}

static const char *metric_value(const metrics *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key))
            return m->v[i].value;
    fail_msg("metrics: no %s", key);
    return NULL;
}

/* The metrics agree with the report and the exit code. */
static void check_metrics(const metrics *m, const char *rep, int code)
{
    e2e_report r = load_report(rep);
    static const char *const statuses[] = {"ok", "failed", "skipped", "cancelled", "pruned"};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char key[64];
        pathf(key, sizeof key, "thumbd_images{status=\"%s\"}", statuses[i]);
        long got = atol(metric_value(m, key));
        if (got != e2e_report_count(&r, statuses[i]))
            fail_msg("metrics: %s = %ld, the report has %d", key, got,
                     e2e_report_count(&r, statuses[i]));
    }
    assert_int_equal(atoi(metric_value(m, "thumbd_run_exit_code")), code);
    e2e_report_free(&r);
}

static void test_metrics_prometheus(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], mdir[600], prom[700], p[900];
    fresh(in, sizeof in, "m-in");
    fresh(out, sizeof out, "m-out");
    fresh(mdir, sizeof mdir, "m-metrics");
    pathf(rep, sizeof rep, "%s/m.jsonl", g_root);
    pathf(prom, sizeof prom, "%s/thumbd.prom", mdir);
    mkdirs(mdir, true);
    make_small_tree(in);
    metrics *m = calloc(1, sizeof *m);
    assert_non_null(m);

    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 0);
    load_metrics(prom, m);
    check_metrics(m, rep, 0);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"ok\"}")), SMALL_N);
    char first[64];
    pathf(first, sizeof first, "%s", metric_value(m, "thumbd_last_success_timestamp_seconds"));
    double t = atof(first);
    double wall = (double)time(NULL);
    if (t < wall - 60 || t > wall + 60)
        fail_msg("thumbd_last_success_timestamp_seconds %s is not now (%.0f)", first, wall);

    /* Another run exiting 0 moves the success time. */
    sleep_s(0.05);
    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 0);
    load_metrics(prom, m);
    check_metrics(m, rep, 0);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"skipped\"}")), SMALL_N);
    char second[64];
    pathf(second, sizeof second, "%s", metric_value(m, "thumbd_last_success_timestamp_seconds"));
    if (!(atof(second) > atof(first)))
        fail_msg("a run exiting 0 did not update the success time (%s, then %s)", first, second);

    /* A run exiting 1 keeps it. */
    pathf(p, sizeof p, "%s/corrupt.jpg", in);
    WRITE_LIT(p, "\xff\xd8\xff\xe0 this is not a JPEG");
    sleep_s(0.05);
    expect_exit(RUN(NULL, "-r", rep, "--metrics", prom, in, out), 1);
    load_metrics(prom, m);
    check_metrics(m, rep, 1);
    assert_int_equal(atoi(metric_value(m, "thumbd_images{status=\"failed\"}")), 1);
    assert_string_equal(metric_value(m, "thumbd_last_success_timestamp_seconds"), second);
    if (!(atof(metric_value(m, "thumbd_last_run_timestamp_seconds")) > atof(second)))
        fail_msg("thumbd_last_run_timestamp_seconds did not move");

    /* Nothing else next to it (no temporary file). */
    strlist t2 = tree(mdir);
    assert_int_equal(t2.n, 1);
    assert_string_equal(t2.v[0], "thumbd.prom");
    strlist_free(&t2);
    free(m);
}

/* ------------------------------------------------------------------------ */
/* 7. --prune                                                                 */

static void test_prune(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900];
    fresh(in, sizeof in, "pr-in");
    fresh(out, sizeof out, "pr-out");
    pathf(rep, sizeof rep, "%s/pr.jsonl", g_root);
    static const char *const srcs[] = {"a.jpg", "gone.jpg", "sub/x.jpg", "sub/y.jpg",
                                       "old/z.jpg", "old/deeper/w.jpg", "keep/k.png"};
    for (int i = 0; i < 7; i++) {
        pathf(p, sizeof p, "%s/%s", in, srcs[i]);
        if (strstr(srcs[i], ".png"))
            write_png(p, 150, 150, (unsigned)i, true);
        else
            write_jpeg(p, 150, 120, (unsigned)i + 40);
    }
    expect_exit(RUN(NULL, in, out), 0);
    /* Unrelated files in OUT_DIR. */
    static const char *const mine[] = {"notes.txt", "anim.gif", "sub/README", "old/deeper/keep.gif"};
    for (int i = 0; i < 4; i++) {
        pathf(p, sizeof p, "%s/%s", out, mine[i]);
        WRITE_LIT(p, "mine\n");
    }
    /* Remove sources: one file, one in a subdirectory, a whole directory
     * tree (old/), and one directory's only file (keep/ keeps its file). */
    pathf(p, sizeof p, "%s/gone.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/y.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/old", in);
    rm_tree(p);

    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    strlist pruned = {0}, want = {0};
    for (int i = 0; i < r.n; i++)
        if (!strcmp(str(&r.v[i], "status"), "pruned"))
            strlist_add(&pruned, str(&r.v[i], "out"));
    strlist_add(&want, "gone.jpg");
    strlist_add(&want, "sub/y.jpg");
    strlist_add(&want, "old/z.jpg");
    strlist_add(&want, "old/deeper/w.jpg");
    sl_assert_same(&pruned, &want, "the pruned records");
    assert_int_equal(e2e_report_count(&r, "skipped"), 3);
    assert_int_equal(r.n, 3 + 4);
    e2e_report_free(&r);
    strlist_free(&pruned);
    strlist_free(&want);

    strlist got = tree(out);
    static const char *const left[] = {"a.jpg", "sub/x.jpg", "keep/k.png", "notes.txt",
                                       "anim.gif", "sub/README", "old/deeper/keep.gif"};
    for (int i = 0; i < 7; i++)
        strlist_add(&want, left[i]);
    sl_assert_same(&got, &want, "OUT_DIR after --prune");
    strlist_free(&got);
    strlist_free(&want);
    pathf(p, sizeof p, "%s/.thumbd.lock", out);
    assert_true(exists(p));
    pathf(p, sizeof p, "%s/.thumbd.state", out);
    assert_true(exists(p));

    /* An emptied output directory goes; one with an unrelated file stays. */
    pathf(p, sizeof p, "%s/old/deeper/keep.gif", out);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/x.jpg", in);
    assert_int_equal(unlink(p), 0);
    pathf(p, sizeof p, "%s/sub/README", out);
    assert_int_equal(unlink(p), 0);
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 1);
    e2e_report_free(&r);
    pathf(p, sizeof p, "%s/sub", out);
    if (exists(p))
        fail_msg("the emptied output directory sub/ was not removed");

    /* Once more: nothing left to prune. */
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 0);
    e2e_report_free(&r);

    /* Not with a partial view of the tree. */
    char list[600];
    pathf(list, sizeof list, "%s/pr.list", g_root);
    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "--prune", "--files-from", list, in, out), 2);
    expect_exit(RUN(NULL, "--prune", "--shard", "0/2", in, out), 2);
    io k8s = {.env = {"JOB_COMPLETION_INDEX=0", "THUMBD_SHARDS=2", NULL}};
    expect_exit(RUN(&k8s, "--prune", in, out), 2);
    pathf(p, sizeof p, "%s/a.jpg", out);
    assert_true(exists(p));
}

/* The whole removed source directory: its output subtree goes entirely,
 * and so do the memos of its directories. */
static void test_prune_removed_directory(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], p[900];
    fresh(in, sizeof in, "prd-in");
    fresh(out, sizeof out, "prd-out");
    pathf(rep, sizeof rep, "%s/prd.jsonl", g_root);
    pathf(p, sizeof p, "%s/a.jpg", in);
    write_jpeg(p, 150, 120, 50);
    pathf(p, sizeof p, "%s/dir/b.jpg", in);
    write_jpeg(p, 150, 120, 51);
    pathf(p, sizeof p, "%s/dir/inner/c.jpg", in);
    write_jpeg(p, 150, 120, 52);
    expect_exit(RUN(NULL, in, out), 0);
    sleep_s(1.2); /* MEMO_RACY_S: the next run writes a memo per directory */
    expect_exit(RUN(NULL, in, out), 0);
    assert_int_equal(memo_count(out), 3);
    pathf(p, sizeof p, "%s/dir", in);
    rm_tree(p);
    expect_exit(RUN(NULL, "--prune", "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    assert_int_equal(e2e_report_count(&r, "pruned"), 2);
    e2e_report_free(&r);
    assert_int_equal(memo_count(out), 1); /* the top directory's */
    pathf(p, sizeof p, "%s/dir", out);
    if (exists(p))
        fail_msg("the output directory of a removed source directory is still there");
    strlist got = tree(out);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0], "a.jpg");
    strlist_free(&got);
}

/* ------------------------------------------------------------------------ */
/* 8. -v                                                                      */

static int count_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    int n = 0;
    regmatch_t m;
    for (const char *p = text; !regexec(&re, p, 1, &m, 0); p += m.rm_eo > 0 ? m.rm_eo : 1)
        n++;
    regfree(&re);
    return n;
}

static void test_verbose_lines(void **state)
{
    (void)state;
    char in[600], out[600], p[900];
    fresh(in, sizeof in, "v-in");
    fresh(out, sizeof out, "v-out");
    make_small_tree(in);
    pathf(p, sizeof p, "%s/bad.jpg", in);
    WRITE_LIT(p, "garbage, not a JPEG at all");

    expect_exit(RUN(NULL, "-v", in, out), 1);
    char *err = e2e_slurp(g_last_err, NULL);
    assert_non_null(err);
    if (strchr(err, '\r'))
        fail_msg("a progress line ('\\r') on a stderr that is not a terminal");
    for (int i = 0; i < SMALL_N; i++) {
        char pat[600];
        pathf(pat, sizeof pat, "^ok {8}%s -> %s \\([0-9]+\\.[0-9] ms\\)$", SMALL_SRC[i], SMALL_OUT[i]);
        if (count_matches(err, pat) != 1)
            fail_msg("no single line /%s/ in:\n%s", pat, err);
    }
    if (count_matches(err, "^failed {4}bad\\.jpg: .+$") != 1)
        fail_msg("no 'failed    bad.jpg: ...' line in:\n%s", err);
    assert_int_equal(count_matches(err, "^(ok|failed|skipped|cancelled|pruned) "), SMALL_N + 1);
    free(err);

    /* Re-run: skipped lines, the known-bad file not decoded again (exit 4);
     * without -v: no per-file lines at all. */
    expect_exit(RUN(NULL, "-v", in, out), 4);
    err = e2e_slurp(g_last_err, NULL);
    assert_int_equal(count_matches(err, "^skipped {3}[^ ]+ -> [^ ]+$"), SMALL_N);
    assert_int_equal(count_matches(err, "^failed {4}bad\\.jpg: known bad, unchanged since it failed: .+$"), 1);
    assert_null(strchr(err, '\r'));
    free(err);
    expect_exit(RUN(NULL, in, out), 4);
    err = e2e_slurp(g_last_err, NULL);
    assert_int_equal(count_matches(err, "^(ok|failed|skipped) "), 0);
    assert_null(strchr(err, '\r'));
    assert_non_null(strstr(err, "thumbd: "));
    free(err);
}

/* OUT_DIR must not be IN_DIR itself (the next run would take the
 * thumbnails for sources); a directory inside IN_DIR is fine and skipped by
 * the scan. */
static void test_out_dir_is_in_dir(void **state)
{
    (void)state;
    char in[600], sub[700];
    fresh(in, sizeof in, "same-in");
    make_small_tree(in);
    io o = {0};
    expect_exit(RUN(&o, in, in), 2);
    if (!e2e_file_has(g_last_err, "OUT_DIR is IN_DIR"))
        fail_msg("the message does not say OUT_DIR is IN_DIR: %s", e2e_slurp(g_last_err, NULL));
    char p[800];
    pathf(p, sizeof p, "%s/.thumbd.lock", in);
    assert_int_equal(access(p, F_OK), -1); /* nothing written into it */
    pathf(sub, sizeof sub, "%s/thumbs", in);
    expect_exit(RUN(&o, in, sub), 0);
    pathf(p, sizeof p, "%s/sub/c.jpg", sub);
    assert_int_equal(access(p, F_OK), 0);
    expect_exit(RUN(&o, in, sub), 0); /* and the re-run does not read thumbs/ */
}

/* ------------------------------------------------------------------------ */
/* Regressions: bugs found by these tests, since fixed                        */

/* Shards of one split started at the same moment (a Kubernetes Indexed Job,
 * an AWS Batch array), without --wait-lock, must all run. A shard may hold
 * OUT_DIR's lock exclusively for an instant (to look for a killed run's
 * marker) before it downgrades to shared; the others must wait for it
 * rather than exit 75. (Before the fix: 1 start in 10 failed.) */
static void test_shards_started_together(void **state)
{
    (void)state;
    char in[600], out[600], log[3][700];
    fresh(in, sizeof in, "race-in");
    make_small_tree(in);
    int failures = 0;
    for (int round = 0; round < 30; round++) {
        fresh(out, sizeof out, "race-out");
        e2e_child pid[3];
        char spec[3][8];
        for (int k = 0; k < 3; k++) {
            pathf(log[k], sizeof log[k], "%s/race%d.log", g_root, k);
            pathf(spec[k], sizeof spec[k], "%d/3", k);
            io o = {.err = log[k]};
            pid[k] = SPAWN(&o, "--quiet", "--shard", spec[k], in, out);
        }
        for (int k = 0; k < 3; k++) {
            int code = finish(&pid[k], RUN_TIMEOUT_S);
            if (code != 0) {
                char *e = e2e_slurp(log[k], NULL);
                printf("  round %d: shard %s exited %d: %s", round, spec[k], code, e ? e : "");
                free(e);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* A run that does not save the fingerprint (a --files-from run, or one cut
 * short) but writes thumbnails with OTHER options leaves them stamped with
 * their source's mtime under the old fingerprint: the next run with the old
 * options would take them as up to date. A run with other options must
 * forget the old fingerprint when it starts. */
static void test_partial_run_with_other_options(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600];
    fresh(in, sizeof in, "stale-in");
    fresh(out, sizeof out, "stale-out");
    pathf(rep, sizeof rep, "%s/stale.jsonl", g_root);
    pathf(list, sizeof list, "%s/stale.list", g_root);
    make_small_tree(in);
    small_run(NULL, in, out, rep, "ok", NULL, NULL); /* quality 85, saved */
    WRITE_LIT(list, "a.jpg\n");
    expect_exit(RUN(NULL, "-q", "20", "-r", rep, "--files-from", list, in, out), 0);
    expect_exit(RUN(NULL, "-r", rep, in, out), 0);
    e2e_report r = load_report(rep);
    const e2e_jrec *x = must_rec(&r, "a.jpg");
    if (strcmp(str(x, "status"), "ok"))
        fail_msg("a.jpg's thumbnail was made at -q 20 by a --files-from run, and a -q 85 run "
                 "took it as up to date (%s)", str(x, "status"));
    e2e_report_free(&r);

    /* The same with a run cut short by its deadline. */
    fresh(out, sizeof out, "stale-out2");
    expect_exit(RUN(NULL, "-j", "1", g_big, out), 0);
    expect_exit(RUN(NULL, "-j", "1", "--force", "-q", "20", "--deadline", "0.1", g_big, out), 124);
    expect_exit(RUN(NULL, "-r", rep, g_big, out), 0);
    r = load_report(rep);
    int skipped = e2e_report_count(&r, "skipped");
    e2e_report_free(&r);
    /* Every thumbnail rewritten at -q 20 must be redone; simplest sign: not
     * all are skipped. */
    if (skipped == BIG)
        fail_msg("thumbnails written at -q 20 by a run cut short were all taken as up to date");
}

/* --files-from applies the collision rule of a tree walk: with a.jpg and an
 * opaque a.png listed together, a.jpg is thumbnailed and a.png fails (they
 * used to both get `ok` with the same `out`, the last one winning). */
static void test_files_from_name_collision(void **state)
{
    (void)state;
    char in[600], out[600], rep[600], list[600], p[900];
    fresh(in, sizeof in, "coll-in");
    fresh(out, sizeof out, "coll-out");
    pathf(rep, sizeof rep, "%s/coll.jsonl", g_root);
    pathf(list, sizeof list, "%s/coll.list", g_root);
    pathf(p, sizeof p, "%s/a.jpg", in);
    write_jpeg(p, 300, 200, 60);
    pathf(p, sizeof p, "%s/a.png", in);
    write_png(p, 300, 200, 61, false);
    WRITE_LIT(list, "a.jpg\na.png\n");
    RUN(NULL, "-r", rep, "--files-from", list, in, out);
    e2e_report r = load_report(rep);
    expect_status(&r, "a.jpg", "ok");
    expect_status(&r, "a.png", "failed");
    e2e_report_free(&r);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s THUMBD_BIN THUMBD_GEN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_gen = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rerun_incremental),
        cmocka_unit_test(test_rerun_memos),
        cmocka_unit_test(test_state_saved_only_by_complete_runs),
        cmocka_unit_test(test_lock_busy_exits_75),
        cmocka_unit_test(test_wait_lock_waits_for_release),
        cmocka_unit_test(test_killed_run_lock_never_blocks),
        cmocka_unit_test(test_files_from_list),
        cmocka_unit_test(test_files_from_stdin_nul),
        cmocka_unit_test(test_files_from_stream),
        cmocka_unit_test(test_shards_partition_the_tree),
        cmocka_unit_test(test_shard_first_run_keeps_others),
        cmocka_unit_test(test_shard_from_environment),
        cmocka_unit_test(test_environment_options),
        cmocka_unit_test(test_metrics_prometheus),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_prune_removed_directory),
        cmocka_unit_test(test_verbose_lines),
        cmocka_unit_test(test_out_dir_is_in_dir),
        cmocka_unit_test(test_shards_started_together),
        cmocka_unit_test(test_partial_run_with_other_options),
        cmocka_unit_test(test_files_from_name_collision),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
