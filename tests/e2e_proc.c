/* The one runner of the end-to-end test programs: see e2e_util.h. */
#include "e2e_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { ARGV_MAX = 96 };

/* The strings a child needs: its argv and environment. */
typedef struct plan {
    char *argv[ARGV_MAX + 1];
    char **envp;          /* malloc'ed array */
    char **owned;         /* malloc'ed strings of envp, freed with it */
    int nowned;
} plan;

const char *e2e_setpriv_path(void)
{
    static const char *const cands[] = {"/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return NULL;
}

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static bool argv_build(const e2e_cmd *c, plan *p)
{
    int n = 0;
    size_t want = count(c->prefix) + count(c->args) + 5;
    if (want > ARGV_MAX) {
        printf("  too many arguments (%zu) for %s\n", want, c->bin);
        return false;
    }
    for (size_t i = 0; c->prefix && c->prefix[i]; i++)
        p->argv[n++] = (char *)c->prefix[i];
    if (c->as_nobody) {
        const char *sp = e2e_setpriv_path();
        if (!sp) {
            printf("  setpriv (util-linux) not found: cannot run %s as nobody\n", c->bin);
            return false;
        }
        p->argv[n++] = (char *)sp;
        p->argv[n++] = "--reuid=65534";
        p->argv[n++] = "--regid=65534";
        p->argv[n++] = "--clear-groups";
    }
    p->argv[n++] = (char *)c->bin;
    for (size_t i = 0; c->args && c->args[i]; i++)
        p->argv[n++] = (char *)c->args[i];
    p->argv[n] = NULL;
    return true;
}

static bool name_is(const char *var, const char *name, size_t len)
{
    return !strncmp(var, name, len) && var[len] == '=';
}

/* Index of variable NAME (len bytes) in p->envp[0..n), or -1. */
static int env_find(const plan *p, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (name_is(p->envp[i], name, len))
            return i;
    return -1;
}

static char *own(plan *p, char *s)
{
    if (s)
        p->owned[p->nowned++] = s;
    return s;
}

/* Sets NAME=VALUE (the whole string var) in p->envp[0..*n). */
static void env_put(plan *p, int *n, const char *var)
{
    size_t len = strcspn(var, "=");
    int i = env_find(p, *n, var, len);
    if (i < 0)
        i = (*n)++;
    p->envp[i] = (char *)var;
}

/* Appends key=value to the colon-separated list in variable NAME (entry is
 * "NAME=key=value"): a sanitizer takes the last value of a key. */
static void env_add_opt(plan *p, int *n, const char *entry)
{
    size_t len = strcspn(entry, "=");
    if (!entry[len])
        return;
    const char *kv = entry + len + 1;
    int i = env_find(p, *n, entry, len);
    const char *old = i >= 0 ? p->envp[i] + len + 1 : "";
    size_t sz = len + strlen(old) + strlen(kv) + 3;
    char *v = own(p, malloc(sz));
    if (!v)
        return;
    snprintf(v, sz, "%.*s=%s%s%s", (int)len, entry, old, *old ? ":" : "", kv);
    env_put(p, n, v);
}

static bool harness_var(const char *var)
{
    const char *eq = strchr(var, '=');
    size_t len = eq ? (size_t)(eq - var) : strlen(var);
    return !strncmp(var, "THUMBD_TEST_", 12) ||
           (!strncmp(var, "THUMBD_", 7) && len > 5 && !strncmp(var + len - 5, "_KEEP", 5));
}

static bool env_build(const e2e_cmd *c, plan *p)
{
    size_t total = count((const char *const *)environ) + count(c->env) + count(c->san_opts) + 4;
    p->envp = calloc(total + 1, sizeof *p->envp);
    p->owned = calloc(count(c->san_opts) + 4, sizeof *p->owned);
    if (!p->envp || !p->owned)
        return false;
    int n = 0;
    for (char **e = environ; *e; e++) {
        /* The test harness's own variables (THUMBD_TEST_STRICT, THUMBD_*_KEEP)
         * are not thumbd's: it would warn about them. */
        bool drop = harness_var(*e);
        for (size_t i = 0; c->unset && c->unset[i] && !drop; i++)
            drop = !strncmp(*e, c->unset[i], strlen(c->unset[i]));
        if (!drop)
            p->envp[n++] = *e;
    }
    for (size_t i = 0; c->env && c->env[i]; i++)
        env_put(p, &n, c->env[i]);
    if (c->preload) {
        size_t sz = strlen(c->preload) + 16;
        char *v = own(p, malloc(sz));
        if (!v)
            return false;
        snprintf(v, sz, "LD_PRELOAD=%s", c->preload);
        env_put(p, &n, v);
        env_add_opt(p, &n, "ASAN_OPTIONS=verify_asan_link_order=0");
    }
    for (size_t i = 0; c->san_opts && c->san_opts[i]; i++)
        env_add_opt(p, &n, c->san_opts[i]);
    p->envp[n] = NULL;
    return true;
}

static void plan_free(plan *p)
{
    for (int i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->envp);
}

/* The child's descriptors: stdin, stdout, stderr. */
static void files_plan(const e2e_cmd *c, posix_spawn_file_actions_t *fa)
{
    posix_spawn_file_actions_addopen(fa, 0, c->in ? c->in : "/dev/null", O_RDONLY, 0);
    if (c->out_fd > 2)
        posix_spawn_file_actions_adddup2(fa, c->out_fd, 1);
    else
        posix_spawn_file_actions_addopen(fa, 1, c->out ? c->out : "/dev/null",
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (c->err_fd > 2)
        posix_spawn_file_actions_adddup2(fa, c->err_fd, 2);
    else if (c->err)
        posix_spawn_file_actions_addopen(fa, 2, c->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    else
        posix_spawn_file_actions_adddup2(fa, 1, 2);
}

/* Limits and SIGHUP's disposition the child inherits: set in this process
 * around the spawn (posix_spawn has no attribute for them) and put back. */
typedef struct inherit {
    struct rlimit core, fsize;
    struct sigaction hup;
} inherit;

static void inherit_set(const e2e_cmd *c, inherit *saved)
{
    getrlimit(RLIMIT_CORE, &saved->core);
    getrlimit(RLIMIT_FSIZE, &saved->fsize);
    struct rlimit core = {0, saved->core.rlim_max};
    setrlimit(RLIMIT_CORE, &core);
    if (c->fsize_limit > 0) {
        struct rlimit fs = {(rlim_t)c->fsize_limit, saved->fsize.rlim_max};
        setrlimit(RLIMIT_FSIZE, &fs);
    }
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGHUP, c->sighup_ignored ? &ign : NULL, &saved->hup);
}

static void inherit_restore(const inherit *saved)
{
    setrlimit(RLIMIT_CORE, &saved->core);
    setrlimit(RLIMIT_FSIZE, &saved->fsize);
    sigaction(SIGHUP, &saved->hup, NULL);
}

/* posix_spawn: the child's settings as attributes and file actions. */
static int spawn(const e2e_cmd *c, const plan *p, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    files_plan(c, &fa);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t dflt, none;
    sigfillset(&dflt);
    sigdelset(&dflt, SIGKILL);
    sigdelset(&dflt, SIGSTOP);
    if (c->sighup_ignored)
        sigdelset(&dflt, SIGHUP);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    inherit saved;
    inherit_set(c, &saved);
    int rc = posix_spawn(pid, p->argv[0], &fa, &at, p->argv, p->envp);
    inherit_restore(&saved);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static void print_tag(const e2e_cmd *c)
{
    printf("  %s%s%s", c->tag ? "[" : "", c->tag ? c->tag : "", c->tag ? "] " : "");
}

bool e2e_start(const e2e_cmd *c, e2e_child *ch)
{
    ch->pid = -1;
    ch->t0 = now_s();
    plan p = {0};
    bool ok = argv_build(c, &p) && env_build(c, &p);
    if (ok && c->echo) {
        print_tag(c);
        printf("$");
        for (int i = 0; p.argv[i]; i++)
            printf(" %s", p.argv[i]);
        printf("%s\n", c->fsize_limit > 0 ? "   (ulimit -f limited)" : "");
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = -1;
    int rc = ok ? spawn(c, &p, &pid) : 0;
    if (!ok || rc != 0) {
        print_tag(c);
        printf("cannot run %s: %s\n", p.argv[0] ? p.argv[0] : c->bin,
               rc ? strerror(rc) : "set-up failed");
        fflush(stdout);
        plan_free(&p);
        return false;
    }
    plan_free(&p);
    ch->pid = pid;
    return true;
}

bool e2e_poll(e2e_child *ch, e2e_proc *res)
{
    *res = (e2e_proc){.code = -1};
    if (ch->pid <= 0)
        return true;
    int status;
    struct rusage ru;
    pid_t w;
    while ((w = wait4(ch->pid, &status, WNOHANG, &ru)) < 0 && errno == EINTR)
        ;
    if (w == 0)
        return false;
    if (w == ch->pid) {
        res->maxrss_kb = ru.ru_maxrss;
        if (WIFEXITED(status)) {
            res->code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            res->signo = WTERMSIG(status);
            res->code = 128 + res->signo;
        }
    }
    res->wall_s = now_s() - ch->t0;
    ch->pid = -1;
    return true;
}

e2e_proc e2e_wait(e2e_child *ch, double timeout_s, long poll_ms)
{
    e2e_proc res;
    if (poll_ms <= 0)
        poll_ms = 2;
    struct timespec nap = {poll_ms / 1000, (poll_ms % 1000) * 1000 * 1000};
    while (!e2e_poll(ch, &res)) {
        if (now_s() - ch->t0 > timeout_s) {
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, NULL, 0);
            printf("  pid %d timed out after %.0f s (killed)\n", ch->pid, timeout_s);
            fflush(stdout);
            ch->pid = -1;
            return (e2e_proc){.code = -2, .wall_s = now_s() - ch->t0};
        }
        nanosleep(&nap, NULL);
    }
    return res;
}

e2e_proc e2e_exec(const e2e_cmd *c, double timeout_s)
{
    e2e_child ch;
    if (!e2e_start(c, &ch))
        return (e2e_proc){.code = -1};
    return e2e_wait(&ch, timeout_s, 2);
}

e2e_proc e2e_run(char *const argv[], char *const envp[], const char *out_path,
                 const char *err_path, double timeout_s, long poll_ms, const char *tag)
{
    /* envp replaces the environment: every variable of ours unset, its own set */
    static const char *const all[] = {"", NULL};
    e2e_cmd c = {.bin = argv[0], .args = (const char *const *)argv + 1,
                 .unset = envp ? all : NULL, .env = (const char *const *)envp,
                 .out = out_path, .err = err_path, .tag = tag};
    e2e_child ch;
    if (!e2e_start(&c, &ch))
        return (e2e_proc){.code = -1};
    return e2e_wait(&ch, timeout_s, poll_ms);
}

char *e2e_slurp(const char *path, size_t *len)
{
    uint8_t *data;
    size_t n;
    if (read_file(path, &data, &n) != 0)
        return NULL;
    char *s = realloc(data, n + 1);
    if (!s) {
        free(data);
        return NULL;
    }
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

bool e2e_file_has(const char *path, const char *needle)
{
    char *s = e2e_slurp(path, NULL);
    bool hit = s && strstr(s, needle);
    free(s);
    return hit;
}

void e2e_print_tail(const char *path, int lines)
{
    char *s = e2e_slurp(path, NULL);
    if (!s)
        return;
    size_t len = strlen(s);
    char *from = s + len;
    if (from > s && from[-1] == '\n')
        from--;
    for (int k = 0; from > s; from--)
        if (from[-1] == '\n' && ++k == lines)
            break;
    for (char *line = from; *line;) {
        size_t n = strcspn(line, "\n");
        printf("    | %.*s\n", (int)n, line);
        line += n + (line[n] == '\n');
    }
    free(s);
}
