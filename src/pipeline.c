#include "thumbd/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/clock.h"
#include "thumbd/codec.h"
#include "thumbd/color.h"
#include "thumbd/confine.h"
#include "thumbd/fsutil.h"
#include "thumbd/geometry.h"
#include "thumbd/orient.h"
#include "thumbd/pipevips.h"
#include "thumbd/pipewrite.h"
#include "thumbd/resize.h"
#include "thumbd/retry.h"
#include "thumbd/shrink.h"
#include "thumbd/thumbhash.h"
#include "thumbd/uptodate.h"

/* State shared by the decoder callbacks of one task. */
typedef struct decode_ctx {
    const thumbd_config *cfg;
    memgate *gate;
    bool may_defer;            /* a busy gate: give the task back (TD_EBUSY), do not wait */
    cancel_token *tok;
    size_t reserved_decoder;   /* bytes held in the gate until the decode ends */
    size_t reserved_image;     /* ... and for the intermediate image, until resized */
    codec_info info;           /* icc points to icc_copy */
    uint8_t *icc_copy;
    geom_plan plan;            /* one box's; several: the union of their crops */
    int nboxes;                /* the sizes made from this decode */
    config_size boxes[CONFIG_MAX_SIZES];
    geom_plan plans[CONFIG_MAX_SIZES];
    int dec_w, dec_h;          /* the image as decoded (DCT-scaled) */
    int reg_x, reg_y, k;       /* the decoded region's origin in it, and its box factor */
    shrink sh;
    bool started;
    const char *decoder;       /* as the codec names its path */
    task_warnings *warnings;   /* what the decode went past */
} decode_ctx;

static double ms_since(double t0)
{
    return (clock_now_s() - t0) * 1000.0;
}

/* Plans each box; c->plan: the one box's plan, or for several the union of
 * their crops (what is decoded). Returns the DCT scale the largest need
 * asks for: the smaller sizes are made from that decode. */
static int plan_boxes(decode_ctx *c, const codec_info *info)
{
    int scale = 1;
    for (int i = 0; i < c->nboxes; i++) {
        geom_plan *p = &c->plans[i];
        geom_plan_compute(info->width, info->height, info->orientation, c->boxes[i].w,
                          c->boxes[i].h, (fit_mode)c->boxes[i].fit, c->cfg->enlarge, p);
        int n = geom_jpeg_scale(p->crop_w, p->crop_h, p->need_w, p->need_h);
        scale = n > scale ? n : scale;
        if (i == 0) {
            c->plan = *p;
            continue;
        }
        geom_plan *u = &c->plan;
        int x1 = u->crop_x + u->crop_w > p->crop_x + p->crop_w ? u->crop_x + u->crop_w
                                                                : p->crop_x + p->crop_w;
        int y1 = u->crop_y + u->crop_h > p->crop_y + p->crop_h ? u->crop_y + u->crop_h
                                                                : p->crop_y + p->crop_h;
        u->crop_x = u->crop_x < p->crop_x ? u->crop_x : p->crop_x;
        u->crop_y = u->crop_y < p->crop_y ? u->crop_y : p->crop_y;
        u->crop_w = x1 - u->crop_x;
        u->crop_h = y1 - u->crop_y;
    }
    return scale;
}

static td_status on_header(void *vctx, const codec_info *info, int *scale_num, char *err)
{
    decode_ctx *c = vctx;
    const thumbd_config *cfg = c->cfg;
    /* The record of an image refused here still gives its size. */
    c->info.width = info->width;
    c->info.height = info->height;
    if (info->width < 1 || info->height < 1)
        return td_fail(err, TD_EINPUT, "image has no pixels (%dx%d)", info->width, info->height);
    if (info->width > cfg->max_dimension || info->height > cfg->max_dimension)
        return td_fail(err, TD_ELIMIT, "image is %dx%d, over --max-dimension %d", info->width,
                       info->height, cfg->max_dimension);
    uint64_t px = (uint64_t)info->width * (uint64_t)info->height;
    if (px > cfg->max_pixels)
        return td_fail(err, TD_ELIMIT,
                       "image is %dx%d (%.1f megapixels), over --max-pixels %.1f megapixels",
                       info->width, info->height, (double)px / 1e6, (double)cfg->max_pixels / 1e6);
    c->info = *info;
    c->info.icc = NULL;
    c->info.icc_len = 0;
    if (info->icc && info->icc_len) {
        c->icc_copy = malloc(info->icc_len);
        if (c->icc_copy) {
            memcpy(c->icc_copy, info->icc, info->icc_len);
            c->info.icc = c->icc_copy;
            c->info.icc_len = info->icc_len;
        }
    }
    *scale_num = plan_boxes(c, info);
    return TD_OK;
}

/* What shrink_begin allocates: the intermediate float image and a row of
 * column sums. */
static size_t shrink_bytes(int w, int h, int k, int c)
{
    size_t ow = (size_t)(w + k - 1) / (size_t)k, oh = (size_t)(h + k - 1) / (size_t)k;
    return ow * oh * (size_t)c * sizeof(float) + (size_t)w * (size_t)c * sizeof(uint32_t);
}

/* The crop of p mapped from stored pixels to the decoded w x h ones:
 * [r[0], r[2]) x [r[1], r[3]). */
static void map_crop(const decode_ctx *c, const geom_plan *p, int w, int h, int r[4])
{
    geom_decoded d;
    geom_decoded_crop(p, (int)c->info.width, (int)c->info.height, w, h, &d);
    r[0] = d.x0, r[1] = d.y0, r[2] = d.x1, r[3] = d.y1;
}

/* The box factor of the decoded region: the largest that leaves each
 * box's crop at least twice its need. */
static int shrink_k(const decode_ctx *c, int w, int h)
{
    int k = 1 << 14;
    for (int i = 0; i < c->nboxes; i++) {
        int r[4];
        map_crop(c, &c->plans[i], w, h, r);
        int ki = geom_shrink_factor(r[2] - r[0], r[3] - r[1], c->plans[i].need_w,
                                    c->plans[i].need_h);
        k = ki < k ? ki : k;
    }
    return k;
}

/* Box i's crop in the iw x ih image the decoded region shrunk by c->k
 * makes, placed to a pixel of it: [r[0], r[2]) x [r[1], r[3]). That image
 * holds at least twice the thumbnail's pixels, so the crop is within half a
 * thumbnail pixel of where one decode for this box alone would put it. */
static void box_region(const decode_ctx *c, int iw, int ih, int i, int r[4])
{
    int d[4], k = c->k;
    map_crop(c, &c->plans[i], c->dec_w, c->dec_h, d);
    int x0 = (d[0] - c->reg_x) / k, y0 = (d[1] - c->reg_y) / k;
    int x1 = (d[2] - c->reg_x + k - 1) / k, y1 = (d[3] - c->reg_y + k - 1) / k;
    x1 = x1 > iw ? iw : x1;
    y1 = y1 > ih ? ih : y1;
    r[0] = x0 >= x1 ? x1 - 1 : x0;
    r[1] = y0 >= y1 ? y1 - 1 : y0;
    r[2] = x1;
    r[3] = y1;
}

/* With several sizes, what make_box's copies of the iw x ih shrunk image
 * hold: each box's crop of it shrunk by its own factor, but for one that is
 * a full-width view of it; bpp: bytes a pixel. Counted all at once: a
 * bound, not the exact peak. */
static size_t boxes_bytes(const decode_ctx *c, int iw, int ih, size_t bpp)
{
    size_t sum = 0;
    for (int i = 0; c->nboxes > 1 && i < c->nboxes; i++) {
        int r[4];
        box_region(c, iw, ih, i, r);
        int wi = r[2] - r[0], hi = r[3] - r[1];
        int k2 = geom_shrink_factor(wi, hi, c->plans[i].need_w, c->plans[i].need_h);
        if (k2 > 1 || wi < iw)
            sum += (size_t)((wi + k2 - 1) / k2) * (size_t)((hi + k2 - 1) / k2) * bpp;
    }
    return sum;
}

/* What the iw x ih shrunk image has beside it: the sRGB conversion of a
 * grey or CMYK image makes an RGB(A) copy while the original lives; an
 * EXIF turn or flip another; several sizes their crops (boxes_bytes). */
static size_t copies_bytes(const decode_ctx *c, int iw, int ih)
{
    size_t bpp = (size_t)(c->info.alpha >= 0 ? 4 : 3) * sizeof(float);
    size_t rgb = (size_t)iw * (size_t)ih * bpp;
    int o = c->info.orientation;
    bool convert = c->info.channels < 3 || c->info.space == COLOR_CMYK ||
                   c->info.space == COLOR_CMYK_INVERTED;
    return (convert ? rgb : 0) + (o >= 2 && o <= 8 ? rgb : 0) + boxes_bytes(c, iw, ih, bpp);
}

/* Maps the crop from stored pixels to the decoded (DCT-scaled) ones, and
 * reserves the decoder's buffers and the intermediate image in the gate. */
static td_status on_start(void *vctx, int w, int h, size_t work_bytes, char *err)
{
    decode_ctx *c = vctx;
    geom_decoded d;
    geom_decoded_crop(&c->plan, (int)c->info.width, (int)c->info.height, w, h, &d);
    int x0 = d.x0, y0 = d.y0, x1 = d.x1, y1 = d.y1;
    int k = shrink_k(c, w, h);
    c->dec_w = w, c->dec_h = h, c->reg_x = x0, c->reg_y = y0, c->k = k;
    /* An ICC profile (up to 4 MiB) is held three times: the decoder's
     * pieces of it, the profile it assembles, and ours (icc_copy). */
    int iw = (x1 - x0 + k - 1) / k, ih = (y1 - y0 + k - 1) / k; /* the shrunk image */
    size_t image_bytes = shrink_bytes(x1 - x0, y1 - y0, k, c->info.channels) + 3 * c->info.icc_len +
                         copies_bytes(c, iw, ih);
    td_status st = memgate_acquire_bounded(c->gate, c->cfg->max_memory, work_bytes + image_bytes,
                                           c->may_defer, c->tok, err);
    if (st != TD_OK)
        return st;
    c->reserved_decoder = work_bytes;
    c->reserved_image = image_bytes;
    st = shrink_begin(&c->sh, w, c->info.channels, c->info.alpha, x0, y0, x1 - x0,
                                y1 - y0, k, err);
    if (st == TD_OK)
        shrink_window(&c->sh, d.fx, d.fy, d.fw, d.fh); /* the crop exactly */
    c->started = st == TD_OK;
    return st;
}

static void on_warning(void *vctx, const char *msg)
{
    task_warn_add(((decode_ctx *)vctx)->warnings, msg);
}

static void on_decoder(void *vctx, const char *name)
{
    ((decode_ctx *)vctx)->decoder = name;
}

static bool on_row(void *vctx, int y, const uint8_t *px)
{
    decode_ctx *c = vctx;
    shrink_row(&c->sh, y, px);
    return !shrink_done(&c->sh, y + 1);
}

/* Opens rel under in_fd. Unless symlinks are followed, no component of the
 * path may be one, on every kernel (confine_open): a directory swapped for a
 * link since the scan cannot lead outside IN_DIR. */
static int open_beneath(int in_fd, const char *rel, bool follow)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    return follow ? openat(in_fd, rel, flags) : confine_open(in_fd, rel, flags);
}

enum { READ_BUF = 64 * 1024 };
static _Thread_local char *read_buf; /* a FILE's buffer, until its fclose */

/* Opens the source without following symlinks (unless asked) and without
 * blocking on a FIFO swapped in since the scan. *transient: the open failed
 * in a way worth retrying. */
static td_status open_source(const thumbd_config *cfg, int in_fd, const char *rel, FILE **out,
                             struct stat *sb, bool *transient, char *err)
{
    int fd = open_beneath(in_fd, rel, cfg->follow_symlinks);
    if (fd < 0 && (*transient = retry_errno_transient(errno, false)))
        return td_fail(err, TD_EIO, "cannot open: %s", strerror(errno));
    if (fd < 0)
        return td_fail(err, TD_EIO, "cannot open: %s", errno == ELOOP ? "it is (or lies under) a symbolic link"
                                                        : errno == EXDEV ? "the path leads outside IN_DIR"
                                                        : strerror(errno));
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return td_fail(err, TD_EINPUT, "not a regular file any more");
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (cfg->max_file_size && (uint64_t)sb->st_size > cfg->max_file_size) {
        close(fd);
        return td_fail(err, TD_ELIMIT, "file is %.1f MiB, over --max-file-size %.1f MiB",
                       (double)sb->st_size / 1048576.0, (double)cfg->max_file_size / 1048576.0);
    }
    if (sb->st_size == 0) {
        close(fd);
        return td_fail(err, TD_EINPUT, "empty file (0 bytes)");
    }
    *out = fdopen(fd, "rb");
    if (!*out) {
        close(fd);
        return td_fail(err, TD_ENOMEM, "out of memory");
    }
    /* Reads of 64 KiB, not stdio's 4 KiB: 16 times fewer read(2)s (round
     * trips on network storage). glibc ignores the size unless it is given
     * the buffer, so each worker thread keeps one from task to task. */
    if (!read_buf)
        read_buf = malloc(READ_BUF);
    if (read_buf)
        setvbuf(*out, read_buf, _IOFBF, READ_BUF);
    return TD_OK;
}

void pipeline_thread_end(void)
{
    free(read_buf);
    read_buf = NULL;
    color_thread_end();
}

/* Decodes into c->sh; returns the finished intermediate image in *img. */
/* The file's first bytes, read with pread: the stream's buffer and position
 * stay as they are (a read and rewind through stdio would make the decoder
 * read the first 64 KiB again). */
static char sniff(FILE *f)
{
    uint8_t head[8];
    ssize_t n = pread(fileno(f), head, sizeof head, 0);
    if (n < 0) {
        /* A stream without a descriptor (fmemopen: the fuzzers) is read and
         * rewound instead; sources on disk take the pread. */
        n = (ssize_t)fread(head, 1, sizeof head, f);
        if (fseek(f, 0, SEEK_SET) != 0)
            return 0;
    }
    return codec_sniff(head, n > 0 ? (size_t)n : 0);
}

/* A PNG inflated at once (libdeflate, 4-5x faster than zlib's streaming)
 * holds its stream and raw image: up to 12 MiB, measured to keep a -j 2 run
 * over the PNG bench corpus near 40 MB of peak RSS, and at most half the
 * --max-memory budget, so that two such images can share it. */
static size_t png_whole_cap(uint64_t max_memory)
{
    const size_t cap = 12u << 20;
    return max_memory && max_memory / 2 < cap ? (size_t)(max_memory / 2) : cap;
}

static td_status decode(const thumbd_config *cfg, FILE *f, decode_ctx *c, cancel_token *tok,
                        image_f *img, char *err)
{
    char kind = sniff(f);
    if (!kind)
        return td_fail(err, TD_EINPUT, "not a JPEG or PNG file (unrecognised signature)");
    codec_sink sink = {on_header, on_start, on_row, c, on_decoder, on_warning};
    codec_limits lim = {.max_chunk = 4u << 20, .max_scans = cfg->max_scans,
                        .max_whole = png_whole_cap(cfg->max_memory), .fail_on = cfg->fail_on};
    td_status st = kind == 'j' ? jpeg_decode(f, &sink, &lim, tok, err)
                               : png_decode(f, &sink, &lim, tok, err);
    if (st != TD_OK)
        return st;
    shrink_end(&c->sh, img);
    c->started = false;
    return TD_OK;
}

static td_status cancelled(cancel_token *tok, char *err)
{
    cancel_reason why = cancel_check(tok);
    return why == CANCEL_NONE ? TD_OK : td_fail(err, TD_ECANCEL, "%s", cancel_reason_name(why));
}

/* What the sizes made so far leave for the next, smaller one: the last
 * crop shrunk (not yet oriented), its region in img and the factor it was
 * shrunk by from img. */
typedef struct box_prev {
    image_f im;
    int r[4];
    int kk;
} box_prev;

/* im's window (image.h): box i's exact crop, for im made of img's region r
 * shrunk by kk (img: the decoded region shrunk by c->k). */
static void box_window(const decode_ctx *c, int i, const int r[4], int kk, image_f *im)
{
    geom_decoded d;
    geom_decoded_crop(&c->plans[i], (int)c->info.width, (int)c->info.height, c->dec_w, c->dec_h,
                      &d);
    double k = (double)c->k * kk;
    im->win_x = (d.x0 + d.fx - c->reg_x - (double)r[0] * c->k) / k;
    im->win_y = (d.y0 + d.fy - c->reg_y - (double)r[1] * c->k) / k;
    im->win_w = d.fw / k;
    im->win_h = d.fh / k;
}

/* The thumbnail of box i (of several) from img, the decoded region shrunk
 * by c->k and in sRGB: its crop shrunk further by the largest box factor
 * that leaves twice its need (from prev, the larger size's shrunk crop,
 * when that is the same crop: a smaller pass), oriented and resized. The
 * rows of img whole, not shrunk further, upright: resized from img itself.
 * prev takes this box's shrunk crop. */
static td_status make_box(const thumbd_config *cfg, const decode_ctx *c, const image_f *img, int i,
                          box_prev *prev, pipeline_thumb *th, char *err)
{
    const geom_plan *p = &c->plans[i];
    int r[4], o = c->info.orientation;
    box_region(c, img->w, img->h, i, r);
    bool reuse = prev->im.px && !memcmp(prev->r, r, sizeof r);
    const image_f *from = reuse ? &prev->im : img;
    int x0 = reuse ? 0 : r[0], y0 = reuse ? 0 : r[1];
    int w = reuse ? from->w : r[2] - r[0], h = reuse ? from->h : r[3] - r[1];
    int k2 = geom_shrink_factor(w, h, p->need_w, p->need_h);
    bool upright = o < 2 || o > 8, view = !reuse && k2 == 1 && w == img->w && upright;
    /* direct: not shrunk, turned straight from img (sub: its size and window) */
    bool direct = !reuse && k2 == 1 && !upright;
    image_f sub = *img, up = {0};
    td_status st = TD_OK;
    if (view) {
        sub.px = img->px + (size_t)y0 * (size_t)img->w * (size_t)img->c;
        sub.h = h;
    } else if (direct)
        sub = (image_f){.w = w, .h = h, .c = img->c, .alpha = img->alpha};
    else
        st = shrink_region(from, x0, y0, w, h, k2, &sub, err);
    int kk = view || direct ? 1 : reuse ? prev->kk * k2 : k2;
    if (st == TD_OK)
        box_window(c, i, r, kk, &sub);
    /* The shrunk crop stays for the next size; orientation makes a copy. */
    if (st == TD_OK && !upright)
        st = orient_copy(direct ? img : &sub, direct ? x0 : 0, direct ? y0 : 0, &sub, o, &up, err);
    const image_f *src = upright ? &sub : &up;
    if (st == TD_OK)
        st = resize_to_u8(src, p->out_w, p->out_h, cfg->filter, &th->px, err);
    if (st == TD_OK) {
        th->w = p->out_w;
        th->h = p->out_h;
        th->alpha = src->alpha >= 0;
    }
    image_free(&up);
    if (!view && sub.px) {
        image_free(&prev->im);
        prev->im = sub;
        prev->kk = kk;
        memcpy(prev->r, r, sizeof r);
    }
    return st;
}

/* img, the decoded region in sRGB, into the n thumbnails of th: one box
 * straight from it (in place), several each from its own crop, the largest
 * first, so that a smaller one may be made from a larger one's shrunk crop. */
static td_status make_boxes(const thumbd_config *cfg, const decode_ctx *c, image_f *img, int n,
                            pipeline_thumb *th, char *err)
{
    if (n == 1) {
        td_status st = orient_apply(img, c->info.orientation, err);
        if (st == TD_OK)
            st = resize_to_u8(img, c->plan.out_w, c->plan.out_h, cfg->filter, &th->px, err);
        if (st == TD_OK) {
            th->w = c->plan.out_w;
            th->h = c->plan.out_h;
            th->alpha = img->alpha >= 0;
        }
        return st;
    }
    int order[CONFIG_MAX_SIZES];
    for (int i = 0; i < n; i++) { /* by need, largest first */
        int j = i;
        long need = (long)c->plans[i].need_w * c->plans[i].need_h;
        for (; j > 0 && (long)c->plans[order[j - 1]].need_w * c->plans[order[j - 1]].need_h < need; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    box_prev prev = {0};
    td_status st = TD_OK;
    for (int i = 0; i < n && st == TD_OK; i++)
        st = make_box(cfg, c, img, order[i], &prev, &th[order[i]], err);
    image_free(&prev.im);
    return st;
}

/* The thumbnails of the n boxes from one decode of in, into th[0..n);
 * th[0] also holds what the decode took. */
static td_status make_thumbs(const thumbd_config *cfg, const config_size *boxes, int n,
                             memgate *gate, bool may_defer, FILE *in, cancel_token *tok,
                             pipeline_thumb *th, char *err)
{
    memset(th, 0, (size_t)n * sizeof *th);
    decode_ctx c = {.cfg = cfg, .gate = gate, .may_defer = may_defer, .tok = tok,
                    .warnings = &th->warnings, .nboxes = n};
    memcpy(c.boxes, boxes, (size_t)n * sizeof *boxes);
    image_f img = {0};
    double t0 = clock_now_s();
    td_status st = decode(cfg, in, &c, tok, &img, err);
    memgate_release(c.gate, c.reserved_decoder); /* the decoder's buffers are gone */
    th->decode_ms = ms_since(t0);
    th->src_w = c.info.width;
    th->src_h = c.info.height;
    th->decoder = c.decoder;
    if (st == TD_OK)
        st = cancelled(tok, err);
    t0 = clock_now_s();
    if (st == TD_OK)
        st = color_to_srgb(&img, c.info.space, c.info.icc, c.info.icc_len, err);
    if (st == TD_OK)
        st = make_boxes(cfg, &c, &img, n, th, err);
    th->resize_ms = ms_since(t0);
    if (st == TD_OK)
        st = cancelled(tok, err);
    if (c.started)
        shrink_abort(&c.sh);
    image_free(&img);
    memgate_release(c.gate, c.reserved_image);
    free(c.icc_copy);
    for (int i = 0; st != TD_OK && i < n; i++)
        pipeline_thumb_free(&th[i]);
    return st;
}

td_status pipeline_make(const thumbd_config *cfg, memgate *gate, bool may_defer, FILE *in,
                        cancel_token *tok, pipeline_thumb *th, char err[TD_ERRLEN])
{
    config_size boxes[CONFIG_MAX_SIZES];
    config_boxes(cfg, boxes);
    return make_thumbs(cfg, boxes, 1, gate, may_defer, in, tok, th, err);
}

td_status pipeline_make_sizes(const thumbd_config *cfg, memgate *gate, bool may_defer, FILE *in,
                              cancel_token *tok, pipeline_thumb th[CONFIG_MAX_SIZES], int *n,
                              char err[TD_ERRLEN])
{
    config_size boxes[CONFIG_MAX_SIZES];
    *n = config_boxes(cfg, boxes);
    return make_thumbs(cfg, boxes, *n, gate, may_defer, in, tok, th, err);
}

void pipeline_thumb_free(pipeline_thumb *th)
{
    free(th->px);
    th->px = NULL;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* True if the open file is not what it was when opened: written to,
 * truncated or rewritten in place. The ctime catches a rewrite that kept
 * the size and put the old mtime back (cp -p, rsync --inplace, touch -r). */
static bool changed_since(int fd, const struct stat *before)
{
    struct stat now;
    return fstat(fd, &now) != 0 || now.st_size != before->st_size ||
           !same_time(&now.st_mtim, &before->st_mtim) || !same_time(&now.st_ctim, &before->st_ctim);
}

/* *transient: a failure is worth retrying (I/O errors, a file changing
 * under us); decoding errors of a corrupt file never are. */
static td_status process(const pipeline_env *env, thumbd_task *t, cancel_token *tok, bool *transient,
                         char *err)
{
    task_result *r = &t->res;
    if (t->preset_error)
        return td_fail(err, TD_EINPUT, "%s", t->preset_error);
    FILE *f;
    struct stat sb = {0};
    td_status st = open_source(env->cfg, env->in_fd, t->rel, &f, &sb, transient, err);
    if (st == TD_OK || ((st == TD_ELIMIT || st == TD_EINPUT) && S_ISREG(sb.st_mode))) {
        r->read_size = (int64_t)sb.st_size;
        r->read_mtime = sb.st_mtim;
        r->lasting = true; /* if it fails by its content from here on */
    }
    if (st != TD_OK)
        return st;
    pipeline_thumb th[CONFIG_MAX_SIZES];
    int n = 1;
    const thumbd_config *cfg = env->cfg;
    char kind = sniff(f);
    bool may_defer = env->may_defer && env->may_defer(t, env->defer_ctx);
    if (cfg->engine == ENGINE_VIPS || (!kind && cfg->engine == ENGINE_AUTO))
        st = pipevips_make(cfg, env->gate, may_defer, fileno(f), tok, th, &n, err);
    else
        st = pipeline_make_sizes(cfg, env->gate, may_defer, f, tok, th, &n, err);
    /* A file rewritten while it was read looks corrupt or truncated to the
     * decoder, or decodes into a mix of old and new: whatever the decode
     * said, the next attempt reads it whole. */
    if (st != TD_ECANCEL && st != TD_EBUSY && changed_since(fileno(f), &sb)) {
        for (int i = 0; i < n; i++)
            pipeline_thumb_free(&th[i]);
        *transient = true;
        char why[TD_ERRLEN] = "";
        if (st != TD_OK)
            snprintf(why, sizeof why, " (%.180s)", err);
        st = td_fail(err, TD_EIO, "the file changed while it was read%s", why);
    } else if (st != TD_OK && st != TD_ECANCEL && ferror(f)) {
        *transient = true; /* a read error, which a decoder takes for the end of the data */
    }
    fclose(f);
    r->decode_ms = th[0].decode_ms;
    r->resize_ms = th[0].resize_ms;
    r->src_w = th[0].src_w;
    r->src_h = th[0].src_h;
    r->decoder = th[0].decoder;
    if (st != TD_OK)
        return st;
    r->warnings = th[0].warnings;
    double t0 = clock_now_s();
    if (cfg->placeholder == PLACEHOLDER_THUMBHASH) { /* of the first size, as its file holds it */
        pipeline_as_stored(&th[0], pipeline_format_all(cfg, th, n));
        st = thumbhash_placeholder(th[0].px, th[0].w, th[0].h, th[0].alpha ? 4 : 3, r->placeholder,
                                   err);
    }
    if (st == TD_OK)
        st = pipewrite_outputs(env, t, th, n, &sb.st_mtim, transient, err);
    r->encode_ms = ms_since(t0);
    if (st == TD_OK) {
        r->out_w = th[0].w;
        r->out_h = th[0].h;
    }
    for (int i = 0; i < n; i++)
        pipeline_thumb_free(&th[i]);
    return st;
}

/* "task timeout after 2.0 s", "... after 0.05 s": the budget as given. */
void pipeline_timeout_message(char buf[TD_ERRLEN], double t)
{
    char s[320]; /* "%.1f" of any double fits: the message's length is known */
    snprintf(s, sizeof s, "%.1f", t);
    if (fabs(t * 10 - round(t * 10)) < 1e-9)
        snprintf(buf, TD_ERRLEN, "task timeout after %.24s s", s);
    else
        snprintf(buf, TD_ERRLEN, "task timeout after %g s", t);
}

void pipeline_run(const pipeline_env *env, thumbd_task *t, int worker, cancel_token *tok)
{
    const thumbd_config *cfg = env->cfg;
    double t0 = clock_now_s();
    task_result *r = &t->res;
    task_result_clear_outputs(r); /* a retry starts from a clean result */
    *r = (task_result){.worker = worker, .queue_ms = (t0 - t->t_queued) * 1000.0,
                       .read_size = t->size, .read_mtime = t->mtime};
    char err[TD_ERRLEN] = "";
    bool transient = false;
    td_status st = process(env, t, tok, &transient, err);
    r->total_ms = ms_since(t0);
    if (st == TD_EBUSY) { /* given back (env->may_defer): not a result */
        r->status = TASK_FAILED;
        r->deferred = true;
        snprintf(r->error, sizeof r->error, "%s", err);
        return;
    }
    if (st == TD_OK) {
        r->status = TASK_OK;
        r->error[0] = '\0';
        if (env->ut)
            uptodate_note_result(env->ut, t);
        return;
    }
    if (st == TD_ECANCEL) {
        r->status = TASK_CANCELLED;
        r->why = cancel_check(tok);
        if (r->why == CANCEL_TIMEOUT)
            pipeline_timeout_message(r->error, cfg->task_timeout);
        else {
            char s[320]; /* "%.1f" of any double fits: the message's length is known */
            snprintf(s, sizeof s, "%.1f", r->total_ms / 1000.0);
            snprintf(r->error, sizeof r->error, "cancelled by %.200s after %.24s s", err, s);
        }
    } else {
        r->status = TASK_FAILED;
        r->transient = transient;
        r->lasting = r->lasting && !transient && (st == TD_EINPUT || st == TD_ELIMIT);
        snprintf(r->error, sizeof r->error, "%s", err);
    }
    task_result_clear_outputs(r);
    if (env->ut)
        uptodate_note_result(env->ut, t);
}
