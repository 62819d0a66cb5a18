/* time.c: sleeps as green waits.
 *
 * A sleep becomes a deadline on its clock; the core waits on
 * CLOCK_MONOTONIC, so each wake-up re-reads the sleep's own clock and
 * sleeps on when the target is not reached yet (CLOCK_REALTIME moved
 * back, CLOCK_BOOTTIME that counted a suspend). A sleep already over
 * still yields once: programs spin on usleep(0) waiting for another
 * thread, which must get to run. EINTR and cancellation follow the wait
 * policy (GREEN_CALL_SLEEP). */
#include "fd.h"
#include "pthr.h"

#include <unistd.h>

/* The clocks slept on green; others pass through (CPU-time clocks). */
static int green_clock(clockid_t c)
{
    return c == CLOCK_MONOTONIC || c == CLOCK_REALTIME || c == CLOCK_BOOTTIME;
}

/* Sleep until target (ns on clock c). Returns 0 or -EINTR. */
GREEN_YIELDS static int sleep_until_on(clockid_t c, int64_t target)
{
    int64_t left = target - preload_clock_ns(c);
    if (left <= 0) {
        green_cancel_point(NULL, NULL);
        green_yield();
        return 0;
    }
    for (; left > 0; left = target - preload_clock_ns(c)) {
        struct green_wait w = {.call = GREEN_CALL_SLEEP,
                               .on = GREEN_ON_TIME,
                               .deadline = preload_deadline_after(left)};
        int r = green_wait(&w);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Sleep for *req on clock c; on -EINTR store what is left in the
 * program's *rem (-EFAULT when it cannot be written, as natively). */
GREEN_YIELDS static int sleep_for(clockid_t c, const struct timespec *req, struct timespec *rem)
{
    if (!preload_ts_valid(req))
        return -EINVAL;
    int64_t target = preload_add_sat(preload_clock_ns(c), preload_ts_ns(req));
    int r = sleep_until_on(c, target);
    if (r == -EINTR && rem) {
        int64_t left = target - preload_clock_ns(c);
        struct timespec ts = preload_ns_ts(left > 0 ? left : 0);
        if (fd_copyout(rem, &ts, sizeof ts) < 0)
            return -EFAULT;
    }
    return r;
}

GREEN_YIELDS static int sleep_until_ts(clockid_t c, const struct timespec *when)
{
    if (!preload_ts_valid(when))
        return -EINVAL;
    return sleep_until_on(c, preload_ts_ns(when));
}

/* Sleeps green when another green thread could run meanwhile; passes
 * through otherwise, and for a req libgreen cannot read (the kernel says
 * EFAULT at once). */
PRELOAD_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    struct timespec t;
    if (!preload_should_wait() || fd_copyin(&t, req, sizeof t) < 0)
        return real_nanosleep(req, rem);
    int r = sleep_for(CLOCK_MONOTONIC, &t, rem);
    return r < 0 ? preload_fail(r) : 0;
}

/* As nanosleep, on CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME,
 * relative or TIMER_ABSTIME; other clocks pass through. Returns the
 * error number, as the real one. */
PRELOAD_EXPORT int clock_nanosleep(clockid_t c, int flags, const struct timespec *req,
                                   struct timespec *rem)
{
    struct timespec t;
    if (!green_clock(c) || !preload_should_wait() || fd_copyin(&t, req, sizeof t) < 0)
        return real_clock_nanosleep(c, flags, req, rem);
    if (flags & TIMER_ABSTIME)
        return -sleep_until_ts(c, &t);
    return -sleep_for(c, &t, rem);
}

/* Sleeps green (see nanosleep). Returns the whole seconds left when a
 * signal interrupts (errno EINTR), 0 otherwise with errno untouched. */
PRELOAD_EXPORT unsigned int sleep(unsigned int s)
{
    if (!preload_should_wait())
        return real_sleep(s);
    int saved = errno;
    struct timespec req = {.tv_sec = s, .tv_nsec = 0}, rem;
    if (sleep_for(CLOCK_MONOTONIC, &req, &rem) == -EINTR) {
        errno = EINTR;
        return (unsigned int)rem.tv_sec;
    }
    errno = saved;
    return 0;
}

/* Sleeps green (see nanosleep). glibc takes any count, 1000000 and more
 * included, as nanosleep does: no EINVAL. */
PRELOAD_EXPORT int usleep(useconds_t us)
{
    if (!preload_should_wait())
        return real_usleep(us);
    struct timespec req = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    int r = sleep_for(CLOCK_MONOTONIC, &req, NULL);
    return r < 0 ? preload_fail(r) : 0;
}
