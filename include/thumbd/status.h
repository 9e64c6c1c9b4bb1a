/* Status codes shared by every module, and the message buffer convention. */
#ifndef THUMBD_STATUS_H
#define THUMBD_STATUS_H

#include <stddef.h>

/* Every fallible function returns one of these and, on failure, writes a
 * message a user can act on into a caller-supplied buffer of TD_ERRLEN. */
typedef enum td_status {
    TD_OK = 0,
    TD_EINPUT,    /* the input file is bad: corrupt, truncated, unsupported */
    TD_ELIMIT,    /* the input exceeds a configured limit */
    TD_EIO,       /* a read or write of the filesystem failed */
    TD_ENOMEM,    /* out of memory */
    TD_ECANCEL,   /* the task's cancellation token tripped */
    TD_EUSAGE,    /* bad option or argument */
    TD_EBUSY,     /* the decoder memory budget is in use (memgate.h) */
    TD_ELOCKED,   /* another run holds OUT_DIR's lock (state.h) */
} td_status;

enum { TD_ERRLEN = 256 };

/* printf into err (of size TD_ERRLEN) and return st. */
td_status td_fail(char *err, td_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
