#include "thumbd/adaptrun.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/adapt.h"
#include "thumbd/cancel.h"

/* Throughput is measured over intervals of at least this. */
static const double ADAPT_INTERVAL_S = 0.3;

enum { ADAPT_HISTORY = 64 };

/* The controller, what it last measured, and the count over time for the
 * summary. */
struct adaptrun {
    adapt ctl;
    int min, max;
    double t0, t_last, cpu_last;
    uint64_t done_last, bytes_last;
    uint64_t warm_until;       /* no measuring until this many tasks ran */
    long cpus;
    int nhist;
    struct { double t; int n; } hist[ADAPT_HISTORY];
};

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void record(adaptrun *a, double now, int n)
{
    int i = a->nhist < ADAPT_HISTORY ? a->nhist++ : ADAPT_HISTORY - 1; /* full: keep the last */
    a->hist[i].t = now - a->t0;
    a->hist[i].n = n;
}

adaptrun *adaptrun_new(int workers_min, int workers_max, int workers)
{
    adaptrun *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->min = workers_min;
    a->max = workers_max;
    adapt_params p;
    adapt_defaults(&p, workers_min, workers_max);
    adapt_init(&a->ctl, &p, workers);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    a->cpus = cpus > 0 ? cpus : 1;
    a->t0 = a->t_last = clock_now_s();
    a->cpu_last = process_cpu_s();
    record(a, a->t0, a->ctl.n);
    return a;
}

void adaptrun_free(adaptrun *a)
{
    free(a);
}

/* Starts a measuring window now. */
static void window(adaptrun *a, double now, double cpu, uint64_t done, uint64_t bytes)
{
    a->t_last = now;
    a->cpu_last = cpu;
    a->done_last = done;
    a->bytes_last = bytes;
}

/* Throughput is the bytes of the sources of the tasks that ran, per
 * second: images differ too much in size for images per second to mean
 * much over a short window. A window lasts ADAPT_INTERVAL_S and at least 2
 * tasks per worker (8 at least): task times vary a lot between images.
 * Nothing is measured while the pool is not fully busy (listing the tree,
 * the last tasks), nor after a change until as many tasks ran as there are
 * workers now: until then the tasks that end are the old workers' and show
 * the old throughput. */
void adaptrun_tick(adaptrun *a, pool *p, double now, uint64_t done, uint64_t bytes)
{
    double cpu = process_cpu_s(), dt = now - a->t_last;
    int n = a->ctl.n;
    if (pool_pending(p) <= (size_t)n || done < a->warm_until) { /* not one task waiting */
        window(a, now, cpu, done, bytes);
        return;
    }
    uint64_t need = (uint64_t)n > 8 ? (uint64_t)n : 8;
    if (dt < ADAPT_INTERVAL_S || (done - a->done_last < need && dt < 20 * ADAPT_INTERVAL_S))
        return;
    double thr = (double)(bytes - a->bytes_last) / dt;
    double use = (cpu - a->cpu_last) / (dt * (double)a->cpus);
    window(a, now, cpu, done, bytes);
    int next = adapt_sample(&a->ctl, thr, use);
    if (next != n) {
        next = pool_resize(p, next);
        a->ctl.n = next;
        a->warm_until = done + (uint64_t)next;
        record(a, now, next);
    }
}

void adaptrun_summary(const adaptrun *a, FILE *to)
{
    fprintf(to, "thumbd: workers (%d:%d) over time:", a->min, a->max);
    for (int i = 0; i < a->nhist; i++)
        fprintf(to, "%s %d at %.1f s", i ? "," : "", a->hist[i].n, a->hist[i].t);
    fprintf(to, "\n");
}
