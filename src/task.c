#include "thumbd/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thumbd_task *task_new(uint64_t id, const char *rel, int64_t size, struct timespec mtime)
{
    thumbd_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rel = strdup(rel);
    if (!t->rel) {
        free(t);
        return NULL;
    }
    t->id = id;
    t->size = size;
    t->mtime = mtime;
    t->res.worker = -1;
    return t;
}

void task_free(thumbd_task *t)
{
    if (!t)
        return;
    free(t->rel);
    free(t->preset_error);
    task_result_clear_outputs(&t->res);
    free(t);
}

void task_result_clear_outputs(task_result *r)
{
    free(r->out_rel);
    r->out_rel = NULL;
    for (int i = 0; i < r->nouts && i < TASK_MAX_OUTPUTS; i++)
        free(r->outs[i].rel);
    r->nouts = 0;
}

void task_warn_add(task_warnings *w, const char *msg)
{
    char cut[TASK_WARN_LEN];
    snprintf(cut, sizeof cut, "%s", msg);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->msg[i], cut))
            return;
    if (w->n < TASK_WARN_MAX)
        memcpy(w->msg[w->n++], cut, sizeof cut);
}

const char *task_status_name(task_status s)
{
    switch (s) {
    case TASK_OK: return "ok";
    case TASK_FAILED: return "failed";
    case TASK_SKIPPED: return "skipped";
    case TASK_CANCELLED: return "cancelled";
    case TASK_PRUNED: return "pruned";
    case TASK_NSTATUS: break;
    }
    return "unknown";
}
