/* What the LD_PRELOAD shims of the tests (crash_shim.c, sandbox_shim.c)
 * share: they act only while the file they are aimed at is open. */
#ifndef THUMBD_TESTS_SHIM_UTIL_H
#define THUMBD_TESTS_SHIM_UTIL_H

/* 1 if this process has a file open whose path contains word, else 0
 * (also when /proc/self/fd cannot be read). */
int shim_open_file_has(const char *word);

#endif
