/* End-to-end tests of what a run tells the operator: failed files named on
 * stderr (also with --quiet, not with --silent), records only for images
 * attempted (--report-skipped, --report-pending for the others, which are
 * counted either way), a stop that does not grow with the backlog, no
 * progress line beside a report on the same screen, --metrics checked at
 * the start, the notice of changed options, a refused image's size in its
 * record and no images/s for a no-op run, --placeholder's ThumbHash in the
 * ok records.
 *
 *   test_reporting THUMBD_BIN
 *
 * THUMBD_REPORTING_KEEP=1 keeps the directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

enum { GOOD = 4 };

static void gray_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < w * 3; i++)
        row[i] = (uint8_t)(i * 7 + y);
}

/* The file as a NUL-terminated string (the caller frees); "" if missing. */
static char *slurp(const char *path)
{
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0)
        return strdup("");
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, data, len);
    s[len] = '\0';
    free(data);
    return s;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* dir/in with GOOD small JPEGs, "bad\nname.jpg" (not an image) and
 * wide.jpg (150x10: over --max-dimension 100, which every run here gives). */
static void make_tree(const char *dir)
{
    char p[600];
    assert_int_equal(mkdir(dir, 0755), 0);
    pathf(p, sizeof p, "%s/in", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    for (int i = 0; i < GOOD; i++) {
        pathf(p, sizeof p, "%s/in/g%d.jpg", dir, i);
        assert_int_equal(write_rgb_jpeg(p, 40, 30, 90, gray_row, NULL), 0);
    }
    pathf(p, sizeof p, "%s/in/wide.jpg", dir);
    assert_int_equal(write_rgb_jpeg(p, 150, 10, 90, gray_row, NULL), 0);
    pathf(p, sizeof p, "%s/in/bad\nname.jpg", dir);
    write_file(p, "\xff\xd8 not a jpeg", 13);
}

/* Runs thumbd --max-dimension 100 ARGS... (NULL-terminated) with stdout and
 * stderr to dir/out.txt, dir/err.txt; returns the exit code, *err the
 * stderr text (the caller frees) and *wall the run's seconds. */
static int run(const char *dir, char **err, double *wall, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)e2e_bin;
    argv[n++] = "--max-dimension";
    argv[n++] = "100";
    va_list ap;
    va_start(ap, wall);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char out[600], errp[600];
    pathf(out, sizeof out, "%s/out.txt", dir);
    pathf(errp, sizeof errp, "%s/err.txt", dir);
    e2e_proc p = e2e_run(argv, NULL, out, errp, 120, 5, "thumbd");
    if (err)
        *err = slurp(errp);
    if (wall)
        *wall = p.wall_s;
    return p.code;
}

/* Lines of the report file, and of those with the given status. */
static int report_lines(const char *path, const char *status, int *with_status, int *attempted)
{
    char *s = slurp(path), want[64];
    pathf(want, sizeof want, "\"status\":\"%s\"", status ? status : "");
    int n = 0;
    *with_status = 0;
    if (attempted)
        *attempted = 0;
    for (char *line = s, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        n++;
        *with_status += status && strstr(line, want) != NULL;
        if (attempted)
            *attempted += strstr(line, "\"attempts\":0,") == NULL;
    }
    free(s);
    return n;
}

/* Item 8 and the failed record's size (item 12): one escaped line per
 * failed file by default and with --quiet; a known-bad file is named on
 * the run that met it, not on every run after (a cron job would mail it
 * each time); nothing with --silent. */
static void test_failed_files_are_named(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500], rep[500], *err;
    pathf(dir, sizeof dir, "%s/failed", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/r.jsonl", dir);

    int code = run(dir, &err, NULL, "-r", rep, in, out, NULL);
    CHECK(code == 1, "first run: exit %d, want 1", code);
    CHECK(count_of(err, "thumbd: failed: ") == 2, "first run: not 2 failure lines:\n%s", err);
    CHECK(strstr(err, "thumbd: failed: bad\\nname.jpg: ") != NULL, "the bad file is not named, escaped:\n%s", err);
    CHECK(strstr(err, "thumbd: failed: wide.jpg: image is 150x10, over --max-dimension 100\n"),
          "wide.jpg is not named with its reason:\n%s", err);
    CHECK(strstr(err, "images in") != NULL, "no summary without --quiet:\n%s", err);
    free(err);
    char *r = slurp(rep);
    const char *w = strstr(r, "\"src\":\"wide.jpg\"");
    CHECK(w && strstr(w, "\"src_w\":150,\"src_h\":10,"), "the refused image's record lacks its size:\n%s", r);
    free(r);

    code = run(dir, &err, NULL, "--quiet", in, out, NULL);
    CHECK(code == 4, "--quiet re-run: exit %d, want 4 (known bad)", code);
    CHECK(err[0] == '\0', "--quiet re-run, only known-bad failures: want nothing on stderr:\n%s", err);
    free(err);
    code = run(dir, &err, NULL, "-v", in, out, NULL);
    CHECK(code == 4, "-v re-run: exit %d, want 4 (known bad)", code);
    CHECK(count_of(err, ": known bad, ") == 2, "-v: the known-bad files are not listed:\n%s", err);
    free(err);

    code = run(dir, &err, NULL, "--silent", in, out, NULL);
    CHECK(code == 4, "--silent: exit %d, want 4", code);
    CHECK(err[0] == '\0', "--silent: stderr is not empty:\n%s", err);
    free(err);
    end_checks();
}

/* Item 9 and 12: a no-op run writes no skipped records unless asked for,
 * counts them in the summary and metrics, and prints no images/s. */
static void test_skipped_are_counted_not_recorded(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500], rep[500], prom[500], *err;
    pathf(dir, sizeof dir, "%s/skipped", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/r.jsonl", dir);
    pathf(prom, sizeof prom, "%s/m.prom", dir);
    run(dir, NULL, NULL, in, out, NULL);

    int skipped, code = run(dir, &err, NULL, "-r", rep, "--metrics", prom, in, out, NULL);
    CHECK(code == 4, "no-op run: exit %d, want 4", code);
    int n = report_lines(rep, "skipped", &skipped, NULL);
    CHECK(n == 2 && skipped == 0, "no-op run: %d records, %d skipped; want the 2 known-bad only", n, skipped);
    char want[128];
    pathf(want, sizeof want, "%d ok, 2 failed, %d skipped, 0 cancelled", 0, GOOD);
    CHECK(strstr(err, want) != NULL, "the summary does not count the skipped (%s):\n%s", want, err);
    CHECK(strstr(err, "images/s") == NULL, "a no-op run prints an images/s:\n%s", err);
    free(err);
    char *m = slurp(prom);
    pathf(want, sizeof want, "thumbd_images{status=\"skipped\"} %d\n", GOOD);
    CHECK(strstr(m, want) != NULL, "the metrics do not count the skipped:\n%s", m);
    free(m);

    code = run(dir, NULL, NULL, "-r", rep, "--report-skipped", in, out, NULL);
    n = report_lines(rep, "skipped", &skipped, NULL);
    CHECK(code == 4 && n == GOOD + 2 && skipped == GOOD,
          "--report-skipped: exit %d, %d records, %d skipped; want 4, %d, %d", code, n, skipped, GOOD + 2, GOOD);
    end_checks();
}

/* Item 9: a deadline over a backlog writes records for the attempted
 * images only, counts the rest, and ends in its time whatever the size of
 * the backlog; --report-pending records them all. */
static void test_pending_are_counted_not_recorded(void **state)
{
    (void)state;
    begin_checks();
    enum { BACKLOG = 3000 };
    char dir[400], in[500], out[500], rep[500], prom[500], p[600], *err;
    pathf(dir, sizeof dir, "%s/pending", e2e_root);
    pathf(in, sizeof in, "%s/in", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(in, 0755), 0);
    for (int i = 0; i < BACKLOG; i++) {
        pathf(p, sizeof p, "%s/f%05d.jpg", in, i);
        write_file(p, "x", 1); /* fails fast when started: only the count matters */
    }
    pathf(out, sizeof out, "%s/out", dir);
    pathf(rep, sizeof rep, "%s/r.jsonl", dir);
    pathf(prom, sizeof prom, "%s/m.prom", dir);
    double wall;
    int code = run(dir, &err, &wall, "-j", "1", "--order", "newest", "--max-rate", "4", "--deadline", "0.5",
                   "--shutdown-timeout", "1", "-r", rep, "--metrics", prom, in, out, NULL);
    CHECK(code == 124, "deadline: exit %d, want 124", code);
    CHECK(wall < 0.5 + 1 + 2.5, "deadline 0.5 s, shutdown timeout 1 s: the run took %.2f s", wall);
    int any, attempted, n = report_lines(rep, NULL, &any, &attempted);
    CHECK(n >= 1 && n <= 10 && attempted == n, "%d records (%d attempted): want only the attempted ones", n,
          attempted);
    char want[160];
    pathf(want, sizeof want, "by run deadline; %d of them never started", BACKLOG - n);
    CHECK(strstr(err, want) != NULL, "the summary does not count the not started (%s):\n%s", want, err);
    free(err);
    char *m = slurp(prom);
    pathf(want, sizeof want, "thumbd_not_started %d\n", BACKLOG - n);
    CHECK(strstr(m, want) != NULL, "the metrics do not count the not started (%s):\n%s", want, m);
    free(m);

    rm_tree(out);
    code = run(dir, NULL, NULL, "-j", "1", "--order", "newest", "--max-rate", "4", "--deadline", "0.5",
               "--quiet", "-r", rep, "--report-pending", in, out, NULL);
    n = report_lines(rep, "cancelled", &any, &attempted);
    CHECK(code == 124 && n == BACKLOG && any >= BACKLOG - 10,
          "--report-pending: exit %d, %d records (%d cancelled), want 124 and %d", code, n, any, BACKLOG);
    end_checks();
}

/* Runs thumbd in a pty: stderr on the pty, stdout on the pty too
 * (stdout_mode 't'), on a pipe ('p') or into dir/stdout.txt ('f'). Returns
 * what the pty received (the caller frees). */
static char *run_on_pty(const char *dir, char stdout_mode, char *const *args)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    const char *slave = ptsname(m);
    assert_non_null(slave);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char fpath[600];
    pathf(fpath, sizeof fpath, "%s/stdout.txt", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        int s = open(slave, O_RDWR);
        int o = stdout_mode == 't' ? s : stdout_mode == 'p' ? pfd[1] : open(fpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (s < 0 || o < 0)
            _exit(126);
        dup2(o, 1);
        dup2(s, 2);
        close(m);
        close(pfd[0]);
        execv(e2e_bin, args);
        _exit(127);
    }
    close(pfd[1]);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    double t0 = now_s();
    bool pty_open = true, pipe_open = true;
    char sink[4096];
    while ((pty_open || pipe_open) && now_s() - t0 < 60) {
        struct pollfd fds[2] = {{m, POLLIN, 0}, {pfd[0], POLLIN, 0}};
        if (poll(fds, 2, 200) <= 0) {
            if (waitpid(pid, NULL, WNOHANG) == pid) /* ended: drain once more below */
                pid = -1;
            if (pid < 0)
                break;
            continue;
        }
        if (pty_open && fds[0].revents) {
            ssize_t k = len + 1 < cap ? read(m, buf + len, cap - len - 1) : -1;
            if (k <= 0)
                pty_open = false; /* EIO: the last slave fd is closed */
            else
                len += (size_t)k;
        }
        if (pipe_open && fds[1].revents && read(pfd[0], sink, sizeof sink) <= 0)
            pipe_open = false;
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    close(m);
    close(pfd[0]);
    buf[len] = '\0';
    return buf;
}

/* Item 10: no progress line when the report goes to stdout and stdout is
 * a terminal (or a pipe, as in `| jq`); a report in a file keeps it. */
static void test_no_progress_beside_report_on_screen(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500];
    pathf(dir, sizeof dir, "%s/progress", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    const char modes[] = {'f', 't', 'p'};
    for (int i = 0; i < 3; i++) {
        pathf(out, sizeof out, "%s/out-%c", dir, modes[i]);
        char *args[] = {(char *)e2e_bin, "--report", "-", "-j", "1", in, out, NULL};
        char *tty = run_on_pty(dir, modes[i], args);
        bool progress = strstr(tty, "\033[K") != NULL;
        CHECK(strstr(tty, "images in") != NULL, "[%c] no summary on the terminal:\n%s", modes[i], tty);
        CHECK(progress == (modes[i] == 'f'), "[%c] progress line %s, want it %s", modes[i],
              progress ? "drawn" : "not drawn", modes[i] == 'f' ? "drawn" : "not drawn");
        free(tty);
    }
    end_checks();
}

/* Item 11: --metrics to a path that cannot be written is exit 3 at the
 * start, before OUT_DIR is created. */
static void test_metrics_checked_at_start(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500], bad[3][600], *err;
    pathf(dir, sizeof dir, "%s/metrics", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(bad[0], sizeof bad[0], "%s/no-such-dir/m.prom", dir);
    pathf(bad[1], sizeof bad[1], "%s", in); /* a directory */
    pathf(bad[2], sizeof bad[2], "%s/g0.jpg/m.prom", in); /* under a file */
    for (int i = 0; i < 3; i++) {
        int code = run(dir, &err, NULL, "--metrics", bad[i], in, out, NULL);
        CHECK(code == 3, "%s: exit %d, want 3", bad[i], code);
        CHECK(strstr(err, "thumbd: cannot write metrics '") == err && count_of(err, "\n") == 1,
              "%s: want one error line:\n%s", bad[i], err);
        CHECK(access(out, F_OK) != 0, "%s: OUT_DIR was created", bad[i]);
        free(err);
    }
    end_checks();
}

/* Item 12: a change of the options that shape thumbnails is said once, at
 * the start, with what changed; not on a first run nor with the same ones. */
static void test_options_change_is_said(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500], *err;
    pathf(dir, sizeof dir, "%s/change", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    const char *const sizes[] = {"200x200", "200x200", "320x320"};
    for (int i = 0; i < 3; i++) {
        run(dir, &err, NULL, "--quiet", "-s", sizes[i], in, out, NULL);
        int notes = count_of(err, "options changed since the last run");
        if (i < 2) {
            CHECK(notes == 0, "run %d (%s): a notice:\n%s", i, i ? "same options" : "first run", err);
        } else {
            CHECK(notes == 1 && strstr(err, "thumbd: options changed since the last run (size 200x200 -> "
                                            "320x320): every thumbnail is made again\n") == err,
                  "run with another size: want the notice first, once:\n%s", err);
        }
        free(err);
    }
    end_checks();
}

/* The bytes of the base64 s into out (at most cap): their count, or -1 when
 * s is not padded RFC 4648 base64. */
static int unbase64(const char *s, uint8_t *out, int cap)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s);
    if (len == 0 || len % 4)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            const char *c = s[i + k] ? strchr(abc, s[i + k]) : NULL;
            bool last = i + 4 == len;
            if (s[i + k] == '=' && last && k >= 2 && (k == 3 || s[i + 3] == '='))
                pad++;
            else if (!c || pad)
                return -1;
            v = v << 6 | (uint32_t)(c ? c - abc : 0);
        }
        for (int k = 0; k < 3 - pad; k++) {
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(v >> (16 - 8 * k));
        }
    }
    return n;
}

/* The average colour a ThumbHash's header gives (its DC terms), 0..1. */
static void thumbhash_average(const uint8_t *h, double rgb[3])
{
    uint32_t h24 = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
    double l = (h24 & 63) / 63.0, p = (h24 >> 6 & 63) / 31.5 - 1, q = (h24 >> 12 & 63) / 31.5 - 1;
    double b = l - 2.0 / 3.0 * p, r = (3 * l - b + q) / 2;
    rgb[0] = r;
    rgb[1] = r - q;
    rgb[2] = b;
}

static void red_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)y, (void)ctx;
    for (int i = 0; i < w; i++)
        row[i * 3] = 200, row[i * 3 + 1] = 30, row[i * 3 + 2] = 30;
}

/* --placeholder thumbhash: every ok record carries a valid ThumbHash in
 * base64 (a solid red image's says red), the same from worker processes
 * and from threads (THUMBD_PLACEHOLDER); other records, and every record
 * without it, have placeholder null. */
static void test_placeholder_in_ok_records(void **state)
{
    (void)state;
    begin_checks();
    char dir[400], in[500], out[500], rep[3][500], p[600];
    pathf(dir, sizeof dir, "%s/placeholder", e2e_root);
    make_tree(dir);
    pathf(in, sizeof in, "%s/in", dir);
    pathf(out, sizeof out, "%s/out", dir);
    pathf(p, sizeof p, "%s/red.jpg", in);
    assert_int_equal(write_rgb_jpeg(p, 64, 48, 95, red_row, NULL), 0);
    for (int i = 0; i < 3; i++)
        pathf(rep[i], sizeof rep[i], "%s/r%d.jsonl", dir, i);
    int code = run(dir, NULL, NULL, "-r", rep[0], "--placeholder", "thumbhash", in, out, NULL);
    CHECK(code == 1, "--placeholder thumbhash: exit %d, want 1", code);
    setenv("THUMBD_PLACEHOLDER", "thumbhash", 1);
    code = run(dir, NULL, NULL, "-r", rep[1], "--force", "--isolation", "thread", in, out, NULL);
    unsetenv("THUMBD_PLACEHOLDER");
    CHECK(code == 1, "THUMBD_PLACEHOLDER=thumbhash, threads: exit %d, want 1", code);
    code = run(dir, NULL, NULL, "-r", rep[2], "--force", in, out, NULL);
    CHECK(code == 1, "no --placeholder: exit %d, want 1", code);

    e2e_report r[3];
    for (int i = 0; i < 3; i++)
        e2e_report_must_load(rep[i], &r[i]);
    CHECK(e2e_report_count(&r[0], "ok") == GOOD + 1, "%d ok records, want %d",
          e2e_report_count(&r[0], "ok"), GOOD + 1);
    for (int i = 0; i < r[0].n; i++) {
        const e2e_jrec *a = &r[0].v[i];
        const char *src = e2e_str_or(a, "src", "?"), *ph = e2e_str(a, "placeholder");
        if (!e2e_is(a, "ok")) {
            CHECK(e2e_is_null(a, "placeholder"), "%s: not ok, yet a placeholder", src);
            continue;
        }
        uint8_t h[40];
        int n = ph ? unbase64(ph, h, (int)sizeof h) : -1;
        CHECK(n >= 5 && n <= 25, "%s: placeholder %s is no ThumbHash in base64", src, ph ? ph : "null");
        const e2e_jrec *b = e2e_report_one(&r[1], src), *c = e2e_report_one(&r[2], src);
        CHECK(b && strcmp(e2e_str_or(b, "placeholder", ""), ph ? ph : "") == 0,
              "%s: from a thread %s, from a worker process %s", src, e2e_str_or(b, "placeholder", "null"),
              ph ? ph : "null");
        CHECK(c && e2e_is(c, "ok") && e2e_is_null(c, "placeholder"),
              "%s: without --placeholder: %s", src, e2e_report_text(&r[2], c));
        if (n >= 5 && !strcmp(src, "red.jpg")) {
            double rgb[3], want[3] = {200 / 255.0, 30 / 255.0, 30 / 255.0};
            thumbhash_average(h, rgb);
            for (int k = 0; k < 3; k++)
                CHECK(fabs(rgb[k] - want[k]) < 0.05, "red.jpg: the hash's average colour %.3f %.3f %.3f",
                      rgb[0], rgb[1], rgb[2]);
        }
    }
    for (int i = 0; i < 3; i++)
        e2e_report_free(&r[i]);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_files_are_named),
        cmocka_unit_test(test_skipped_are_counted_not_recorded),
        cmocka_unit_test(test_pending_are_counted_not_recorded),
        cmocka_unit_test(test_no_progress_beside_report_on_screen),
        cmocka_unit_test(test_metrics_checked_at_start),
        cmocka_unit_test(test_options_change_is_said),
        cmocka_unit_test(test_placeholder_in_ok_records),
    };
    return e2e_main(argc, argv, "reporting", tests, sizeof tests / sizeof tests[0]);
}
