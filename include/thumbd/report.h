/* The results writer: the only thread that writes the report. One JSON Lines
 * record per task, flushed as written; counts and timings for the summary. */
#ifndef THUMBD_REPORT_H
#define THUMBD_REPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thumbd/status.h"
#include "thumbd/task.h"

typedef struct report report;

typedef struct report_counts {
    uint64_t by_status[TASK_NSTATUS];
    uint64_t cancelled_by[4];  /* cancelled tasks, indexed by cancel_reason */
    uint64_t known_bad;        /* of the failed, those known bad from earlier runs */
    uint64_t not_started;      /* of the cancelled, those that never started */
    uint64_t dirs_unreadable;  /* records of directories the scan could not read (task.dir):
                                * failures, but no images, so in no by_status count */
    bool write_failed;         /* some records could not be written */
} report_counts;

/* Opens the report (path NULL: none; "-": stdout) and starts the writer
 * thread. Returns NULL with err on failure. */
report *report_open(const char *path, size_t queue_cap, char err[TD_ERRLEN]);

/* Which records are written, set before any report_submit: every image
 * attempted gets one; an up-to-date image (skipped) only with skipped, an
 * image a stopped run never started (report_never_started) only with
 * pending. Either way they are counted. */
void report_set_records(report *r, bool skipped, bool pending);

/* True if t is settled as cancelled without ever having started. */
bool report_never_started(const thumbd_task *t);

/* Where the writer also talks to a person, set before any report_submit:
 * verbose, one line per file (not-started ones only when they are
 * recorded); else failures, one line per failed file ("thumbd: failed:
 * NAME: REASON", escaped); progress, a line redrawn at most 4 times a
 * second with done / found (read from *found, scan_done), images/s, ETA and
 * failures. */
void report_set_console(report *r, FILE *console, bool verbose, bool failures, bool progress,
                        const _Atomic uint64_t *found, const _Atomic bool *scan_done);

/* Counts n images that a stopped run never started (cancelled by why),
 * without tasks or records: for a backlog the run drops at its end.
 * Thread-safe. */
void report_not_started(report *r, cancel_reason why, uint64_t n);

/* Counts n up-to-date images as skipped without records: for runs with no
 * report file, no -v and no progress line, where a record would go nowhere.
 * Thread-safe. */
void report_skip_unrecorded(report *r, uint64_t n);

/* Asks the writer to print on the console, as soon as it is free, one line
 * with the counts so far (done / found, time, images/s, per status). Never
 * blocks; thread-safe. */
void report_request_status(report *r);

/* --ordered, set before any report_submit: records are written in id order
 * (ids from 1, as the scanner numbers tasks), each held until every lower
 * id was written or passed, in a window of `window` ids. Every id must then
 * reach the writer once: report_submit, or report_pass for one settled
 * without a record. At report_finish what is held is written whatever the
 * gaps. false when out of memory. */
bool report_set_ordered(report *r, size_t window);

/* --ordered: blocks until id fits in the window (the records before it were
 * written), or *stop (may be NULL) is set; at once without --ordered. The
 * scanner calls it before it hands id on, so the writer holds at most the
 * window: the lowest id it waits for is running, queued or settled, and
 * gets written without the scanner. Thread-safe. */
void report_wait_turn(report *r, uint64_t id, const atomic_bool *stop);

/* --ordered: id was settled without a record (counted by other means);
 * the records after it need not wait for it. A no-op otherwise.
 * Thread-safe. */
void report_pass(report *r, uint64_t id);

/* Hands a finished task to the writer, which frees it. Thread-safe. */
void report_submit(report *r, thumbd_task *t);

/* Waits for the writer to write everything submitted, stops it, and returns
 * the counts. The report file is closed. */
void report_finish(report *r, report_counts *counts);

/* Writes a Prometheus textfile (node_exporter textfile collector format)
 * atomically: counts per status, duration, throughput, exit code, the time
 * of this run and of the last successful one (exit 0, or 4: only known-bad
 * failures; kept from the old file otherwise), failures known bad and new. */
td_status report_write_metrics(const report *r, const char *path, double elapsed_s, int exit_code,
                               char err[TD_ERRLEN]);

/* Prints the summary (counts, images/s when a worker ran any image, p50/
 * p95/max task time; the directories that could not be read on a line of
 * their own). */
void report_summary(report *r, FILE *to, double elapsed_s, uint64_t ignored);
void report_free(report *r);

/* Writes s as a JSON string literal (quotes included) into f; bytes that are
 * not valid UTF-8 become \udcXX. */
void report_json_string(FILE *f, const char *s);

/* Formats one record (no newline) into f. */
void report_format_record(FILE *f, const thumbd_task *t);

#endif
