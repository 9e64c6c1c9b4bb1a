/* End-to-end tests of the libvips module's ABI check (vipsmod.h): thumbd
 * refuses a thumbd_vips.so from another version of thumbd, saying so, and
 * uses one of its own.
 *
 *   test_vipsabi THUMBD_BIN STALE_MODULE NO_ABI_MODULE MODULE
 *
 * STALE_MODULE and NO_ABI_MODULE are tests/stale_vipsmod.c built with
 * vipsmod_abi 999 and without it (every function aborts); MODULE is the
 * real one. Each run points THUMBD_VIPS_MODULE at one of them and asks for
 * --engine vips on a JPEG. THUMBD_VIPSABI_KEEP=1 keeps the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

extern char **environ;

static const char *g_stale, *g_no_abi, *g_module;

static void gray_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        row[i] = (uint8_t)(i + y);
}

/* The "error" of report's record of a.jpg, malloc'd: "" when it has none,
 * "(no record)" when there is no such record. */
static char *error_of_a(const char *report)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(read_file(report, &data, &len), 0);
    char *text = realloc(data, len + 1);
    assert_non_null(text);
    text[len] = '\0';
    char *found = NULL, *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
        e2e_jrec r;
        const e2e_jfield *src, *err;
        if (e2e_jrec_parse(line, &r, E2E_JREC_MAX, true) && (src = e2e_jrec_get(&r, "src")) &&
            src->type == E2E_J_STR && !strcmp(src->s, "a.jpg"))
            found = strdup((err = e2e_jrec_get(&r, "error")) && err->type == E2E_J_STR ? err->s : "");
        e2e_jrec_free(&r);
    }
    free(text);
    return found ? found : strdup("(no record)");
}

/* Runs thumbd --engine vips over a fresh IN_DIR holding a.jpg, with
 * THUMBD_VIPS_MODULE=module; the error of a.jpg's record in *err
 * (error_of_a). */
static e2e_proc run_with(const char *name, const char *module, char **err)
{
    char in[400], out[400], so[400], se[400], rep[400], env_mod[1200];
    pathf(in, sizeof in, "%s/%s-in", e2e_root, name);
    pathf(out, sizeof out, "%s/%s-out", e2e_root, name);
    pathf(so, sizeof so, "%s/%s.stdout", e2e_root, name);
    pathf(se, sizeof se, "%s/%s.stderr", e2e_root, name);
    pathf(rep, sizeof rep, "%s/%s.jsonl", e2e_root, name);
    assert_int_equal(mkdir(in, 0755), 0);
    char img[500];
    pathf(img, sizeof img, "%s/a.jpg", in);
    assert_int_equal(write_rgb_jpeg(img, 64, 48, 90, gray_row, NULL), 0);
    pathf(env_mod, sizeof env_mod, "THUMBD_VIPS_MODULE=%s", module);
    /* This process's environment, but for any THUMBD_* variable. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "THUMBD_", 7) != 0)
            envp[k++] = environ[i];
    envp[k++] = env_mod;
    char *const argv[] = {(char *)e2e_bin, "--engine", "vips", "--quiet", "--report", rep, in, out, NULL};
    e2e_proc p = e2e_run(argv, envp, so, se, 120, 5, name);
    free(envp);
    *err = error_of_a(rep);
    return p;
}

static bool thumb_exists(const char *name)
{
    char path[500];
    pathf(path, sizeof path, "%s/%s-out/a.jpg", e2e_root, name);
    return access(path, F_OK) == 0;
}

/* A module of ABI 999: refused with a message naming it; never called
 * (its functions abort). */
static void test_stale_abi_refused(void **state)
{
    (void)state;
    begin_checks();
    char *err;
    e2e_proc p = run_with("stale", g_stale, &err);
    char want[1200];
    pathf(want, sizeof want, "%s is from another version of thumbd (ABI 999, expected 3): reinstall",
          g_stale);
    CHECK(p.code == 1, "exit %d, expected 1 (the image failed); error: %s", p.code, err);
    CHECK(strstr(err, want) != NULL, "the error is not \"%s...\": %s", want, err);
    CHECK(!thumb_exists("stale"), "a thumbnail was written with the stale module");
    free(err);
    end_checks();
}

/* A module without vipsmod_abi counts as ABI 0. */
static void test_no_abi_refused(void **state)
{
    (void)state;
    begin_checks();
    char *err;
    e2e_proc p = run_with("noabi", g_no_abi, &err);
    CHECK(p.code == 1, "exit %d, expected 1 (the image failed); error: %s", p.code, err);
    CHECK(strstr(err, "is from another version of thumbd (ABI 0, expected 3): reinstall") != NULL,
          "the error is not the ABI 0 refusal: %s", err);
    CHECK(!thumb_exists("noabi"), "a thumbnail was written with the module without an ABI");
    free(err);
    end_checks();
}

/* The module of this build is used. */
static void test_own_module_used(void **state)
{
    (void)state;
    begin_checks();
    char *err;
    e2e_proc p = run_with("own", g_module, &err);
    CHECK(p.code == 0, "exit %d, expected 0; error: %s", p.code, err);
    CHECK(thumb_exists("own"), "no thumbnail from the module of this build");
    free(err);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_abi_refused),
        cmocka_unit_test(test_no_abi_refused),
        cmocka_unit_test(test_own_module_used),
    };
    const e2e_prog p = {.name = "vipsabi",
                        .args = {&g_stale, &g_no_abi, &g_module},
                        .usage = "STALE_MODULE NO_ABI_MODULE MODULE"};
    return e2e_main_ex(argc, argv, &p, tests, sizeof tests / sizeof tests[0]);
}
