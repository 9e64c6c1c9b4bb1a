/* Which scans of a progressive JPEG the store needs (see jpegscan.h): a
 * store that keeps only the low frequencies skips the scans of the others,
 * and the refinements it cannot parse, and stops the file early. */
#include "thumbd/jpegscan.h"

/* Zigzag indices ss..se as bits. */
static uint64_t band(int ss, int se)
{
    uint64_t hi = se >= 63 ? ~0ULL : (1ULL << (se + 1)) - 1;
    return hi & ~((1ULL << ss) - 1);
}

int jscan_pick(jscan *s, int ns, const int *ci, int ss, int se, int ah)
{
    uint64_t b = band(ss, se);
    bool wanted = false;
    for (int i = 0; i < ns; i++)
        wanted |= (s->c[ci[i]].keep & b) != 0;
    if (!wanted || ss == 0)
        return wanted ? JSCAN_READ : JSCAN_SKIP; /* a DC refinement needs no history */
    if (!ah)
        return JSCAN_READ;
    jscan_comp *c = &s->c[ci[0]]; /* an AC scan has one component */
    bool parse = (b & ~c->keep) == 0; /* else it costs more than it gives */
    for (int k = ss; k <= se; k++)
        parse &= c->prec[k] == ah;
    if (!parse) {
        c->dead |= c->keep & b;
        return JSCAN_SKIP;
    }
    return JSCAN_READ;
}

void jscan_picked(jscan *s, int ns, const int *ci, int ss, int se, int al)
{
    for (int i = 0; i < ns; i++) {
        jscan_comp *c = &s->c[ci[i]];
        if (ss == 0)
            c->dc_al = al;
        else
            for (int k = ss; k <= se; k++)
                c->prec[k] = (int8_t)al;
    }
}

bool jscan_complete(const jscan *s)
{
    for (int i = 0; i < s->nc; i++) {
        const jscan_comp *c = &s->c[i];
        uint64_t todo = c->keep & ~c->dead;
        if (todo & 1 && c->dc_al != 0)
            return false;
        for (todo &= ~1ULL; todo; todo &= todo - 1)
            if (c->prec[__builtin_ctzll(todo)] != 0)
                return false;
    }
    return true;
}
