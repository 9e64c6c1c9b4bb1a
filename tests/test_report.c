/* Unit tests for the results writer (src/report.c): JSON string escaping,
 * record format, and the writer thread round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thumbd/report.h"
#include "test_skip.h"
#include "thumbd/task.h"

/* report_json_string(s) as a malloc'd C string. */
static char *json_of(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_json_string(f, s);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void expect_json(const char *in, const char *want, int line)
{
    char *got = json_of(in);
    if (strcmp(got, want) != 0)
        fail_msg("line %d: got %s, want %s", line, got, want);
    free(got);
}
#define EXPECT_JSON(in, want) expect_json(in, want, __LINE__)

/* Whether python3 is here to check records against; under
 * THUMBD_TEST_STRICT=1 its absence fails the test. */
static bool have_python(void)
{
    bool have = system("command -v python3 >/dev/null 2>&1") == 0;
    if (!have && test_strict())
        fail_msg("python3 not found: records are not checked against its json module");
    return have;
}

/* Runs python3 with `script`, feeding it `input`; returns its exit status. */
static int run_python(const char *script, const char *input, size_t len)
{
    char path[] = "/tmp/thumbd-test-report-py-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "python3 %s", path);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    fwrite(input, 1, len, p);
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void test_json_escapes(void **state)
{
    (void)state;
    EXPECT_JSON("", "\"\"");
    EXPECT_JSON("plain name.jpg", "\"plain name.jpg\"");
    EXPECT_JSON("a\"b\\c", "\"a\\\"b\\\\c\"");
    EXPECT_JSON("l1\nl2\tx", "\"l1\\nl2\\tx\"");
    EXPECT_JSON("\x01", "\"\\u0001\"");
    EXPECT_JSON("a\x1f" "b", "\"a\\u001fb\"");
    EXPECT_JSON("/", "\"/\"");
}

static void test_json_valid_utf8_verbatim(void **state)
{
    (void)state;
    EXPECT_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");                    /* é */
    EXPECT_JSON("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""); /* 日本 */
    EXPECT_JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");          /* 😀 */
    EXPECT_JSON("\xc2\x80", "\"\xc2\x80\"");                          /* U+0080 */
    EXPECT_JSON("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");                  /* U+D7FF */
    EXPECT_JSON("\xee\x80\x80", "\"\xee\x80\x80\"");                  /* U+E000 */
    EXPECT_JSON("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");                  /* U+FFFF */
    EXPECT_JSON("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");          /* U+10FFFF */
}

static void test_json_invalid_bytes_escaped(void **state)
{
    (void)state;
    EXPECT_JSON("\xff", "\"\\udcff\"");
    EXPECT_JSON("a\x80" "b", "\"a\\udc80b\"");                        /* lone continuation */
    EXPECT_JSON("\xc0\xaf", "\"\\udcc0\\udcaf\"");                    /* overlong '/' */
    EXPECT_JSON("\xc1\xbf", "\"\\udcc1\\udcbf\"");                    /* overlong */
    EXPECT_JSON("\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\"");         /* overlong 3-byte */
    EXPECT_JSON("\xf0\x80\x80\xaf", "\"\\udcf0\\udc80\\udc80\\udcaf\""); /* overlong 4-byte */
    EXPECT_JSON("\xed\xa0\x80", "\"\\udced\\udca0\\udc80\"");         /* surrogate D800 */
    EXPECT_JSON("\xed\xbf\xbf", "\"\\udced\\udcbf\\udcbf\"");         /* surrogate DFFF */
    EXPECT_JSON("\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""); /* > U+10FFFF */
    EXPECT_JSON("\xf5\x80\x80\x80", "\"\\udcf5\\udc80\\udc80\\udc80\"");
    EXPECT_JSON("x\xe6\x97", "\"x\\udce6\\udc97\"");                  /* truncated at end */
    EXPECT_JSON("\xf0\x9f\x98", "\"\\udcf0\\udc9f\\udc98\"");
    EXPECT_JSON("\xc3", "\"\\udcc3\"");
    EXPECT_JSON("\xc3(", "\"\\udcc3(\"");                             /* lead then ASCII */
    EXPECT_JSON("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\udcff\xc3\xa9\"");
}

static const char roundtrip_py[] =
    "import json, sys\n"
    "bad = 0\n"
    "text = sys.stdin.buffer.read().decode('utf-8')  # strict: the output must be UTF-8\n"
    "for line in text.split('\\n'):\n"
    "    if not line:\n"
    "        continue\n"
    "    hexs, js = line.split('\\t', 1)\n"
    "    got = json.loads(js).encode('utf-8', 'surrogateescape')\n"
    "    if got != bytes.fromhex(hexs):\n"
    "        sys.stderr.write('mismatch: %r -> %r\\n' % (hexs, got))\n"
    "        bad += 1\n"
    "sys.exit(min(bad, 100))\n";

/* Every byte string comes back from Python's json + surrogateescape. */
static void test_json_python_round_trip(void **state)
{
    (void)state;
    if (!have_python())
        test_skip("python3 not found");
    const char *cases[] = {
        "plain", "q\"uote", "back\\slash", "nl\ncr\rtab\t", "\x01\x02\x1f\x7f",
        "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\xff", "\x80",
        "\xc0\xaf", "\xed\xa0\x80", "\xed\xb0\x80", "end\xe6\x97", "\xf4\x90\x80\x80",
        "\xfe\xfe", "a\xc3", "mixed \xc3\xa9\xff/\xe6\x97\xa5\x80.jpg",
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (const unsigned char *p = (const unsigned char *)cases[i]; *p; p++)
            fprintf(f, "%02x", *p);
        putc('\t', f);
        report_json_string(f, cases[i]);
        putc('\n', f);
    }
    fclose(f);
    assert_int_equal(run_python(roundtrip_py, buf, len), 0);
    free(buf);

    /* Every single byte, and every two-byte pair starting with a high byte. */
    f = open_memstream(&buf, &len);
    for (int a = 1; a < 256; a++) {
        for (int b = 0; b < 256; b += (a < 0x80 ? 256 : 1)) {
            char s[3] = {(char)a, (char)b, 0};
            fprintf(f, b ? "%02x%02x\t" : "%02x\t", a, b);
            report_json_string(f, s);
            putc('\n', f);
        }
    }
    fclose(f);
    assert_int_equal(run_python(roundtrip_py, buf, len), 0);
    free(buf);
}

static thumbd_task *fixed_task(void)
{
    struct timespec mt = {1600000000, 0};
    thumbd_task *t = task_new(7, "a/b.jpg", 12345, mt);
    assert_non_null(t);
    t->res.status = TASK_OK;
    t->res.out_rel = strdup("a/b.jpg");
    t->res.src_w = 4000;
    t->res.src_h = 3000;
    t->res.out_w = 200;
    t->res.out_h = 150;
    t->res.out_bytes = 6789;
    t->res.decoder = "jpeg-2/8";
    t->res.queue_ms = 1.5;
    t->res.decode_ms = 2.25;
    t->res.resize_ms = 0.125;
    t->res.encode_ms = 3.0;
    t->res.total_ms = 6.875;
    t->res.worker = 2;
    return t;
}

static char *record_of(const thumbd_task *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_format_record(f, t);
    fclose(f);
    return buf;
}

static const char record_py[] =
    "import json, sys\n"
    "raw = sys.stdin.buffer.read().decode('utf-8')\n"
    "lines = raw.split('\\n')\n"
    "want = json.loads(lines[1])\n"
    "rec = json.loads(lines[0])\n"
    "keys = ['id','src','out','status','error','src_w','src_h','src_bytes','out_w','out_h',\n"
    "        'out_bytes','decoder','queue_ms','decode_ms','resize_ms','encode_ms','total_ms','worker']\n"
    "bad = [k for k in keys if k not in rec]\n"
    "bad += [k for k in want if k != 'src_hex' and rec.get(k) != want[k]]\n"
    "if 'src_hex' in want:\n"
    "    src = rec['src'].encode('utf-8', 'surrogateescape')\n"
    "    if src != bytes.fromhex(want['src_hex']): bad.append('src bytes')\n"
    "if bad: sys.stderr.write('bad keys: %r in %r\\n' % (bad, rec))\n"
    "sys.exit(1 if bad else 0)\n";

static void test_format_record(void **state)
{
    (void)state;
    thumbd_task *t = fixed_task();
    char *rec = record_of(t);
    size_t n = strlen(rec);
    assert_true(n > 2);
    assert_int_equal(rec[0], '{');
    assert_int_equal(rec[n - 1], '}');
    assert_null(strchr(rec, '\n'));
    assert_non_null(strstr(rec, "\"id\":7,"));
    assert_non_null(strstr(rec, "\"src\":\"a/b.jpg\""));
    assert_non_null(strstr(rec, "\"status\":\"ok\""));
    assert_non_null(strstr(rec, "\"error\":null"));
    assert_non_null(strstr(rec, "\"worker\":2"));
    assert_non_null(strstr(rec, "\"decoder\":\"jpeg-2/8\""));
    if (have_python()) {
        char *in = NULL;
        if (asprintf(&in, "%s\n{\"id\":7,\"src\":\"a/b.jpg\",\"out\":\"a/b.jpg\",\"status\":\"ok\","
                          "\"error\":null,\"src_w\":4000,\"src_h\":3000,\"src_bytes\":12345,"
                          "\"out_w\":200,\"out_h\":150,\"out_bytes\":6789,"
                          "\"decoder\":\"jpeg-2/8\",\"queue_ms\":1.5,"
                          "\"decode_ms\":2.25,\"resize_ms\":0.125,\"encode_ms\":3.0,"
                          "\"total_ms\":6.875,\"worker\":2,\"src_hex\":\"612f622e6a7067\"}\n",
                     rec) < 0)
            fail();
        assert_int_equal(run_python(record_py, in, strlen(in)), 0);
        free(in);
    } else {
        /* Without a JSON parser: the exact text. */
        assert_string_equal(rec,
                            "{\"id\":7,\"src\":\"a/b.jpg\",\"out\":\"a/b.jpg\",\"status\":\"ok\","
                            "\"error\":null,\"src_w\":4000,\"src_h\":3000,\"src_bytes\":12345,"
                            "\"out_w\":200,\"out_h\":150,\"out_bytes\":6789,"
                            "\"decoder\":\"jpeg-2/8\",\"queue_ms\":1.500,"
                            "\"decode_ms\":2.250,\"resize_ms\":0.125,\"encode_ms\":3.000,"
                            "\"total_ms\":6.875,\"worker\":2}");
    }
    free(rec);
    task_free(t);
}

static void test_format_record_failed_with_odd_names(void **state)
{
    (void)state;
    struct timespec mt = {0, 0};
    thumbd_task *t = task_new(3, "d\xc3\xa9j\xe0/\"q\"\xff\n.png", 10, mt);
    assert_non_null(t);
    t->res.status = TASK_FAILED;
    snprintf(t->res.error, sizeof t->res.error, "truncated \"PNG\"\tat row 3\\4 \x01");
    t->res.worker = -1;
    char *rec = record_of(t);
    assert_non_null(strstr(rec, "\"out\":null"));
    assert_non_null(strstr(rec, "\"status\":\"failed\""));
    assert_non_null(strstr(rec, "\"worker\":-1"));
    assert_non_null(strstr(rec, "\"decoder\":null"));
    assert_null(strchr(rec, '\n'));
    if (have_python()) {
        char hex[128] = "";
        for (const unsigned char *p = (const unsigned char *)t->rel; *p; p++)
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x", *p);
        char *in = NULL;
        if (asprintf(&in, "%s\n{\"id\":3,\"out\":null,\"status\":\"failed\",\"error\":"
                          "\"truncated \\\"PNG\\\"\\tat row 3\\\\4 \\u0001\",\"worker\":-1,"
                          "\"src_bytes\":10,\"src_hex\":\"%s\"}\n",
                     rec, hex) < 0)
            fail();
        assert_int_equal(run_python(record_py, in, strlen(in)), 0);
        free(in);
    }
    free(rec);
    task_free(t);
}

/* "warnings": null when none, else a JSON array of the messages (escaped),
 * each once, at most TASK_WARN_MAX. */
static void test_format_record_warnings(void **state)
{
    (void)state;
    struct timespec mt = {0, 0};
    thumbd_task *t = task_new(4, "w.jpg", 10, mt);
    assert_non_null(t);
    t->res.status = TASK_OK;
    char *rec = record_of(t);
    assert_non_null(strstr(rec, ",\"warnings\":null,"));
    free(rec);
    task_warn_add(&t->res.warnings, "Corrupt JPEG data: bad Huffman code (at row 8 of 16)");
    task_warn_add(&t->res.warnings, "a \"quoted\"\tone");
    task_warn_add(&t->res.warnings, "Corrupt JPEG data: bad Huffman code (at row 8 of 16)");
    rec = record_of(t);
    assert_non_null(strstr(rec, ",\"warnings\":[\"Corrupt JPEG data: bad Huffman code (at row 8 of "
                                "16)\",\"a \\\"quoted\\\"\\tone\"],"));
    free(rec);
    for (int i = 0; i < 10; i++) {
        char m[16];
        snprintf(m, sizeof m, "w%d", i);
        task_warn_add(&t->res.warnings, m);
    }
    assert_int_equal(t->res.warnings.n, TASK_WARN_MAX);
    task_free(t);
}

/* ---- the writer thread ---- */

enum { RT_THREADS = 4, RT_PER = 30, RT_TOTAL = RT_THREADS * RT_PER };

typedef struct rt_producer {
    report *r;
    int index;
    pthread_t th;
} rt_producer;

static task_status status_of(int id)
{
    return (task_status)(id % 4);
}

static cancel_reason why_of(int id)
{
    return (cancel_reason)(1 + (id / 4) % 3);
}

static void *rt_main(void *arg)
{
    rt_producer *p = arg;
    for (int j = 0; j < RT_PER; j++) {
        int id = 1 + p->index * RT_PER + j;
        char rel[32];
        snprintf(rel, sizeof rel, "dir/img%03d.jpg", id);
        struct timespec mt = {0, 0};
        thumbd_task *t = task_new((uint64_t)id, rel, id, mt);
        if (!t)
            continue;
        t->res.status = status_of(id);
        if (t->res.status == TASK_CANCELLED)
            t->res.why = why_of(id);
        t->res.worker = t->res.status == TASK_OK ? p->index : -1;
        t->res.total_ms = id;
        report_submit(p->r, t);
    }
    return NULL;
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/thumbd-test-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[TD_ERRLEN] = "";
    report *r = report_open(path, 3, err);
    assert_non_null(r);
    report_set_records(r, true, true); /* a record for every status */
    rt_producer prod[RT_THREADS];
    for (int i = 0; i < RT_THREADS; i++) {
        prod[i].r = r;
        prod[i].index = i;
        assert_int_equal(pthread_create(&prod[i].th, NULL, rt_main, &prod[i]), 0);
    }
    for (int i = 0; i < RT_THREADS; i++)
        pthread_join(prod[i].th, NULL);
    report_counts counts;
    memset(&counts, 0xAB, sizeof counts);
    report_finish(r, &counts);

    uint64_t want_status[4] = {0}, want_why[4] = {0};
    for (int id = 1; id <= RT_TOTAL; id++) {
        want_status[status_of(id)]++;
        if (status_of(id) == TASK_CANCELLED)
            want_why[why_of(id)]++;
    }
    for (int s = 0; s < 4; s++) {
        assert_int_equal(counts.by_status[s], want_status[s]);
        assert_int_equal(counts.cancelled_by[s], want_why[s]);
    }

    /* Exactly one line per task, each with its own id. */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int seen[RT_TOTAL + 1] = {0};
    int lines = 0;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\n');
        int id = 0;
        assert_int_equal(sscanf(line, "{\"id\":%d,", &id), 1);
        assert_true(id >= 1 && id <= RT_TOTAL);
        seen[id]++;
        char want_src[64], want_status_s[64];
        snprintf(want_src, sizeof want_src, "\"src\":\"dir/img%03d.jpg\"", id);
        snprintf(want_status_s, sizeof want_status_s, "\"status\":\"%s\"",
                 task_status_name(status_of(id)));
        assert_non_null(strstr(line, want_src));
        assert_non_null(strstr(line, want_status_s));
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, RT_TOTAL);
    for (int id = 1; id <= RT_TOTAL; id++)
        assert_int_equal(seen[id], 1);

    /* Every line parses as JSON. */
    if (have_python()) {
        static const char py[] =
            "import json, sys\n"
            "n = 0\n"
            "for line in sys.stdin.buffer.read().decode('utf-8').splitlines():\n"
            "    json.loads(line); n += 1\n"
            "sys.exit(0 if n > 0 else 1)\n";
        f = fopen(path, "r");
        char *all = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&all, &len);
        int c;
        while ((c = getc(f)) != EOF)
            putc(c, m);
        fclose(f);
        fclose(m);
        assert_int_equal(run_python(py, all, len), 0);
        free(all);
    }

    /* The summary counts what was written. */
    char *sum = NULL;
    size_t slen = 0;
    FILE *m = open_memstream(&sum, &slen);
    report_summary(r, m, 2.0, 5);
    fclose(m);
    char want[64];
    snprintf(want, sizeof want, "%d images", RT_TOTAL);
    assert_non_null(strstr(sum, want));
    snprintf(want, sizeof want, "%llu ok", (unsigned long long)want_status[TASK_OK]);
    assert_non_null(strstr(sum, want));
    snprintf(want, sizeof want, "%llu cancelled", (unsigned long long)want_status[TASK_CANCELLED]);
    assert_non_null(strstr(sum, want));
    free(sum);
    report_free(r);
    unlink(path);
}

static void test_writer_without_file_counts(void **state)
{
    (void)state;
    char err[TD_ERRLEN] = "";
    report *r = report_open(NULL, 2, err);
    assert_non_null(r);
    for (int i = 1; i <= 5; i++) {
        struct timespec mt = {0, 0};
        thumbd_task *t = task_new((uint64_t)i, "x.jpg", 1, mt);
        t->res.status = i <= 3 ? TASK_OK : TASK_FAILED;
        report_submit(r, t);
    }
    report_counts counts;
    report_finish(r, &counts);
    assert_int_equal(counts.by_status[TASK_OK], 3);
    assert_int_equal(counts.by_status[TASK_FAILED], 2);
    assert_int_equal(counts.by_status[TASK_SKIPPED], 0);
    report_free(r);
}

/* --ordered: records in id order whatever order they are submitted in; a
 * passed id lets the next go; report_finish writes what is held behind a
 * gap. */
static void test_writer_ordered(void **state)
{
    (void)state;
    char path[] = "/tmp/thumbd-report-ordered-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[TD_ERRLEN] = "";
    report *r = report_open(path, 2, err);
    assert_non_null(r);
    assert_true(report_set_ordered(r, 4));
    static const int order[] = {3, 1, 6, 5, 8}; /* 2 passed, 4 passed late, 7 never */
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char rel[16];
        snprintf(rel, sizeof rel, "f%d.jpg", order[i]);
        report_submit(r, task_new((uint64_t)order[i], rel, 1, (struct timespec){0, 0}));
        if (order[i] == 1)
            report_pass(r, 2);
    }
    report_pass(r, 4);
    report_counts counts;
    report_finish(r, &counts);
    assert_int_equal(counts.by_status[TASK_OK], 5);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int want[] = {1, 3, 5, 6, 8}, n = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(n < 5);
        char head[32];
        snprintf(head, sizeof head, "{\"id\":%d,", want[n++]);
        assert_true(!strncmp(line, head, strlen(head)));
    }
    assert_int_equal(n, 5);
    fclose(f);
    unlink(path);
    report_free(r);
}

/* A directory the scan could not read: a failure, but no image. */
static void test_directory_counted_apart(void **state)
{
    (void)state;
    char err[TD_ERRLEN] = "";
    report *r = report_open(NULL, 2, err);
    assert_non_null(r);
    struct timespec mt = {0, 0};
    for (int i = 1; i <= 3; i++) {
        thumbd_task *t = task_new((uint64_t)i, i == 2 ? "locked" : "x.jpg", 1, mt);
        t->dir = i == 2;
        t->res.status = i == 2 ? TASK_FAILED : TASK_OK;
        report_submit(r, t);
    }
    report_counts counts;
    report_finish(r, &counts);
    assert_int_equal(counts.by_status[TASK_OK], 2);
    assert_int_equal(counts.by_status[TASK_FAILED], 0);
    assert_int_equal(counts.dirs_unreadable, 1);
    char *sum = NULL;
    size_t slen = 0;
    FILE *m = open_memstream(&sum, &slen);
    report_summary(r, m, 1.0, 0);
    fclose(m);
    assert_non_null(strstr(sum, "thumbd: 2 images in"));
    assert_non_null(strstr(sum, "2 ok, 0 failed"));
    assert_non_null(strstr(sum, "\nthumbd: 1 directory could not be read"));
    free(sum);
    report_free(r);
}

static void test_open_unwritable(void **state)
{
    (void)state;
    char err[TD_ERRLEN] = "";
    report *r = report_open("/nonexistent-thumbd-dir/report.jsonl", 2, err);
    assert_null(r);
    assert_non_null(strstr(err, "/nonexistent-thumbd-dir/report.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_valid_utf8_verbatim),
        cmocka_unit_test(test_json_invalid_bytes_escaped),
        cmocka_unit_test(test_json_python_round_trip),
        cmocka_unit_test(test_format_record),
        cmocka_unit_test(test_format_record_failed_with_odd_names),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_format_record_warnings),
        cmocka_unit_test(test_writer_without_file_counts),
        cmocka_unit_test(test_writer_ordered),
        cmocka_unit_test(test_directory_counted_apart),
        cmocka_unit_test(test_open_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
