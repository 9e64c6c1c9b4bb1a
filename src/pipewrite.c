/* Writing a task's thumbnails into place (pipewrite.h). */
#include "thumbd/pipewrite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/fsutil.h"
#include "thumbd/outname.h"
#include "thumbd/retry.h"
#include "thumbd/uptodate.h"

/* Encodes th in fmt next to rel, its final name, and renames it into
 * place. *transient: it failed in a way worth retrying (a full disk,
 * EIO...). */
static td_status write_one(const pipeline_env *env, const char *rel, pipeline_thumb *th,
                           out_kind fmt, const struct timespec *mtime, bool *transient,
                           task_output *o, char *err)
{
    fs_atomic a;
    td_status st = fs_atomic_begin_noted(&a, env->out_fd, rel, uptodate_note_mkdir, env->ut, err);
    if (st != TD_OK) {
        *transient = st == TD_EIO && retry_errno_transient(a.sys_errno, true);
        return st;
    }
    st = pipeline_encode_as(env->cfg, th, fmt, a.f, err);
    if (st != TD_OK) {
        /* A write of the thumbnail failed (a full disk, a quota, EIO): as
         * worth retrying as a failed commit. The encoder's own errors leave
         * the stream clean. */
        int e = errno;
        *transient = ferror(a.f) && retry_errno_transient(e ? e : EIO, true);
        fs_atomic_abort(&a);
        return st;
    }
    long bytes = 0;
    a.mtime = mtime;
    st = fs_atomic_commit(&a, &bytes, err);
    *transient = st == TD_EIO && retry_errno_transient(a.sys_errno, true);
    o->bytes = bytes;
    o->ino = a.ino;
    o->w = th->w;
    o->h = th->h;
    return st;
}

td_status pipewrite_outputs(const pipeline_env *env, thumbd_task *t, pipeline_thumb *th, int n,
                            const struct timespec *mtime, bool *transient, char err[TD_ERRLEN])
{
    const thumbd_config *cfg = env->cfg;
    task_result *r = &t->res;
    config_size boxes[CONFIG_MAX_SIZES];
    config_boxes(cfg, boxes);
    out_kind fmt = pipeline_format_all(cfg, th, n);
    for (int i = 0; i < n; i++) {
        outname_rule names = outname_rule_of(cfg->name_template, n > 1, boxes[i].w, boxes[i].h);
        task_output o = {.rel = outname_path(&names, t->rel, fmt), .box_w = boxes[i].w,
                         .box_h = boxes[i].h};
        if (!o.rel)
            return td_fail(err, TD_ENOMEM, "out of memory");
        if (i == 0 && !(r->out_rel = n > 1 ? strdup(o.rel) : o.rel)) {
            free(o.rel);
            return td_fail(err, TD_ENOMEM, "out of memory");
        }
        td_status st = write_one(env, o.rel, &th[i], fmt, mtime, transient, &o, err);
        if (n > 1)
            r->outs[r->nouts++] = o;
        if (i == 0) {
            r->out_bytes = o.bytes;
            r->out_ino = o.ino;
        }
        if (st != TD_OK)
            return st;
    }
    return TD_OK;
}
