/* The walker that the parts of the scan share: the tree walk (scan.c), the
 * --files-from visitor (scanlist.c) and the stat prober (scanprobe.c). It
 * holds the path being visited and turns it into tasks. Internal to the
 * scan: nothing else uses it. */
#ifndef THUMBD_SCANWALK_H
#define THUMBD_SCANWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "thumbd/scan.h"
#include "thumbd/scanprobe.h"

/* One directory entry, as readdir gave it. */
typedef struct scanwalk_entry {
    char *name;
    unsigned char type;   /* d_type */
} scanwalk_entry;

typedef struct scanwalk_id { dev_t dev; ino_t ino; } scanwalk_id;

typedef struct scanwalk {
    const scan_opts *o;
    scan_emit_fn emit;
    scan_stop_fn stop;
    void *ctx;
    scan_stats *st;
    uint64_t next_id;
    bool have_out;
    scanwalk_id out;      /* OUT_DIR, never descended into */
    scanwalk_id *anc;     /* directories on the current path, for loops */
    int depth, anc_cap;
    char *path;           /* current path relative to in_dir ("" at top) */
    size_t path_len, path_cap;
    bool stopped;
    int out_root;         /* OUT_DIR, open for the fresh hook, or -1 */
    int dir_out_fd;       /* the current directory inside it, or -1 */
    bool dir_no_out;      /* ... which OUT_DIR lacks */
    void *dir_ctx;        /* opts->dir_begin's answer for it, or NULL */
    scanprobe probe;
    bool urgent;          /* the listed path being visited had a '!' */
    bool known;           /* the task being emitted is known bad */
    bool dir_error;       /* the path being emitted is a directory that cannot be read */
} scanwalk;

/* Sets up a walk of opts->in_dir: the walker, its path buffer, and the open
 * directory in *fd. Clears *stats. TD_EIO or TD_ENOMEM with err. */
td_status scanwalk_start(scanwalk *w, const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop,
                         void *ctx, scan_stats *stats, int *fd, char *err);

/* Ends the walk started by scanwalk_start; closes fd. */
void scanwalk_end(scanwalk *w, int fd);

/* Whether name is a source image for this walk (by its name). */
bool scanwalk_is_source(const scan_opts *o, const char *name);

/* Whether the regular file name in the directory dirfd is a source image:
 * by its name, or with detect_content by its first bytes (sniff.h; one
 * small read). Called from the walking thread or the prober's helper. */
bool scanwalk_is_image(const scan_opts *o, int dirfd, const char *name);

/* Whether rel is in this walk's shard. */
bool scanwalk_in_shard(const scan_opts *o, const char *rel);

/* Whether an entry is stat'ed: not links that are not followed, nor regular
 * files that are not images by name when images go by name (those are only
 * counted). */
bool scanwalk_wants_stat(const scan_opts *o, const scanwalk_entry *e);

/* Reads all names of the directory open at fd, sorted by strcmp (consumes
 * fd's stream; fd stays open). TD_EIO or TD_ENOMEM with err. */
td_status scanwalk_read_entries(int fd, scanwalk_entry **out, size_t *out_n, char *err);

void scanwalk_free_entries(scanwalk_entry *v, size_t n);

/* Appends "/name" (or "name" at the top) to w->path; returns the old
 * length, for scanwalk_pop_path. */
size_t scanwalk_push_path(scanwalk *w, const char *name);
void scanwalk_pop_path(scanwalk *w, size_t old);

/* Emits the task of w->path (sb: its source, or NULL). preset: its error,
 * or NULL. fresh and known (owned) are opts->fresh's answers: the task is
 * then already settled as skipped, or known bad. false when the walk is to
 * stop (w->stopped). */
bool scanwalk_emit(scanwalk *w, const struct stat *sb, const char *preset, char *fresh, char *known);

#endif
