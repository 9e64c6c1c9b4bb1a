/* The stat prober of the tree walk (scan.c): what fstatat, the content
 * detection of --detect content (scanwalk_is_image), and
 * scan_opts.fresh for an image, say of a directory's entries, found ahead
 * of the walk's visits so that two threads share the system calls of a big
 * directory (they are most of what a no-op re-run costs). The walking
 * thread probes itself; a helper thread joins in on big jobs of an
 * incremental walk. Internal to the scan. */
#ifndef THUMBD_SCANPROBE_H
#define THUMBD_SCANPROBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "thumbd/scan.h"

struct scanwalk_entry;

/* What was found of one entry. */
typedef struct scanprobe_result {
    bool done;            /* the fields below are valid */
    int err;              /* errno of fstatat, 0 when it worked */
    struct stat sb;
    bool image;           /* a regular file that is a source (scanwalk_is_image) */
    char *fresh;          /* opts->fresh's answer for an image (owned) */
    char *known;          /* and why it is known bad (owned) */
} scanprobe_result;

/* The entries v[0, n) of one directory to probe into p[0, n); both threads
 * take chunks from next until none is left. Filled in by the walk; next
 * starts at 0 (atomic_init). */
typedef struct scanprobe_job {
    const scan_opts *o;
    void *ctx;            /* the walk's ctx, for o->fresh */
    const char *dir;      /* the directory's path relative to in_dir */
    int fd;               /* the directory, open */
    int out_fd;           /* the same directory in OUT_DIR, or -1 */
    void *dir_ctx;        /* o->dir_begin's answer for the directory */
    const struct scanwalk_entry *v;
    scanprobe_result *p;
    size_t n;
    atomic_size_t next;
} scanprobe_job;

struct scanprobe_helper;

/* One walk's prober; zero-initialised before its first use. */
typedef struct scanprobe {
    struct scanprobe_helper *helper;  /* NULL until needed, or if it cannot start */
    bool helper_failed;
    char *buf;            /* the walking thread's path buffer */
    size_t cap;
} scanprobe;

/* Offers j to the helper thread when j is big enough and the walk is
 * incremental (o->fresh; a first run's cost is decoding, and the helper
 * would take CPU from it), starting the helper on first use. Called by the
 * walking thread, with at most one job offered and not finished. */
void scanprobe_start(scanprobe *pr, scanprobe_job *j);

/* Probes what is left of j in this thread, then waits for the helper's
 * part: afterwards every j->p[i] is done. */
void scanprobe_finish(scanprobe *pr, scanprobe_job *j);

/* Frees the fresh and known answers of p[from, n), which the walk did not
 * take. */
void scanprobe_drop(scanprobe_result *p, size_t from, size_t n);

/* Stops the helper thread and frees the buffer; pr is then empty. */
void scanprobe_end(scanprobe *pr);

#endif
