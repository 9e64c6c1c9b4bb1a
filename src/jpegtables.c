/* The tables of a progressive JPEG (see jpegscan.h): Huffman (T.81 B.2.4.2,
 * C.2) and quantisation (B.2.4.1) segments. */
#include "thumbd/jpegscan.h"

#include <string.h>

/* Builds a canonical Huffman table (T.81 C.2) from its code counts. */
static bool build_huff(jscan_huff *t, const uint8_t *counts, const uint8_t *vals, int total)
{
    memset(t, 0, sizeof *t);
    int32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; l++) {
        t->valoff[l] = k - code;
        if (code + counts[l - 1] > 1 << l)
            return false; /* more codes than the length allows */
        for (int i = 0; i < counts[l - 1]; i++, k++, code++)
            if (l <= 9)
                for (int j = 0; j < 1 << (9 - l); j++)
                    t->fast[(code << (9 - l)) + j] = (uint16_t)(l << 8 | vals[k]);
        t->maxcode[l] = counts[l - 1] ? code - 1 : -1;
        code <<= 1;
    }
    t->maxcode[17] = INT32_MAX;
    memcpy(t->vals, vals, (size_t)total);
    t->defined = true;
    return true;
}

int jscan_parse_dht(jscan *s, const uint8_t *p, int len)
{
    while (len > 17) {
        int tc = p[0] >> 4, th = p[0] & 15, total = 0;
        for (int i = 1; i <= 16; i++)
            total += p[i];
        if (total > 256 || 17 + total > len || th > 3 || tc > 1 ||
            !build_huff(tc ? &s->ac[th] : &s->dc[th], p + 1, p + 17, total))
            return td_fail(s->err, TD_EINPUT, "corrupt JPEG: bad Huffman table");
        p += 17 + total;
        len -= 17 + total;
    }
    return TD_OK;
}

int jscan_parse_dqt(jscan *s, const uint8_t *p, int len)
{
    while (len > 0) {
        int pq = p[0] >> 4, tq = p[0] & 3, n = pq ? 129 : 65;
        if (len < n)
            return td_fail(s->err, TD_EINPUT, "corrupt JPEG: bad quantisation table");
        for (int k = 0; k < 64; k++)
            s->qt[tq][jscan_natural[k]] = (uint16_t)(pq ? p[1 + 2 * k] << 8 | p[2 + 2 * k] : p[1 + k]);
        p += n;
        len -= n;
    }
    return TD_OK;
}
