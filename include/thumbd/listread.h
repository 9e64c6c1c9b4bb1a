/* Reads a --files-from list as it comes: one entry per line (or per
 * NUL-terminated name), urgent ones ("!path") first among those read.
 *
 * A list in a regular file is read to its end before the first entry is
 * given out, so every urgent entry goes before every other one. From a
 * pipe, a terminal or a socket, what has arrived is read without waiting
 * (up to `window` entries ahead), and an entry is given out as soon as one
 * is there: an endless producer (inotifywait -m) is served as it writes,
 * and an urgent entry goes before the others not yet given out. */
#ifndef THUMBD_LISTREAD_H
#define THUMBD_LISTREAD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct listread listread;

/* Reads fd (not owned: the caller closes it after listread_close). nul:
 * entries end with '\0', else with '\n' (a trailing '\r' is dropped).
 * window: at most this many entries read ahead from a pipe (>= 1). NULL
 * when out of memory. */
listread *listread_open(int fd, bool nul, size_t window);

/* The next entry (NUL-terminated, as listed, '!' included; valid until the
 * next call), waiting while none has arrived. NULL at the end of the list,
 * on a read error (listread_error), or once stop(ctx) returns true: it is
 * asked about every 0.1 s while waiting. Empty entries are skipped. */
const char *listread_next(listread *lr, bool (*stop)(void *ctx), void *ctx);

/* errno of a failed read, or 0. */
int listread_error(const listread *lr);

void listread_close(listread *lr);

#endif
