/* Streaming recursive directory walk that turns image files into tasks. */
#ifndef THUMBD_SCAN_H
#define THUMBD_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "thumbd/outname.h"
#include "thumbd/status.h"
#include "thumbd/task.h"

typedef struct scan_opts {
    const char *in_dir;
    const char *out_dir;       /* never descended into if it lies inside in_dir */
    bool follow_symlinks;
    bool force_format;         /* --format jpeg|png: every image maps to one extension */
    int shard_index, shard_count;  /* emit only shard K of N (N <= 1: all) */
    bool vips_formats;         /* also the names of formats libvips reads */
    /* --detect content: a regular file is a source when its first bytes
     * say so (sniff.h), whatever its name: a JPEG or PNG, or with
     * vips_formats another format libvips reads; the others are counted as
     * ignored. A file that cannot be read to tell is a source when its name
     * says so (its task then fails saying why). */
    bool detect_content;
    const outname_rule *names; /* --name, for collisions (stemset.h); NULL: the default */
    /* Optional, for incremental runs: the name (malloc'd) of rel's thumbnail
     * when it is up to date with the source sb, else NULL. out_dirfd is
     * rel's directory inside out_dir, open, and name rel's last component
     * (a stat there walks one component, not the whole path); out_dirfd is
     * -1 (and name NULL) when the walk has no such descriptor. Called with
     * the walk's ctx, from the walking thread or a helper thread, possibly
     * at the same time: it must be thread-safe. An image it finds up to date
     * is emitted with res.status TASK_SKIPPED and res.out_rel set. An image
     * for which it sets *known_bad (malloc'd: why) is emitted with that as
     * its preset_error and task->known_bad set. */
    char *(*fresh)(const char *rel, int out_dirfd, const char *name, const struct stat *sb,
                   void *dir, void *ctx, char **known_bad);
    /* Optional, with fresh: called as the walk enters a directory (twin_fd:
     * its twin in out_dir, open, or -1 when out_dir lacks it), and as it leaves it (after its
     * subdirectories), from the walking thread. dir_begin's answer goes to
     * every fresh call for the directory's own entries (fresh gets NULL
     * elsewhere) and then to dir_end, complete when every entry was
     * visited. */
    void *(*dir_begin)(const char *rel_dir, int twin_fd, void *ctx);
    void (*dir_end)(void *dir, bool complete, void *ctx);
    /* false: images fresh finds up to date are not emitted, only counted in
     * scan_stats.fresh (for runs that keep no record of them). */
    bool emit_fresh;
} scan_opts;

typedef struct scan_stats {
    uint64_t found;            /* image files turned into tasks */
    uint64_t ignored;          /* regular files that are not images (by name, or by content) */
    uint64_t special;          /* FIFOs, sockets, devices, links not followed */
    uint64_t dirs;
    uint64_t other_shard;      /* images left to the other shards */
    uint64_t fresh;            /* up to date, not emitted (!emit_fresh) */
} scan_stats;

/* Receives each task (ownership passes). Return false to stop the walk. */
typedef bool (*scan_emit_fn)(thumbd_task *task, void *ctx);

/* Checked between entries: return true to stop the walk early. */
typedef bool (*scan_stop_fn)(void *ctx);

/* Walks opts->in_dir depth-first in name order, one directory's names in
 * memory at a time. Unreadable subdirectories become tasks with a
 * preset_error. Returns TD_OK, or TD_EIO with err when in_dir itself cannot
 * be read. */
td_status scan_run(const scan_opts *opts, scan_emit_fn emit, scan_stop_fn stop,
                   void *ctx, scan_stats *stats, char err[TD_ERRLEN]);

/* Like scan_run, for exactly the paths (relative to in_dir) listed in the
 * file open at list_fd, one per line or NUL-separated, as they come (see
 * listread.h: urgent ones first, a pipe served as it is written, stop
 * asked while waiting for more): what a pipeline that knows what changed
 * passes with --files-from. A path prefixed with '!' makes an urgent task
 * (task->urgent; list "./!name" for a file whose name starts with '!'). A
 * listed image that is missing, or a path that leaves in_dir, becomes a
 * task with a preset_error; other names are counted as ignored. */
td_status scan_list(const scan_opts *opts, int list_fd, bool nul, scan_emit_fn emit, scan_stop_fn stop,
                    void *ctx, scan_stats *stats, char err[TD_ERRLEN]);

/* Like scan_run, for the one file name of in_dir that was given as IN (a
 * file, not a directory: rundirs_single). It is taken as a source whatever
 * its name (the user named it; the decoder tells what it is); one that is
 * not a regular file, or a symbolic link without follow_symlinks, becomes
 * a task with a preset_error. */
td_status scan_one(const scan_opts *opts, const char *name, scan_emit_fn emit, void *ctx, scan_stats *stats,
                   char err[TD_ERRLEN]);

/* The shard (0..n-1) of a relative path: FNV-1a, stable across machines and
 * versions, so shards are disjoint and together cover everything. */
int scan_shard_of(const char *rel, int n);

/* True if name ends in .jpg/.jpeg/.jpe/.png, or an alias of them (.jfif
 * .pjpeg .pjp .mpo for JPEG, .apng for PNG), any case. */
bool scan_is_image_name(const char *name);

/* True if name ends in the extension of a format the libvips engine takes
 * (.webp .tif .tiff .gif .heic .heif .avif .jxl .jp2 .svg .pdf .bmp .ico),
 * any case. */
bool scan_is_vips_name(const char *name);

#endif
