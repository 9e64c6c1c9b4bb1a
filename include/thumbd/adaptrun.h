/* The adaptive pool of a run (--workers auto / MIN:MAX): feeds the
 * controller of adapt.h with what the run measures (the bytes of the
 * sources of the tasks that ran, per second, and the process's CPU use),
 * resizes the pool to its answer, and keeps the count over time for the
 * summary. Called from one thread (the supervisor). */
#ifndef THUMBD_ADAPTRUN_H
#define THUMBD_ADAPTRUN_H

#include <stdint.h>
#include <stdio.h>

#include "thumbd/pool.h"

typedef struct adaptrun adaptrun;

/* Starts measuring now, at `workers` (clamped to min..max). NULL when out
 * of memory. */
adaptrun *adaptrun_new(int workers_min, int workers_max, int workers);
void adaptrun_free(adaptrun *a);

/* One step, at monotonic time now: ran and ran_bytes count the tasks that
 * ran to the end so far, and their sources' bytes. May resize p. */
void adaptrun_tick(adaptrun *a, pool *p, double now, uint64_t ran, uint64_t ran_bytes);

/* "thumbd: workers (MIN:MAX) over time: N at T s, ..." and a newline. */
void adaptrun_summary(const adaptrun *a, FILE *to);

#endif
