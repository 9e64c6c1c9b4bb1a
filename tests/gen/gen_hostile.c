/* thumbd_hostile OUTDIR: a corpus of hostile inputs for tests/test_hostile.c,
 * made here with libjpeg, libpng and zlib (nothing is downloaded; fixed seeds,
 * so the output is the same on every run).
 *
 * Layout (the test decides what it expects from the folder):
 *
 *   good/       valid images (baseline and progressive JPEG, RGB, grey and
 *               RGBA PNG): must be thumbnailed
 *   names/      valid images with hostile names: newlines, other control
 *               characters, bytes that are not UTF-8, leading dashes,
 *               printf conversions: must be thumbnailed
 *   wrongext/   a PNG named .jpg and a JPEG named .png (valid), text and HTML
 *               named .jpg/.png (must fail), notes.txt (not an image name)
 *   empty/      zero-length .jpg, .jpeg, .png
 *   truncated/  jpg/ a baseline JPEG cut at 40 offsets, png/ a PNG cut at 40
 *               offsets, prog/ a progressive JPEG cut at 12 offsets; every cut
 *               removes image data (none is in the last 64 bytes)
 *   bitflip/    copies with 1..4 flipped bits (jpg/ 20, png/ 20, prog/ 10):
 *               may decode or fail, must not crash
 *   huge/       a JPEG whose SOF says 60000x60000 and a PNG whose IHDR says
 *               100000x100000, each with a tiny body
 *   dims/       valid but extreme shapes: 300000x1 PNG, 30000x8 JPEG
 *   bomb/       idat_bomb.png: 10000x10000 8-bit grey (100 MB raw, within
 *               the default --max-pixels) whose IDAT inflates to 2 GiB of
 *               zeros (about 2 MB on disk); idat_exact.png: the same image
 *               with an honest stream (exactly the 100,010,000 bytes it
 *               needs); idat_bomb_2000.png / idat_exact_2000.png: the same
 *               pair at 2000x2000
 *   chunks/     PNG metadata attacks: a zTXt and an iCCP chunk that inflate
 *               to 2 GiB, 50000 tEXt chunks, a 1 MiB private chunk, a chunk
 *               whose length field says ~2 GiB in a file that ends early
 *   scans/      many_scans.jpg: 2048x2048 progressive JPEG with the longest
 *               scan script libjpeg's encoder accepts (2112 scans);
 *               dup_scans.jpg: the same plus 20000 copies of one of its scans
 *               (a decoder accepts repeats with a warning; libjpeg's encoder
 *               cannot write them)
 *   appflood/   app1_flood.jpg: a 64x64 JPEG behind 640 maximal APP1 markers
 *               (about 42 MB of metadata)
 *   deep/       200 nested directories with an image at levels 100 and 200
 *   deeplong/   200 nested directories with 32-byte names: the deepest image's
 *               path (about 6.4 KB) is longer than PATH_MAX
 *
 * A summary (scan counts, sizes) goes to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

enum {
    N_CUTS = 40,          /* truncation offsets per baseline JPEG / PNG */
    N_CUTS_PROG = 12,
    N_FLIPS = 20,         /* bit-flipped copies per baseline JPEG / PNG */
    N_FLIPS_PROG = 10,
    DEEP_LEVELS = 200,
    DUP_SCANS = 20000,    /* repeated scans appended to dup_scans.jpg */
    FLOOD_MARKERS = 640,  /* maximal APP1 segments in app1_flood.jpg */
    TEXT_CHUNKS = 50000,
};

/* 2 GiB of zeros behind every inflate bomb. */
static const uint64_t BOMB_BYTES = 2ull << 30;

/* ------------------------------------------------------------------------ */
/* Errors, buffers, files                                                     */

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("thumbd_hostile: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *nd = realloc(b->d, cap);
        if (!nd)
            die("out of memory (%zu bytes)", cap);
        b->d = nd;
        b->cap = cap;
    }
    if (n)
        memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void buf_u32be(buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, q, 4);
}

static void buf_free(buf *b)
{
    free(b->d);
    memset(b, 0, sizeof *b);
}

static int g_root = -1;   /* OUTDIR */

/* mkdir -p of rel's parent directories under dirfd. */
static void mkparents_at(int dirfd, const char *rel)
{
    char tmp[8192];
    if (strlen(rel) >= sizeof tmp)
        die("path too long: %s", rel);
    strcpy(tmp, rel);
    for (char *s = tmp; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdirat(dirfd, tmp, 0755) != 0 && errno != EEXIST)
            die("mkdir %s: %s", tmp, strerror(errno));
        *s = '/';
    }
}

static void write_at(int dirfd, const char *rel, const void *data, size_t n)
{
    mkparents_at(dirfd, rel);
    int fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("create %s: %s", rel, strerror(errno));
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("write %s: %s", rel, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0)
        die("close %s: %s", rel, strerror(errno));
}

static void write_file(const char *rel, const void *data, size_t n)
{
    write_at(g_root, rel, data, n);
}

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t g_rng = 0x7468756d62642121ull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ull;
}

/* ------------------------------------------------------------------------ */
/* Pixels                                                                     */

/* A smooth, colourful "photo" with a little texture: rows differ, and it
 * compresses like a real picture. */
static double sine(double a)   /* sin(a) from a table: the generator stays fast under ASan */
{
    enum { N = 4096 };
    static float tab[N];
    static bool ready;
    if (!ready) {
        for (int i = 0; i < N; i++)
            tab[i] = (float)sin(2.0 * M_PI * i / N);
        ready = true;
    }
    long i = lround(a * (N / (2.0 * M_PI))) % N;
    return tab[i < 0 ? i + N : i];
}

static uint8_t photo_px(int x, int y, int c, int w, int h)
{
    double fx = (double)x / w, fy = (double)y / h;
    double v;
    switch (c) {
    case 0: v = 128 + 100 * sine(fx * 9.0 + fy * 3.0); break;
    case 1: v = 128 + 100 * sine(fy * 7.0 - fx * 2.0 + M_PI / 2); break;
    default: v = 255 * fx * fy + 40 * sine((fx + fy) * 20.0); break;
    }
    v += (double)((unsigned)(x * 7 + y * 13) % 9) - 4.0;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* ------------------------------------------------------------------------ */
/* JPEG (libjpeg into memory)                                                 */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

typedef struct jpeg_job {
    int w, h, comps;              /* comps 1 (grey) or 3 (RGB input) */
    int quality;
    bool simple_progressive;      /* jpeg_simple_progression */
    const jpeg_scan_info *scans;  /* a custom scan script, or NULL */
    int nscans;
    /* out */
    unsigned char *mem;
    unsigned long len;
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

/* Encodes job; false (job->msg says why) if libjpeg refuses it. */
static bool jpeg_encode_job(jpeg_job *job)
{
    struct jpeg_compress_struct c;
    jerr e;
    memset(&e, 0, sizeof e);
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    job->mem = NULL;
    job->len = 0;
    uint8_t *row = malloc((size_t)job->w * 3);
    if (!row)
        die("out of memory");
    if (setjmp(e.jb)) {
        snprintf(job->msg, sizeof job->msg, "%s", e.msg);
        jpeg_destroy_compress(&c);
        free(job->mem);
        job->mem = NULL;
        free(row);
        return false;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &job->mem, &job->len);
    c.image_width = (JDIMENSION)job->w;
    c.image_height = (JDIMENSION)job->h;
    c.input_components = job->comps;
    c.in_color_space = job->comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, job->quality, TRUE);
    if (job->simple_progressive)
        jpeg_simple_progression(&c);
    if (job->scans) {
        c.scan_info = job->scans;
        c.num_scans = job->nscans;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < job->w; x++)
            for (int k = 0; k < job->comps; k++)
                row[x * job->comps + k] = photo_px(x, y, job->comps == 1 ? 1 : k, job->w, job->h);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return true;
}

static void jpeg_simple(int w, int h, int comps, bool progressive, buf *out)
{
    jpeg_job job = {.w = w, .h = h, .comps = comps, .quality = 90,
                    .simple_progressive = progressive};
    if (!jpeg_encode_job(&job))
        die("libjpeg: %s", job.msg);
    buf_put(out, job.mem, job.len);
    free(job.mem);
}

/* Offset just after the first SOS header (where entropy-coded data starts). */
static size_t jpeg_data_start(const buf *b)
{
    size_t i = 2;
    while (i + 4 <= b->n && b->d[i] == 0xFF) {
        unsigned m = b->d[i + 1];
        size_t len = (size_t)b->d[i + 2] << 8 | b->d[i + 3];
        if (m == 0xDA)
            return i + 2 + len;
        i += 2 + len;
    }
    die("no SOS marker in a JPEG we made");
}

/* The scan script with the most scans libjpeg's encoder accepts: its
 * validator (jcmaster.c) lets each coefficient of each component be sent in
 * at most 11 scans (a first scan with Al = 10, then refinements Al = 9..0),
 * and AC scans carry one component. So: per component a DC first scan and 10
 * DC refinements, then for every AC coefficient 1..63 a single-coefficient
 * first scan and 10 single-coefficient refinements: 3 x 64 x 11 = 2112. */
static int many_scans_script(jpeg_scan_info *s, int ncomp, bool refine)
{
    int n = 0;
    int top = refine ? 10 : 0;
    for (int ci = 0; ci < ncomp; ci++)
        s[n++] = (jpeg_scan_info){1, {ci}, 0, 0, 0, top};
    for (int al = top; al >= 1; al--)
        for (int ci = 0; ci < ncomp; ci++)
            s[n++] = (jpeg_scan_info){1, {ci}, 0, 0, al, al - 1};
    for (int ci = 0; ci < ncomp; ci++)
        for (int k = 1; k < 64; k++)
            s[n++] = (jpeg_scan_info){1, {ci}, k, k, 0, top};
    for (int al = top; al >= 1; al--)
        for (int ci = 0; ci < ncomp; ci++)
            for (int k = 1; k < 64; k++)
                s[n++] = (jpeg_scan_info){1, {ci}, k, k, al, al - 1};
    return n;
}

typedef struct scan_seg {
    size_t start, end;       /* the DHT/DQT/... markers before the SOS, through its data */
    int comp, ss, ah;
} scan_seg;

/* Splits a JPEG into its scans. Returns how many; *eoi gets EOI's offset. */
static int jpeg_scans(const buf *b, scan_seg *v, int max, size_t *eoi)
{
    size_t i = 2, seg_start = 0;
    bool have_seg = false;
    int n = 0;
    while (i + 1 < b->n) {
        if (b->d[i] != 0xFF)
            die("unexpected byte in a JPEG we made at %zu", i);
        unsigned m = b->d[i + 1];
        if (m == 0xD9) {
            *eoi = i;
            return n;
        }
        size_t len = (size_t)b->d[i + 2] << 8 | b->d[i + 3];
        if (m == 0xDA) {
            size_t j = i + 2 + len;
            while (j + 1 < b->n && !(b->d[j] == 0xFF && b->d[j + 1] != 0 &&
                                     !(b->d[j + 1] >= 0xD0 && b->d[j + 1] <= 0xD7)))
                j++;
            if (n < max) {
                int ns = b->d[i + 4];
                const uint8_t *tail = b->d + i + 5 + 2 * ns;
                v[n] = (scan_seg){have_seg ? seg_start : i, j, b->d[i + 5], tail[0], tail[2] >> 4};
                n++;
            }
            have_seg = true;
            seg_start = j;
            i = j;
        } else {
            i += 2 + len;
        }
    }
    die("no EOI in a JPEG we made");
}

static void make_many_scans(void)
{
    enum { W = 2048, H = 2048, MAXS = 3 * 64 * 11 };
    jpeg_scan_info *script = calloc(MAXS, sizeof *script);
    if (!script)
        die("out of memory");
    /* If some libjpeg refused the refinement layout, fall back to one scan
     * per coefficient (192 scans) and say so. */
    jpeg_job job = {.w = W, .h = H, .comps = 3, .quality = 90, .scans = script};
    job.nscans = many_scans_script(script, 3, true);
    bool ok = jpeg_encode_job(&job);
    if (!ok) {
        printf("many_scans.jpg: libjpeg refused the %d-scan script (%s); ", job.nscans, job.msg);
        job.nscans = many_scans_script(script, 3, false);
        ok = jpeg_encode_job(&job);
        if (!ok)
            die("libjpeg refused the %d-scan script too: %s", job.nscans, job.msg);
    }
    buf b = {0};
    buf_put(&b, job.mem, job.len);
    free(job.mem);
    write_file("scans/many_scans.jpg", b.d, b.n);

    /* dup_scans.jpg: repeat the smallest first-pass AC scan of component 1
     * (luma: the most blocks per scan), with the Huffman table written before
     * it, DUP_SCANS times before EOI. */
    scan_seg *segs = calloc(MAXS + 8, sizeof *segs);
    if (!segs)
        die("out of memory");
    size_t eoi = 0;
    int ns = jpeg_scans(&b, segs, MAXS + 8, &eoi);
    int best = -1;
    for (int k = 0; k < ns; k++)
        if (segs[k].comp == 1 && segs[k].ss > 0 && segs[k].ah == 0 &&
            (best < 0 || segs[k].end - segs[k].start < segs[best].end - segs[best].start))
            best = k;
    if (best < 0)
        die("no AC scan of the first component in many_scans.jpg");
    buf d = {0};
    buf_put(&d, b.d, eoi);
    for (int k = 0; k < DUP_SCANS; k++)
        buf_put(&d, b.d + segs[best].start, segs[best].end - segs[best].start);
    buf_put(&d, b.d + eoi, b.n - eoi);
    write_file("scans/dup_scans.jpg", d.d, d.n);
    printf("many_scans.jpg: %dx%d, %d scans (the most libjpeg's encoder accepts: 11 per "
           "coefficient and component), %zu bytes\n", W, H, ns, b.n);
    printf("dup_scans.jpg: %d scans (%d + %d repeats of a %zu-byte scan), %zu bytes\n",
           ns + DUP_SCANS, ns, DUP_SCANS, segs[best].end - segs[best].start, d.n);
    buf_free(&b);
    buf_free(&d);
    free(segs);
    free(script);
}

/* ------------------------------------------------------------------------ */
/* PNG (libpng into memory, and hand-made chunks)                             */

static void png_buf_write(png_structp p, png_bytep data, size_t n)
{
    buf_put(png_get_io_ptr(p), data, n);
}

static void png_buf_flush(png_structp p)
{
    (void)p;
}

static void png_die(png_structp p, png_const_charp msg)
{
    (void)p;
    die("libpng: %s", msg);
}

/* color_type: PNG_COLOR_TYPE_GRAY, _RGB or _RGB_ALPHA, 8-bit. */
static void png_simple(int w, int h, int color_type, buf *out)
{
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_die, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!info)
        die("libpng: out of memory");
    png_set_write_fn(p, out, png_buf_write, png_buf_flush);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    int ch = color_type == PNG_COLOR_TYPE_GRAY ? 1 : color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
    uint8_t *row = malloc((size_t)w * (size_t)ch);
    if (!row)
        die("out of memory");
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++)
                row[x * ch + k] = k == 3 ? (uint8_t)(x < w / 2 ? 255 : x * 255 / w)
                                         : photo_px(x, y, ch == 1 ? 1 : k, w, h);
        png_write_row(p, row);
    }
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(row);
}

static void png_chunk(buf *b, const char type[4], const void *data, size_t n)
{
    buf_u32be(b, (uint32_t)n);
    size_t at = b->n;
    buf_put(b, type, 4);
    buf_put(b, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, b->d + at, (uInt)(n + 4));
    buf_u32be(b, (uint32_t)crc);
}

static void png_sig_ihdr(buf *b, uint32_t w, uint32_t h, int bit_depth, int color_type)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    buf_put(b, sig, 8);
    buf ih = {0};
    buf_u32be(&ih, w);
    buf_u32be(&ih, h);
    uint8_t rest[5] = {(uint8_t)bit_depth, (uint8_t)color_type, 0, 0, 0};
    buf_put(&ih, rest, 5);
    png_chunk(b, "IHDR", ih.d, ih.n);
    buf_free(&ih);
}

/* Writes data as IDAT chunks of at most 256 KiB. */
static void png_idats(buf *b, const uint8_t *data, size_t n)
{
    do {
        size_t k = n < (256u << 10) ? n : (256u << 10);
        png_chunk(b, "IDAT", data, k);
        data += k;
        n -= k;
    } while (n);
}

/* zlib stream of the filtered rows (filter 0) of a small RGB photo. */
static void small_rgb_idat(int w, int h, buf *z)
{
    size_t raw_n = (size_t)h * (size_t)(1 + 3 * w);
    uint8_t *raw = malloc(raw_n);
    if (!raw)
        die("out of memory");
    uint8_t *q = raw;
    for (int y = 0; y < h; y++) {
        *q++ = 0;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                *q++ = photo_px(x, y, k, w, h);
    }
    uLongf zn = compressBound((uLong)raw_n);
    uint8_t *zd = malloc(zn);
    if (!zd || compress2(zd, &zn, raw, (uLong)raw_n, 9) != Z_OK)
        die("zlib: compress2 failed");
    buf_put(z, zd, zn);
    free(zd);
    free(raw);
}

/* Deflates n zeros (n <= 64 MiB) with flush into out; false if deflate
 * did not take it all. */
static bool deflate_zeros(z_stream *s, size_t n, int flush, buf *out)
{
    static uint8_t in[64u << 20], obuf[1 << 16];
    s->next_in = in;
    s->avail_in = (uInt)n;
    int r;
    do {
        s->next_out = obuf;
        s->avail_out = sizeof obuf;
        r = deflate(s, flush);
        if (r == Z_STREAM_ERROR)
            return false;
        buf_put(out, obuf, sizeof obuf - s->avail_out);
    } while (s->avail_out == 0);
    return s->avail_in == 0 && (flush != Z_FINISH || r == Z_STREAM_END);
}

/* A zlib stream of `total` zero bytes, deflated at level 9 (strategy Z_RLE:
 * the same ~1030:1 ratio as the default strategy on zeros, faster) in 64 MiB
 * chunks. Each chunk ends with Z_FULL_FLUSH, after which deflate starts
 * afresh: every chunk after the first compresses to the same bytes, so when
 * the 2nd and 3rd agree the rest are copies, and the trailer's Adler-32 of
 * N zeros is ((N mod 65521) << 16) | 1. (If they did not agree, every chunk
 * is deflated.) Gigabytes of zeros in a fraction of a second. */
static void zeros_zlib(uint64_t total, buf *out)
{
    const uint64_t chunk = 64u << 20;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 9, Z_DEFLATED, 15, 9, Z_RLE) != Z_OK)
        die("zlib: deflateInit2 failed");
    uint64_t done = 0;
    if (total >= 3 * chunk && total % chunk == 0) {
        buf b2 = {0}, b3 = {0};
        if (!deflate_zeros(&s, chunk, Z_FULL_FLUSH, out) ||
            !deflate_zeros(&s, chunk, Z_FULL_FLUSH, &b2) ||
            !deflate_zeros(&s, chunk, Z_FULL_FLUSH, &b3))
            die("zlib: deflate failed");
        done = 3 * chunk;
        buf_put(out, b2.d, b2.n);
        buf_put(out, b3.d, b3.n);
        if (b2.n == b3.n && !memcmp(b2.d, b3.d, b2.n)) {
            for (; done < total; done += chunk)
                buf_put(out, b3.d, b3.n);
            if (!deflate_zeros(&s, 0, Z_FINISH, out) || out->n < 4)
                die("zlib: deflate failed");
            uint32_t adler = (uint32_t)(total % 65521u) << 16 | 1u;
            uint8_t *t = out->d + out->n - 4;
            t[0] = (uint8_t)(adler >> 24);
            t[1] = (uint8_t)(adler >> 16);
            t[2] = (uint8_t)(adler >> 8);
            t[3] = (uint8_t)adler;
        }
        buf_free(&b2);
        buf_free(&b3);
        if (done == total) {
            deflateEnd(&s);
            return;
        }
    }
    while (done < total) {
        uint64_t left = total - done, n = left < chunk ? left : chunk;
        done += n;
        if (!deflate_zeros(&s, (size_t)n, done == total ? Z_FINISH : Z_NO_FLUSH, out))
            die("zlib: deflate failed");
    }
    deflateEnd(&s);
}

/* ------------------------------------------------------------------------ */
/* The corpus                                                                 */

typedef struct bases {
    buf jpg, png, prog, small_jpg, small_png;
} bases;

static void make_good(bases *B)
{
    jpeg_simple(600, 400, 3, false, &B->jpg);
    png_simple(500, 300, PNG_COLOR_TYPE_RGB, &B->png);
    jpeg_simple(640, 480, 3, true, &B->prog);
    jpeg_simple(160, 120, 3, false, &B->small_jpg);
    png_simple(120, 90, PNG_COLOR_TYPE_RGB, &B->small_png);
    write_file("good/photo.jpg", B->jpg.d, B->jpg.n);
    write_file("good/photo_rgb.png", B->png.d, B->png.n);
    write_file("good/prog.jpg", B->prog.d, B->prog.n);
    buf b = {0};
    png_simple(240, 240, PNG_COLOR_TYPE_RGB_ALPHA, &b);
    write_file("good/alpha.png", b.d, b.n);
    b.n = 0;
    png_simple(300, 200, PNG_COLOR_TYPE_GRAY, &b);
    write_file("good/gray8.png", b.d, b.n);
    b.n = 0;
    jpeg_simple(256, 256, 1, false, &b);
    write_file("good/gray.jpg", b.d, b.n);
    buf_free(&b);
}

static void make_names(const bases *B)
{
    static const char *names[] = {
        "line1\nline2.jpg",
        "\nleading-newline.png",
        "tab\there.jpg",
        "cr\rreturn.png",
        "bad\xff\xfe.jpg",
        ("lone\x80" "byte.png"),
        "overlong\xc0\xaf.jpg",
        "-rf.jpg",
        "--help.png",
        "-.jpg",
        "--.png",
        " lead space.jpg",
        "quote\"and\\back.png",
        "\x1b[31mansi.jpg",
        "percent%s%n.png",
        "utf8-caf\xc3\xa9-\xe2\x9c\x93.jpg",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "names/%s", names[i]);
        const char *dot = strrchr(names[i], '.');
        const buf *b = !strcmp(dot, ".png") ? &B->small_png : &B->small_jpg;
        write_file(rel, b->d, b->n);
    }
}

static void make_wrongext(const bases *B)
{
    write_file("wrongext/png_named.jpg", B->small_png.d, B->small_png.n);
    write_file("wrongext/jpeg_named.png", B->small_jpg.d, B->small_jpg.n);
    static const char text[] = "This is not an image, whatever its name says.\n";
    write_file("wrongext/text.jpg", text, sizeof text - 1);
    static const char html[] = "<!DOCTYPE html><html><body>not a PNG</body></html>\n";
    write_file("wrongext/html.png", html, sizeof html - 1);
    static const char notes[] = "not an image name: only counted\n";
    write_file("wrongext/notes.txt", notes, sizeof notes - 1);
}

static void make_empty(void)
{
    write_file("empty/empty_a.jpg", "", 0);
    write_file("empty/empty_b.jpeg", "", 0);
    write_file("empty/empty_c.png", "", 0);
}

/* n cut offsets: half spread over the headers [1, hdr + 32), half over the
 * image data up to 64 bytes before the end. */
static int cut_offsets(size_t len, size_t hdr, int n, size_t *out)
{
    int k = 0;
    size_t hi = hdr + 32;
    for (int i = 0; i < n / 2; i++) {
        size_t off = 1 + (size_t)i * (hi - 1) / (size_t)(n / 2);
        if (k == 0 || off > out[k - 1])
            out[k++] = off;
    }
    size_t last = len - 64;
    for (int i = 0; i < n - n / 2; i++) {
        size_t off = hi + (size_t)i * (last - hi) / (size_t)(n - n / 2 - 1);
        if (k == 0 || off > out[k - 1])
            out[k++] = off;
    }
    return k;
}

static void make_truncated(const bases *B)
{
    size_t offs[64];
    struct {
        const buf *b;
        const char *dir, *ext;
        int n;
        size_t hdr;
    } sets[3] = {
        {&B->jpg, "jpg", "jpg", N_CUTS, jpeg_data_start(&B->jpg)},
        {&B->png, "png", "png", N_CUTS, 0},
        {&B->prog, "prog", "jpg", N_CUTS_PROG, jpeg_data_start(&B->prog)},
    };
    /* PNG: headers end where the first IDAT's data starts */
    const uint8_t *idat = memmem(B->png.d, B->png.n, "IDAT", 4);
    if (!idat)
        die("no IDAT in a PNG we made");
    sets[1].hdr = (size_t)(idat - B->png.d) + 4;
    int total = 0;
    for (int s = 0; s < 3; s++) {
        int n = cut_offsets(sets[s].b->n, sets[s].hdr, sets[s].n, offs);
        for (int i = 0; i < n; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, "truncated/%s/cut_%07zu.%s", sets[s].dir, offs[i],
                     sets[s].ext);
            write_file(rel, sets[s].b->d, offs[i]);
        }
        total += n;
    }
    printf("truncated: %d files (JPEG %zu bytes, PNG %zu bytes, progressive JPEG %zu bytes)\n",
           total, B->jpg.n, B->png.n, B->prog.n);
}

static void make_bitflips(const bases *B)
{
    struct {
        const buf *b;
        const char *dir, *ext;
        int n;
        size_t keep;   /* bytes left alone: the signature stays recognisable */
    } sets[3] = {
        {&B->jpg, "jpg", "jpg", N_FLIPS, 3},
        {&B->png, "png", "png", N_FLIPS, 8},
        {&B->prog, "prog", "jpg", N_FLIPS_PROG, 3},
    };
    for (int s = 0; s < 3; s++) {
        uint8_t *copy = malloc(sets[s].b->n);
        if (!copy)
            die("out of memory");
        for (int i = 0; i < sets[s].n; i++) {
            memcpy(copy, sets[s].b->d, sets[s].b->n);
            int flips = 1 + i % 4;
            for (int k = 0; k < flips; k++) {
                size_t at = sets[s].keep + (size_t)(rnd() % (sets[s].b->n - sets[s].keep));
                copy[at] ^= (uint8_t)(1u << (rnd() % 8));
            }
            char rel[128];
            snprintf(rel, sizeof rel, "bitflip/%s/flip_%02d.%s", sets[s].dir, i, sets[s].ext);
            write_file(rel, copy, sets[s].b->n);
        }
        free(copy);
    }
}

static void make_huge(void)
{
    /* JPEG: a 16x16 image whose SOF0 is patched to say 60000x60000 */
    buf j = {0};
    jpeg_simple(16, 16, 3, false, &j);
    uint8_t *sof = NULL;
    for (size_t i = 2; i + 9 < j.n; i++)
        if (j.d[i] == 0xFF && j.d[i + 1] == 0xC0) {
            sof = j.d + i;
            break;
        }
    if (!sof)
        die("no SOF0 in a JPEG we made");
    sof[5] = 60000 >> 8;
    sof[6] = 60000 & 0xFF;
    sof[7] = 60000 >> 8;
    sof[8] = 60000 & 0xFF;
    write_file("huge/sof_60000x60000.jpg", j.d, j.n);
    buf_free(&j);

    /* PNG: IHDR 100000x100000 grey, an IDAT holding two rows */
    buf p = {0}, z = {0};
    png_sig_ihdr(&p, 100000, 100000, 8, PNG_COLOR_TYPE_GRAY);
    zeros_zlib(2 * 100001, &z);
    png_idats(&p, z.d, z.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("huge/ihdr_100000x100000.png", p.d, p.n);
    buf_free(&p);
    buf_free(&z);
}

static void make_dims(void)
{
    buf b = {0};
    png_simple(300000, 1, PNG_COLOR_TYPE_GRAY, &b);
    write_file("dims/wide_300000x1.png", b.d, b.n);
    b.n = 0;
    jpeg_simple(30000, 8, 3, false, &b);
    write_file("dims/wide_30000x8.jpg", b.d, b.n);
    buf_free(&b);
}

/* A small RGB PNG with `extra` chunks (already framed) before its IDAT. */
static void png_with(const buf *extra, buf *out)
{
    png_sig_ihdr(out, 64, 64, 8, PNG_COLOR_TYPE_RGB);
    buf_put(out, extra->d, extra->n);
    buf z = {0};
    small_rgb_idat(64, 64, &z);
    png_idats(out, z.d, z.n);
    png_chunk(out, "IEND", NULL, 0);
    buf_free(&z);
}

static void make_bombs(void)
{
    buf zeros = {0};
    zeros_zlib(BOMB_BYTES, &zeros);

    /* IDAT bomb: 10000x10000 grey needs 100,010,000 bytes (a filter byte per
     * row); the stream holds 2 GiB, all zeros (filter 0, black). */
    buf p = {0};
    png_sig_ihdr(&p, 10000, 10000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, zeros.d, zeros.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_bomb.png", p.d, p.n);
    printf("idat_bomb.png: 10000x10000 grey, IDAT inflates to %llu bytes (the image needs "
           "100010000), %zu bytes on disk\n", (unsigned long long)BOMB_BYTES, p.n);

    /* its honest twin: the same image, a stream of exactly 100,010,000 zeros
     * (what decoding the image costs, for comparison) */
    buf honest = {0};
    zeros_zlib(10000ull * 10001ull, &honest);
    p.n = 0;
    png_sig_ihdr(&p, 10000, 10000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, honest.d, honest.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_exact.png", p.d, p.n);

    /* the same pair at 2000x2000 (4,002,000 bytes needed): decoding the
     * image is cheap, so the cost of inflating 2 GiB stands out */
    p.n = 0;
    png_sig_ihdr(&p, 2000, 2000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, zeros.d, zeros.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_bomb_2000.png", p.d, p.n);
    honest.n = 0;
    zeros_zlib(2000ull * 2001ull, &honest);
    p.n = 0;
    png_sig_ihdr(&p, 2000, 2000, 8, PNG_COLOR_TYPE_GRAY);
    png_idats(&p, honest.d, honest.n);
    png_chunk(&p, "IEND", NULL, 0);
    write_file("bomb/idat_exact_2000.png", p.d, p.n);
    buf_free(&honest);

    /* zTXt and iCCP whose compressed payload inflates to 2 GiB */
    buf c = {0}, x = {0};
    buf_put(&c, "Comment\0\0", 9);   /* keyword, NUL, compression method 0 */
    buf_put(&c, zeros.d, zeros.n);
    png_chunk(&x, "zTXt", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/ztxt_bomb.png", p.d, p.n);

    c.n = x.n = 0;
    buf_put(&c, "bomb\0\0", 6);      /* profile name, NUL, method 0 */
    buf_put(&c, zeros.d, zeros.n);
    png_chunk(&x, "iCCP", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/iccp_bomb.png", p.d, p.n);

    /* 50000 tEXt chunks */
    x.n = 0;
    for (int i = 0; i < TEXT_CHUNKS; i++)
        png_chunk(&x, "tEXt", "k\0v", 3);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/many_text.png", p.d, p.n);

    /* a 1 MiB private ancillary chunk */
    c.n = x.n = 0;
    for (int i = 0; i < (1 << 20); i++) {
        uint8_t v = (uint8_t)rnd();
        buf_put(&c, &v, 1);
    }
    png_chunk(&x, "prVt", c.d, c.n);
    p.n = 0;
    png_with(&x, &p);
    write_file("chunks/big_private.png", p.d, p.n);

    /* a chunk whose length says 0x7FFFFFF0 in a file that ends 64 bytes later */
    p.n = 0;
    png_sig_ihdr(&p, 64, 64, 8, PNG_COLOR_TYPE_RGB);
    buf_u32be(&p, 0x7FFFFFF0u);
    buf_put(&p, "prVt", 4);
    for (int i = 0; i < 64; i++) {
        uint8_t v = (uint8_t)i;
        buf_put(&p, &v, 1);
    }
    write_file("chunks/huge_length.png", p.d, p.n);

    buf_free(&zeros);
    buf_free(&p);
    buf_free(&c);
    buf_free(&x);
}

static void make_appflood(void)
{
    buf b = {0};
    buf_put(&b, "\xFF\xD8", 2);
    uint8_t *seg = calloc(1, 65533);
    if (!seg)
        die("out of memory");
    for (int i = 0; i < FLOOD_MARKERS; i++) {
        memset(seg, 'F', 65533);
        if (i == 0)  /* a real (empty) Exif block first */
            memcpy(seg, "Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0", 20);
        else
            memcpy(seg, "thumbd-hostile flood", 20);
        buf_put(&b, "\xFF\xE1\xFF\xFF", 4);   /* APP1, length 65535 */
        buf_put(&b, seg, 65533);
    }
    free(seg);
    buf small = {0};
    jpeg_simple(64, 64, 3, false, &small);
    buf_put(&b, small.d + 2, small.n - 2);   /* the rest of a real JPEG, after its SOI */
    write_file("appflood/app1_flood.jpg", b.d, b.n);
    printf("app1_flood.jpg: %d APP1 markers of 65535 bytes before a 64x64 image, %zu bytes\n",
           FLOOD_MARKERS, b.n);
    buf_free(&small);
    buf_free(&b);
}

/* DEEP_LEVELS nested directories under base ("d", or 32-byte names), an
 * image at the middle level and one at the bottom. Made through directory
 * descriptors, so paths longer than PATH_MAX work. */
static void make_nested(const char *base, bool long_names, const bases *B,
                        const char *mid_name, const char *bottom_name)
{
    mkparents_at(g_root, base);
    if (mkdirat(g_root, base, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", base, strerror(errno));
    int fd = openat(g_root, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        die("open %s: %s", base, strerror(errno));
    for (int lv = 1; lv <= DEEP_LEVELS; lv++) {
        char name[64] = "d";
        if (long_names)
            snprintf(name, sizeof name, "level-%03d-padding-to-32-bytes-x", lv);
        if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST)
            die("mkdir %s level %d: %s", base, lv, strerror(errno));
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (next < 0)
            die("open %s level %d: %s", base, lv, strerror(errno));
        close(fd);
        fd = next;
        if (lv == DEEP_LEVELS / 2)
            write_at(fd, mid_name, B->small_png.d, B->small_png.n);
    }
    write_at(fd, bottom_name, B->small_jpg.d, B->small_jpg.n);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: thumbd_hostile OUTDIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", argv[1], strerror(errno));
    g_root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_root < 0)
        die("open %s: %s", argv[1], strerror(errno));
    bases B;
    memset(&B, 0, sizeof B);
    make_good(&B);
    make_names(&B);
    make_wrongext(&B);
    make_empty();
    make_truncated(&B);
    make_bitflips(&B);
    make_huge();
    make_dims();
    make_bombs();
    make_many_scans();
    make_appflood();
    make_nested("deep", false, &B, "middle.png", "bottom.jpg");
    make_nested("deeplong", true, &B, "middle.png", "bottom.jpg");
    printf("deep: %d levels; deeplong: %d levels of 32-byte names (the deepest path is "
           "longer than PATH_MAX)\n", DEEP_LEVELS, DEEP_LEVELS);
    buf_free(&B.jpg);
    buf_free(&B.png);
    buf_free(&B.prog);
    buf_free(&B.small_jpg);
    buf_free(&B.small_png);
    close(g_root);
    return 0;
}
