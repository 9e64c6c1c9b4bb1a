/* Per-directory memos of up-to-date thumbnails, so that a no-op re-run
 * stats each source but not its thumbnail: half the system calls of the
 * incremental check, which are what a no-op re-run costs.
 *
 * A memo, one file in OUT_DIR/.thumbd.memo/ per directory of the tree (and
 * shard), lists the sources whose thumbnails a stat found up to date: name,
 * the source's mtime and size, the thumbnail's format. It also holds the identity of
 * the directory's twin in OUT_DIR (device, inode, ctime) as it was before
 * those stats. It vouches for a source only while the twin's ctime is
 * unchanged and the source's mtime and size are the ones listed: creating, removing or
 * renaming any entry of the twin changes its ctime, so a thumbnail deleted,
 * replaced or added since is noticed. An in-place edit of a thumbnail (its
 * name kept) is not: --force redoes everything.
 *
 * A memo is written only for a directory checked in full by stats whose
 * twin's ctime was at least MEMO_RACY_S before the run began: a change of
 * the twin in the same clock tick as the last one would leave its ctime as
 * it was. So a run right after the one that made the thumbnails stats them
 * all; the runs after it use the memos. A memo that does not match (other
 * options, other shard, a hash collision, a torn or foreign file) is
 * ignored and replaced. Memos are only ever an optimisation: any failure to
 * read or write one means the thumbnails are stat'ed. */
#ifndef THUMBD_MEMO_H
#define THUMBD_MEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "thumbd/outname.h"

#define MEMO_DIR ".thumbd.memo"
#define MEMO_RACY_S 1

/* What every memo of a run shares. */
typedef struct memo_run {
    int out_fd;                /* OUT_DIR, open; not owned */
    int dir_fd;                /* OUT_DIR/MEMO_DIR, open, or -1: no memos yet */
    uint64_t options;          /* hash of the options fingerprint */
    char shard[32];            /* "" or "K/N" */
    struct timespec start;     /* CLOCK_REALTIME at the start of the run */
} memo_run;

/* The memo of one directory, open for one visit of it. */
typedef struct memo_dir memo_dir;

/* Fills r for a run writing to out_fd with the options fingerprint
 * fingerprint, shard K of N (N <= 1: no sharding), started at start, and
 * makes OUT_DIR/MEMO_DIR if it is missing (now, not with the first memo:
 * that would change OUT_DIR's ctime again). Memos are read only from a
 * real directory MEMO_DIR (not a symlink). */
void memo_run_init(memo_run *r, int out_fd, const char *fingerprint, int shard_index,
                   int shard_count, const struct timespec *start);

/* Releases what memo_run_init took. */
void memo_run_end(memo_run *r);

/* Opens the memo of the directory rel_dir ("" at the top), whose twin in
 * OUT_DIR is open at twin_fd: the memo read back if it is still valid.
 * NULL when out of memory or twin_fd cannot be stat'ed (check by stat). */
memo_dir *memo_begin(const memo_run *r, const char *rel_dir, int twin_fd);

/* True, with the format of name's thumbnail in *kind, if the memo vouches
 * that it is up to date with a source of this mtime and size. Thread-safe. */
bool memo_lookup(const memo_dir *m, const char *name, const struct timespec *mtime, int64_t size,
                 out_kind *kind);

/* Notes that name's thumbnail (of format kind) was found up to date with a
 * source of this mtime and size. Thread-safe. */
void memo_note(memo_dir *m, const char *name, const struct timespec *mtime, int64_t size, out_kind kind);

/* Ends the visit: complete says every entry of the directory was checked.
 * Writes the notes as the directory's new memo when the old one was not
 * valid and the rules above allow it. Frees m (NULL: nothing). */
void memo_end(memo_dir *m, bool complete);

/* Removes every memo (the whole tree's and every shard's). */
void memo_forget(int out_fd);

/* Removes the memos that can never vouch again, of any options or shard:
 * those whose directory's twin in OUT_DIR is gone or is another directory
 * now (other device or inode: --prune removed it, or someone did), and
 * files in MEMO_DIR that are not sound memos. Without it they would stay
 * for good, one small file per directory the tree ever had. Returns how
 * many it removed. */
size_t memo_prune(const memo_run *r);

#endif
