#include "thumbd/report.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/cancel.h"
#include "thumbd/clock.h"
#include "thumbd/escape.h"
#include "thumbd/queue.h"
#include "thumbd/reorder.h"

/* Task times go into logarithmic buckets (about 1% wide) so that p50/p95
 * cost fixed memory, whatever the size of the tree. */
enum { HIST_BUCKETS = 2048 };
static const double HIST_MIN_MS = 0.01, HIST_STEP = 1.01;

struct report {
    FILE *f;                   /* NULL: no report file */
    bool own_file;
    queue *q;
    pthread_t th;
    bool started;
    report_counts counts;
    uint64_t hist[HIST_BUCKETS];
    uint64_t timed;
    double max_ms;
    int write_errno;           /* first write error, reported in the summary */
    /* console (set before the first record) */
    FILE *console;
    bool verbose, progress, failures;
    bool rec_skipped, rec_pending; /* records for skipped and not-started images */
    const _Atomic uint64_t *found;
    const _Atomic bool *scan_done;
    double t_start, t_drawn;
    bool line_shown;           /* a progress line is on screen */
    _Atomic uint64_t unrecorded_skips;
    reorder *ro;               /* --ordered: records held until their turn; NULL: none */
    _Atomic uint64_t unrecorded_pending[4]; /* by cancel_reason */
    uint64_t ran;              /* images a worker ran, known-bad ones aside */
};

void report_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', f);
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            putc('\\', f);
            putc((int)c, f);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            putc((int)c, f);
            p++;
        } else {
            /* A well-formed UTF-8 sequence is copied; any other byte
             * becomes \udcXX. */
            int len = escape_utf8_len(p);
            if (len) {
                fwrite(p, 1, (size_t)len, f);
                p += len;
            } else {
                fprintf(f, "\\udc%02x", c);
                p++;
            }
        }
    }
    putc('"', f);
}

static void json_opt_string(FILE *f, const char *key, const char *s)
{
    fprintf(f, ",\"%s\":", key);
    if (s && *s)
        report_json_string(f, s);
    else
        fputs("null", f);
}

/* ,"warnings":["...",...], or null when there are none. */
static void json_warnings(FILE *f, const task_warnings *w)
{
    fputs(",\"warnings\":", f);
    if (w->n == 0) {
        fputs("null", f);
        return;
    }
    for (int i = 0; i < w->n; i++) {
        putc(i ? ',' : '[', f);
        report_json_string(f, w->msg[i]);
    }
    putc(']', f);
}

/* ,"outputs":[{"size":"200x200","out":...,"out_w":...,"out_h":...,
 * "out_bytes":...},...] for a source made at several sizes; nothing for
 * one size. */
static void json_outputs(FILE *f, const task_result *r)
{
    if (r->nouts <= 0)
        return;
    fputs(",\"outputs\":", f);
    for (int i = 0; i < r->nouts && i < TASK_MAX_OUTPUTS; i++) {
        const task_output *o = &r->outs[i];
        fprintf(f, "%c{\"size\":\"%dx%d\",\"out\":", i ? ',' : '[', o->box_w, o->box_h);
        report_json_string(f, o->rel ? o->rel : "");
        fprintf(f, ",\"out_w\":%d,\"out_h\":%d,\"out_bytes\":%lld}", o->w, o->h,
                (long long)o->bytes);
    }
    putc(']', f);
}

void report_format_record(FILE *f, const thumbd_task *t)
{
    const task_result *r = &t->res;
    fprintf(f, "{\"id\":%llu,\"src\":", (unsigned long long)t->id);
    report_json_string(f, t->rel);
    json_opt_string(f, "out", r->out_rel);
    fprintf(f, ",\"status\":\"%s\"", task_status_name(r->status));
    json_opt_string(f, "error", r->error);
    fprintf(f,
            ",\"src_w\":%d,\"src_h\":%d,\"src_bytes\":%lld,\"out_w\":%d,\"out_h\":%d,"
            "\"out_bytes\":%lld",
            r->src_w, r->src_h, (long long)t->size, r->out_w, r->out_h, (long long)r->out_bytes);
    json_outputs(f, r);
    json_opt_string(f, "decoder", r->decoder);
    json_opt_string(f, "placeholder", r->placeholder);
    json_warnings(f, &r->warnings);
    fprintf(f,
            ",\"queue_ms\":%.3f,\"decode_ms\":%.3f,\"resize_ms\":%.3f,"
            "\"encode_ms\":%.3f,\"total_ms\":%.3f,\"worker\":%d,\"attempts\":%d,\"deferrals\":%d,"
            "\"known_bad\":%s}",
            r->queue_ms, r->decode_ms, r->resize_ms, r->encode_ms, r->total_ms, r->worker,
            t->attempts, t->deferrals, t->known_bad ? "true" : "false");
}

static int bucket_of(double ms)
{
    if (ms <= HIST_MIN_MS)
        return 0;
    int b = (int)(log(ms / HIST_MIN_MS) / log(HIST_STEP)) + 1;
    return b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b;
}

static double bucket_ms(int b)
{
    return b == 0 ? HIST_MIN_MS : HIST_MIN_MS * pow(HIST_STEP, b);
}

static void account(report *r, const thumbd_task *t)
{
    const task_result *res = &t->res;
    if (t->dir) {
        r->counts.dirs_unreadable++;
        return;
    }
    r->counts.by_status[res->status]++;
    if (res->status == TASK_FAILED && t->known_bad)
        r->counts.known_bad++;
    if (res->status == TASK_CANCELLED)
        r->counts.cancelled_by[res->why]++;
    if (report_never_started(t))
        r->counts.not_started++;
    if (res->worker >= 0 && res->status != TASK_SKIPPED && !t->known_bad)
        r->ran++;
    if (res->worker >= 0 && res->status != TASK_SKIPPED) {
        r->hist[bucket_of(res->total_ms)]++;
        r->timed++;
        if (res->total_ms > r->max_ms)
            r->max_ms = res->total_ms;
    }
}

bool report_never_started(const thumbd_task *t)
{
    return !t->dir && t->res.status == TASK_CANCELLED && atomic_load(&t->attempts) == 0;
}

void report_set_records(report *r, bool skipped, bool pending)
{
    r->rec_skipped = skipped;
    r->rec_pending = pending;
}

void report_set_console(report *r, FILE *console, bool verbose, bool failures, bool progress,
                        const _Atomic uint64_t *found, const _Atomic bool *scan_done)
{
    r->console = console;
    r->verbose = verbose;
    r->failures = failures;
    r->progress = progress;
    r->found = found;
    r->scan_done = scan_done;
    r->t_start = clock_now_s();
}

static void clear_progress(report *r)
{
    if (r->line_shown) {
        fputs("\r\033[K", r->console);
        r->line_shown = false;
    }
}

static void verbose_line(report *r, const thumbd_task *t)
{
    const task_result *res = &t->res;
    clear_progress(r);
    fprintf(r->console, "%-9s ", task_status_name(res->status));
    escape_fputs(t->rel, r->console);
    if (res->out_rel && res->status != TASK_PRUNED) {
        fputs(" -> ", r->console);
        escape_fputs(res->out_rel, r->console);
    }
    if (res->error[0]) {
        fputs(": ", r->console);
        escape_fputs(res->error, r->console);
    }
    if (res->worker >= 0 && res->status == TASK_OK)
        fprintf(r->console, " (%.1f ms)", res->total_ms);
    fputc('\n', r->console);
}

/* Without -v: a failed file (or unreadable directory) on a line of its
 * own, so that an unattended run names what it could not do. */
static void failure_line(report *r, const thumbd_task *t)
{
    clear_progress(r);
    fputs("thumbd: failed: ", r->console);
    escape_fputs(t->rel, r->console);
    fputs(": ", r->console);
    escape_fputs(t->res.error[0] ? t->res.error : "unknown error", r->console);
    fputc('\n', r->console);
    fflush(r->console);
}

static uint64_t unrecorded_pending(report *r)
{
    uint64_t n = 0;
    for (int i = 0; i < 4; i++)
        n += atomic_load_explicit(&r->unrecorded_pending[i], memory_order_relaxed);
    return n;
}

/* Images settled so far, up-to-date ones without a record included. */
static uint64_t done_count(report *r, uint64_t *skipped)
{
    const uint64_t *n = r->counts.by_status;
    *skipped = n[TASK_SKIPPED] + atomic_load_explicit(&r->unrecorded_skips, memory_order_relaxed);
    return n[TASK_OK] + n[TASK_FAILED] + n[TASK_CANCELLED] + unrecorded_pending(r) + *skipped;
}

static void progress_line(report *r)
{
    double now = clock_now_s();
    if (now - r->t_drawn < 0.25)
        return;
    r->t_drawn = now;
    const uint64_t *n = r->counts.by_status;
    uint64_t skipped, done = done_count(r, &skipped);
    uint64_t found = r->found ? atomic_load(r->found) : done;
    bool scanned = r->scan_done && atomic_load(r->scan_done);
    double rate = now > r->t_start ? (double)done / (now - r->t_start) : 0;
    fprintf(r->console, "\r\033[Kthumbd: %llu/%llu%s, %.1f images/s", (unsigned long long)done,
            (unsigned long long)found, scanned ? "" : "+ (scanning)", rate);
    if (scanned && rate > 0 && found > done)
        fprintf(r->console, ", ETA %.0f s", (double)(found - done) / rate);
    if (n[TASK_FAILED])
        fprintf(r->console, ", %llu failed", (unsigned long long)n[TASK_FAILED]);
    fflush(r->console);
    r->line_shown = true;
}

/* Queued by report_request_status: not a task. */
static char status_request;

/* The counts so far, on a line of their own (the progress line, if any, is
 * drawn again with the next record). */
static void status_line(report *r)
{
    if (!r->console)
        return;
    clear_progress(r);
    const uint64_t *n = r->counts.by_status;
    uint64_t skipped, done = done_count(r, &skipped);
    uint64_t found = r->found ? atomic_load(r->found) : done;
    bool scanned = r->scan_done && atomic_load(r->scan_done);
    double secs = clock_now_s() - r->t_start;
    fprintf(r->console,
            "thumbd: so far %llu of %llu images%s in %.2f s (%.1f images/s): %llu ok, %llu failed, "
            "%llu skipped, %llu cancelled\n",
            (unsigned long long)done, (unsigned long long)found, scanned ? "" : " (still scanning)", secs,
            secs > 0 ? (double)done / secs : 0.0, (unsigned long long)n[TASK_OK],
            (unsigned long long)n[TASK_FAILED], (unsigned long long)skipped,
            (unsigned long long)(n[TASK_CANCELLED] + unrecorded_pending(r)));
    fflush(r->console);
}

void report_request_status(report *r)
{
    queue_defer(r->q, &status_request, 0); /* out of memory: no line, no harm */
}

/* Queued by report_pass: an id passed over may let held records go. */
static char wake_request;

/* Counts t, tells the console, writes its record and frees it. */
static void write_one(report *r, thumbd_task *t)
{
    account(r, t);
    /* Not started and not asked for: counted, neither listed nor recorded. */
    bool listed = r->rec_pending || !report_never_started(t);
    bool failed = t->dir || t->res.status == TASK_FAILED;
    if (r->console && r->verbose && listed)
        verbose_line(r, t);
    else if (r->console && r->failures && failed && !t->known_bad) /* named when first met */
        failure_line(r, t);
    if (r->console && r->progress)
        progress_line(r);
    if (r->f && listed && (r->rec_skipped || t->res.status != TASK_SKIPPED)) {
        report_format_record(r->f, t);
        putc('\n', r->f);
        /* Flushed per record: a SIGKILL keeps every finished task. */
        if (fflush(r->f) != 0 && !r->write_errno)
            r->write_errno = errno ? errno : EIO;
    }
    task_free(t);
}

/* --ordered: writes the held records whose turn came (all of them, gaps
 * or not, with `all`). */
static void write_in_turn(report *r, bool all)
{
    void *item;
    while ((item = reorder_take(r->ro, all)) != NULL)
        if (item != REORDER_PASS)
            write_one(r, item);
}

static void *writer_main(void *arg)
{
    report *r = arg;
    void *item;
    while (queue_pop(r->q, &item, 0) == QUEUE_OK) {
        if (item == &status_request) {
            status_line(r);
            continue;
        }
        if (item != &wake_request) {
            thumbd_task *t = item;
            if (!r->ro || !reorder_put(r->ro, t->id, t))
                write_one(r, t);
        }
        if (r->ro)
            write_in_turn(r, false);
    }
    if (r->ro) /* every task was submitted: nothing may stay in the window */
        write_in_turn(r, true);
    if (r->console)
        clear_progress(r);
    return NULL;
}

bool report_set_ordered(report *r, size_t window)
{
    r->ro = reorder_new(window);
    return r->ro != NULL;
}

void report_wait_turn(report *r, uint64_t id, const atomic_bool *stop)
{
    if (r->ro)
        reorder_wait(r->ro, id, stop);
}

void report_pass(report *r, uint64_t id)
{
    if (r->ro && reorder_put(r->ro, id, REORDER_PASS))
        queue_defer(r->q, &wake_request, 0); /* out of memory: the next record wakes it */
}

report *report_open(const char *path, size_t queue_cap, char err[TD_ERRLEN])
{
    report *r = calloc(1, sizeof *r);
    if (!r) {
        td_fail(err, TD_ENOMEM, "out of memory");
        return NULL;
    }
    if (path && !strcmp(path, "-")) {
        r->f = stdout;
    } else if (path) {
        r->f = fopen(path, "w");
        if (!r->f) {
            td_fail(err, TD_EIO, "cannot write report '%s': %s", path, strerror(errno));
            free(r);
            return NULL;
        }
        r->own_file = true;
    }
    r->q = queue_create(queue_cap);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = r->q ? pthread_create(&r->th, NULL, writer_main, r) : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        td_fail(err, TD_ENOMEM, "cannot start the results writer");
        r->started = false;
        report_free(r);
        return NULL;
    }
    r->started = true;
    return r;
}

void report_skip_unrecorded(report *r, uint64_t n)
{
    atomic_fetch_add_explicit(&r->unrecorded_skips, n, memory_order_relaxed);
}

void report_not_started(report *r, cancel_reason why, uint64_t n)
{
    atomic_fetch_add_explicit(&r->unrecorded_pending[why & 3], n, memory_order_relaxed);
}

void report_submit(report *r, thumbd_task *t)
{
    if (queue_push(r->q, t) != QUEUE_OK)
        task_free(t); /* only after report_finish: a caller bug, but no leak */
}

void report_finish(report *r, report_counts *counts)
{
    if (r->started) {
        queue_close(r->q);
        pthread_join(r->th, NULL);
        r->started = false;
    }
    if (r->own_file && r->f) {
        if (fclose(r->f) != 0 && !r->write_errno)
            r->write_errno = errno;
        r->f = NULL;
    }
    r->counts.write_failed = r->write_errno != 0;
    r->counts.by_status[TASK_SKIPPED] += atomic_exchange(&r->unrecorded_skips, 0);
    for (int why = 0; why < 4; why++) {
        uint64_t n = atomic_exchange(&r->unrecorded_pending[why], 0);
        r->counts.by_status[TASK_CANCELLED] += n;
        r->counts.cancelled_by[why] += n;
        r->counts.not_started += n;
    }
    if (counts)
        *counts = r->counts;
}

static double percentile(const report *r, double q)
{
    if (!r->timed)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)r->timed), seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += r->hist[b];
        if (seen >= want && seen > 0)
            return fmin(bucket_ms(b), r->max_ms);
    }
    return r->max_ms;
}

void report_summary(report *r, FILE *to, double elapsed_s, uint64_t ignored)
{
    const uint64_t *n = r->counts.by_status;
    uint64_t total = n[TASK_OK] + n[TASK_FAILED] + n[TASK_SKIPPED] + n[TASK_CANCELLED];
    fprintf(to, "thumbd: %llu image%s in %.2f s", (unsigned long long)total, total == 1 ? "" : "s",
            elapsed_s);
    /* A rate of images no worker touched (all up to date, known bad or
     * not started) would say nothing about thumbnailing speed. */
    uint64_t handled = total - r->counts.not_started;
    if (r->ran)
        fprintf(to, " (%.1f images/s)", elapsed_s > 0 ? (double)handled / elapsed_s : 0.0);
    fprintf(to, ": %llu ok, %llu failed, %llu skipped, %llu cancelled; %llu other file%s ignored\n",
            (unsigned long long)n[TASK_OK],
            (unsigned long long)n[TASK_FAILED], (unsigned long long)n[TASK_SKIPPED],
            (unsigned long long)n[TASK_CANCELLED], (unsigned long long)ignored,
            ignored == 1 ? "" : "s");
    if (r->counts.known_bad)
        fprintf(to, "thumbd: %llu of the failed are known bad: unchanged since they failed in an earlier "
                    "run, not decoded again (--retry-failed decodes them)\n",
                (unsigned long long)r->counts.known_bad);
    uint64_t d = r->counts.dirs_unreadable;
    if (d)
        fprintf(to, "thumbd: %llu director%s could not be read (see the failed record%s): the images "
                    "in %s are not counted above\n", (unsigned long long)d, d == 1 ? "y" : "ies",
                d == 1 ? "" : "s", d == 1 ? "it" : "them");
    if (n[TASK_PRUNED])
        fprintf(to, "thumbd: pruned %llu thumbnail%s whose source is gone\n",
                (unsigned long long)n[TASK_PRUNED], n[TASK_PRUNED] == 1 ? "" : "s");
    if (n[TASK_CANCELLED]) {
        const uint64_t *c = r->counts.cancelled_by;
        fprintf(to, "thumbd: cancelled: %llu by task timeout, %llu by shutdown, %llu by run deadline",
                (unsigned long long)c[CANCEL_TIMEOUT], (unsigned long long)c[CANCEL_SHUTDOWN],
                (unsigned long long)c[CANCEL_DEADLINE]);
        if (r->counts.not_started)
            fprintf(to, "; %llu of them never started%s", (unsigned long long)r->counts.not_started,
                    r->rec_pending ? "" : " (no record: --report-pending records them)");
        fputc('\n', to);
    }
    if (r->timed)
        fprintf(to, "thumbd: task time p50 %.1f ms, p95 %.1f ms, max %.1f ms\n",
                percentile(r, 0.50), percentile(r, 0.95), r->max_ms);
    if (r->write_errno)
        fprintf(to, "thumbd: warning: the report could not be written completely: %s\n",
                strerror(r->write_errno));
}

void report_free(report *r)
{
    if (!r)
        return;
    report_finish(r, NULL);
    queue_destroy(r->q);
    reorder_free(r->ro);
    free(r);
}

/* The last-success time of an earlier metrics file, or 0. */
static double previous_success(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    double t = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "thumbd_last_success_timestamp_seconds %lf", &t) == 1)
            break;
    fclose(f);
    return t;
}

td_status report_write_metrics(const report *r, const char *path, double elapsed_s, int exit_code,
                               char err[TD_ERRLEN])
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    /* Known-bad files alone do not keep a run from counting as a success. */
    double last_ok = exit_code == 0 || exit_code == 4 ? t : previous_success(path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return td_fail(err, TD_EIO, "metrics path too long");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return td_fail(err, TD_EIO, "cannot write metrics '%s': %s", tmp, strerror(errno));
    const uint64_t *n = r->counts.by_status;
    uint64_t images = n[TASK_OK] + n[TASK_FAILED] + n[TASK_SKIPPED] + n[TASK_CANCELLED];
    fprintf(f, "# HELP thumbd_images Images of the last run, by outcome.\n"
               "# TYPE thumbd_images gauge\n");
    for (int s = 0; s < TASK_NSTATUS; s++)
        fprintf(f, "thumbd_images{status=\"%s\"} %llu\n", task_status_name((task_status)s),
                (unsigned long long)n[s]);
    fprintf(f,
            "# HELP thumbd_known_bad Failed images of the last run that had failed before, unchanged.\n"
            "# TYPE thumbd_known_bad gauge\n"
            "thumbd_known_bad %llu\n"
            "# HELP thumbd_new_failures Failed images of the last run that were not known bad.\n"
            "# TYPE thumbd_new_failures gauge\n"
            "thumbd_new_failures %llu\n"
            "# HELP thumbd_not_started Cancelled images of the last run that never started.\n"
            "# TYPE thumbd_not_started gauge\n"
            "thumbd_not_started %llu\n",
            (unsigned long long)r->counts.known_bad,
            (unsigned long long)(n[TASK_FAILED] - r->counts.known_bad),
            (unsigned long long)r->counts.not_started);
    fprintf(f,
            "# HELP thumbd_run_duration_seconds Wall time of the last run.\n"
            "# TYPE thumbd_run_duration_seconds gauge\n"
            "thumbd_run_duration_seconds %.3f\n"
            "# HELP thumbd_run_images_per_second Images handled per second in the last run.\n"
            "# TYPE thumbd_run_images_per_second gauge\n"
            "thumbd_run_images_per_second %.3f\n"
            "# HELP thumbd_run_exit_code Exit code of the last run (see thumbd --help).\n"
            "# TYPE thumbd_run_exit_code gauge\n"
            "thumbd_run_exit_code %d\n"
            "# HELP thumbd_last_run_timestamp_seconds When the last run ended.\n"
            "# TYPE thumbd_last_run_timestamp_seconds gauge\n"
            "thumbd_last_run_timestamp_seconds %.3f\n"
            "# HELP thumbd_last_success_timestamp_seconds When the last run that exited 0 or 4 "
            "(only known-bad failures) ended.\n"
            "# TYPE thumbd_last_success_timestamp_seconds gauge\n"
            "thumbd_last_success_timestamp_seconds %.3f\n"
            "# HELP thumbd_unreadable_directories Directories the last run could not read.\n"
            "# TYPE thumbd_unreadable_directories gauge\n"
            "thumbd_unreadable_directories %llu\n",
            elapsed_s, elapsed_s > 0 ? (double)images / elapsed_s : 0.0, exit_code, t, last_ok,
            (unsigned long long)r->counts.dirs_unreadable);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return td_fail(err, TD_EIO, "cannot write metrics '%s': %s", path, strerror(e));
    }
    return TD_OK;
}
