/* Skipping a test the machine cannot run, visibly, and never in CI.
 *
 * A test that cannot run here (no setpriv, no right to mount a tmpfs, a race
 * it did not catch, no O_TMPFILE) calls test_skip("why"): it prints
 * "  SKIPPED: why" and skips (cmocka's skip()). When the environment holds
 * THUMBD_TEST_STRICT=1 (scripts/test.sh sets it for its ctest runs) a skip
 * fails the test instead, so a green CI means every test ran.
 * Header-only: unit tests use it without linking e2e_util. Call it only from
 * inside a cmocka test; include <cmocka.h> (and its prerequisites) first. */
#ifndef THUMBD_TEST_SKIP_H
#define THUMBD_TEST_SKIP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* true when THUMBD_TEST_STRICT is "1": skips are failures. */
static inline bool test_strict(void)
{
    const char *v = getenv("THUMBD_TEST_STRICT");
    return v && !strcmp(v, "1");
}

/* Skips the current test, saying why (a failure under THUMBD_TEST_STRICT=1). */
#define test_skip(why)                                                                    \
    do {                                                                                  \
        printf("  SKIPPED: %s\n", (why));                                                 \
        fflush(stdout);                                                                   \
        if (test_strict())                                                                \
            fail_msg("a skip under THUMBD_TEST_STRICT=1 is a failure: %s", (why));      \
        skip();                                                                           \
    } while (0)

#endif
