#include "thumbd/status.h"

#include <stdarg.h>
#include <stdio.h>

td_status td_fail(char *err, td_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, TD_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return st;
}
