/* The worker processes' sandbox (sandbox.h), end to end: a preload shim
 * (sandbox_shim.c) makes the decoder of one file try to open a socket,
 * write and read outside the trees, fork and exec. With --sandbox off every
 * attempt works (the shim and this test see what they claim to); with the
 * default sandbox each is refused, and every image still gets its
 * thumbnail, on the native path and through libvips (GIF, WebP, TIFF, SVG
 * made here), and over testdata/. Landlock must be in this kernel: else the
 * read check looks for the one-line notice instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/landlock.h>
#include <vips/vips.h>

#include "e2e_util.h"

extern char **environ;

static const char *thumbd_bin, *shim_lib, *testdata;
static char root[256], in_dir[300], out_dir[300], shim_log[300], report[300], secret[300],
    outside[300], err_path[300];
static char *envp[512];

static void gray_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        row[i] = (uint8_t)((i * 7 + y) & 0xFF);
}

static void make_env(void)
{
    static char vars[5][600];
    int n = 0;
    for (char **e = environ; *e && n < 500; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "ASAN_OPTIONS=", 13) &&
            strncmp(*e, "SANDBOX_SHIM_", 13) && strncmp(*e, "THUMBD_", 7))
            envp[n++] = *e;
    pathf(vars[0], sizeof vars[0], "LD_PRELOAD=%s", shim_lib);
    pathf(vars[1], sizeof vars[1], "SANDBOX_SHIM_LOG=%s", shim_log);
    pathf(vars[2], sizeof vars[2], "SANDBOX_SHIM_WRITE_DIR=%s", outside);
    pathf(vars[3], sizeof vars[3], "SANDBOX_SHIM_READ=%s", secret);
    const char *a = getenv("ASAN_OPTIONS");
    pathf(vars[4], sizeof vars[4], "ASAN_OPTIONS=%s%sverify_asan_link_order=0", a ? a : "",
          a ? ":" : "");
    for (int i = 0; i < 5; i++)
        envp[n++] = vars[i];
    envp[n] = NULL;
}

static void save_vips(const char *name)
{
    uint8_t px[64 * 48 * 3];
    for (int i = 0; i < (int)sizeof px; i++)
        px[i] = (uint8_t)(i * 13);
    VipsImage *im = vips_image_new_from_memory(px, sizeof px, 64, 48, 3, VIPS_FORMAT_UCHAR);
    char p[400];
    pathf(p, sizeof p, "%s/%s", in_dir, name);
    assert_non_null(im);
    assert_int_equal(vips_image_write_to_file(im, p, NULL), 0);
    g_object_unref(im);
}

/* IN_DIR: escapeme.jpg, two other JPEGs, a GIF, a WebP, a TIFF, an SVG. */
static void make_tree(void)
{
    rm_tree(root);
    mkdir(root, 0755);
    mkdir(in_dir, 0755);
    mkdir(outside, 0755);
    write_file(secret, "secret\n", 7);
    const char *jpegs[] = {"escapeme.jpg", "a.jpg", "b.jpg"};
    for (int i = 0; i < 3; i++) {
        char p[400];
        pathf(p, sizeof p, "%s/%s", in_dir, jpegs[i]);
        assert_int_equal(write_rgb_jpeg(p, 320, 240, 85, gray_row, NULL), 0);
    }
    save_vips("c.gif");
    save_vips("d.webp");
    save_vips("e.tif");
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg' width='80' height='60'>"
                              "<rect width='80' height='60' fill='#c33'/>"
                              "<text x='5' y='30'>thumbd</text></svg>\n";
    char p[400];
    pathf(p, sizeof p, "%s/f.svg", in_dir);
    write_file(p, svg, sizeof svg - 1);
}

static e2e_proc run(const char *in, const char *sandbox)
{
    char *argv[] = {(char *)thumbd_bin, "--quiet", "-j", "2", "--sandbox", (char *)sandbox, "-r",
                    report, (char *)in, out_dir, NULL};
    unlink(err_path);
    return e2e_run(argv, envp, NULL, err_path, 120, 5, "thumbd");
}

/* The shim log's result for what ("0", "EPERM"...), or "" if none. */
static const char *attempt(const char *what, char *buf, size_t n)
{
    char *log = e2e_slurp(shim_log, NULL);
    buf[0] = '\0';
    size_t wl = strlen(what);
    for (char *l = log ? strtok(log, "\n") : NULL; l; l = strtok(NULL, "\n"))
        if (strncmp(l, what, wl) == 0 && l[wl] == ' ')
            snprintf(buf, n, "%s", l + wl + 1);
    free(log);
    return buf;
}

static bool landlock_here(void)
{
    return syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) > 0;
}

/* Every record of the report ok, and at least n of them. */
static void check_all_ok(int n)
{
    e2e_report rep;
    e2e_report_must_load(report, &rep);
    CHECK(rep.n >= n, "%d records, want %d", rep.n, n);
    for (int i = 0; i < rep.n; i++) {
        const e2e_jfield *src = e2e_jrec_get(&rep.v[i], "src");
        const e2e_jfield *st = e2e_jrec_get(&rep.v[i], "status");
        const e2e_jfield *er = e2e_jrec_get(&rep.v[i], "error");
        CHECK(st && strcmp(st->s, "ok") == 0, "%s: %s %s", src ? src->s : "?", st ? st->s : "?",
              er && er->type == E2E_J_STR ? er->s : "");
    }
    e2e_report_free(&rep);
}

/* Without the sandbox every attempt works: the shim sees what it claims. */
static void test_off_lets_everything_through(void **state)
{
    (void)state;
    begin_checks();
    make_tree();
    e2e_proc p = run(in_dir, "off");
    char b[64];
    CHECK(p.code == 1, "exit %d, want 1 (escapeme.jpg's worker exec'd away)", p.code);
    CHECK(strcmp(attempt("socket", b, sizeof b), "0") == 0, "socket: '%s', want 0", b);
    CHECK(strcmp(attempt("write", b, sizeof b), "0") == 0, "write: '%s', want 0", b);
    CHECK(strcmp(attempt("read", b, sizeof b), "0") == 0, "read: '%s', want 0", b);
    CHECK(strcmp(attempt("fork", b, sizeof b), "0") == 0, "fork: '%s', want 0", b);
    CHECK(!attempt("exec", b, sizeof b)[0], "exec: '%s', want none (it worked)", b);
    end_checks();
}

/* The default sandbox refuses each attempt; every image gets its thumbnail. */
static void test_sandbox_refuses_escapes(void **state)
{
    (void)state;
    begin_checks();
    make_tree();
    e2e_proc p = run(in_dir, "on");
    char b[64];
    CHECK(p.code == 0, "exit %d, want 0", p.code);
    CHECK(strcmp(attempt("socket", b, sizeof b), "EPERM") == 0, "socket: '%s', want EPERM", b);
    CHECK(strcmp(attempt("fork", b, sizeof b), "EPERM") == 0, "fork: '%s', want EPERM", b);
    CHECK(strcmp(attempt("exec", b, sizeof b), "EPERM") == 0, "exec: '%s', want EPERM", b);
    CHECK(strcmp(attempt("write", b, sizeof b), "0") != 0 && b[0], "write outside: '%s'", b);
    char *err = e2e_slurp(err_path, NULL);
    if (landlock_here()) {
        CHECK(strcmp(attempt("read", b, sizeof b), "EACCES") == 0, "read outside: '%s', want EACCES", b);
        CHECK(!err || !strstr(err, "sandbox"), "stderr: %s", err);
    } else {
        CHECK(err && strstr(err, "worker sandbox incomplete: Landlock"), "no Landlock notice: %s",
              err ? err : "");
    }
    free(err);
    check_all_ok(7);
    end_checks();
}

/* testdata/ under the sandbox: every image ok, no notice. */
static void test_testdata_under_sandbox(void **state)
{
    (void)state;
    begin_checks();
    rm_tree(root);
    mkdir(root, 0755);
    e2e_proc p = run(testdata, "on");
    CHECK(p.code == 0, "exit %d, want 0", p.code);
    check_all_ok(5);
    end_checks();
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s THUMBD SANDBOX_SHIM TESTDATA\n", argv[0]);
        return 2;
    }
    thumbd_bin = argv[1];
    shim_lib = argv[2];
    testdata = argv[3];
    if (VIPS_INIT(argv[0]))
        return 2;
    pathf(root, sizeof root, "/tmp/thumbd-sandbox-%d", (int)getpid());
    pathf(in_dir, sizeof in_dir, "%s/in", root);
    pathf(out_dir, sizeof out_dir, "%s/out", root);
    pathf(shim_log, sizeof shim_log, "%s/shim.log", root);
    pathf(report, sizeof report, "%s/report.jsonl", root);
    pathf(secret, sizeof secret, "%s/secret.txt", root);
    pathf(outside, sizeof outside, "%s/outside", root);
    pathf(err_path, sizeof err_path, "%s/stderr", root);
    make_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_lets_everything_through),
        cmocka_unit_test(test_sandbox_refuses_escapes),
        cmocka_unit_test(test_testdata_under_sandbox),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rm_tree(root);
    vips_shutdown();
    return rc;
}
