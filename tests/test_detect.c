/* End-to-end tests of which files are images and how they are boxed:
 * --detect content (files named anything, known by their first bytes), the
 * JPEG/PNG name aliases, 65535-pixel strips under the default
 * --max-dimension, the --size forms 200, 200x and x200, and a single file
 * given as IN.
 *
 *   test_detect THUMBD_BIN
 *
 * Images are made here (libjpeg, libpng, GIFs written by hand) in a fresh
 * directory under $TMPDIR (or /tmp); THUMBD_DETECT_KEEP=1 keeps it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "e2e_util.h"

extern char **environ;

enum { RUN_TIMEOUT_S = 60, MAX_RECS = 256 };

/* ------------------------------------------------------------------------ */
/* Images                                                                     */

static void grey_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        row[i] = (uint8_t)((i * 7 + y * 13) & 0xFF);
}

static void jpeg_at(const char *path, int w, int h)
{
    CHECK(write_rgb_jpeg(path, w, h, 85, grey_row, NULL) == 0, "cannot write %s", path);
}

static void png_at(const char *path, int w, int h)
{
    png_image im = {.version = PNG_IMAGE_VERSION, .width = (png_uint_32)w, .height = (png_uint_32)h,
                    .format = PNG_FORMAT_RGB};
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *px = malloc(n);
    assert_non_null(px);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)(i * 5);
    int ok = png_image_write_to_file(&im, path, 0, px, 0, NULL);
    free(px);
    CHECK(ok, "cannot write %s: %s", path, im.message);
}

/* A GIF of w x h pixels of colour 0, written by hand: LZW with 8-bit codes
 * (minimum code size 7) and a clear code before every 100 literals, so that
 * the code width never grows and each code is one byte. */
static void gif_at(const char *path, int w, int h)
{
    size_t px = (size_t)w * (size_t)h, codes = px + px / 100 + 3;
    uint8_t *lzw = malloc(codes), *out = malloc(64 + codes + codes / 255 + 16);
    assert_true(lzw && out);
    size_t n = 0;
    for (size_t i = 0; i < px; i++) {
        if (i % 100 == 0)
            lzw[n++] = 128; /* clear */
        lzw[n++] = 0;
    }
    lzw[n++] = 129; /* end of information */
    size_t o = 0;
    memcpy(out, "GIF89a", 6);
    o = 6;
    out[o++] = (uint8_t)w, out[o++] = (uint8_t)(w >> 8), out[o++] = (uint8_t)h, out[o++] = (uint8_t)(h >> 8);
    out[o++] = 0x80 | 0x06; /* a global colour table of 128 entries */
    out[o++] = 0, out[o++] = 0;
    for (int i = 0; i < 128; i++)
        out[o++] = (uint8_t)(i * 2), out[o++] = 0x40, out[o++] = (uint8_t)(255 - i * 2);
    size_t hdr = o;
    uint8_t *img = realloc(out, hdr + 10 + 1 + n + n / 255 + 8);
    assert_non_null(img);
    out = img;
    out[o++] = 0x2C; /* image descriptor at 0,0, w x h, no local table */
    memset(out + o, 0, 4), o += 4;
    out[o++] = (uint8_t)w, out[o++] = (uint8_t)(w >> 8), out[o++] = (uint8_t)h, out[o++] = (uint8_t)(h >> 8);
    out[o++] = 0;
    out[o++] = 7; /* minimum code size */
    for (size_t at = 0; at < n; at += 255) {
        size_t k = n - at < 255 ? n - at : 255;
        out[o++] = (uint8_t)k;
        memcpy(out + o, lzw + at, k);
        o += k;
    }
    out[o++] = 0;
    out[o++] = 0x3B;
    write_file(path, out, o);
    free(lzw);
    free(out);
}

static void text_at(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

typedef struct run {
    e2e_proc pr;
    char err[8192];           /* stderr, NUL-terminated (cut) */
    e2e_jrec rec[MAX_RECS];
    int n;
} run;

static void run_free(run *r)
{
    for (int i = 0; i < r->n; i++)
        e2e_jrec_free(&r->rec[i]);
    r->n = 0;
}

/* thumbd args... IN OUT --report tag.jsonl, in a cleaned environment (no
 * THUMBD_* variable of the caller's). */
static void run_thumbd(run *r, const char *tag, const char *in, const char *out, const char *const *args)
{
    char rep[600], so[600], se[600];
    pathf(rep, sizeof rep, "%s/%s.jsonl", e2e_root, tag);
    pathf(so, sizeof so, "%s/%s.out", e2e_root, tag);
    pathf(se, sizeof se, "%s/%s.err", e2e_root, tag);
    unlink(rep);
    char *argv[40];
    int c = 0;
    argv[c++] = (char *)e2e_bin;
    argv[c++] = "--report-skipped"; /* re-runs are checked by their skipped records */
    for (int i = 0; args && args[i] && c < 34; i++)
        argv[c++] = (char *)args[i];
    argv[c++] = "--report";
    argv[c++] = rep;
    argv[c++] = (char *)in;
    argv[c++] = (char *)out;
    argv[c] = NULL;
    char *envp[256];
    int e = 0;
    for (char **p = environ; *p && e < 255; p++)
        if (strncmp(*p, "THUMBD_", 7))
            envp[e++] = *p;
    envp[e] = NULL;
    memset(r, 0, sizeof *r);
    r->pr = e2e_run(argv, envp, so, se, RUN_TIMEOUT_S, 10, tag);
    uint8_t *d;
    size_t len;
    if (read_file(se, &d, &len) == 0) {
        size_t k = len < sizeof r->err - 1 ? len : sizeof r->err - 1;
        memcpy(r->err, d, k);
        free(d);
    }
    if (read_file(rep, &d, &len) != 0)
        return;
    char *text = malloc(len + 1);
    assert_non_null(text);
    memcpy(text, d, len);
    text[len] = '\0';
    free(d);
    for (char *line = strtok(text, "\n"); line && r->n < MAX_RECS; line = strtok(NULL, "\n")) {
        CHECK(e2e_jrec_parse(line, &r->rec[r->n], E2E_JREC_MAX, true), "%s: bad record %s", tag, line);
        r->n++;
    }
    free(text);
}

static const e2e_jrec *rec_of(const run *r, const char *src)
{
    for (int i = 0; i < r->n; i++) {
        const e2e_jfield *f = e2e_jrec_get(&r->rec[i], "src");
        if (f && f->type == E2E_J_STR && !strcmp(f->s, src))
            return &r->rec[i];
    }
    return NULL;
}

static const char *str_of(const e2e_jrec *x, const char *key)
{
    const e2e_jfield *f = x ? e2e_jrec_get(x, key) : NULL;
    return f && f->type == E2E_J_STR ? f->s : "(none)";
}

static int num_of(const e2e_jrec *x, const char *key)
{
    const e2e_jfield *f = x ? e2e_jrec_get(x, key) : NULL;
    return f && f->type == E2E_J_NUM ? (int)f->n : -1;
}

/* src has a record of status st (and, unless out is NULL, that output). */
static void expect(const run *r, const char *tag, const char *src, const char *st, const char *out)
{
    const e2e_jrec *x = rec_of(r, src);
    CHECK(x, "%s: no record of %s", tag, src);
    if (!x)
        return;
    CHECK(!strcmp(str_of(x, "status"), st), "%s: %s is %s (%s), want %s", tag, src, str_of(x, "status"),
          str_of(x, "error"), st);
    if (out)
        CHECK(!strcmp(str_of(x, "out"), out), "%s: %s -> %s, want %s", tag, src, str_of(x, "out"), out);
}

/* src's thumbnail is w x h. */
static void expect_dims(const run *r, const char *tag, const char *src, int w, int h)
{
    const e2e_jrec *x = rec_of(r, src);
    CHECK(x && num_of(x, "out_w") == w && num_of(x, "out_h") == h, "%s: %s is %dx%d (%s: %s), want %dx%d",
          tag, src, num_of(x, "out_w"), num_of(x, "out_h"), str_of(x, "status"), str_of(x, "error"), w, h);
}

static void dir_at(char *buf, size_t n, const char *name)
{
    pathf(buf, n, "%s/%s", e2e_root, name);
    rm_tree(buf);
    CHECK(mkdir(buf, 0755) == 0, "mkdir %s: %s", buf, strerror(errno));
}

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    pathf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* ------------------------------------------------------------------------ */
/* --detect                                                                   */

/* Files named anything are images by their bytes; other files, a FIFO and a
 * text file named .jpg are ignored without a record; a re-run skips them. */
static void test_detect_content(void **state)
{
    (void)state;
    begin_checks();
    char in[600], out[600], out2[600], p[800];
    dir_at(in, sizeof in, "content-in");
    pathf(out, sizeof out, "%s/content-out", e2e_root);
    pathf(out2, sizeof out2, "%s/content-out-ext", e2e_root);
    pathf(p, sizeof p, "%s/noext", in), jpeg_at(p, 400, 300);
    pathf(p, sizeof p, "%s/3f9a0c7d21be", in), png_at(p, 300, 300);
    pathf(p, sizeof p, "%s/anim", in), gif_at(p, 300, 100);
    pathf(p, sizeof p, "%s/photo.txt", in), jpeg_at(p, 250, 250);
    pathf(p, sizeof p, "%s/blob.bin", in), png_at(p, 64, 64);
    pathf(p, sizeof p, "%s/x.jpg", in), text_at(p, "not an image at all\n");
    pathf(p, sizeof p, "%s/notes.txt", in), text_at(p, "<?xml version=\"1.0\"?><html></html>\n");
    pathf(p, sizeof p, "%s/empty", in), text_at(p, "");
    pathf(p, sizeof p, "%s/fifo", in);
    CHECK(mkfifo(p, 0644) == 0, "mkfifo: %s", strerror(errno));
    pathf(p, sizeof p, "%s/sub", in), mkdir(p, 0755);
    pathf(p, sizeof p, "%s/sub/deep", in), jpeg_at(p, 500, 400);

    static const char *const content[] = {"--detect", "content", NULL};
    run r;
    run_thumbd(&r, "content-1", in, out, content);
    CHECK(r.pr.code == 0, "content-1: exit %d, want 0: %s", r.pr.code, r.err);
    expect(&r, "content-1", "noext", "ok", "noext.jpg");
    expect(&r, "content-1", "3f9a0c7d21be", "ok", "3f9a0c7d21be.jpg");
    expect(&r, "content-1", "anim", "ok", NULL);
    expect(&r, "content-1", "photo.txt", "ok", "photo.jpg");
    expect(&r, "content-1", "blob.bin", "ok", "blob.jpg");
    expect(&r, "content-1", "sub/deep", "ok", "sub/deep.jpg");
    static const char *const none[] = {"x.jpg", "notes.txt", "empty", "fifo"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        CHECK(!rec_of(&r, none[i]), "content-1: %s has a record", none[i]);
    CHECK(r.n == 6, "content-1: %d records, want 6", r.n);
    CHECK(strstr(r.err, "3 other files ignored"), "content-1: summary: %s", r.err);
    CHECK(exists(out, "noext.jpg") && exists(out, "sub/deep.jpg") && exists(out, "photo.jpg"),
          "content-1: thumbnails missing");
    run_free(&r);

    run_thumbd(&r, "content-2", in, out, content);
    CHECK(r.pr.code == 0, "content-2: exit %d, want 0: %s", r.pr.code, r.err);
    static const char *const imgs[] = {"noext", "3f9a0c7d21be", "anim", "photo.txt", "blob.bin", "sub/deep"};
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++)
        expect(&r, "content-2", imgs[i], "skipped", NULL);
    run_free(&r);

    /* A --files-from list is judged the same way. */
    char list[800], out3[600];
    pathf(list, sizeof list, "%s/content-list.txt", e2e_root);
    pathf(out3, sizeof out3, "%s/content-out-list", e2e_root);
    text_at(list, "noext\nx.jpg\nnotes.txt\nsub/deep\n");
    const char *listed[] = {"--detect", "content", "--files-from", list, NULL};
    run_thumbd(&r, "content-list", in, out3, listed);
    CHECK(r.pr.code == 0, "content-list: exit %d, want 0: %s", r.pr.code, r.err);
    expect(&r, "content-list", "noext", "ok", "noext.jpg");
    expect(&r, "content-list", "sub/deep", "ok", "sub/deep.jpg");
    CHECK(r.n == 2, "content-list: %d records, want 2", r.n);
    run_free(&r);

    /* By name (the default): the text named x.jpg fails, the others are
     * not images. */
    run_thumbd(&r, "content-ext", in, out2, NULL);
    CHECK(r.pr.code == 1, "content-ext: exit %d, want 1: %s", r.pr.code, r.err);
    expect(&r, "content-ext", "x.jpg", "failed", NULL);
    CHECK(r.n == 1, "content-ext: %d records, want only x.jpg's", r.n);
    run_free(&r);
    end_checks();
}

/* A big directory (the stat prober's helper thread joins in): every
 * extension-less image among as many text files is found. */
static void test_detect_content_big_dir(void **state)
{
    (void)state;
    begin_checks();
    char in[600], out[600], p[800];
    dir_at(in, sizeof in, "big-in");
    pathf(out, sizeof out, "%s/big-out", e2e_root);
    enum { N = 150 };
    for (int i = 0; i < N; i++) {
        pathf(p, sizeof p, "%s/img%03d", in, i), png_at(p, 8, 8);
        pathf(p, sizeof p, "%s/txt%03d", in, i), text_at(p, "plain text, long enough to read 64 bytes of it......\n");
    }
    static const char *const content[] = {"--detect", "content", "-j", "2", NULL};
    run r;
    run_thumbd(&r, "big-1", in, out, content);
    CHECK(r.pr.code == 0, "big-1: exit %d: %s", r.pr.code, r.err);
    int ok = 0;
    for (int i = 0; i < r.n; i++)
        ok += !strcmp(str_of(&r.rec[i], "status"), "ok") && !strncmp(str_of(&r.rec[i], "src"), "img", 3);
    CHECK(ok == N && r.n == N, "big-1: %d ok of %d records, want %d", ok, r.n, N);
    run_free(&r);
    run_thumbd(&r, "big-2", in, out, content);
    int skipped = 0;
    for (int i = 0; i < r.n; i++)
        skipped += !strcmp(str_of(&r.rec[i], "status"), "skipped");
    CHECK(r.pr.code == 0 && skipped == N && r.n == N, "big-2: exit %d, %d skipped of %d, want %d", r.pr.code,
          skipped, r.n, N);
    run_free(&r);
    end_checks();
}

/* .jfif .pjpeg .pjp .mpo are JPEG names and .apng a PNG name. */
static void test_ext_aliases(void **state)
{
    (void)state;
    begin_checks();
    char in[600], out[600], p[800];
    dir_at(in, sizeof in, "alias-in");
    pathf(out, sizeof out, "%s/alias-out", e2e_root);
    static const char *const jpegs[] = {"a.jfif", "b.pjpeg", "c.pjp", "d.mpo", "e.JFIF"};
    for (size_t i = 0; i < sizeof jpegs / sizeof *jpegs; i++)
        pathf(p, sizeof p, "%s/%s", in, jpegs[i]), jpeg_at(p, 300, 200);
    pathf(p, sizeof p, "%s/f.apng", in), png_at(p, 300, 200);
    run r;
    run_thumbd(&r, "alias", in, out, NULL);
    CHECK(r.pr.code == 0, "alias: exit %d: %s", r.pr.code, r.err);
    expect(&r, "alias", "a.jfif", "ok", "a.jpg");
    expect(&r, "alias", "b.pjpeg", "ok", "b.jpg");
    expect(&r, "alias", "c.pjp", "ok", "c.jpg");
    expect(&r, "alias", "d.mpo", "ok", "d.jpg");
    expect(&r, "alias", "e.JFIF", "ok", "e.jpg");
    expect(&r, "alias", "f.apng", "ok", "f.jpg");
    run_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* --max-dimension 65535                                                      */

/* Strips at the formats' limits (65535 for PNG and GIF, libjpeg's 65500 for
 * JPEG), both ways, are thumbnailed under the default limits. */
static void test_long_strips(void **state)
{
    (void)state;
    begin_checks();
    char in[600], out[600], p[800];
    dir_at(in, sizeof in, "strip-in");
    pathf(out, sizeof out, "%s/strip-out", e2e_root);
    pathf(p, sizeof p, "%s/wide-png.png", in), png_at(p, 65535, 1);
    pathf(p, sizeof p, "%s/tall-png.png", in), png_at(p, 1, 65535);
    pathf(p, sizeof p, "%s/wide-jpg.jpg", in), jpeg_at(p, 65500, 1);
    pathf(p, sizeof p, "%s/tall-jpg.jpg", in), jpeg_at(p, 1, 65500);
    pathf(p, sizeof p, "%s/wide-gif.gif", in), gif_at(p, 65535, 1);
    pathf(p, sizeof p, "%s/tall-gif.gif", in), gif_at(p, 1, 65535);
    run r;
    run_thumbd(&r, "strip", in, out, NULL);
    CHECK(r.pr.code == 0, "strip: exit %d: %s", r.pr.code, r.err);
    /* cover 200x200 without enlarge: a 200-pixel window of the strip */
    static const char *const wide[] = {"wide-png.png", "wide-jpg.jpg", "wide-gif.gif"};
    static const char *const tall[] = {"tall-png.png", "tall-jpg.jpg", "tall-gif.gif"};
    for (int i = 0; i < 3; i++) {
        expect_dims(&r, "strip", wide[i], 200, 1);
        expect_dims(&r, "strip", tall[i], 1, 200);
    }
    run_free(&r);
    static const char *const inside[] = {"--fit", "inside", "--force", NULL};
    run_thumbd(&r, "strip-inside", in, out, inside);
    CHECK(r.pr.code == 0, "strip-inside: exit %d: %s", r.pr.code, r.err);
    for (int i = 0; i < 3; i++) {
        expect_dims(&r, "strip-inside", wide[i], 200, 1);
        expect_dims(&r, "strip-inside", tall[i], 1, 200);
    }
    run_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* --size W, Wx, xH                                                           */

static void size_run(const char *tag, const char *in, const char *size, const char *fit)
{
    char out[600];
    pathf(out, sizeof out, "%s/%s-out", e2e_root, tag);
    const char *args[] = {"-s", size, "--fit", fit, NULL};
    run r;
    run_thumbd(&r, tag, in, out, args);
    CHECK(r.pr.code == 0, "%s: exit %d: %s", tag, r.pr.code, r.err);
    /* a.jpg 400x300, b.png 300x600, c.gif 400x200 (libvips) */
    if (!strcmp(size, "100")) {
        bool cover = !strcmp(fit, "cover");
        expect_dims(&r, tag, "a.jpg", 100, cover ? 100 : 75);
        expect_dims(&r, tag, "b.png", cover ? 100 : 50, 100);
        expect_dims(&r, tag, "c.gif", 100, cover ? 100 : 50);
    } else if (!strcmp(size, "100x")) {
        expect_dims(&r, tag, "a.jpg", 100, 75);
        expect_dims(&r, tag, "b.png", 100, 200);
        expect_dims(&r, tag, "c.gif", 100, 50);
    } else {
        expect_dims(&r, tag, "a.jpg", 133, 100);
        expect_dims(&r, tag, "b.png", 50, 100);
        expect_dims(&r, tag, "c.gif", 200, 100);
    }
    run_free(&r);
}

/* -s 100 is a 100x100 box; -s 100x and -s x100 bound one side only, with
 * either --fit (cover with a side unbounded crops nothing), on the native
 * and the libvips path. */
static void test_size_forms(void **state)
{
    (void)state;
    begin_checks();
    char in[600], p[800];
    dir_at(in, sizeof in, "size-in");
    pathf(p, sizeof p, "%s/a.jpg", in), jpeg_at(p, 400, 300);
    pathf(p, sizeof p, "%s/b.png", in), png_at(p, 300, 600);
    pathf(p, sizeof p, "%s/c.gif", in), gif_at(p, 400, 200);
    size_run("size-square-cover", in, "100", "cover");
    size_run("size-square-inside", in, "100", "inside");
    size_run("size-w-cover", in, "100x", "cover");
    size_run("size-w-inside", in, "100x", "inside");
    size_run("size-h-cover", in, "x100", "cover");
    size_run("size-h-inside", in, "x100", "inside");
    char out[600];
    pathf(out, sizeof out, "%s/size-bad-out", e2e_root);
    static const char *const bad[] = {"-s", "x", NULL};
    run r;
    run_thumbd(&r, "size-bad", in, out, bad);
    CHECK(r.pr.code == 2 && strstr(r.err, "size"), "-s x: exit %d, want 2: %s", r.pr.code, r.err);
    run_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* A single file as IN                                                        */

/* Only the entries of dir that do not start with '.'. */
static int visible_entries(const char *dir, char *first, size_t n)
{
    char cmd[800];
    pathf(cmd, sizeof cmd, "ls -1 '%s'", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int count = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (count++ == 0)
            snprintf(first, n, "%s", line);
    }
    pclose(f);
    return count;
}

static void test_single_file(void **state)
{
    (void)state;
    begin_checks();
    char in[600], out[600], src[800], p[800], first[512] = "";
    dir_at(in, sizeof in, "single-in");
    pathf(out, sizeof out, "%s/single-out", e2e_root);
    pathf(src, sizeof src, "%s/photo.png", in), png_at(src, 400, 300);
    pathf(p, sizeof p, "%s/other.jpg", in), jpeg_at(p, 100, 100);
    run r;
    run_thumbd(&r, "single-1", src, out, NULL);
    CHECK(r.pr.code == 0, "single-1: exit %d: %s", r.pr.code, r.err);
    expect(&r, "single-1", "photo.png", "ok", "photo.jpg");
    CHECK(r.n == 1, "single-1: %d records, want 1", r.n);
    CHECK(visible_entries(out, first, sizeof first) == 1 && !strcmp(first, "photo.jpg"),
          "single-1: OUT_DIR holds more than photo.jpg (first: %s)", first);
    run_free(&r);

    run_thumbd(&r, "single-2", src, out, NULL);
    CHECK(r.pr.code == 0, "single-2: exit %d: %s", r.pr.code, r.err);
    expect(&r, "single-2", "photo.png", "skipped", "photo.jpg");
    run_free(&r);

    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    CHECK(utimes(src, tv) == 0, "utimes: %s", strerror(errno));
    run_thumbd(&r, "single-3", src, out, NULL);
    expect(&r, "single-3", "photo.png", "ok", "photo.jpg");
    run_free(&r);

    /* A file without extension; its directory given as ".": relative. */
    pathf(p, sizeof p, "%s/d41d8cd98f00", in), jpeg_at(p, 300, 300);
    run_thumbd(&r, "single-noext", p, out, NULL);
    CHECK(r.pr.code == 0, "single-noext: exit %d: %s", r.pr.code, r.err);
    expect(&r, "single-noext", "d41d8cd98f00", "ok", "d41d8cd98f00.jpg");
    run_free(&r);

    /* What needs a directory refuses a file, before anything is written. */
    char out3[600];
    pathf(out3, sizeof out3, "%s/single-prune-out", e2e_root);
    static const char *const prune[] = {"--prune", NULL};
    run_thumbd(&r, "single-prune", src, out3, prune);
    CHECK(r.pr.code == 2 && strstr(r.err, "--prune"), "single --prune: exit %d, want 2: %s", r.pr.code,
          r.err);
    CHECK(!exists(out3, ""), "single --prune: OUT_DIR created");
    run_free(&r);
    static const char *const list[] = {"--files-from", "/dev/null", NULL};
    run_thumbd(&r, "single-list", src, out3, list);
    CHECK(r.pr.code == 2 && strstr(r.err, "--files-from"), "single --files-from: exit %d, want 2: %s",
          r.pr.code, r.err);
    run_free(&r);

    /* A FIFO given as IN is never opened: a failed record, no hang. */
    pathf(p, sizeof p, "%s/pipe", in);
    CHECK(mkfifo(p, 0644) == 0, "mkfifo: %s", strerror(errno));
    run_thumbd(&r, "single-fifo", p, out, NULL);
    CHECK(r.pr.code == 1, "single-fifo: exit %d, want 1: %s", r.pr.code, r.err);
    expect(&r, "single-fifo", "pipe", "failed", NULL);
    run_free(&r);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_content),
        cmocka_unit_test(test_detect_content_big_dir),
        cmocka_unit_test(test_ext_aliases),
        cmocka_unit_test(test_long_strips),
        cmocka_unit_test(test_size_forms),
        cmocka_unit_test(test_single_file),
    };
    return e2e_main(argc, argv, "detect", tests, sizeof tests / sizeof tests[0]);
}
