/* The ledger: what thumbd made and what failed, written as it happens, so
 * that whatever ends a run (deadline, signal, SIGKILL, OOM kill, crash, a
 * full disk) the next one keeps every finished thumbnail, does not decode
 * an unchanged known-bad source again, and --prune removes only what
 * thumbd can prove it wrote.
 *
 * One file per source directory in OUT_DIR/LEDGER_DIR/, named by a hash of
 * the directory's path relative to IN_DIR and starting with a header that
 * names that path (a file whose header names another path is not read or
 * written: a hash collision costs that directory its ledger, never a wrong
 * answer). Records are text lines appended with one write each:
 *
 *   T fp size mtime_s mtime_ns ino src out   a thumbnail was linked into place
 *   F fp size mtime_s mtime_ns src reason     a source failed for good
 *   D name                                    thumbd created this subdirectory
 *
 * fp: a hash of the options the thumbnail (T) or the verdict (F) depends
 * on; size and mtime: the source's as it was read; ino: the thumbnail's
 * inode; src: the source's name in the directory; out: the thumbnail's
 * path relative to the directory. Names and reasons are escaped (%XX for
 * bytes up to space, '%' and DEL). For a source, the last T or F record
 * counts; a source made at several sizes (--size given more than once)
 * has a T record for each thumbnail, written one after the other. A line cut short (a run killed in the middle of a write) or not
 * understood is skipped: the cost is that one source is done again.
 *
 * Appends and rewrites are serialised with flock (shared to append,
 * exclusive to rewrite), so the shards of one split can share a ledger. */
#ifndef THUMBD_LEDGER_H
#define THUMBD_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "thumbd/status.h"

#define LEDGER_DIR ".thumbd.ledger"

typedef struct ledger_entry {
    char kind;                 /* 'T', 'F' or 'D' */
    uint64_t fp;
    int64_t size;
    struct timespec mtime;
    uint64_t ino;              /* T only */
    char *src;                 /* T, F: the source's name; D: the subdirectory's */
    char *out;                 /* T: the thumbnail's path from the directory; F: the reason */
} ledger_entry;

/* The ledgers of one OUT_DIR. */
typedef struct ledger {
    int dir_fd;                /* OUT_DIR/LEDGER_DIR, or -1: none could be made */
} ledger;

/* One directory's ledger as read. Read-only once loaded: thread-safe. */
typedef struct ledger_dir {
    ledger_entry *v;           /* in the file's order */
    size_t n;
    size_t *index;             /* open addressing by source name: 1 + index into v of
                                * its last T or F record, 0 empty */
    size_t index_cap;          /* a power of two */
    size_t *out_index;         /* the same by thumbnail path: its last T record */
    size_t lines;              /* lines in the file, for deciding on a rewrite */
} ledger_dir;

/* Opens (making it when missing and make is set) OUT_DIR/LEDGER_DIR, never
 * through a symlink. Without it (read-only OUT_DIR, make unset and none
 * there) l->dir_fd is -1: lookups find nothing and notes fail. */
void ledger_open(ledger *l, int out_fd, bool make);
void ledger_close(ledger *l);

/* The ledger of rel_dir ("" for IN_DIR itself): empty when there is none.
 * NULL only when out of memory. */
ledger_dir *ledger_load(const ledger *l, const char *rel_dir);
void ledger_dir_free(ledger_dir *d);

/* The record that counts for the source named src (its last T or F), or
 * NULL. */
const ledger_entry *ledger_latest(const ledger_dir *d, const char *src);

/* The last T record of the thumbnail at out (its path from the
 * directory), or NULL: a source made at several sizes has one T record per
 * thumbnail. */
const ledger_entry *ledger_thumb_at(const ledger_dir *d, const char *out);

/* The source's size and mtime are as recorded in e. */
bool ledger_same_source(const ledger_entry *e, int64_t size, const struct timespec *mtime);

/* Appends a T record for the source src_rel (relative to IN_DIR) whose
 * thumbnail out_rel (relative to OUT_DIR, in the same directory or below
 * it) has inode ino. */
td_status ledger_note_thumb(const ledger *l, const char *src_rel, const char *out_rel, uint64_t fp,
                            int64_t size, const struct timespec *mtime, uint64_t ino,
                            char err[TD_ERRLEN]);

/* Appends an F record: src_rel failed for good with reason. */
td_status ledger_note_failure(const ledger *l, const char *src_rel, uint64_t fp, int64_t size,
                              const struct timespec *mtime, const char *reason, char err[TD_ERRLEN]);

/* Appends a D record to the ledger of rel_dir's parent: thumbd created the
 * output directory rel_dir. */
td_status ledger_note_mkdir(const ledger *l, const char *rel_dir, char err[TD_ERRLEN]);

/* Rewrites rel_dir's ledger with the records of d for which keep[i] holds
 * (keep NULL: the records that count: each source's last, the last T of
 * each thumbnail path, each D once), atomically. With no record kept the
 * file is removed. */
td_status ledger_rewrite(const ledger *l, const char *rel_dir, const ledger_dir *d, const bool *keep,
                         char err[TD_ERRLEN]);

/* Removes rel_dir's ledger (its directory is gone). */
void ledger_remove(const ledger *l, const char *rel_dir);

/* The records that ledger_rewrite(keep NULL) would keep, as flags in
 * keep[d->n]. Returns how many. */
size_t ledger_live(const ledger_dir *d, bool *keep);

#endif
