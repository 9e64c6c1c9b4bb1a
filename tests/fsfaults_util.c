/* Helpers shared by the filesystem-fault test programs (test_fsfaults.c,
 * test_fsspecial.c): the scratch tree, the runner, tree listings and checks. */
#include "fsfaults_util.h"

const char *g_bin;

char g_tmp[512];

void tpath(char *dst, size_t n, const char *f, ...)
{
    int k = snprintf(dst, n, "%s/", g_tmp);
    assert_true(k > 0 && (size_t)k < n);
    va_list ap;
    va_start(ap, f);
    int m = vsnprintf(dst + k, n - (size_t)k, f, ap);
    va_end(ap);
    assert_true(m >= 0 && (size_t)(k + m) < n);
}

void pf_fits(int n, size_t size)
{
    assert_true(n >= 0 && (size_t)n < size);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

void mkdir_p(const char *path, mode_t mode)
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

bool same_bytes(const char *path, const void *d, size_t n)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    uint8_t *got;
    size_t len;
    if (read_file(path, &got, &len) != 0)
        return false;
    bool same = len == n && !memcmp(got, d, n);
    free(got);
    return same;
}

void rm_tree_chmod(const char *path)
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

void list_rec(const char *root, const char *rel, names *out)
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

void list_sorted(const char *root, names *out)
{
    list_rec(root, "", out);
    strlist_sort(out);
}

bool base_starts(const char *rel, const char *prefix)
{
    const char *slash = strrchr(rel, '/');
    return !strncmp(slash ? slash + 1 : rel, prefix, strlen(prefix));
}

/* ------------------------------------------------------------------------ */
/* Images                                                                     */

void fill_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)y;
    jpeg_fill *j = ctx;
    for (int i = 0; i < w * 3; i++) {
        j->s = j->s * 1103515245u + 12345u;
        row[i] = j->noise ? (uint8_t)(j->s >> 16) : (uint8_t)(60 + 40 * (i % 3) + (int)j->seed * 20);
    }
}

void write_jpeg(const char *path, int w, int h, bool noise, unsigned seed)
{
    jpeg_fill j = {noise, seed, seed * 2654435761u + 7};
    assert_int_equal(write_rgb_jpeg(path, w, h, 92, fill_row, &j), 0);
}

bool jpeg_complete(const uint8_t *d, size_t n)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8 || d[n - 2] != 0xFF || d[n - 1] != 0xD9)
        return false;
    int w, h;
    char why[JMSG_LENGTH_MAX + 16];
    return e2e_jpeg_decodes(d, n, &w, &h, why, sizeof why);
}

bool complete_file(const char *path, char *why, size_t whyn)
{
    uint8_t *d;
    size_t n;
    if (read_file(path, &d, &n) != 0) {
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

void report_load(const char *path, report *rp)
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

const char *errof(const rec *r)
{
    return e2e_str_or(r, "error", "null");
}

/* ------------------------------------------------------------------------ */
/* Running thumbd                                                             */

proc start(const spawn_opts *o, const char *log, const char *const *args)
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

void report_end(proc *p, e2e_proc r)
{
    p->code = r.code;
    p->signo = r.signo;
    printf("  -> exit %d%s%s after %.2f s\n", p->code, p->signo ? ", signal " : "",
           p->signo ? strsignal(p->signo) : "", r.wall_s);
}

void finish(proc *p, double timeout_s)
{
    report_end(p, e2e_wait(&p->ch, timeout_s, 2));
}

void show_log(const char *log)
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

int run_thumbd(const spawn_opts *o, const char *log, const char *const *args)
{
    proc p = start(o, log, args);
    finish(&p, RUN_TIMEOUT_S);
    if (p.code != 0 && p.code != 1)
        show_log(log);
    return p.code;
}

void check_exit(int code, const char *what)
{
    CHECK(code != -2, "%s: thumbd did not finish within %d s", what, RUN_TIMEOUT_S);
    CHECK(code < 128, "%s: thumbd was killed by signal %d (%s)", what, code - 128,
          code > 128 ? strsignal(code - 128) : "");
    CHECK(code != 86, "%s: a sanitizer reported an error", what);
}

void check_no_temps(const char *out, const char *what)
{
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++)
        CHECK(!base_starts(l.v[i], ".thumbd-tmp-"), "%s: %s left in OUT_DIR", what, l.v[i]);
    strlist_free(&l);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                      */

int group_setup(void **state)
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

int group_teardown(void **state)
{
    (void)state;
    char mnt[PATH_MAX];
    PF(mnt, "%s/e2/mnt", g_tmp);
    umount2(mnt, MNT_DETACH);   /* if a failed assertion left it mounted */
    keep_or_remove("THUMBD_FSFAULTS_KEEP", g_tmp, rm_tree_chmod);
    return 0;
}

int fsfaults_util_run(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s THUMBD_BIN\n", argv[0]);
        return 2;
    }
    g_bin = argv[1];
    return _cmocka_run_group_tests("tests", tests, n, group_setup, group_teardown);
}
