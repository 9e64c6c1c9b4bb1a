/* Unit tests for the directory walk (src/scan.c) on a real temporary tree. */

/* Helpers shared by the directory walk's unit tests (test_scan.c,
 * test_scanedge.c): temporary trees and a collector of the tasks a walk emits. */
#ifndef THUMBD_TESTS_SCAN_UTIL_H
#define THUMBD_TESTS_SCAN_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "dac_caps.h"
#include "thumbd/scan.h"
#include "thumbd/task.h"

typedef struct tree {
    char root[64];       /* mkdtemp */
    char in[128];        /* root/in */
    char out[160];       /* root/in/out: OUT_DIR inside IN_DIR */
} tree;

void path_join(char *dst, size_t n, const char *a, const char *b);

void mkdir_at(const tree *t, const char *rel);

/* Writes `size` bytes into in/rel. */
void file_at(const tree *t, const char *rel, size_t size);

void symlink_at(const tree *t, const char *target, const char *rel);

void fifo_at(const tree *t, const char *rel);

int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/* Roots created by the running test, removed by its teardown even when an
 * assertion fails half-way. */
extern char created[4][64];

void tree_remove(const tree *t);

int remove_created(void **state);

void tree_new(tree *t);

typedef struct seen_task {
    uint64_t id;
    char rel[256];
    int64_t size;
    struct timespec mtime;
    bool has_preset;
    char preset[TD_ERRLEN];
} seen_task;

typedef struct collector {
    seen_task v[64];
    int n;
    int stop_after;      /* stop callback: stop once n >= stop_after (0: never) */
    int emit_false_at;   /* emit returns false on this emission (1-based; 0: never) */
    int stop_calls;
} collector;

bool collect(thumbd_task *t, void *ctx);

void expect_rels(const collector *c, const char *const *want, int n);

#endif
