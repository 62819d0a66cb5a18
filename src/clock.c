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

int green_sleep_until(int64_t deadline)
{
    /* A sleep without deadline waits for an interrupt only. */
    while (deadline == GREEN_NEVER || green_now() < deadline) {
        if (green__block(W_SLEEP, NULL, deadline, false) == -EINTR)
            return -EINTR;
    }
    return 0;
}
