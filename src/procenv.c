#include "thumbd/procenv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void procenv_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

void procenv_nice(void)
{
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (!(cur == -1 && errno) && cur < 10 && setpriority(PRIO_PROCESS, 0, 10) != 0)
        fprintf(stderr, "thumbd: warning: --nice: cannot lower the CPU priority: %s\n", strerror(errno));
    /* ioprio_set(IOPRIO_WHO_PROCESS, self, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)): glibc has
     * no wrapper. Not the idle class: on a disk that is never idle it would starve. */
    enum { WHO_PROCESS = 1, CLASS_BE = 2, CLASS_SHIFT = 13 };
#ifdef SYS_ioprio_set
    if (syscall(SYS_ioprio_set, WHO_PROCESS, 0, CLASS_BE << CLASS_SHIFT | 7) != 0)
        fprintf(stderr, "thumbd: warning: --nice: cannot lower the I/O priority: %s\n", strerror(errno));
#endif
}
