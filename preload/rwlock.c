/* rwlock.c: read-write locks, barriers and spin locks as green objects.
 *
 * Like mutexes, they live in the program's storage; zeros (the static
 * initializer) are a valid read-write lock. Process-shared ones are made
 * by glibc and stay glibc's; a green caller that would block on one
 * polls it every millisecond instead. Spin locks keep glibc's layout (an
 * int), so every spin lock is both: a contended green caller yields. */
#include "pthr.h"

#define AS_RW(l) ((green_rwlock *)(void *)(l))
#define AS_BAR(b) ((green_barrier *)(void *)(b))

static int rw_is_glibc(pthread_rwlock_t *l)
{
    return AS_RW(l)->shared != 0;
}

static int bar_is_glibc(pthread_barrier_t *b)
{
    return AS_BAR(b)->shared != 0;
}

PRELOAD_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
    int pshared = PTHREAD_PROCESS_PRIVATE, kind = PTHREAD_RWLOCK_DEFAULT_NP;
    if (a && (real_pthread_rwlockattr_getpshared(a, &pshared) ||
              real_pthread_rwlockattr_getkind_np(a, &kind)))
        return EINVAL;
    if (pshared == PTHREAD_PROCESS_SHARED)
        return real_pthread_rwlock_init(l, a);
    green_rwlock_init(AS_RW(l), kind);
    return 0;
}

PRELOAD_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
    if (rw_is_glibc(l))
        return real_pthread_rwlock_destroy(l);
    return -green_rwlock_destroy(AS_RW(l));
}

struct rw_try {
    pthread_rwlock_t *l;
    int wr;
};

static int try_glibc_rw(void *arg)
{
    struct rw_try *t = arg;
    return -(t->wr ? real_pthread_rwlock_trywrlock(t->l) : real_pthread_rwlock_tryrdlock(t->l));
}

/* A glibc rwlock from a green thread: try, sleep a millisecond, again. */
GREEN_YIELDS static int glibc_rw(pthread_rwlock_t *l, int wr, clockid_t c,
                                 const struct timespec *abs)
{
    if (!preload_should_wait()) {
        if (abs)
            return wr ? real_pthread_rwlock_clockwrlock(l, c, abs)
                      : real_pthread_rwlock_clockrdlock(l, c, abs);
        return wr ? real_pthread_rwlock_wrlock(l) : real_pthread_rwlock_rdlock(l);
    }
    struct rw_try t = {l, wr};
    return -green_poll_until(try_glibc_rw, &t, abs ? preload_deadline_at(c, abs) : GREEN_NEVER, 0);
}

/* As glibc: the clock and tv_nsec are checked before anything else. */
GREEN_YIELDS static int rw_lock(pthread_rwlock_t *l, int wr, clockid_t c,
                                const struct timespec *abs)
{
    if (abs && (!pthr_clock_ok(c) || abs->tv_nsec < 0 || abs->tv_nsec >= NS_PER_S))
        return EINVAL;
    if (rw_is_glibc(l))
        return glibc_rw(l, wr, c, abs);
    green_rwlock *g = AS_RW(l);
    int r = wr ? green_rwlock_wrlock(g, 0) : green_rwlock_rdlock(g, 0);
    if (r != -EBUSY || (abs && abs->tv_sec < 0))
        return r == -EBUSY ? ETIMEDOUT : -r;
    int64_t d = abs ? preload_deadline_at(c, abs) : GREEN_NEVER;
    return -(wr ? green_rwlock_wrlock(g, d) : green_rwlock_rdlock(g, d));
}

PRELOAD_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    return rw_lock(l, 0, CLOCK_REALTIME, NULL);
}

PRELOAD_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    return rw_lock(l, 1, CLOCK_REALTIME, NULL);
}

PRELOAD_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    return rw_lock(l, 0, CLOCK_REALTIME, abs);
}

PRELOAD_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    return rw_lock(l, 1, CLOCK_REALTIME, abs);
}

PRELOAD_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c,
                                              const struct timespec *abs)
{
    return rw_lock(l, 0, c, abs);
}

PRELOAD_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c,
                                              const struct timespec *abs)
{
    return rw_lock(l, 1, c, abs);
}

PRELOAD_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    green_yield_point();
    if (rw_is_glibc(l))
        return real_pthread_rwlock_tryrdlock(l);
    return -green_rwlock_rdlock(AS_RW(l), 0);
}

PRELOAD_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    green_yield_point();
    if (rw_is_glibc(l))
        return real_pthread_rwlock_trywrlock(l);
    return -green_rwlock_wrlock(AS_RW(l), 0);
}

PRELOAD_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    if (rw_is_glibc(l))
        return real_pthread_rwlock_unlock(l);
    return -green_rwlock_unlock(AS_RW(l));
}

/* ---- barriers ------------------------------------------------------------ */

PRELOAD_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a,
                                        unsigned int count)
{
    int pshared = PTHREAD_PROCESS_PRIVATE;
    if (a && real_pthread_barrierattr_getpshared(a, &pshared))
        return EINVAL;
    if (pshared == PTHREAD_PROCESS_SHARED || count == 0 || count > INT_MAX)
        return real_pthread_barrier_init(b, a, count);
    return -green_barrier_init(AS_BAR(b), count);
}

PRELOAD_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    if (bar_is_glibc(b))
        return real_pthread_barrier_destroy(b);
    return -green_barrier_destroy(AS_BAR(b));
}

/* A process-shared barrier blocks the OS thread (there is no try form). */
PRELOAD_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    if (bar_is_glibc(b))
        return real_pthread_barrier_wait(b);
    return green_barrier_wait(AS_BAR(b)) ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

/* ---- spin locks --------------------------------------------------------------- */

PRELOAD_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    (void)pshared;
    *s = 0;
    return 0;
}

PRELOAD_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    (void)s;
    return 0;
}

PRELOAD_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
    return -green_spin_lock((int *)s, GREEN_NEVER);
}

PRELOAD_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
    green_yield_point();
    return -green_spin_lock((int *)s, 0);
}

PRELOAD_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    return -green_spin_unlock((int *)s);
}
