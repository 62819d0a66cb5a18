/* c11.c: C11 threads (<threads.h>) as green threads.
 *
 * glibc implements them on its internal pthread functions, which no
 * interposer sees, so each is interposed here and mapped onto the same
 * green code as its pthread twin, with C11's result codes (glibc's
 * mapping: ENOMEM thrd_nomem, ETIMEDOUT thrd_timedout, EBUSY thrd_busy,
 * any other error thrd_error). A mtx_t or cnd_t has the layout of its
 * pthread twin. */
#include "pthr.h"

#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

static int c11(int err)
{
    switch (err) {
    case 0:
        return thrd_success;
    case ENOMEM:
        return thrd_nomem;
    case ETIMEDOUT:
        return thrd_timedout;
    case EBUSY:
        return thrd_busy;
    default:
        return thrd_error;
    }
}

struct c11_start {
    thrd_start_t fn;
    void *arg;
};

static void *c11_start(void *arg)
{
    struct c11_start s = *(struct c11_start *)arg;
    free(arg);
    return (void *)(intptr_t)s.fn(s.arg);
}

PRELOAD_EXPORT int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
    preload_ensure();
    if (!green_self())
        return real_thrd_create(t, fn, arg);
    struct c11_start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    *s = (struct c11_start){fn, arg};
    int r = pthread_create(t, NULL, c11_start, s);
    if (r)
        free(s);
    return c11(r);
}

PRELOAD_EXPORT int thrd_join(thrd_t t, int *res)
{
    void *v;
    if (!preload_green_thread())
        return real_thrd_join(t, res);
    int r = pthread_join(t, &v);
    if (r == 0 && res)
        *res = (int)(intptr_t)v;
    return c11(r);
}

PRELOAD_EXPORT int thrd_detach(thrd_t t)
{
    return c11(pthread_detach(t));
}

PRELOAD_EXPORT _Noreturn void thrd_exit(int res)
{
    if (!preload_green_thread())
        real_thrd_exit(res);
    pthr_exit((void *)(intptr_t)res);
}

PRELOAD_EXPORT thrd_t thrd_current(void)
{
    return pthread_self();
}

PRELOAD_EXPORT int thrd_equal(thrd_t a, thrd_t b)
{
    return a == b;
}

/* 0, -1 when interrupted, -2 for other errors, as glibc. */
PRELOAD_EXPORT int thrd_sleep(const struct timespec *d, struct timespec *rem)
{
    if (nanosleep(d, rem) == 0)
        return 0;
    return errno == EINTR ? -1 : -2;
}

PRELOAD_EXPORT void thrd_yield(void)
{
    sched_yield();
}

/* glibc's own initialisation gives a valid green mutex (zeros and a
 * kind): it is kept for its checks and result codes. */
PRELOAD_EXPORT int mtx_init(mtx_t *m, int type)
{
    return real_mtx_init(m, type);
}

PRELOAD_EXPORT int mtx_lock(mtx_t *m)
{
    return c11(pthread_mutex_lock((pthread_mutex_t *)m));
}

PRELOAD_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abs)
{
    return c11(pthread_mutex_timedlock((pthread_mutex_t *)m, abs));
}

PRELOAD_EXPORT int mtx_trylock(mtx_t *m)
{
    return c11(pthread_mutex_trylock((pthread_mutex_t *)m));
}

PRELOAD_EXPORT int mtx_unlock(mtx_t *m)
{
    return c11(pthread_mutex_unlock((pthread_mutex_t *)m));
}

PRELOAD_EXPORT void mtx_destroy(mtx_t *m)
{
    pthread_mutex_destroy((pthread_mutex_t *)m);
}

PRELOAD_EXPORT int cnd_init(cnd_t *c)
{
    return c11(pthread_cond_init((pthread_cond_t *)c, NULL));
}

PRELOAD_EXPORT int cnd_signal(cnd_t *c)
{
    return c11(pthread_cond_signal((pthread_cond_t *)c));
}

PRELOAD_EXPORT int cnd_broadcast(cnd_t *c)
{
    return c11(pthread_cond_broadcast((pthread_cond_t *)c));
}

PRELOAD_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    return c11(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

PRELOAD_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                                 const struct timespec *restrict abs)
{
    return c11(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, abs));
}

PRELOAD_EXPORT void cnd_destroy(cnd_t *c)
{
    pthread_cond_destroy((pthread_cond_t *)c);
}

PRELOAD_EXPORT int tss_create(tss_t *k, tss_dtor_t dtor)
{
    return c11(pthread_key_create(k, dtor));
}

PRELOAD_EXPORT void *tss_get(tss_t k)
{
    return pthread_getspecific(k);
}

PRELOAD_EXPORT int tss_set(tss_t k, void *v)
{
    return c11(pthread_setspecific(k, v));
}

PRELOAD_EXPORT void tss_delete(tss_t k)
{
    pthread_key_delete(k);
}

PRELOAD_EXPORT void call_once(once_flag *flag, void (*fn)(void))
{
    pthread_once((pthread_once_t *)flag, fn);
}
