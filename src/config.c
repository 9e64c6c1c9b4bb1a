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

#include "thumbd/escape.h"
#include "thumbd/options.h"
#include "thumbd/outname.h"

static const char usage_head[] =
    "usage: thumbd [options] IN_DIR OUT_DIR\n"
    "\n"
    "Writes a thumbnail of every JPEG and PNG image under IN_DIR into the same\n"
    "relative path under OUT_DIR. An image file given as IN_DIR is thumbnailed\n"
    "alone, into OUT_DIR/<name>.<ext>.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "Every flag has a --no- form that turns it off (--no-force; --memo for\n"
    "--no-memo). Every option can also be set as THUMBD_<OPTION>\n"
    "(THUMBD_MAX_PIXELS=50M, THUMBD_FORCE=1; an empty one is unset); the command\n"
    "line wins. An unknown THUMBD_ variable is warned about.\n"
    "\n"
    "Exit codes: 0 all images done, 1 some images failed, 2 usage error,\n"
    "3 fatal error (IN_DIR unreadable, OUT_DIR or report not writable),\n"
    "4 the only failures are known-bad files, unchanged since they failed,\n"
    "75 another run holds OUT_DIR (try again later), 124 deadline reached,\n"
    "128+N stopped by signal N (129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM).\n"
    "SIGUSR1 prints the counts so far on stderr; SIGUSR2 and SIGPIPE are ignored.\n";

const char *config_usage(void)
{
    static char text[16384];
    if (!text[0]) {
        size_t n = sizeof usage_head - 1;
        memcpy(text, usage_head, n);
        n += options_help(text + n, sizeof text - n);
        if (n + sizeof usage_tail <= sizeof text)
            memcpy(text + n, usage_tail, sizeof usage_tail);
    }
    return text;
}

void config_defaults(thumbd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    options_defaults(cfg);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}

/* One side of --size: digits in 1..16384, or nothing (0: unbounded) when
 * empty_ok. *end is where the digits stop. */
static bool size_side(const char *s, bool empty_ok, const char **end, int *v)
{
    char *e;
    if (!(*s >= '0' && *s <= '9')) {
        *end = s;
        *v = 0;
        return empty_ok;
    }
    errno = 0;
    long a = strtol(s, &e, 10);
    if (errno || a < 1 || a > 16384)
        return false;
    *end = e;
    *v = (int)a;
    return true;
}

bool config_parse_size(const char *s, int *w, int *h)
{
    const char *end;
    int a, b;
    if (!size_side(s, true, &end, &a))
        return false;
    if (!*end && a) { /* "200": a square box */
        *w = *h = a;
        return true;
    }
    if (*end != 'x' && *end != 'X')
        return false;
    if (!size_side(end + 1, a != 0, &end, &b) || *end || (!a && !b))
        return false;
    *w = a;
    *h = b;
    return true;
}

bool config_parse_size_fit(const char *s, int *w, int *h, int *fit)
{
    const char *colon = strchr(s, ':');
    char box[32];
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n >= sizeof box)
        return false;
    memcpy(box, s, n);
    box[n] = '\0';
    if (!colon)
        *fit = -1;
    else if (!strcmp(colon + 1, "cover"))
        *fit = FIT_COVER;
    else if (!strcmp(colon + 1, "inside"))
        *fit = FIT_INSIDE;
    else
        return false;
    return config_parse_size(box, w, h);
}

int config_boxes(const thumbd_config *cfg, config_size out[CONFIG_MAX_SIZES])
{
    if (cfg->nsizes <= 1) {
        out[0] = (config_size){cfg->width, cfg->height, (int)cfg->fit};
        return 1;
    }
    int n = cfg->nsizes < CONFIG_MAX_SIZES ? cfg->nsizes : CONFIG_MAX_SIZES;
    for (int i = 0; i < n; i++) {
        out[i] = cfg->sizes[i];
        if (out[i].fit < 0)
            out[i].fit = (int)cfg->fit;
    }
    return n;
}

uint64_t config_memory_auto(const thumbd_config *cfg)
{
    config_size boxes[CONFIG_MAX_SIZES];
    int n = config_boxes(cfg, boxes);
    uint64_t most = cfg->engine == ENGINE_VIPS ? CONFIG_MEMORY_FLOOR_VIPS : CONFIG_MEMORY_FLOOR;
    for (int i = 0; i < n; i++) {
        uint64_t w = (uint64_t)boxes[i].w, h = (uint64_t)boxes[i].h;
        if (!w)
            w = h;
        if (!h)
            h = w;
        uint64_t need = w * h * CONFIG_MEMORY_PER_PX;
        most = need > most ? need : most;
    }
    return most;
}

/* Whether every {size} of tmpl stands between a '/', the template's ends or
 * a character of text that is not a digit: then a name's size is read
 * back from it alone, and two sources at two sizes never share a name
 * ('{stem}{size}' gives a.jpg at 11x10 and a1.jpg at 1x10 one name). */
static bool size_delimited(const char *tmpl)
{
    static const char field[] = "{size}";
    for (const char *p = strstr(tmpl, field); p; p = strstr(p + 1, field)) {
        char before = p > tmpl ? p[-1] : '/', after = p[sizeof field - 1];
        if (before == '}' || (before >= '0' && before <= '9') || after == '{' ||
            (after >= '0' && after <= '9'))
            return false;
    }
    return true;
}

/* The --size list as config_parse leaves it: at most CONFIG_MAX_SIZES
 * sizes, no box twice (each names its own thumbnail), a --name template
 * with {size} when there are several, set apart from the fields and
 * digits around it, each fit resolved. */
static bool check_sizes(thumbd_config *cfg, char *err)
{
    if (cfg->nsizes > CONFIG_MAX_SIZES) {
        td_fail(err, TD_EUSAGE, "--size: %d sizes given, at most %d", cfg->nsizes,
                CONFIG_MAX_SIZES);
        return false;
    }
    for (int i = 0; i < cfg->nsizes; i++)
        for (int j = 0; j < i; j++)
            if (cfg->sizes[i].w == cfg->sizes[j].w && cfg->sizes[i].h == cfg->sizes[j].h) {
                td_fail(err, TD_EUSAGE, "--size: %dx%d is given twice (each size names its own "
                        "thumbnail)", cfg->sizes[i].w, cfg->sizes[i].h);
                return false;
            }
    if (cfg->nsizes > 1 && cfg->name_template && !strcmp(cfg->name_template, OUTNAME_DEFAULT))
        cfg->name_template = OUTNAME_DEFAULT_SIZES; /* the default, for several sizes */
    if (cfg->nsizes > 1 && cfg->name_template && !strstr(cfg->name_template, "{size}")) {
        td_fail(err, TD_EUSAGE, "--name: with several --size the template needs {size} (each "
                "size names its own thumbnail)");
        return false;
    }
    if (cfg->nsizes > 1 && cfg->name_template && !size_delimited(cfg->name_template)) {
        td_fail(err, TD_EUSAGE, "--name: with several --size each {size} needs text other than a "
                "digit, or a '/', between it and a field or digit next to it ('{stem}_{size}', "
                "not '{stem}{size}'): otherwise two sources' thumbnails may share a name");
        return false;
    }
    if (cfg->nsizes == 1 && cfg->sizes[0].fit >= 0)
        cfg->fit = (fit_mode)cfg->sizes[0].fit;
    for (int i = 0; i < cfg->nsizes && i < CONFIG_MAX_SIZES; i++)
        if (cfg->sizes[i].fit < 0)
            cfg->sizes[i].fit = (int)cfg->fit;
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

bool config_parse_int(const char *s, int lo, int hi, int *out)
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
        if (!config_parse_int(buf, 1, MAX_WORKERS, &lo) || !config_parse_int(colon + 1, 1, MAX_WORKERS, &hi) || lo > hi)
            return false;
    } else {
        if (!config_parse_int(s, 1, MAX_WORKERS, n))
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
    if (!config_parse_int(buf, 0, 1 << 20, &a) || !config_parse_int(slash + 1, 1, 1 << 20, &b) || a >= b)
        return false;
    *k = a;
    *n = b;
    return true;
}

static bool parse_bool(const char *v, bool *on)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
            *on = !strcasecmp(v, yes[i]);
            return true;
        }
    }
    return false;
}

/* The THUMBD_<OPTION> variables, in the table's order; an empty one is
 * unset. */
static bool apply_env(thumbd_config *cfg, char *err)
{
    for (size_t i = 0; i < options_count; i++) {
        const options_entry *e = &options_table[i];
        char name[64];
        if (!options_env_name(e, name, sizeof name))
            continue;
        const char *v = getenv(name);
        if (!v || !*v)
            continue;
        bool on;
        if (e->kind == OPTIONS_FLAG) {
            if (!parse_bool(v, &on)) {
                td_fail(err, TD_EUSAGE, "%s: expected 1 or 0, got '%s'", name, v);
                return false;
            }
            options_set_flag(e, cfg, on);
        } else if ((options_clear(e, cfg), !options_apply(e, cfg, v, err))) {
            char msg[TD_ERRLEN];
            snprintf(msg, sizeof msg, "%s", err);
            td_fail(err, TD_EUSAGE, "%s (from %s)", msg, name);
            return false;
        }
    }
    return true;
}

/* Levenshtein distance of a[0..an) and b, both at most 63 bytes. */
static size_t edit_distance(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b), row[64];
    for (size_t j = 0; j <= bn; j++)
        row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            row[j] = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            diag = up;
        }
    }
    return row[bn];
}

/* The nearest known variable so far, for a name that is none of them. */
typedef struct env_match {
    const char *name;  /* the variable's name, not NUL-terminated */
    size_t n;
    bool known;
    size_t best;       /* edits to near */
    char near[64];
} env_match;

static void match_env(env_match *m, const char *known)
{
    if (strlen(known) == m->n && !strncmp(known, m->name, m->n))
        m->known = true;
    size_t d = m->n < 64 && strlen(known) < 64 ? edit_distance(m->name, m->n, known) : m->best;
    if (d < m->best) {
        m->best = d;
        snprintf(m->near, sizeof m->near, "%s", known);
    }
}

/* Whether name[0..n) is a variable thumbd reads; if not, near holds the
 * one within 2 edits of it (THUMBD_SIZE for THUMBD_SIZES), or "". */
static bool known_env(const char *name, size_t n, char near[64])
{
    env_match m = {.name = name, .n = n, .best = 3};
    for (size_t i = 0; i < options_count; i++) {
        char buf[64];
        if (options_env_name(&options_table[i], buf, sizeof buf))
            match_env(&m, buf);
    }
    for (const char *const *v = options_other_env; *v; v++)
        match_env(&m, *v);
    snprintf(near, 64, "%s", m.near);
    return m.known;
}

extern char **environ;

/* A THUMBD_ variable thumbd does not read is most likely a typo
 * (THUMBD_SIZES): one warning each, naming it. */
static void warn_unknown_env(void)
{
    for (char **p = environ; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (strncmp(*p, "THUMBD_", 7) || !eq || !eq[1])
            continue;
        size_t n = (size_t)(eq - *p);
        char near[64];
        if (known_env(*p, n, near))
            continue;
        escape_line(stderr, "thumbd: warning: %.*s is not a thumbd variable: ignored%s%s%s",
                    (int)n, *p, *near ? " (did you mean " : "", near, *near ? "?)" : "");
    }
}

/* Kubernetes Indexed Jobs and AWS Batch array jobs give each copy an index;
 * THUMBD_SHARDS says how many copies there are. */
static bool shard_from_env(thumbd_config *cfg, char *err)
{
    const char *idx = getenv("JOB_COMPLETION_INDEX");
    if (!idx)
        idx = getenv("AWS_BATCH_JOB_ARRAY_INDEX");
    const char *count = getenv("THUMBD_SHARDS");
    if (!idx || !count || !*count)
        return true;
    int k, n;
    if (!config_parse_int(count, 1, 1 << 20, &n) || !config_parse_int(idx, 0, n - 1, &k)) {
        td_fail(err, TD_EUSAGE, "THUMBD_SHARDS=%s with job index %s: expected 0 <= index < count",
                count, idx);
        return false;
    }
    cfg->shard_index = k;
    cfg->shard_count = n;
    return true;
}

/* getopt_long's view of the table: option i is LONG_BASE + i, its --no-
 * form NEG_BASE + i, its short form the character itself. */
enum { LONG_BASE = 256, NEG_BASE = LONG_BASE + OPTIONS_MAX };

typedef struct getopt_spec {
    struct option longs[2 * OPTIONS_MAX + 1];
    char negations[OPTIONS_MAX][40];
    char shorts[2 * OPTIONS_MAX + 2];
} getopt_spec;

static void build_spec(getopt_spec *g)
{
    size_t n = 0, s = 0;
    g->shorts[s++] = ':'; /* a missing value returns ':', not '?' */
    for (size_t i = 0; i < options_count; i++) {
        const options_entry *e = &options_table[i];
        bool value = e->kind != OPTIONS_FLAG && e->kind != OPTIONS_ACTION;
        g->longs[n++] = (struct option){e->name, value ? required_argument : no_argument, NULL,
                                        LONG_BASE + (int)i};
        if (e->kind == OPTIONS_FLAG) {
            options_negation(e, g->negations[i], sizeof g->negations[i]);
            g->longs[n++] = (struct option){g->negations[i], no_argument, NULL, NEG_BASE + (int)i};
        }
        if (e->short_name) {
            g->shorts[s++] = e->short_name;
            if (value)
                g->shorts[s++] = ':';
        }
    }
    g->longs[n] = (struct option){0};
    g->shorts[s] = '\0';
}

/* The row of getopt's answer c. */
static const options_entry *entry_of(int c)
{
    if (c >= NEG_BASE)
        return &options_table[c - NEG_BASE];
    if (c >= LONG_BASE)
        return &options_table[c - LONG_BASE];
    for (size_t i = 0; i < options_count; i++)
        if (options_table[i].short_name == c)
            return &options_table[i];
    return NULL;
}

/* getopt's '?' or ':' as a message. */
static void getopt_error(int c, char **argv, char *err)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        td_fail(err, TD_EUSAGE, "option '%s' needs a value (see --help)", arg);
    else if (optopt > 0 && optopt < 128 && arg[1] != '-')
        td_fail(err, TD_EUSAGE, "unknown option '-%c' (see --help)", optopt);
    else if (optopt)
        td_fail(err, TD_EUSAGE, "option '%s' takes no value (see --help)", arg);
    else
        td_fail(err, TD_EUSAGE, "unknown option '%s' (see --help)", arg);
}

/* argv's options over cfg; CONFIG_RUN when they are all applied. */
static config_result apply_argv(thumbd_config *cfg, int argc, char **argv, char *err,
                                bool *shard_given)
{
    getopt_spec g;
    build_spec(&g);
    optind = 0; /* 0, not 1: glibc then also forgets a half-parsed argv */
    opterr = 0;
    int c;
    bool listed[OPTIONS_MAX] = {false}; /* a LIST option given: later ones add to it */
    while ((c = getopt_long(argc, argv, g.shorts, g.longs, NULL)) != -1) {
        const options_entry *e = c == '?' || c == ':' ? NULL : entry_of(c);
        if (!e) {
            getopt_error(c, argv, err);
            return CONFIG_ERROR;
        }
        if (e->kind == OPTIONS_ACTION)
            return !strcmp(e->name, "help") ? CONFIG_HELP : CONFIG_VERSION;
        size_t row = (size_t)(e - options_table);
        if (e->kind == OPTIONS_LIST && !listed[row]) {
            options_clear(e, cfg); /* the command line's list replaces the environment's */
            listed[row] = true;
        }
        if (e->kind == OPTIONS_FLAG)
            options_set_flag(e, cfg, c < NEG_BASE);
        else if (!options_apply(e, cfg, optarg, err))
            return CONFIG_ERROR;
        *shard_given |= !strcmp(e->name, "shard");
    }
    return CONFIG_RUN;
}

config_result config_parse(thumbd_config *cfg, int argc, char **argv, char err[TD_ERRLEN])
{
    err[0] = '\0';
    warn_unknown_env();
    if (!apply_env(cfg, err))
        return CONFIG_ERROR;
    bool shard_given = cfg->shard_count > 1;
    config_result r = apply_argv(cfg, argc, argv, err, &shard_given);
    if (r != CONFIG_RUN)
        return r;
    if (!shard_given && !shard_from_env(cfg, err))
        return CONFIG_ERROR;
    if (!check_sizes(cfg, err))
        return CONFIG_ERROR;
    if (cfg->prune && (cfg->files_from || cfg->shard_count > 1)) {
        td_fail(err, TD_EUSAGE, "--prune needs the whole tree: not with --files-from or --shard");
        return CONFIG_ERROR;
    }
    if (cfg->ordered && cfg->order != ORDER_PATH) {
        /* The ids follow the walk, the tasks run in the sorted order: the
         * window would have to hold the whole tree. */
        td_fail(err, TD_EUSAGE, "--ordered writes the report in scan order: not with --order "
                                "other than path");
        return CONFIG_ERROR;
    }
    if (argc - optind != 2) {
        td_fail(err, TD_EUSAGE, "expected IN_DIR and OUT_DIR, got %d argument%s (see --help)",
                argc - optind, argc - optind == 1 ? "" : "s");
        return CONFIG_ERROR;
    }
    cfg->in_dir = argv[optind];
    cfg->out_dir = argv[optind + 1];
    if (cfg->max_memory == CONFIG_MEMORY_AUTO)
        cfg->max_memory = config_memory_auto(cfg);
    if (!cfg->queue_cap) /* --queue takes 1 and more: 0 is "not given" */
        cfg->queue_cap = 2 * (size_t)(cfg->workers_max ? cfg->workers_max : cfg->workers);
    return CONFIG_RUN;
}
