/* A whole run: scanner, pool, results writer, signals and deadlines. */
#ifndef THUMBD_RUN_H
#define THUMBD_RUN_H

#include "thumbd/config.h"

enum {
    EXIT_ALL_OK = 0,
    EXIT_SOME_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_FATAL = 3,
    EXIT_KNOWN_BAD = 4,        /* finished; the only failures are known-bad files */
    EXIT_LOCKED = 75,          /* EX_TEMPFAIL: another run holds OUT_DIR */
    EXIT_DEADLINE = 124,
    EXIT_SIGNAL_BASE = 128,
};

/* Runs cfg to completion and returns the process exit code. Must be called
 * from the main thread before any other thread exists: it blocks the
 * termination signals and handles them itself. */
int run_thumbd(const thumbd_config *cfg);

#endif
