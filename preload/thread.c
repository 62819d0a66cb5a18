/* thread.c: pthreads as green threads.
 *
 * A pthread_t names a green thread: main keeps its real pthread_self()
 * value, so the glibc calls nobody interposes still work on main; any
 * other green thread's pthread_t is its green_thread pointer. Calls from
 * OS threads that are not green (helper threads, a library's own
 * threads) get real pthreads, and must only name real pthreads: a
 * pthread_t cannot tell which kind it names.
 *
 * Not done here (yet): cleanup handlers and C++ unwinding on
 * pthread_exit, which natively unwinds the stack. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "preload.h"

#include <stdint.h>

_Static_assert(sizeof(pthread_t) >= sizeof(green_thread *),
               "a green_thread * must fit a pthread_t");

static pthread_t to_ptid(green_thread *g)
{
    return g == preload_main_green ? preload_main_ptid : (pthread_t)(uintptr_t)g;
}

static green_thread *from_ptid(pthread_t t)
{
    return t == preload_main_ptid ? preload_main_green : (green_thread *)(uintptr_t)t;
}

/* glibc's default stack size (what getstacksize says for a fresh attr):
 * an attr carrying it asks for nothing, so the configured default holds. */
static size_t glibc_default_stack(void)
{
    static size_t size;
    pthread_attr_t a;
    if (!size && real_pthread_attr_init(&a) == 0) {
        real_pthread_attr_getstacksize(&a, &size);
        real_pthread_attr_destroy(&a);
    }
    return size;
}

/* Read a pthread_attr_t with glibc's own getters. getstack reports
 * (top - size) whether or not an address was set: the top is NULL
 * exactly when none was. A caller's stack has no guard, as natively. */
static int attr_of(const pthread_attr_t *pa, struct green_attr *ga)
{
    void *lo;
    size_t raw, size, guard;
    int detach;
    *ga = (struct green_attr){0};
    if (!pa)
        return 0;
    if (real_pthread_attr_getstack(pa, &lo, &raw) || real_pthread_attr_getguardsize(pa, &guard) ||
        real_pthread_attr_getdetachstate(pa, &detach) || real_pthread_attr_getstacksize(pa, &size))
        return -EINVAL;
    if ((uintptr_t)lo + raw != 0) {
        ga->stack_addr = lo;
        ga->stack_size = size;
    } else {
        ga->stack_size = size == glibc_default_stack() ? 0 : size;
        ga->guard_size = guard;
    }
    ga->detached = detach == PTHREAD_CREATE_DETACHED;
    return 0;
}

/* Never waits: the new thread starts at the caller's next switch.
 * Passes through when the caller is not a green thread. */
PRELOAD_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                                  void *arg)
{
    struct green_attr ga;
    green_thread *g;
    preload_ensure();
    if (!green_self())
        return real_pthread_create(t, attr, fn, arg);
    int r = attr_of(attr, &ga);
    if (r == 0)
        r = green_spawn(&g, fn, arg, &ga);
    if (r < 0)
        return r == -ENOMEM ? EAGAIN : -r;
    *t = to_ptid(g);
    return 0;
}

/* Waits green for t to end; passes through off green threads. */
PRELOAD_EXPORT int pthread_join(pthread_t t, void **ret)
{
    if (!preload_green())
        return real_pthread_join(t, ret);
    return -green_join(from_ptid(t), ret, GREEN_NEVER);
}

/* Never waits; passes through off green threads. */
PRELOAD_EXPORT int pthread_detach(pthread_t t)
{
    preload_ensure();
    if (!green_self())
        return real_pthread_detach(t);
    return -green_detach(from_ptid(t));
}

/* Ends the green thread (from main too: the others run on, and the last
 * one to end exits the process); passes through off green threads. */
PRELOAD_EXPORT void pthread_exit(void *ret)
{
    if (!preload_green())
        real_pthread_exit(ret);
    green_exit(ret);
}

/* Never waits. Does not start libgreen: before the start, main's real
 * value is the one it keeps afterwards. */
PRELOAD_EXPORT pthread_t pthread_self(void)
{
    green_thread *g = green_self();
    return g ? to_ptid(g) : real_pthread_self();
}

/* Never waits; ids compare as values, whichever kind they name. */
PRELOAD_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}
