/* bench/thumbhashbench.c: CPU time of thumbhash_placeholder (src/thumbhash.c)
 * alone: what --placeholder thumbhash adds to each thumbnail.
 *
 *   cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -Iinclude bench/thumbhashbench.c \
 *      build/libthumbd_core.a -lm -o /tmp/thumbhashbench
 *   /tmp/thumbhashbench W H CHANNELS CALLS
 *   e.g. /tmp/thumbhashbench 200 200 3 1000
 *
 * Encodes a fixed pseudo-random W x H image (CHANNELS 3: RGB, 4: RGBA with
 * varying alpha) CALLS times, five times over, and prints the best CPU time
 * per call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "thumbd/thumbhash.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: thumbhashbench W H CHANNELS CALLS\n");
        return 2;
    }
    int w = atoi(argv[1]), h = atoi(argv[2]), c = atoi(argv[3]), calls = atoi(argv[4]);
    if (w < 1 || h < 1 || (c != 3 && c != 4) || calls < 1) {
        fprintf(stderr, "thumbhashbench: bad arguments\n");
        return 2;
    }
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    uint8_t *px = malloc(n);
    if (!px)
        return 1;
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        px[i] = (uint8_t)(s >> 16);
    }
    char out[THUMBHASH_B64_SIZE], err[TD_ERRLEN];
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu_s();
        for (int i = 0; i < calls; i++)
            if (thumbhash_placeholder(px, w, h, c, out, err) != TD_OK) {
                fprintf(stderr, "thumbhashbench: %s\n", err);
                return 1;
            }
        double t = (cpu_s() - t0) / calls;
        best = t < best ? t : best;
    }
    printf("%dx%d, %d channels: %.1f us a call (%s)\n", w, h, c, best * 1e6, out);
    free(px);
    return 0;
}
