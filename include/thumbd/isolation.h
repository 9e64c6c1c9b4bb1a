/* --isolation process: each pool worker thread hands its tasks to a worker
 * process of its own, the thumbd binary started again (posix_spawn of
 * /proc/self/exe, never a bare fork of this multi-threaded process) with
 * argv[1] = ISOLATION_WORKER_ARG. The worker process decodes, resizes,
 * encodes and writes the thumbnail and its ledger note itself
 * (pipeline_run) and returns the task's result; the memory budget stays in
 * the run's process, which the worker asks for each reservation.
 *
 * A worker process that dies during a task (SIGSEGV, SIGBUS, SIGABRT, an
 * OOM kill...) costs that task a lasting failure, "decoder crashed: ...",
 * noted in the ledger so that the next run takes the source as known bad;
 * the next task gets a new worker process. A task whose token trips (its
 * --task-timeout, a shutdown) gets its worker process killed with SIGKILL
 * and is reported cancelled as in a thread. */
#ifndef THUMBD_ISOLATION_H
#define THUMBD_ISOLATION_H

#include <stdbool.h>

#include "thumbd/cancel.h"
#include "thumbd/pipeline.h"
#include "thumbd/task.h"

#define ISOLATION_WORKER_ARG "--worker-process"

/* pipeline_run(env, task, worker, tok) in the calling thread's worker
 * process (started when it has none). A task the scan already settled
 * (preset_error) runs in the calling thread: it decodes nothing. When no
 * worker process can be started (no /proc, exec refused), a warning says
 * so once on stderr and the task runs in the calling thread. */
void isolation_run(const pipeline_env *env, thumbd_task *task, int worker, cancel_token *tok);

/* Starts the calling thread's worker process and waits until it is ready
 * (libvips started when the run will need it), so that its start counts in
 * no task's time; on failure the first task tries again. Call it as each
 * worker thread starts. */
void isolation_thread_start(const pipeline_env *env);

/* Ends the calling thread's worker process, if any: call it as each
 * worker thread ends. */
void isolation_thread_end(void);

/* A worker process was killed during a task: it may have left a temporary
 * file in OUT_DIR (fs_sweep_temps once no task runs). */
bool isolation_killed_any(void);

/* The worker process's main (isoworker.c): serves tasks on the descriptors
 * its parent set up until the parent closes its end. Returns the exit
 * status. */
int isolation_worker_main(void);

#endif
