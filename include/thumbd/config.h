/* Command line and defaults. */
#ifndef THUMBD_CONFIG_H
#define THUMBD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thumbd/failon.h"
#include "thumbd/geometry.h"
#include "thumbd/order.h"
#include "thumbd/resize.h"
#include "thumbd/status.h"

typedef enum out_format { FORMAT_AUTO, FORMAT_JPEG, FORMAT_PNG, FORMAT_WEBP, FORMAT_AVIF } out_format;
typedef enum engine_mode { ENGINE_AUTO, ENGINE_NATIVE, ENGINE_VIPS } engine_mode;
/* --detect: which files are images, by their name or by their first bytes. */
typedef enum detect_mode { DETECT_EXT, DETECT_CONTENT } detect_mode;
/* --on-stop: what a stop does with the tasks queued and not started. */
typedef enum stop_mode { STOP_CANCEL, STOP_DRAIN } stop_mode;
/* Where images are decoded: in worker processes (isolation.h), or in the
 * run's own threads. */
typedef enum isolation_mode { ISOLATION_PROCESS, ISOLATION_THREAD } isolation_mode;
/* --sandbox: whether worker processes restrict themselves (sandbox.h). */
typedef enum sandbox_mode { SANDBOX_ON, SANDBOX_OFF } sandbox_mode;
/* --placeholder: what each ok record carries for a front end to show while
 * the thumbnail loads (thumbhash.h). */
typedef enum placeholder_mode { PLACEHOLDER_NONE, PLACEHOLDER_THUMBHASH } placeholder_mode;

/* One thumbnail size of --size: a box (a side of 0: unbounded) and its
 * fit, or -1 for --fit's. */
enum { CONFIG_MAX_SIZES = 8 };

/* --max-memory auto (the default): 40 MiB (128 MiB with --engine vips,
 * whose loaders hold more: bench/README.md), or CONFIG_MEMORY_PER_PX bytes
 * per pixel of the largest --size box when that is more (a box's decode
 * holds a float image of at least twice its sides, plus the decoder's
 * buffers: 1024x1024 gets 160 MiB). Resolved by config_parse. */
#define CONFIG_MEMORY_AUTO UINT64_MAX
#define CONFIG_MEMORY_FLOOR (40ULL << 20)
#define CONFIG_MEMORY_FLOOR_VIPS (128ULL << 20)
#define CONFIG_MEMORY_PER_PX 160ULL
typedef struct config_size {
    int w, h;
    int fit;                   /* fit_mode, or -1: --fit's */
} config_size;

typedef struct thumbd_config {
    const char *in_dir;
    const char *in_file;       /* a file given as IN: its name in in_dir (rundirs_single), else NULL */
    const char *out_dir;
    int width, height;         /* the box; 0: that side unbounded (--size 200x, x200) */
    fit_mode fit;
    /* --size given more than once (several sizes from one decode): the
     * boxes in the order given, each fit resolved by config_parse; width,
     * height are sizes[0]'s. nsizes <= 1: the one box is width, height,
     * fit. */
    int nsizes;
    config_size sizes[CONFIG_MAX_SIZES];
    resize_filter filter;      /* --filter: the resampler of the native engine */
    bool enlarge;
    out_format format;
    const char *name_template; /* --name: outname.h's template */
    int quality;               /* JPEG 1..100 */
    int workers;               /* fixed count, or the adaptive pool's first */
    int workers_min, workers_max;  /* --workers auto|MIN:MAX; 0: fixed */
    size_t queue_cap;
    order_kind order;          /* --order */
    int retries;               /* retries of a transient failure */
    double retry_backoff;      /* seconds before the first retry */
    double max_rate;           /* files started per second, 0 = no limit */
    bool nice;                 /* lower CPU and I/O priority */
    const char *report_path;   /* NULL: none; "-": stdout */
    bool report_skipped;       /* records for up-to-date images too */
    bool report_pending;       /* records for images a stopped run did not start */
    uint64_t max_pixels;
    int max_dimension;         /* width or height, from the header */
    int max_scans;             /* scans of a multi-scan (progressive) JPEG */
    int max_frames;            /* pages or frames of a file read by libvips */
    engine_mode engine;        /* auto: native for JPEG/PNG, libvips for the rest */
    detect_mode detect;        /* --detect ext|content */
    failon_level fail_on;      /* --fail-on: the damage that fails a decode (failon.h) */
    isolation_mode isolation;  /* --isolation */
    sandbox_mode sandbox;      /* --sandbox */
    uint64_t max_file_size;    /* 0 = no limit */
    uint64_t max_memory;       /* decoder memory budget shared by workers, 0 = none;
                                * CONFIG_MEMORY_AUTO until config_parse resolves it */
    bool follow_symlinks;
    bool force;                /* redo thumbnails that are up to date */
    bool no_memo;              /* stat every thumbnail: no memos (memo.h) */
    double wait_lock;          /* seconds to wait for OUT_DIR's lock */
    int shard_index, shard_count;  /* 0/1: no sharding */
    const char *files_from;    /* NULL: walk IN_DIR; "-": stdin */
    bool files_null;           /* --files-from list is NUL-separated */
    bool prune;                /* remove thumbnails whose source is gone */
    int64_t max_prune;         /* --max-prune N, or -1: by max_prune_pct */
    double max_prune_pct;      /* --max-prune P% (100: all), or -1: by max_prune */
    bool retry_failed;         /* decode known-bad sources again */
    const char *metrics_path;  /* Prometheus textfile, or NULL */
    bool verbose;              /* a line per file on stderr */
    bool quiet;                /* no summary, no progress line */
    bool silent;               /* nothing on stderr but errors that stop the run */
    double task_timeout;       /* seconds, 0 = off */
    double deadline;           /* seconds, 0 = off */
    double shutdown_timeout;   /* seconds */
    stop_mode on_stop;         /* cancel or run the queued tasks at a stop */
    bool ordered;              /* --ordered: the report in id order */
    placeholder_mode placeholder;  /* --placeholder */
} thumbd_config;

typedef enum config_result {
    CONFIG_RUN = 0,   /* cfg is complete and valid */
    CONFIG_HELP,      /* --help: print config_usage to stdout, exit 0 */
    CONFIG_VERSION,   /* --version */
    CONFIG_ERROR,     /* err says what is wrong: exit 2 */
} config_result;

/* Fills cfg with defaults: each option's own (options.h), the online CPU
 * count for workers. */
void config_defaults(thumbd_config *cfg);

/* Parses the THUMBD_<OPTION> environment variables (THUMBD_MAX_PIXELS for
 * --max-pixels; flags take 1/0, true/false, yes/no, on/off; an empty one is
 * unset), then argv over them (the command line wins; a flag's --no- form
 * turns it off), then picks the shard from JOB_COMPLETION_INDEX or
 * AWS_BATCH_JOB_ARRAY_INDEX with THUMBD_SHARDS when --shard is absent.
 * Writes one warning line on stderr for each non-empty THUMBD_ variable
 * that thumbd does not read (a typo). Strings in cfg point into argv or the
 * environment. */
config_result config_parse(thumbd_config *cfg, int argc, char **argv, char err[TD_ERRLEN]);

/* The --help text, made from the option table (options.h). */
const char *config_usage(void);

/* --size, as vipsthumbnail and ImageMagick take it: "320x240" -> 320,
 * 240; "200" -> 200, 200 (a square box); "200x" -> 200, 0 and "x200" -> 0,
 * 200, where 0 is a side left unbounded (geom_box). Each given side is
 * 1..16384; "x" alone is refused. Exposed for tests. */
bool config_parse_size(const char *s, int *w, int *h);

/* One --size value with an optional fit: "400x300:inside" -> 400, 300,
 * FIT_INSIDE; "200" -> 200, 200, -1 (--fit's). Exposed for tests. */
bool config_parse_size_fit(const char *s, int *w, int *h, int *fit);

/* The boxes cfg makes, each with its fit resolved: cfg->sizes when there
 * are several, else the one of width, height and fit. Returns how many
 * (1..CONFIG_MAX_SIZES). */
int config_boxes(const thumbd_config *cfg, config_size out[CONFIG_MAX_SIZES]);

/* What --max-memory auto comes to for cfg's boxes (an unbounded side counts
 * as long as the other). */
uint64_t config_memory_auto(const thumbd_config *cfg);

/* "100M", "1G", "4096" -> value; base is 1000 or 1024 for the suffixes. */
bool config_parse_count(const char *s, unsigned base, uint64_t *out);

/* "2", "0.5" -> seconds >= 0. */
bool config_parse_seconds(const char *s, double *out);

/* --max-prune: "N" (*count = N, *pct = -1), "P%" (0..100: *count = -1,
 * *pct = P) or "all" (*count = -1, *pct = 100). */
bool config_parse_max_prune(const char *s, int64_t *count, double *pct);

/* A decimal integer in lo..hi, nothing around it. */
bool config_parse_int(const char *s, int lo, int hi, int *out);

/* "2/8" -> 2, 8 (0 <= K < N). */
bool config_parse_shard(const char *s, int *k, int *n);

/* --workers: "8" -> fixed 8 (*min = *max = 0); "auto" -> 1..max(32,
 * 4 x cpus), capped at 1024; "2:16" -> 2..16. *n is the count to start
 * with: the fixed one, or twice the CPU count within the range. */
bool config_parse_workers(const char *s, long cpus, int *n, int *min, int *max);

#endif
