/* thumbd_hostile's shared parts: buffers, files under the corpus root, pseudo-random bytes, JPEG and PNG encoders in memory. */
#include "gen_hostile_util.h"

/* ------------------------------------------------------------------------ */
/* Errors, buffers, files                                                     */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("thumbd_hostile: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void buf_put(buf *b, const void *p, size_t n)
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

void buf_free(buf *b)
{
    free(b->d);
    memset(b, 0, sizeof *b);
}

int g_root = -1;   /* OUTDIR */

void mkparents_at(int dirfd, const char *rel)
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

void write_at(int dirfd, const char *rel, const void *data, size_t n)
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

void write_file(const char *rel, const void *data, size_t n)
{
    write_at(g_root, rel, data, n);
}

uint64_t g_rng = 0x7468756d62642121ull;

uint64_t rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ull;
}

/* ------------------------------------------------------------------------ */
/* Pixels                                                                     */

double sine(double a)   /* sin(a) from a table: the generator stays fast under ASan */
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

uint8_t photo_px(int x, int y, int c, int w, int h)
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

void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

bool jpeg_encode_job(jpeg_job *job)
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

void jpeg_simple(int w, int h, int comps, bool progressive, buf *out)
{
    jpeg_job job = {.w = w, .h = h, .comps = comps, .quality = 90,
                    .simple_progressive = progressive};
    if (!jpeg_encode_job(&job))
        die("libjpeg: %s", job.msg);
    buf_put(out, job.mem, job.len);
    free(job.mem);
}

/* ------------------------------------------------------------------------ */
/* PNG (libpng into memory, and hand-made chunks)                             */

void png_buf_write(png_structp p, png_bytep data, size_t n)
{
    buf_put(png_get_io_ptr(p), data, n);
}

void png_buf_flush(png_structp p)
{
    (void)p;
}

void png_die(png_structp p, png_const_charp msg)
{
    (void)p;
    die("libpng: %s", msg);
}

void png_simple(int w, int h, int color_type, buf *out)
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
