/* End-to-end tests of filesystem faults, part 2: special files, unreadable and
 * unwritable paths, file size limits, a report cut short, a full disk, a
 * source changed while read (helpers: fsfaults_util.h). */
#include "fsfaults_util.h"

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcasecmp(name + n - e, ext);
}

/* A large RGB PNG that takes thumbd a while to decode (every row is read). */
static void write_big_png(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(p)))
        fail_msg("libpng failed writing %s", path);
    png_init_io(p, f);
    png_set_compression_level(p, 1);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint8_t *row = malloc((size_t)w * 3);
    assert_non_null(row);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            row[3 * x] = (uint8_t)(x * 255 / w);
            row[3 * x + 1] = (uint8_t)(y * 255 / h);
            row[3 * x + 2] = (uint8_t)((x ^ y) & 0xFF);
        }
        png_write_row(p, row);
    }
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(row);
    assert_int_equal(fclose(f), 0);
}

/* true (and the exit recorded) if it has ended. */
static bool ended(proc *p)
{
    e2e_proc r;
    if (!e2e_poll(&p->ch, &r))
        return false;
    report_end(p, r);
    return true;
}

/* True if pid has path open (a readlink of one of its /proc fds). */
static bool has_open(pid_t pid, const char *path)
{
    char dir[64];
    PF(dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool hit = false;
    struct dirent *de;
    while (!hit && (de = readdir(d)) != NULL) {
        char l[128], target[PATH_MAX];
        PF(l, "%s/%s", dir, de->d_name);
        ssize_t n = readlink(l, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            hit = !strcmp(target, path);
        }
    }
    closedir(d);
    return hit;
}

/* Every .jpg/.png under out is a complete image. */
static void check_all_complete(const char *out, const char *what)
{
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++) {
        if (!has_ext(l.v[i], ".jpg") && !has_ext(l.v[i], ".png"))
            continue;
        char p[PATH_MAX * 2], why[128];
        PF(p, "%s/%s", out, l.v[i]);
        CHECK(complete_file(p, why, sizeof why), "%s: %s at a final name: %s", what, l.v[i], why);
    }
    strlist_free(&l);
}

/* ------------------------------------------------------------------------ */
/* (c) FIFOs, sockets, devices                                                */

/* fifo.jpg, sock.png and (if mknod is permitted) dev.jpg, a character device
 * with /dev/null's numbers, next to two images. While thumbd runs, the test
 * keeps trying to open the FIFO for writing without blocking, which succeeds
 * only while a reader has it open, and looks for the FIFO and the device
 * among thumbd's open files (/proc/PID/fd): thumbd must never open them. The
 * run must end (a FIFO opened for reading would block it), exit 0, and the
 * special files get no ok record and no thumbnail. */
static void test_special_files_not_opened(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "c/in");
    tpath(out, sizeof out, "c/out");
    tpath(rep, sizeof rep, "c/report.jsonl");
    tpath(log, sizeof log, "c/log.txt");
    mkdir_p(in, 0755);
    PF(p, "%s/a_good.jpg", in);
    write_jpeg(p, 200, 150, false, 1);
    PF(p, "%s/z_good.jpg", in);
    write_jpeg(p, 200, 150, false, 2);
    char fifo[PATH_MAX];
    PF(fifo, "%s/fifo.jpg", in);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock.png", in);
    assert_true(n > 0 && (size_t)n < sizeof sa.sun_path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s);   /* the socket file stays */
    PF(p, "%s/dev.jpg", in);
    bool have_dev = mknod(p, S_IFCHR | 0644, makedev(1, 3)) == 0;
    if (!have_dev) {
        printf("  mknod not permitted here (%s): no device node in this test\n", strerror(errno));
        assert_false(test_strict());
    }

    char dev_real[PATH_MAX] = "", fifo_real[PATH_MAX] = "";
    if (have_dev)
        assert_non_null(realpath(p, dev_real));
    assert_non_null(realpath(fifo, fifo_real));
    const char *args[] = {"--report", rep, in, out, NULL};
    proc pr = start(NULL, log, args);
    int opened = 0, seen_dev = 0;
    for (;;) {
        int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (w >= 0) {   /* someone has the FIFO open for reading */
            opened++;
            close(w);
        }
        if (has_open(pr.ch.pid, fifo_real))
            opened++;
        if (have_dev && has_open(pr.ch.pid, dev_real))
            seen_dev++;
        if (ended(&pr))
            break;
        if (now_s() - pr.ch.t0 > 30) {
            finish(&pr, 0);
            break;
        }
        struct timespec nap = {0, 200 * 1000};
        nanosleep(&nap, NULL);
    }
    check_exit(pr.code, "special files");
    CHECK(pr.code == 0, "exit %d, want 0", pr.code);
    CHECK(opened == 0, "thumbd opened the FIFO (seen open %d times)", opened);
    CHECK(seen_dev == 0, "thumbd opened the device node (seen open %d times)", seen_dev);
    report r;
    report_load(rep, &r);
    static const char *const good[] = {"a_good.jpg", "z_good.jpg"};
    for (int i = 0; i < 2; i++) {
        const rec *x = e2e_report_find(&r, good[i], NULL);
        CHECK(e2e_is(x, "ok"), "%s: %s %s", good[i], x ? e2e_str(x, "status") : "no record",
              errof(x));
    }
    static const char *const special[] = {"fifo.jpg", "sock.png", "dev.jpg"};
    for (int i = 0; i < (have_dev ? 3 : 2); i++) {
        const rec *x = e2e_report_find(&r, special[i], NULL);
        CHECK(!x || e2e_is(x, "skipped"), "%s: %s %s (want no record, or skipped)", special[i],
              x ? e2e_str(x, "status") : "", errof(x));
        char o1[PATH_MAX], o2[PATH_MAX];
        PF(o1, "%s/%.*s.jpg", out, (int)(strlen(special[i]) - 4), special[i]);
        PF(o2, "%s/%.*s.png", out, (int)(strlen(special[i]) - 4), special[i]);
        CHECK(access(o1, F_OK) != 0 && access(o2, F_OK) != 0, "%s has a thumbnail", special[i]);
    }
    e2e_report_free(&r);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (d) permissions                                                            */

/* thumbd runs as nobody (setpriv, when we are root) on a tree it can read
 * but for b_secret.jpg (mode 000), c_locked/ (000), d_noexec/ (r-- : names
 * readable, entries not), and writes into an OUT_DIR it owns but for
 * f_ro/ (root's, 0555). Each of those gives a failed record that says
 * "Permission denied"; every other image is thumbnailed. */
static void test_unreadable_and_unwritable(void **state)
{
    (void)state;
    if (geteuid() == 0 && !e2e_setpriv_path()) {
        test_skip("setpriv (util-linux) not found: cannot drop root");
    }
    begin_checks();
    char root[PATH_MAX], in[PATH_MAX], outroot[PATH_MAX], out[PATH_MAX], rep[PATH_MAX],
        log[PATH_MAX], p[PATH_MAX];
    tpath(root, sizeof root, "d");
    tpath(in, sizeof in, "d/in");
    tpath(outroot, sizeof outroot, "d/outroot");
    tpath(out, sizeof out, "d/outroot/out");
    tpath(rep, sizeof rep, "d/outroot/report.jsonl");
    tpath(log, sizeof log, "d/outroot/log.txt");
    static const char *const dirs[] = {"c_locked", "d_noexec", "e_sub", "f_ro"};
    for (int i = 0; i < 4; i++) {
        PF(p, "%s/%s", in, dirs[i]);
        mkdir_p(p, 0755);
    }
    static const char *const imgs[] = {"a_good.jpg", "b_secret.jpg", "c_locked/img.jpg",
                                       "d_noexec/img.jpg", "e_sub/img.jpg", "f_ro/img.jpg",
                                       "z_last.jpg"};
    for (int i = 0; i < 7; i++) {
        PF(p, "%s/%s", in, imgs[i]);
        write_jpeg(p, 160, 120, false, (unsigned)i);
    }
    mkdir_p(out, 0755);
    PF(p, "%s/f_ro", out);
    mkdir_p(p, 0555);
    chmod(p, 0555);
    if (geteuid() == 0) {
        assert_int_equal(chown(outroot, NOBODY, NOBODY), 0);
        assert_int_equal(chown(out, NOBODY, NOBODY), 0);
    }
    PF(p, "%s/b_secret.jpg", in);
    chmod(p, 0);
    PF(p, "%s/c_locked", in);
    chmod(p, 0);
    PF(p, "%s/d_noexec", in);
    chmod(p, 0444);
    chmod(root, 0755);

    spawn_opts o = {.as_nobody = true};
    if (geteuid() == 0) {
        /* can this system run a program as 65534? */
        const char *probe[] = {"--version", NULL};
        char plog[PATH_MAX];
        tpath(plog, sizeof plog, "d/probe.txt");
        if (run_thumbd(&o, plog, probe) != 0) {
            test_skip("setpriv cannot run thumbd as uid 65534 here");
        }
    }
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    check_exit(code, "permissions");
    CHECK(code == 1, "exit %d, want 1", code);
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0, "%d bad report lines", r.bad);
    static const char *const good[] = {"a_good.jpg", "e_sub/img.jpg", "z_last.jpg"};
    for (int i = 0; i < 3; i++) {
        const rec *x = e2e_report_find(&r, good[i], NULL);
        CHECK(e2e_is(x, "ok"), "%s: %s %s", good[i], x ? e2e_str(x, "status") : "no record",
              errof(x));
    }
    /* each denied thing: a failed record at the path or under it */
    static const char *const denied[] = {"b_secret.jpg", "c_locked", "d_noexec", "f_ro/img.jpg"};
    for (int i = 0; i < 4; i++) {
        const rec *hit = NULL;
        size_t k = strlen(denied[i]);
        for (int j = 0; j < r.n && !hit; j++)
            if (!strncmp(e2e_str(&r.v[j], "src"), denied[i], k) &&
                (!e2e_str(&r.v[j], "src")[k] || e2e_str(&r.v[j], "src")[k] == '/'))
                hit = &r.v[j];
        printf("  %s: %s %s\n", denied[i], hit ? e2e_str(hit, "src") : "no record",
               hit ? errof(hit) : "");
        CHECK(e2e_is(hit, "failed"), "%s: %s, want a failed record", denied[i],
              hit ? e2e_str(hit, "status") : "no record");
        CHECK(hit && e2e_str(hit, "error") && strcasestr(e2e_str(hit, "error"), "permission"),
              "%s: error \"%s\" does not say permission was denied", denied[i], errof(hit));
    }
    check_no_temps(out, "permissions");
    e2e_report_free(&r);
    PF(p, "%s/c_locked", in);
    chmod(p, 0755);
    PF(p, "%s/d_noexec", in);
    chmod(p, 0755);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (e) out of space, file-size limit                                          */

typedef struct saved {
    char rel[64];
    uint8_t *d;
    size_t n;
} saved;

/* The images of the write-failure tests: flat ones (small thumbnails) and
 * noisy ones (large), in in/ and in/sub/. */
static const char *const E_IMGS[] = {"flat1.jpg", "flat2.jpg", "noise1.jpg", "noise2.jpg",
                                     "sub/noise3.jpg", "sub/flat3.jpg"};

enum { N_E = sizeof E_IMGS / sizeof E_IMGS[0] };

static void make_e_input(const char *in)
{
    char p[PATH_MAX];
    PF(p, "%s/sub", in);
    mkdir_p(p, 0755);
    for (int i = 0; i < N_E; i++) {
        PF(p, "%s/%s", in, E_IMGS[i]);
        write_jpeg(p, 640, 480, strstr(E_IMGS[i], "noise") != NULL, (unsigned)i + 1);
    }
}

/* After a run whose writes fail part-way: every failed record has a message;
 * a failed source's earlier thumbnail is byte-identical (or absent if it had
 * none); every file at a final name is complete; no temporary files. */
static void check_after_write_faults(const char *what, const char *out, const char *rep,
                                     const saved *earlier, int nearlier, const char *new_src,
                                     int *nfailed)
{
    report r;
    report_load(rep, &r);
    CHECK(r.bad == 0, "%s: %d bad report lines", what, r.bad);
    *nfailed = 0;
    for (int i = 0; i < r.n; i++) {
        const rec *x = &r.v[i];
        printf("  %s: %s %s\n", e2e_str(x, "src"), e2e_str(x, "status"),
               e2e_str(x, "error") ? e2e_str(x, "error") : "");
        if (e2e_is(x, "failed")) {
            (*nfailed)++;
            CHECK(e2e_str(x, "error") && (strcasestr(e2e_str(x, "error"), "space") ||
                                          strcasestr(e2e_str(x, "error"), "large") ||
                                          strcasestr(e2e_str(x, "error"), "limit") ||
                                          strcasestr(e2e_str(x, "error"), "write")),
                  "%s: %s: error \"%s\" does not say the write failed", what, e2e_str(x, "src"),
                  errof(x));
        } else {
            CHECK(e2e_is(x, "ok"), "%s: %s: %s", what, e2e_str(x, "src"), e2e_str(x, "status"));
        }
        /* the thumbnail a failed source had before is intact */
        char stem[PATH_MAX];
        PF(stem, "%s", e2e_str(x, "src"));
        *strrchr(stem, '.') = '\0';
        for (int k = 0; k < nearlier; k++) {
            char want[PATH_MAX + 8];
            PF(want, "%s.jpg", stem);
            if (strcmp(earlier[k].rel, want) || !e2e_is(x, "failed"))
                continue;
            char p[PATH_MAX * 2];
            PF(p, "%s/%s", out, earlier[k].rel);
            CHECK(same_bytes(p, earlier[k].d, earlier[k].n),
                  "%s: %s failed, and its earlier thumbnail %s is not intact", what,
                  e2e_str(x, "src"), earlier[k].rel);
        }
        if (new_src && !strcmp(e2e_str(x, "src"), new_src) && e2e_is(x, "failed")) {
            char p[PATH_MAX * 2];
            PF(p, "%s/%s.jpg", out, stem);
            CHECK(access(p, F_OK) != 0, "%s: %s failed, yet %s.jpg exists", what, e2e_str(x, "src"),
                  stem);
        }
    }
    e2e_report_free(&r);
    check_all_complete(out, what);
    check_no_temps(out, what);
}

/* Runs thumbd on in/ into out/ with --size 100x100 and keeps a copy of
 * every thumbnail (the "earlier thumbnails"). */
static int make_earlier(const char *in, const char *out, const char *tag, saved *keep)
{
    char rep[PATH_MAX], log[PATH_MAX];
    tpath(rep, sizeof rep, "%s/report0.jsonl", tag);
    tpath(log, sizeof log, "%s/log0.txt", tag);
    const char *args[] = {"--size", "100x100", "--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    assert_int_equal(code, 0);
    int n = 0;
    for (int i = 0; i < N_E; i++) {
        snprintf(keep[n].rel, sizeof keep[n].rel, "%.*s.jpg", (int)(strlen(E_IMGS[i]) - 4),
                 E_IMGS[i]);
        char p[PATH_MAX * 2];
        PF(p, "%s/%s", out, keep[n].rel);
        assert_true(read_file(p, &keep[n].d, &keep[n].n) == 0);
        n++;
    }
    return n;
}

/* RLIMIT_FSIZE of 12 KiB in thumbd's process, on an OUT_DIR that holds
 * 100x100 thumbnails of every source: the 200x200 thumbnails of the noisy
 * images do not fit. thumbd must ignore SIGXFSZ (else it dies by it) and
 * report the failed writes; the flat images' thumbnails fit. A new source
 * (no earlier thumbnail) that fails leaves nothing at its final name. */
static void test_file_size_limit(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e1/in");
    tpath(out, sizeof out, "e1/out");
    tpath(rep, sizeof rep, "e1/report.jsonl");
    tpath(log, sizeof log, "e1/log.txt");
    make_e_input(in);
    saved earlier[N_E];
    int ne = make_earlier(in, out, "e1", earlier);
    PF(p, "%s/new_noise.jpg", in);
    write_jpeg(p, 640, 480, true, 99);

    spawn_opts o = {.fsize_limit = FSIZE_LIMIT};
    const char *args[] = {"--force", "--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    CHECK(code != 128 + SIGXFSZ,
          "thumbd was killed by SIGXFSZ: it does not ignore the signal, so a write past "
          "ulimit -f kills the whole run");
    check_exit(code, "ulimit -f");
    CHECK(code == 1, "exit %d, want 1 (some writes failed)", code);
    int failed = 0;
    check_after_write_faults("ulimit -f", out, rep, earlier, ne, "new_noise.jpg", &failed);
    CHECK(failed >= 4, "%d failed records, want at least the 4 noisy images", failed);
    for (int i = 0; i < ne; i++)
        free(earlier[i].d);
    end_checks();
}

/* RLIMIT_FSIZE of 64 bytes: no thumbnail fits, nor the report, nor the state
 * file thumbd's main thread writes at the end (~100 bytes: its second write
 * starts at the limit, which raises SIGXFSZ in that thread, whose mask lets
 * the signal through; the worker threads block every signal). thumbd must
 * ignore SIGXFSZ, end with a failure code, and leave no partial file. */
static void test_tiny_file_size_limit(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e3/in");
    tpath(out, sizeof out, "e3/out");
    tpath(rep, sizeof rep, "e3/report.jsonl");
    tpath(log, sizeof log, "e3/log.txt");
    mkdir_p(in, 0755);
    for (int i = 0; i < 3; i++) {
        PF(p, "%s/img%d.jpg", in, i);
        write_jpeg(p, 320, 240, false, (unsigned)i);
    }
    spawn_opts o = {.fsize_limit = 64};
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    CHECK(code != 128 + SIGXFSZ,
          "thumbd was killed by SIGXFSZ: a write past ulimit -f kills the whole run");
    check_exit(code, "ulimit -f 64 bytes");
    CHECK(code == 1 || code == 3, "exit %d, want 1 or 3 (nothing could be written)", code);
    check_all_complete(out, "ulimit -f 64 bytes");
    check_no_temps(out, "ulimit -f 64 bytes");
    names l = {0};
    list_sorted(out, &l);
    for (int i = 0; i < l.n; i++)
        CHECK(!has_ext(l.v[i], ".jpg") && !has_ext(l.v[i], ".png"),
              "a thumbnail %s was written past a 64-byte file-size limit", l.v[i]);
    strlist_free(&l);
    end_checks();
}

/* RLIMIT_FSIZE of 8 KiB: 60 small thumbnails (~2.7 KB each) fit, their
 * report (~20 KB) does not. A run that could not record every image (README:
 * "Every image the scanner found gets exactly one record") must not exit 0
 * as if all were well, and must say the report is incomplete. */
static void test_report_cut_short_is_not_success(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(in, sizeof in, "e4/in");
    tpath(out, sizeof out, "e4/out");
    tpath(rep, sizeof rep, "e4/report.jsonl");
    tpath(log, sizeof log, "e4/log.txt");
    mkdir_p(in, 0755);
    PF(p, "%s/img00.jpg", in);
    write_jpeg(p, 256, 256, false, 3);
    uint8_t *d;
    size_t n;
    assert_true(read_file(p, &d, &n) == 0);
    for (int i = 1; i < 60; i++) {
        PF(p, "%s/img%02d.jpg", in, i);
        write_file(p, d, n);
    }
    free(d);
    spawn_opts o = {.fsize_limit = 8192};
    const char *args[] = {"--report", rep, in, out, NULL};
    int code = run_thumbd(&o, log, args);
    check_exit(code, "report past ulimit -f");
    report r;
    report_load(rep, &r);
    printf("  %d complete records of 60 in the report; exit %d\n", r.n, code);
    if (r.n < 60) {
        CHECK(code != 0, "the report lost %d of 60 records, yet thumbd exited 0", 60 - r.n);
        uint8_t *lg;
        size_t ln;
        bool said = read_file(log, &lg, &ln) == 0;
        if (said) {
            lg = realloc(lg, ln + 1);
            assert_non_null(lg);
            lg[ln] = '\0';
            said = strcasestr((char *)lg, "report") != NULL;
            free(lg);
        }
        CHECK(said, "nothing on stderr says the report is incomplete");
    }
    check_all_complete(out, "report past ulimit -f");
    check_no_temps(out, "report past ulimit -f");
    e2e_report_free(&r);
    end_checks();
}

/* OUT_DIR on a 200 KiB tmpfs that is nearly full (16 KiB left), holding
 * 100x100 thumbnails of every source: writes fail with ENOSPC part-way.
 * Skipped where mounting is not permitted. */
static void test_disk_full_tmpfs(void **state)
{
    (void)state;
    char mnt[PATH_MAX], in[PATH_MAX], out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    tpath(mnt, sizeof mnt, "e2/mnt");
    tpath(in, sizeof in, "e2/in");
    tpath(rep, sizeof rep, "e2/report.jsonl");
    tpath(log, sizeof log, "e2/log.txt");
    PF(out, "%s/out", mnt);
    mkdir_p(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=200k,mode=0755") != 0) {
        printf("  mount -t tmpfs: %s\n", strerror(errno));
        test_skip("mount -t tmpfs not permitted here");
    }
    begin_checks();
    make_e_input(in);
    saved earlier[N_E];
    int ne = make_earlier(in, out, "e2", earlier);
    PF(p, "%s/new_noise.jpg", in);
    write_jpeg(p, 640, 480, true, 99);
    /* fill the tmpfs, then free 16 KiB */
    char filler[PATH_MAX];
    PF(filler, "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static uint8_t block[4096];
    off_t size = 0;
    while (write(fd, block, sizeof block) == (ssize_t)sizeof block)
        size += (off_t)sizeof block;
    assert_int_equal(ftruncate(fd, size > 16384 ? size - 16384 : 0), 0);
    close(fd);

    const char *args[] = {"--force", "--report", rep, in, out, NULL};
    int code = run_thumbd(NULL, log, args);
    check_exit(code, "tmpfs full");
    CHECK(code == 1, "exit %d, want 1 (some writes failed)", code);
    int failed = 0;
    check_after_write_faults("tmpfs full", out, rep, earlier, ne, "new_noise.jpg", &failed);
    CHECK(failed >= 1, "no write failed on a full filesystem");
    for (int i = 0; i < ne; i++)
        free(earlier[i].d);
    if (umount2(mnt, MNT_DETACH) != 0)
        printf("  umount %s: %s\n", mnt, strerror(errno));
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* (g) a source that changes while it is read                                 */

/* A 4000x4000 PNG is being decoded (thumbd has it open): the test stops
 * thumbd (SIGSTOP), appends 4 KiB to the file, and lets it go on. The file
 * changed while it was read: its record must be failed, saying so, with no
 * thumbnail (README: "A source that changes while it is read is reported,
 * not thumbnailed"). If the decode ends before the test sees the file open,
 * it tries again (3 times), then skips. */
static void test_changed_while_read(void **state)
{
    (void)state;
    char in[PATH_MAX], src[PATH_MAX], real[PATH_MAX];
    tpath(in, sizeof in, "g/in");
    mkdir_p(in, 0755);
    PF(src, "%s/big.png", in);
    write_big_png(src, 4000, 4000);
    assert_non_null(realpath(src, real));
    for (int attempt = 1; attempt <= 3; attempt++) {
        char out[PATH_MAX], rep[PATH_MAX], log[PATH_MAX];
        tpath(out, sizeof out, "g/out%d", attempt);
        tpath(rep, sizeof rep, "g/report%d.jsonl", attempt);
        tpath(log, sizeof log, "g/log%d.txt", attempt);
        /* --retries 0: the change itself must be seen (with retries, the
         * next attempt reads the file as it is now: see test_sched).
         * --isolation thread: the file is watched open in thumbd's own
         * process (a worker process runs the same check). */
        const char *args[] = {"--retries", "0", "--isolation", "thread", "--report", rep, in, out,
                              NULL};
        proc pr = start(NULL, log, args);
        bool caught = false;
        while (now_s() - pr.ch.t0 < 20) {
            if (has_open(pr.ch.pid, real)) {
                kill(pr.ch.pid, SIGSTOP);
                caught = has_open(pr.ch.pid, real);
                if (caught) {
                    int fd = open(src, O_WRONLY | O_APPEND);
                    static const uint8_t junk[4096];
                    assert_true(fd >= 0);
                    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
                    close(fd);
                }
                kill(pr.ch.pid, SIGCONT);
                break;
            }
            if (ended(&pr))
                break;
            struct timespec nap = {0, 100 * 1000};
            nanosleep(&nap, NULL);
        }
        if (pr.ch.pid > 0)
            finish(&pr, RUN_TIMEOUT_S);
        if (!caught) {
            printf("  attempt %d: the decode ended before the file was seen open\n", attempt);
            continue;
        }
        begin_checks();
        check_exit(pr.code, "changed while read");
        CHECK(pr.code == 1, "exit %d, want 1", pr.code);
        report r;
        report_load(rep, &r);
        const rec *x = e2e_report_find(&r, "big.png", NULL);
        printf("  big.png, appended to while read: %s %s\n", x ? e2e_str(x, "status") : "no record",
               errof(x));
        CHECK(e2e_is(x, "failed"), "big.png changed while read: %s, want failed",
              x ? e2e_str(x, "status") : "no record");
        CHECK(x && e2e_str(x, "error") &&
                  (strcasestr(e2e_str(x, "error"), "chang") ||
                   strcasestr(e2e_str(x, "error"), "modif")),
              "big.png: error \"%s\" does not say the file changed", errof(x));
        char o1[PATH_MAX + 16];
        PF(o1, "%s/big.jpg", out);
        CHECK(access(o1, F_OK) != 0, "big.png changed while read, yet big.jpg was written");
        e2e_report_free(&r);
        end_checks();
        return;
    }
    test_skip("could not catch thumbd reading the file");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_files_not_opened),
        cmocka_unit_test(test_unreadable_and_unwritable),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_tiny_file_size_limit),
        cmocka_unit_test(test_report_cut_short_is_not_success),
        cmocka_unit_test(test_disk_full_tmpfs),
        cmocka_unit_test(test_changed_while_read),
    };
    return fsfaults_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
