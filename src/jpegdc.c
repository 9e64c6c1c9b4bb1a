/* Progressive JPEG DC-only decoder (see jpegdc.h). Markers and the DC
 * Huffman scans are parsed here, per ITU-T T.81 Annex G; everything else is
 * skipped or left to libjpeg through *fallback. */
#include "thumbd/jpegdc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COMPS = 3 };

typedef struct huff {
    int32_t maxcode[18];       /* largest code of each length, -1 if none */
    int32_t valptr[17];
    int32_t mincode[17];
    uint8_t vals[256];
    bool defined;
} huff;

typedef struct comp {
    int id, h, v, tq;
    int bw, bh;                /* blocks the component really has */
    int pw;                    /* row stride of dc[] (padded to whole MCUs) */
    int16_t *dc;               /* DC coefficient per block, scaled by 2^al */
    int al;                    /* precision so far: -1 none, 0 complete */
    int pred, td;
} comp;

typedef struct dcdec {
    FILE *f;
    uint32_t acc;
    int nbits;
    int marker;                /* marker met inside entropy data, 0 none */
    bool ran_out;              /* bits were needed past the data */
    bool eof;
    int w, h, nc, hmax, vmax, mcux, mcuy;
    comp c[MAX_COMPS];
    uint16_t q[4];
    huff ht[4];
    int restart;
    int scans, max_scans;
    cancel_token *tok;
    char *err;
} dcdec;

/* Outcomes of the internal steps, besides td_status. */
enum { FALLBACK = 100, DONE = 101 };

/* Bytes come one at a time: getc_unlocked, as the stream belongs to this
 * task's thread alone (getc takes the stream's lock for every byte). */
static int next_entropy_byte(dcdec *d)
{
    if (d->marker || d->eof)
        return -1;
    int c = getc_unlocked(d->f);
    if (c == EOF) {
        d->eof = true;
        return -1;
    }
    if (c != 0xFF)
        return c;
    int c2;
    do
        c2 = getc_unlocked(d->f);
    while (c2 == 0xFF);
    if (c2 == 0)
        return 0xFF; /* stuffed byte */
    if (c2 == EOF)
        d->eof = true;
    else
        d->marker = c2;
    return -1;
}

static int get_bit(dcdec *d)
{
    if (d->nbits == 0) {
        int b = next_entropy_byte(d);
        if (b < 0) {
            d->ran_out = true;
            b = 0;
        }
        d->acc = (uint32_t)b;
        d->nbits = 8;
    }
    return (int)(d->acc >> --d->nbits) & 1;
}

static int get_bits(dcdec *d, int n)
{
    int v = 0;
    while (n--)
        v = v << 1 | get_bit(d);
    return v;
}

static int huff_decode(dcdec *d, const huff *t)
{
    int32_t code = 0;
    for (int l = 1; l <= 16; l++) {
        code = code << 1 | get_bit(d);
        if (t->maxcode[l] >= 0 && code <= t->maxcode[l])
            return t->vals[t->valptr[l] + code - t->mincode[l]];
    }
    return -1;
}

static int read_u16(FILE *f)
{
    int a = getc_unlocked(f), b = getc_unlocked(f);
    return a == EOF || b == EOF ? -1 : a << 8 | b;
}

/* Reads a marker segment's payload (after its length) into buf. */
static int read_segment(dcdec *d, uint8_t *buf, int *len)
{
    int n = read_u16(d->f);
    if (n < 2 || fread(buf, 1, (size_t)(n - 2), d->f) != (size_t)(n - 2))
        return td_fail(d->err, TD_EINPUT, "truncated JPEG: premature end of data in a marker");
    *len = n - 2;
    return TD_OK;
}

static int parse_sof(dcdec *d, const uint8_t *p, int len)
{
    if (len < 6 || p[0] != 8)
        return FALLBACK;
    d->h = p[1] << 8 | p[2];
    d->w = p[3] << 8 | p[4];
    d->nc = p[5];
    if ((d->nc != 1 && d->nc != 3) || len < 6 + 3 * d->nc || d->w < 1 || d->h < 1)
        return FALLBACK;
    d->hmax = d->vmax = 1;
    for (int i = 0; i < d->nc; i++) {
        comp *c = &d->c[i];
        c->id = p[6 + 3 * i];
        c->h = p[7 + 3 * i] >> 4;
        c->v = p[7 + 3 * i] & 15;
        c->tq = p[8 + 3 * i] & 3;
        c->al = -1;
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
            return FALLBACK;
        if (d->nc == 1)
            c->h = c->v = 1; /* a lone component is never interleaved */
        d->hmax = c->h > d->hmax ? c->h : d->hmax;
        d->vmax = c->v > d->vmax ? c->v : d->vmax;
    }
    d->mcux = (d->w + 8 * d->hmax - 1) / (8 * d->hmax);
    d->mcuy = (d->h + 8 * d->vmax - 1) / (8 * d->vmax);
    for (int i = 0; i < d->nc; i++) {
        comp *c = &d->c[i];
        int cw = (d->w * c->h + d->hmax - 1) / d->hmax, ch = (d->h * c->v + d->vmax - 1) / d->vmax;
        c->bw = (cw + 7) / 8;
        c->bh = (ch + 7) / 8;
        c->pw = d->mcux * c->h;
        c->dc = calloc((size_t)c->pw * (size_t)(d->mcuy * c->v), sizeof *c->dc);
        if (!c->dc)
            return td_fail(d->err, TD_ENOMEM, "out of memory for DC coefficients");
    }
    return TD_OK;
}

static int parse_dht(dcdec *d, const uint8_t *p, int len)
{
    while (len > 17) {
        int tc = p[0] >> 4, th = p[0] & 15, total = 0;
        for (int i = 1; i <= 16; i++)
            total += p[i];
        if (total > 256 || 17 + total > len || th > 3)
            return td_fail(d->err, TD_EINPUT, "corrupt JPEG: bad Huffman table");
        if (tc == 0) {
            huff *t = &d->ht[th];
            int32_t code = 0, k = 0;
            for (int l = 1; l <= 16; l++) {
                t->valptr[l] = k;
                t->mincode[l] = code;
                code += p[l];
                k += p[l];
                t->maxcode[l] = p[l] ? code - 1 : -1;
                code <<= 1;
            }
            memcpy(t->vals, p + 17, (size_t)total);
            t->defined = true;
        }
        p += 17 + total;
        len -= 17 + total;
    }
    return TD_OK;
}

static int parse_dqt(dcdec *d, const uint8_t *p, int len)
{
    while (len > 0) {
        int pq = p[0] >> 4, tq = p[0] & 3, n = pq ? 129 : 65;
        if (len < n)
            return td_fail(d->err, TD_EINPUT, "corrupt JPEG: bad quantisation table");
        d->q[tq] = (uint16_t)(pq ? p[1] << 8 | p[2] : p[1]);
        p += n;
        len -= n;
    }
    return TD_OK;
}

/* Skips to the marker that ends the current entropy-coded segment. */
static int find_marker(dcdec *d)
{
    if (d->marker) {
        int m = d->marker;
        d->marker = 0;
        return m;
    }
    for (;;) {
        int c = getc_unlocked(d->f);
        if (c == EOF)
            return -1;
        if (c != 0xFF)
            continue;
        do
            c = getc_unlocked(d->f);
        while (c == 0xFF);
        if (c == EOF)
            return -1;
        if (c != 0)
            return c;
    }
}

static int restart_marker(dcdec *d)
{
    d->nbits = 0;
    int m = find_marker(d);
    if (m < 0xD0 || m > 0xD7)
        return td_fail(d->err, TD_EINPUT, "corrupt JPEG: restart marker missing");
    for (int i = 0; i < d->nc; i++)
        d->c[i].pred = 0;
    return TD_OK;
}

/* One block's DC: a first-scan difference or a refinement bit. */
static int decode_block(dcdec *d, comp *c, int bx, int by, int ah, int al)
{
    int16_t *coef = &c->dc[(size_t)by * (size_t)c->pw + (size_t)bx];
    if (ah) {
        if (get_bit(d))
            *coef = (int16_t)(*coef | (1 << al));
        return TD_OK;
    }
    int s = huff_decode(d, &d->ht[c->td]);
    if (s < 0 || s > 11)
        return td_fail(d->err, TD_EINPUT, "corrupt JPEG: bad Huffman code");
    int diff = 0;
    if (s) {
        diff = get_bits(d, s);
        if (diff < 1 << (s - 1))
            diff -= (1 << s) - 1;
    }
    /* A DC coefficient fits in 16 bits (libjpeg's JCOEF); a stream that
     * walks the predictor outside that is corrupt (and would overflow). */
    long v = ((long)c->pred + diff) * (1L << al);
    if (v < -32768 || v > 32767)
        return td_fail(d->err, TD_EINPUT, "corrupt JPEG: DC coefficient out of range");
    c->pred += diff;
    *coef = (int16_t)v;
    return TD_OK;
}

static int decode_dc_scan(dcdec *d, comp **sc, int ns, int ah, int al)
{
    for (int i = 0; i < ns; i++) {
        sc[i]->pred = 0;
        if (!ah && !d->ht[sc[i]->td].defined)
            return td_fail(d->err, TD_EINPUT, "corrupt JPEG: undefined Huffman table");
    }
    d->nbits = 0;
    /* A scan of one component walks its own blocks; an interleaved one, MCUs. */
    int rows = ns == 1 ? sc[0]->bh : d->mcuy, cols = ns == 1 ? sc[0]->bw : d->mcux;
    long mcu = 0;
    for (int my = 0; my < rows; my++) {
        if (cancel_check(d->tok) != CANCEL_NONE)
            return td_fail(d->err, TD_ECANCEL, "%s", cancel_reason_name(cancel_check(d->tok)));
        for (int mx = 0; mx < cols; mx++, mcu++) {
            if (d->restart && mcu > 0 && mcu % d->restart == 0 && restart_marker(d) != TD_OK)
                return TD_EINPUT;
            for (int i = 0; i < ns; i++) {
                comp *c = sc[i];
                int bh = ns == 1 ? 1 : c->v, bw = ns == 1 ? 1 : c->h;
                for (int v = 0; v < bh; v++)
                    for (int h = 0; h < bw; h++)
                        if (decode_block(d, c, mx * bw + h, my * bh + v, ah, al) != TD_OK)
                            return TD_EINPUT;
            }
        }
        if (d->ran_out)
            return td_fail(d->err, TD_EINPUT, "%s JPEG: premature end of data in DC scan at row %d of %d",
                           d->eof ? "truncated" : "corrupt", my * 8 * d->vmax, d->h);
    }
    for (int i = 0; i < ns; i++)
        sc[i]->al = al;
    return TD_OK;
}

static bool all_dc(const dcdec *d, int max_al)
{
    for (int i = 0; i < d->nc; i++)
        if (d->c[i].al < 0 || d->c[i].al > max_al)
            return false;
    return true;
}

static int parse_sos(dcdec *d, const uint8_t *p, int len)
{
    if (++d->scans > d->max_scans)
        return td_fail(d->err, TD_ELIMIT, "JPEG has more than %d scans, over --max-scans %d",
                       d->max_scans, d->max_scans);
    if (!d->nc || len < 1)
        return td_fail(d->err, TD_EINPUT, "corrupt JPEG: scan before frame header");
    int ns = p[0];
    if (ns < 1 || ns > d->nc || len < 1 + 2 * ns + 3)
        return td_fail(d->err, TD_EINPUT, "corrupt JPEG: bad scan header");
    comp *sc[MAX_COMPS];
    for (int i = 0; i < ns; i++) {
        sc[i] = NULL;
        for (int k = 0; k < d->nc; k++)
            if (d->c[k].id == p[1 + 2 * i])
                sc[i] = &d->c[k];
        if (!sc[i])
            return td_fail(d->err, TD_EINPUT, "corrupt JPEG: scan names an unknown component");
        sc[i]->td = p[2 + 2 * i] >> 4 & 3;
    }
    int ss = p[1 + 2 * ns], se = p[2 + 2 * ns], ah = p[3 + 2 * ns] >> 4, al = p[3 + 2 * ns] & 15;
    if (ss != 0) {
        /* An AC scan: once every component has its DC, the rest of the file
         * is not needed. Otherwise skip its data. */
        if (all_dc(d, 15))
            return DONE;
        d->marker = 0;
        return TD_OK;
    }
    if (se != 0 || al > 13 || (ah && ah != al + 1))
        return FALLBACK;
    int st = decode_dc_scan(d, sc, ns, ah, al);
    return st == TD_OK && all_dc(d, 0) ? DONE : st;
}

static int parse(dcdec *d)
{
    if (getc_unlocked(d->f) != 0xFF || getc_unlocked(d->f) != 0xD8)
        return td_fail(d->err, TD_EINPUT, "not a JPEG file");
    uint8_t *buf = malloc(65536);
    if (!buf)
        return td_fail(d->err, TD_ENOMEM, "out of memory");
    int st = TD_OK;
    while (st == TD_OK) {
        int m = find_marker(d), len = 0;
        if (m < 0) {
            st = all_dc(d, 15) ? DONE
                 : td_fail(d->err, TD_EINPUT, "truncated JPEG: premature end of data before the DC scans");
            break;
        }
        if (m == 0xD9) {
            st = all_dc(d, 15) ? DONE : td_fail(d->err, TD_EINPUT, "corrupt JPEG: no DC scan");
            break;
        }
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01)
            continue; /* parameterless */
        st = read_segment(d, buf, &len);
        if (st != TD_OK)
            break;
        switch (m) {
        case 0xC2: st = d->nc ? FALLBACK : parse_sof(d, buf, len); break;
        case 0xC4: st = parse_dht(d, buf, len); break;
        case 0xDB: st = parse_dqt(d, buf, len); break;
        case 0xDD: d->restart = len >= 2 ? buf[0] << 8 | buf[1] : 0; break;
        case 0xDA: st = parse_sos(d, buf, len); break;
        case 0xCC: st = FALLBACK; break; /* arithmetic conditioning */
        default:
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8)
                st = FALLBACK; /* another frame type */
        }
    }
    free(buf);
    return st;
}

static uint8_t clamp8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* The 1x1 IDCT of libjpeg (jidctred.c), with the midpoint of the missing
 * low bits when the DC refinement scan was not read. */
static double dc_pixel(const dcdec *d, const comp *c, int x, int y)
{
    int bx = x * c->h / d->hmax, by = y * c->v / d->vmax;
    double coef = c->dc[(size_t)by * (size_t)c->pw + (size_t)bx];
    if (c->al > 0)
        coef += ((1 << c->al) - 1) / 2.0;
    return coef * d->q[c->tq] / 8.0 + 128.0;
}

static int emit_rows(dcdec *d, const codec_sink *sink)
{
    int ow = (d->w + 7) / 8, oh = (d->h + 7) / 8, nc = d->nc;
    uint8_t *row = malloc((size_t)ow * (size_t)nc);
    if (!row)
        return td_fail(d->err, TD_ENOMEM, "out of memory");
    for (int y = 0; y < oh; y++) {
        uint8_t *p = row;
        for (int x = 0; x < ow; x++, p += nc) {
            double yy = dc_pixel(d, &d->c[0], x, y);
            if (nc == 1) {
                p[0] = clamp8(yy);
                continue;
            }
            double cb = dc_pixel(d, &d->c[1], x, y) - 128.0, cr = dc_pixel(d, &d->c[2], x, y) - 128.0;
            p[0] = clamp8(yy + 1.402 * cr);
            p[1] = clamp8(yy - 0.344136 * cb - 0.714136 * cr);
            p[2] = clamp8(yy + 1.772 * cb);
        }
        if (!sink->row(sink->ctx, y, row))
            break;
    }
    free(row);
    return TD_OK;
}

td_status jpegdc_decode(FILE *f, const codec_sink *sink, int max_scans, cancel_token *tok,
                        bool *fallback, char err[TD_ERRLEN])
{
    dcdec d;
    memset(&d, 0, sizeof d);
    d.f = f;
    d.tok = tok;
    d.max_scans = max_scans;
    d.err = err;
    *fallback = false;
    int st = parse(&d);
    if (st == FALLBACK) {
        *fallback = true;
        st = TD_OK;
    } else if (st == DONE) {
        st = emit_rows(&d, sink);
    }
    for (int i = 0; i < MAX_COMPS; i++)
        free(d.c[i].dc);
    return (td_status)st;
}
