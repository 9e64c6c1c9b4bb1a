/* bench/resizebench.c: CPU time of resize_to_u8 (src/resize.c) alone.
 *
 *   cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -Iinclude bench/resizebench.c \
 *      build/libthumbd_core.a -lm -o /tmp/resizebench
 *   /tmp/resizebench IN_W IN_H CHANNELS ALPHA OUT_W OUT_H CALLS [FILTER]
 *   e.g. /tmp/resizebench 400 300 3 -1 200 150 1000 mitchell
 *
 * FILTER is a --filter name (default lanczos3).
 *
 * Resizes a fixed pseudo-random image CALLS times, five times over, and
 * prints the best CPU time per call. For instruction counts instead, run
 * it under valgrind --tool=callgrind --toggle-collect=resize_to_u8 (with
 * CALLS = 1 that is five calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thumbd/image.h"
#include "thumbd/resize.h"

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: %s IN_W IN_H CHANNELS ALPHA OUT_W OUT_H CALLS [FILTER]\n",
                argv[0]);
        return 2;
    }
    resize_filter filter = RESIZE_LANCZOS3;
    for (int f = RESIZE_LANCZOS3; argc == 9 && f <= RESIZE_BOX; f++)
        if (!strcmp(argv[8], resize_filter_name((resize_filter)f)))
            filter = (resize_filter)f;
    int in_w = atoi(argv[1]), in_h = atoi(argv[2]), c = atoi(argv[3]), alpha = atoi(argv[4]);
    int out_w = atoi(argv[5]), out_h = atoi(argv[6]), calls = atoi(argv[7]);
    image_f img;
    if (calls < 1 || !image_alloc(&img, in_w, in_h, c, alpha)) {
        fprintf(stderr, "bad arguments or out of memory\n");
        return 2;
    }
    srand(1);
    for (size_t i = 0; i < (size_t)in_w * (size_t)in_h * (size_t)c; i++)
        img.px[i] = (float)(rand() % 256);
    unsigned check = 0; /* keeps the work observable */
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu_seconds();
        for (int i = 0; i < calls; i++) {
            uint8_t *px;
            char err[TD_ERRLEN];
            if (resize_to_u8(&img, out_w, out_h, filter, &px, err) != TD_OK) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            check += px[(size_t)i % ((size_t)out_w * (size_t)out_h * (size_t)c)];
            free(px);
        }
        double t = (cpu_seconds() - t0) / calls;
        best = t < best ? t : best;
    }
    printf("%s %dx%dx%d alpha %d -> %dx%d: %.1f us per call (best of 5 x %d) [%u]\n",
           resize_filter_name(filter), in_w, in_h, c, alpha, out_w, out_h, best * 1e6, calls,
           check);
    image_free(&img);
    return 0;
}
