/* What a run takes from the runs before it, and what it leaves for the
 * next: whether a source's thumbnail is up to date, whether a source is
 * known to be bad, and the notes (ledger.h) that make each finished
 * thumbnail and each lasting failure count for the next run, whatever ends
 * this one.
 *
 * A source's thumbnail is up to date when the source's last ledger record
 * is a thumbnail made with these options from a source of the same size
 * and mtime, and that thumbnail is still in place: a regular file with the
 * source's mtime (thumbd gives each thumbnail its source's mtime, to the
 * nanosecond), at the path the --name template gives it (outname.h). One
 * found under another inode (OUT_DIR copied or restored) is recorded again
 * under it, so that --prune knows it. The directory's memo (memo.h)
 * vouches for the thumbnail without a stat when it can: with a template
 * that makes subdirectories memos are not used, since a thumbnail removed
 * from a subdirectory leaves the directory's twin as it was. A source made
 * at several sizes (--size given more than once) is up to date when every
 * one of its thumbnails is: each with its own ledger record of these
 * options and this source, in place; one missing or changed and the
 * source is made again, all its sizes from one decode. A source is
 * known bad when its last record is a failure with the same size, mtime and
 * decoding options: it is not decoded again (unless --retry-failed or
 * --force). */
#ifndef THUMBD_UPTODATE_H
#define THUMBD_UPTODATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "thumbd/config.h"
#include "thumbd/ledger.h"
#include "thumbd/memo.h"
#include "thumbd/outname.h"
#include "thumbd/task.h"

typedef struct uptodate {
    const thumbd_config *cfg;
    int out_fd;                /* not owned */
    ledger ledger;
    memo_run memo;
    outname_rule names;        /* --name, of the first size */
    int nboxes;                /* the sizes a source is made at (config_boxes) */
    config_size boxes[CONFIG_MAX_SIZES];
    uint64_t fp_thumb;         /* options that shape a thumbnail */
    uint64_t fp_fail;          /* and those that decide a failure (the limits) */
    /* --files-from: the ledger of the directory of the last listed path
     * (the scanning thread's alone). */
    char *list_dir;
    ledger_dir *list_ledger;
    atomic_bool warned;        /* a note could not be written (said once) */
} uptodate;

/* Fills u for a run of cfg writing to out_fd (open), whose options
 * fingerprint (state.h) is fingerprint, started at start; makes the
 * ledger and memo directories when missing. */
void uptodate_init(uptodate *u, const thumbd_config *cfg, int out_fd, const char *fingerprint,
                   const struct timespec *start);
void uptodate_end(uptodate *u);

/* Fills u for the notes alone (uptodate_note_result, uptodate_note_mkdir)
 * of another process's run (a worker process: isolation.h), whose fp_thumb
 * and fp_fail it takes. End it with ledger_close(&u->ledger). */
void uptodate_init_notes(uptodate *u, const thumbd_config *cfg, int out_fd, uint64_t fp_thumb,
                         uint64_t fp_fail);

/* The scanner's hooks (scan.h): a directory's context, opened as the walk
 * enters it (twin_fd: its twin in OUT_DIR, or -1 when it has none) and
 * closed as it leaves it. */
void *uptodate_dir_begin(uptodate *u, const char *rel_dir, int twin_fd);
void uptodate_dir_end(void *dir, bool complete);

/* The scanner's fresh hook: the malloc'd path of rel's thumbnail (of the
 * first size) if it is up to date (every size's), else NULL; *known_bad (malloc'd) says why when rel is a
 * known-bad source. dir: uptodate_dir_begin's answer for rel's directory,
 * or NULL (--files-from). Thread-safe for one dir. */
char *uptodate_fresh(uptodate *u, const char *rel, int out_dirfd, const char *name,
                     const struct stat *sb, void *dir, char **known_bad);

/* After a task's last attempt: a thumbnail made is noted as made (each
 * one of several sizes), a source
 * that failed for good (corrupt, over a limit) as failed. A note that
 * cannot be written is a warning on stderr, once a run: the thumbnail is
 * done again next time. Thread-safe. */
void uptodate_note_result(uptodate *u, const thumbd_task *t);

/* fs_atomic's mkdir hook: thumbd created the output directory rel_dir.
 * ctx: the uptodate. */
void uptodate_note_mkdir(const char *rel_dir, void *ctx);

#endif
