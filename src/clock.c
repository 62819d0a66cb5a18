/* clock.c: the monotonic clock and sleeping. */
#include <errno.h>
#include <time.h>

#include "internal.h"

int64_t green_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int green_poll_until(int (*attempt)(void *), void *arg, int64_t deadline, int interruptible)
{
    const int64_t step = 1000000;
    int r;
    while ((r = attempt(arg)) == -EBUSY) {
        int64_t now = green_now();
        if (deadline != GREEN_NEVER && now >= deadline)
            return -ETIMEDOUT;
        int64_t until = deadline != GREEN_NEVER && deadline - now < step ? deadline : now + step;
        if (green_sleep_until(until) == -EINTR && interruptible)
            return -EINTR;
    }
    return r;
}

int green_sleep_until(int64_t deadline)
{
    /* A sleep without deadline waits for an interrupt only. */
    while (deadline == GREEN_NEVER || green_now() < deadline) {
        if (green__block(W_SLEEP, NULL, deadline, false) == -EINTR)
            return -EINTR;
    }
    return 0;
}
