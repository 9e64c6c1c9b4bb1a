/* --prune: removing the thumbnails whose source is gone.
 *
 * Only what thumbd can prove it made goes: a thumbnail listed in its
 * directory's ledger (ledger.h) and still the same file (the inode and
 * mtime the ledger recorded), and a directory the ledger says thumbd
 * created, once empty and its source directory gone or its last thumbnail
 * removed (a --name template's subdirectory). Nothing else in OUT_DIR is
 * touched, whatever its name.
 *
 * A source is gone only when a lookup says so (ENOENT). A source directory
 * that cannot be read (EACCES, EIO, ...), or that the scan could not read
 * completely, is unknown, not empty: nothing below it is pruned.
 *
 * Bounded like rsync's --max-delete: when more thumbnails would go than
 * the bound allows (an empty or unmounted IN_DIR), none goes. */
#ifndef THUMBD_PRUNE_H
#define THUMBD_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "thumbd/ledger.h"
#include "thumbd/status.h"
#include "thumbd/task.h"

/* Receives a TASK_PRUNED task for each removed thumbnail (ownership passes). */
typedef void (*prune_emit_fn)(thumbd_task *t, void *ctx);

typedef struct prune_opts {
    int in_fd, out_fd;         /* IN_DIR and OUT_DIR, open */
    const ledger *ledger;
    int64_t max_count;         /* remove at most this many, or -1: by max_pct */
    double max_pct;            /* at most this % of the recorded thumbnails (at least
                                * PRUNE_MIN), or -1: by max_count */
    /* Optional: true when the scan could not read rel (a path relative to
     * IN_DIR) completely: nothing at or below it is pruned. */
    bool (*unsure)(const char *rel, void *ctx);
    void *unsure_ctx;
    prune_emit_fn emit;
    void *ctx;
    uint64_t *next_id;         /* ids of the pruned records, counted up */
} prune_opts;

/* The bound by percentage never falls below this many thumbnails. */
#define PRUNE_MIN 20

typedef struct prune_result {
    uint64_t recorded;         /* thumbnails the ledgers list */
    uint64_t gone;             /* of those, whose source is gone: to remove */
    uint64_t bound;            /* what the options allow */
    uint64_t removed;
    uint64_t unsure;           /* kept: their source could not be checked */
    bool refused;              /* gone > bound: nothing was removed */
} prune_result;

/* The paths the scan could not read (directories it could not open or
 * list, files it could not stat), gathered during the scan from one
 * thread: prune_unsure_has is prune_opts.unsure. Past PRUNE_UNSURE_MAX
 * paths the whole tree counts as unsure. */
typedef struct prune_unsure {
    char **v;
    size_t n, cap;
    bool all;                  /* too many, or out of memory */
} prune_unsure;

#define PRUNE_UNSURE_MAX 10000

void prune_unsure_add(prune_unsure *u, const char *rel);
bool prune_unsure_has(const char *rel, void *u);
void prune_unsure_free(prune_unsure *u);

/* Prints what prune_run did, or why it refused, on stderr (unless quiet,
 * for what is not a refusal). */
void prune_explain(const prune_result *res, const prune_opts *o, bool quiet);

/* Removes what --prune removes (see above), or nothing when that is more
 * than the bound (res->refused); emits a record for each thumbnail
 * removed. Fails only when OUT_DIR cannot be read. */
td_status prune_run(const prune_opts *o, prune_result *res, char err[TD_ERRLEN]);

#endif
