/* End-to-end tests of the libvips engine, part 2: limits, error isolation,
 * untrusted loaders closed, cancellation, memory (helpers: vips_util.h). */
#include "vips_util.h"

static int count_status(const report *rep, const char *status)
{
    int n = 0;
    for (int i = 0; i < rep->n; i++)
        n += !strcmp(rep->v[i].status, status);
    return n;
}

/* ------------------------------------------------------------------------ */
/* 4. Limits and bad files on the libvips path                               */

static void check_failed(const char *tag, const report *rep, const char *src, const char *needle)
{
    const rec *r = find_rec(rep, src);
    CHECK(r != NULL, "[%s] %s: no record", tag, src);
    if (!r)
        return;
    printf("    %-14s %-7s %s\n", src, r->status, r->error);
    CHECK(!strcmp(r->status, "failed"), "[%s] %s: status %s, want failed", tag, src, r->status);
    CHECK(r->out_null, "[%s] %s: out is not null", tag, src);
    CHECK(strstr(r->error, needle) != NULL, "[%s] %s: error '%s' does not mention '%s'", tag, src,
          r->error, needle);
}

/* A failure that libvips diagnosed: libvips's own text (its messages read
 * "domain: what", e.g. "webp: unable to parse image", "tiff2vips: read
 * error"), naming the format if given (a file no loader recognises gets
 * "VipsImage: unable to load source"), not "unknown error". */
static void check_vips_failed(const char *tag, const report *rep, const char *src,
                              const char *format)
{
    check_failed(tag, rep, src, "");
    const rec *r = find_rec(rep, src);
    if (!r)
        return;
    const char *colon = strstr(r->error, ": ");
    CHECK(colon && strlen(colon + 2) > 3 && (!format || strcasestr(r->error, format)) &&
              !strstr(r->error, "unknown error"),
          "[%s] %s: error '%s' is not a libvips diagnostic%s%s", tag, src, r->error,
          format ? " naming " : "", format ? format : "");
    /* libvips's error buffer is per thread and only ever appended to: a
     * message left there by an earlier image must not show up here. */
    CHECK(!strstr(r->error, "vips_image_get:"),
          "[%s] %s: error '%s' carries stale libvips messages", tag, src, r->error);
}

/* test_limits' sources over the limits: 1.2 megapixels (WebP, PNG), five frames. */
static void write_over_limits(const char *in)
{
    char p[PATH_MAX];
    VipsImage *im;
    /* 1.2 megapixels, over --max-pixels 1M. */
    im = quad_image(1200, 1000, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "big.webp");
    SAVE(im, vips_webpsave(im, p, "Q", 80, NULL));
    im = quad_image(1200, 1000, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "big_png.png");
    SAVE(im, vips_pngsave(im, p, NULL));
    /* Five frames, over --max-frames 2. */
    {
        const rgba c[5] = {Q_OPAQUE[0], Q_OPAQUE[1], Q_OPAQUE[2], MAGENTA, CYAN};
        VipsImage *pg[5];
        for (int i = 0; i < 5; i++)
            pg[i] = solid_image(64, 64, c[i], 3);
        im = join_pages(pg, 5);
        path_in(p, sizeof p, in, "five.gif");
        SAVE(im, vips_gifsave(im, p, NULL));
    }
}

/* test_limits' damaged sources: a truncated WebP, a TIFF of garbage deflate
 * data and one whose IFD lies past its end. */
static void write_damaged(const char *in)
{
    char p[PATH_MAX];
    VipsImage *im;
    /* A WebP cut in the middle of its image data. */
    {
        void *buf;
        size_t len;
        im = photo_image(400, 300, 9);
        if (vips_webpsave_buffer(im, &buf, &len, "Q", 80, NULL))
            vips_die("vips_webpsave_buffer");
        g_object_unref(im);
        path_in(p, sizeof p, in, "truncated.webp");
        write_file(p, buf, len / 2);
        g_free(buf);
    }
    /* A TIFF whose deflate data is garbage, and one whose first IFD lies past
     * the end of the file. */
    {
        void *buf;
        size_t len;
        im = photo_image(400, 300, 10);
        if (vips_tiffsave_buffer(im, &buf, &len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                                 NULL))
            vips_die("vips_tiffsave_buffer");
        g_object_unref(im);
        uint8_t *d = buf;
        /* libtiff writes the strips first, the IFD at the end. */
        for (size_t i = 16; i < len / 2; i++)
            d[i] = (uint8_t)(hash3((unsigned)i, 1, 2) & 0xFF);
        path_in(p, sizeof p, in, "corrupt.tif");
        write_file(p, d, len);
        g_free(buf);
        static const uint8_t bad_ifd[16] = {'I', 'I', 42, 0, 0x00, 0x00, 0x10, 0x00,
                                            1,   2,   3,  4, 5,    6,    7,    8};
        path_in(p, sizeof p, in, "bad_ifd.tif");
        write_file(p, bad_ifd, sizeof bad_ifd);
    }
}

/* test_limits' good sources: the rest of the batch. */
static void write_good(const char *in)
{
    char p[PATH_MAX];
    VipsImage *im;
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_webp.webp");
    SAVE(im, vips_webpsave(im, p, "Q", 90, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_tif.tif");
    SAVE(im, vips_tiffsave(im, p, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_gif.gif");
    SAVE(im, vips_gifsave(im, p, NULL));
    im = quad_image(400, 300, Q_OPAQUE, 3);
    path_in(p, sizeof p, in, "good_jpg.jpg");
    SAVE(im, vips_jpegsave(im, p, NULL));
}

/* The run with --max-pixels 1M --max-frames 2: the limited and damaged
 * sources fail, the good ones are thumbnailed. */
static void run_with_limits(const char *in, const char *const *good, size_t ngood)
{
    const char *tag = "limits";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {"--engine", "vips", "--max-pixels", "1M", "--max-frames", "2", NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    CHECK(rep.n == 10, "[%s] %d records, want 10", tag, rep.n);
    check_failed(tag, &rep, "big.webp", "--max-pixels");
    check_failed(tag, &rep, "big_png.png", "--max-pixels");
    check_failed(tag, &rep, "five.gif", "--max-frames");
    check_vips_failed(tag, &rep, "truncated.webp", "webp");
    check_vips_failed(tag, &rep, "corrupt.tif", "tiff");
    check_vips_failed(tag, &rep, "bad_ifd.tif", NULL);
    for (size_t i = 0; i < ngood; i++) {
        const rec *r = ok_rec(tag, &rep, good[i]);
        if (!r)
            continue;
        char fp[PATH_MAX * 2];
        path_in(fp, sizeof fp, out, r->out);
        pix px;
        if (pix_load(fp, &px)) {
            char what[600];
            snprintf(what, sizeof what, "[%s] %s", tag, good[i]);
            check_quadrants(what, &px, Q_OPAQUE, TOL_LOSSY);
            pix_free(&px);
        } else {
            CHECK(false, "[%s] %s: unreadable thumbnail", tag, good[i]);
        }
    }
    CHECK(count_status(&rep, "ok") == 4, "[%s] %d ok, want 4", tag, count_status(&rep, "ok"));
    free_report(&rep);
}

/* Without the limits, the big ones and the animation are fine: the limit
 * was what refused them. */
static void run_without_limits(const char *in)
{
    const char *tag = "limits-off";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {"--engine", "vips", NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    ok_rec(tag, &rep, "big.webp");
    ok_rec(tag, &rep, "big_png.png");
    ok_rec(tag, &rep, "five.gif");
    CHECK(count_status(&rep, "failed") == 3, "[%s] %d failed, want 3 (the bad files)", tag,
          count_status(&rep, "failed"));
    free_report(&rep);
}

static void test_limits(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX];
    make_dir(in, sizeof in, "limits");
    write_over_limits(in);
    write_damaged(in);
    write_good(in);
    static const char *const good[] = {"good_webp.webp", "good_tif.tif", "good_gif.gif", "good_jpg.jpg"};
    run_with_limits(in, good, sizeof good / sizeof good[0]);
    run_without_limits(in);
    end_checks();
}

/* libvips 8.14 keeps one error buffer for the whole process, so the text a
 * failed task reports can be wiped ("unknown error") or mixed up by another
 * worker's. With two workers over a run of corrupt TIFFs (they fail while
 * decoding, side by side), then truncated WebPs, then good files, every
 * failed record must carry its own file's diagnostic: libtiff's for a TIFF,
 * the WebP loader's for a WebP, never the other's, never "unknown error".
 * (Measured with libvips 8.14.1: 8 to 35 of the 120 records wrong.) */
static void test_error_isolation(void **state)
{
    (void)state;
    begin_checks();
    enum { NTIFF = 80, NWEBP = 40, NGOOD = 20 };
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "errors");
    void *webp, *tiff, *good;
    size_t webp_len, tiff_len, good_len;
    VipsImage *im = photo_image(400, 300, 11);
    if (vips_webpsave_buffer(im, &webp, &webp_len, "Q", 80, NULL) ||
        vips_tiffsave_buffer(im, &tiff, &tiff_len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                             NULL) ||
        vips_webpsave_buffer(im, &good, &good_len, "Q", 60, NULL))
        vips_die("error isolation inputs");
    g_object_unref(im);
    uint8_t *t = tiff;
    for (size_t i = 16; i < tiff_len / 2; i++)
        t[i] = (uint8_t)(hash3((unsigned)i, 3, 4) & 0xFF);
    char name[32];
    for (int i = 0; i < NTIFF; i++) {
        snprintf(name, sizeof name, "a%03d.tif", i);
        path_in(p, sizeof p, in, name);
        write_file(p, tiff, tiff_len);
    }
    for (int i = 0; i < NWEBP; i++) {
        snprintf(name, sizeof name, "b%03d.webp", i);
        path_in(p, sizeof p, in, name);
        write_file(p, webp, webp_len / 2);
    }
    for (int i = 0; i < NGOOD; i++) {
        snprintf(name, sizeof name, "c%03d.webp", i);
        path_in(p, sizeof p, in, name);
        write_file(p, good, good_len);
    }
    g_free(webp);
    g_free(tiff);
    g_free(good);

    const char *tag = "errors";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {"-j", "2", NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    CHECK(rep.n == NTIFF + NWEBP + NGOOD, "[%s] %d records, want %d", tag, rep.n,
          NTIFF + NWEBP + NGOOD);
    int wrong = 0;
    for (int i = 0; i < rep.n; i++) {
        const rec *r = &rep.v[i];
        if (r->src[0] == 'c') {
            CHECK(!strcmp(r->status, "ok"), "[%s] %s: status %s (%s), want ok", tag, r->src,
                  r->status, r->error);
            continue;
        }
        bool is_tiff = r->src[0] == 'a';
        bool own = is_tiff ? strcasestr(r->error, "tiff") && !strcasestr(r->error, "webp")
                           : strcasestr(r->error, "webp") && !strcasestr(r->error, "tiff");
        bool ok = !strcmp(r->status, "failed") && own && !strstr(r->error, "unknown error") &&
                  !strstr(r->error, "vips_image_get:");
        if (!ok && ++wrong <= 5)
            CHECK(false, "[%s] %s: %s '%s' is not its own diagnostic", tag, r->src, r->status,
                  r->error);
    }
    printf("  %d of %d failed records carry another file's or no libvips diagnostic\n", wrong,
           NTIFF + NWEBP);
    CHECK(wrong == 0, "[%s] %d records with a wrong diagnostic (first 5 shown)", tag, wrong);
    free_report(&rep);
    end_checks();
}

/* A file whose content only one of libvips's untrusted loaders reads (a
 * PPM, a Radiance HDR) under a name thumbd hands to libvips is refused with
 * a message that says so; SVG, untrusted in libvips but a format thumbd
 * names, is still read. */
static void test_untrusted_loaders_closed(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "untrusted");
    static const char ppm[] = "P3\n2 2\n255\n255 0 0 0 255 0 0 0 255 255 255 255\n";
    static const char rad[] = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n"
                              "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80";
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg' width='300' height='200'>"
                              "<rect width='300' height='200' fill='#2060c0'/></svg>\n";
    path_in(p, sizeof p, in, "ppm.tif");
    write_file(p, ppm, sizeof ppm - 1);
    path_in(p, sizeof p, in, "rad.gif");
    write_file(p, rad, sizeof rad - 1);
    path_in(p, sizeof p, in, "logo.svg");
    write_file(p, svg, sizeof svg - 1);
    const char *tag = "untrusted";
    char out[PATH_MAX], rp[PATH_MAX];
    out_dir(out, sizeof out, tag);
    snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
    const char *opts[] = {NULL};
    runres rr = run_thumbd(tag, opts, in, out, rp);
    check_exit(tag, rr, 1);
    report rep;
    load_report(rp, &rep);
    CHECK(rep.n == 3, "[%s] %d records, want 3", tag, rep.n);
    for (int i = 0; i < rep.n; i++) {
        const rec *r = &rep.v[i];
        if (!strcmp(r->src, "logo.svg")) {
            CHECK(!strcmp(r->status, "ok"), "[%s] logo.svg: %s (%s), want ok", tag, r->status, r->error);
            continue;
        }
        CHECK(!strcmp(r->status, "failed") && strstr(r->error, "closed to untrusted files"),
              "[%s] %s: %s '%s', want failed as untrusted", tag, r->src, r->status, r->error);
        path_in(p, sizeof p, out, !strcmp(r->src, "ppm.tif") ? "ppm.jpg" : "rad.jpg");
        CHECK(file_size(p) < 0, "[%s] %s has a thumbnail", tag, r->src);
    }
    free_report(&rep);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 5. Cancellation                                                           */

/* 8000x8000 RGB, LZW: a texture ((x * x + 13 * y) mod 251) that LZW
 * compresses poorly, so that the task takes most of a second. Made lazily by
 * libvips from coordinates, never all in memory. */
static void make_big_tiff(const char *path)
{
    VipsImage *xy, *x, *y, *xx, *y13, *sum, *mod, *u, *rgb, *im;
    double a = 13, b = 0;
    if (vips_xyz(&xy, 8000, 8000, NULL) || vips_extract_band(xy, &x, 0, NULL) ||
        vips_extract_band(xy, &y, 1, NULL) || vips_multiply(x, x, &xx, NULL) ||
        vips_linear(y, &y13, &a, &b, 1, NULL) || vips_add(xx, y13, &sum, NULL) ||
        vips_remainder_const1(sum, &mod, 251, NULL) || vips_cast_uchar(mod, &u, NULL))
        vips_die("big TIFF pipeline");
    VipsImage *three[3] = {u, u, u};
    if (vips_bandjoin(three, &rgb, 3, NULL) ||
        vips_copy(rgb, &im, "interpretation", VIPS_INTERPRETATION_sRGB, NULL))
        vips_die("big TIFF pipeline");
    VipsImage *parts[] = {xy, x, y, xx, y13, sum, mod, u, rgb};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        g_object_unref(parts[i]);
    SAVE(im, vips_tiffsave(im, path, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_LZW, NULL));
}

/* --task-timeout on the libvips path: docs/stopping.md ("Decoders poll the
 * task's cancellation token ... a cancelled task stops within milliseconds")
 * and vipsengine.h ("The token stops it through the image's kill flag"). The
 * budget is 50 ms; the task must stop by itself (not be abandoned) within
 * CANCEL_SLACK_MS of it: the latency itself (2-15 ms after the budget) is
 * measured by bench/cancel.sh, not here, since another test running beside
 * this one on a 2-core machine can delay the stop by tens of milliseconds.
 * The same image without a timeout shows how long the undisturbed task takes
 * (550-1600 ms measured), which must be well above budget + slack for the
 * check to mean anything. */
enum { CANCEL_BUDGET_MS = 50, CANCEL_SLACK_MS = 400 };

static void test_cancel(void **state)
{
    (void)state;
    begin_checks();
    char in[PATH_MAX], p[PATH_MAX];
    make_dir(in, sizeof in, "cancel");
    path_in(p, sizeof p, in, "big.tif");
    double t0 = now_s();
    make_big_tiff(p);
    printf("  big.tif: 8000x8000 LZW TIFF, made in %.1f s\n", now_s() - t0);

    static const struct {
        const char *tag;
        const char *opts[8];
        bool timeout;
    } runs[] = {
        {"cancel-none", {"--engine", "vips", NULL}, false},
        {"cancel-cover", {"--engine", "vips", "--task-timeout", "0.05", NULL}, true},
        {"cancel-inside", {"--engine", "vips", "--fit", "inside", "--task-timeout", "0.05", NULL}, true},
    };
    double undisturbed = -1;
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *tag = runs[k].tag;
        char out[PATH_MAX], rp[PATH_MAX];
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        runres rr = run_thumbd(tag, runs[k].opts, in, out, rp);
        check_exit(tag, rr, runs[k].timeout ? 1 : 0);
        report rep;
        load_report(rp, &rep);
        const rec *r = find_rec(&rep, "big.tif");
        CHECK(r != NULL, "[%s] big.tif: no record", tag);
        if (r) {
            printf("  [%s] %s, total_ms %.1f%s%s%s; run %.2f s\n", tag, r->status, r->total_ms,
                   *r->error ? " (" : "", r->error, *r->error ? ")" : "", rr.wall_s);
            if (!runs[k].timeout) {
                CHECK(!strcmp(r->status, "ok"), "[%s] big.tif: status %s (%s), want ok", tag,
                      r->status, r->error);
                undisturbed = r->total_ms;
                free_report(&rep);
                continue;
            }
            CHECK(!strcmp(r->status, "cancelled"), "[%s] big.tif: status %s, want cancelled", tag,
                  r->status);
            CHECK(strstr(r->error, "task timeout") && !strstr(r->error, "abandoned"),
                  "[%s] big.tif: error '%s', want a task timeout that stopped by itself", tag,
                  r->error);
            CHECK(r->total_ms > 0 && r->total_ms <= CANCEL_BUDGET_MS + CANCEL_SLACK_MS,
                  "[%s] big.tif: total_ms %.1f, want <= %d (budget %d ms + %d ms); the task "
                  "takes %.1f ms undisturbed",
                  tag, r->total_ms, CANCEL_BUDGET_MS + CANCEL_SLACK_MS, CANCEL_BUDGET_MS,
                  CANCEL_SLACK_MS, undisturbed);
            /* The whole run: start-up, libvips's start, the cancelled task. */
            CHECK(rr.wall_s < 2.0, "[%s] the run took %.2f s", tag, rr.wall_s);
        }
        free_report(&rep);
    }
    if (undisturbed >= 0 && undisturbed < 2 * (CANCEL_BUDGET_MS + CANCEL_SLACK_MS))
        printf("  note: big.tif takes only %.1f ms undisturbed: this machine is too fast for the "
               "check to be meaningful\n", undisturbed);
    end_checks();
}

/* ------------------------------------------------------------------------ */
/* 6. Memory over many files                                                 */

/* A tree of count names, hard links to a few distinct small WebPs. */
static void make_many(const char *dir, int count, const char *seeds_dir, int nseeds)
{
    char from[PATH_MAX + 32], to[PATH_MAX + 64];
    for (int i = 0; i < count; i++) {
        snprintf(from, sizeof from, "%s/seed%d.webp", seeds_dir, i % nseeds);
        snprintf(to, sizeof to, "%s/d%02d/f%05d.webp", dir, i / 250, i);
        if (i % 250 == 0) {
            char sub[PATH_MAX + 16];
            snprintf(sub, sizeof sub, "%s/d%02d", dir, i / 250);
            assert_int_equal(mkdir(sub, 0777), 0);
        }
        if (link(from, to) != 0)
            fail_msg("link %s: %s", to, strerror(errno));
    }
}

static void test_memory(void **state)
{
    (void)state;
    begin_checks();
    enum { NSEEDS = 6, SMALL = 500, LARGE = 3000 };
    char seeds[PATH_MAX], p[PATH_MAX];
    make_dir(seeds, sizeof seeds, "seeds");
    for (int i = 0; i < NSEEDS; i++) {
        VipsImage *im = photo_image(320 + 16 * i, 240, 20u + (unsigned)i);
        char name[32];
        snprintf(name, sizeof name, "seed%d.webp", i);
        path_in(p, sizeof p, seeds, name);
        SAVE(im, vips_webpsave(im, p, "Q", 80, NULL));
    }
    /* Under ASan, freed memory sits in a quarantine (256 MB by default) and
     * RSS grows with the number of allocations, whatever thumbd does: turn
     * the quarantine off for these runs. */
#if E2E_UNDER_ASAN
    static const char *const env[] = {"ASAN_OPTIONS=quarantine_size_mb=0",
                                      "ASAN_OPTIONS=thread_local_quarantine_size_kb=0", NULL};
#else
    static const char *const *const env = NULL;
#endif
    static const int counts[2] = {SMALL, LARGE};
    long rss[2] = {0, 0};
    double wall[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char tag[32], in[PATH_MAX], out[PATH_MAX], rp[PATH_MAX];
        snprintf(tag, sizeof tag, "mem%d", counts[k]);
        char name[32];
        snprintf(name, sizeof name, "many%d", counts[k]);
        make_dir(in, sizeof in, name);
        make_many(in, counts[k], seeds, NSEEDS);
        out_dir(out, sizeof out, tag);
        snprintf(rp, sizeof rp, "%s/%s.jsonl", g_tmp, tag);
        const char *opts[] = {"--engine", "vips", "-j", "2", NULL};
        runres rr = run_thumbd_env(tag, opts, in, out, rp, env);
        check_exit(tag, rr, 0);
        report rep;
        load_report(rp, &rep);
        CHECK(rep.n == counts[k] && count_status(&rep, "ok") == counts[k],
              "[%s] %d records, %d ok; want %d ok", tag, rep.n, count_status(&rep, "ok"), counts[k]);
        free_report(&rep);
        rss[k] = rr.maxrss_kb;
        wall[k] = rr.wall_s;
    }
    double lim = 1.3 * (double)rss[0] + 10 * 1024;
    printf("  peak RSS: %d files %.1f MB (%.1f s), %d files %.1f MB (%.1f s); limit %.1f MB\n",
           SMALL, rss[0] / 1024.0, wall[0], LARGE, rss[1] / 1024.0, wall[1], lim / 1024.0);
    CHECK(rss[0] > 0 && (double)rss[1] <= lim,
          "peak RSS grows with the number of files: %ld KiB for %d, %ld KiB for %d", rss[0], SMALL,
          rss[1], LARGE);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_isolation),
        cmocka_unit_test(test_untrusted_loaders_closed),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_memory),
    };
    return vips_util_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
