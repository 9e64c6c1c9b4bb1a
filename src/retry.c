#include "thumbd/retry.h"

#include <errno.h>
#include <math.h>

bool retry_errno_transient(int e, bool output)
{
    switch (e) {
    case EINTR:
    case EAGAIN:
    case EIO:
    case ESTALE:
        return true;
    case ENOSPC:
    case EDQUOT:
        return output;
    default:
        return false;
    }
}

bool retry_allowed(const retry_policy *p, int attempt)
{
    return attempt >= 1 && attempt <= p->retries;
}

/* splitmix64: a tiny, well-mixed generator; tasks seed their own. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double retry_delay(const retry_policy *p, int retry, uint64_t *rng)
{
    if (retry < 1)
        retry = 1;
    double d = p->base_s * ldexp(1.0, retry > 60 ? 60 : retry - 1);
    if (d > p->max_s)
        d = p->max_s;
    double u = (double)(next_random(rng) >> 11) / 9007199254740992.0; /* [0, 1) */
    return d / 2 + u * d / 2;
}

double retry_not_before(const retry_policy *p, int retry, double now, uint64_t *rng)
{
    return now + retry_delay(p, retry, rng);
}
