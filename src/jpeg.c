/* JPEG through libjpeg-turbo. libjpeg reports errors by calling error_exit,
 * which here longjmps back into the function that called libjpeg: no error
 * path leaves this file. Its warnings (a file that ends early, corrupt
 * entropy data) fail the decode or not by --fail-on (failon.h). */
#include <errno.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
/* jpeglib.h needs stdio.h and stddef.h first. */
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

#include "thumbd/codec.h"
#include "thumbd/exif.h"
#include "thumbd/jpegdc.h"
#include "thumbd/jpeglf.h"

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int sys_errno;             /* errno when the error was raised */
    char msg[JMSG_LENGTH_MAX];
    int row, rows;   /* progress, for messages */
    char pos[48];              /* where a fatal warning was: "at row 480 of 512" */
    failon_level fail_on;      /* decode only: the warnings that fail it */
    const codec_sink *sink;    /* decode only: told the others */
    bool seen[JMSG_LASTMSGCODE];  /* warnings told already: one of each */
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* The row of the image where the data being read is: the input side, so
 * that it also means something while a multi-scan file is consumed. */
static int input_row(j_common_ptr c, const jerr *e)
{
    if (!c->is_decompressor)
        return e->row;
    j_decompress_ptr d = (j_decompress_ptr)c;
    long r = (long)d->input_iMCU_row * d->max_v_samp_factor * DCTSIZE;
    if (r < e->row)
        r = e->row;
    return r > e->rows ? e->rows : (int)r;
}

/* What a libjpeg warning is (failon.h), in libjpeg's own words: the end of
 * the file before the image's end is a truncation, a "Corrupt JPEG data"
 * message corrupt data it reads past (filling what it cannot decode with
 * grey), any other warning is about a file that is not damaged. */
static failon_level warning_kind(j_common_ptr c, const char *text)
{
    if (c->err->msg_code == JWRN_JPEG_EOF)
        return FAIL_ON_TRUNCATED;
    return !strncmp(text, "Corrupt JPEG data", 17) ? FAIL_ON_ERROR : FAIL_ON_WARNING;
}

/* libjpeg's warnings: those at or above --fail-on stop the decode (jump 2:
 * truncated, 3: corrupt data, 4: the others); below it, the first of each
 * kind goes to the sink, and libjpeg goes on. */
static void on_message(j_common_ptr c, int level)
{
    jerr *e = (jerr *)c->err;
    if (level != -1)
        return;
    c->err->num_warnings++;
    char text[JMSG_LENGTH_MAX];
    c->err->format_message(c, text);
    failon_level kind = warning_kind(c, text);
    char pos[sizeof e->pos];
    if (e->rows > 0)
        snprintf(pos, sizeof pos, "at row %d of %d", input_row(c, e), e->rows);
    else
        snprintf(pos, sizeof pos, "in the header");
    if (failon_fails(e->fail_on, kind)) {
        memcpy(e->pos, pos, sizeof pos);
        snprintf(e->msg, sizeof e->msg, "%s", text);
        longjmp(e->jb, kind == FAIL_ON_TRUNCATED ? 2 : kind == FAIL_ON_ERROR ? 3 : 4);
    }
    int code = c->err->msg_code;
    if (code >= 0 && code < JMSG_LASTMSGCODE && e->seen[code])
        return;
    if (code >= 0 && code < JMSG_LASTMSGCODE)
        e->seen[code] = true;
    if (e->sink && e->sink->warning) {
        char w[JMSG_LENGTH_MAX + sizeof e->pos + 4];
        snprintf(w, sizeof w, "%s (%s)", text, pos);
        e->sink->warning(e->sink->ctx, w);
    }
}

char codec_sniff(const uint8_t *h, size_t n)
{
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
        return 'j';
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 8 && !memcmp(h, png_sig, 8))
        return 'p';
    return 0;
}

/* What the header pass keeps of the metadata: the first Exif block and the
 * ICC profile's chunks, up to a cap. Every other APP1/APP2 marker is skipped
 * unread, so a file of a thousand APP1 markers costs no memory (libjpeg's
 * jpeg_save_markers would keep them all). */
enum { ICC_MAX_CHUNKS = 256 };
typedef struct jmeta {
    uint8_t *exif;
    size_t exif_len;
    uint8_t *icc[ICC_MAX_CHUNKS];  /* by sequence number, 1-based */
    size_t icc_len[ICC_MAX_CHUNKS];
    int icc_count;
    size_t icc_total, cap;
} jmeta;

static void jmeta_free(jmeta *m)
{
    if (!m)
        return;
    free(m->exif);
    for (int i = 0; i < ICC_MAX_CHUNKS; i++)
        free(m->icc[i]);
    free(m);
}

static int src_byte(j_decompress_ptr d)
{
    struct jpeg_source_mgr *s = d->src;
    if (s->bytes_in_buffer == 0 && !s->fill_input_buffer(d))
        return -1;
    s->bytes_in_buffer--;
    return *s->next_input_byte++;
}

static bool src_read(j_decompress_ptr d, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int b = src_byte(d);
        if (b < 0)
            return false;
        dst[i] = (uint8_t)b;
    }
    return true;
}

/* Reads n bytes into a new buffer stored in *slot (inside the jmeta, so
 * that a longjmp out of libjpeg mid-read leaves it to jmeta_free). Returns
 * false, skipping the bytes, when out of memory. */
static bool src_take(j_decompress_ptr d, size_t n, uint8_t **slot)
{
    *slot = malloc(n ? n : 1);
    if (!*slot) {
        d->src->skip_input_data(d, (long)n);
        return false;
    }
    if (!src_read(d, *slot, n)) {
        free(*slot);
        *slot = NULL;
        return false;
    }
    return true;
}

/* libjpeg's marker processor for APP1 and APP2. */
static boolean on_app_marker(j_decompress_ptr d)
{
    jmeta *m = d->client_data;
    int hi = src_byte(d), lo = src_byte(d);
    if (hi < 0 || lo < 0)
        return TRUE;
    long len = (long)(hi << 8 | lo) - 2;
    uint8_t head[14];
    long want = d->unread_marker == JPEG_APP0 + 1 ? 6 : 14;
    if (len < want || !src_read(d, head, (size_t)want)) {
        if (len > 0)
            d->src->skip_input_data(d, len < want ? len : len - want);
        return TRUE;
    }
    len -= want;
    if (d->unread_marker == JPEG_APP0 + 1) {
        if (!m->exif && !memcmp(head, "Exif\0\0", 6)) {
            if (src_take(d, (size_t)len, &m->exif)) /* consumes len bytes either way */
                m->exif_len = (size_t)len;
        } else if (len > 0) {
            d->src->skip_input_data(d, len);
        }
        return TRUE;
    }
    int seq = head[12], count = head[13];
    bool keep = !memcmp(head, "ICC_PROFILE\0", 12) && seq >= 1 && seq <= count &&
                (m->icc_count == 0 || m->icc_count == count) && !m->icc[seq] &&
                m->icc_total + (size_t)len <= m->cap;
    if (keep && src_take(d, (size_t)len, &m->icc[seq])) {
        m->icc_len[seq] = (size_t)len;
        m->icc_count = count;
        m->icc_total += (size_t)len;
    } else if (len > 0 && !keep) {
        d->src->skip_input_data(d, len);
    }
    return TRUE;
}

/* The ICC profile, if every chunk arrived; malloc'd. */
static uint8_t *assemble_icc(const jmeta *m, size_t *len)
{
    *len = 0;
    if (!m->icc_count)
        return NULL;
    for (int i = 1; i <= m->icc_count; i++)
        if (!m->icc[i])
            return NULL;
    uint8_t *p = malloc(m->icc_total ? m->icc_total : 1);
    if (!p)
        return NULL;
    for (int i = 1; i <= m->icc_count; i++) {
        memcpy(p + *len, m->icc[i], m->icc_len[i]);
        *len += m->icc_len[i];
    }
    return p;
}

/* Chooses the rows' colour space: grey, RGB or CMYK. Returns the channels. */
static int set_out_color_space(j_decompress_ptr d)
{
    switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE:
        d->out_color_space = JCS_GRAYSCALE;
        return 1;
    case JCS_CMYK:
    case JCS_YCCK:
        d->out_color_space = JCS_CMYK;
        return 4;
    default:
        d->out_color_space = JCS_RGB;
        return 3;
    }
}

/* jpeglf's mode for thumbnails: see bench/README.md (progjpeg) and
 * bench/quality.md for what each costs and gives. */
#ifndef JPEG_LF_MODE
#define JPEG_LF_MODE JPEGLF_LOWFREQ
#endif

/* Progressive, Huffman-coded, 8-bit grey or YCbCr: what jpegdc and jpeglf
 * handle (jpeglf also needs a sampling it can scale: jpeglf_supported). */
static bool own_eligible(j_decompress_ptr d, int num)
{
    if (!(d->progressive_mode && !d->arith_code && d->data_precision == 8 &&
          ((d->num_components == 1 && d->jpeg_color_space == JCS_GRAYSCALE) ||
           (d->num_components == 3 && d->jpeg_color_space == JCS_YCbCr))))
        return false;
    if (num == 1)
        return true;
    int h[3], v[3];
    for (int i = 0; i < d->num_components; i++) {
        h[i] = d->comp_info[i].h_samp_factor;
        v[i] = d->comp_info[i].v_samp_factor;
    }
    return jpeglf_supported(num, d->num_components, h, v);
}

/* What the decoder of own_eligible files holds: jpegdc one coefficient per
 * block; jpeglf as jpeglf_work_bytes says. */
static size_t own_bytes(j_decompress_ptr d, int num)
{
    size_t n = 0;
    if (num != 1) {
        int h[3], v[3];
        for (int i = 0; i < d->num_components; i++) {
            h[i] = d->comp_info[i].h_samp_factor;
            v[i] = d->comp_info[i].v_samp_factor;
        }
        return jpeglf_work_bytes(JPEG_LF_MODE, num, (int)d->image_width, (int)d->image_height, d->num_components, h, v);
    }
    for (int i = 0; i < d->num_components; i++)
        n += ((size_t)d->comp_info[i].width_in_blocks + 4) * (d->comp_info[i].height_in_blocks + 4) * 2;
    return n + (size_t)d->image_width + 65536 + 32768; /* + the parser's buffers and tables */
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

/* A multi-scan (progressive) file keeps every DCT coefficient of the image
 * until the last scan (jdcoefct.c: a 128-byte block for each block of each
 * component, rounded up to whole MCUs), then the sample rows of the output
 * side and libjpeg's tables; a single-scan one only an iMCU row or two. */
static size_t work_bytes(j_decompress_ptr d)
{
    size_t n = 0;
    for (int i = 0; i < d->num_components; i++) {
        jpeg_component_info *c = &d->comp_info[i];
        size_t bw = round_up(c->width_in_blocks, (size_t)c->h_samp_factor);
        if (jpeg_has_multiple_scans(d))
            n += bw * round_up(c->height_in_blocks, (size_t)c->v_samp_factor) * sizeof(JBLOCK);
        else
            n += bw * (size_t)c->v_samp_factor * 2 * sizeof(JBLOCK);
    }
    if (!jpeg_has_multiple_scans(d))
        return n + (size_t)d->image_width * 4 * 2;
    return n + (size_t)d->image_width * 4 * 2 * DCTSIZE + 65536;
}

static void tell_decoder(const codec_sink *sink, const char *name)
{
    if (sink->decoder)
        sink->decoder(sink->ctx, name);
}

/* libjpeg at DCT scale n/8, as the report names it. */
static const char *scale_name(unsigned n)
{
    static const char *const names[] = {"jpeg-1/8", "jpeg-2/8", "jpeg-3/8", "jpeg-4/8",
                                        "jpeg-5/8", "jpeg-6/8", "jpeg-7/8", "jpeg-8/8"};
    return names[n >= 1 && n <= 8 ? n - 1 : 7];
}

/* Reads all remaining input into the coefficient buffer, one iMCU row at a
 * time, polling the token and counting scans: thousands of tiny scans make a
 * small file cost minutes of CPU. */
static td_status consume_all(j_decompress_ptr d, int max_scans, cancel_token *tok, char *err)
{
    for (;;) {
        cancel_reason why = cancel_check(tok);
        if (why != CANCEL_NONE)
            return td_fail(err, TD_ECANCEL, "%s", cancel_reason_name(why));
        int r = jpeg_consume_input(d);
        if (r == JPEG_REACHED_EOI || r == JPEG_SUSPENDED)
            return TD_OK;
        if (r == JPEG_REACHED_SOS && d->input_scan_number > max_scans)
            return td_fail(err, TD_ELIMIT, "JPEG has more than %d scans, over --max-scans %d",
                           max_scans, max_scans);
    }
}

/* Decodes the whole image with jpegdc (num 1) or jpeglf (2, 4), having
 * reserved their memory with the sink: *finished, or *fallback when the
 * file turns out to be one they leave to libjpeg (d is then read anew). */
static td_status own_decode(j_decompress_ptr d, FILE *f, const codec_sink *sink, const codec_limits *lim,
                            cancel_token *tok, int num, bool *finished, char *err)
{
    jpeg_calc_output_dimensions(d);
    td_status st = sink->start(sink->ctx, (int)d->output_width, (int)d->output_height, own_bytes(d, num), err);
    if (st != TD_OK)
        return st;
    jpeg_abort_decompress(d);
    rewind(f);
    bool fallback;
    if (num == 1) {
        tell_decoder(sink, "jpeg-dc-1/8");
        st = jpegdc_decode(f, sink, lim->max_scans, tok, &fallback, err);
        if (st == TD_EINPUT && !failon_fails(lim->fail_on, strncmp(err, "truncated", 9)
                                                                ? FAIL_ON_ERROR
                                                                : FAIL_ON_TRUNCATED)) {
            /* Damage below --fail-on (no row went out): libjpeg reads past
             * it, fills what is missing and tells the sink. */
            fallback = true;
            st = TD_OK;
        }
    } else {
        /* jpeglf reads past damage below --fail-on itself. */
        tell_decoder(sink, num == 2 ? "jpeg-lf-2/8" : "jpeg-lf-4/8");
        st = jpeglf_decode(f, sink, JPEG_LF_MODE, num, lim->max_scans, lim->fail_on, tok, &fallback, err);
    }
    if (st != TD_OK || !fallback) {
        *finished = true;
        return st;
    }
    /* Something left to libjpeg: start over with it. (The memory reserved
     * above understates this rare case: a frame type or marker the header
     * did not show.) */
    rewind(f);
    jpeg_stdio_src(d, f);
    jpeg_read_header(d, TRUE);
    set_out_color_space(d);
    d->scale_num = (unsigned)num;
    d->scale_denom = 8;
    return TD_OK;
}

/* Sets the DCT scale num/8 and starts the decompression, reserving its
 * memory with the sink. A progressive file at scale 1/8, 2/8 or 4/8 (3/8
 * taken up to 4/8) goes to own_decode, which may do the whole decode (*finished). Multi-scan input
 * left to libjpeg is consumed here, polling tok. libjpeg's errors longjmp
 * to the caller's setjmp. */
static td_status start_output(j_decompress_ptr d, FILE *f, const codec_sink *sink, const codec_limits *lim,
                              cancel_token *tok, int num, bool *finished, char *err)
{
    td_status st;
    /* 3/8 costs libjpeg's whole coefficient buffer; jpeglf at 4/8 about
     * half of it, for a larger image to shrink. */
    if (num == 3 && own_eligible(d, 4))
        num = 4;
    d->scale_num = (unsigned)(num >= 1 && num <= 8 ? num : 8);
    d->scale_denom = 8;
    bool started = false;
    if ((num == 1 || num == 2 || num == 4) && own_eligible(d, num)) {
        st = own_decode(d, f, sink, lim, tok, num, finished, err);
        if (st != TD_OK || *finished)
            return st;
        started = true;
    }
    if (!started) {
        jpeg_calc_output_dimensions(d);
        st = sink->start(sink->ctx, (int)d->output_width, (int)d->output_height, work_bytes(d), err);
        if (st != TD_OK)
            return st;
    }
    tell_decoder(sink, scale_name(d->scale_num));
    if (jpeg_has_multiple_scans(d)) {
        /* A multi-scan file is consumed whole before the first row comes
         * out; buffered-image mode lets us poll the token while it is. */
        d->buffered_image = TRUE;
        jpeg_start_decompress(d);
        st = consume_all(d, lim->max_scans, tok, err);
        if (st != TD_OK)
            return st;
        jpeg_start_output(d, d->input_scan_number);
    } else {
        jpeg_start_decompress(d);
    }
    return TD_OK;
}

/* Hands the rows to the sink, through row (one output row), until the last
 * or until the sink needs no more; polls tok between rows. */
static td_status read_rows(j_decompress_ptr d, jerr *e, const codec_sink *sink, JSAMPLE *row,
                           cancel_token *tok, char *err)
{
    while (d->output_scanline < d->output_height) {
        cancel_reason why = cancel_check(tok);
        if (why != CANCEL_NONE)
            return td_fail(err, TD_ECANCEL, "%s", cancel_reason_name(why));
        int y = (int)d->output_scanline;
        e->row = (int)((long)y * d->image_height / d->output_height);
        JSAMPROW rp = row;
        jpeg_read_scanlines(d, &rp, 1);
        if (!sink->row(sink->ctx, y, row))
            break; /* the rest of the image is not needed */
    }
    return TD_OK;
}

td_status jpeg_decode(FILE *f, const codec_sink *sink, const codec_limits *lim, cancel_token *tok,
                      char err[TD_ERRLEN])
{
    struct jpeg_decompress_struct d;
    jerr e;
    uint8_t *volatile icc = NULL;
    /* On the heap: it changes between setjmp and a longjmp. */
    jmeta *meta = calloc(1, sizeof *meta);
    if (!meta)
        return td_fail(err, TD_ENOMEM, "out of memory");
    JSAMPLE *volatile row = NULL;
    volatile td_status st = TD_OK;

    memset(&e, 0, sizeof e);
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    e.fail_on = lim->fail_on;
    e.sink = sink;
    int jump = setjmp(e.jb);
    if (jump) {
        if (jump == 2)
            td_fail(err, TD_EINPUT, "truncated JPEG: premature end of data %s", e.pos);
        else if (jump == 1 && strstr(e.msg, "Premature"))
            td_fail(err, TD_EINPUT, "truncated JPEG: premature end of data at row %d of %d", e.row,
                    e.rows);
        else if (jump == 3) /* libjpeg's "Corrupt JPEG data: " said otherwise */
            td_fail(err, TD_EINPUT, "corrupt JPEG: %s (%s)",
                    strncmp(e.msg, "Corrupt JPEG data: ", 19) ? e.msg : e.msg + 19, e.pos);
        else if (jump == 4)
            td_fail(err, TD_EINPUT, "JPEG warning, fatal under --fail-on warning: %s (%s)", e.msg,
                    e.pos);
        else
            td_fail(err, TD_EINPUT, "corrupt JPEG: %s", e.msg);
        jpeg_destroy_decompress(&d);
        free(icc);
        free(row);
        jmeta_free(meta);
        return TD_EINPUT;
    }
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    meta->cap = lim->max_chunk;
    d.client_data = meta;
    jpeg_set_marker_processor(&d, JPEG_APP0 + 1, on_app_marker);
    jpeg_set_marker_processor(&d, JPEG_APP0 + 2, on_app_marker);
    jpeg_read_header(&d, TRUE);

    codec_info info = {.width = (int)d.image_width, .height = (int)d.image_height, .alpha = -1};
    info.orientation = meta->exif ? exif_orientation(meta->exif, meta->exif_len) : 1;
    info.channels = set_out_color_space(&d);
    info.space = info.channels == 1 ? COLOR_GRAY
                 : info.channels == 3 ? COLOR_RGB
                 /* Adobe (Photoshop) writes inverted CMYK; its APP14 marker says so. */
                 : d.saw_Adobe_marker ? COLOR_CMYK_INVERTED : COLOR_CMYK;
    size_t icc_len = 0;
    icc = assemble_icc(meta, &icc_len);
    info.icc = icc;
    info.icc_len = icc_len;
    int num = 8;
    st = sink->header(sink->ctx, &info, &num, err);
    if (st != TD_OK)
        goto out;
    e.rows = (int)d.image_height;
    bool finished = false;
    st = start_output(&d, f, sink, lim, tok, num, &finished, err);
    if (st != TD_OK || finished)
        goto out;
    row = malloc((size_t)d.output_width * (size_t)d.output_components);
    if (!row) {
        st = td_fail(err, TD_ENOMEM, "out of memory for a %u-pixel row", d.output_width);
        goto out;
    }
    st = read_rows(&d, &e, sink, row, tok, err);
out:
    /* Abort rather than finish: the remaining data (rows not needed, trailing
     * markers) is never read. */
    jpeg_abort_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(icc);
    free(row);
    jmeta_free(meta);
    return st;
}

static void on_encode_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    e->sys_errno = errno;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

td_status jpeg_encode(FILE *f, const uint8_t *px, int w, int h, int c, int quality,
                      char err[TD_ERRLEN])
{
    struct jpeg_compress_struct cj;
    jerr e;
    memset(&e, 0, sizeof e);
    cj.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_encode_error;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&cj);
        if (ferror(f) && e.sys_errno) { /* the system says why better than libjpeg */
            td_fail(err, TD_EIO, "cannot write thumbnail: %s", strerror(e.sys_errno));
            errno = e.sys_errno;
            return TD_EIO;
        }
        return td_fail(err, TD_EIO, "JPEG encoder: %s", e.msg);
    }
    jpeg_create_compress(&cj);
    jpeg_stdio_dest(&cj, f);
    cj.image_width = (JDIMENSION)w;
    cj.image_height = (JDIMENSION)h;
    cj.input_components = c;
    cj.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cj);
    jpeg_set_quality(&cj, quality, TRUE);
    cj.optimize_coding = TRUE; /* a few % smaller, negligible cost at this size */
    jpeg_start_compress(&cj, TRUE);
    while (cj.next_scanline < cj.image_height) {
        JSAMPROW rp = (JSAMPROW)(px + (size_t)cj.next_scanline * (size_t)w * (size_t)c);
        jpeg_write_scanlines(&cj, &rp, 1);
    }
    jpeg_finish_compress(&cj);
    jpeg_destroy_compress(&cj);
    return TD_OK;
}
