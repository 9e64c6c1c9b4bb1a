/* thumbd: command line -> config -> run. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "thumbd/config.h"
#include "thumbd/escape.h"
#include "thumbd/isolation.h"
#include "thumbd/run.h"

/* Fresh pages are the dearest memory on a virtual machine: each first touch
 * is a fault, often the hypervisor's too. A progressive JPEG's coefficients
 * (12 MB for 2560x1600) and a PNG's whole-buffer inflate were mapped and
 * unmapped per image: 26,000 faults on the JPEG corpus and 52,000 on the
 * PNG one, 17 % of the CPU time in the kernel. So blocks under 32 MiB come
 * from the heap, and up to 32 MiB of free heap is kept for the next image
 * (a fixed threshold also stops glibc raising it by itself). One arena for
 * all threads: what one worker freed, the other reuses, so the kept memory
 * is counted once, not per worker (per-thread arenas kept up to 63 MB of
 * peak RSS on the JPEG corpus, one arena 36-39 MB, the old mapping 37-41).
 * Measured with 2 workers: JPEG corpus 0.49-0.57 -> 0.38-0.41 s, PNG
 * 1.14-1.17 -> 0.83-0.91 s; small images within 2 % (bench/README.md,
 * "Memory"). Blocks of 32 MiB and more are still mapped and returned. */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc == 2 && strcmp(argv[1], ISOLATION_WORKER_ARG) == 0)
        return isolation_worker_main(); /* started by a run: isolation.h */
    thumbd_config cfg;
    char err[TD_ERRLEN];
    config_defaults(&cfg);
    switch (config_parse(&cfg, argc, argv, err)) {
    case CONFIG_HELP:
        fputs(config_usage(), stdout);
        return EXIT_ALL_OK;
    case CONFIG_VERSION:
        printf("thumbd %s\n", THUMBD_VERSION);
        return EXIT_ALL_OK;
    case CONFIG_ERROR:
        escape_line(stderr, "thumbd: %s", err); /* it may quote an argument */
        return EXIT_USAGE;
    case CONFIG_RUN:
        break;
    }
    return run_thumbd(&cfg);
}
