#include "thumbd/adapt.h"

#include <stdbool.h>

void adapt_defaults(adapt_params *p, int min, int max)
{
    p->min = min < 1 ? 1 : min;
    p->max = max < p->min ? p->min : max;
    p->gain = 0.07;
    p->cpu_busy = 0.9;
    p->hold_samples = 8;
}

static int clamp(const adapt *a, int n)
{
    return n < a->p.min ? a->p.min : n > a->p.max ? a->p.max : n;
}

void adapt_init(adapt *a, const adapt_params *p, int start)
{
    *a = (adapt){.p = *p, .phase = ADAPT_UP};
    a->n = clamp(a, start);
}

static int settle(adapt *a, int n, double thr)
{
    a->phase = ADAPT_HOLD;
    a->settled = a->n = n;
    a->settled_thr = thr;
    a->held = 0;
    return n;
}

/* Binary search in (lo, hi] for the fewest workers within gain of ref. */
static int refine(adapt *a, int lo, int hi, double ref, double hi_thr)
{
    if (lo < a->p.min - 1)
        lo = a->p.min - 1;
    if (hi - lo <= 1)
        return settle(a, hi, hi_thr);
    a->phase = ADAPT_REFINE;
    a->lo = lo;
    a->hi = hi;
    a->ref = ref;
    a->settled_thr = hi_thr;
    a->n = lo + (hi - lo + 1) / 2;
    return a->n;
}

static int step_up(adapt *a, double thr, double cpu)
{
    if (a->doubt > 0) { /* the second look at a step that did not seem to help */
        thr = (thr + a->doubt) / 2;
        a->doubt = 0;
    } else if (a->prev && thr <= a->prev_thr * (1 + a->p.gain)) {
        a->doubt = thr;
        return a->n;
    }
    double better = a->prev ? thr / a->prev_thr - 1 : 0;
    bool gained = !a->prev || better > a->p.gain;
    bool saturated = cpu >= a->p.cpu_busy;
    if (!gained) /* the knee lies at or below prev */
        return refine(a, a->prev2 ? a->prev2 : a->p.min - 1, a->prev,
                      thr > a->prev_thr ? thr : a->prev_thr, a->prev_thr);
    if (saturated || a->n == a->p.max) /* it helped, but can go no further */
        return a->prev ? refine(a, a->prev, a->n, thr, thr) : settle(a, a->n, thr);
    a->prev2 = a->prev;
    a->prev = a->n;
    a->prev_thr = thr;
    a->n = clamp(a, a->n * 2);
    return a->n;
}

static int step_refine(adapt *a, double thr)
{
    if (thr > a->ref)
        a->ref = thr;
    if (thr * (1 + a->p.gain) >= a->ref) {
        a->hi = a->n;
        a->settled_thr = thr;
    } else {
        a->lo = a->n;
    }
    return refine(a, a->lo, a->hi, a->ref, a->settled_thr);
}

static int quarter(int n)
{
    return n / 4 > 1 ? n / 4 : 1;
}

static int step_hold(adapt *a, double thr, double cpu)
{
    a->settled_thr = (a->settled_thr + thr) / 2;
    if (++a->held < a->p.hold_samples)
        return a->n;
    a->held = 0;
    bool up = a->next_probe_up;
    a->next_probe_up = !up;
    if (up && a->n < a->p.max && cpu < a->p.cpu_busy) {
        a->phase = ADAPT_PROBE_UP;
        a->n = clamp(a, a->n + quarter(a->n));
    } else if (!up && a->n > a->p.min) {
        a->phase = ADAPT_PROBE_DOWN;
        a->n = clamp(a, a->n - quarter(a->n));
    }
    return a->n;
}

static int step_probe(adapt *a, double thr)
{
    /* Up must pay for itself; down must lose nothing (noise would otherwise
     * walk the count down, window after window). */
    bool keep = a->phase == ADAPT_PROBE_UP ? thr > a->settled_thr * (1 + a->p.gain)
                                           : thr >= a->settled_thr;
    if (!keep) {
        a->phase = ADAPT_HOLD;
        a->n = a->settled;
        return a->n;
    }
    bool went_up = a->phase == ADAPT_PROBE_UP;
    settle(a, a->n, thr);
    /* The curve moved: probe on in the same direction at the next sample. */
    a->next_probe_up = went_up;
    a->held = a->p.hold_samples - 1;
    return a->n;
}

int adapt_sample(adapt *a, double throughput, double cpu)
{
    switch (a->phase) {
    case ADAPT_UP: return step_up(a, throughput, cpu);
    case ADAPT_REFINE: return step_refine(a, throughput);
    case ADAPT_HOLD: return step_hold(a, throughput, cpu);
    case ADAPT_PROBE_DOWN:
    case ADAPT_PROBE_UP: return step_probe(a, throughput);
    }
    return a->n;
}
