#include "thumbd/signals.h"

#include <stdbool.h>
#include <stddef.h>

/* Stopping on SIGHUP: a closed ssh session or terminal is an ordinary way
 * for a run to end, and deserves the records and summary SIGTERM gets. */
static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

static bool inherited_ignored(int sig)
{
    struct sigaction sa;
    return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

void signals_setup(sigset_t *set, int wake)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
        /* nohup asked for SIGHUP to be ignored. A blocked signal is kept
         * pending even when ignored, so it must stay out of the set. */
        if (stop_signals[i] == SIGHUP && inherited_ignored(SIGHUP))
            continue;
        sigaddset(set, stop_signals[i]);
    }
    sigaddset(set, SIGUSR1);
    sigaddset(set, wake);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
}

signals_action signals_action_of(int sig)
{
    if (sig == SIGUSR1)
        return SIGNALS_STATUS;
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
        if (sig == stop_signals[i])
            return SIGNALS_STOP;
    return SIGNALS_NONE;
}
