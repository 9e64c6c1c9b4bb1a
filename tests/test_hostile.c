/* End-to-end tests on hostile input: the real thumbd binary on the corpus of
 * tests/gen/gen_hostile.c (truncated, bit-flipped, empty and mislabelled
 * files, huge declared dimensions, inflate bombs, PNG chunk attacks, JPEGs of
 * thousands of scans, a flood of APP1 markers, deep trees, hostile names).
 *
 *   test_hostile THUMBD_BIN THUMBD_HOSTILE_GEN
 *
 * One run with default options covers the whole corpus; its JSON Lines report
 * (names decoded from \n and \udcXX escapes) and OUT_DIR are checked file by
 * file, its exit status (0/1, never a signal), wall time and peak RSS
 * (wait4's ru_maxrss) are bounded. A few more runs check the limit options
 * and measure peak RSS per file.
 *
 * Each test collects its failed checks (one per line) before failing.
 * THUMBD_HOSTILE_KEEP=1 keeps the temporary directory. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "e2e_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Bounds.
 *
 * RUN_TIMEOUT_S: the whole corpus (about 200 files) takes ~6 s here; 120 s
 * is the "bounded time" the issue asks for (a hang or a CPU bomb that runs
 * for minutes is caught, a slow machine is not).
 *
 * Peak RSS (release build): thumbd's decoders draw whole-image buffers from
 * the --max-memory budget (40 MiB by default); what is outside it is per
 * worker and small: a few rows, the shrink accumulators, at most 4 MiB each
 * of ICC profile and EXIF. So a run may hold: the RSS of a run on one small
 * image (binary, libraries: measured) + 40 MiB + 16 MiB per worker (one per
 * online CPU, thumbd's default) + 16 MiB of slack. Under ASan the quarantine alone keeps up to 256 MiB of freed
 * memory and shadow and redzones add more, so only a coarse 1 GiB bound is
 * kept (still far below a 2 GiB inflate bomb held in memory).
 *
 * Per file (one file per run): peak RSS above the one-small-image run must
 * stay under 16 MiB for files whose image is tiny (whatever their metadata,
 * thumbd needs a few rows), and under the 40 MiB budget for the 2048x2048
 * progressive JPEG (its coefficients: ~13 MB). */
enum {
    RUN_TIMEOUT_S = 120,
    SLOW_SCANS_MS = 3000,      /* a many-scans JPEG refused or decoded within this */
    QUICK_CHUNKS_MS = 2000,    /* a PNG with chunk attacks is done within this */
    HEADER_REFUSAL_MS = 1000,  /* refused from the header: no decoding */
};

static const char *g_bin, *g_gen;
static char g_tmp[512];      /* temporary root */
static char g_corpus[600];   /* <tmp>/corpus */
static long g_base_rss_kb;   /* peak RSS of a run on good/photo.jpg alone */

/* A name for messages: control characters and non-ASCII bytes as \xNN. */
static const char *shown(const char *s)
{
    static char ring[4][1024];
    static int at;
    char *o = ring[at++ % 4];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 5 < 1000; p++) {
        if (*p < 0x20 || *p >= 0x7F)
            k += (size_t)snprintf(o + k, 1024 - k, "\\x%02X", *p);
        else
            o[k++] = (char)*p;
    }
    if (strlen(s) > 300 && k > 120) /* deep paths: head and tail */
        snprintf(o + 60, 1024 - 60, "...(%zu bytes)...%s", strlen(s), s + strlen(s) - 40);
    else
        o[k] = '\0';
    return o;
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

typedef e2e_proc proc_res;

/* Runs argv (NULL-terminated) with stdin /dev/null, stdout and stderr to
 * files; kills it after timeout_s. Sanitizer reports exit 86, not thumbd's
 * 1; ASan keeps no freed blocks back (thumbd's memory is measured). */
static proc_res spawn_wait(char *const argv[], const char *out_path, const char *err_path,
                           double timeout_s)
{
    static const char *const san[] = {"ASAN_OPTIONS=exitcode=86",
                                      "ASAN_OPTIONS=quarantine_size_mb=0",
                                      "UBSAN_OPTIONS=exitcode=86", NULL};
    e2e_cmd c = {.bin = argv[0], .args = (const char *const *)argv + 1, .out = out_path,
                 .err = err_path, .san_opts = san};
    e2e_child ch;
    if (!e2e_start(&c, &ch))
        return (proc_res){.code = -1};
    return e2e_wait(&ch, timeout_s, 5);
}

/* The launcher: a process forked at start-up, while this one is small, that
 * runs the programs for the tests. wait4's ru_maxrss counts the pages a
 * child had before its exec (a fork copies its parent's resident pages), so
 * children forked from this process, which grows (more under ASan), would
 * report this process's size; children of the launcher do not. */
static int g_launch_fd = -1;
static pid_t g_launcher = -1;

static bool io_full(int fd, void *buf, size_t n, bool writing)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Request: a length, then "timeout\0out\0err\0argv0\0argv1\0...";
 * reply: a proc_res. */
static void launcher_loop(int fd)
{
    for (;;) {
        uint32_t len;
        if (!io_full(fd, &len, sizeof len, false))
            _exit(0);
        char *buf = malloc((size_t)len + 1);
        if (!buf || !io_full(fd, buf, len, false))
            _exit(1);
        buf[len] = '\0';
        char *part[48];
        int n = 0;
        for (char *p = buf; p < buf + len && n < 47; p += strlen(p) + 1)
            part[n++] = p;
        part[n] = NULL;
        proc_res r = {.code = -1};
        if (n >= 4)
            r = spawn_wait(part + 3, part[1], part[2], atof(part[0]));
        free(buf);
        if (!io_full(fd, &r, sizeof r, true))
            _exit(1);
    }
}

static void launcher_start(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        launcher_loop(sv[1]);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    g_launch_fd = sv[0];
    g_launcher = pid;
}

static void launcher_stop(void)
{
    if (g_launch_fd < 0)
        return;
    close(g_launch_fd);
    waitpid(g_launcher, NULL, 0);
    g_launch_fd = -1;
}

/* Runs argv through the launcher (or directly, if there is none). */
static proc_res run_proc(char *const argv[], const char *out_path, const char *err_path,
                         double timeout_s)
{
    if (g_launch_fd < 0)
        return spawn_wait(argv, out_path, err_path, timeout_s);
    char t[32];
    snprintf(t, sizeof t, "%.3f", timeout_s);
    const char *head[3] = {t, out_path, err_path};
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        len += strlen(head[i]) + 1;
    for (int i = 0; argv[i]; i++)
        len += strlen(argv[i]) + 1;
    char *buf = malloc(len), *o = buf;
    assert_non_null(buf);
    for (int i = 0; i < 3; i++)
        o = stpcpy(o, head[i]) + 1;
    for (int i = 0; argv[i]; i++)
        o = stpcpy(o, argv[i]) + 1;
    uint32_t n32 = (uint32_t)len;
    proc_res r = {.code = -1};
    bool ok = io_full(g_launch_fd, &n32, sizeof n32, true) &&
              io_full(g_launch_fd, buf, len, true) &&
              io_full(g_launch_fd, &r, sizeof r, false);
    free(buf);
    assert_true(ok);
    return r;
}

/* ------------------------------------------------------------------------ */
/* The JSON Lines report                                                      */

typedef e2e_jfield jv;
typedef e2e_jrec rec;
typedef e2e_report report;

static const char *status_of(const rec *r)
{
    return e2e_str_or(r, "status", "no record");
}

static const char *error_of(const rec *r)
{
    return e2e_str_or(r, "error", "null");
}

/* The report at path; lone surrogate escapes make a line bad. */
static void report_load(const char *path, report *rp)
{
    e2e_report_load(path, rp, E2E_REPORT_NO_LONE_SURROGATES);
}

/* ------------------------------------------------------------------------ */
/* Files (through directory descriptors: some paths exceed PATH_MAX)          */

typedef strlist names; /* e2e_util.h */

/* Relative paths of every non-directory under the directory open at fd. */
static void list_tree_fd(int fd, const char *prefix, names *out)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        size_t n = strlen(prefix) + strlen(de->d_name) + 2;
        char *rel = malloc(n);
        assert_non_null(rel);
        snprintf(rel, n, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
        struct stat sb;
        if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
            int c = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (c >= 0) {
                list_tree_fd(c, rel, out);
                close(c);
            }
        } else {
            strlist_add(out, rel);
        }
        free(rel);
    }
    closedir(d);
}

static void list_tree(const char *root, names *out)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    list_tree_fd(fd, "", out);
    close(fd);
}

/* Opens rel under root one component at a time (no symlinks followed).
 * Returns an fd or -1. */
static int open_rel(const char *root, const char *rel)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *copy = strdup(rel);
    assert_non_null(copy);
    char *p = copy;
    for (char *slash; fd >= 0 && (slash = strchr(p, '/')) != NULL; p = slash + 1) {
        *slash = '\0';
        int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
    }
    int file = fd >= 0 ? openat(fd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd >= 0)
        close(fd);
    free(copy);
    return file;
}

static bool read_rel(const char *root, const char *rel, uint8_t **data, size_t *len)
{
    int fd = open_rel(root, rel);
    if (fd < 0)
        return false;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return false;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *data = b;
    *len = got;
    return true;
}

static bool exists_rel(const char *root, const char *rel)
{
    int fd = open_rel(root, rel);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static int rm_tree_fd(int fd)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat sb;
        if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
            int c = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (c >= 0) {
                rm_tree_fd(c);
                close(c);
            }
            unlinkat(fd, de->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(fd, de->d_name, 0);
        }
    }
    closedir(d);
    return 0;
}

/* rm -rf path through directory descriptors (openat/unlinkat): no path
 * length limit, and a symbolic link at path itself is not followed (nor
 * removed). Unlike e2e_util's rm_tree (nftw), which needs whole paths. */
static void rm_tree_at(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    rm_tree_fd(fd);
    close(fd);
    rmdir(path);
}

static bool has_image_ext(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpe") ||
           !strcasecmp(dot, ".png");
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* ------------------------------------------------------------------------ */
/* Decoding thumbnails completely                                             */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_emit(j_common_ptr c, int level)
{
    if (level < 0)   /* a warning: corrupt or truncated data */
        jerr_exit(c);
}

static bool jpeg_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
{
    struct jpeg_decompress_struct c;
    jerr e;
    memset(&e, 0, sizeof e);
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_emit;
    JSAMPLE *row = NULL;
    if (setjmp(e.jb)) {
        snprintf(why, whyn, "libjpeg: %s", e.msg);
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
    *w = (int)c.output_width;
    *h = (int)c.output_height;
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    free(row);
    return true;
}

typedef struct memsrc {
    const uint8_t *d;
    size_t n, at;
    char msg[200];
} memsrc;

static void png_err(png_structp p, png_const_charp m)
{
    memsrc *s = png_get_error_ptr(p);
    snprintf(s->msg, sizeof s->msg, "%s", m);
    png_longjmp(p, 1);
}

static void png_warn(png_structp p, png_const_charp m)
{
    (void)p;
    (void)m;
}

static void png_memread(png_structp p, png_bytep out, size_t n)
{
    memsrc *s = png_get_io_ptr(p);
    if (n > s->n - s->at)
        png_error(p, "read past the end");
    memcpy(out, s->d + s->at, n);
    s->at += n;
}

static bool png_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
{
    memsrc s = {d, n, 0, ""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_err, png_warn);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    uint8_t *volatile row = NULL;
    if (!info) {
        png_destroy_read_struct(&p, NULL, NULL);
        snprintf(why, whyn, "libpng: out of memory");
        return false;
    }
    if (setjmp(png_jmpbuf(p))) {
        snprintf(why, whyn, "libpng: %s", s.msg);
        png_destroy_read_struct(&p, &info, NULL);
        free(row);
        return false;
    }
    png_set_read_fn(p, &s, png_memread);
    png_read_info(p, info);
    int passes = png_set_interlace_handling(p);
    png_read_update_info(p, info);
    *w = (int)png_get_image_width(p, info);
    *h = (int)png_get_image_height(p, info);
    row = malloc(png_get_rowbytes(p, info));
    if (!row)
        png_error(p, "out of memory");
    for (int k = 0; k < passes; k++)
        for (int y = 0; y < *h; y++)
            png_read_row(p, row, NULL);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    free(row);
    return true;
}

/* A file at a final name is a complete image: JPEG from SOI to EOI, PNG to
 * IEND, decodable without a warning; *w, *h its size. */
static bool complete_image(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
{
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        if (d[n - 2] != 0xFF || d[n - 1] != 0xD9) {
            snprintf(why, whyn, "JPEG does not end with EOI (FF D9)");
            return false;
        }
        return jpeg_decodes(d, n, w, h, why, whyn);
    }
    if (n >= 20 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) {
        if (memcmp(d + n - 12, iend, 12)) {
            snprintf(why, whyn, "PNG does not end with IEND");
            return false;
        }
        return png_decodes(d, n, w, h, why, whyn);
    }
    snprintf(why, whyn, "neither a JPEG nor a PNG (%zu bytes)", n);
    return false;
}

/* ------------------------------------------------------------------------ */
/* The runs                                                                   */

typedef struct run {
    bool done;
    proc_res pr;
    char out[700], rep[700], err[700];
    report rp;
} run;

static run g_main;

/* Runs thumbd [extra...] --report R IN OUT into <tmp>/<tag>.* */
static void do_run(run *r, const char *tag, const char *in, const char *const *extra,
                   double timeout_s)
{
    memset(r, 0, sizeof *r);
    pathf(r->out, sizeof r->out, "%s/out-%s", g_tmp, tag);
    pathf(r->rep, sizeof r->rep, "%s/report-%s.jsonl", g_tmp, tag);
    pathf(r->err, sizeof r->err, "%s/stderr-%s.txt", g_tmp, tag);
    char so[720];
    pathf(so, sizeof so, "%s/stdout-%s.txt", g_tmp, tag);
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)g_bin;
    for (int i = 0; extra && extra[i] && n < 16; i++)
        argv[n++] = (char *)extra[i];
    argv[n++] = "--report";
    argv[n++] = r->rep;
    argv[n++] = (char *)in;
    argv[n++] = r->out;
    argv[n] = NULL;
    r->pr = run_proc(argv, so, r->err, timeout_s);
    report_load(r->rep, &r->rp);
    r->done = true;
    printf("  [%s] thumbd", tag);
    for (int i = 1; i < n; i++)
        printf(" %s", shown(argv[i]));
    printf("\n  [%s] exit %d, %.2f s, peak RSS %.1f MiB, %d records\n", tag, r->pr.code,
           r->pr.wall_s, (double)r->pr.maxrss_kb / 1024.0, r->rp.n);
    if (r->pr.code != 0 && r->pr.code != 1) {
        printf("  [%s] stderr:\n", tag);
        e2e_print_tail(r->err, 20);
    }
}

static run *main_run(void)
{
    if (!g_main.done)
        do_run(&g_main, "main", g_corpus, NULL, RUN_TIMEOUT_S);
    return &g_main;
}

/* The corpus record of src in the main run (exactly one, else a check fails). */
static const rec *main_rec(const char *src)
{
    int count;
    const rec *r = e2e_report_find(&main_run()->rp, src, &count);
    CHECK(count == 1, "%s: %d records in the report (want exactly 1)", shown(src), count);
    return r;
}

/* r is ok and its thumbnail is complete and as large as the record says. */
static void check_ok(const run *ru, const rec *r, const char *src)
{
    if (!r)
        return;
    const char *err = e2e_str(r, "error");
    CHECK(e2e_is(r, "ok"), "%s: status %s (want ok), error: %s", shown(src),
          e2e_str(r, "status") ? e2e_str(r, "status") : "?", err ? err : "null");
    if (!e2e_is(r, "ok"))
        return;
    const char *out = e2e_str(r, "out");
    CHECK(out != NULL, "%s: ok record without \"out\"", shown(src));
    if (!out)
        return;
    uint8_t *d;
    size_t n;
    if (!read_rel(ru->out, out, &d, &n)) {
        fail_check("%s: thumbnail %s missing from OUT_DIR", shown(src), shown(out));
        return;
    }
    int w = 0, h = 0;
    char why[256];
    bool good = complete_image(d, n, &w, &h, why, sizeof why);
    CHECK(good, "%s: thumbnail %s is not a complete image: %s", shown(src), shown(out), why);
    if (good)
        CHECK((double)w == e2e_num(r, "out_w") && (double)h == e2e_num(r, "out_h") && w > 0 &&
                  h > 0,
              "%s: thumbnail is %dx%d, the report says %.0fx%.0f", shown(src), w, h,
              e2e_num(r, "out_w"), e2e_num(r, "out_h"));
    CHECK((double)n == e2e_num(r, "out_bytes"), "%s: thumbnail has %zu bytes, report says %.0f",
          shown(src), n, e2e_num(r, "out_bytes"));
    free(d);
}

/* r failed with a message, has no output, and nothing sits at the name
 * the source would map to. */
static void check_failed_rec(const run *ru, const rec *r, const char *src)
{
    if (!r)
        return;
    const char *err = e2e_str(r, "error");
    CHECK(e2e_is(r, "failed"), "%s: status %s (want failed); error: %s", shown(src),
          e2e_str(r, "status") ? e2e_str(r, "status") : "?", err ? err : "null");
    CHECK(err && strlen(err) >= 8, "%s: failed without a clear message (error: %s)", shown(src),
          err ? err : "null");
    const jv *o = e2e_jrec_get(r, "out");
    CHECK(o && o->type == E2E_J_NULL, "%s: a failed record with an output", shown(src));
    /* neither foo.jpg nor foo.png exists in OUT_DIR */
    char stem[8192];
    snprintf(stem, sizeof stem, "%s", src);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    const char *exts[2] = {".jpg", ".png"};
    for (int i = 0; i < 2; i++) {
        char name[8200];
        snprintf(name, sizeof name, "%s%s", stem, exts[i]);
        CHECK(!exists_rel(ru->out, name), "%s: failed, yet OUT_DIR holds %s", shown(src),
              shown(name));
    }
}

/* Failed and names one of the options (|-separated) in its error. */
static bool names_limit(const rec *r, const char *options)
{
    const char *err = e2e_str(r, "error");
    if (!r || !e2e_is(r, "failed") || !err)
        return false;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", options);
    char *save = NULL;
    for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
        if (strstr(err, t))
            return true;
    return false;
}

/* Every corpus file under dir/ (a prefix), image names only. */
static void corpus_under(const char *prefix, names *out)
{
    names all = {0};
    list_tree(g_corpus, &all);
    for (int i = 0; i < all.n; i++)
        if (starts_with(all.v[i], prefix) && has_image_ext(all.v[i]))
            strlist_add(out, all.v[i]);
    strlist_free(&all);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                      */

static int setup_failed(void)
{
    keep_or_remove("THUMBD_HOSTILE_KEEP", g_tmp, rm_tree_at);
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    pathf(g_tmp, sizeof g_tmp, "%s/thumbd-hostile-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    pathf(g_corpus, sizeof g_corpus, "%s/corpus", g_tmp);
    char so[700], se[700];
    pathf(so, sizeof so, "%s/gen.stdout", g_tmp);
    pathf(se, sizeof se, "%s/gen.stderr", g_tmp);
    char *argv[] = {(char *)g_gen, g_corpus, NULL};
    proc_res pr = run_proc(argv, so, se, 120);
    printf("  corpus: %s (generated in %.1f s)\n", g_corpus, pr.wall_s);
    e2e_print_tail(so, 20);
    if (pr.code != 0) {
        printf("  generator %s failed (exit %d)\n", g_gen, pr.code);
        e2e_print_tail(se, 20);
        return setup_failed();
    }
    /* the reference for RSS: one small image alone */
    char one[700];
    pathf(one, sizeof one, "%s/one", g_tmp);
    mkdir(one, 0755);
    char src[800], dst[800];
    pathf(src, sizeof src, "%s/good/photo.jpg", g_corpus);
    pathf(dst, sizeof dst, "%s/photo.jpg", one);
    if (link(src, dst) != 0) {
        printf("  link %s: %s\n", dst, strerror(errno));
        return setup_failed();
    }
    run base;
    do_run(&base, "baseline", one, NULL, 60);
    g_base_rss_kb = base.pr.maxrss_kb;
    bool ok = base.pr.code == 0 && base.rp.n == 1;
    e2e_report_free(&base.rp);
    if (!ok) {
        printf("  thumbd fails on one valid JPEG: giving up\n");
        return setup_failed();
    }
    printf("  under ASan: %s; programs run from a launcher process: %s\n",
           UNDER_ASAN ? "yes" : "no", g_launch_fd >= 0 ? "yes" : "no (RSS includes this one's)");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    e2e_report_free(&g_main.rp);
    keep_or_remove("THUMBD_HOSTILE_KEEP", g_tmp, rm_tree_at);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Tests on the main run                                                      */

/* The run over the whole corpus ends by itself, in bounded time, with exit
 * code 1 (some files fail), never by a signal or a sanitizer report. */
static void test_run_ends_with_exit_1(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    CHECK(r->pr.code != -2, "thumbd did not finish within %d s", RUN_TIMEOUT_S);
    CHECK(r->pr.signo == 0, "thumbd was killed by signal %d (%s)", r->pr.signo,
          strsignal(r->pr.signo));
    CHECK(r->pr.code != 86, "a sanitizer reported an error (exit 86); see %s", r->err);
    CHECK(r->pr.code == 1, "exit code %d, want 1 (some files fail)", r->pr.code);
    CHECK(r->pr.wall_s < RUN_TIMEOUT_S, "the run took %.1f s", r->pr.wall_s);
    end_checks();
}

/* Peak RSS of the whole run (see the bounds at the top). */
static void test_peak_memory_bounded(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    long workers = sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    long bound_kb = UNDER_ASAN ? 1024L * 1024L
                               : g_base_rss_kb + (40L + workers * 16 + 16) * 1024L;
    printf("  peak RSS %.1f MiB; one-image run %.1f MiB; %ld workers; bound %.1f MiB%s\n",
           (double)r->pr.maxrss_kb / 1024.0, (double)g_base_rss_kb / 1024.0, workers,
           (double)bound_kb / 1024.0, UNDER_ASAN ? " (ASan)" : "");
    CHECK(r->pr.maxrss_kb > 0, "no rusage from wait4");
    CHECK(r->pr.maxrss_kb < bound_kb, "peak RSS %.1f MiB is over the bound of %.1f MiB",
          (double)r->pr.maxrss_kb / 1024.0, (double)bound_kb / 1024.0);
    end_checks();
}

/* Every report line is one JSON object; every file with an image name gets
 * exactly one record (names with newlines and invalid UTF-8 decoded from the
 * escapes), no record names a file that does not exist, and other files get
 * no failed record. */
static void test_one_record_per_image(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    CHECK(r->rp.bad == 0, "%d report lines are not JSON objects; first: %s", r->rp.bad,
          shown(r->rp.first_bad));
    names all = {0};
    list_tree(g_corpus, &all);
    int images = 0;
    for (int i = 0; i < all.n; i++) {
        int count;
        const rec *x = e2e_report_find(&r->rp, all.v[i], &count);
        if (has_image_ext(all.v[i])) {
            images++;
            CHECK(count == 1, "%s: %d records (want exactly 1)", shown(all.v[i]), count);
        } else {
            CHECK(!x || !e2e_is(x, "failed"), "%s (not an image name) has a failed record",
                  shown(all.v[i]));
        }
    }
    for (int i = 0; i < r->rp.n; i++) {
        const char *src = e2e_str(&r->rp.v[i], "src");
        bool found = false;
        for (int k = 0; src && k < all.n && !found; k++)
            found = !strcmp(all.v[k], src);
        CHECK(found, "a record for a file that does not exist: %s", src ? shown(src) : "(no src)");
        const char *st = e2e_str(&r->rp.v[i], "status");
        CHECK(st && (!strcmp(st, "ok") || !strcmp(st, "failed")),
              "%s: status %s (want ok or failed in a first run)", src ? shown(src) : "?",
              st ? st : "?");
    }
    printf("  %d files, %d with image names, %d records\n", all.n, images, r->rp.n);
    CHECK(images >= 180, "only %d image files in the corpus", images);
    CHECK(r->rp.n == images, "%d records for %d image files", r->rp.n, images);
    strlist_free(&all);
    end_checks();
}

/* Valid images, however named or nested, are thumbnailed completely. */
static void test_valid_images_thumbnailed(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const prefixes[] = {"good/", "names/", "deep/"};
    int n = 0;
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        names l = {0};
        corpus_under(prefixes[k], &l);
        for (int i = 0; i < l.n; i++, n++)
            check_ok(r, main_rec(l.v[i]), l.v[i]);
        strlist_free(&l);
    }
    /* content decides, not the name */
    static const char *const renamed[] = {"wrongext/png_named.jpg", "wrongext/jpeg_named.png",
                                          "bomb/idat_exact.png"};
    for (size_t k = 0; k < sizeof renamed / sizeof renamed[0]; k++, n++)
        check_ok(r, main_rec(renamed[k]), renamed[k]);
    printf("  %d valid images checked\n", n);
    CHECK(n == 27, "%d valid images checked, want 27", n);
    end_checks();
}

/* Names with newlines, control characters, bytes that are not UTF-8 and
 * leading dashes keep their name: the thumbnail is at the same name (but
 * the extension) in OUT_DIR. */
static void test_hostile_names_roundtrip(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("names/", &l);
    CHECK(l.n == 16, "%d files in names/, want 16", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        const char *out = x ? e2e_str(x, "out") : NULL;
        if (!out)
            continue;   /* check_ok in the previous test says why */
        const char *sd = strrchr(l.v[i], '.'), *od = strrchr(out, '.');
        CHECK(sd && od && sd - l.v[i] == od - out && !strncmp(out, l.v[i], (size_t)(sd - l.v[i])),
              "%s: thumbnail named %s (want the same stem)", shown(l.v[i]), shown(out));
        CHECK(exists_rel(r->out, out), "%s: no file %s in OUT_DIR", shown(l.v[i]), shown(out));
    }
    strlist_free(&l);
    end_checks();
}

/* Empty, truncated, text and HTML files, and a PNG whose chunk length runs
 * past the end of the file, fail with a message; no thumbnail. */
static void test_broken_files_fail(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("empty/", &l);
    corpus_under("truncated/", &l);
    strlist_add(&l, "wrongext/text.jpg");
    strlist_add(&l, "wrongext/html.png");
    strlist_add(&l, "chunks/huge_length.png");
    for (int i = 0; i < l.n; i++)
        check_failed_rec(r, main_rec(l.v[i]), l.v[i]);
    printf("  %d broken files checked\n", l.n);
    CHECK(l.n >= 90, "only %d broken files in the corpus", l.n);
    strlist_free(&l);
    end_checks();
}

/* Bit-flipped copies may decode (to a damaged picture) or fail; either way
 * with one record, a message when failed, a complete thumbnail when ok. */
static void test_bitflips_no_crash(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("bitflip/", &l);
    int ok = 0, failed = 0;
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        if (e2e_is(x, "ok")) {
            ok++;
            check_ok(r, x, l.v[i]);
        } else {
            failed++;
            check_failed_rec(r, x, l.v[i]);
        }
    }
    printf("  %d bit-flipped files: %d decoded, %d failed\n", l.n, ok, failed);
    CHECK(l.n == 50, "%d bit-flipped files, want 50", l.n);
    strlist_free(&l);
    end_checks();
}

/* SOF 60000x60000 and IHDR 100000x100000 with tiny bodies: refused from the
 * header, naming the limit. */
static void test_huge_dimensions_refused(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("huge/", &l);
    CHECK(l.n == 2, "%d files in huge/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        check_failed_rec(r, x, l.v[i]);
        CHECK(names_limit(x, "--max-pixels|--max-dimension"),
              "%s: error \"%s\" names neither --max-pixels nor --max-dimension", shown(l.v[i]),
              e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        CHECK(e2e_num(x, "total_ms") < HEADER_REFUSAL_MS, "%s: took %.0f ms to refuse",
              shown(l.v[i]), e2e_num(x, "total_ms"));
    }
    strlist_free(&l);
    end_checks();
}

/* 300000x1 and 30000x8: thumbnailed, or refused naming --max-dimension. */
static void test_extreme_shapes(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("dims/", &l);
    CHECK(l.n == 2, "%d files in dims/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        printf("  %s: %s %s\n", l.v[i], e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, l.v[i]);
        else
            CHECK(names_limit(x, "--max-dimension"), "%s: failed without naming --max-dimension: %s",
                  shown(l.v[i]), e2e_str(x, "error") ? e2e_str(x, "error") : "null");
    }
    strlist_free(&l);
    end_checks();
}

/* PNGs whose IDAT inflates to 2 GiB of zeros: 10000x10000 grey (100 MB
 * raw, within --max-pixels) and 2000x2000 grey. thumbd needs only the rows
 * the header declares, so each must cost about what the same image with an
 * honest stream costs (README: "A PNG whose image data inflates past its
 * declared size is never inflated further"), not the time to inflate 2 GiB
 * (seconds). Bound: the honest twin's decode time + max(1 s, that time).
 * Memory: test_peak_memory_bounded. */
static void test_idat_bomb_costs_its_declared_size(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const pairs[2][2] = {
        {"bomb/idat_bomb.png", "bomb/idat_exact.png"},
        {"bomb/idat_bomb_2000.png", "bomb/idat_exact_2000.png"},
    };
    for (int i = 0; i < 2; i++) {
        const rec *bomb = main_rec(pairs[i][0]), *exact = main_rec(pairs[i][1]);
        if (!bomb || !exact)
            continue;
        double tb = e2e_num(bomb, "decode_ms"), te = e2e_num(exact, "decode_ms");
        printf("  %s: %s, decode %.0f ms; %s: %s, decode %.0f ms\n", pairs[i][0],
               status_of(bomb), tb, pairs[i][1], status_of(exact), te);
        check_ok(r, exact, pairs[i][1]);
        if (e2e_is(bomb, "ok"))
            check_ok(r, bomb, pairs[i][0]);
        else
            check_failed_rec(r, bomb, pairs[i][0]);
        double bound = te + fmax(1000.0, te);
        CHECK(tb <= bound,
              "%s: decoding took %.0f ms, over %.0f ms (the %.0f ms of the same image with an "
              "honest stream, + max(1 s, that)): the 2 GiB past the declared rows were inflated",
              pairs[i][0], tb, bound, te);
    }
    end_checks();
}

/* zTXt and iCCP bombs (2 GiB inflated), 50000 tEXt chunks, a 1 MiB private
 * chunk: thumbnailed (the chunks are skipped or capped) or refused with a
 * message, and quickly. */
static void test_png_chunk_attacks_cheap(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const files[] = {"chunks/ztxt_bomb.png", "chunks/iccp_bomb.png",
                                        "chunks/many_text.png", "chunks/big_private.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const rec *x = main_rec(files[i]);
        if (!x)
            continue;
        printf("  %s: %s in %.1f ms %s\n", files[i], e2e_str(x, "status"), e2e_num(x, "total_ms"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, files[i]);
        else
            check_failed_rec(r, x, files[i]);
        CHECK(e2e_num(x, "total_ms") < QUICK_CHUNKS_MS, "%s: took %.0f ms (a 64x64 image)",
              files[i], e2e_num(x, "total_ms"));
    }
    end_checks();
}

/* JPEGs of 2112 and 22112 scans under the default limits: refused naming
 * --max-scans, or decoded quickly. */
static void test_many_scans_default(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    static const char *const files[] = {"scans/many_scans.jpg", "scans/dup_scans.jpg"};
    for (size_t i = 0; i < 2; i++) {
        const rec *x = main_rec(files[i]);
        if (!x)
            continue;
        double ms = e2e_num(x, "total_ms");
        printf("  %s: %s in %.0f ms %s\n", files[i], e2e_str(x, "status"), ms,
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "ok"))
            check_ok(r, x, files[i]);
        else
            CHECK(names_limit(x, "--max-scans"), "%s: failed without naming --max-scans: %s",
                  files[i], e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        CHECK(ms < SLOW_SCANS_MS, "%s: took %.0f ms (neither refused nor decoded within %d ms)",
              files[i], ms, SLOW_SCANS_MS);
    }
    end_checks();
}

/* Deep trees: the images 100 and 200 levels down are thumbnailed at the
 * mirrored depth; past PATH_MAX (deeplong/, ~6.4 KB path) thumbd may succeed
 * or fail, with a message. */
static void test_deep_trees(void **state)
{
    (void)state;
    begin_checks();
    run *r = main_run();
    names l = {0};
    corpus_under("deeplong/", &l);
    CHECK(l.n == 2, "%d files in deeplong/, want 2", l.n);
    for (int i = 0; i < l.n; i++) {
        const rec *x = main_rec(l.v[i]);
        if (!x)
            continue;
        bool too_long = strlen(l.v[i]) >= PATH_MAX;
        printf("  deeplong: %zu-byte path: %s %s\n", strlen(l.v[i]), e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (!too_long || e2e_is(x, "ok"))
            check_ok(r, x, l.v[i]);
        else
            check_failed_rec(r, x, l.v[i]);
    }
    strlist_free(&l);
    names d = {0};
    corpus_under("deep/", &d);
    CHECK(d.n == 2, "%d files in deep/, want 2", d.n);
    for (int i = 0; i < d.n; i++) {
        const rec *x = main_rec(d.v[i]);
        const char *out = x ? e2e_str(x, "out") : NULL;
        int depth = 0;
        for (const char *p = out ? out : ""; *p; p++)
            depth += *p == '/';
        CHECK(out && (depth == 101 || depth == 201), "%s: thumbnail at depth %d", shown(d.v[i]),
              depth);
    }
    strlist_free(&d);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* Runs with limit options                                                    */

/* Links corpus files into a fresh directory <tmp>/<tag>-in. */
static void make_input(char *dir, size_t n, const char *tag, const char *const *files)
{
    pathf(dir, n, "%s/%s-in", g_tmp, tag);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; files[i]; i++) {
        char src[900], dst[900];
        const char *base = strrchr(files[i], '/');
        pathf(src, sizeof src, "%s/%s", g_corpus, files[i]);
        pathf(dst, sizeof dst, "%s/%s", dir, base ? base + 1 : files[i]);
        assert_int_equal(link(src, dst), 0);
    }
}

/* The record of src in run r; a missing or repeated one is a failed check. */
static const rec *run_rec(const run *r, const char *src)
{
    int count;
    const rec *x = e2e_report_find(&r->rp, src, &count);
    CHECK(count == 1, "%s: %d records in the report (want exactly 1)", shown(src), count);
    return x;
}

/* True if the run was refused as a usage error (an unknown option). */
static bool usage_error(const run *r, const char *option)
{
    if (r->pr.code != 2)
        return false;
    fail_check("thumbd does not accept %s (exit 2): the protection is missing", option);
    return true;
}

/* --max-scans N is honoured both ways: at 3000 the 2112-scan file decodes
 * and the 22112-scan file is refused (after reading 3000 scans: no time
 * bound here); at 5 even a plain progressive JPEG (10 scans) is refused.
 * Refusals name the option. */
static void test_max_scans_option(void **state)
{
    (void)state;
    begin_checks();
    char in[700];
    static const char *const files[] = {"scans/many_scans.jpg", "scans/dup_scans.jpg",
                                        "good/prog.jpg", "good/photo.jpg", NULL};
    make_input(in, sizeof in, "scans", files);
    static const char *const hi[] = {"--max-scans", "3000", NULL};
    run r;
    do_run(&r, "max-scans-3000", in, hi, 60);
    if (!usage_error(&r, "--max-scans")) {
        CHECK(r.pr.code == 1, "--max-scans 3000: exit %d, want 1", r.pr.code);
        check_ok(&r, run_rec(&r, "many_scans.jpg"), "many_scans.jpg (2112 scans)");
        check_ok(&r, run_rec(&r, "prog.jpg"), "prog.jpg");
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg");
        const rec *dup = run_rec(&r, "dup_scans.jpg");
        CHECK(dup && names_limit(dup, "--max-scans"),
              "dup_scans.jpg (22112 scans) at --max-scans 3000: %s %s",
              status_of(dup), error_of(dup));
    }
    e2e_report_free(&r.rp);
    static const char *const lo[] = {"--max-scans", "5", NULL};
    do_run(&r, "max-scans-5", in, lo, 60);
    if (!usage_error(&r, "--max-scans")) {
        const rec *p = run_rec(&r, "prog.jpg");
        CHECK(p && names_limit(p, "--max-scans"), "prog.jpg (10 scans) at --max-scans 5: %s %s",
              status_of(p), error_of(p));
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg (baseline: 1 scan)");
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* --max-dimension N is honoured both ways: at 20000 the 30000x8 JPEG is
 * refused from its header; at 400000 the 300000x1 PNG (refused by the
 * default) is thumbnailed. */
static void test_max_dimension_option(void **state)
{
    (void)state;
    begin_checks();
    char in[700];
    static const char *const files[] = {"dims/wide_30000x8.jpg", "dims/wide_300000x1.png",
                                        "good/photo.jpg", NULL};
    make_input(in, sizeof in, "dims", files);
    static const char *const lo[] = {"--max-dimension", "20000", NULL};
    run r;
    do_run(&r, "max-dimension-20000", in, lo, 60);
    if (!usage_error(&r, "--max-dimension")) {
        static const char *const wide[] = {"wide_30000x8.jpg", "wide_300000x1.png"};
        for (int i = 0; i < 2; i++) {
            const rec *x = run_rec(&r, wide[i]);
            CHECK(x && names_limit(x, "--max-dimension"), "%s at --max-dimension 20000: %s %s",
                  wide[i], status_of(x), error_of(x));
            CHECK(x && e2e_num(x, "total_ms") < HEADER_REFUSAL_MS, "%s: %.0f ms to refuse", wide[i],
                  x ? e2e_num(x, "total_ms") : NAN);
        }
        check_ok(&r, run_rec(&r, "photo.jpg"), "photo.jpg");
    }
    e2e_report_free(&r.rp);
    static const char *const hi[] = {"--max-dimension", "400000", NULL};
    do_run(&r, "max-dimension-400000", in, hi, 60);
    if (!usage_error(&r, "--max-dimension")) {
        CHECK(r.pr.code == 0, "--max-dimension 400000: exit %d, want 0", r.pr.code);
        check_ok(&r, run_rec(&r, "wide_300000x1.png"), "wide_300000x1.png");
        check_ok(&r, run_rec(&r, "wide_30000x8.jpg"), "wide_30000x8.jpg");
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* One file per run: peak RSS above the one-small-image run. A flood of APP1
 * markers, inflate bombs in zTXt/iCCP and many scans must not make thumbd
 * hold memory in proportion to the file (see the bounds at the top). */
static void test_memory_per_file(void **state)
{
    (void)state;
    begin_checks();
    static const struct {
        const char *file;
        long allowance_mib;
    } cases[] = {
        {"appflood/app1_flood.jpg", 16}, {"chunks/ztxt_bomb.png", 16},
        {"chunks/iccp_bomb.png", 16},    {"chunks/many_text.png", 16},
        {"scans/many_scans.jpg", 40},    {"scans/dup_scans.jpg", 40},
    };
    printf("  one-image run: %.1f MiB\n", (double)g_base_rss_kb / 1024.0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tag[64], in[700];
        pathf(tag, sizeof tag, "rss%zu", i);
        const char *files[2] = {cases[i].file, NULL};
        make_input(in, sizeof in, tag, files);
        run r;
        do_run(&r, tag, in, NULL, 60);
        long grow = r.pr.maxrss_kb - g_base_rss_kb;
        const rec *x = r.rp.n == 1 ? &r.rp.v[0] : NULL;
        printf("  %-26s %s, peak RSS %.1f MiB (%+.1f MiB)\n", cases[i].file,
               x ? e2e_str(x, "status") : "?", (double)r.pr.maxrss_kb / 1024.0,
               (double)grow / 1024.0);
        CHECK(r.pr.code == 0 || r.pr.code == 1, "%s: exit %d", cases[i].file, r.pr.code);
        CHECK(grow < cases[i].allowance_mib * 1024L,
              "%s: peak RSS %.1f MiB, %.1f MiB above a run on one small image (allowed: %ld MiB)",
              cases[i].file, (double)r.pr.maxrss_kb / 1024.0, (double)grow / 1024.0,
              cases[i].allowance_mib);
        e2e_report_free(&r.rp);
    }
    end_checks();
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s THUMBD_BIN THUMBD_HOSTILE_GEN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_gen = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_ends_with_exit_1),
        cmocka_unit_test(test_peak_memory_bounded),
        cmocka_unit_test(test_one_record_per_image),
        cmocka_unit_test(test_valid_images_thumbnailed),
        cmocka_unit_test(test_hostile_names_roundtrip),
        cmocka_unit_test(test_broken_files_fail),
        cmocka_unit_test(test_bitflips_no_crash),
        cmocka_unit_test(test_huge_dimensions_refused),
        cmocka_unit_test(test_extreme_shapes),
        cmocka_unit_test(test_idat_bomb_costs_its_declared_size),
        cmocka_unit_test(test_png_chunk_attacks_cheap),
        cmocka_unit_test(test_many_scans_default),
        cmocka_unit_test(test_deep_trees),
        cmocka_unit_test(test_max_scans_option),
        cmocka_unit_test(test_max_dimension_option),
        cmocka_unit_test(test_memory_per_file),
    };
    launcher_start();
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    launcher_stop();
    return rc;
}
