/* sem.c: POSIX semaphores as green semaphores.
 *
 * sem_init(pshared = 0) makes a green semaphore in the program's sem_t,
 * marked with GREEN_SEM_MAGIC where glibc keeps its count of waiters.
 * Process-shared ones and named ones (sem_open, not interposed) are
 * glibc's: calls on them pass to glibc, and a green caller that would
 * block polls with sem_trywait every millisecond instead. */
#include "pthr.h"

#include <semaphore.h>

PRELOAD_EXPORT int sem_init(sem_t *s, int pshared, unsigned int value)
{
    if (pshared || value > SEM_VALUE_MAX)
        return real_sem_init(s, pshared, value);
    green_sem_init(AS_SEM(s), value);
    return 0;
}

/* glibc's sem_destroy does nothing and never fails. */
PRELOAD_EXPORT int sem_destroy(sem_t *s)
{
    if (!green_sem_is_green(AS_SEM(s)))
        return real_sem_destroy(s);
    green_sem_destroy(AS_SEM(s));
    return 0;
}

/* A glibc semaphore waited on from a green thread: nothing to wait on,
 * so sem_trywait every millisecond, with sem_wait's wait policy. */
GREEN_YIELDS static int glibc_wait(sem_t *s, clockid_t c, const struct timespec *abs)
{
    if (!preload_should_wait())
        return abs ? real_sem_clockwait(s, c, abs) : real_sem_wait(s);
    struct green_wait w = {.call = GREEN_CALL_SEM,
                           .on = GREEN_ON_RETRY,
                           .deadline = abs ? preload_deadline_at(c, abs) : GREEN_NEVER,
                           .since = green_call_seq()};
    int r;
    while (real_sem_trywait(s) < 0) {
        if (errno != EAGAIN)
            return -1;
        if ((r = green_wait(&w)) < 0)
            return preload_fail(r);
    }
    return 0;
}

/* As glibc: a bad tv_nsec is EINVAL before anything else; a negative
 * tv_sec times out only when the semaphore is 0. */
GREEN_YIELDS static int sem_wait_on(sem_t *s, clockid_t c, const struct timespec *abs)
{
    if (abs && (abs->tv_nsec < 0 || abs->tv_nsec >= NS_PER_S))
        return preload_fail(-EINVAL);
    green_cancel_point(NULL, NULL);
    if (!green_sem_is_green(AS_SEM(s)))
        return glibc_wait(s, c, abs);
    int r = green_sem_wait(AS_SEM(s), 0);
    if (r == -EAGAIN) {
        if (abs && abs->tv_sec < 0)
            return preload_fail(-ETIMEDOUT);
        r = green_sem_wait(AS_SEM(s), abs ? preload_deadline_at(c, abs) : GREEN_NEVER);
    }
    return r < 0 ? preload_fail(r) : 0;
}

PRELOAD_EXPORT int sem_wait(sem_t *s)
{
    return sem_wait_on(s, CLOCK_REALTIME, NULL);
}

PRELOAD_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    return sem_wait_on(s, CLOCK_REALTIME, abs);
}

PRELOAD_EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *abs)
{
    if (!pthr_clock_ok(c))
        return preload_fail(-EINVAL);
    return sem_wait_on(s, c, abs);
}

PRELOAD_EXPORT int sem_trywait(sem_t *s)
{
    green_yield_point();
    if (!green_sem_is_green(AS_SEM(s)))
        return real_sem_trywait(s);
    int r = green_sem_wait(AS_SEM(s), 0);
    return r < 0 ? preload_fail(r) : 0;
}

PRELOAD_EXPORT int sem_post(sem_t *s)
{
    if (!green_sem_is_green(AS_SEM(s)))
        return real_sem_post(s);
    int r = green_sem_post(AS_SEM(s));
    return r < 0 ? preload_fail(r) : 0;
}

PRELOAD_EXPORT int sem_getvalue(sem_t *s, int *value)
{
    if (!green_sem_is_green(AS_SEM(s)))
        return real_sem_getvalue(s, value);
    *value = (int)green_sem_value(AS_SEM(s));
    return 0;
}
