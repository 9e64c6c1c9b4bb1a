#include "thumbd/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: thumbd [options] IN_DIR OUT_DIR\n"
    "\n"
    "Writes a thumbnail of every JPEG and PNG image under IN_DIR into the same\n"
    "relative path under OUT_DIR.\n"
    "\n"
    "  -s, --size WxH           thumbnail box (default 200x200)\n"
    "      --fit cover|inside   cover: exactly WxH, centre-cropped (default);\n"
    "                           inside: whole image, aspect kept\n"
    "      --enlarge            scale up images smaller than the box\n"
    "  -f, --format auto|jpeg|png|webp|avif\n"
    "                           auto: PNG for images with alpha, else JPEG\n"
    "      --engine auto|native|vips  auto: our own JPEG/PNG path, libvips for\n"
    "                           every other format (WebP, TIFF, GIF, HEIF/AVIF...)\n"
    "  -q, --quality N          JPEG quality 1-100 (default 85)\n"
    "  -j, --workers N|auto|MIN:MAX  worker threads (default: online CPUs);\n"
    "                           auto or MIN:MAX: grow and shrink the pool with\n"
    "                           the measured throughput (auto: 1 to 4 x CPUs, >= 32)\n"
    "      --queue N            task queue capacity (default 2 x workers, or 2 x MAX)\n"
    "      --order ORDER        path (default, streams), newest, oldest, largest,\n"
    "                           smallest: the others list the whole tree first\n"
    "      --retries N          retries of a transient I/O error (default 2)\n"
    "      --retry-backoff S    delay before the first retry, doubled for each next\n"
    "                           one, with jitter (default 0.2)\n"
    "      --max-rate N         start at most N files per second (bursts up to\n"
    "                           the worker count)\n"
    "      --nice               lower CPU priority (nice 10) and I/O priority\n"
    "                           (best-effort, level 7)\n"
    "  -r, --report FILE        JSON Lines report, one record per image ('-': stdout)\n"
    "      --max-pixels N       refuse images with more pixels (default 100M)\n"
    "      --max-file-size N    refuse larger files, 0 = no limit (default 1G)\n"
    "      --max-dimension N    refuse images wider or taller (default 32768)\n"
    "      --max-scans N        refuse JPEGs of more scans (default 100)\n"
    "      --max-frames N       refuse files of more pages/frames (libvips; 1000)\n"
    "      --max-memory N       decoder memory shared by all workers (default 40M);\n"
    "                           an image that does not fit waits (its worker runs\n"
    "                           other images meanwhile), a larger one runs alone\n"
    "      --follow-symlinks    follow symbolic links\n"
    "      --task-timeout S     cancel a task running longer than S seconds\n"
    "      --deadline S         stop the whole run after S seconds\n"
    "      --shutdown-timeout S on SIGTERM, SIGINT, SIGHUP, SIGQUIT or the deadline,\n"
    "                           let running tasks finish for S seconds, then cancel\n"
    "                           them (default 10)\n"
    "      --force              redo thumbnails that are up to date\n"
    "      --no-memo            stat every thumbnail instead of trusting the memos in\n"
    "                           OUT_DIR/.thumbd.memo (file systems whose directories'\n"
    "                           ctime does not change with their entries)\n"
    "      --retry-failed       decode again the sources that failed for good before\n"
    "                           and are unchanged (known bad)\n"
    "      --prune              remove the thumbnails thumbd made whose source is gone\n"
    "      --max-prune N|P%|all refuse to prune more than N thumbnails, or P% of those\n"
    "                           thumbd recorded in OUT_DIR (default 10%, at least 20)\n"
    "      --files-from FILE    only these paths, relative to IN_DIR, one per line\n"
    "                           ('-': stdin); a line '!path' goes before the others\n"
    "  -0, --null               --files-from paths are NUL-separated\n"
    "      --shard K/N          only shard K (0-based) of N: a stable hash of the path\n"
    "                           (default: JOB_COMPLETION_INDEX or\n"
    "                           AWS_BATCH_JOB_ARRAY_INDEX with THUMBD_SHARDS=N)\n"
    "      --wait-lock S        wait up to S seconds for another run on OUT_DIR\n"
    "      --metrics FILE       write a Prometheus textfile at the end\n"
    "  -v, --verbose            one line per file on stderr\n"
    "      --quiet              no summary and no progress line on stderr\n"
    "  -h, --help               this text\n"
    "  -V, --version            the version\n"
    "\n"
    "Every option can also be set as THUMBD_<OPTION> (THUMBD_MAX_PIXELS=50M,\n"
    "THUMBD_FORCE=1); flags win.\n"
    "\n"
    "Exit codes: 0 all images done, 1 some images failed, 2 usage error,\n"
    "3 fatal error (IN_DIR unreadable, OUT_DIR or report not writable),\n"
    "75 another run holds OUT_DIR (try again later), 124 deadline reached,\n"
    "128+N stopped by signal N (129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM).\n"
    "SIGUSR1 prints the counts so far on stderr; SIGUSR2 and SIGPIPE are ignored.\n";

const char *config_usage(void)
{
    return usage_text;
}

void config_defaults(thumbd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->width = cfg->height = 200;
    cfg->fit = FIT_COVER;
    cfg->format = FORMAT_AUTO;
    cfg->quality = 85;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    cfg->max_pixels = 100000000ULL;
    cfg->max_dimension = 32768;
    cfg->max_scans = 100;
    cfg->max_frames = 1000;
    cfg->max_file_size = 1ULL << 30;
    cfg->max_memory = 40ULL << 20;
    cfg->shutdown_timeout = 10.0;
    cfg->order = ORDER_PATH;
    cfg->retries = 2;
    cfg->max_prune = -1;
    cfg->max_prune_pct = 10.0;
    cfg->retry_backoff = 0.2;
}

bool config_parse_size(const char *s, int *w, int *h)
{
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X') || errno)
        return false;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || errno)
        return false;
    if (a < 1 || b < 1 || a > 16384 || b > 16384)
        return false;
    *w = (int)a;
    *h = (int)b;
    return true;
}

bool config_parse_count(const char *s, unsigned base, uint64_t *out)
{
    if (!*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        return false;
    uint64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = base; break;
        case 'm': case 'M': mul = (uint64_t)base * base; break;
        case 'g': case 'G': mul = (uint64_t)base * base * base; break;
        default: return false;
        }
        if (end[1])
            return false;
    }
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

bool config_parse_max_prune(const char *s, int64_t *count, double *pct)
{
    char *end;
    if (!strcmp(s, "all")) {
        *count = -1;
        *pct = 100.0;
        return true;
    }
    errno = 0;
    if (strchr(s, '%')) {
        double v = strtod(s, &end);
        if (errno || end == s || strcmp(end, "%") || !(v >= 0 && v <= 100))
            return false;
        *count = -1;
        *pct = v;
        return true;
    }
    uint64_t n;
    if (!config_parse_count(s, 1000, &n) || n > INT64_MAX)
        return false;
    *count = (int64_t)n;
    *pct = -1;
    return true;
}

bool config_parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0 || v > 1e9)
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

bool config_parse_workers(const char *s, long cpus, int *n, int *min, int *max)
{
    enum { MAX_WORKERS = 1024 };
    int lo, hi;
    const char *colon = strchr(s, ':');
    if (!strcmp(s, "auto")) {
        lo = 1;
        hi = cpus * 4 > 32 ? (int)(cpus * 4 > MAX_WORKERS ? MAX_WORKERS : cpus * 4) : 32;
    } else if (colon) {
        char buf[16];
        if ((size_t)(colon - s) >= sizeof buf)
            return false;
        memcpy(buf, s, (size_t)(colon - s));
        buf[colon - s] = '\0';
        if (!parse_int(buf, 1, MAX_WORKERS, &lo) || !parse_int(colon + 1, 1, MAX_WORKERS, &hi) || lo > hi)
            return false;
    } else {
        if (!parse_int(s, 1, MAX_WORKERS, n))
            return false;
        *min = *max = 0;
        return true;
    }
    /* Twice the CPUs: a step of the climb saved where workers wait on I/O,
     * and hardly more than one extra thread a CPU where they do not. */
    long start = 2 * cpus;
    *n = start < lo ? lo : start > hi ? hi : (int)start;
    *min = lo;
    *max = hi;
    return true;
}

bool config_parse_shard(const char *s, int *k, int *n)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return false;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    int a, b;
    if (!parse_int(buf, 0, 1 << 20, &a) || !parse_int(slash + 1, 1, 1 << 20, &b) || a >= b)
        return false;
    *k = a;
    *n = b;
    return true;
}

enum {
    OPT_FIT = 256, OPT_ENLARGE, OPT_QUEUE, OPT_MAX_PIXELS, OPT_MAX_FILE_SIZE,
    OPT_MAX_MEMORY, OPT_MAX_DIMENSION, OPT_MAX_SCANS, OPT_FOLLOW, OPT_QUIET, OPT_TASK_TIMEOUT,
    OPT_DEADLINE, OPT_SHUTDOWN_TIMEOUT, OPT_FORCE, OPT_WAIT_LOCK, OPT_SHARD, OPT_FILES_FROM,
    OPT_PRUNE, OPT_METRICS, OPT_ENGINE, OPT_MAX_FRAMES, OPT_ORDER, OPT_RETRIES, OPT_RETRY_BACKOFF,
    OPT_MAX_RATE, OPT_NICE, OPT_NO_MEMO, OPT_RETRY_FAILED, OPT_MAX_PRUNE,
};

static const struct option long_opts[] = {
    {"size", required_argument, NULL, 's'},
    {"fit", required_argument, NULL, OPT_FIT},
    {"enlarge", no_argument, NULL, OPT_ENLARGE},
    {"format", required_argument, NULL, 'f'},
    {"quality", required_argument, NULL, 'q'},
    {"workers", required_argument, NULL, 'j'},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"order", required_argument, NULL, OPT_ORDER},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-backoff", required_argument, NULL, OPT_RETRY_BACKOFF},
    {"max-rate", required_argument, NULL, OPT_MAX_RATE},
    {"nice", no_argument, NULL, OPT_NICE},
    {"report", required_argument, NULL, 'r'},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"max-dimension", required_argument, NULL, OPT_MAX_DIMENSION},
    {"max-scans", required_argument, NULL, OPT_MAX_SCANS},
    {"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"task-timeout", required_argument, NULL, OPT_TASK_TIMEOUT},
    {"deadline", required_argument, NULL, OPT_DEADLINE},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"no-memo", no_argument, NULL, OPT_NO_MEMO},
    {"wait-lock", required_argument, NULL, OPT_WAIT_LOCK},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"null", no_argument, NULL, '0'},
    {"prune", no_argument, NULL, OPT_PRUNE},
    {"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
    {"max-prune", required_argument, NULL, OPT_MAX_PRUNE},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Applies one option; false with err on a bad value. */
static bool apply(thumbd_config *cfg, int c, const char *arg, char *err, bool *queue_set)
{
    uint64_t n;
    switch (c) {
    case 's':
        if (config_parse_size(arg, &cfg->width, &cfg->height))
            return true;
        td_fail(err, TD_EUSAGE, "--size: expected WxH with 1..16384, e.g. 200x200, got '%s'", arg);
        return false;
    case OPT_FIT:
        if (!strcmp(arg, "cover") || !strcmp(arg, "inside")) {
            cfg->fit = arg[0] == 'c' ? FIT_COVER : FIT_INSIDE;
            return true;
        }
        td_fail(err, TD_EUSAGE, "--fit: expected cover or inside, got '%s'", arg);
        return false;
    case OPT_ENLARGE: cfg->enlarge = true; return true;
    case 'f':
        if (!strcmp(arg, "auto")) cfg->format = FORMAT_AUTO;
        else if (!strcmp(arg, "jpeg") || !strcmp(arg, "jpg")) cfg->format = FORMAT_JPEG;
        else if (!strcmp(arg, "png")) cfg->format = FORMAT_PNG;
        else if (!strcmp(arg, "webp")) cfg->format = FORMAT_WEBP;
        else if (!strcmp(arg, "avif")) cfg->format = FORMAT_AVIF;
        else {
            td_fail(err, TD_EUSAGE, "--format: expected auto, jpeg, png, webp or avif, got '%s'", arg);
            return false;
        }
        return true;
    case OPT_ENGINE:
        if (!strcmp(arg, "auto")) cfg->engine = ENGINE_AUTO;
        else if (!strcmp(arg, "native")) cfg->engine = ENGINE_NATIVE;
        else if (!strcmp(arg, "vips")) cfg->engine = ENGINE_VIPS;
        else {
            td_fail(err, TD_EUSAGE, "--engine: expected auto, native or vips, got '%s'", arg);
            return false;
        }
        return true;
    case OPT_MAX_FRAMES:
        if (parse_int(arg, 1, 1 << 30, &cfg->max_frames))
            return true;
        td_fail(err, TD_EUSAGE, "--max-frames: expected a positive count, got '%s'", arg);
        return false;
    case 'q':
        if (parse_int(arg, 1, 100, &cfg->quality))
            return true;
        td_fail(err, TD_EUSAGE, "--quality: expected 1..100, got '%s'", arg);
        return false;
    case 'j': {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (config_parse_workers(arg, cpus > 0 ? cpus : 1, &cfg->workers, &cfg->workers_min,
                                 &cfg->workers_max))
            return true;
        td_fail(err, TD_EUSAGE, "--workers: expected 1..1024, auto, or MIN:MAX like 2:16, got '%s'", arg);
        return false;
    }
    case OPT_ORDER:
        if (order_parse(arg, &cfg->order))
            return true;
        td_fail(err, TD_EUSAGE, "--order: expected path, newest, oldest, largest or smallest, got '%s'",
                arg);
        return false;
    case OPT_RETRIES:
        if (parse_int(arg, 0, 100, &cfg->retries))
            return true;
        td_fail(err, TD_EUSAGE, "--retries: expected 0..100, got '%s'", arg);
        return false;
    case OPT_RETRY_BACKOFF:
        if (config_parse_seconds(arg, &cfg->retry_backoff) && cfg->retry_backoff <= 3600)
            return true;
        td_fail(err, TD_EUSAGE, "--retry-backoff: expected seconds 0..3600 (fractions allowed), got '%s'", arg);
        return false;
    case OPT_MAX_RATE:
        if (config_parse_seconds(arg, &cfg->max_rate) && cfg->max_rate <= 1e6)
            return true;
        td_fail(err, TD_EUSAGE, "--max-rate: expected files per second, 0..1000000 (0 = no limit), got '%s'",
                arg);
        return false;
    case OPT_NICE: cfg->nice = true; return true;
    case OPT_QUEUE: {
        int q;
        if (parse_int(arg, 1, 1 << 20, &q)) {
            cfg->queue_cap = (size_t)q;
            *queue_set = true;
            return true;
        }
        td_fail(err, TD_EUSAGE, "--queue: expected 1..1048576, got '%s'", arg);
        return false;
    }
    case 'r': cfg->report_path = arg; return true;
    case OPT_MAX_PIXELS:
        if (config_parse_count(arg, 1000, &n) && n > 0) {
            cfg->max_pixels = n;
            return true;
        }
        td_fail(err, TD_EUSAGE, "--max-pixels: expected a positive count like 50M, got '%s'", arg);
        return false;
    case OPT_MAX_FILE_SIZE:
        if (config_parse_count(arg, 1024, &n)) {
            cfg->max_file_size = n;
            return true;
        }
        td_fail(err, TD_EUSAGE, "--max-file-size: expected a size like 200M (0 = no limit), got '%s'", arg);
        return false;
    case OPT_MAX_MEMORY:
        if (config_parse_count(arg, 1024, &n)) {
            cfg->max_memory = n;
            return true;
        }
        td_fail(err, TD_EUSAGE, "--max-memory: expected a size like 64M (0 = no limit), got '%s'", arg);
        return false;
    case OPT_MAX_DIMENSION:
        if (parse_int(arg, 1, 1 << 30, &cfg->max_dimension))
            return true;
        td_fail(err, TD_EUSAGE, "--max-dimension: expected a positive number of pixels, got '%s'", arg);
        return false;
    case OPT_MAX_SCANS:
        if (parse_int(arg, 1, 1000000, &cfg->max_scans))
            return true;
        td_fail(err, TD_EUSAGE, "--max-scans: expected a positive count, got '%s'", arg);
        return false;
    case OPT_FOLLOW: cfg->follow_symlinks = true; return true;
    case OPT_FORCE: cfg->force = true; return true;
    case OPT_NO_MEMO: cfg->no_memo = true; return true;
    case OPT_PRUNE: cfg->prune = true; return true;
    case OPT_RETRY_FAILED: cfg->retry_failed = true; return true;
    case OPT_MAX_PRUNE:
        if (config_parse_max_prune(arg, &cfg->max_prune, &cfg->max_prune_pct))
            return true;
        td_fail(err, TD_EUSAGE, "--max-prune: expected a count, a percentage (10%%) or 'all', got '%s'",
                arg);
        return false;
    case '0': cfg->files_null = true; return true;
    case 'v': cfg->verbose = true; return true;
    case OPT_FILES_FROM: cfg->files_from = arg; return true;
    case OPT_METRICS: cfg->metrics_path = arg; return true;
    case OPT_WAIT_LOCK:
        if (config_parse_seconds(arg, &cfg->wait_lock))
            return true;
        td_fail(err, TD_EUSAGE, "--wait-lock: expected seconds >= 0, got '%s'", arg);
        return false;
    case OPT_SHARD:
        if (config_parse_shard(arg, &cfg->shard_index, &cfg->shard_count))
            return true;
        td_fail(err, TD_EUSAGE, "--shard: expected K/N with 0 <= K < N, e.g. 0/4, got '%s'", arg);
        return false;
    case OPT_QUIET: cfg->quiet = true; return true;
    case OPT_TASK_TIMEOUT:
    case OPT_DEADLINE:
    case OPT_SHUTDOWN_TIMEOUT: {
        double *dst = c == OPT_TASK_TIMEOUT ? &cfg->task_timeout
                    : c == OPT_DEADLINE    ? &cfg->deadline
                                           : &cfg->shutdown_timeout;
        if (config_parse_seconds(arg, dst))
            return true;
        td_fail(err, TD_EUSAGE, "--%s: expected seconds >= 0 (fractions allowed), got '%s'",
                c == OPT_TASK_TIMEOUT ? "task-timeout" : c == OPT_DEADLINE ? "deadline" : "shutdown-timeout",
                arg);
        return false;
    }
    }
    return false;
}

/* THUMBD_MAX_PIXELS for max-pixels. */
static void env_name(const char *opt, char *buf, size_t len)
{
    size_t i = (size_t)snprintf(buf, len, "THUMBD_");
    for (; *opt && i + 1 < len; opt++)
        buf[i++] = *opt == '-' ? '_' : (char)(*opt >= 'a' && *opt <= 'z' ? *opt - 32 : *opt);
    buf[i] = '\0';
}

static bool apply_env(thumbd_config *cfg, char *err, bool *queue_set)
{
    for (const struct option *o = long_opts; o->name; o++) {
        if (o->val == 'h' || o->val == 'V')
            continue;
        char name[64];
        env_name(o->name, name, sizeof name);
        const char *v = getenv(name);
        if (!v)
            continue;
        if (o->has_arg == no_argument) {
            if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
                apply(cfg, o->val, NULL, err, queue_set);
                continue;
            }
            if (!*v || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
                continue;
            td_fail(err, TD_EUSAGE, "%s: expected 1 or 0, got '%s'", name, v);
            return false;
        }
        if (!apply(cfg, o->val, v, err, queue_set)) {
            char msg[TD_ERRLEN];
            snprintf(msg, sizeof msg, "%s", err);
            td_fail(err, TD_EUSAGE, "%s (from %s)", msg, name);
            return false;
        }
    }
    return true;
}

/* Kubernetes Indexed Jobs and AWS Batch array jobs give each copy an index;
 * THUMBD_SHARDS says how many copies there are. */
static bool shard_from_env(thumbd_config *cfg, char *err)
{
    const char *idx = getenv("JOB_COMPLETION_INDEX");
    if (!idx)
        idx = getenv("AWS_BATCH_JOB_ARRAY_INDEX");
    const char *count = getenv("THUMBD_SHARDS");
    if (!idx || !count)
        return true;
    int k, n;
    if (!parse_int(count, 1, 1 << 20, &n) || !parse_int(idx, 0, n - 1, &k)) {
        td_fail(err, TD_EUSAGE, "THUMBD_SHARDS=%s with job index %s: expected 0 <= index < count",
                count, idx);
        return false;
    }
    cfg->shard_index = k;
    cfg->shard_count = n;
    return true;
}

config_result config_parse(thumbd_config *cfg, int argc, char **argv, char err[TD_ERRLEN])
{
    bool queue_set = false;
    err[0] = '\0';
    if (!apply_env(cfg, err, &queue_set))
        return CONFIG_ERROR;
    bool shard_given = cfg->shard_count > 1;
    optind = 0; /* 0, not 1: glibc then also forgets a half-parsed argv */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:f:q:j:r:0vhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h': return CONFIG_HELP;
        case 'V': return CONFIG_VERSION;
        case '?':
            if (optopt > 0 && optopt < 128 && argv[optind - 1][1] != '-')
                td_fail(err, TD_EUSAGE, "unknown option '-%c' (see --help)", optopt);
            else if (optopt)
                td_fail(err, TD_EUSAGE, "option '%s' takes no value (see --help)", argv[optind - 1]);
            else
                td_fail(err, TD_EUSAGE, "unknown option '%s' (see --help)", argv[optind - 1]);
            return CONFIG_ERROR;
        case ':':
            td_fail(err, TD_EUSAGE, "option '%s' needs a value (see --help)", argv[optind - 1]);
            return CONFIG_ERROR;
        default:
            if (c == OPT_SHARD)
                shard_given = true;
            if (!apply(cfg, c, optarg, err, &queue_set))
                return CONFIG_ERROR;
        }
    }
    if (!shard_given && !shard_from_env(cfg, err))
        return CONFIG_ERROR;
    if (cfg->prune && (cfg->files_from || cfg->shard_count > 1)) {
        td_fail(err, TD_EUSAGE, "--prune needs the whole tree: not with --files-from or --shard");
        return CONFIG_ERROR;
    }
    if (argc - optind != 2) {
        td_fail(err, TD_EUSAGE, "expected IN_DIR and OUT_DIR, got %d argument%s (see --help)",
                argc - optind, argc - optind == 1 ? "" : "s");
        return CONFIG_ERROR;
    }
    cfg->in_dir = argv[optind];
    cfg->out_dir = argv[optind + 1];
    if (!queue_set)
        cfg->queue_cap = 2 * (size_t)(cfg->workers_max ? cfg->workers_max : cfg->workers);
    return CONFIG_RUN;
}
