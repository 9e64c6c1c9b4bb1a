/* Helpers shared by the hostile-input test programs (test_hostile.c,
 * test_hostilelimits.c): the corpus, a launcher process for runs measured by
 * wait4, the report and tree readers, decoders of the outputs, the main run
 * and its checks. */
#include "hostile_util.h"

const char *g_bin, *g_gen;

char g_tmp[512];      /* temporary root */

char g_corpus[600];   /* <tmp>/corpus */

long g_base_rss_kb;   /* peak RSS of a run on good/photo.jpg alone */

const char *shown(const char *s)
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

proc_res spawn_wait(char *const argv[], const char *out_path, const char *err_path,
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

int g_launch_fd = -1;

pid_t g_launcher = -1;

bool io_full(int fd, void *buf, size_t n, bool writing)
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

void launcher_loop(int fd)
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

void launcher_start(void)
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

void launcher_stop(void)
{
    if (g_launch_fd < 0)
        return;
    close(g_launch_fd);
    waitpid(g_launcher, NULL, 0);
    g_launch_fd = -1;
}

proc_res run_proc(char *const argv[], const char *out_path, const char *err_path,
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

void report_load(const char *path, report *rp)
{
    e2e_report_load(path, rp, E2E_REPORT_NO_LONE_SURROGATES);
}

/* ------------------------------------------------------------------------ */
/* Files (through directory descriptors: some paths exceed PATH_MAX)          */

void list_tree_fd(int fd, const char *prefix, names *out)
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

void list_tree(const char *root, names *out)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    list_tree_fd(fd, "", out);
    close(fd);
}

int open_rel(const char *root, const char *rel)
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

bool read_rel(const char *root, const char *rel, uint8_t **data, size_t *len)
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

bool exists_rel(const char *root, const char *rel)
{
    int fd = open_rel(root, rel);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

int rm_tree_fd(int fd)
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

void rm_tree_at(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    rm_tree_fd(fd);
    close(fd);
    rmdir(path);
}

bool has_image_ext(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpe") ||
           !strcasecmp(dot, ".png");
}

bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* ------------------------------------------------------------------------ */
/* Decoding thumbnails completely                                             */

void png_err(png_structp p, png_const_charp m)
{
    memsrc *s = png_get_error_ptr(p);
    snprintf(s->msg, sizeof s->msg, "%s", m);
    png_longjmp(p, 1);
}

void png_warn(png_structp p, png_const_charp m)
{
    (void)p;
    (void)m;
}

void png_memread(png_structp p, png_bytep out, size_t n)
{
    memsrc *s = png_get_io_ptr(p);
    if (n > s->n - s->at)
        png_error(p, "read past the end");
    memcpy(out, s->d + s->at, n);
    s->at += n;
}

bool png_decodes(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
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

bool complete_image(const uint8_t *d, size_t n, int *w, int *h, char *why, size_t whyn)
{
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        if (d[n - 2] != 0xFF || d[n - 1] != 0xD9) {
            snprintf(why, whyn, "JPEG does not end with EOI (FF D9)");
            return false;
        }
        return e2e_jpeg_decodes(d, n, w, h, why, whyn);
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

run g_main;

void do_run(run *r, const char *tag, const char *in, const char *const *extra,
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

run *main_run(void)
{
    if (!g_main.done)
        do_run(&g_main, "main", g_corpus, NULL, RUN_TIMEOUT_S);
    return &g_main;
}

const rec *main_rec(const char *src)
{
    int count;
    const rec *r = e2e_report_find(&main_run()->rp, src, &count);
    CHECK(count == 1, "%s: %d records in the report (want exactly 1)", shown(src), count);
    return r;
}

void check_ok(const run *ru, const rec *r, const char *src)
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

void check_failed_rec(const run *ru, const rec *r, const char *src)
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

bool names_limit(const rec *r, const char *options)
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

void corpus_under(const char *prefix, names *out)
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

int setup_failed(void)
{
    keep_or_remove("THUMBD_HOSTILE_KEEP", g_tmp, rm_tree_at);
    return -1;
}

int group_setup(void **state)
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
           E2E_UNDER_ASAN ? "yes" : "no", g_launch_fd >= 0 ? "yes" : "no (RSS includes this one's)");
    return 0;
}

int group_teardown(void **state)
{
    (void)state;
    e2e_report_free(&g_main.rp);
    keep_or_remove("THUMBD_HOSTILE_KEEP", g_tmp, rm_tree_at);
    return 0;
}

int hostile_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s THUMBD_BIN THUMBD_HOSTILE_GEN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_gen = argv[2];
    launcher_start();
    int rc = _cmocka_run_group_tests("tests", tests, n, group_setup, group_teardown);
    launcher_stop();
    return rc;
}
