/* The messages between the run's process and a worker process
 * (isolation.h), over a SOCK_SEQPACKET socket pair: one message a send,
 * each starting with its iso_type. Both ends are the same binary, so
 * structs travel as bytes; pointers in them are meaningless on the other
 * side and are sent as strings after the fixed part. */
#ifndef THUMBD_ISOPROTO_H
#define THUMBD_ISOPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "thumbd/config.h"
#include "thumbd/status.h"
#include "thumbd/task.h"

/* The worker process's descriptors, as its parent sets them up. */
enum { ISO_FD_SOCK = 3, ISO_FD_IN = 4, ISO_FD_OUT = 5 };

/* Room for the fixed part of any message and its paths (a result: one
 * for each of up to 1 + TASK_MAX_OUTPUTS outputs). */
enum { ISO_MSG_MAX = 65536 };

typedef enum iso_type {
    ISO_CONFIG = 1,            /* run -> worker, first: iso_config */
    ISO_READY,                 /* worker -> run, once set up: iso_ready */
    ISO_TASK,                  /* run -> worker: iso_task, then rel */
    ISO_GATE_REPLY,            /* run -> worker: iso_gate */
    ISO_GATE_ACQUIRE,          /* worker -> run: iso_gate; a reply follows */
    ISO_GATE_RELEASE,          /* worker -> run: iso_gate */
    ISO_RESULT,                /* worker -> run: iso_result, then out_rel and each
                                * output's rel */
} iso_type;

typedef struct iso_config {
    iso_type type;
    thumbd_config cfg;         /* its strings NULL but name_template, sent below */
    char name_template[4096];  /* --name, or "" for none */
    bool notes;                /* note results in the ledger, with: */
    uint64_t fp_thumb, fp_fail;
    bool gate;                 /* a memory budget: ask for reservations */
} iso_config;

typedef struct iso_ready {
    iso_type type;
    char sandbox[512];         /* "": sandbox complete or off; else what is missing */
} iso_ready;

typedef struct iso_task {
    iso_type type;
    uint64_t id;
    int worker;
    int attempts;
    int64_t size;
    struct timespec mtime;
    double t_queued;           /* clock_now_s(): CLOCK_MONOTONIC is the machine's */
    double deadline;           /* the task's token deadline, 0 = none */
    size_t rel_len;
} iso_task;

typedef struct iso_gate {
    iso_type type;
    uint64_t bytes;
    bool may_defer;            /* acquire: may be given back (TD_EBUSY) */
    td_status status;          /* reply */
    char err[TD_ERRLEN];       /* reply */
} iso_gate;

typedef struct iso_result {
    iso_type type;
    task_result res;           /* out_rel, outs[].rel and decoder NULL */
    char decoder[32];          /* "" for none */
    size_t out_rel_len;        /* 0: no output */
    size_t outs_len[TASK_MAX_OUTPUTS];  /* of outs[i].rel, for i < res.nouts */
} iso_result;

#endif
