/* The project's clock: monotonic seconds, and condition variables that time
 * their waits on it. Every deadline, timeout and duration in thumbd is a
 * clock_now_s() value or a difference of two. */
#ifndef THUMBD_CLOCK_H
#define THUMBD_CLOCK_H

#include <pthread.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds: unaffected by changes of the wall clock. */
double clock_now_s(void);

/* Initialises cond to time its waits on the clock clock_now_s reads, so
 * that a change of the wall clock cannot stretch a deadline. */
void clock_cond_init(pthread_cond_t *cond);

/* A clock_now_s() time as the absolute timespec pthread_cond_timedwait
 * takes (for a cond from clock_cond_init). */
struct timespec clock_abstime(double t);

#endif
