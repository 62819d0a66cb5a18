/* mutex.c: pthread mutexes and condition variables as green objects.
 *
 * They live in the program's own storage (green.h lays them out so that
 * zeros and glibc's static initializers are valid), and every call on
 * them, from green threads and other OS threads alike, goes to the core,
 * which gives other OS threads futex waits. Process-shared ones are made
 * by glibc and stay glibc's (another process may use them): calls on
 * them pass to glibc, and a green caller that would block polls instead
 * (trylock every millisecond; a condition wait waits at most a
 * millisecond in glibc, then lets the other green threads run and
 * reports a spurious wake-up). */
#include "pthr.h"

#define POLL_NS 1000000

static int try_glibc_mutex(void *m)
{
    return -real_pthread_mutex_trylock(m);
}

/* Take a glibc mutex from a green thread without blocking the others. */
GREEN_YIELDS static int glibc_lock(pthread_mutex_t *m, clockid_t c, const struct timespec *abs)
{
    if (!preload_should_wait())
        return abs ? real_pthread_mutex_clocklock(m, c, abs) : real_pthread_mutex_lock(m);
    int64_t deadline = abs ? preload_deadline_at(c, abs) : GREEN_NEVER;
    return -green_poll_until(try_glibc_mutex, m, deadline, 0);
}

/* Reads the type and process-shared attributes with glibc's getters;
 * robustness and priority protocols mean nothing on one OS thread. */
PRELOAD_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    int type = PTHREAD_MUTEX_DEFAULT, pshared = PTHREAD_PROCESS_PRIVATE;
    if (a && (real_pthread_mutexattr_gettype(a, &type) ||
              real_pthread_mutexattr_getpshared(a, &pshared)))
        return EINVAL;
    if (pshared == PTHREAD_PROCESS_SHARED)
        return real_pthread_mutex_init(m, a);
    green_mutex_init(AS_MUTEX(m), type);
    return 0;
}

PRELOAD_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    if (pthr_mutex_is_glibc(m))
        return real_pthread_mutex_destroy(m);
    return -green_mutex_destroy(AS_MUTEX(m));
}

PRELOAD_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (__builtin_expect(pthr_mutex_is_glibc(m), 0))
        return glibc_lock(m, CLOCK_REALTIME, NULL);
    return -green_mutex_lock(AS_MUTEX(m), GREEN_NEVER);
}

PRELOAD_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    green_yield_point();
    if (pthr_mutex_is_glibc(m))
        return real_pthread_mutex_trylock(m);
    return -green_mutex_lock(AS_MUTEX(m), 0);
}

/* As glibc, abstime is checked only when the mutex is taken. */
PRELOAD_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c,
                                           const struct timespec *abs)
{
    if (!pthr_clock_ok(c))
        return EINVAL;
    if (pthr_mutex_is_glibc(m))
        return glibc_lock(m, c, abs);
    int r = green_mutex_lock(AS_MUTEX(m), 0);
    if (r != -EBUSY)
        return -r;
    if ((r = pthr_abstime_error(abs)))
        return r;
    return -green_mutex_lock(AS_MUTEX(m), preload_deadline_at(c, abs));
}

PRELOAD_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    return pthread_mutex_clocklock(m, CLOCK_REALTIME, abs);
}

PRELOAD_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (__builtin_expect(pthr_mutex_is_glibc(m), 0))
        return real_pthread_mutex_unlock(m);
    return -green_mutex_unlock(AS_MUTEX(m));
}

/* Only robust mutexes can be inconsistent, and libgreen's never are. */
PRELOAD_EXPORT int pthread_mutex_consistent(pthread_mutex_t *m)
{
    if (pthr_mutex_is_glibc(m))
        return real_pthread_mutex_consistent(m);
    return EINVAL;
}

/* ---- condition variables ------------------------------------------------ */

PRELOAD_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    int pshared = PTHREAD_PROCESS_PRIVATE;
    clockid_t clock = CLOCK_REALTIME;
    if (a && (real_pthread_condattr_getpshared(a, &pshared) ||
              real_pthread_condattr_getclock(a, &clock)))
        return EINVAL;
    if (pshared == PTHREAD_PROCESS_SHARED)
        return real_pthread_cond_init(c, a);
    green_cond_init(AS_COND(c), clock);
    return 0;
}

PRELOAD_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
    if (pthr_cond_is_glibc(c))
        return real_pthread_cond_destroy(c);
    return -green_cond_destroy(AS_COND(c));
}

/* A glibc condition (or mutex) waited on from a green thread: at most a
 * millisecond in glibc, then a spurious wake-up after the others ran. */
GREEN_YIELDS static int glibc_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
                                   const struct timespec *abs)
{
    if (!preload_should_wait())
        return abs ? real_pthread_cond_clockwait(c, m, k, abs) : real_pthread_cond_wait(c, m);
    struct timespec now, until;
    clock_gettime(k, &now);
    until = preload_ns_ts(preload_ts_ns(&now) + POLL_NS);
    int late = abs && preload_ts_ns(abs) <= preload_ts_ns(&until);
    int r = real_pthread_cond_clockwait(c, m, k, late ? abs : &until);
    if (r != ETIMEDOUT || late)
        return r;
    if ((r = pthread_mutex_unlock(m)))
        return r;
    green_yield();
    return pthread_mutex_lock(m);
}

/* The clock a timed wait on c measures abstime with. */
static clockid_t cond_clock(pthread_cond_t *c)
{
    if (pthr_cond_is_glibc(c))
        return c->__data.__wrefs & GLIBC_COND_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    return AS_COND(c)->clock;
}

GREEN_YIELDS static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
                                  const struct timespec *abs)
{
    if (abs && (abs->tv_nsec < 0 || abs->tv_nsec >= NS_PER_S))
        return EINVAL;
    green_cancel_point(NULL, NULL);
    if (pthr_cond_is_glibc(c) || pthr_mutex_is_glibc(m))
        return glibc_wait(c, m, k, abs);
    int64_t deadline = abs ? preload_deadline_at(k, abs) : GREEN_NEVER;
    int r = -green_cond_wait(AS_COND(c), AS_MUTEX(m), deadline);
    green_cancel_point(NULL, NULL);
    return r;
}

PRELOAD_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return cond_wait(c, m, CLOCK_REALTIME, NULL);
}

PRELOAD_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                          const struct timespec *abs)
{
    return cond_wait(c, m, cond_clock(c), abs);
}

PRELOAD_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
                                          const struct timespec *abs)
{
    if (!pthr_clock_ok(k))
        return EINVAL;
    return cond_wait(c, m, k, abs);
}

PRELOAD_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    if (pthr_cond_is_glibc(c))
        return real_pthread_cond_signal(c);
    return -green_cond_signal(AS_COND(c));
}

PRELOAD_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    if (pthr_cond_is_glibc(c))
        return real_pthread_cond_broadcast(c);
    return -green_cond_broadcast(AS_COND(c));
}
