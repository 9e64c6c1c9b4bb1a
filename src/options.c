#include "thumbd/options.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/outname.h"

/* CHOICE fields are enums written as int. */
_Static_assert(sizeof(fit_mode) == sizeof(int), "fit_mode is int-sized");
_Static_assert(sizeof(out_format) == sizeof(int), "out_format is int-sized");
_Static_assert(sizeof(engine_mode) == sizeof(int), "engine_mode is int-sized");
_Static_assert(sizeof(detect_mode) == sizeof(int), "detect_mode is int-sized");
_Static_assert(sizeof(stop_mode) == sizeof(int), "stop_mode is int-sized");
_Static_assert(sizeof(failon_level) == sizeof(int), "failon_level is int-sized");
_Static_assert(sizeof(isolation_mode) == sizeof(int), "isolation_mode is int-sized");
_Static_assert(sizeof(resize_filter) == sizeof(int), "resize_filter is int-sized");
_Static_assert(sizeof(sandbox_mode) == sizeof(int), "sandbox_mode is int-sized");
_Static_assert(sizeof(placeholder_mode) == sizeof(int), "placeholder_mode is int-sized");

/* One size of the --size list; past CONFIG_MAX_SIZES it is counted, not
 * kept (config_parse refuses the count). */
static bool set_size(thumbd_config *cfg, const char *arg)
{
    config_size z;
    if (!config_parse_size_fit(arg, &z.w, &z.h, &z.fit))
        return false;
    if (cfg->nsizes < CONFIG_MAX_SIZES)
        cfg->sizes[cfg->nsizes] = z;
    if (cfg->nsizes++ == 0) {
        cfg->width = z.w;
        cfg->height = z.h;
    }
    return true;
}

static void clear_sizes(thumbd_config *cfg)
{
    cfg->nsizes = 0;
}

static bool set_workers(thumbd_config *cfg, const char *arg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return config_parse_workers(arg, cpus > 0 ? cpus : 1, &cfg->workers, &cfg->workers_min,
                                &cfg->workers_max);
}

/* auto stays CONFIG_MEMORY_AUTO, resolved by config_parse once the sizes
 * are known. */
static bool set_max_memory(thumbd_config *cfg, const char *arg)
{
    if (!strcmp(arg, "auto")) {
        cfg->max_memory = CONFIG_MEMORY_AUTO;
        return true;
    }
    uint64_t n;
    if (!config_parse_count(arg, 1024, &n) || n == CONFIG_MEMORY_AUTO)
        return false;
    cfg->max_memory = n;
    return true;
}

/* 0 stays "2 x workers", resolved by config_parse once the workers are known. */
static bool set_queue(thumbd_config *cfg, const char *arg)
{
    int q;
    if (!config_parse_int(arg, 1, 1 << 20, &q))
        return false;
    cfg->queue_cap = (size_t)q;
    return true;
}

static bool set_name(thumbd_config *cfg, const char *arg)
{
    char err[TD_ERRLEN];
    if (!outname_check(arg, err))
        return false;
    cfg->name_template = arg;
    return true;
}

static bool set_order(thumbd_config *cfg, const char *arg)
{
    return order_parse(arg, &cfg->order);
}

static bool set_max_prune(thumbd_config *cfg, const char *arg)
{
    return config_parse_max_prune(arg, &cfg->max_prune, &cfg->max_prune_pct);
}

static bool set_shard(thumbd_config *cfg, const char *arg)
{
    return config_parse_shard(arg, &cfg->shard_index, &cfg->shard_count);
}

static const options_choice fit_choices[] = {
    {"cover", FIT_COVER}, {"inside", FIT_INSIDE}, {NULL, 0},
};
static const options_choice filter_choices[] = {
    {"lanczos3", RESIZE_LANCZOS3}, {"mitchell", RESIZE_MITCHELL}, {"catrom", RESIZE_CATROM},
    {"box", RESIZE_BOX}, {NULL, 0},
};
static const options_choice format_choices[] = {
    {"auto", FORMAT_AUTO}, {"jpeg", FORMAT_JPEG}, {"jpg", FORMAT_JPEG}, {"png", FORMAT_PNG},
    {"webp", FORMAT_WEBP}, {"avif", FORMAT_AVIF}, {NULL, 0},
};
static const options_choice engine_choices[] = {
    {"auto", ENGINE_AUTO}, {"native", ENGINE_NATIVE}, {"vips", ENGINE_VIPS}, {NULL, 0},
};
static const options_choice detect_choices[] = {
    {"ext", DETECT_EXT}, {"content", DETECT_CONTENT}, {NULL, 0},
};
static const options_choice stop_choices[] = {
    {"cancel", STOP_CANCEL}, {"drain", STOP_DRAIN}, {NULL, 0},
};
static const options_choice fail_on_choices[] = {
    {"none", FAIL_ON_NONE}, {"truncated", FAIL_ON_TRUNCATED}, {"error", FAIL_ON_ERROR},
    {"warning", FAIL_ON_WARNING}, {NULL, 0},
};

static const options_choice isolation_choices[] = {
    {"process", ISOLATION_PROCESS}, {"thread", ISOLATION_THREAD}, {NULL, 0},
};
static const options_choice sandbox_choices[] = {
    {"on", SANDBOX_ON}, {"off", SANDBOX_OFF}, {NULL, 0},
};
static const options_choice placeholder_choices[] = {
    {"none", PLACEHOLDER_NONE}, {"thumbhash", PLACEHOLDER_THUMBHASH}, {NULL, 0},
};

#define FIELD(m) offsetof(thumbd_config, m)
#define SECONDS_MAX 1e9 /* config_parse_seconds's own bound */

const options_entry options_table[] = {
    {.name = "size", .short_name = 's', .kind = OPTIONS_LIST, .set = set_size,
     .clear = clear_sizes, .arg = "WxH[:FIT]", .def = "200x200",
     .expect = "WxH, W, Wx or xH with 1..16384, each optionally :cover or :inside, "
               "e.g. 200x200 or 1024x1024:inside",
     .help = "thumbnail box; W: WxW; Wx or xH: that side unbounded (only the other one "
             "scales, as with --fit inside); :FIT: this size's --fit. Repeat it (or give a "
             "comma-separated list) for up to 8 sizes from one decode, named "
             "{stem}_{size}.{ext} by default"},
    {.name = "fit", .kind = OPTIONS_CHOICE, .field = FIELD(fit), .choices = fit_choices,
     .def = "cover",
     .help = "cover: exactly WxH, centre-cropped; inside: whole image, aspect kept"},
    {.name = "filter", .kind = OPTIONS_CHOICE, .field = FIELD(filter), .choices = filter_choices,
     .def = "lanczos3",
     .help = "resampling filter: lanczos3 (sharpest, as libvips and Pillow), mitchell "
             "(softer), catrom, box; libvips's formats always use its Lanczos3"},
    {.name = "enlarge", .kind = OPTIONS_FLAG, .field = FIELD(enlarge),
     .help = "scale up images smaller than the box"},
    {.name = "format", .short_name = 'f', .kind = OPTIONS_CHOICE, .field = FIELD(format),
     .choices = format_choices, .def = "auto",
     .help = "auto: PNG for thumbnails with a pixel not fully opaque, else JPEG"},
    {.name = "name", .kind = OPTIONS_CUSTOM, .set = set_name, .arg = "TEMPLATE",
     .def = OUTNAME_DEFAULT,
     .expect = "a relative path of text and {stem} {name} {ext} {size}, without empty, '.', "
               "'..' or .thumbd* components",
     .help = "thumbnail path below the mirrored directory: {stem} the name without its "
             "extension, {name} the whole name, {ext} the format's extension, {size} WxH; '/' "
             "makes subdirectories; '{name}.{ext}' never collides"},
    {.name = "engine", .kind = OPTIONS_CHOICE, .field = FIELD(engine), .choices = engine_choices,
     .def = "auto",
     .help = "auto: our own JPEG/PNG path, libvips for every other format (WebP, TIFF, GIF, "
             "HEIF/AVIF...)"},
    {.name = "detect", .kind = OPTIONS_CHOICE, .field = FIELD(detect), .choices = detect_choices,
     .def = "ext",
     .help = "ext: images by file name extension; content: every regular file by its first "
             "bytes (one read of 64 bytes), whatever its name"},
    {.name = "fail-on", .kind = OPTIONS_CHOICE, .field = FIELD(fail_on),
     .choices = fail_on_choices, .def = "truncated",
     .help = "the damage that fails an image: truncated (a file that ends before its last "
             "row), error (also corrupt data a decoder reads past), warning (any decoder "
             "warning), none (thumbnail what can be read, missing rows filled)"},
    {.name = "isolation", .kind = OPTIONS_CHOICE, .field = FIELD(isolation),
     .choices = isolation_choices, .def = "process",
     .help = "process: each worker decodes in a worker process of its own, so a decoder "
             "crash costs one image (docs/security.md); thread: in the run's own process"},
    {.name = "sandbox", .kind = OPTIONS_CHOICE, .field = FIELD(sandbox), .choices = sandbox_choices,
     .def = "on",
     .help = "on: worker processes may read IN_DIR and write OUT_DIR only, no exec, no "
             "network (docs/security.md); off: for debugging"},
    {.name = "quality", .short_name = 'q', .kind = OPTIONS_INT, .field = FIELD(quality),
     .arg = "N", .lo = 1, .hi = 100, .def = "85", .help = "JPEG quality 1-100"},
    {.name = "workers", .short_name = 'j', .kind = OPTIONS_CUSTOM, .set = set_workers,
     .arg = "N|auto|MIN:MAX", .expect = "1..1024, auto, or MIN:MAX like 2:16",
     .help = "worker threads (default: online CPUs); auto or MIN:MAX: grow and shrink the "
             "pool with the measured throughput (auto: 1 to 4 x CPUs, >= 32)"},
    {.name = "queue", .kind = OPTIONS_CUSTOM, .set = set_queue, .arg = "N",
     .expect = "1..1048576", .help = "task queue capacity (default 2 x workers, or 2 x MAX)"},
    {.name = "order", .kind = OPTIONS_CUSTOM, .set = set_order,
     .arg = "path|newest|oldest|largest|smallest", .def = "path",
     .expect = "path, newest, oldest, largest or smallest",
     .help = "path streams the walk; the others (by mtime, by size) list the whole tree "
             "first"},
    {.name = "retries", .kind = OPTIONS_INT, .field = FIELD(retries), .arg = "N", .lo = 0,
     .hi = 100, .def = "2", .help = "retries of a transient I/O error"},
    {.name = "retry-backoff", .kind = OPTIONS_SECONDS, .field = FIELD(retry_backoff),
     .arg = "S", .hi = 3600, .def = "0.2", .expect = "seconds 0..3600 (fractions allowed)",
     .help = "delay before the first retry, doubled for each next one, with jitter"},
    {.name = "max-rate", .kind = OPTIONS_SECONDS, .field = FIELD(max_rate), .arg = "N",
     .hi = 1e6, .expect = "files per second, 0..1000000 (0 = no limit)",
     .help = "start at most N files per second (bursts up to the worker count)"},
    {.name = "nice", .kind = OPTIONS_FLAG, .field = FIELD(nice),
     .help = "lower CPU priority (nice 10) and I/O priority (best-effort, level 7)"},
    {.name = "report", .short_name = 'r', .kind = OPTIONS_STRING, .field = FIELD(report_path),
     .arg = "FILE", .help = "JSON Lines report, one record per image attempted ('-': stdout)"},
    {.name = "report-skipped", .kind = OPTIONS_FLAG, .field = FIELD(report_skipped),
     .help = "also a record for each up-to-date image (status skipped; counted either way)"},
    {.name = "report-pending", .kind = OPTIONS_FLAG, .field = FIELD(report_pending),
     .help = "also a record for each image a stopped run did not start (cancelled, 'not "
             "started'; counted either way)"},
    {.name = "ordered", .kind = OPTIONS_FLAG, .field = FIELD(ordered),
     .help = "write the report in scan order (by id), holding finished records in a bounded "
             "window; not with --order other than path"},
    {.name = "placeholder", .kind = OPTIONS_CHOICE, .field = FIELD(placeholder),
     .choices = placeholder_choices, .def = "none",
     .help = "thumbhash: each ok record of the report carries the thumbnail's ThumbHash "
             "in base64 (key placeholder), the blurred preview a web front end shows while "
             "the thumbnail loads"},
    {.name = "max-pixels", .kind = OPTIONS_COUNT, .field = FIELD(max_pixels), .arg = "N",
     .base = 1000, .lo = 1, .def = "100M", .expect = "a positive count like 50M",
     .help = "refuse images with more pixels"},
    {.name = "max-file-size", .kind = OPTIONS_COUNT, .field = FIELD(max_file_size), .arg = "N",
     .base = 1024, .def = "1G", .expect = "a size like 200M (0 = no limit)",
     .help = "refuse larger files, 0 = no limit"},
    {.name = "max-dimension", .kind = OPTIONS_INT, .field = FIELD(max_dimension), .arg = "N",
     .lo = 1, .hi = 1 << 30, .def = "65535", .expect = "a positive number of pixels",
     .help = "refuse images wider or taller"},
    {.name = "max-scans", .kind = OPTIONS_INT, .field = FIELD(max_scans), .arg = "N", .lo = 1,
     .hi = 1000000, .def = "100", .expect = "a positive count",
     .help = "refuse JPEGs of more scans"},
    {.name = "max-frames", .kind = OPTIONS_INT, .field = FIELD(max_frames), .arg = "N",
     .lo = 1, .hi = 1 << 30, .def = "1000", .expect = "a positive count",
     .help = "refuse files of more pages or frames (read by libvips)"},
    {.name = "max-memory", .kind = OPTIONS_CUSTOM, .set = set_max_memory, .arg = "N|auto",
     .def = "auto", .expect = "a size like 64M, 0 = no limit, or auto",
     .help = "decoder memory shared by all workers (auto: 40M, 128M with --engine vips, "
             "or 160 bytes a pixel of the largest --size box if more): an image that does not fit waits (its worker runs "
             "other images meanwhile); one needing more than N + 8 MiB is refused"},
    {.name = "follow-symlinks", .kind = OPTIONS_FLAG, .field = FIELD(follow_symlinks),
     .help = "follow symbolic links"},
    {.name = "task-timeout", .kind = OPTIONS_SECONDS, .field = FIELD(task_timeout), .arg = "S",
     .hi = SECONDS_MAX, .expect = "seconds >= 0 (fractions allowed)",
     .help = "cancel a task running longer than S seconds"},
    {.name = "deadline", .kind = OPTIONS_SECONDS, .field = FIELD(deadline), .arg = "S",
     .hi = SECONDS_MAX, .expect = "seconds >= 0 (fractions allowed)",
     .help = "stop the whole run after S seconds"},
    {.name = "shutdown-timeout", .kind = OPTIONS_SECONDS, .field = FIELD(shutdown_timeout),
     .arg = "S", .hi = SECONDS_MAX, .def = "10", .expect = "seconds >= 0 (fractions allowed)",
     .help = "on SIGTERM, SIGINT, SIGHUP, SIGQUIT or the deadline, let running tasks finish "
             "for S seconds, then cancel them"},
    {.name = "on-stop", .kind = OPTIONS_CHOICE, .field = FIELD(on_stop), .choices = stop_choices,
     .def = "cancel",
     .help = "what a stop does with the queued tasks: cancel reports them not started; drain "
             "runs them too, within --shutdown-timeout"},
    {.name = "force", .kind = OPTIONS_FLAG, .field = FIELD(force),
     .help = "redo thumbnails that are up to date"},
    {.name = "no-memo", .kind = OPTIONS_FLAG, .field = FIELD(no_memo),
     .help = "stat every thumbnail instead of trusting the memos in OUT_DIR/.thumbd.memo "
             "(file systems whose directories' ctime does not change with their entries)"},
    {.name = "retry-failed", .kind = OPTIONS_FLAG, .field = FIELD(retry_failed),
     .help = "decode again the sources that failed for good before and are unchanged "
             "(known bad)"},
    {.name = "prune", .kind = OPTIONS_FLAG, .field = FIELD(prune),
     .help = "remove the thumbnails thumbd made whose source is gone"},
    {.name = "max-prune", .kind = OPTIONS_CUSTOM, .set = set_max_prune, .arg = "N|P%|all",
     .def = "10%", .expect = "a count, a percentage (10%) or 'all'",
     .help = "refuse to prune more than N thumbnails, or P% (at least 20) of those thumbd "
             "recorded in OUT_DIR"},
    {.name = "files-from", .kind = OPTIONS_STRING, .field = FIELD(files_from), .arg = "FILE",
     .help = "only these paths, relative to IN_DIR, one per line ('-': stdin); a line "
             "'!path' goes before the others"},
    {.name = "null", .short_name = '0', .kind = OPTIONS_FLAG, .field = FIELD(files_null),
     .help = "--files-from paths are NUL-separated"},
    {.name = "shard", .kind = OPTIONS_CUSTOM, .set = set_shard, .arg = "K/N",
     .expect = "K/N with 0 <= K < N, e.g. 0/4",
     .help = "only shard K (0-based) of N: a stable hash of the path (default: "
             "JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX with THUMBD_SHARDS=N)"},
    {.name = "wait-lock", .kind = OPTIONS_SECONDS, .field = FIELD(wait_lock), .arg = "S",
     .hi = SECONDS_MAX, .expect = "seconds >= 0",
     .help = "wait up to S seconds for another run on OUT_DIR"},
    {.name = "metrics", .kind = OPTIONS_STRING, .field = FIELD(metrics_path), .arg = "FILE",
     .help = "write a Prometheus textfile at the end"},
    {.name = "verbose", .short_name = 'v', .kind = OPTIONS_FLAG, .field = FIELD(verbose),
     .help = "one line per file on stderr"},
    {.name = "quiet", .kind = OPTIONS_FLAG, .field = FIELD(quiet),
     .help = "no summary and no progress line on stderr (failed files are still named)"},
    {.name = "silent", .kind = OPTIONS_FLAG, .field = FIELD(silent),
     .help = "nothing on stderr but an error that stops the run: not even failed files"},
    {.name = "help", .short_name = 'h', .kind = OPTIONS_ACTION, .help = "this text"},
    {.name = "version", .short_name = 'V', .kind = OPTIONS_ACTION, .help = "the version"},
};
const size_t options_count = sizeof options_table / sizeof options_table[0];
_Static_assert(sizeof options_table / sizeof options_table[0] <= OPTIONS_MAX, "OPTIONS_MAX");

/* THUMBD_SHARDS: config.c (with a job index); THUMBD_VIPS_MODULE: vipsengine.c. */
const char *const options_other_env[] = {"THUMBD_SHARDS", "THUMBD_VIPS_MODULE", NULL};

/* True if choice c repeats the value of an earlier one of e. */
static bool is_alias(const options_entry *e, const options_choice *c)
{
    for (const options_choice *p = e->choices; p < c; p++)
        if (p->value == c->value)
            return true;
    return false;
}

/* "a|b|c" (sep "|", last "|") or "a, b or c" (sep ", ", last " or "),
 * cut at a whole name if len is short. */
static void join_choices(const options_entry *e, const char *sep, const char *last, char *buf,
                         size_t len)
{
    size_t n = 0, total = 0, at = 0;
    for (const options_choice *c = e->choices; c->name; c++)
        total += !is_alias(e, c);
    buf[0] = '\0';
    for (const options_choice *c = e->choices; c->name; c++) {
        if (is_alias(e, c))
            continue;
        const char *s = n == 0 ? "" : n + 1 == total ? last : sep;
        size_t ls = strlen(s), lc = strlen(c->name);
        if (at + ls + lc >= len)
            break;
        memcpy(buf + at, s, ls);
        memcpy(buf + at + ls, c->name, lc + 1);
        at += ls + lc;
        n++;
    }
}

/* Each item of arg (separated by commas or spaces) through e->set. */
static bool parse_list(const options_entry *e, thumbd_config *cfg, const char *arg)
{
    static const char sep[] = ", \t";
    bool any = false;
    for (const char *p = arg + strspn(arg, sep); *p; p += strspn(p, sep)) {
        char item[128];
        size_t n = strcspn(p, sep);
        if (n >= sizeof item)
            return false;
        memcpy(item, p, n);
        item[n] = '\0';
        if (!e->set(cfg, item))
            return false;
        any = true;
        p += n;
    }
    return any;
}

static bool parse_value(const options_entry *e, thumbd_config *cfg, const char *arg)
{
    char *field = (char *)cfg + e->field;
    uint64_t n;
    double s;
    switch (e->kind) {
    case OPTIONS_INT:
        return config_parse_int(arg, (int)e->lo, (int)e->hi, (int *)(void *)field);
    case OPTIONS_COUNT:
        if (!config_parse_count(arg, e->base, &n) || (double)n < e->lo)
            return false;
        *(uint64_t *)(void *)field = n;
        return true;
    case OPTIONS_SECONDS:
        if (!config_parse_seconds(arg, &s) || s > e->hi)
            return false;
        *(double *)(void *)field = s;
        return true;
    case OPTIONS_CHOICE:
        for (const options_choice *c = e->choices; c->name; c++)
            if (!strcmp(arg, c->name)) {
                *(int *)(void *)field = c->value;
                return true;
            }
        return false;
    case OPTIONS_STRING:
        *(const char **)(void *)field = arg;
        return true;
    case OPTIONS_CUSTOM:
        return e->set(cfg, arg);
    case OPTIONS_LIST:
        return parse_list(e, cfg, arg);
    case OPTIONS_FLAG:
    case OPTIONS_ACTION:
        break;
    }
    return false;
}

bool options_apply(const options_entry *e, thumbd_config *cfg, const char *arg,
                   char err[TD_ERRLEN])
{
    if (parse_value(e, cfg, arg))
        return true;
    char expect[128];
    if (e->expect)
        snprintf(expect, sizeof expect, "%s", e->expect);
    else if (e->kind == OPTIONS_CHOICE)
        join_choices(e, ", ", " or ", expect, sizeof expect);
    else
        snprintf(expect, sizeof expect, "%d..%d", (int)e->lo, (int)e->hi);
    td_fail(err, TD_EUSAGE, "--%s: expected %s, got '%s'", e->name, expect, arg);
    return false;
}

void options_clear(const options_entry *e, thumbd_config *cfg)
{
    if (e->kind == OPTIONS_LIST)
        e->clear(cfg);
}

void options_set_flag(const options_entry *e, thumbd_config *cfg, bool on)
{
    *(bool *)(void *)((char *)cfg + e->field) = on;
}

void options_negation(const options_entry *e, char *buf, size_t len)
{
    if (!strncmp(e->name, "no-", 3))
        snprintf(buf, len, "%s", e->name + 3);
    else
        snprintf(buf, len, "no-%s", e->name);
}

bool options_env_name(const options_entry *e, char *buf, size_t len)
{
    buf[0] = '\0';
    if (e->kind == OPTIONS_ACTION)
        return false;
    size_t i = (size_t)snprintf(buf, len, "THUMBD_");
    for (const char *p = e->name; *p && i + 1 < len; p++)
        buf[i++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    buf[i] = '\0';
    return true;
}

void options_defaults(thumbd_config *cfg)
{
    char err[TD_ERRLEN];
    for (size_t i = 0; i < options_count; i++)
        if (options_table[i].def) {
            options_clear(&options_table[i], cfg);
            (void)options_apply(&options_table[i], cfg, options_table[i].def, err);
        }
}

/* --help's layout: descriptions from column 27, lines up to 79 columns. */
enum { HELP_COL = 27, HELP_WIDTH = 79 };

typedef struct text {
    char *buf;
    size_t len, n;  /* n: the length needed so far, may exceed len */
    size_t col;     /* of the line being written */
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    for (int i = 0; i < w && (size_t)i + 1 < sizeof tmp; i++) {
        if (t->n + 1 < t->len)
            t->buf[t->n] = tmp[i];
        t->n++;
        t->col = tmp[i] == '\n' ? 0 : t->col + 1;
    }
    if (t->len)
        t->buf[t->n < t->len ? t->n : t->len - 1] = '\0';
}

/* Writes s word by word from the current column, wrapping at HELP_WIDTH
 * to HELP_COL; ends the line. */
static void put_wrapped(text *t, const char *s)
{
    bool first = true;
    while (*s) {
        size_t w = strcspn(s, " ");
        if (!first && t->col + 1 + w > HELP_WIDTH)
            put(t, "\n%*s", HELP_COL, "");
        else if (!first)
            put(t, " ");
        put(t, "%.*s", (int)w, s);
        first = false;
        s += w;
        s += strspn(s, " ");
    }
    put(t, "\n");
}

size_t options_help(char *buf, size_t len)
{
    text t = {buf, len, 0, 0};
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < options_count; i++) {
        const options_entry *e = &options_table[i];
        char arg[128], desc[512];
        if (e->kind == OPTIONS_CHOICE && !e->arg)
            join_choices(e, "|", "|", arg, sizeof arg);
        else
            snprintf(arg, sizeof arg, "%s", e->arg ? e->arg : "");
        if (e->short_name)
            put(&t, "  -%c, --%s%s%s", e->short_name, e->name, *arg ? " " : "", arg);
        else
            put(&t, "      --%s%s%s", e->name, *arg ? " " : "", arg);
        if (t.col + 2 > HELP_COL)
            put(&t, "\n");
        put(&t, "%*s", (int)(HELP_COL - t.col), "");
        if (e->def)
            snprintf(desc, sizeof desc, "%s (default %s)", e->help, e->def);
        else
            snprintf(desc, sizeof desc, "%s", e->help);
        put_wrapped(&t, desc);
    }
    return t.n;
}
