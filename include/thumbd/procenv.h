/* What a run asks of the process before it starts threads: a higher limit
 * of open files, and --nice's lower priorities. Both are best effort. */
#ifndef THUMBD_PROCENV_H
#define THUMBD_PROCENV_H

/* Raises the soft limit of open files towards the hard one (at most
 * 65536): the walk holds a descriptor per directory level. Silent when
 * refused. */
void procenv_raise_fd_limit(void);

/* --nice: a lower CPU priority (nice 10, or the current one if already
 * lower) and the lowest best-effort I/O priority, for the calling thread
 * and so for every thread it starts afterwards. A warning on stderr for
 * each that is refused. */
void procenv_nice(void);

#endif
