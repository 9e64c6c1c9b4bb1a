/* Permission bits that bind root too: a test that needs an unreadable
 * directory to be unreadable drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * from this thread's effective set (threads it then creates inherit that),
 * and raises them again from the permitted set afterwards.
 * Header-only; for unit tests that run as root in CI. */
#ifndef THUMBD_DAC_CAPS_H
#define THUMBD_DAC_CAPS_H

#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sets (on) or clears (!on) the two capabilities in the calling thread's
 * effective set; returns false if capget/capset fail. A process without
 * them in its permitted set (not root) is left as it is: true. */
static inline bool dac_caps_effective(bool on)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return false;
    unsigned mask = 1u << CAP_DAC_OVERRIDE | 1u << CAP_DAC_READ_SEARCH;
    if (on)
        d[0].effective |= d[0].permitted & mask;
    else
        d[0].effective &= ~mask;
    return syscall(SYS_capset, &h, d) == 0;
}

#endif
