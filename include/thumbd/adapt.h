/* The adaptive worker count (--workers auto / MIN:MAX): a hill climber fed
 * with the throughput measured at the current count, and the CPU use.
 *
 * It doubles the count while that raises throughput by more than `gain`
 * (and the CPUs are not saturated); a step that seems not to help is
 * measured once more before it counts (the mean of both), as one noisy
 * window would stop the climb far below the knee. Then it binary-searches
 * back for the smallest count within `gain` of the best throughput seen:
 * the knee of the curve. Settled, it probes now and then a quarter fewer
 * workers (kept if at least as fast: shrink when workers do not help) and a
 * quarter more (kept if faster by `gain`: the workload changed). Queue
 * length plays no part: in a batch the queue is always full. Pure logic: no
 * clock, no threads. */
#ifndef THUMBD_ADAPT_H
#define THUMBD_ADAPT_H

typedef struct adapt_params {
    int min, max;              /* 1 <= min <= max */
    double gain;               /* relative throughput gain that justifies more workers */
    double cpu_busy;           /* CPU use (0..1 of all CPUs) at which more workers cannot help */
    int hold_samples;          /* samples at the settled count between two probes */
} adapt_params;

typedef enum adapt_phase { ADAPT_UP, ADAPT_REFINE, ADAPT_HOLD, ADAPT_PROBE_DOWN, ADAPT_PROBE_UP } adapt_phase;

typedef struct adapt {
    adapt_params p;
    adapt_phase phase;
    int n;                     /* the count being measured */
    int prev, prev2;           /* UP: the counts measured before n (0: none) */
    double prev_thr;
    double doubt;              /* UP: a first "no gain" at n, to be confirmed (0: none) */
    int lo, hi;                /* REFINE: lo is too few, hi is enough */
    double ref;                /* REFINE: the best throughput seen */
    int settled;               /* HOLD: the chosen count */
    double settled_thr;        /* its throughput, smoothed */
    int held;                  /* samples since settling or the last probe */
    int next_probe_up;         /* HOLD: the next probe goes up (else down) */
} adapt;

/* gain 0.07, cpu_busy 0.9, hold_samples 8, for the range min..max. */
void adapt_defaults(adapt_params *p, int min, int max);

/* Starts at `start` (clamped to the range). */
void adapt_init(adapt *a, const adapt_params *p, int start);

/* Feeds the throughput (tasks/s) measured with a->n workers over the last
 * interval, and the CPU use over it (0..1 of all CPUs); returns the count to
 * run next (also a->n). */
int adapt_sample(adapt *a, double throughput, double cpu);

#endif
