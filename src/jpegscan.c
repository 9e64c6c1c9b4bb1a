/* Progressive JPEG entropy decoding (see jpegscan.h), per ITU-T T.81
 * Annexes B (markers), C (Huffman tables), F.2.2 (decoding procedures) and
 * G.1.2 (progressive DC and AC scans). */
#include "thumbd/jpegscan.h"

#include <stdlib.h>
#include <string.h>

const uint8_t jscan_natural[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* Internal outcome: the scan's data is damaged (s->err says how). */
enum { DAMAGED = 102 };

/* The next byte of the file, or EOF. f is read in blocks: the stream
 * belongs to this task's thread alone, and what is read ahead of the image's
 * end is never needed by anyone. */
static int next_byte(jscan *s)
{
    if (s->in_pos == s->in_len) {
        s->in_pos = 0;
        s->in_len = fread(s->in, 1, sizeof s->in, s->f);
        if (!s->in_len)
            return EOF;
    }
    return s->in[s->in_pos++];
}

/* A marker ends the entropy-coded data. */
static int next_entropy_byte(jscan *s)
{
    if (s->marker || s->eof)
        return -1;
    int c = next_byte(s);
    if (c == EOF) {
        s->eof = true;
        return -1;
    }
    if (c != 0xFF)
        return c;
    int c2;
    do
        c2 = next_byte(s);
    while (c2 == 0xFF);
    if (c2 == 0)
        return 0xFF; /* stuffed byte */
    if (c2 == EOF)
        s->eof = true;
    else
        s->marker = c2;
    return -1;
}

/* Tops the bit buffer up to at least 57 bits; past the data, with zeros
 * (counted in pad, so that using them shows as ran_out). */
static void fill(jscan *s)
{
    while (s->nbits <= 56) {
        /* The usual byte: in the buffer, not 0xFF. */
        if (s->in_pos < s->in_len && s->in[s->in_pos] != 0xFF && !s->marker) {
            s->acc = s->acc << 8 | s->in[s->in_pos++];
            s->nbits += 8;
            continue;
        }
        int b = next_entropy_byte(s);
        if (b < 0) {
            b = 0;
            s->pad += 8;
        }
        s->acc = s->acc << 8 | (uint64_t)b;
        s->nbits += 8;
    }
}

static bool ran_out(const jscan *s)
{
    return s->nbits < s->pad;
}

static int get_bits(jscan *s, int n)
{
    if (n == 0)
        return 0;
    if (s->nbits < n)
        fill(s);
    s->nbits -= n;
    return (int)(s->acc >> s->nbits) & ((1 << n) - 1);
}

static int get_bit(jscan *s)
{
    return get_bits(s, 1);
}

static int extend(int v, int n)
{
    return n && v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
}

static inline int huff_decode(jscan *s, const jscan_huff *t)
{
    if (s->nbits < 16)
        fill(s);
    int look = (int)(s->acc >> (s->nbits - 9)) & 511;
    int e = t->fast[look];
    if (e) {
        s->nbits -= e >> 8;
        return e & 255;
    }
    s->nbits -= 9;
    int32_t code = look;
    for (int l = 10; l <= 16; l++) {
        code = code << 1 | get_bit(s);
        if (code <= t->maxcode[l])
            return t->vals[t->valoff[l] + code];
    }
    return -1;
}

static int read_u16(jscan *s)
{
    int a = next_byte(s), b = next_byte(s);
    return a == EOF || b == EOF ? -1 : a << 8 | b;
}

static bool read_bytes(jscan *s, uint8_t *dst, size_t n)
{
    while (n) {
        if (s->in_pos == s->in_len) {
            int c = next_byte(s); /* refills */
            if (c == EOF)
                return false;
            *dst++ = (uint8_t)c;
            n--;
            continue;
        }
        size_t k = s->in_len - s->in_pos < n ? s->in_len - s->in_pos : n;
        memcpy(dst, s->in + s->in_pos, k);
        s->in_pos += k;
        dst += k;
        n -= k;
    }
    return true;
}

/* Skips to the marker that ends the current entropy-coded segment. */
static int find_marker(jscan *s)
{
    if (s->marker) {
        int m = s->marker;
        s->marker = 0;
        return m;
    }
    for (;;) {
        int c = next_byte(s);
        if (c == EOF)
            return -1;
        if (c != 0xFF)
            continue;
        do
            c = next_byte(s);
        while (c == 0xFF);
        if (c == EOF)
            return -1;
        if (c != 0)
            return c;
    }
}

static int parse_sof(jscan *s, const uint8_t *p, int len)
{
    if (len < 6 || p[0] != 8)
        return JSCAN_FALLBACK;
    s->h = p[1] << 8 | p[2];
    s->w = p[3] << 8 | p[4];
    s->nc = p[5];
    if ((s->nc != 1 && s->nc != 3) || len < 6 + 3 * s->nc || s->w < 1 || s->h < 1)
        return JSCAN_FALLBACK;
    s->hmax = s->vmax = 1;
    for (int i = 0; i < s->nc; i++) {
        jscan_comp *c = &s->c[i];
        c->id = p[6 + 3 * i];
        c->h = p[7 + 3 * i] >> 4;
        c->v = p[7 + 3 * i] & 15;
        c->tq = p[8 + 3 * i] & 3;
        c->dc_al = -1;
        c->keep = ~0ULL;
        memset(c->prec, -1, sizeof c->prec);
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
            return JSCAN_FALLBACK;
        if (s->nc == 1)
            c->h = c->v = 1; /* a lone component is never interleaved */
        s->hmax = c->h > s->hmax ? c->h : s->hmax;
        s->vmax = c->v > s->vmax ? c->v : s->vmax;
    }
    s->mcux = (s->w + 8 * s->hmax - 1) / (8 * s->hmax);
    s->mcuy = (s->h + 8 * s->vmax - 1) / (8 * s->vmax);
    for (int i = 0; i < s->nc; i++) {
        jscan_comp *c = &s->c[i];
        int cw = (s->w * c->h + s->hmax - 1) / s->hmax, ch = (s->h * c->v + s->vmax - 1) / s->vmax;
        c->bw = (cw + 7) / 8;
        c->bh = (ch + 7) / 8;
        c->pw = s->mcux * c->h;
        c->ph = s->mcuy * c->v;
    }
    int st = s->frame ? s->frame(s->ctx, s) : TD_OK;
    for (int i = 0; i < s->nc && st == TD_OK && s->want_ac; i++) {
        jscan_comp *c = &s->c[i];
        size_t n = (size_t)c->pw * (size_t)c->ph;
        c->mask_w = c->keep >> 32 ? 8 : c->keep >> 8 ? 4 : 1;
        c->mask = calloc(n, 2 * (size_t)c->mask_w);
        if (!c->mask)
            st = td_fail(s->err, TD_ENOMEM, "out of memory for %zu JPEG blocks", n);
    }
    return st;
}

static int restart_marker(jscan *s)
{
    s->nbits = s->pad = 0;
    s->eobrun = 0;
    int m = find_marker(s);
    if (m < 0xD0 || m > 0xD7) {
        if (m < 0)
            s->eof = true;
        else
            s->marker = m; /* it ends the scan: the main loop reads it */
        return td_fail(s->err, TD_EINPUT, "%s JPEG: restart marker missing",
                       m < 0 ? "truncated" : "corrupt");
    }
    for (int i = 0; i < s->nc; i++)
        s->c[i].pred = 0;
    return TD_OK;
}

static int corrupt(jscan *s, const char *what)
{
    td_fail(s->err, TD_EINPUT, "corrupt JPEG: %s", what);
    return DAMAGED;
}

/* One block's DC: a first-scan difference or a refinement bit. */
static int dc_block(jscan *s, int ci, size_t blk, int ah, int al)
{
    jscan_comp *c = &s->c[ci];
    if (ah) {
        if (get_bit(s))
            s->add(s->ctx, ci, blk, (const int[1]){1 << al}, 1);
        return TD_OK;
    }
    int n = huff_decode(s, &s->dc[c->td]);
    if (n < 0 || n > 11)
        return corrupt(s, "bad Huffman code");
    int diff = extend(get_bits(s, n), n);
    /* A DC coefficient fits in 16 bits (libjpeg's JCOEF). */
    long v = ((long)c->pred + diff) * (1L << al);
    if (v < -32768 || v > 32767)
        return corrupt(s, "DC coefficient out of range");
    c->pred += diff;
    s->add(s->ctx, ci, blk, (const int[1]){(int)v}, 1);
    return TD_OK;
}

/* A block's masks, each mask_w bytes wide (jpegscan.h). */
static inline void mask_get(const jscan_comp *c, size_t blk, uint64_t *nz, uint64_t *neg)
{
    if (c->mask_w == 1) {
        const uint8_t *m = (const uint8_t *)c->mask + 2 * blk;
        *nz = m[0], *neg = m[1];
    } else if (c->mask_w == 4) {
        const uint32_t *m = (const uint32_t *)c->mask + 2 * blk;
        *nz = m[0], *neg = m[1];
    } else {
        const uint64_t *m = (const uint64_t *)c->mask + 2 * blk;
        *nz = m[0], *neg = m[1];
    }
}

static inline void mask_put(jscan_comp *c, size_t blk, uint64_t nz, uint64_t neg)
{
    if (c->mask_w == 1) {
        uint8_t *m = (uint8_t *)c->mask + 2 * blk;
        m[0] = (uint8_t)nz, m[1] = (uint8_t)neg;
    } else if (c->mask_w == 4) {
        uint32_t *m = (uint32_t *)c->mask + 2 * blk;
        m[0] = (uint32_t)nz, m[1] = (uint32_t)neg;
    } else {
        uint64_t *m = (uint64_t *)c->mask + 2 * blk;
        m[0] = nz, m[1] = neg;
    }
}

/* An AC change to the current block, handed to the store by flush. */
static void change(jscan *s, int k, int delta)
{
    s->delta[k] += delta;
    s->changed |= 1ULL << k;
}

static void flush(jscan *s, int ci, size_t blk)
{
    if (!s->changed)
        return;
    s->add(s->ctx, ci, blk, s->delta, s->changed);
    for (uint64_t m = s->changed; m; m &= m - 1)
        s->delta[__builtin_ctzll(m)] = 0;
    s->changed = 0;
}

/* One block of an AC first scan (G.1.2.2). */
static int ac_first(jscan *s, int ci, size_t blk, int ss, int se, int al)
{
    if (s->eobrun) {
        s->eobrun--;
        return TD_OK;
    }
    jscan_comp *c = &s->c[ci];
    const jscan_huff *t = &s->ac[c->ta];
    uint64_t nz, neg;
    mask_get(c, blk, &nz, &neg);
    int st = TD_OK;
    for (int k = ss; k <= se; k++) {
        int rs = huff_decode(s, t);
        if (rs < 0) {
            st = corrupt(s, "bad Huffman code");
            break;
        }
        int r = rs >> 4, n = rs & 15;
        if (n) {
            k += r;
            if (k > 63) {
                st = corrupt(s, "AC coefficient index past 63");
                break;
            }
            int v = extend(get_bits(s, n), n);
            nz |= 1ULL << k;
            neg |= (uint64_t)(v < 0) << k;
            change(s, jscan_natural[k], v * (1 << al));
        } else if (r == 15) {
            k += 15;
        } else {
            s->eobrun = (1u << r) + (unsigned)get_bits(s, r) - 1;
            break;
        }
    }
    mask_put(c, blk, nz, neg);
    return st;
}

static int popcount(uint64_t x)
{
    x -= x >> 1 & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + (x >> 2 & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* Correction bits of the nonzero coefficients (nz, signs neg) from k up
 * to se (G.1.2.3), stopping (when run >= 0) at the run+1-th coefficient
 * with no history. Returns where it stopped: there, or past se. */
static inline int correct(jscan *s, uint64_t nz, uint64_t neg, int k, int se, int al, int run)
{
    if (k > se)
        return k;
    uint64_t range = (se >= 63 ? ~0ULL : (1ULL << (se + 1)) - 1) & ~((1ULL << k) - 1);
    int stop = se + 1;
    if (run >= 0) {
        uint64_t zeros = ~nz & range;
        for (int i = 0; i < run && zeros; i++)
            zeros &= zeros - 1;
        if (zeros)
            stop = __builtin_ctzll(zeros);
    }
    uint64_t todo = nz & range & (stop >= 64 ? ~0ULL : (1ULL << stop) - 1);
    uint64_t changed = s->changed;
    int p1 = 1 << al;
    while (todo) {
        /* Up to 16 correction bits at once, the first in the top bit; applied
         * without a branch on each (they are as good as random). */
        int n = popcount(todo);
        n = n > 16 ? 16 : n;
        int bits = get_bits(s, n);
        for (int i = n - 1; i >= 0; i--) {
            int p = __builtin_ctzll(todo), nat = jscan_natural[p], b = bits >> i & 1;
            todo &= todo - 1;
            s->delta[nat] += b * (neg >> p & 1 ? -p1 : p1);
            changed |= (uint64_t)b << nat;
        }
    }
    s->changed = changed;
    return stop;
}

/* One block of an AC refinement scan (G.1.2.3). Its masks stay in
 * registers until the block is done. */
static int ac_refine(jscan *s, int ci, size_t blk, int ss, int se, int al)
{
    jscan_comp *c = &s->c[ci];
    const jscan_huff *t = &s->ac[c->ta];
    uint64_t nz, neg;
    mask_get(c, blk, &nz, &neg);
    int k = ss;
    if (s->eobrun == 0) {
        for (; k <= se; k++) {
            int rs = huff_decode(s, t);
            if (rs < 0)
                return corrupt(s, "bad Huffman code");
            int r = rs >> 4, n = rs & 15, v = 0;
            if (n) {
                v = get_bit(s) ? 1 << al : -(1 << al);
            } else if (r != 15) {
                s->eobrun = (1u << r) + (unsigned)get_bits(s, r);
                break;
            }
            k = correct(s, nz, neg, k, se, al, r);
            if (v && k <= 63) {
                nz |= 1ULL << k;
                neg |= (uint64_t)(v < 0) << k;
                change(s, jscan_natural[k], v);
            }
        }
        mask_put(c, blk, nz, neg);
    }
    if (s->eobrun > 0) {
        correct(s, nz, neg, k, se, al, -1);
        s->eobrun--;
    }
    return TD_OK;
}

typedef struct scanpar {
    int ns, ss, se, ah, al;
    int ci[JSCAN_MAX_COMPS];
} scanpar;

static int block(jscan *s, const scanpar *sp, int ci, size_t blk)
{
    if (sp->ss == 0)
        return dc_block(s, ci, blk, sp->ah, sp->al);
    int st = sp->ah ? ac_refine(s, ci, blk, sp->ss, sp->se, sp->al) : ac_first(s, ci, blk, sp->ss, sp->se, sp->al);
    flush(s, ci, blk);
    return st;
}

/* One MCU: of an interleaved scan, each component's h x v blocks; of a
 * single-component scan, one block. */
static int mcu(jscan *s, const scanpar *sp, int mx, int my)
{
    for (int i = 0; i < sp->ns; i++) {
        jscan_comp *c = &s->c[sp->ci[i]];
        int bh = sp->ns == 1 ? 1 : c->v, bw = sp->ns == 1 ? 1 : c->h;
        for (int v = 0; v < bh; v++)
            for (int h = 0; h < bw; h++) {
                size_t blk = (size_t)(my * bh + v) * (size_t)c->pw + (size_t)(mx * bw + h);
                int st = block(s, sp, sp->ci[i], blk);
                if (st != TD_OK)
                    return st;
            }
    }
    return TD_OK;
}

static int decode_scan(jscan *s, const scanpar *sp)
{
    for (int i = 0; i < sp->ns; i++)
        s->c[sp->ci[i]].pred = 0;
    s->nbits = s->pad = 0;
    s->eobrun = 0;
    /* A scan of one component walks its own blocks; an interleaved one, MCUs. */
    const jscan_comp *c0 = &s->c[sp->ci[0]];
    int rows = sp->ns == 1 ? c0->bh : s->mcuy, cols = sp->ns == 1 ? c0->bw : s->mcux;
    int rowpix = sp->ns == 1 ? 8 * s->vmax / c0->v : 8 * s->vmax;
    long n = 0;
    for (int my = 0; my < rows; my++) {
        cancel_reason why = cancel_check(s->tok);
        if (why != CANCEL_NONE)
            return td_fail(s->err, TD_ECANCEL, "%s", cancel_reason_name(why));
        for (int mx = 0; mx < cols; mx++, n++) {
            if (s->restart && n > 0 && n % s->restart == 0 && restart_marker(s) != TD_OK)
                return DAMAGED;
            int st = mcu(s, sp, mx, my);
            if (st != TD_OK)
                return st;
        }
        if (ran_out(s)) {
            td_fail(s->err, TD_EINPUT, "%s JPEG: premature end of data in %s scan %d at row %d of %d",
                    s->eof ? "truncated" : "corrupt", sp->ss ? "AC" : "DC", s->scans, my * rowpix, s->h);
            return DAMAGED;
        }
    }
    return TD_OK;
}

/* Checks a scan header (B.2.3) against the frame and Annex G's rules. */
static int scan_params(jscan *s, const uint8_t *p, int len, scanpar *sp)
{
    if (!s->nc || len < 1)
        return td_fail(s->err, TD_EINPUT, "corrupt JPEG: scan before frame header");
    sp->ns = p[0];
    if (sp->ns < 1 || sp->ns > s->nc || len < 1 + 2 * sp->ns + 3)
        return td_fail(s->err, TD_EINPUT, "corrupt JPEG: bad scan header");
    for (int i = 0; i < sp->ns; i++) {
        sp->ci[i] = -1;
        for (int k = 0; k < s->nc; k++)
            if (s->c[k].id == p[1 + 2 * i])
                sp->ci[i] = k;
        if (sp->ci[i] < 0)
            return td_fail(s->err, TD_EINPUT, "corrupt JPEG: scan names an unknown component");
        s->c[sp->ci[i]].td = p[2 + 2 * i] >> 4 & 3;
        s->c[sp->ci[i]].ta = p[2 + 2 * i] & 3;
    }
    sp->ss = p[1 + 2 * sp->ns];
    sp->se = p[2 + 2 * sp->ns];
    sp->ah = p[3 + 2 * sp->ns] >> 4;
    sp->al = p[3 + 2 * sp->ns] & 15;
    bool bad = sp->ss == 0 ? sp->se != 0 : sp->se < sp->ss || sp->se > 63 || sp->ns != 1;
    if (bad || sp->al > 13 || (sp->ah && sp->ah != sp->al + 1))
        return td_fail(s->err, TD_EINPUT, "corrupt JPEG: bad progression parameters");
    for (int i = 0; i < sp->ns; i++) {
        jscan_comp *c = &s->c[sp->ci[i]];
        const jscan_huff *t = sp->ss == 0 ? &s->dc[c->td] : &s->ac[c->ta];
        if (!(sp->ss == 0 && sp->ah) && !t->defined)
            return td_fail(s->err, TD_EINPUT, "corrupt JPEG: undefined Huffman table");
        if (!c->latched) /* as libjpeg: the table in force at the first scan */
            memcpy(c->q, s->qt[c->tq], sizeof c->q);
        c->latched = true;
    }
    return TD_OK;
}

/* Below fail_on, damage becomes a warning and the parse goes on from the
 * next marker (the rest of the file, if any). */
static int damaged(jscan *s)
{
    failon_level kind = strncmp(s->err, "truncated", 9) ? FAIL_ON_ERROR : FAIL_ON_TRUNCATED;
    if (failon_fails(s->fail_on, kind))
        return TD_EINPUT;
    if (s->warn)
        s->warn(s->ctx, s->err);
    s->err[0] = 0;
    return TD_OK;
}

/* Whether every component has had its first DC scan. */
static bool all_dc(const jscan *s)
{
    for (int i = 0; i < s->nc; i++)
        if (s->c[i].dc_al < 0)
            return false;
    return true;
}

static int parse_sos(jscan *s, const uint8_t *p, int len)
{
    if (++s->scans > s->max_scans)
        return td_fail(s->err, TD_ELIMIT, "JPEG has more than %d scans, over --max-scans %d",
                       s->max_scans, s->max_scans);
    scanpar sp = {0};
    int st = scan_params(s, p, len, &sp);
    if (st != TD_OK)
        return st;
    if (sp.ss != 0 && !s->want_ac) {
        if (all_dc(s))
            return JSCAN_DONE; /* nothing after it is needed */
        s->marker = 0;
        return TD_OK; /* its data is skipped by the next find_marker */
    }
    if (s->want_ac && jscan_pick(s, sp.ns, sp.ci, sp.ss, sp.se, sp.ah) == JSCAN_SKIP) {
        s->marker = 0;
        return jscan_complete(s) ? JSCAN_DONE : TD_OK;
    }
    st = decode_scan(s, &sp);
    if (st == DAMAGED) {
        st = damaged(s);
        if (st != TD_OK || sp.ss == 0)
            return st;
    }
    if (st == TD_OK && (sp.ss == 0 || s->want_ac))
        jscan_picked(s, sp.ns, sp.ci, sp.ss, sp.se, sp.al);
    return st == TD_OK && s->want_ac && jscan_complete(s) ? JSCAN_DONE : st;
}

/* The end of the file before EOI. */
static int early_end(jscan *s)
{
    if (!s->want_ac && s->nc && all_dc(s))
        return JSCAN_DONE;
    if (!s->scans)
        return td_fail(s->err, TD_EINPUT, "truncated JPEG: premature end of data before the first scan");
    td_fail(s->err, TD_EINPUT, "truncated JPEG: premature end of data after scan %d", s->scans);
    return damaged(s) == TD_OK ? JSCAN_DONE : TD_EINPUT;
}

static int segment(jscan *s, int m, const uint8_t *buf, int len)
{
    switch (m) {
    case 0xC2: return s->nc ? JSCAN_FALLBACK : parse_sof(s, buf, len);
    case 0xC4: return jscan_parse_dht(s, buf, len);
    case 0xDB: return jscan_parse_dqt(s, buf, len);
    case 0xDD: s->restart = len >= 2 ? buf[0] << 8 | buf[1] : 0; return TD_OK;
    case 0xDA: return parse_sos(s, buf, len);
    case 0xCC: return JSCAN_FALLBACK; /* arithmetic conditioning */
    default:
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8)
            return JSCAN_FALLBACK; /* another frame type */
        return TD_OK;
    }
}

int jscan_run(jscan *s)
{
    if (next_byte(s) != 0xFF || next_byte(s) != 0xD8)
        return td_fail(s->err, TD_EINPUT, "not a JPEG file");
    uint8_t *buf = malloc(65536);
    if (!buf)
        return td_fail(s->err, TD_ENOMEM, "out of memory");
    int st = TD_OK;
    while (st == TD_OK) {
        int m = find_marker(s);
        if (m < 0) {
            st = early_end(s);
            break;
        }
        if (m == 0xD9) {
            st = s->scans ? JSCAN_DONE : td_fail(s->err, TD_EINPUT, "corrupt JPEG: no scan");
            break;
        }
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01)
            continue; /* parameterless */
        int n = read_u16(s);
        if (n < 2 || !read_bytes(s, buf, (size_t)(n - 2))) {
            td_fail(s->err, TD_EINPUT, "truncated JPEG: premature end of data in a marker");
            st = s->scans && damaged(s) == TD_OK ? JSCAN_DONE : TD_EINPUT;
            break;
        }
        st = segment(s, m, buf, n - 2);
    }
    free(buf);
    return st;
}

void jscan_free(jscan *s)
{
    for (int i = 0; i < JSCAN_MAX_COMPS; i++) {
        free(s->c[i].mask);
        s->c[i].mask = NULL;
    }
}
