/* What each signal does to a run. The signals a run acts on are blocked in
 * every thread and taken by the supervisor alone (sigtimedwait), never in
 * a handler:
 *   SIGTERM, SIGINT, SIGHUP, SIGQUIT  stop gracefully (exit 128+N); a second
 *                                     one cancels the running tasks at once
 *   SIGUSR1                           print the counts so far, go on
 *   SIGUSR2                           ignored
 *   SIGPIPE, SIGXFSZ                  ignored: a closed pipe or a file-size
 *                                     limit is the error of one write
 * SIGHUP inherited as ignored (nohup) stays ignored. */
#ifndef THUMBD_SIGNALS_H
#define THUMBD_SIGNALS_H

#include <signal.h>

typedef enum signals_action {
    SIGNALS_NONE,              /* nothing to do (a wake-up, say) */
    SIGNALS_STOP,              /* stop the run */
    SIGNALS_STATUS,            /* print the counts so far */
} signals_action;

/* Sets the dispositions above and blocks, in the calling thread (and so in
 * every thread it starts after), the signals the supervisor waits for, plus
 * `wake` (a signal the run uses to wake the supervisor). *set gets them, for
 * sigtimedwait. Call before starting any thread. */
void signals_setup(sigset_t *set, int wake);

/* What signal sig, taken from the set, asks for. */
signals_action signals_action_of(int sig);

#endif
