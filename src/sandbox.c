/* A worker process's least privilege (sandbox.h): no new privileges,
 * rlimits, a seccomp deny list, Landlock. */
#include "thumbd/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/memgate.h"

#ifndef THUMBD_MODULE_DIR
#define THUMBD_MODULE_DIR "/usr/local/lib/thumbd"
#endif

/* Appends "; what" to notice. */
static void note(char *notice, const char *fmt, ...)
{
    size_t len = strlen(notice);
    if (len + 3 >= SANDBOX_NOTICE_LEN)
        return;
    if (len) {
        strcpy(notice + len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notice + len, SANDBOX_NOTICE_LEN - len, fmt, ap);
    va_end(ap);
}

/* ASan and TSan reserve terabytes of shadow and allocator address space,
 * which RLIMIT_DATA counts: their builds go without the data limit. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

uint64_t sandbox_data_limit(uint64_t max_memory)
{
    if (max_memory == 0 || SANITIZED)
        return 0;
    uint64_t more = MEMGATE_SLACK + SANDBOX_DATA_BASE;
    return max_memory > UINT64_MAX - more ? UINT64_MAX : max_memory + more;
}

static void set_limits(uint64_t max_memory, char *notice)
{
    struct rlimit core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &core) != 0)
        note(notice, "RLIMIT_CORE: %s", strerror(errno));
    uint64_t data = sandbox_data_limit(max_memory);
    struct rlimit cur;
    if (data && getrlimit(RLIMIT_DATA, &cur) == 0 &&
        (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur > data)) {
        struct rlimit lim = {(rlim_t)data, cur.rlim_max};
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < lim.rlim_cur)
            lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_DATA, &lim) != 0)
            note(notice, "RLIMIT_DATA: %s", strerror(errno));
    }
}

/* The system calls refused with EPERM (sandbox.h says why each). */
static const int denied[] = {
    SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
    SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
    SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(ptrace),
    SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(kexec_load),
    SCMP_SYS(kexec_file_load), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
    SCMP_SYS(chroot), SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
    SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setfsuid),
    SCMP_SYS(setfsgid), SCMP_SYS(setgroups), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
    SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(reboot), SCMP_SYS(swapon),
    SCMP_SYS(swapoff), SCMP_SYS(unshare), SCMP_SYS(setns),
};

static int add_rules(scmp_filter_ctx ctx)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof denied / sizeof denied[0] && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
    /* clone: a thread (CLONE_THREAD set) is allowed, a new process is not. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    /* clone3 passes its flags in memory the filter cannot read: ENOSYS
     * makes glibc fall back to clone. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return rc;
}

static void set_seccomp(char *notice)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        note(notice, "seccomp: cannot set up a filter");
        return;
    }
    /* no_new_privs is set by the caller; libseccomp need not set it. */
    int rc = add_rules(ctx);
    if (rc == 0)
        rc = seccomp_load(ctx);
    if (rc != 0)
        note(notice, "seccomp: %s", strerror(-rc));
    seccomp_release(ctx);
}

/* Rights and scopes of Landlock ABIs newer than the build's kernel
 * headers (Debian 12's know ABI 2), with their kernel values. */
#define LL_ACCESS_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LL_ACCESS_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)                /* ABI 6 */

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes the prefix
 * its caller's ABI knows. */
typedef struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
} ll_ruleset_attr;

/* Landlock has no libc wrappers. */
static int ll_create(const ll_ruleset_attr *attr, size_t size, uint32_t flags)
{
    return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static bool ll_allow(int ruleset, int fd, uint64_t access)
{
    struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
    return syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0;
}

/* Read-only on path (a file gets the file rights alone), if it exists. */
static void ll_allow_path(int ruleset, const char *path, uint64_t read_dir, uint64_t read_file)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return;
    if (!ll_allow(ruleset, fd, read_dir))
        (void)ll_allow(ruleset, fd, read_file); /* EINVAL: not a directory */
    close(fd);
}

/* The directory of path (a file), read-only. */
static void ll_allow_dir_of(int ruleset, const char *path, uint64_t read_dir, uint64_t read_file)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    ll_allow_path(ruleset, dir, read_dir, read_file);
}

/* The filesystem rights of Landlock ABI abi. */
static uint64_t fs_rights(int abi)
{
    uint64_t r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                 LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2)
        r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        r |= LL_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        r |= LL_ACCESS_FS_IOCTL_DEV;
    return r;
}

/* The read-only places sandbox.h lists. */
static void ll_system(int rs, uint64_t rd, uint64_t rf)
{
    static const char *const ro[] = {"/usr", "/etc/fonts", "/etc/ld.so.cache",
                                     "/var/cache/fontconfig", "/dev/null", "/dev/urandom",
                                     THUMBD_MODULE_DIR};
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
        ll_allow_path(rs, ro[i], rd, rf);
    char self[32];
    snprintf(self, sizeof self, "/proc/%d", (int)getpid());
    ll_allow_path(rs, self, rd, rf);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        ll_allow_dir_of(rs, exe, rd, rf);
    }
    const char *mod = getenv("THUMBD_VIPS_MODULE");
    if (mod && *mod)
        ll_allow_path(rs, mod, rd, rf);
}

/* fontconfig's user cache directory ($XDG_CACHE_HOME/fontconfig, else
 * $HOME/.cache/fontconfig) in buf, made if missing; false if there is none. */
static bool fontconfig_cache(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *root = xdg && *xdg ? xdg : home && *home ? home : NULL;
    const char *sub = xdg && *xdg ? "" : "/.cache";
    if (!root || strlen(root) + strlen(sub) + sizeof "/fontconfig" > len)
        return false;
    size_t n = strlen(root);
    memcpy(buf, root, n);
    memcpy(buf + n, sub, strlen(sub) + 1);
    mkdir(buf, 0700); /* the base, which may be missing too */
    memcpy(buf + strlen(buf), "/fontconfig", sizeof "/fontconfig");
    return mkdir(buf, 0700) == 0 || errno == EEXIST;
}

static void set_landlock(int in_fd, int out_fd, bool follow_symlinks, char *notice)
{
    int abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        note(notice, "Landlock: %s", errno == ENOSYS || errno == EOPNOTSUPP
                                         ? "not in this kernel (or disabled at boot)"
                                         : strerror(errno));
        return;
    }
    ll_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
    size_t size = offsetof(ll_ruleset_attr, handled_access_net);
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX_SOCKET;
        size = sizeof attr;
    }
    int rs = ll_create(&attr, size, 0);
    if (rs < 0) {
        note(notice, "Landlock: %s", strerror(errno));
        return;
    }
    uint64_t rf = LANDLOCK_ACCESS_FS_READ_FILE;
    uint64_t rd = rf | LANDLOCK_ACCESS_FS_READ_DIR;
    uint64_t all = fs_rights(abi) & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                      LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                                      LANDLOCK_ACCESS_FS_MAKE_FIFO | LL_ACCESS_FS_IOCTL_DEV);
    int root = follow_symlinks ? open("/", O_PATH | O_CLOEXEC) : -1;
    bool ok = ll_allow(rs, follow_symlinks ? root : in_fd, rd) && ll_allow(rs, out_fd, all);
    if (root >= 0)
        close(root);
    if (ok) {
        ll_system(rs, rd, rf);
        /* fontconfig's own cache (libvips renders SVG and PDF text through
         * it) is the one place besides OUT_DIR a worker writes: without it
         * fontconfig says "No writable cache directories" for every file. */
        char cache[PATH_MAX];
        if (fontconfig_cache(cache, sizeof cache))
            ll_allow_path(rs, cache, all, all);
        ok = syscall(SYS_landlock_restrict_self, rs, 0) == 0;
    }
    if (!ok)
        note(notice, "Landlock: %s", strerror(errno));
    close(rs);
}

bool sandbox_apply(int in_fd, int out_fd, uint64_t max_memory, bool follow_symlinks,
                   char notice[SANDBOX_NOTICE_LEN])
{
    notice[0] = '\0';
    set_limits(max_memory, notice);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        /* seccomp and Landlock both need it (without CAP_SYS_ADMIN). */
        note(notice, "no_new_privs: %s; seccomp and Landlock left out", strerror(errno));
        return false;
    }
    set_landlock(in_fd, out_fd, follow_symlinks, notice);
    set_seccomp(notice);
    return notice[0] == '\0';
}
