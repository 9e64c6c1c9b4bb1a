#include "thumbd/ratelimit.h"

void ratelimit_init(ratelimit *rl, double rate, double burst, double now)
{
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->tokens = rl->burst;
    rl->last = now;
}

void ratelimit_destroy(ratelimit *rl)
{
    pthread_mutex_destroy(&rl->mu);
}

double ratelimit_take(ratelimit *rl, double now)
{
    pthread_mutex_lock(&rl->mu);
    if (now > rl->last) { /* a clock read before another thread's: no refill */
        rl->tokens += (now - rl->last) * rl->rate;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last = now;
    }
    double wait = 0;
    if (rl->tokens >= 1 - 1e-9) /* rounding must not leave a taker waiting 1 ulp */
        rl->tokens = rl->tokens > 1 ? rl->tokens - 1 : 0;
    else
        wait = (1 - rl->tokens) / rl->rate;
    pthread_mutex_unlock(&rl->mu);
    return wait;
}
