/* The main() of an end-to-end test program: see e2e_util.h. */
#include "e2e_util.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

const char *e2e_bin;
char e2e_root[256];

/* The program's group teardown and the variable that keeps its root, for
 * group_teardown (cmocka passes no context to a group fixture). */
static int (*g_teardown)(void **);
static char g_keep_env[64];

static int group_teardown(void **state)
{
    int rc = g_teardown ? g_teardown(state) : 0;
    keep_or_remove(g_keep_env, e2e_root, rm_tree);
    return rc;
}

int e2e_main_ex(int argc, char **argv, const e2e_prog *p, const struct CMUnitTest *tests, size_t n)
{
    int nargs = 0;
    while (nargs < E2E_PROG_ARGS && p->args[nargs])
        nargs++;
    if (argc < 2 + nargs) {
        fprintf(stderr, "usage: %s THUMBD_BIN%s%s\n", argv[0], nargs ? " " : "",
                p->usage ? p->usage : "");
        return 2;
    }
    e2e_bin = argv[1];
    for (int i = 0; i < nargs; i++)
        *p->args[i] = argv[2 + i];
    int k = snprintf(g_keep_env, sizeof g_keep_env, "THUMBD_%s_KEEP", p->name);
    if (k < 0 || (size_t)k >= sizeof g_keep_env)
        return 2;
    for (char *c = g_keep_env; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    const char *tmp = getenv("TMPDIR");
    k = snprintf(e2e_root, sizeof e2e_root, "%s/thumbd-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
                 p->name);
    if (k < 0 || (size_t)k >= sizeof e2e_root || !mkdtemp(e2e_root)) {
        perror("mkdtemp");
        return 2;
    }
    g_teardown = p->teardown;
    return _cmocka_run_group_tests(p->name, tests, n, p->setup, group_teardown);
}

int e2e_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n)
{
    const e2e_prog p = {.name = name};
    return e2e_main_ex(argc, argv, &p, tests, n);
}
