/* thread.c: pthreads as green threads.
 *
 * A pthread_t names a green thread: main keeps its real pthread_self()
 * value, so the glibc calls nobody interposes still work on main; any
 * other green thread's pthread_t is its green_thread pointer. Calls from
 * OS threads that are not green (helper threads, a library's own
 * threads) get real pthreads, and must only name real pthreads: a
 * pthread_t cannot tell which kind it names.
 *
 * Each green thread made here carries a struct pthr (pthr.h). It ends
 * through pthr_exit whether its start routine returns or it calls
 * pthread_exit: cleanup handlers, then key destructors, then the core's
 * exit. C++ frames are not unwound (no forced unwinding). */
#include "fd.h"
#include "pthr.h"
#include "sys.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(pthread_t) >= sizeof(green_thread *),
               "a green_thread * must fit a pthread_t");

/* main's, a plain global: each green thread has its own TLS, so a
 * __thread record would be the caller's copy, not main's. */
static struct pthr main_pthr = {.cancel_type = PTHREAD_CANCEL_DEFERRED};
/* any OS thread's that is not green */
static __thread struct pthr os_pthr = {.cancel_type = PTHREAD_CANCEL_DEFERRED};

pthread_t pthr_to_ptid(green_thread *g)
{
    return g == preload_main_green ? preload_main_ptid : (pthread_t)(uintptr_t)g;
}

green_thread *pthr_from_ptid(pthread_t t)
{
    return t == preload_main_ptid ? preload_main_green : (green_thread *)(uintptr_t)t;
}

struct pthr *pthr_of(green_thread *g)
{
    return g == preload_main_green ? &main_pthr : *green_thread_userdata(g);
}

/* A green thread spawned through the core API has no record until it
 * asks for one. */
struct pthr *pthr_self(void)
{
    green_thread *g = green_self();
    if (!g)
        return &os_pthr;
    if (g == preload_main_green)
        return &main_pthr;
    void **ud = green_thread_userdata(g);
    if (__builtin_expect(!*ud, 0))
        *ud = calloc(1, sizeof(struct pthr));
    return *ud;
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

static void *start(void *arg)
{
    struct pthr *p = arg;
    pthr_exit(p->fn(p->arg));
}

/* A new thread is named as its creator, as the kernel names a clone. */
static void inherit_name(green_thread *g)
{
    char name[16] = "";
    green_thread *self = green_self();
    if (self == preload_main_green)
        real_pthread_getname_np(preload_main_ptid, name, sizeof name);
    else
        strncpy(name, green_thread_name(self), sizeof name - 1);
    green_thread_set_name(g, name);
}

/* Never waits: the new thread starts at the caller's next switch.
 * Passes through when the caller is not a green thread. */
PRELOAD_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                                  void *arg)
{
    struct green_attr ga;
    green_thread *g;
    preload_ensure();
    if (!green_can_block()) /* another OS thread, or the core making a helper */
        return real_pthread_create(t, attr, fn, arg);
    struct pthr *p = calloc(1, sizeof *p);
    if (!p)
        return EAGAIN;
    *p = (struct pthr){.fn = fn, .arg = arg, .cancel_type = PTHREAD_CANCEL_DEFERRED};
    int r = attr_of(attr, &ga);
    if (r == 0)
        r = green_spawn(&g, start, p, &ga);
    if (r < 0) {
        free(p);
        return r == -ENOMEM ? EAGAIN : -r;
    }
    *green_thread_userdata(g) = p;
    preload_threaded = 1; /* calls may wait green from now on */
    preload_sud_arm();    /* and so may the safety net */
    inherit_name(g);
    *t = pthr_to_ptid(g);
    return 0;
}

void pthr_exit(void *retval)
{
    struct pthr *p = pthr_self();
    green_thread *g = green_self();
    p->exiting = 1;
    p->retval = retval;
    if (p->cleanup)
        pthr_unwind(p); /* runs the handlers, then comes back through here */
    green_tls_dtors();  /* thread_local objects before keys, as glibc */
    pthr_run_destructors(p);
    pthr_free_keys(p);
    if (g != preload_main_green) {
        *green_thread_userdata(g) = NULL;
        free(p);
    }
    green_exit(retval);
}

/* Ends the green thread (from main too: the others run on, and the last
 * one to end exits the process); passes through off green threads. */
PRELOAD_EXPORT void pthread_exit(void *ret)
{
    if (!preload_green_thread())
        real_pthread_exit(ret);
    pthr_exit(ret);
}

/* ---- joining ------------------------------------------------------------- */

GREEN_YIELDS static int join(pthread_t t, void **ret, int64_t deadline)
{
    return -green_join(pthr_from_ptid(t), ret, deadline);
}

/* Waits green for t to end; passes through off green threads. */
PRELOAD_EXPORT int pthread_join(pthread_t t, void **ret)
{
    if (!preload_green_thread())
        return real_pthread_join(t, ret);
    return join(t, ret, GREEN_NEVER);
}

PRELOAD_EXPORT int pthread_tryjoin_np(pthread_t t, void **ret)
{
    if (!preload_green_thread())
        return real_pthread_tryjoin_np(t, ret);
    return -green_join(pthr_from_ptid(t), ret, 0);
}

/* As glibc: the clock is checked first, abstime only once the call
 * would wait: a negative time is ETIMEDOUT, and a bad tv_nsec makes
 * glibc's wait fail over and over until the thread ends (it joins). */
PRELOAD_EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t c,
                                        const struct timespec *abs)
{
    if (!preload_green_thread())
        return real_pthread_clockjoin_np(t, ret, c, abs);
    if (!pthr_clock_ok(c))
        return EINVAL;
    if (!abs)
        return join(t, ret, GREEN_NEVER);
    int r = -green_join(pthr_from_ptid(t), ret, 0);
    if (r != EBUSY)
        return r;
    if ((r = pthr_abstime_error(abs)))
        return r == EINVAL ? join(t, ret, GREEN_NEVER) : r;
    return join(t, ret, preload_deadline_at(c, abs));
}

PRELOAD_EXPORT int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abs)
{
    return pthread_clockjoin_np(t, ret, CLOCK_REALTIME, abs);
}

/* Never waits; passes through off green threads. */
PRELOAD_EXPORT int pthread_detach(pthread_t t)
{
    preload_ensure();
    if (!green_self())
        return real_pthread_detach(t);
    return -green_detach(pthr_from_ptid(t));
}

/* ---- identity, names, attributes ------------------------------------------ */

/* Never waits. Does not start libgreen: before the start, main's real
 * value is the one it keeps afterwards. */
PRELOAD_EXPORT pthread_t pthread_self(void)
{
    green_thread *g = green_self();
    return g ? pthr_to_ptid(g) : real_pthread_self();
}

/* Never waits. Each green thread has an id of its own: main its real
 * one, the others ids above PID_MAX_LIMIT that name no kernel thread
 * (green_thread_tid); tgkill takes them (signal.c). */
PRELOAD_EXPORT pid_t gettid(void)
{
    green_thread *g = green_self();
    return g ? green_thread_tid(g) : real_gettid();
}

/* Never waits; ids compare as values, whichever kind they name. */
PRELOAD_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

/* main's name is the OS thread's (and so the process's), as natively. */
PRELOAD_EXPORT int pthread_setname_np(pthread_t t, const char *name)
{
    green_thread *g = green_self() ? pthr_from_ptid(t) : NULL;
    if (!g || g == preload_main_green)
        return real_pthread_setname_np(t, name);
    if (strlen(name) > 15)
        return ERANGE;
    green_thread_set_name(g, name);
    return 0;
}

PRELOAD_EXPORT int pthread_getname_np(pthread_t t, char *name, size_t len)
{
    green_thread *g = green_self() ? pthr_from_ptid(t) : NULL;
    if (!g || g == preload_main_green)
        return real_pthread_getname_np(t, name, len);
    const char *n = green_thread_name(g);
    if (len < 16)
        return ERANGE;
    return fd_copyout(name, n, strlen(n) + 1) < 0 ? EFAULT : 0;
}

/* Describes the green thread's own stack, guard and detach state. */
PRELOAD_EXPORT int pthread_getattr_np(pthread_t t, pthread_attr_t *a)
{
    green_thread *g = green_self() ? pthr_from_ptid(t) : NULL;
    if (!g || g == preload_main_green)
        return real_pthread_getattr_np(t, a);
    struct green_attr ga;
    green_thread_info(g, &ga);
    int r = real_pthread_attr_init(a);
    if (!r)
        r = real_pthread_attr_setstack(a, ga.stack_addr, ga.stack_size);
    if (!r)
        r = real_pthread_attr_setguardsize(a, ga.guard_size);
    if (!r)
        r = real_pthread_attr_setdetachstate(a, ga.detached ? PTHREAD_CREATE_DETACHED
                                                            : PTHREAD_CREATE_JOINABLE);
    return r;
}

/* ---- yielding and once --------------------------------------------------------- */

/* A switch to the other green threads; passes through off green threads.
 * Its one tail call (sibling calls are off elsewhere, for the frame walks
 * of reports): jumping to green_sched_yield lets the switch resume the
 * program straight from the other thread (see src/sched.c). */
PRELOAD_EXPORT __attribute__((optimize("optimize-sibling-calls"))) int sched_yield(void)
{
    green_yield_point();
    if (!preload_green_thread())
        return real_sched_yield();
    return green_sched_yield();
}

/* <pthread.h> redirects pthread_yield to sched_yield; old binaries still
 * call pthread_yield by name. */
PRELOAD_EXPORT int yield_np(void) __asm__("pthread_yield");
PRELOAD_EXPORT int yield_np(void)
{
    return sched_yield();
}

struct once_call {
    void (*fn)(void);
};

static void call_it(void *arg)
{
    ((struct once_call *)arg)->fn();
}

/* glibc's own layout and values, so any OS thread may share the flag. */
PRELOAD_EXPORT int pthread_once(pthread_once_t *once, void (*fn)(void))
{
    struct once_call c = {fn};
    return green_once(once, call_it, &c);
}
