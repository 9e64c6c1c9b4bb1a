/* thumbd: command line -> config -> run. */
#include <malloc.h>
#include <stdio.h>

#include "thumbd/config.h"
#include "thumbd/run.h"

/* glibc raises its mmap threshold to the size of each large block freed (up
 * to 32 MiB), so after one progressive JPEG the next one's coefficients come
 * from a worker's arena, whose free top is kept up to twice that: 10 MB of
 * dead memory in a run's peak RSS. A fixed threshold stops both: blocks of
 * 2 MiB and more are mapped and unmapped. An arena keeps up to 8 MiB of free
 * memory at its top (glibc's fixed default would be 128 KiB): the buffers of
 * a small image (an 800x600 JPEG's are about 2 MB) are then reused by the
 * next one instead of being page-faulted in again, which cost 16 % of the
 * wall time on bench/small.sh's corpus, for at most 8 MiB per worker. */
static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 2 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

int main(int argc, char **argv)
{
    tune_malloc();
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
        fprintf(stderr, "thumbd: %s\n", err);
        return EXIT_USAGE;
    case CONFIG_RUN:
        break;
    }
    return run_thumbd(&cfg);
}
