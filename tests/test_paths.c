/* End-to-end tests of where thumbd may read and write, run on the real
 * binary:
 *   - an IN_DIR inside OUT_DIR is a usage error before anything is created,
 *     however the two are spelled (absolute, relative with "..", through
 *     symlinks, through bind mounts: this program unshares its mount
 *     namespace and mounts them itself, so it must run as root);
 *   - reads stay beneath IN_DIR where openat2 is missing (forced with
 *     strace's syscall fault injection);
 *   - a missing --files-from list or an unwritable --report is found before
 *     OUT_DIR is created;
 *   - a directory thumbd cannot read (as nobody, through setpriv) gets a
 *     failed record and its own line in the summary, apart from the images.
 * A tool this needs (strace, setpriv, mount rights) that is missing fails
 * the test: it never skips.
 * argv[1]: the thumbd binary. THUMBD_TEST_KEEP=1 keeps the temporary tree. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

enum { NOBODY = 65534 };

static const char *g_bin;
static char g_root[64];
static char g_err[8192];   /* stderr of the last run */

static const char *const SETPRIV[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                      "--clear-groups", NULL};

static void row(uint8_t *r, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        r[i] = (uint8_t)(i * 7 + y * 3);
}

static void jpeg(const char *dir, const char *rel)
{
    char p[512];
    pathf(p, sizeof p, "%s/%s", dir, rel);
    assert_int_equal(write_rgb_jpeg(p, 64, 48, 85, row, NULL), 0);
}

static void mkdirs(const char *dir, const char *rel)
{
    char p[512];
    pathf(p, sizeof p, "%s/%s", dir, rel);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Runs [prefix...] thumbd args... (NULL-terminated) with stdin from
 * /dev/null and no THUMBD_ variables; its stderr goes to g_err. Returns the
 * exit code. */
static int run(const char *const *prefix, ...)
{
    const char *args[48];
    int n = 0;
    va_list ap;
    va_start(ap, prefix);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 47;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    /* LeakSanitizer cannot run under ptrace: off for a traced sanitized build. */
    bool traced = prefix && strstr(prefix[0], "strace");
    char out[128], err[128];
    pathf(out, sizeof out, "%s/last.out", g_root);
    pathf(err, sizeof err, "%s/last.err", g_root);
    e2e_cmd c = {.bin = g_bin,
                 .args = args,
                 .prefix = prefix,
                 .out = out,
                 .err = err,
                 .unset = (const char *const[]){"THUMBD_", NULL},
                 .echo = true,
                 .san_opts =
                     traced ? (const char *const[]){"ASAN_OPTIONS=detect_leaks=0", NULL} : NULL};
    e2e_proc p = e2e_exec(&c, 120);
    size_t len = 0;
    char *d = e2e_slurp(err, &len);
    g_err[0] = '\0';
    if (d) {
        len = len < sizeof g_err - 1 ? len : sizeof g_err - 1;
        memcpy(g_err, d, len);
        g_err[len] = '\0';
        free(d);
    }
    printf("    exit %d; stderr: %s%s", p.code, g_err, len && g_err[len - 1] == '\n' ? "" : "\n");
    return p.code;
}

/* ------------------------------------------------------------------------ */
/* A tree's state: every entry with its type, size, mtime and inode.         */

static strlist *g_snap;
static size_t g_snap_skip;

static int snap_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    char line[1024];
    pathf(line, sizeof line, "%s mode %o size %lld mtime %lld.%09ld ino %llu", path + g_snap_skip,
          (unsigned)sb->st_mode, (long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
          sb->st_mtim.tv_nsec, (unsigned long long)sb->st_ino);
    strlist_add(g_snap, line);
    return 0;
}

static strlist snapshot(const char *dir)
{
    strlist l = {0};
    g_snap = &l;
    g_snap_skip = strlen(dir);
    assert_int_equal(nftw(dir, snap_one, 32, FTW_PHYS | FTW_MOUNT), 0);
    strlist_sort(&l);
    return l;
}

static void check_same(const strlist *a, const strlist *b, const char *tag)
{
    CHECK(a->n == b->n, "[%s] %d entries before, %d after", tag, a->n, b->n);
    for (int i = 0; i < a->n; i++)
        CHECK(strlist_has(b, a->v[i]), "[%s] changed or gone: %s", tag, a->v[i]);
    for (int i = 0; i < b->n; i++)
        CHECK(strlist_has(a, b->v[i]), "[%s] new or changed: %s", tag, b->v[i]);
}

/* ------------------------------------------------------------------------ */
/* Mounts: in a namespace of this process's own, so that none outlives it.   */

static void private_namespace(void)
{
    static bool done;
    if (done)
        return;
    if (unshare(CLONE_NEWNS) != 0)
        fail_msg("unshare(CLONE_NEWNS): %s: this test mounts bind mounts and must run as root",
                 strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        fail_msg("mount --make-rprivate /: %s", strerror(errno));
    done = true;
}

static void bind_mount(const char *from, const char *to)
{
    private_namespace();
    mkdir(to, 0755);
    if (mount(from, to, NULL, MS_BIND, NULL) != 0)
        fail_msg("mount --bind %s %s: %s", from, to, strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* 1. IN_DIR inside OUT_DIR                                                   */

typedef struct overlap {
    const char *tag;
    const char *cwd;      /* relative to the case's directory; NULL: there */
    const char *in, *out; /* as given to thumbd */
    const char *say;      /* in the message */
    bool prune;
} overlap;

/* base/x holds photos/a.jpg, photos/sub/b.jpg and old.jpg (OUT_DIR's own:
 * --prune would take it for a stale thumbnail); base/up is a symlink to
 * base (OUT_DIR's parent), base/alias one to x; base/bx is x bind-mounted,
 * base/bp x/photos bind-mounted (outside x). */
static void overlap_tree(const char *base)
{
    char x[256], p[512], q[512];
    pathf(x, sizeof x, "%s/x", base);
    mkdirs(x, "photos/sub");
    jpeg(x, "photos/a.jpg");
    jpeg(x, "photos/sub/b.jpg");
    jpeg(x, "old.jpg");
    pathf(p, sizeof p, "%s/up", base);
    assert_int_equal(symlink(base, p), 0);
    pathf(p, sizeof p, "%s/alias", base);
    assert_int_equal(symlink(x, p), 0);
    pathf(p, sizeof p, "%s/bx", base);
    bind_mount(x, p);
    pathf(q, sizeof q, "%s/photos", x);
    pathf(p, sizeof p, "%s/bp", base);
    bind_mount(q, p);
}

static void overlap_unmount(const char *base)
{
    char p[512];
    pathf(p, sizeof p, "%s/bx", base);
    CHECK(umount2(p, MNT_DETACH) == 0, "umount %s: %s", p, strerror(errno));
    pathf(p, sizeof p, "%s/bp", base);
    CHECK(umount2(p, MNT_DETACH) == 0, "umount %s: %s", p, strerror(errno));
}

/* Each case on a tree of its own: exit 2 with the message, and nothing in
 * the tree changed (no thumbnail, lock, state, memo or run marker), and no
 * report. */
static void test_in_dir_inside_out_dir(void **state)
{
    (void)state;
    begin_checks();
    const overlap cases[] = {
        {"nested", NULL, "x/photos", "x", "inside OUT_DIR", false},
        {"nested-prune", NULL, "x/photos", "x", "inside OUT_DIR", true},
        {"deeper", NULL, "x/photos/sub", "x", "inside OUT_DIR", false},
        {"dotdot", "x/photos/sub", "../../photos/./sub/..", "../../../x/.", "inside OUT_DIR", false},
        {"symlink-to-out-parent", NULL, "x/photos", "up/x", "inside OUT_DIR", false},
        {"symlink-to-out", NULL, "alias/photos", "x", "inside OUT_DIR", false},
        {"bind-mounted-out", NULL, "x/photos", "bx", "inside OUT_DIR", true},
        {"bind-mounted-in", NULL, "bp", "x", "inside OUT_DIR", true},
        {"bind-mounted-same", NULL, "bp", "x/photos", "OUT_DIR is IN_DIR", false},
    };
    char base[256], p[512], rep[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const overlap *c = &cases[i];
        printf("[%s]\n", c->tag);
        pathf(base, sizeof base, "%s/overlap-%s", g_root, c->tag);
        overlap_tree(base);
        strlist before = snapshot(base);
        pathf(rep, sizeof rep, "%s/%s.jsonl", g_root, c->tag);
        pathf(p, sizeof p, "%s/%s", base, c->cwd ? c->cwd : "");
        assert_int_equal(chdir(p), 0);
        int code = c->prune ? run(NULL, "--prune", "-r", rep, c->in, c->out, NULL)
                            : run(NULL, "-r", rep, c->in, c->out, NULL);
        assert_int_equal(chdir(g_root), 0);
        CHECK(code == 2, "[%s] exit %d, want 2 (usage error)", c->tag, code);
        CHECK(strstr(g_err, c->say) != NULL, "[%s] stderr does not say \"%s\"", c->tag, c->say);
        CHECK(!exists(rep), "[%s] the report was created", c->tag);
        strlist after = snapshot(base);
        check_same(&before, &after, c->tag);
        strlist_free(&before);
        strlist_free(&after);
        overlap_unmount(base);
    }

    /* The other way round stays allowed: OUT_DIR inside IN_DIR, never scanned. */
    pathf(base, sizeof base, "%s/overlap-out-inside-in", g_root);
    mkdirs(base, "x/photos/sub");
    jpeg(base, "x/photos/sub/b.jpg");
    assert_int_equal(chdir(base), 0);
    int code = run(NULL, "x", "x/thumbs", NULL);
    assert_int_equal(chdir(g_root), 0);
    CHECK(code == 0, "[out-inside-in] exit %d, want 0", code);
    pathf(p, sizeof p, "%s/x/thumbs/photos/sub/b.jpg", base);
    CHECK(exists(p), "[out-inside-in] no thumbnail %s", p);
    pathf(p, sizeof p, "%s/x/thumbs/thumbs", base);
    CHECK(!exists(p), "[out-inside-in] OUT_DIR was scanned");
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 5. Without openat2                                                         */

static const char *strace_path(void)
{
    static const char *const cands[] = {"/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    fail_msg("strace not found: it forces the fallback of openat2 (scripts/setup.sh installs it)");
    return NULL;
}

static bool file_has(const char *path, const char *needle)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (read_file(path, &d, &n) != 0)
        return false;
    char *s = realloc(d, n + 1);
    assert_non_null(s);
    s[n] = '\0';
    bool has = strstr(s, needle) != NULL;
    free(s);
    return has;
}

/* The record of src in the report rep has this status and, when err is
 * not NULL, an error that holds err. */
static void check_record(const char *rep, const char *src, const char *status, const char *err,
                         const char *tag)
{
    e2e_report r;
    e2e_report_load(rep, &r, 0);
    const e2e_jrec *x = e2e_report_find(&r, src, NULL);
    CHECK(e2e_is(x, status), "[%s] %s: want status %s, record status %s", tag, src, status,
          x ? e2e_str_or(x, "status", "null") : "none");
    CHECK(!err || strstr(e2e_str_or(x, "error", ""), err), "[%s] %s: the error does not say \"%s\"",
          tag, src, err);
    e2e_report_free(&r);
}

static void test_beneath_without_openat2(void **state)
{
    (void)state;
    begin_checks();
    const char *strace = strace_path();
    char base[128], in[160], outside[160], out[160], out2[160], list[160], rep[160], log[160],
        p[512];
    pathf(base, sizeof base, "%s/fallback", g_root);
    pathf(in, sizeof in, "%s/in", base);
    pathf(outside, sizeof outside, "%s/outside", base);
    pathf(out, sizeof out, "%s/out", base);
    pathf(out2, sizeof out2, "%s/out2", base);
    mkdirs(in, "sub/deep");
    mkdirs(outside, "");
    jpeg(in, "sub/deep/ok.jpg");
    jpeg(in, "top.jpg");
    jpeg(outside, "x.jpg");
    pathf(p, sizeof p, "%s/sub/link", in);
    assert_int_equal(symlink("../../outside", p), 0);
    pathf(list, sizeof list, "%s/list", base);
    write_file(list, "sub/link/x.jpg\nsub/deep/ok.jpg\n", 31);
    pathf(rep, sizeof rep, "%s/list.jsonl", base);
    pathf(log, sizeof log, "%s/strace-list.log", base);
    /* Every openat2 fails with ENOSYS, as on a kernel before 5.6; the log
     * shows that the injection happened. */
    const char *const inject[] = {strace, "-f", "-qq", "-o", log, "-e", "trace=openat2",
                                  "-e", "inject=openat2:error=ENOSYS", NULL};
    int code = run(inject, "-r", rep, "--files-from", list, in, out, NULL);
    CHECK(code == 1, "[list] exit %d, want 1 (one listed path refused)", code);
    CHECK(file_has(log, "(INJECTED)"), "[list] strace injected no openat2 failure: the fallback was not run");
    check_record(rep, "sub/link/x.jpg", "failed", "symbolic link", "list");
    check_record(rep, "sub/deep/ok.jpg", "ok", NULL, "list");
    pathf(p, sizeof p, "%s/sub/link", out);
    CHECK(!exists(p), "[list] %s exists: the outside file was read", p);
    pathf(p, sizeof p, "%s/sub/deep/ok.jpg", out);
    CHECK(exists(p), "[list] no thumbnail %s", p);

    /* A tree walk under the same fallback: nested files work, the link is
     * not followed. */
    pathf(log, sizeof log, "%s/strace-walk.log", base);
    code = run(inject, in, out2, NULL);
    CHECK(code == 0, "[walk] exit %d, want 0", code);
    CHECK(file_has(log, "(INJECTED)"), "[walk] strace injected no openat2 failure");
    pathf(p, sizeof p, "%s/sub/deep/ok.jpg", out2);
    CHECK(exists(p), "[walk] no thumbnail %s", p);
    pathf(p, sizeof p, "%s/top.jpg", out2);
    CHECK(exists(p), "[walk] no thumbnail %s", p);
    pathf(p, sizeof p, "%s/sub/link", out2);
    CHECK(!exists(p), "[walk] %s exists: the link was followed", p);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 13. Checks before OUT_DIR is created; unreadable directories              */

/* Fails the test unless setpriv can run thumbd as nobody. */
static void need_setpriv(void)
{
    if (access(SETPRIV[0], X_OK) != 0)
        fail_msg("%s not found (util-linux): cannot run thumbd as nobody", SETPRIV[0]);
    if (geteuid() != 0)
        fail_msg("not root: cannot run thumbd as nobody through setpriv");
    if (run(SETPRIV, "--version", NULL) != 0)
        fail_msg("setpriv cannot run thumbd as uid %d here", NOBODY);
}

typedef struct early {
    const char *tag;
    bool nobody;
    const char *opt, *arg;
    const char *say;
} early;

static void test_checked_before_out_dir(void **state)
{
    (void)state;
    begin_checks();
    need_setpriv();
    char base[128], in[160], p[512], locked_list[512], root_dir[512], out[512];
    pathf(base, sizeof base, "%s/early", g_root);
    pathf(in, sizeof in, "%s/in", base);
    mkdirs(in, "");
    jpeg(in, "a.jpg");
    assert_int_equal(chmod(base, 0777), 0); /* nobody may create OUT_DIR here */
    pathf(locked_list, sizeof locked_list, "%s/root-only.list", base);
    write_file(locked_list, "a.jpg\n", 6);
    assert_int_equal(chmod(locked_list, 0600), 0);
    pathf(root_dir, sizeof root_dir, "%s/root-only", base);
    mkdirs(root_dir, "");
    assert_int_equal(chmod(root_dir, 0755), 0);
    char missing_list[512], no_dir_rep[512], dir_rep[512], root_rep[512];
    pathf(missing_list, sizeof missing_list, "%s/nonexistent.list", base);
    pathf(no_dir_rep, sizeof no_dir_rep, "%s/nonexistent-dir/r.jsonl", base);
    pathf(dir_rep, sizeof dir_rep, "%s", root_dir);
    pathf(root_rep, sizeof root_rep, "%s/r.jsonl", root_dir);

    const early cases[] = {
        {"missing-list", false, "--files-from", missing_list, "--files-from"},
        {"list-is-a-directory", false, "--files-from", in, "--files-from"},
        {"unreadable-list", true, "--files-from", locked_list, "--files-from"},
        {"report-dir-missing", false, "--report", no_dir_rep, "cannot write report"},
        {"report-is-a-directory", false, "--report", dir_rep, "cannot write report"},
        {"report-dir-unwritable", true, "--report", root_rep, "cannot write report"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const early *c = &cases[i];
        printf("[%s]\n", c->tag);
        pathf(out, sizeof out, "%s/newout-%s", base, c->tag);
        int code = run(c->nobody ? SETPRIV : NULL, c->opt, c->arg, in, out, NULL);
        CHECK(code == 3, "[%s] exit %d, want 3", c->tag, code);
        CHECK(strstr(g_err, c->say) != NULL, "[%s] stderr does not say \"%s\"", c->tag, c->say);
        CHECK(!exists(out), "[%s] OUT_DIR %s was created", c->tag, out);
    }
    pathf(p, sizeof p, "%s/nonexistent-dir", base);
    CHECK(!exists(p), "the report's directory was created");
    pathf(p, sizeof p, "%s/r.jsonl", root_dir);
    CHECK(!exists(p), "the report was created in a directory nobody cannot write");

    /* The same options when they can work: "-" is stdin (here /dev/null). */
    pathf(out, sizeof out, "%s/newout-ok", base);
    pathf(p, sizeof p, "%s/ok.jsonl", base);
    int code = run(SETPRIV, "--files-from", "-", "--report", p, in, out, NULL);
    CHECK(code == 0, "[ok] exit %d, want 0", code);
    CHECK(exists(out) && exists(p), "[ok] OUT_DIR or report missing");
    end_checks();
}

static void test_unreadable_directory_in_summary(void **state)
{
    (void)state;
    begin_checks();
    need_setpriv();
    char base[128], in[160], outroot[160], out[192], rep[192], met[192], p[512];
    pathf(base, sizeof base, "%s/unreadable", g_root);
    pathf(in, sizeof in, "%s/in", base);
    pathf(outroot, sizeof outroot, "%s/outroot", base);
    pathf(out, sizeof out, "%s/out", outroot);
    pathf(rep, sizeof rep, "%s/r.jsonl", outroot);
    pathf(met, sizeof met, "%s/thumbd.prom", outroot);
    mkdirs(in, "locked");
    mkdirs(outroot, "");
    jpeg(in, "a.jpg");
    jpeg(in, "locked/b.jpg");
    assert_int_equal(chown(outroot, NOBODY, NOBODY), 0);
    pathf(p, sizeof p, "%s/locked", in);
    assert_int_equal(chmod(p, 0), 0);

    int code = run(SETPRIV, "-r", rep, "--metrics", met, in, out, NULL);
    assert_int_equal(chmod(p, 0755), 0);
    CHECK(code == 1, "exit %d, want 1 (a directory could not be read)", code);
    CHECK(strstr(g_err, "thumbd: 1 image in") != NULL, "the summary does not count 1 image");
    CHECK(strstr(g_err, "1 ok, 0 failed") != NULL, "the summary does not say 1 ok, 0 failed");
    CHECK(strstr(g_err, "1 directory could not be read") != NULL,
          "the summary has no line for the unreadable directory");
    check_record(rep, "locked", "failed", "Permission denied", "record");
    check_record(rep, "a.jpg", "ok", NULL, "record");
    CHECK(file_has(met, "thumbd_unreadable_directories 1\n"), "metrics: no unreadable directory");
    CHECK(file_has(met, "thumbd_images{status=\"failed\"} 0\n"), "metrics: the directory counted as an image");
    end_checks();
}

static void remove_root(const char *dir)
{
    char cmd[128];
    pathf(cmd, sizeof cmd, "%s/early/root-only.list", dir);
    chmod(cmd, 0644);
    rm_tree(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s THUMBD_BIN\n", argv[0]);
        return 2;
    }
    static char bin[4096];
    if (!realpath(argv[1], bin)) { /* the test changes directories */
        perror(argv[1]);
        return 1;
    }
    g_bin = bin;
    strcpy(g_root, "/tmp/thumbd-test-paths-XXXXXX");
    if (!mkdtemp(g_root) || chmod(g_root, 0755) != 0 || chdir(g_root) != 0) {
        perror("temporary directory");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_dir_inside_out_dir),
        cmocka_unit_test(test_beneath_without_openat2),
        cmocka_unit_test(test_checked_before_out_dir),
        cmocka_unit_test(test_unreadable_directory_in_summary),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    keep_or_remove("THUMBD_TEST_KEEP", g_root, remove_root);
    return rc;
}
