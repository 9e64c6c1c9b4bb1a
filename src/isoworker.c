/* The worker process's side of --isolation process (isolation.h): it reads
 * its configuration, then serves one task after another with pipeline_run,
 * asking the run's process for every memory reservation. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/isolation.h"
#include "thumbd/isoproto.h"
#include "thumbd/run.h"
#include "thumbd/sandbox.h"
#include "thumbd/uptodate.h"
#include "thumbd/vipsengine.h"

/* The run's process is gone or sent what no thumbd sends: nothing to do
 * but end. */
static void lost(void)
{
    _exit(EXIT_FAILURE);
}

static void send_all(const void *buf, size_t len)
{
    if (send(ISO_FD_SOCK, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
        lost();
}

static td_status gate_acquire(void *ctx, size_t bytes, bool may_defer, char err[TD_ERRLEN])
{
    (void)ctx;
    iso_gate g = {.type = ISO_GATE_ACQUIRE, .bytes = bytes, .may_defer = may_defer};
    send_all(&g, sizeof g);
    if (recv(ISO_FD_SOCK, &g, sizeof g, 0) != (ssize_t)sizeof g || g.type != ISO_GATE_REPLY)
        lost();
    if (g.status != TD_OK)
        snprintf(err, TD_ERRLEN, "%s", g.err);
    return g.status;
}

static void gate_release(void *ctx, size_t bytes)
{
    (void)ctx;
    iso_gate g = {.type = ISO_GATE_RELEASE, .bytes = bytes};
    send_all(&g, sizeof g);
}

/* The run's process decides whether the task may be given back, as it
 * reserves: always ask. */
static bool ask_defer(const thumbd_task *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return true;
}

static void send_result(const thumbd_task *t)
{
    static char buf[ISO_MSG_MAX];
    iso_result m = {.type = ISO_RESULT, .res = t->res};
    m.res.out_rel = NULL;
    m.res.decoder = NULL;
    if (t->res.decoder)
        snprintf(m.decoder, sizeof m.decoder, "%s", t->res.decoder);
    /* The strings after the fixed part: out_rel, then each output's. */
    const char *s[1 + TASK_MAX_OUTPUTS] = {t->res.out_rel};
    size_t len[1 + TASK_MAX_OUTPUTS] = {0}, at = sizeof m;
    for (int i = 0; i < t->res.nouts; i++) {
        s[1 + i] = t->res.outs[i].rel;
        m.res.outs[i].rel = NULL;
    }
    for (int i = 0; i <= t->res.nouts; i++) {
        len[i] = s[i] ? strlen(s[i]) : 0;
        if (len[i] > sizeof buf - at)
            lost(); /* no paths are that long */
        if (len[i])
            memcpy(buf + at, s[i], len[i]);
        at += len[i];
        if (i)
            m.outs_len[i - 1] = len[i];
    }
    m.out_rel_len = len[0];
    memcpy(buf, &m, sizeof m);
    send_all(buf, at);
}

/* main.c's tune_malloc keeps up to 32 MiB of freed heap for the next
 * image, which with threads is one heap for all workers. Worker processes
 * each keep their own, beside the budget the memory gate hands out, so the
 * process tree would hold the gate's budget plus 32 MiB a worker. A task
 * that left more than WORKER_HEAP_KEEP free gives it back: small images
 * (most tasks) keep their heap warm, a large one's pages return to the
 * system for the next large image, in this worker or another. */
enum { WORKER_HEAP_KEEP = 4 << 20 };

static void give_back_heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks > WORKER_HEAP_KEEP)
        malloc_trim(WORKER_HEAP_KEEP / 4);
}

/* Runs the task in msg (n bytes). */
static void serve(const pipeline_env *env, const char *msg, ssize_t n)
{
    iso_task it;
    if ((size_t)n < sizeof it)
        lost();
    memcpy(&it, msg, sizeof it);
    if (it.type != ISO_TASK || it.rel_len != (size_t)n - sizeof it)
        lost();
    char *rel = strndup(msg + sizeof it, it.rel_len);
    thumbd_task *t = rel ? task_new(it.id, rel, it.size, it.mtime) : NULL;
    free(rel);
    if (!t)
        lost(); /* the run's process reports the task failed */
    t->attempts = it.attempts;
    t->t_queued = it.t_queued;
    cancel_token tok;
    cancel_init(&tok, it.deadline);
    pipeline_run(env, t, it.worker, &tok);
    send_result(t);
    task_free(t);
    give_back_heap();
}

int isolation_worker_main(void)
{
    /* The run's process handles these for the whole run (a terminal's
     * Ctrl-C reaches the process group): a worker lets its task finish. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    struct stat sb;
    if (fstat(ISO_FD_SOCK, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "thumbd: %s is for thumbd's own worker processes\n", ISOLATION_WORKER_ARG);
        return EXIT_USAGE;
    }
    iso_config c;
    if (recv(ISO_FD_SOCK, &c, sizeof c, 0) != (ssize_t)sizeof c || c.type != ISO_CONFIG ||
        !memchr(c.name_template, '\0', sizeof c.name_template))
        return EXIT_FAILURE;
    c.cfg.name_template = c.name_template[0] ? c.name_template : NULL;
    uptodate ut;
    memset(&ut, 0, sizeof ut);
    if (c.notes)
        uptodate_init_notes(&ut, &c.cfg, ISO_FD_OUT, c.fp_thumb, c.fp_fail);
    memgate_remote remote = {.acquire = gate_acquire, .release = gate_release};
    memgate *gate = c.gate ? memgate_create_remote(&remote) : NULL;
    if (c.gate && !gate)
        return EXIT_FAILURE;
    pipeline_env env = {.cfg = &c.cfg, .in_fd = ISO_FD_IN, .out_fd = ISO_FD_OUT, .gate = gate,
                        .ut = c.notes ? &ut : NULL, .may_defer = ask_defer};
    /* The user asked for libvips: as the run's process does in a thread. */
    if (c.cfg.engine == ENGINE_VIPS || c.cfg.format == FORMAT_WEBP || c.cfg.format == FORMAT_AVIF)
        vipsengine_start();
    iso_ready ready = {.type = ISO_READY};
    _Static_assert(sizeof ready.sandbox == SANDBOX_NOTICE_LEN, "the notice fits");
    if (c.cfg.sandbox == SANDBOX_ON)
        (void)sandbox_apply(ISO_FD_IN, ISO_FD_OUT, c.cfg.max_memory, c.cfg.follow_symlinks,
                            ready.sandbox);
    send_all(&ready, sizeof ready);
    static char msg[ISO_MSG_MAX];
    ssize_t n;
    while ((n = recv(ISO_FD_SOCK, msg, sizeof msg, 0)) > 0)
        serve(&env, msg, n);
    vipsengine_thread_end();
    pipeline_thread_end();
    memgate_destroy(gate);
    if (c.notes)
        ledger_close(&ut.ledger);
    int code = n == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer's check at exit stops the process's threads with
     * ptrace from a cloned task, which the sandbox refuses: it would print
     * a fatal error on the run's stderr. The code a worker runs is
     * leak-checked in thread mode (--isolation thread) and by the unit and
     * fuzz tests; a sandboxed worker ends without the check. */
    if (c.cfg.sandbox == SANDBOX_ON)
        _exit(code);
#endif
    return code;
}
