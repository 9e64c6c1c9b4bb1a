/* End-to-end tests of filesystem faults and attacks, through the real thumbd
 * binary:
 *
 *   (a) symlinks planted in OUT_DIR (at directory and file positions, at a
 *       temporary-file name, at thumbd's state, marker and lock files) never
 *       make thumbd write or delete outside it;
 *   (b) symlinks in IN_DIR are not followed by default; with
 *       --follow-symlinks, loops are detected and the run ends;
 *   (c) FIFOs, a UNIX socket and a character device in IN_DIR are skipped
 *       without being opened, and the run does not hang;
 *   (d) unreadable files and directories (and an unwritable output
 *       directory) give failed records while the rest goes on: thumbd runs
 *       as nobody (setpriv) when the tests run as root;
 *   (e) a file-size limit (RLIMIT_FSIZE) and a full tmpfs: clear errors, no
 *       truncated thumbnail at a final name, earlier thumbnails intact, no
 *       temporary files left, no death by SIGXFSZ; a report cut short by
 *       the limit is not a success;
 *   (g) a source that changes while thumbd reads it is reported, not
 *       thumbnailed.
 *
 * (f) (no metadata in thumbnails) is covered by test_e2e.
 *
 *   test_fsfaults THUMBD_BIN
 *
 * THUMBD_FSFAULTS_KEEP=1 keeps the temporary directory. */
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
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "e2e_util.h"

enum {
    RUN_TIMEOUT_S = 60,
    NOBODY = 65534,
    FSIZE_LIMIT = 12 * 1024,   /* a flat 200x200 thumbnail fits, a noisy one does not */
};

static const char *g_bin;
static char g_tmp[512];

/* path = g_tmp/<printf> (asserts it fits). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void tpath(char *dst, size_t n, const char *f, ...)
{
    int k = snprintf(dst, n, "%s/", g_tmp);
    assert_true(k > 0 && (size_t)k < n);
    va_list ap;
    va_start(ap, f);
    int m = vsnprintf(dst + k, n - (size_t)k, f, ap);
    va_end(ap);
    assert_true(m >= 0 && (size_t)(k + m) < n);
}

/* snprintf into the array buf; a path that does not fit fails the test. */
#define PF(buf, ...) pf_fits(snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf)

static void pf_fits(int n, size_t size)
{
    assert_true(n >= 0 && (size_t)n < size);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

static void mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    PF(tmp, "%s", path);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(tmp, mode);
            *s = '/';
        }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
}

static bool read_all(const char *path, uint8_t **d, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    size_t r;
    while ((r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
    }
    fclose(f);
    *d = b;
    *n = len;
    return true;
}

/* true if path holds exactly these bytes (and is a regular file, not a link) */
static bool same_bytes(const char *path, const void *d, size_t n)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    uint8_t *got;
    size_t len;
    if (!read_all(path, &got, &len))
        return false;
    bool same = len == n && !memcmp(got, d, n);
    free(got);
    return same;
}

/* rm -rf path that first makes every directory 0700, so that the trees the
 * tests made unreadable or unwritable go too (e2e_util's rm_tree leaves
 * them). */
static void rm_tree_chmod(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[PATH_MAX];
            PF(p, "%s/%s", path, de->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                chmod(p, 0700);
                rm_tree_chmod(p);
            } else {
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

typedef strlist names; /* e2e_util.h */

/* Relative paths of every entry under root (directories too, marked with a
 * trailing '/'); symlinks are listed, not followed. */
static void list_rec(const char *root, const char *rel, names *out)
{
    char dir[PATH_MAX];
    PF(dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char r2[PATH_MAX], full[PATH_MAX * 2];
        PF(r2, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        PF(full, "%s/%s", root, r2);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            char withslash[PATH_MAX + 1];
            PF(withslash, "%s/", r2);
            strlist_add(out, withslash);
            list_rec(root, r2, out);
        } else {
            strlist_add(out, r2);
        }
    }
    closedir(d);
}

static void list_sorted(const char *root, names *out)
{
    list_rec(root, "", out);
    strlist_sort(out);
}

static bool base_starts(const char *rel, const char *prefix)
{
    const char *slash = strrchr(rel, '/');
    return !strncmp(slash ? slash + 1 : rel, prefix, strlen(prefix));
}

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcasecmp(name + n - e, ext);
}

/* ------------------------------------------------------------------------ */
/* Images                                                                     */

typedef struct jpeg_fill {
    bool noise;
    unsigned seed;
    uint32_t s;
} jpeg_fill;

static void fill_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)y;
    jpeg_fill *j = ctx;
    for (int i = 0; i < w * 3; i++) {
        j->s = j->s * 1103515245u + 12345u;
        row[i] = j->noise ? (uint8_t)(j->s >> 16) : (uint8_t)(60 + 40 * (i % 3) + (int)j->seed * 20);
    }
}

/* A w x h JPEG: flat (its thumbnail is ~2 KB) or noise (~30 KB). */
static void write_jpeg(const char *path, int w, int h, bool noise, unsigned seed)
{
    jpeg_fill j = {noise, seed, seed * 2654435761u + 7};
    assert_int_equal(write_rgb_jpeg(path, w, h, 92, fill_row, &j), 0);
}

/* A large RGB PNG that takes thumbd a while to decode (every row is read). */
static void write_big_png(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(p)))
        fail_msg("libpng failed writing %s", path);
    png_init_io(p, f);
    png_set_compression_level(p, 1);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint8_t *row = malloc((size_t)w * 3);
    assert_non_null(row);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            row[3 * x] = (uint8_t)(x * 255 / w);
            row[3 * x + 1] = (uint8_t)(y * 255 / h);
            row[3 * x + 2] = (uint8_t)((x ^ y) & 0xFF);
        }
        png_write_row(p, row);
    }
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(row);
    assert_int_equal(fclose(f), 0);
}

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c)
{
    longjmp(((jerr *)c->err)->jb, 1);
}

static void jerr_emit(j_common_ptr c, int level)
{
    if (level < 0)
        jerr_exit(c);
}

static bool jpeg_complete(const uint8_t *d, size_t n)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8 || d[n - 2] != 0xFF || d[n - 1] != 0xD9)
        return false;
    struct jpeg_decompress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_emit;
    uint8_t *volatile row = NULL;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&c);
        free(row);
        return false;
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, d, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    jpeg_start_decompress(&c);
    row = malloc((size_t)c.output_width * (size_t)c.output_components);
    if (!row)
        longjmp(e.jb, 1);
    while (c.output_scanline < c.output_height) {
        JSAMPROW rp = row;
        jpeg_read_scanlines(&c, &rp, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    free(row);
    return true;
}

/* A file at a final name is complete: a JPEG from SOI to EOI that decodes
 * without a warning, or a PNG ending with IEND. */
static bool complete_file(const char *path, char *why, size_t whyn)
{
    uint8_t *d;
    size_t n;
    if (!read_all(path, &d, &n)) {
        snprintf(why, whyn, "unreadable");
        return false;
    }
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    bool ok;
    if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) {
        ok = jpeg_complete(d, n);
        snprintf(why, whyn, "JPEG of %zu bytes, truncated or corrupt", n);
    } else if (n >= 20 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) {
        ok = !memcmp(d + n - 12, iend, 12);
        snprintf(why, whyn, "PNG of %zu bytes without IEND at the end", n);
    } else {
        ok = false;
        snprintf(why, whyn, "neither JPEG nor PNG (%zu bytes)", n);
    }
    free(d);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report: the string fields and total_ms                      */

typedef e2e_jrec rec;
typedef e2e_report report;

/* The report at path (e2e_report); a record without all of src, out,
 * status and error, or whose src or status is not a string, counts as bad
 * too. An unreadable report is empty. */
static void report_load(const char *path, report *rp)
{
    e2e_report_load(path, rp, 0);
    static const char *const keys[] = {"src", "out", "status", "error"};
    for (int i = 0; i < rp->n; i++) {
        bool whole = e2e_str(&rp->v[i], "src") && e2e_str(&rp->v[i], "status");
        for (int k = 0; k < 4; k++)
            whole = whole && e2e_jrec_get(&rp->v[i], keys[k]);
        rp->bad += !whole;
    }
}

static const char *errof(const rec *r)
{
    return e2e_str_or(r, "error", "null");
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

typedef struct spawn_opts {
    bool as_nobody;        /* through setpriv, when we are root */
    long fsize_limit;      /* RLIMIT_FSIZE in bytes, 0 = unchanged */
} spawn_opts;

typedef struct proc {
    e2e_child ch;
    int code;              /* exit code; 128+N for signal N; -2 timed out */
    int signo;
} proc;

/* Starts thumbd args... (NULL-terminated) with output to log; a sanitizer
 * report exits 86. */
static proc start(const spawn_opts *o, const char *log, const char *const *args)
{
    static const char *const san[] = {"ASAN_OPTIONS=exitcode=86", "UBSAN_OPTIONS=exitcode=86",
                                      NULL};
    e2e_cmd c = {.bin = g_bin, .args = args, .out = log, .san_opts = san, .echo = true,
                 .as_nobody = o && o->as_nobody && geteuid() == 0,
                 .fsize_limit = o ? o->fsize_limit : 0};
    proc p = {.code = -1};
    assert_true(e2e_start(&c, &p.ch));
    return p;
}

static void report_end(proc *p, e2e_proc r)
{
    p->code = r.code;
    p->signo = r.signo;
    printf("  -> exit %d%s%s after %.2f s\n", p->code, p->signo ? ", signal " : "",
           p->signo ? strsignal(p->signo) : "", r.wall_s);
}

/* Waits up to timeout_s since its start (then kills it). */
static void finish(proc *p, double timeout_s)
{
    report_end(p, e2e_wait(&p->ch, timeout_s, 2));
}

/* true (and the exit recorded) if it has ended. */
static bool ended(proc *p)
{
    e2e_proc r;
    if (!e2e_poll(&p->ch, &r))
        return false;
    report_end(p, r);
    return true;
}

static void show_log(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n++ < 30)
        printf("    | %s%s", line, strchr(line, '\n') ? "" : "\n");
    fclose(f);
}

/* True if pid has path open (a readlink of one of its /proc fds). */
static bool has_open(pid_t pid, const char *path)
{
    char dir[64];
    PF(dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool hit = false;
    struct dirent *de;
    while (!hit && (de = readdir(d)) != NULL) {
        char l[128], target[PATH_MAX];
        PF(l, "%s/%s", dir, de->d_name);
        ssize_t n = readlink(l, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            hit = !strcmp(target, path);
        }
    }
    closedir(d);
    return hit;
}

/* Runs thumbd to completion; the exit code (see proc). */
static int run_thumbd(const spawn_opts *o, const char *log, const char *const *args)
{
    proc p = start(o, log, args);
    finish(&p, RUN_TIMEOUT_S);
    if (p.code != 0 && p.code != 1)
        show_log(log);
    return p.code;
}

/* Exit 0 or 1: not a signal, not a timeout, no sanitizer report. */
static void check_exit(int code, const char *what)
{
    CHECK(code != -2, "%s: thumbd did not finish within %d s", what, RUN_TIMEOUT_S);
    CHECK(code < 128, "%s: thumbd was killed by signal %d (%s)", what, code - 128,
          code > 128 ? strsignal(code - 128) : "");
    CHECK(code != 86, "%s: a sanitizer reported an error", what);
}

/* No temporary file (or running marker) left anywhere under out. */
static void check_no_temps(const char *out, const char *what)
{
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++)
        CHECK(!base_starts(l.v[i], ".thumbd-tmp-"), "%s: %s left in OUT_DIR", what, l.v[i]);
    strlist_free(&l);
}

/* Every .jpg/.png under out is a complete image. */
static void check_all_complete(const char *out, const char *what)
{
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++) {
        if (!has_ext(l.v[i], ".jpg") && !has_ext(l.v[i], ".png"))
            continue;
        char p[PATH_MAX * 2], why[128];
        PF(p, "%s/%s", out, l.v[i]);
        CHECK(complete_file(p, why, sizeof why), "%s: %s at a final name: %s", what, l.v[i], why);
    }
    strlist_free(&l);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                      */

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    PF(g_tmp, "%s/thumbd-fsfaults-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    chmod(g_tmp, 0755);   /* (d) runs thumbd as nobody below it */
    printf("  temporary root %s; thumbd = %s; euid %d\n", g_tmp, g_bin, (int)geteuid());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char mnt[PATH_MAX];
    PF(mnt, "%s/e2/mnt", g_tmp);
    umount2(mnt, MNT_DETACH);   /* if a failed assertion left it mounted */
    keep_or_remove("THUMBD_FSFAULTS_KEEP", g_tmp, rm_tree_chmod);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* (a) symlinks planted in OUT_DIR                                            */

/* out/sub -> a directory outside, out/d1/d2 -> another, out/a.jpg -> a file
 * outside, out/b.jpg -> a name outside that does not exist, and (with the
 * marker of a killed run, so that thumbd sweeps its temporary files) a
 * symlink named like a temporary file -> a file outside, and a directory
 * outside holding a file named like one. Nothing outside OUT_DIR may be
 * written, created or deleted; the sources behind the links are reported. */
static void test_out_dir_symlinks(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    tpath(in, sizeof in, "a/in");
    tpath(out, sizeof out, "a/out");
    tpath(ext, sizeof ext, "a/outside");
    tpath(rep, sizeof rep, "a/report.jsonl");
    tpath(log, sizeof log, "a/log.txt");
    static const char *const srcs[] = {"a.jpg", "b.jpg", "c.jpg", "sub/x.jpg", "d1/d2/y.jpg"};
    for (size_t i = 0; i < 5; i++) {
        PF(p, "%s/%s", in, srcs[i]);
        char *slash = strrchr(p, '/');
        *slash = '\0';
        mkdir_p(p, 0755);
        *slash = '/';
        write_jpeg(p, 320, 240, false, (unsigned)i);
    }
    static const char precious[] = "precious bytes outside OUT_DIR\n";
    static const char victim[] = "a file outside OUT_DIR named like a temporary file\n";
    PF(p, "%s/dir", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/dir2", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/file.jpg", ext);
    write_file(p, precious, sizeof precious - 1);
    PF(p, "%s/file2", ext);
    write_file(p, precious, sizeof precious - 1);
    PF(p, "%s/dir/.thumbd-tmp-victim", ext);
    write_file(p, victim, sizeof victim - 1);
    PF(p, "%s/d1", out);
    mkdir_p(p, 0755);
    struct {
        const char *link, *target;
    } links[] = {
        {"sub", "dir"}, {"d1/d2", "dir2"}, {"a.jpg", "file.jpg"}, {"b.jpg", "created.jpg"},
        {".thumbd-tmp-zzz", "file2"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        PF(p, "%s/%s", out, links[i].link);
        PF(q, "%s/%s", ext, links[i].target);
        assert_int_equal(symlink(q, p), 0);
    }
    PF(p, "%s/.thumbd.run", out); /* a killed run's marker: the start sweeps */
    mkdir_p(p, 0755);
    PF(p, "%s/.thumbd.run/.thumbd-tmp-running", out);
    write_file(p, "", 0);
    names before = {0};
    list_sorted(ext, &before);

    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "out-dir symlinks");

    /* outside: byte for byte what it was */
    names after = {0};
    list_sorted(ext, &after);
    CHECK(after.n == before.n, "the directory outside OUT_DIR had %d entries, now %d", before.n,
          after.n);
    for (int i = 0; i < after.n; i++) {
        bool known = false;
        for (int k = 0; k < before.n && !known; k++)
            known = !strcmp(before.v[k], after.v[i]);
        CHECK(known, "thumbd created %s outside OUT_DIR", after.v[i]);
    }
    for (int i = 0; i < before.n; i++) {
        PF(p, "%s/%s", ext, before.v[i]);
        CHECK(access(p, F_OK) == 0, "thumbd deleted %s outside OUT_DIR", before.v[i]);
    }
    PF(p, "%s/file.jpg", ext);
    CHECK(same_bytes(p, precious, sizeof precious - 1), "outside/file.jpg was changed");
    PF(p, "%s/file2", ext);
    CHECK(same_bytes(p, precious, sizeof precious - 1), "outside/file2 was changed");
    PF(p, "%s/dir/.thumbd-tmp-victim", ext);
    CHECK(same_bytes(p, victim, sizeof victim - 1), "outside/dir/.thumbd-tmp-victim was changed");

    /* the report */
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0 && r.n == 5, "%d records (%d bad lines), want 5", r.n, r.bad);
    const rec *c = e2e_report_find(&r, "c.jpg", NULL);
    CHECK(e2e_is(c, "ok"), "c.jpg (no link in the way): %s %s",
          c ? e2e_str(c, "status") : "no record", errof(c));
    /* behind a directory link: refused, saying why (or the link replaced) */
    static const char *const under_dir_links[][2] = {{"sub/x.jpg", "sub"}, {"d1/d2/y.jpg", "d1/d2"}};
    for (int i = 0; i < 2; i++) {
        const char *src = under_dir_links[i][0], *dir = under_dir_links[i][1];
        const rec *x = e2e_report_find(&r, src, NULL);
        struct stat sb;
        PF(p, "%s/%s", out, dir);
        bool still_link = lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode);
        printf("  %s: %s %s\n", src, x ? e2e_str(x, "status") : "no record", errof(x));
        if (e2e_is(x, "ok")) {
            CHECK(!still_link, "%s: ok, but %s is still a symlink out of OUT_DIR", src, dir);
        } else {
            CHECK(e2e_is(x, "failed"), "%s: %s, want failed (or ok with the link replaced)", src,
                  x ? e2e_str(x, "status") : "no record");
            CHECK(x && e2e_str(x, "error") &&
                      (strcasestr(e2e_str(x, "error"), "link") || strstr(e2e_str(x, "error"), dir)),
                  "%s: error \"%s\" says nothing of the symlink at %s", src, errof(x), dir);
            CHECK(!x || !e2e_str(x, "out"), "%s: failed with an output", src);
        }
    }
    /* a file link at the final name: replaced by the thumbnail, or refused */
    static const char *const file_links[] = {"a.jpg", "b.jpg"};
    for (int i = 0; i < 2; i++) {
        const rec *x = e2e_report_find(&r, file_links[i], NULL);
        PF(p, "%s/%s", out, file_links[i]);
        struct stat sb;
        printf("  %s: %s %s\n", file_links[i], x ? e2e_str(x, "status") : "no record", errof(x));
        if (e2e_is(x, "ok")) {
            char why[128];
            CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode),
                  "%s: ok, but OUT_DIR/%s is not a regular file", file_links[i], file_links[i]);
            CHECK(complete_file(p, why, sizeof why), "%s: %s", file_links[i], why);
        } else {
            CHECK(e2e_is(x, "failed") && e2e_str(x, "error") && *e2e_str(x, "error"),
                  "%s: %s without a message", file_links[i],
                  x ? e2e_str(x, "status") : "no record");
        }
    }
    check_no_temps(out, "out-dir symlinks");
    e2e_report_free(&r);
    strlist_free(&before);
    strlist_free(&after);
    end_checks();
}

/* thumbd's own files in OUT_DIR planted as symlinks to files outside: the
 * state file and the running markers' directory (replaced, not written
 * through), and
 * the lock file (thumbd refuses to run, saying why). The files outside are
 * never written. */
static void test_out_dir_own_files_symlinked(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], log[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
    tpath(in, sizeof in, "a2/in");
    tpath(out, sizeof out, "a2/out");
    tpath(ext, sizeof ext, "a2/outside");
    tpath(log, sizeof log, "a2/log.txt");
    mkdir_p(in, 0755);
    mkdir_p(out, 0755);
    mkdir_p(ext, 0755);
    PF(p, "%s/a.jpg", in);
    write_jpeg(p, 160, 120, false, 1);
    static const char precious[] = "precious bytes outside OUT_DIR\n";
    static const char *const victims[] = {"state", "marker", "lock"};
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/%s", ext, victims[i]);
        write_file(p, precious, sizeof precious - 1);
    }
    static const char *const links[][2] = {{".thumbd.state", "state"}, {".thumbd.run", "marker"}};
    for (int i = 0; i < 2; i++) {
        PF(p, "%s/%s", out, links[i][0]);
        PF(q, "%s/%s", ext, links[i][1]);
        assert_int_equal(symlink(q, p), 0);
    }
    const char *args[] = {in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "state and marker symlinks");
    CHECK(code == 0, "state and marker planted as symlinks: exit %d, want 0", code);
    PF(p, "%s/a.jpg", out);
    char why[128];
    CHECK(complete_file(p, why, sizeof why), "a.jpg: %s", why);

    /* the lock file */
    PF(p, "%s/.thumbd.lock", out);
    unlink(p);
    PF(q, "%s/lock", ext);
    assert_int_equal(symlink(q, p), 0);
    code = run_thumbd(NULL, log, args);
    check_exit(code, "lock symlink");
    printf("  lock file planted as a symlink: exit %d\n", code);
    if (code != 0) {
        uint8_t *d;
        size_t n;
        bool said = read_all(log, &d, &n);
        if (said) {
            d = realloc(d, n + 1);
            assert_non_null(d);
            d[n] = '\0';
            said = strstr((char *)d, ".thumbd.lock") != NULL;
            free(d);
        }
        CHECK(said, "thumbd failed (exit %d) without naming .thumbd.lock on stderr", code);
    }
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/%s", ext, victims[i]);
        CHECK(same_bytes(p, precious, sizeof precious - 1),
              "outside/%s, the target of a symlink in OUT_DIR, was changed", victims[i]);
    }
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (b) symlinks in IN_DIR                                                     */

/* Links to a file and a directory outside IN_DIR, a dangling link and a link
 * to a file inside IN_DIR: none is followed by default (no thumbnail, no ok
 * record); the run is clean (exit 0). */
static void test_in_dir_symlinks_not_followed(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    tpath(in, sizeof in, "b/in");
    tpath(out, sizeof out, "b/out");
    tpath(ext, sizeof ext, "b/outside");
    tpath(rep, sizeof rep, "b/report.jsonl");
    tpath(log, sizeof log, "b/log.txt");
    PF(p, "%s/sub", in);
    mkdir_p(p, 0755);
    PF(p, "%s/imgs", ext);
    mkdir_p(p, 0755);
    PF(p, "%s/good.jpg", in);
    write_jpeg(p, 160, 120, false, 1);
    PF(p, "%s/real.jpg", ext);
    write_jpeg(p, 160, 120, false, 2);
    PF(p, "%s/imgs/img.jpg", ext);
    write_jpeg(p, 160, 120, false, 3);
    struct {
        const char *link;
        char target[PATH_MAX];
    } links[4] = {{"link.jpg", ""}, {"linkdir", ""}, {"dangling.jpg", ""}, {"sub/inner.jpg", ""}};
    pf_fits(snprintf(links[0].target, PATH_MAX, "%s/real.jpg", ext), PATH_MAX);
    pf_fits(snprintf(links[1].target, PATH_MAX, "%s/imgs", ext), PATH_MAX);
    pf_fits(snprintf(links[2].target, PATH_MAX, "%s/nowhere.jpg", ext), PATH_MAX);
    pf_fits(snprintf(links[3].target, PATH_MAX, "../good.jpg"), PATH_MAX);
    for (int i = 0; i < 4; i++) {
        PF(q, "%s/%s", in, links[i].link);
        assert_int_equal(symlink(links[i].target, q), 0);
    }
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "in-dir symlinks");
    CHECK(code == 0, "exit %d, want 0 (links are skipped, not failures)", code);
    report r;
    report_load(rep, &r);
    const rec *g = e2e_report_find(&r, "good.jpg", NULL);
    CHECK(e2e_is(g, "ok"), "good.jpg: %s %s", g ? e2e_str(g, "status") : "no record", errof(g));
    static const char *const srcs[] = {"link.jpg", "linkdir/img.jpg", "dangling.jpg",
                                       "sub/inner.jpg"};
    for (int i = 0; i < 4; i++) {
        const rec *x = e2e_report_find(&r, srcs[i], NULL);
        CHECK(!x || e2e_is(x, "skipped"), "%s (a symlink): %s %s, want no record or skipped",
              srcs[i], e2e_str(x, "status"), errof(x));
        PF(p, "%s/%s", out, srcs[i]);
        CHECK(access(p, F_OK) != 0, "OUT_DIR/%s exists: the link was followed", srcs[i]);
    }
    PF(p, "%s/linkdir", out);
    CHECK(access(p, F_OK) != 0, "OUT_DIR/linkdir exists: the directory link was followed");
    e2e_report_free(&r);
    end_checks();
}

/* With --follow-symlinks: links to an ancestor (loop/self -> IN_DIR,
 * loop/up -> ..), two directories linking to each other, a self-link, a
 * cycle of file links. The run ends; each image is reached a bounded
 * number of times (once per distinct path without a loop). */
static void test_follow_symlinks_loops_end(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], ext[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    tpath(in, sizeof in, "b2/in");
    tpath(out, sizeof out, "b2/out");
    tpath(ext, sizeof ext, "b2/outside");
    tpath(rep, sizeof rep, "b2/report.jsonl");
    tpath(log, sizeof log, "b2/log.txt");
    static const char *const dirs[] = {"loop", "l2", "l3", "cyc"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, dirs[i]);
        mkdir_p(p, 0755);
    }
    mkdir_p(ext, 0755);
    static const char *const imgs[] = {"good.jpg", "loop/img.jpg", "l2/p.jpg", "l3/q.jpg"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, imgs[i]);
        write_jpeg(p, 120, 90, false, (unsigned)i);
    }
    PF(p, "%s/real.jpg", ext);
    write_jpeg(p, 120, 90, false, 9);
    struct {
        const char *link;
        char target[PATH_MAX];
    } links[] = {{"loop/self", ""}, {"loop/up", ".."},    {"l2/x", "../l3"},
                 {"l3/y", "../l2"}, {"selfie", "selfie"}, {"cyc/a.jpg", "b.jpg"},
                 {"cyc/b.jpg", "a.jpg"}, {"link.jpg", ""}};
    pf_fits(snprintf(links[0].target, PATH_MAX, "%s", in), PATH_MAX);
    pf_fits(snprintf(links[7].target, PATH_MAX, "%s/real.jpg", ext), PATH_MAX);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        PF(q, "%s/%s", in, links[i].link);
        assert_int_equal(symlink(links[i].target, q), 0);
    }
    const char *args[] = {"--follow-symlinks", "--report", rep, in, out, NULL};
    proc pr = start(NULL, log, args);
    finish(&pr, 30);
    check_exit(pr.code, "--follow-symlinks loops");
    CHECK(pr.code == 0 || pr.code == 1, "exit %d", pr.code);
    report r;
    report_load(rep, &r);
    static const char *const want_ok[] = {"good.jpg", "loop/img.jpg", "l2/p.jpg", "l3/q.jpg",
                                          "l2/x/q.jpg", "l3/y/p.jpg", "link.jpg"};
    for (size_t i = 0; i < sizeof want_ok / sizeof want_ok[0]; i++) {
        int count;
        const rec *x = e2e_report_find(&r, want_ok[i], &count);
        CHECK(count == 1 && e2e_is(x, "ok"), "%s: %d records, %s %s (want one, ok)", want_ok[i],
              count, x ? e2e_str(x, "status") : "-", errof(x));
    }
    for (int i = 0; i < r.n; i++) {
        const rec *x = &r.v[i];
        CHECK(!strstr(e2e_str(x, "src"), "self/") && !strstr(e2e_str(x, "src"), "up/") &&
                  !strstr(e2e_str(x, "src"), "selfie"),
              "a record through a loop: %s", e2e_str(x, "src"));
        if (!strncmp(e2e_str(x, "src"), "cyc/", 4))
            CHECK(e2e_is(x, "failed") && e2e_str(x, "error") && *e2e_str(x, "error"),
                  "%s (a cycle of links): %s %s", e2e_str(x, "src"), e2e_str(x, "status"),
                  errof(x));
    }
    printf("  %d records\n", r.n);
    CHECK(r.n <= 10, "%d records for 5 images (a loop was walked)", r.n);
    e2e_report_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (c) FIFOs, sockets, devices                                                */

/* fifo.jpg, sock.png and (if mknod is permitted) dev.jpg, a character device
 * with /dev/null's numbers, next to two images. While thumbd runs, the test
 * keeps trying to open the FIFO for writing without blocking, which succeeds
 * only while a reader has it open, and looks for the FIFO and the device
 * among thumbd's open files (/proc/PID/fd): thumbd must never open them. The
 * run must end (a FIFO opened for reading would block it), exit 0, and the
 * special files get no ok record and no thumbnail. */
static void test_special_files_not_opened(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "c/in");
    tpath(out, sizeof out, "c/out");
    tpath(rep, sizeof rep, "c/report.jsonl");
    tpath(log, sizeof log, "c/log.txt");
    mkdir_p(in, 0755);
    PF(p, "%s/a_good.jpg", in);
    write_jpeg(p, 200, 150, false, 1);
    PF(p, "%s/z_good.jpg", in);
    write_jpeg(p, 200, 150, false, 2);
    char fifo[PATH_MAX];
    PF(fifo, "%s/fifo.jpg", in);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock.png", in);
    assert_true(n > 0 && (size_t)n < sizeof sa.sun_path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s);   /* the socket file stays */
    PF(p, "%s/dev.jpg", in);
    bool have_dev = mknod(p, S_IFCHR | 0644, makedev(1, 3)) == 0;
    if (!have_dev) {
        printf("  mknod not permitted here (%s): no device node in this test\n", strerror(errno));
        assert_false(test_strict());
    }

    char dev_real[PATH_MAX] = "", fifo_real[PATH_MAX] = "";
    if (have_dev)
        assert_non_null(realpath(p, dev_real));
    assert_non_null(realpath(fifo, fifo_real));
    const char *args[] = {"--report", rep, in, out, NULL};
    proc pr = start(NULL, log, args);
    int opened = 0, seen_dev = 0;
    for (;;) {
        int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (w >= 0) {   /* someone has the FIFO open for reading */
            opened++;
            close(w);
        }
        if (has_open(pr.ch.pid, fifo_real))
            opened++;
        if (have_dev && has_open(pr.ch.pid, dev_real))
            seen_dev++;
        if (ended(&pr))
            break;
        if (now_s() - pr.ch.t0 > 30) {
            finish(&pr, 0);
            break;
        }
        struct timespec nap = {0, 200 * 1000};
        nanosleep(&nap, NULL);
    }
    check_exit(pr.code, "special files");
    CHECK(pr.code == 0, "exit %d, want 0", pr.code);
    CHECK(opened == 0, "thumbd opened the FIFO (seen open %d times)", opened);
    CHECK(seen_dev == 0, "thumbd opened the device node (seen open %d times)", seen_dev);
    report r;
    report_load(rep, &r);
    static const char *const good[] = {"a_good.jpg", "z_good.jpg"};
    for (int i = 0; i < 2; i++) {
        const rec *x = e2e_report_find(&r, good[i], NULL);
        CHECK(e2e_is(x, "ok"), "%s: %s %s", good[i], x ? e2e_str(x, "status") : "no record",
              errof(x));
    }
    static const char *const special[] = {"fifo.jpg", "sock.png", "dev.jpg"};
    for (int i = 0; i < (have_dev ? 3 : 2); i++) {
        const rec *x = e2e_report_find(&r, special[i], NULL);
        CHECK(!x || e2e_is(x, "skipped"), "%s: %s %s (want no record, or skipped)", special[i],
              x ? e2e_str(x, "status") : "", errof(x));
        char o1[PATH_MAX], o2[PATH_MAX];
        PF(o1, "%s/%.*s.jpg", out, (int)(strlen(special[i]) - 4), special[i]);
        PF(o2, "%s/%.*s.png", out, (int)(strlen(special[i]) - 4), special[i]);
        CHECK(access(o1, F_OK) != 0 && access(o2, F_OK) != 0, "%s has a thumbnail", special[i]);
    }
    e2e_report_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (d) permissions                                                            */

/* thumbd runs as nobody (setpriv, when we are root) on a tree it can read
 * but for b_secret.jpg (mode 000), c_locked/ (000), d_noexec/ (r-- : names
 * readable, entries not), and writes into an OUT_DIR it owns but for
 * f_ro/ (root's, 0555). Each of those gives a failed record that says
 * "Permission denied"; every other image is thumbnailed. */
static void test_unreadable_and_unwritable(void **state)
{
    (void)state;
    if (geteuid() == 0 && !e2e_setpriv_path()) {
        test_skip("setpriv (util-linux) not found: cannot drop root");
    }
    begin_checks();
    char root[PATH_MAX], in[PATH_MAX], outroot[PATH_MAX], out[PATH_MAX], rep[PATH_MAX],
        log[PATH_MAX], p[PATH_MAX];
    tpath(root, sizeof root, "d");
    tpath(in, sizeof in, "d/in");
    tpath(outroot, sizeof outroot, "d/outroot");
    tpath(out, sizeof out, "d/outroot/out");
    tpath(rep, sizeof rep, "d/outroot/report.jsonl");
    tpath(log, sizeof log, "d/outroot/log.txt");
    static const char *const dirs[] = {"c_locked", "d_noexec", "e_sub", "f_ro"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, dirs[i]);
        mkdir_p(p, 0755);
    }
    static const char *const imgs[] = {"a_good.jpg", "b_secret.jpg", "c_locked/img.jpg",
                                       "d_noexec/img.jpg", "e_sub/img.jpg", "f_ro/img.jpg",
                                       "z_last.jpg"};
    for (int i = 0; i < 7; i++) {
        PF(p, "%s/%s", in, imgs[i]);
        write_jpeg(p, 160, 120, false, (unsigned)i);
    }
    mkdir_p(out, 0755);
    PF(p, "%s/f_ro", out);
    mkdir_p(p, 0555);
    chmod(p, 0555);
    if (geteuid() == 0) {
        assert_int_equal(chown(outroot, NOBODY, NOBODY), 0);
        assert_int_equal(chown(out, NOBODY, NOBODY), 0);
    }
    PF(p, "%s/b_secret.jpg", in);
    chmod(p, 0);
    PF(p, "%s/c_locked", in);
    chmod(p, 0);
    PF(p, "%s/d_noexec", in);
    chmod(p, 0444);
    chmod(root, 0755);

    spawn_opts o = {.as_nobody = true};
    if (geteuid() == 0) {
        /* can this system run a program as 65534? */
        const char *probe[] = {"--version", NULL};
        char plog[PATH_MAX];
        tpath(plog, sizeof plog, "d/probe.txt");
        if (run_thumbd(&o, plog, probe) != 0) {
            test_skip("setpriv cannot run thumbd as uid 65534 here");
        }
    }
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    check_exit(code, "permissions");
    CHECK(code == 1, "exit %d, want 1", code);
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0, "%d bad report lines", r.bad);
    static const char *const good[] = {"a_good.jpg", "e_sub/img.jpg", "z_last.jpg"};
    for (int i = 0; i < 3; i++) {
        const rec *x = e2e_report_find(&r, good[i], NULL);
        CHECK(e2e_is(x, "ok"), "%s: %s %s", good[i], x ? e2e_str(x, "status") : "no record",
              errof(x));
    }
    /* each denied thing: a failed record at the path or under it */
    static const char *const denied[] = {"b_secret.jpg", "c_locked", "d_noexec", "f_ro/img.jpg"};
    for (int i = 0; i < 4; i++) {
        const rec *hit = NULL;
        size_t k = strlen(denied[i]);
        for (int j = 0; j < r.n && !hit; j++)
            if (!strncmp(e2e_str(&r.v[j], "src"), denied[i], k) &&
                (!e2e_str(&r.v[j], "src")[k] || e2e_str(&r.v[j], "src")[k] == '/'))
                hit = &r.v[j];
        printf("  %s: %s %s\n", denied[i], hit ? e2e_str(hit, "src") : "no record",
               hit ? errof(hit) : "");
        CHECK(e2e_is(hit, "failed"), "%s: %s, want a failed record", denied[i],
              hit ? e2e_str(hit, "status") : "no record");
        CHECK(hit && e2e_str(hit, "error") && strcasestr(e2e_str(hit, "error"), "permission"),
              "%s: error \"%s\" does not say permission was denied", denied[i], errof(hit));
    }
    check_no_temps(out, "permissions");
    e2e_report_free(&r);
    PF(p, "%s/c_locked", in);
    chmod(p, 0755);
    PF(p, "%s/d_noexec", in);
    chmod(p, 0755);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (e) out of space, file-size limit                                          */

typedef struct saved {
    char rel[64];
    uint8_t *d;
    size_t n;
} saved;

/* The images of the write-failure tests: flat ones (small thumbnails) and
 * noisy ones (large), in in/ and in/sub/. */
static const char *const E_IMGS[] = {"flat1.jpg", "flat2.jpg", "noise1.jpg", "noise2.jpg",
                                     "sub/noise3.jpg", "sub/flat3.jpg"};
enum { N_E = sizeof E_IMGS / sizeof E_IMGS[0] };

static void make_e_input(const char *in)
{
    char p[PATH_MAX];
    PF(p, "%s/sub", in);
    mkdir_p(p, 0755);
    for (int i = 0; i < N_E; i++) {
        PF(p, "%s/%s", in, E_IMGS[i]);
        write_jpeg(p, 640, 480, strstr(E_IMGS[i], "noise") != NULL, (unsigned)i + 1);
    }
}

/* After a run whose writes fail part-way: every failed record has a message;
 * a failed source's earlier thumbnail is byte-identical (or absent if it had
 * none); every file at a final name is complete; no temporary files. */
static void check_after_write_faults(const char *what, const char *out, const char *rep,
                                     const saved *earlier, int nearlier, const char *new_src,
                                     int *nfailed)
{
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0, "%s: %d bad report lines", what, r.bad);
    *nfailed = 0;
    for (int i = 0; i < r.n; i++) {
        const rec *x = &r.v[i];
        printf("  %s: %s %s\n", e2e_str(x, "src"), e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "failed")) {
            (*nfailed)++;
            CHECK(e2e_str(x, "error") && (strcasestr(e2e_str(x, "error"), "space") ||
                                          strcasestr(e2e_str(x, "error"), "large") ||
                                          strcasestr(e2e_str(x, "error"), "limit") ||
                                          strcasestr(e2e_str(x, "error"), "write")),
                  "%s: %s: error \"%s\" does not say the write failed", what, e2e_str(x, "src"),
                  errof(x));
        } else {
            CHECK(e2e_is(x, "ok"), "%s: %s: %s", what, e2e_str(x, "src"), e2e_str(x, "status"));
        }
        /* the thumbnail a failed source had before is intact */
        char stem[PATH_MAX];
        PF(stem, "%s", e2e_str(x, "src"));
        *strrchr(stem, '.') = '\0';
        for (int k = 0; k < nearlier; k++) {
            char want[PATH_MAX + 8];
            PF(want, "%s.jpg", stem);
            if (strcmp(earlier[k].rel, want) || !e2e_is(x, "failed"))
                continue;
            char p[PATH_MAX * 2];
            PF(p, "%s/%s", out, earlier[k].rel);
            CHECK(same_bytes(p, earlier[k].d, earlier[k].n),
                  "%s: %s failed, and its earlier thumbnail %s is not intact", what,
                  e2e_str(x, "src"), earlier[k].rel);
        }
        if (new_src && !strcmp(e2e_str(x, "src"), new_src) && e2e_is(x, "failed")) {
            char p[PATH_MAX * 2];
            PF(p, "%s/%s.jpg", out, stem);
            CHECK(access(p, F_OK) != 0, "%s: %s failed, yet %s.jpg exists", what, e2e_str(x, "src"),
                  stem);
        }
    }
    e2e_report_free(&r);
    check_all_complete(out, what);
    check_no_temps(out, what);
}

/* Runs thumbd on in/ into out/ with --size 100x100 and keeps a copy of
 * every thumbnail (the "earlier thumbnails"). */
static int make_earlier(const char *in, const char *out, const char *tag, saved *keep)
{
    char rep[PATH_MAX], log[PATH_MAX];
    tpath(rep, sizeof rep, "%s/report0.jsonl", tag);
    tpath(log, sizeof log, "%s/log0.txt", tag);
    const char *args[] = {"--size", "100x100", "--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    assert_int_equal(code, 0);
    int n = 0;
    for (int i = 0; i < N_E; i++) {
        snprintf(keep[n].rel, sizeof keep[n].rel, "%.*s.jpg", (int)(strlen(E_IMGS[i]) - 4),
                 E_IMGS[i]);
        char p[PATH_MAX * 2];
        PF(p, "%s/%s", out, keep[n].rel);
        assert_true(read_all(p, &keep[n].d, &keep[n].n));
        n++;
    }
    return n;
}

/* RLIMIT_FSIZE of 12 KiB in thumbd's process, on an OUT_DIR that holds
 * 100x100 thumbnails of every source: the 200x200 thumbnails of the noisy
 * images do not fit. thumbd must ignore SIGXFSZ (else it dies by it) and
 * report the failed writes; the flat images' thumbnails fit. A new source
 * (no earlier thumbnail) that fails leaves nothing at its final name. */
static void test_file_size_limit(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e1/in");
    tpath(out, sizeof out, "e1/out");
    tpath(rep, sizeof rep, "e1/report.jsonl");
    tpath(log, sizeof log, "e1/log.txt");
    make_e_input(in);
    saved earlier[N_E];
    int ne = make_earlier(in, out, "e1", earlier);
    PF(p, "%s/new_noise.jpg", in);
    write_jpeg(p, 640, 480, true, 99);

    spawn_opts o = {.fsize_limit = FSIZE_LIMIT};
    const char *args[] = {"--force", "--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    CHECK(code != 128 + SIGXFSZ,
          "thumbd was killed by SIGXFSZ: it does not ignore the signal, so a write past "
          "ulimit -f kills the whole run");
    check_exit(code, "ulimit -f");
    CHECK(code == 1, "exit %d, want 1 (some writes failed)", code);
    int failed = 0;
    check_after_write_faults("ulimit -f", out, rep, earlier, ne, "new_noise.jpg", &failed);
    CHECK(failed >= 4, "%d failed records, want at least the 4 noisy images", failed);
    for (int i = 0; i < ne; i++)
        free(earlier[i].d);
    end_checks();
}

/* RLIMIT_FSIZE of 64 bytes: no thumbnail fits, nor the report, nor the state
 * file thumbd's main thread writes at the end (~100 bytes: its second write
 * starts at the limit, which raises SIGXFSZ in that thread, whose mask lets
 * the signal through; the worker threads block every signal). thumbd must
 * ignore SIGXFSZ, end with a failure code, and leave no partial file. */
static void test_tiny_file_size_limit(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e3/in");
    tpath(out, sizeof out, "e3/out");
    tpath(rep, sizeof rep, "e3/report.jsonl");
    tpath(log, sizeof log, "e3/log.txt");
    mkdir_p(in, 0755);
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/img%d.jpg", in, i);
        write_jpeg(p, 320, 240, false, (unsigned)i);
    }
    spawn_opts o = {.fsize_limit = 64};
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    CHECK(code != 128 + SIGXFSZ,
          "thumbd was killed by SIGXFSZ: a write past ulimit -f kills the whole run");
    check_exit(code, "ulimit -f 64 bytes");
    CHECK(code == 1 || code == 3, "exit %d, want 1 or 3 (nothing could be written)", code);
    check_all_complete(out, "ulimit -f 64 bytes");
    check_no_temps(out, "ulimit -f 64 bytes");
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++)
        CHECK(!has_ext(l.v[i], ".jpg") && !has_ext(l.v[i], ".png"),
              "a thumbnail %s was written past a 64-byte file-size limit", l.v[i]);
    strlist_free(&l);
    end_checks();
}

/* RLIMIT_FSIZE of 8 KiB: 60 small thumbnails (~2.7 KB each) fit, their
 * report (~20 KB) does not. A run that could not record every image (README:
 * "Every image the scanner found gets exactly one record") must not exit 0
 * as if all were well, and must say the report is incomplete. */
static void test_report_cut_short_is_not_success(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e4/in");
    tpath(out, sizeof out, "e4/out");
    tpath(rep, sizeof rep, "e4/report.jsonl");
    tpath(log, sizeof log, "e4/log.txt");
    mkdir_p(in, 0755);
    PF(p, "%s/img00.jpg", in);
    write_jpeg(p, 256, 256, false, 3);
    uint8_t *d;
    size_t n;
    assert_true(read_all(p, &d, &n));
    for (int i = 1; i < 60; i++) {
        PF(p, "%s/img%02d.jpg", in, i);
        write_file(p, d, n);
    }
    free(d);
    spawn_opts o = {.fsize_limit = 8192};
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    check_exit(code, "report past ulimit -f");
    report r;
    report_load(rep, &r);
    printf("  %d complete records of 60 in the report; exit %d\n", r.n, code);
    if (r.n < 60) {
        CHECK(code != 0, "the report lost %d of 60 records, yet thumbd exited 0", 60 - r.n);
        uint8_t *lg;
        size_t ln;
        bool said = read_all(log, &lg, &ln);
        if (said) {
            lg = realloc(lg, ln + 1);
            assert_non_null(lg);
            lg[ln] = '\0';
            said = strcasestr((char *)lg, "report") != NULL;
            free(lg);
        }
        CHECK(said, "nothing on stderr says the report is incomplete");
    }
    check_all_complete(out, "report past ulimit -f");
    check_no_temps(out, "report past ulimit -f");
    e2e_report_free(&r);
    end_checks();
}

/* OUT_DIR on a 200 KiB tmpfs that is nearly full (16 KiB left), holding
 * 100x100 thumbnails of every source: writes fail with ENOSPC part-way.
 * Skipped where mounting is not permitted. */
static void test_disk_full_tmpfs(void **state)
{
    (void)state;
    char mnt[PATH_MAX], in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(mnt, sizeof mnt, "e2/mnt");
    tpath(in, sizeof in, "e2/in");
    tpath(rep, sizeof rep, "e2/report.jsonl");
    tpath(log, sizeof log, "e2/log.txt");
    PF(out, "%s/out", mnt);
    mkdir_p(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=200k,mode=0755") != 0) {
        printf("  mount -t tmpfs: %s\n", strerror(errno));
        test_skip("mount -t tmpfs not permitted here");
    }
    begin_checks();
    make_e_input(in);
    saved earlier[N_E];
    int ne = make_earlier(in, out, "e2", earlier);
    PF(p, "%s/new_noise.jpg", in);
    write_jpeg(p, 640, 480, true, 99);
    /* fill the tmpfs, then free 16 KiB */
    char filler[PATH_MAX];
    PF(filler, "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static uint8_t block[4096];
    off_t size = 0;
    while (write(fd, block, sizeof block) == (ssize_t)sizeof block)
        size += (off_t)sizeof block;
    assert_int_equal(ftruncate(fd, size > 16384 ? size - 16384 : 0), 0);
    close(fd);

    const char *args[] = {"--force", "--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "tmpfs full");
    CHECK(code == 1, "exit %d, want 1 (some writes failed)", code);
    int failed = 0;
    check_after_write_faults("tmpfs full", out, rep, earlier, ne, "new_noise.jpg", &failed);
    CHECK(failed >= 1, "no write failed on a full filesystem");
    for (int i = 0; i < ne; i++)
        free(earlier[i].d);
    if (umount2(mnt, MNT_DETACH) != 0)
        printf("  umount %s: %s\n", mnt, strerror(errno));
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (g) a source that changes while it is read                                 */

/* A 4000x4000 PNG is being decoded (thumbd has it open): the test stops
 * thumbd (SIGSTOP), appends 4 KiB to the file, and lets it go on. The file
 * changed while it was read: its record must be failed, saying so, with no
 * thumbnail (README: "A source that changes while it is read is reported,
 * not thumbnailed"). If the decode ends before the test sees the file open,
 * it tries again (3 times), then skips. */
static void test_changed_while_read(void **state)
{
    (void)state;
    char in[PATH_MAX], src[PATH_MAX], real[PATH_MAX];
    tpath(in, sizeof in, "g/in");
    mkdir_p(in, 0755);
    PF(src, "%s/big.png", in);
    write_big_png(src, 4000, 4000);
    assert_non_null(realpath(src, real));
    for (int attempt = 1; attempt <= 3; attempt++) {
        char out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX];
        tpath(out, sizeof out, "g/out%d", attempt);
        tpath(rep, sizeof rep, "g/report%d.jsonl", attempt);
        tpath(log, sizeof log, "g/log%d.txt", attempt);
        /* --retries 0: the change itself must be seen (with retries, the
         * next attempt reads the file as it is now: see test_sched).
         * --isolation thread: the file is watched open in thumbd's own
         * process (a worker process runs the same check). */
        const char *args[] = {"--retries", "0", "--isolation", "thread", "--report", rep, in, out,
                              NULL};
        proc pr = start(NULL, log, args);
        bool caught = false;
        while (now_s() - pr.ch.t0 < 20) {
            if (has_open(pr.ch.pid, real)) {
                kill(pr.ch.pid, SIGSTOP);
                caught = has_open(pr.ch.pid, real);
                if (caught) {
                    int fd = open(src, O_WRONLY | O_APPEND);
                    static const uint8_t junk[4096];
                    assert_true(fd >= 0);
                    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
                    close(fd);
                }
                kill(pr.ch.pid, SIGCONT);
                break;
            }
            if (ended(&pr))
                break;
            struct timespec nap = {0, 100 * 1000};
            nanosleep(&nap, NULL);
        }
        if (pr.ch.pid > 0)
            finish(&pr, RUN_TIMEOUT_S);
        if (!caught) {
            printf("  attempt %d: the decode ended before the file was seen open\n", attempt);
            continue;
        }
        begin_checks();
        check_exit(pr.code, "changed while read");
        CHECK(pr.code == 1, "exit %d, want 1", pr.code);
        report r;
        report_load(rep, &r);
        const rec *x = e2e_report_find(&r, "big.png", NULL);
        printf("  big.png, appended to while read: %s %s\n", x ? e2e_str(x, "status") : "no record",
               errof(x));
        CHECK(e2e_is(x, "failed"), "big.png changed while read: %s, want failed",
              x ? e2e_str(x, "status") : "no record");
        CHECK(x && e2e_str(x, "error") &&
                  (strcasestr(e2e_str(x, "error"), "chang") ||
                   strcasestr(e2e_str(x, "error"), "modif")),
              "big.png: error \"%s\" does not say the file changed", errof(x));
        char o1[PATH_MAX + 16];
        PF(o1, "%s/big.jpg", out);
        CHECK(access(o1, F_OK) != 0, "big.png changed while read, yet big.jpg was written");
        e2e_report_free(&r);
        end_checks();
        return;
    }
    test_skip("could not catch thumbd reading the file");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s THUMBD_BIN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_dir_symlinks),
        cmocka_unit_test(test_out_dir_own_files_symlinked),
        cmocka_unit_test(test_in_dir_symlinks_not_followed),
        cmocka_unit_test(test_follow_symlinks_loops_end),
        cmocka_unit_test(test_special_files_not_opened),
        cmocka_unit_test(test_unreadable_and_unwritable),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_tiny_file_size_limit),
        cmocka_unit_test(test_report_cut_short_is_not_success),
        cmocka_unit_test(test_disk_full_tmpfs),
        cmocka_unit_test(test_changed_while_read),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
