#include "thumbd/report.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/queue.h"

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
            /* A well-formed UTF-8 sequence (no overlongs, no surrogates, at
             * most U+10FFFF) is copied; any other byte becomes \udcXX. */
            int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                    : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            bool ok = len > 0;
            for (int i = 1; ok && i < len; i++)
                ok = (p[i] & 0xC0) == 0x80;
            if (ok && len == 3)
                ok = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
            if (ok && len == 4)
                ok = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
            if (ok) {
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
            "\"out_bytes\":%lld,\"queue_ms\":%.3f,\"decode_ms\":%.3f,\"resize_ms\":%.3f,"
            "\"encode_ms\":%.3f,\"total_ms\":%.3f,\"worker\":%d}",
            r->src_w, r->src_h, (long long)t->size, r->out_w, r->out_h, (long long)r->out_bytes,
            r->queue_ms, r->decode_ms, r->resize_ms, r->encode_ms, r->total_ms, r->worker);
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
    r->counts.by_status[res->status]++;
    if (res->status == TASK_CANCELLED)
        r->counts.cancelled_by[res->why]++;
    if (res->worker >= 0) {
        r->hist[bucket_of(res->total_ms)]++;
        r->timed++;
        if (res->total_ms > r->max_ms)
            r->max_ms = res->total_ms;
    }
}

static void *writer_main(void *arg)
{
    report *r = arg;
    void *item;
    while (queue_pop(r->q, &item, 0) == QUEUE_OK) {
        thumbd_task *t = item;
        account(r, t);
        if (r->f) {
            report_format_record(r->f, t);
            putc('\n', r->f);
            /* Flushed per record: a SIGKILL keeps every finished task. */
            if (fflush(r->f) != 0 && !r->write_errno)
                r->write_errno = errno ? errno : EIO;
        }
        task_free(t);
    }
    return NULL;
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
    uint64_t total = n[0] + n[1] + n[2] + n[3];
    fprintf(to,
            "thumbd: %llu image%s in %.2f s (%.1f images/s): %llu ok, %llu failed, %llu skipped, "
            "%llu cancelled; %llu other file%s ignored\n",
            (unsigned long long)total, total == 1 ? "" : "s", elapsed_s,
            elapsed_s > 0 ? (double)total / elapsed_s : 0.0, (unsigned long long)n[TASK_OK],
            (unsigned long long)n[TASK_FAILED], (unsigned long long)n[TASK_SKIPPED],
            (unsigned long long)n[TASK_CANCELLED], (unsigned long long)ignored,
            ignored == 1 ? "" : "s");
    if (n[TASK_CANCELLED]) {
        const uint64_t *c = r->counts.cancelled_by;
        fprintf(to, "thumbd: cancelled: %llu by task timeout, %llu by shutdown, %llu by run deadline\n",
                (unsigned long long)c[CANCEL_TIMEOUT], (unsigned long long)c[CANCEL_SHUTDOWN],
                (unsigned long long)c[CANCEL_DEADLINE]);
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
    free(r);
}
