/* End-to-end tests, part 1: exit codes, report records, limits, bad files,
 * names, metadata stripped, name encoding, decoder choice (helpers:
 * e2e_runs.h). */
#include "e2e_runs.h"

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

static bool is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash) || dot == name || (slash && dot == slash + 1))
        return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpe") ||
           !strcasecmp(dot, ".png");
}

/* Relative paths of all regular files under root, recursively. */
static void list_files_rec(const char *root, const char *rel, strlist *out)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        /* thumbd's own bookkeeping at the top of OUT_DIR (README: re-runs) */
        if (!*rel && !strncmp(de->d_name, ".thumbd.", 8)) /* .lock .state .run/ .memo/ */
            continue;
        char r2[PATH_MAX], full[PATH_MAX * 2];
        snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, r2);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            list_files_rec(root, r2, out);
        else
            strlist_add(out, r2);
    }
    closedir(d);
}

/* ------------------------------------------------------------------------ */
/* Metadata scans                                                             */

/* Returns NULL if the JPEG holds only SOI, APP0 (JFIF), DQT, SOFn, DHT, DRI,
 * SOS, RSTn and EOI; else a description of the first other marker. */
static const char *jpeg_foreign_marker(const uint8_t *d, size_t n, char *buf, size_t bn)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return "no SOI";
    size_t i = 2;
    while (i + 1 < n) {
        if (d[i] != 0xFF) {
            snprintf(buf, bn, "garbage byte 0x%02X at %zu", d[i], i);
            return buf;
        }
        while (i < n && d[i] == 0xFF)
            i++;
        if (i >= n)
            break;
        unsigned m = d[i++];
        if (m == 0xD9)
            return NULL;   /* EOI */
        if (m >= 0xD0 && m <= 0xD7)
            continue;
        if (i + 2 > n)
            return "truncated marker";
        size_t len = (size_t)d[i] << 8 | d[i + 1];
        bool ok = m == 0xDB || m == 0xC4 || m == 0xDD || m == 0xDA ||
                  (m >= 0xC0 && m <= 0xC2) ||
                  (m == 0xE0 && len >= 7 && !memcmp(d + i + 2, "JFIF\0", 5));
        if (!ok) {
            if (m == 0xFE)
                snprintf(buf, bn, "COM marker at %zu", i - 2);
            else if (m >= 0xE0 && m <= 0xEF)
                snprintf(buf, bn, "APP%u marker at %zu", m - 0xE0, i - 2);
            else
                snprintf(buf, bn, "marker 0x%02X at %zu", m, i - 2);
            return buf;
        }
        i += len;
        if (m == 0xDA) {
            /* entropy-coded data: up to the next marker other than RSTn */
            while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0 &&
                                  !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7)))
                i++;
        }
    }
    return "no EOI";
}

static const char *png_foreign_chunk(const uint8_t *d, size_t n, char *buf, size_t bn)
{
    static const char *bad[] = {"eXIf", "tEXt", "iTXt", "zTXt", "iCCP"};
    size_t i = 8;
    while (i + 8 <= n) {
        size_t len = (size_t)d[i] << 24 | (size_t)d[i + 1] << 16 | (size_t)d[i + 2] << 8 | d[i + 3];
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
            if (!memcmp(d + i + 4, bad[k], 4)) {
                snprintf(buf, bn, "%s chunk at %zu", bad[k], i);
                return buf;
            }
        if (!memcmp(d + i + 4, "IEND", 4))
            return NULL;
        i += 12 + len;
    }
    return "no IEND";
}

static bool has_bytes(const uint8_t *d, size_t n, const void *needle, size_t nl)
{
    return memmem(d, n, needle, nl) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                      */

/* --help / --version exit 0 with output; usage errors exit 2; an IN_DIR that
 * does not exist exits 3. */
static void test_cli_exit_codes(void **state)
{
    (void)state;
    begin_checks();
    char out[PATH_MAX + 32], err[PATH_MAX + 32], missing[PATH_MAX + 32], o2[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/cli.stdout", g_tmp);
    snprintf(err, sizeof err, "%s/cli.stderr", g_tmp);
    snprintf(missing, sizeof missing, "%s/no-such-dir", g_tmp);
    snprintf(o2, sizeof o2, "%s/out-cli", g_tmp);
    struct {
        const char *what;
        char *argv[8];
        int want;
        bool want_stdout;
    } cases[] = {
        {"--help", {(char *)g_bin, "--help", NULL}, 0, true},
        {"-h", {(char *)g_bin, "-h", NULL}, 0, true},
        {"--version", {(char *)g_bin, "--version", NULL}, 0, true},
        {"-V", {(char *)g_bin, "-V", NULL}, 0, true},
        {"bad option", {(char *)g_bin, "--no-such-option", g_in, o2, NULL}, 2, false},
        {"no arguments", {(char *)g_bin, NULL}, 2, false},
        {"--quality 101", {(char *)g_bin, "--quality", "101", g_in, o2, NULL}, 2, false},
        {"--fit sideways", {(char *)g_bin, "--fit", "sideways", g_in, o2, NULL}, 2, false},
        {"--size 0x0", {(char *)g_bin, "--size", "0x0", g_in, o2, NULL}, 2, false},
        {"missing IN_DIR", {(char *)g_bin, missing, o2, NULL}, 3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_cmd(cases[i].argv, out, err, 60);
        CHECK(rc == cases[i].want, "%s: exit %d, want %d", cases[i].what, rc, cases[i].want);
        if (cases[i].want_stdout)
            CHECK(file_size(out) > 0, "%s: printed nothing on stdout", cases[i].what);
        if (cases[i].want != 0)
            CHECK(file_size(err) > 0, "%s: no message on stderr", cases[i].what);
    }
    end_checks();
}

/* The cover run over the whole tree: exit code 1 (there are bad files), one
 * well-formed record per image file, consistent fields, and OUT_DIR holds
 * exactly the thumbnails of the ok records (no temporary leftovers). */
/* Every expected entry of the main run: status, out, sizes. */
static void check_expected_records(const run *r)
{
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (!strcmp(e->cat, "big"))
            continue;
        const rec *x = find_rec(r, e->name, NULL);
        if (!x)
            continue;   /* reported above */
        const char *st = e2e_str(x, "status");
        char src_path[PATH_MAX * 2];
        snprintf(src_path, sizeof src_path, "%s/%s", g_in, e->name);
        CHECK(rec_num(x, "src_bytes") == file_size(src_path), "%s: src_bytes %lld, file has %lld",
              e->name, rec_num(x, "src_bytes"), file_size(src_path));
        CHECK(st && !strcmp(st, e->status), "%s: status %s, want %s (error: %s)", e->name,
              st ? st : "(none)", e->status,
              e2e_str(x, "error") ? e2e_str(x, "error") : "null");
        if (strcmp(e->status, "ok"))
            continue;
        const char *out = e2e_str(x, "out");
        CHECK(out && !strcmp(out, e->out), "%s: out %s, want %s", e->name, out ? out : "null",
              e->out);
        const jfield *ef = e2e_jrec_get(x, "error");
        CHECK(ef && ef->type == E2E_J_NULL, "%s: ok record with an error: %s", e->name,
              e2e_report_text(&r->rp, x));
        CHECK(rec_num(x, "src_w") == e->w && rec_num(x, "src_h") == e->h,
              "%s: src %lldx%lld, want %dx%d (as stored)", e->name, rec_num(x, "src_w"),
              rec_num(x, "src_h"), e->w, e->h);
        CHECK(rec_num(x, "worker") >= 0, "%s: ok record with worker %lld", e->name,
              rec_num(x, "worker"));
        if (out) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", r->out, out);
            CHECK(rec_num(x, "out_bytes") == file_size(p), "%s: out_bytes %lld, file has %lld",
                  e->name, rec_num(x, "out_bytes"), file_size(p));
        }
    }
}

/* OUT_DIR of the main run: exactly the outputs of the ok records. */
static void check_out_dir_claimed(const run *r)
{
    strlist outs = {0};
    list_files_rec(r->out, "", &outs);
    for (int i = 0; i < outs.n; i++) {
        bool claimed = false;
        for (int k = 0; k < r->rp.n && !claimed; k++) {
            const char *o = e2e_str(&r->rp.v[k], "out");
            const char *st = e2e_str(&r->rp.v[k], "status");
            claimed = o && st && !strcmp(st, "ok") && !strcmp(o, outs.v[i]);
        }
        CHECK(claimed, "OUT_DIR holds %s, which no ok record claims (leftover?)", outs.v[i]);
    }
    strlist_free(&outs);
}

static void test_report_records(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    CHECK(r->exit_code == 1, "exit code %d, want 1 (some images fail)", r->exit_code);
    CHECK(r->rp.bad == 0, "%d report lines are not valid JSON objects", r->rp.bad);
    CHECK(r->rp.n > 0, "no report records in %s", r->report);

    static const char *keys[] = {"id", "src", "out", "status", "error", "src_w", "src_h",
                                 "src_bytes", "out_w", "out_h", "out_bytes", "decoder", "queue_ms",
                                 "decode_ms", "resize_ms", "encode_ms", "total_ms", "worker"};
    for (int i = 0; i < r->rp.n; i++) {
        const rec *x = &r->rp.v[i];
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            CHECK(e2e_jrec_get(x, keys[k]) != NULL, "record without \"%s\": %s", keys[k],
                  r->rp.line[i]);
        const char *st = e2e_str(x, "status");
        CHECK(st && (!strcmp(st, "ok") || !strcmp(st, "failed") || !strcmp(st, "skipped") ||
                     !strcmp(st, "cancelled")), "bad status in %s", r->rp.line[i]);
        for (int j = 0; j < i; j++)
            CHECK(rec_num(x, "id") != rec_num(&r->rp.v[j], "id"), "duplicate id %lld",
                  rec_num(x, "id"));
    }

    /* every image file under IN_DIR: exactly one record */
    strlist files = {0};
    list_files_rec(g_in, "", &files);
    int nimages = 0;
    for (int i = 0; i < files.n; i++) {
        int count;
        const rec *x = find_rec(r, files.v[i], &count);
        if (is_image_name(files.v[i])) {
            nimages++;
            CHECK(count == 1, "%s: %d records (want exactly 1)", files.v[i], count);
        } else if (x) {
            const char *st = e2e_str(x, "status");
            CHECK(st && strcmp(st, "failed"), "%s (not an image name) has a failed record",
                  files.v[i]);
        }
    }
    for (int i = 0; i < r->rp.n; i++) {
        const char *src = e2e_str(&r->rp.v[i], "src");
        bool found = false;
        for (int k = 0; src && k < files.n && !found; k++)
            found = !strcmp(files.v[k], src);
        CHECK(found, "record for a file that does not exist: %s", r->rp.line[i]);
    }
    CHECK(nimages >= 40, "only %d image files generated", nimages);

    /* every expected entry: status, out, sizes */
    check_expected_records(r);

    /* OUT_DIR: exactly the outputs of the ok records */
    check_out_dir_claimed(r);
    strlist_free(&files);
    end_checks();
}

/* A run where every image is fine exits 0. */
static void test_clean_run_exit_0(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_ORIENT);
    CHECK(r->exit_code == 0, "exit code %d on orient/ (all valid), want 0", r->exit_code);
    CHECK(r->rp.n == 9, "%d records for the 9 images of orient/", r->rp.n);
    end_checks();
}

/* Decompression-bomb limits refuse every file with a message naming the
 * limit, and write nothing. */
static void test_limits(void **state)
{
    (void)state;
    begin_checks();
    const int runs[2] = {RUN_MAX_PIXELS, RUN_MAX_FILE_SIZE};
    const char *words[2] = {"--max-pixels", "--max-file-size"};
    for (int k = 0; k < 2; k++) {
        run *r = get_run(runs[k]);
        CHECK(r->exit_code == 1, "%s: exit code %d, want 1", words[k], r->exit_code);
        CHECK(r->rp.n == 9, "%s: %d records, want 9", words[k], r->rp.n);
        for (int i = 0; i < r->rp.n; i++) {
            const char *st = e2e_str(&r->rp.v[i], "status"), *er = e2e_str(&r->rp.v[i], "error");
            CHECK(st && !strcmp(st, "failed"), "%s: status %s, want failed", words[k], st ? st : "?");
            CHECK(er && strstr(er, words[k]), "%s: error '%s' does not name the limit", words[k],
                  er ? er : "(null)");
            CHECK(e2e_str(&r->rp.v[i], "out") == NULL, "%s: a refused file has an output",
                  words[k]);
        }
    }
    end_checks();
}

/* Bad files fail with a message that names the problem; no thumbnail. */
static void test_bad_files(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    int n = 0;
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->cat, "bad"))
            continue;
        n++;
        int count;
        const rec *x = find_rec(r, e->name, &count);
        CHECK(count == 1, "%s: %d records, want 1", e->name, count);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *err = e2e_str(x, "error");
        CHECK(st && !strcmp(st, "failed"), "%s: status %s, want failed", e->name,
              st ? st : "(none)");
        const jfield *of = e2e_jrec_get(x, "out");
        CHECK(of && of->type == E2E_J_NULL, "%s: a failed record must have out null: %s", e->name,
              e2e_report_text(&r->rp, x));
        CHECK(err && *err, "%s: empty or null error", e->name);
        if (!err)
            continue;
        /* one of the alternatives of err= ('_' = space), case-insensitive */
        char alts[256];
        snprintf(alts, sizeof alts, "%s", e->err);
        for (char *c = alts; *c; c++)
            if (*c == '_')
                *c = ' ';
        bool hit = false;
        char *save = NULL;
        for (char *t = strtok_r(alts, "|", &save); t && !hit; t = strtok_r(NULL, "|", &save))
            hit = strcasestr(err, t) != NULL;
        CHECK(hit, "%s: error \"%s\" mentions none of: %s", e->name, err, e->err);
    }
    CHECK(n == 5, "%d bad files in expected.txt, want 5", n);
    end_checks();
}

/* Content decides, not the name: a PNG named .jpg and a .jpeg name. */
static void test_names(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("ok/png_named.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("ok/ext.jpeg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* No thumbnail carries metadata: JPEG markers are only SOI, APP0 (JFIF),
 * DQT, SOFn, DHT, DRI, SOS, RSTn, EOI; PNGs have no eXIf, tEXt, iTXt, zTXt
 * or iCCP; and none holds the generator's secret strings anywhere. */
static void test_no_metadata(void **state)
{
    (void)state;
    begin_checks();
    for (int w = 0; w < NRUNS; w++) {
        run *r = get_run(w);
        strlist outs = {0};
        list_files_rec(r->out, "", &outs);
        for (int i = 0; i < outs.n; i++) {
            char p[PATH_MAX * 2], buf[96];
            snprintf(p, sizeof p, "%s/%s", r->out, outs.v[i]);
            uint8_t *d;
            size_t n;
            if (read_file(p, &d, &n) != 0) {
                CHECK(false, "[%s] cannot read %s", g_defs[w].tag, p);
                continue;
            }
            const char *why = NULL;
            if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8)
                why = jpeg_foreign_marker(d, n, buf, sizeof buf);
            else if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
                why = png_foreign_chunk(d, n, buf, sizeof buf);
            else
                why = "neither JPEG nor PNG";
            CHECK(!why, "[%s] %s: %s", g_defs[w].tag, outs.v[i], why);
            CHECK(!has_bytes(d, n, "thumbd-gen secret", 17), "[%s] %s: holds a source's metadata",
                  g_defs[w].tag, outs.v[i]);
            CHECK(!has_bytes(d, n, "Exif\0\0", 6), "[%s] %s: holds an Exif block",
                  g_defs[w].tag, outs.v[i]);
            CHECK(!has_bytes(d, n, "http://ns.adobe.com/xap", 23), "[%s] %s: holds XMP",
                  g_defs[w].tag, outs.v[i]);
            free(d);
        }
        if (w == RUN_MAIN)
            CHECK(outs.n >= 30, "[%s] only %d thumbnails to scan", g_defs[w].tag, outs.n);
        strlist_free(&outs);
    }
    end_checks();
}

static int copy_file(const char *from, const char *to)
{
    uint8_t *d;
    size_t n;
    if (read_file(from, &d, &n) != 0)
        return -1;
    FILE *f = fopen(to, "wb");
    int rc = f && fwrite(d, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(d);
    return rc;
}

/* Names round-trip through the report: UTF-8, bytes that are not UTF-8
 * (written as \udcXX), and characters JSON must escape. */
static void test_name_encoding(void **state)
{
    (void)state;
    begin_checks();
    static const char *names[] = {
        "caf\xc3\xa9 \xe2\x9c\x93.jpg",   /* valid UTF-8 */
        "raw\xff\xfe\x80.jpg",              /* not UTF-8 */
        "quote\"back\\slash.jpg",          /* JSON specials */
        "new\nline\ttab.jpg",               /* control characters */
    };
    enum { NN = sizeof names / sizeof names[0] };
    char in[PATH_MAX], out[PATH_MAX], report[PATH_MAX], err[PATH_MAX], so[PATH_MAX];
    char src[PATH_MAX];
    snprintf(in, sizeof in, "%s/names", g_tmp);
    snprintf(out, sizeof out, "%s/out-names", g_tmp);
    snprintf(report, sizeof report, "%s/report-names.jsonl", g_tmp);
    snprintf(err, sizeof err, "%s/stderr-names.txt", g_tmp);
    snprintf(so, sizeof so, "%s/stdout-names.txt", g_tmp);
    snprintf(src, sizeof src, "%s/ok/ext.jpeg", g_in);
    assert_int_equal(mkdir(in, 0777), 0);
    for (int i = 0; i < NN; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", in, names[i]);
        assert_int_equal(copy_file(src, p), 0);
    }
    char *argv[] = {(char *)g_bin, "--report", report, in, out, NULL};
    int rc = run_cmd(argv, so, err, RUN_TIMEOUT_S);
    CHECK(rc == 0, "[names] exit %d, want 0", rc);
    run r = {0};
    CHECK(e2e_report_load(report, &r.rp, 0), "[names] no report");
    CHECK(r.rp.bad == 0, "[names] %d unparsable report lines, the first: %s", r.rp.bad,
          r.rp.first_bad);
    CHECK(r.rp.n == NN, "[names] %d records, want %d", r.rp.n, (int)NN);
    for (int i = 0; i < NN; i++) {
        int count;
        const rec *x = find_rec(&r, names[i], &count);
        CHECK(count == 1, "[names] name #%d: %d records whose src decodes to it", i, count);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *o = e2e_str(x, "out");
        CHECK(st && !strcmp(st, "ok"), "[names] name #%d: status %s", i, st ? st : "(none)");
        CHECK(o && !strcmp(o, names[i]), "[names] name #%d: out does not round-trip: %s", i,
              e2e_report_text(&r.rp, x));
        if (o) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", out, o);
            CHECK(file_size(p) > 0, "[names] name #%d: no thumbnail at the reported out", i);
        }
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* A smooth gradient, so every decode path gives a plausible picture. */
static void gradient_row(uint8_t *row, int w, int y, void *ctx)
{
    (void)ctx;
    for (int x = 0; x < w; x++) {
        row[x * 3] = (uint8_t)(x * 255 / w);
        row[x * 3 + 1] = (uint8_t)(y & 0xFF);
        row[x * 3 + 2] = (uint8_t)(255 - x * 255 / w);
    }
}

/* The report's "decoder": the DC-only shortcut is taken for a progressive
 * JPEG exactly when its 1/8 scale still leaves twice the thumbnail (here,
 * --size 100x100 --fit inside: 200x150 for a 4:3 image), else the smallest
 * scale that does: by jpeglf at 2/8 and 4/8 (3/8 taken up to 4/8), else by
 * libjpeg; baseline JPEGs never take either. */
static void test_decoder_choice(void **state)
{
    (void)state;
    begin_checks();
    static const struct {
        const char *name;
        int w, h;
        bool progressive;
        const char *want;
    } cases[] = {
        {"p1600x1200.jpg", 1600, 1200, true, "jpeg-dc-1/8"},  /* 1/8: 200x150, just enough */
        {"p4000x3000.jpg", 4000, 3000, true, "jpeg-dc-1/8"},  /* 1/8: 500x375 */
        {"p1592x1192.jpg", 1592, 1192, true, "jpeg-lf-2/8"},  /* 1/8: 199x149, too small */
        {"p1000x800.jpg", 1000, 800, true, "jpeg-lf-2/8"},    /* 1/8: 125x100 */
        {"p400x300.jpg", 400, 300, true, "jpeg-lf-4/8"},      /* 4/8: 200x150, just enough */
        {"p640x480.jpg", 640, 480, true, "jpeg-lf-4/8"},      /* 3/8: 240x180, taken up to 4/8 */
        {"b640x480.jpg", 640, 480, false, "jpeg-3/8"},        /* baseline: libjpeg at 3/8 */
        {"p240x180.jpg", 240, 180, true, "jpeg-7/8"},         /* 7/8: 210x158 */
        {"p220x165.jpg", 220, 165, true, "jpeg-8/8"},         /* 7/8: 193x145, too small */
        {"b1600x1200.jpg", 1600, 1200, false, "jpeg-1/8"},    /* baseline: libjpeg at 1/8 */
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    run r = {0};
    snprintf(r.in, sizeof r.in, "%s/decoder", g_tmp);
    snprintf(r.out, sizeof r.out, "%s/out-decoder", g_tmp);
    snprintf(r.report, sizeof r.report, "%s/report-decoder.jsonl", g_tmp);
    snprintf(r.err, sizeof r.err, "%s/stderr-decoder.txt", g_tmp);
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/stdout-decoder.txt", g_tmp);
    assert_int_equal(mkdir(r.in, 0777), 0);
    for (int i = 0; i < NC; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", r.in, cases[i].name);
        assert_int_equal(write_rgb_jpeg_ex(p, cases[i].w, cases[i].h, 85, cases[i].progressive,
                                           gradient_row, NULL),
                         0);
    }
    char *argv[] = {(char *)g_bin, "--size", "100x100", "--fit", "inside", "--report", r.report,
                    r.in, r.out, NULL};
    r.exit_code = run_cmd(argv, so, r.err, RUN_TIMEOUT_S);
    CHECK(r.exit_code == 0, "[decoder] exit %d, want 0", r.exit_code);
    load_report(&r, "decoder");
    CHECK(r.rp.n == NC, "[decoder] %d records, want %d", r.rp.n, (int)NC);
    for (int i = 0; i < NC; i++) {
        const rec *x = find_rec(&r, cases[i].name, NULL);
        CHECK(x != NULL, "[decoder] no record for %s", cases[i].name);
        if (!x)
            continue;
        const char *st = e2e_str(x, "status"), *dec = e2e_str(x, "decoder");
        CHECK(st && !strcmp(st, "ok"), "[decoder] %s: %s", cases[i].name,
              e2e_report_text(&r.rp, x));
        CHECK(dec && !strcmp(dec, cases[i].want), "[decoder] %s: decoder %s, want %s",
              cases[i].name, dec ? dec : "(none)", cases[i].want);
        long long want_h = cases[i].h == 800 ? 80 : 75;
        CHECK(rec_num(x, "out_w") == 100 && rec_num(x, "out_h") == want_h,
              "[decoder] %s: thumbnail %lldx%lld, want 100x%lld", cases[i].name,
              rec_num(x, "out_w"), rec_num(x, "out_h"), want_h);
    }
    e2e_report_free(&r.rp);
    end_checks();
}

/* The main run names the PNG paths (a small PNG inflated at once, a whole
 * frame for Adam7; row-by-row streaming is test_pngpix's), and no decoder
 * for a file refused before decoding. */
static void test_decoder_png(void **state)
{
    (void)state;
    begin_checks();
    run *r = get_run(RUN_MAIN);
    static const struct {
        const char *src, *want;
    } cases[] = {{"png/rgb16.png", "png-whole"}, {"png/interlaced_rgb.png", "png-interlaced"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rec *x = find_rec(r, cases[i].src, NULL);
        const char *dec = x ? e2e_str(x, "decoder") : NULL;
        CHECK(dec && !strcmp(dec, cases[i].want), "%s: decoder %s, want %s", cases[i].src,
              dec ? dec : "(none)", cases[i].want);
    }
    /* Refused before any decoder saw it. */
    const rec *bad = find_rec(r, "bad/empty.jpg", NULL);
    CHECK(bad && e2e_jrec_get(bad, "decoder") && e2e_jrec_get(bad, "decoder")->type == E2E_J_NULL,
          "bad/empty.jpg: decoder should be null: %s", e2e_report_text(&r->rp, bad));
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_exit_codes),
        cmocka_unit_test(test_report_records),
        cmocka_unit_test(test_clean_run_exit_0),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_no_metadata),
        cmocka_unit_test(test_name_encoding),
        cmocka_unit_test(test_decoder_choice),
        cmocka_unit_test(test_decoder_png),
    };
    return e2e_runs_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
