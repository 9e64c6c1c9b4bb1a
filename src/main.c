/* thumbd: command line -> config -> run. */
#include <stdio.h>

#include "thumbd/config.h"
#include "thumbd/run.h"

int main(int argc, char **argv)
{
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
