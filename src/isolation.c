/* The run's side of --isolation process (isolation.h): one worker process
 * per pool thread, started on demand, fed one task at a time, watched
 * while it runs. */
#include "thumbd/isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thumbd/clock.h"
#include "thumbd/isoproto.h"
#include "thumbd/sandbox.h"
#include "thumbd/uptodate.h"

extern char **environ;

/* The calling thread's worker process: pid 0 when it has none. */
typedef struct isoproc {
    pid_t pid;
    int fd;
} isoproc;

static _Thread_local isoproc me = {0, -1};
static atomic_bool killed_any;

/* How often a thread waiting for its worker process looks at the task's
 * token, and how long past the task's deadline the worker process has to
 * stop by itself (its own token has the same deadline) before it is
 * killed. */
static const double POLL_S = 0.01;
static const double KILL_GRACE_S = 0.02;

bool isolation_killed_any(void)
{
    return atomic_load(&killed_any);
}

/* Reaps the worker process; returns its wait status (0 if it cannot). */
static int reap(void)
{
    int status = 0;
    if (me.fd >= 0)
        close(me.fd);
    while (me.pid > 0 && waitpid(me.pid, &status, 0) < 0 && errno == EINTR)
        ;
    me = (isoproc){0, -1};
    return status;
}

void isolation_thread_end(void)
{
    reap(); /* it sees the end of its socket and exits */
}

static void kill_worker(void)
{
    if (me.pid > 0) {
        kill(me.pid, SIGKILL);
        atomic_store(&killed_any, true);
    }
    reap();
}

/* Copies fd to a descriptor >= 10 (never one of the ISO_FD_ targets). */
static int high_fd(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static int spawn_exec(int sock, const pipeline_env *env, pid_t *pid)
{
    int fds[3] = {high_fd(sock), high_fd(env->in_fd), high_fd(env->out_fd)};
    int rc = errno = EMFILE;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawnattr_init(&at) == 0) {
            /* Pool threads block every signal, and the worker would inherit
             * that: a crash it raises itself would never be delivered. */
            sigset_t none, all;
            sigemptyset(&none);
            sigfillset(&all);
            posix_spawnattr_setsigmask(&at, &none);
            posix_spawnattr_setsigdefault(&at, &all);
            posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
            posix_spawn_file_actions_adddup2(&fa, fds[0], ISO_FD_SOCK);
            posix_spawn_file_actions_adddup2(&fa, fds[1], ISO_FD_IN);
            posix_spawn_file_actions_adddup2(&fa, fds[2], ISO_FD_OUT);
            char *argv[] = {"thumbd", ISOLATION_WORKER_ARG, NULL};
            rc = posix_spawn(pid, "/proc/self/exe", &fa, &at, argv, environ);
            posix_spawnattr_destroy(&at);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

/* What a worker process could not restrict (sandbox.h): said once a run,
 * as every worker process of the run meets the same kernel. */
static void sandbox_notice(const char *missing)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (missing[0] && !atomic_flag_test_and_set(&said))
        fprintf(stderr, "thumbd: warning: worker sandbox incomplete: %s\n", missing);
}

/* Starts the calling thread's worker process and sends it the run's
 * configuration. */
static td_status spawn(const pipeline_env *env, char *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return td_fail(err, TD_EIO, "cannot start a worker process: socketpair: %s", strerror(errno));
    pid_t pid;
    int rc = spawn_exec(sv[1], env, &pid);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        return td_fail(err, TD_EIO, "cannot start a worker process: %s", strerror(rc));
    }
    me = (isoproc){pid, sv[0]};
    iso_config c = {.type = ISO_CONFIG, .cfg = *env->cfg, .notes = env->ut != NULL,
                    .gate = env->cfg->max_memory > 0};
    /* Pointers mean nothing in another process: every string field of the
     * config is dropped here or sent by value (a new one must be too). */
    c.cfg.in_dir = c.cfg.in_file = c.cfg.out_dir = c.cfg.report_path = NULL;
    c.cfg.files_from = c.cfg.metrics_path = c.cfg.name_template = NULL;
    const char *tpl = env->cfg->name_template ? env->cfg->name_template : "";
    if (strlen(tpl) >= sizeof c.name_template) {
        kill_worker();
        return td_fail(err, TD_EIO, "cannot start a worker process: --name is over %zu bytes",
                       sizeof c.name_template - 1);
    }
    strcpy(c.name_template, tpl);
    if (env->ut) {
        c.fp_thumb = env->ut->fp_thumb;
        c.fp_fail = env->ut->fp_fail;
    }
    iso_ready ready = {0};
    if (send(me.fd, &c, sizeof c, MSG_NOSIGNAL) != (ssize_t)sizeof c ||
        recv(me.fd, &ready, sizeof ready, 0) != (ssize_t)sizeof ready || ready.type != ISO_READY ||
        !memchr(ready.sandbox, '\0', sizeof ready.sandbox)) {
        int e = errno;
        kill_worker();
        return td_fail(err, TD_EIO, "cannot start a worker process: %s",
                       ready.type ? "it sent what no thumbd sends" : e ? strerror(e) : "it ended");
    }
    sandbox_notice(ready.sandbox);
    return TD_OK;
}

void isolation_thread_start(const pipeline_env *env)
{
    char err[TD_ERRLEN];
    if (me.pid == 0)
        (void)spawn(env, err); /* on failure the first task says why */
}

/* Sends t to the worker process. */
static bool send_task(const thumbd_task *t, int worker, const cancel_token *tok)
{
    static _Thread_local char buf[ISO_MSG_MAX];
    size_t len = strlen(t->rel);
    iso_task it = {.type = ISO_TASK, .id = t->id, .worker = worker, .attempts = t->attempts,
                   .size = t->size, .mtime = t->mtime, .t_queued = t->t_queued,
                   .deadline = tok->deadline, .rel_len = len};
    if (len > sizeof buf - sizeof it)
        return false;
    memcpy(buf, &it, sizeof it);
    memcpy(buf + sizeof it, t->rel, len);
    return send(me.fd, buf, sizeof it + len, MSG_NOSIGNAL) == (ssize_t)(sizeof it + len);
}

/* The report's decoder names are static strings: the worker's, as sent,
 * kept once each for the rest of the process. */
static const char *intern_decoder(const char *name)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char names[16][32];
    static int n;
    if (!name[0])
        return NULL;
    const char *found = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n && !found; i++)
        if (strcmp(names[i], name) == 0)
            found = names[i];
    if (!found && n < 16) {
        snprintf(names[n], sizeof names[n], "%s", name);
        found = names[n++];
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static bool take_result(thumbd_task *t, const char *msg, size_t n)
{
    iso_result m;
    if (n < sizeof m)
        return false;
    memcpy(&m, msg, sizeof m);
    if (m.res.nouts < 0 || m.res.nouts > TASK_MAX_OUTPUTS)
        return false;
    if (m.out_rel_len > n)
        return false;
    size_t want = m.out_rel_len;
    for (int i = 0; i < m.res.nouts; i++) {
        if (m.outs_len[i] > n) /* no sum that wraps around */
            return false;
        want += m.outs_len[i];
    }
    if (want != n - sizeof m)
        return false;
    /* The strings follow the fixed part: out_rel, then each output's. */
    const char *p = msg + sizeof m;
    char *out = m.out_rel_len ? strndup(p, m.out_rel_len) : NULL;
    bool ok = !m.out_rel_len || out;
    p += m.out_rel_len;
    for (int i = 0; i < m.res.nouts; i++) {
        m.res.outs[i].rel = ok && m.outs_len[i] ? strndup(p, m.outs_len[i]) : NULL;
        ok = ok && (!m.outs_len[i] || m.res.outs[i].rel);
        p += m.outs_len[i];
    }
    if (!ok) {
        free(out);
        for (int i = 0; i < m.res.nouts; i++)
            free(m.res.outs[i].rel);
        return false;
    }
    task_result_clear_outputs(&t->res);
    t->res = m.res;
    t->res.out_rel = out;
    /* The report reads these as strings and the warnings as a count, so
     * they are made safe whatever a damaged worker sent. */
    m.decoder[sizeof m.decoder - 1] = '\0';
    t->res.decoder = intern_decoder(m.decoder);
    t->res.error[sizeof t->res.error - 1] = '\0';
    t->res.placeholder[sizeof t->res.placeholder - 1] = '\0';
    task_warnings *w = &t->res.warnings;
    if (w->n < 0 || w->n > TASK_WARN_MAX)
        w->n = w->n < 0 ? 0 : TASK_WARN_MAX;
    for (size_t i = 0; i < sizeof w->msg / sizeof w->msg[0]; i++)
        w->msg[i][sizeof w->msg[i] - 1] = '\0';
    return true;
}

static const char *signal_abbrev(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGSYS: return "SIGSYS";
    case SIGTRAP: return "SIGTRAP";
    case SIGXCPU: return "SIGXCPU";
    default: return "a signal";
    }
}

/* The RLIMIT_DATA a worker process runs under: the sandbox's (sandbox.h),
 * or the one it inherits if lower; 0 = none. */
static uint64_t worker_data_limit(const thumbd_config *cfg)
{
    uint64_t lim = cfg->sandbox == SANDBOX_ON ? sandbox_data_limit(cfg->max_memory) : 0;
    struct rlimit cur;
    if (getrlimit(RLIMIT_DATA, &cur) == 0 && cur.rlim_cur != RLIM_INFINITY &&
        (lim == 0 || (uint64_t)cur.rlim_cur < lim))
        lim = (uint64_t)cur.rlim_cur;
    return lim;
}

/* A worker killed by sig: what the record says. An allocation refused at
 * the data limit ends a worker by SIGTRAP (GLib's g_malloc, which libvips
 * and its loaders use) or SIGABRT (C++ loaders' std::bad_alloc); the
 * kernel's OOM killer (a memory cgroup's) sends SIGKILL. */
static void signal_message(char *buf, size_t len, int sig, uint64_t data_limit)
{
    if ((sig == SIGTRAP || sig == SIGABRT) && data_limit)
        snprintf(buf, len,
                 "decoder ran out of memory or crashed: %s (worker process killed by signal %d, "
                 "as an allocation over its data limit of %llu MiB ends it; raise --max-memory)",
                 signal_abbrev(sig), sig, (unsigned long long)(data_limit >> 20));
    else
        snprintf(buf, len, "decoder crashed: %s (worker process killed by signal %d%s)",
                 signal_abbrev(sig), sig,
                 sig == SIGKILL ? ": out of memory, or killed from outside" : "");
}

/* The worker process died during t (status: its wait status): a lasting
 * failure of t, noted as such. */
static void crashed(const pipeline_env *env, thumbd_task *t, int worker, int status, double t0)
{
    task_result *r = &t->res;
    task_result_clear_outputs(r);
    *r = (task_result){.status = TASK_FAILED, .worker = worker, .lasting = true,
                       .read_size = t->size, .read_mtime = t->mtime,
                       .queue_ms = (t0 - t->t_queued) * 1000.0,
                       .total_ms = (clock_now_s() - t0) * 1000.0};
    if (WIFSIGNALED(status)) {
        signal_message(r->error, sizeof r->error, WTERMSIG(status), worker_data_limit(env->cfg));
    } else {
        snprintf(r->error, sizeof r->error,
                 "decoder crashed: the worker process exited with status %d during the task",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (env->ut)
        uptodate_note_result(env->ut, t);
}

/* The task's token tripped and its worker process was killed at now
 * (its end, which the kernel may take a while to tear down, is not the
 * task's): t is cancelled, with pipeline_run's messages. */
static void cancelled(const pipeline_env *env, thumbd_task *t, int worker, cancel_reason why,
                      double t0, double now)
{
    task_result *r = &t->res;
    task_result_clear_outputs(r);
    *r = (task_result){.status = TASK_CANCELLED, .worker = worker, .why = why,
                       .read_size = t->size, .read_mtime = t->mtime,
                       .queue_ms = (t0 - t->t_queued) * 1000.0, .total_ms = (now - t0) * 1000.0};
    if (why == CANCEL_TIMEOUT)
        pipeline_timeout_message(r->error, env->cfg->task_timeout);
    else {
        char s[320]; /* "%.1f" of any double fits: the message's length is known */
        snprintf(s, sizeof s, "%.1f", now - t0);
        snprintf(r->error, sizeof r->error, "cancelled by %.200s after %.24s s", cancel_reason_name(why), s);
    }
}

/* A reservation the worker process asks for, in the run's budget, with the
 * run's word on giving the task back. */
static void gate_acquire(const pipeline_env *env, thumbd_task *t, cancel_token *tok, iso_gate *g,
                         size_t *held)
{
    bool may_defer = g->may_defer && env->may_defer && env->may_defer(t, env->defer_ctx);
    g->err[0] = '\0';
    g->status = memgate_acquire(env->gate, g->bytes, may_defer, tok, g->err);
    if (g->status == TD_OK)
        *held += g->bytes;
    g->type = ISO_GATE_REPLY;
}

/* Deadline of the poll: the next look at the token. */
static int poll_ms(const cancel_token *tok)
{
    double wait = POLL_S;
    if (tok->deadline > 0) {
        double left = tok->deadline + KILL_GRACE_S - clock_now_s();
        if (left < wait)
            wait = left > 0 ? left : 0;
    }
    return (int)(wait * 1000.0 + 0.999);
}

typedef enum watch_end { WATCH_RESULT, WATCH_DIED, WATCH_CANCELLED } watch_end;

/* Serves the worker process's requests until it returns t's result, dies,
 * or t's token trips (past the grace for a deadline). *held: the budget it
 * holds. */
static watch_end watch(const pipeline_env *env, thumbd_task *t, cancel_token *tok, size_t *held,
                       cancel_reason *why)
{
    static _Thread_local char msg[ISO_MSG_MAX];
    for (;;) {
        *why = (cancel_reason)atomic_load(&tok->reason);
        if (*why == CANCEL_NONE && tok->deadline > 0 && clock_now_s() >= tok->deadline + KILL_GRACE_S)
            *why = cancel_check(tok);
        if (*why != CANCEL_NONE)
            return WATCH_CANCELLED;
        struct pollfd pfd = {.fd = me.fd, .events = POLLIN};
        int pr = poll(&pfd, 1, poll_ms(tok));
        if (pr < 0 && errno != EINTR)
            return WATCH_DIED;
        if (pr <= 0)
            continue;
        ssize_t n = recv(me.fd, msg, sizeof msg, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)sizeof(iso_type))
            return WATCH_DIED;
        iso_type type;
        memcpy(&type, msg, sizeof type);
        if (type == ISO_RESULT)
            return take_result(t, msg, (size_t)n) ? WATCH_RESULT : WATCH_DIED;
        iso_gate g;
        if ((size_t)n != sizeof g)
            return WATCH_DIED;
        memcpy(&g, msg, sizeof g);
        if (type == ISO_GATE_RELEASE) {
            memgate_release(env->gate, g.bytes);
            *held -= g.bytes > *held ? *held : g.bytes;
        } else if (type == ISO_GATE_ACQUIRE) {
            gate_acquire(env, t, tok, &g, held);
            if (send(me.fd, &g, sizeof g, MSG_NOSIGNAL) != (ssize_t)sizeof g)
                return WATCH_DIED;
        } else {
            return WATCH_DIED;
        }
    }
}

void isolation_run(const pipeline_env *env, thumbd_task *t, int worker, cancel_token *tok)
{
    if (t->preset_error) {
        pipeline_run(env, t, worker, tok);
        return;
    }
    double t0 = clock_now_s();
    char err[TD_ERRLEN];
    td_status st = TD_OK;
    /* A worker process that died idle shows as a failed send: one more. */
    for (int tries = 0; tries < 2; tries++) {
        if (me.pid == 0 && (st = spawn(env, err)) != TD_OK)
            break;
        if (send_task(t, worker, tok))
            break;
        kill_worker();
        st = td_fail(err, TD_EIO, "cannot hand the task to a worker process: %s", strerror(errno));
    }
    if (st != TD_OK) {
        /* No /proc, a seccomp profile that refuses exec...: the run goes
         * on unisolated rather than failing every image. */
        static atomic_flag warned = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&warned))
            fprintf(stderr, "thumbd: warning: %s; decoding in threads (--isolation thread)\n", err);
        pipeline_run(env, t, worker, tok);
        return;
    }
    size_t held = 0;
    cancel_reason why = CANCEL_NONE;
    switch (watch(env, t, tok, &held, &why)) {
    case WATCH_RESULT:
        /* Stopped by its own token (the same deadline): the pool reads
         * the reason from this one, as after pipeline_run. */
        if (t->res.status == TASK_CANCELLED && t->res.why != CANCEL_NONE)
            cancel_request(tok, t->res.why);
        break;
    case WATCH_DIED:
        kill(me.pid, SIGKILL); /* if it lives on, sending what no thumbd sends */
        crashed(env, t, worker, reap(), t0);
        break;
    case WATCH_CANCELLED: {
        double now = clock_now_s();
        kill_worker();
        cancelled(env, t, worker, why, t0, now);
        break;
    }
    }
    if (held)
        memgate_release(env->gate, held); /* what a dead worker process held */
    if (me.pid == 0 && why != CANCEL_SHUTDOWN && why != CANCEL_DEADLINE)
        isolation_thread_start(env); /* the next task's clock need not pay for it */
}
