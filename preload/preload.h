/* preload.h: helpers shared by the interposers of libgreen.so.
 *
 * Every interposer has the same shape: pass through to real_<name> when
 * not on a green thread (another OS thread, before init, inside the
 * event loop) or when nobody else could run; otherwise try the call
 * without blocking and, on EAGAIN, wait in the core and retry. Core
 * calls return -errno; preload_fail/preload_ret turn that into libc's
 * -1/errno exactly once, at the boundary. */
#ifndef GREEN_PRELOAD_H
#define GREEN_PRELOAD_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include "green.h"
#include "real.h"

/* Interposers are exported; everything else stays hidden
 * (-fvisibility=hidden). Each one is listed in preload/exports.txt. */
#define PRELOAD_EXPORT __attribute__((visibility("default")))
#define PRELOAD_HIDDEN __attribute__((visibility("hidden")))

#define NS_PER_S INT64_C(1000000000)

/* glibc's report of a fortified call's overflow (the *_chk interposers):
 * it aborts. */
extern void __chk_fail(void) __attribute__((noreturn));

/* ---- initialisation (init.c) ----------------------------------------- */

enum preload_state { PRELOAD_NONE, PRELOAD_STARTING, PRELOAD_READY };
PRELOAD_HIDDEN extern int preload_state;

/* Initialise now when nothing ran yet and the caller is the process's
 * main OS thread (an interposer called before our constructor, e.g. from
 * another library's constructor). Anywhere else: nothing. */
PRELOAD_HIDDEN void preload_init_lazy(void);

/* Set while green_init runs: the fds made meanwhile are libgreen's own
 * (see ownfd.c), kept out of the program's way. */
PRELOAD_HIDDEN extern int preload_core_fds;

/* The pthread_t of main (its real one) and its green thread. */
PRELOAD_HIDDEN extern pthread_t preload_main_ptid;
PRELOAD_HIDDEN extern green_thread *preload_main_green;

static inline void preload_ensure(void)
{
    if (__builtin_expect(__atomic_load_n(&preload_state, __ATOMIC_ACQUIRE) != PRELOAD_READY, 0))
        preload_init_lazy();
}

/* ---- who is calling: the guards of the interposers -------------------
 * Every interposer starts with one of four tests, which says whether it
 * passes through to real_<name> or takes its green form (or, for the
 * last, whether the call is the core's own):
 *
 *   preload_should_wait()   calls that may block (I/O, sockets, poll,
 *                           sleeps, locks, name lookups, waits for
 *                           children): wait green only when someone
 *                           else could run meanwhile.
 *   preload_green_thread()  calls that act on green threads themselves
 *                           (join, exit, yield, signal masks and kills,
 *                           syscall(2)): the green form on any green
 *                           thread, even with nobody else to run.
 *   green_self()            bookkeeping that never waits (fd records,
 *                           pthread_t identity, cancellation): on a green
 *                           thread, also while the core runs its own code.
 *   preload_core_call()     calls that make fds (pipe, eventfd, epoll,
 *                           timerfd): the core making them for itself,
 *                           whose fds are then hidden (ownfd.c). */

/* Set at the program's first pthread_create (thread.c). Until then it
 * has one thread, nobody could run during a wait, and each call passes
 * straight through after this one predictable test. */
PRELOAD_HIDDEN extern int preload_threaded;

/* True when a blocking call should wait green rather than block the OS
 * thread: on a green thread, with someone else to run meanwhile. */
static inline int preload_should_wait(void)
{
    if (__builtin_expect(!preload_threaded, 0))
        return 0;
    preload_ensure();
    return green_worth_waiting();
}

/* True on a green thread that may switch (see green_can_block). */
static inline int preload_green_thread(void)
{
    preload_ensure();
    return green_can_block();
}

/* True while the core makes or drops fds for itself: at green_init
 * (init.c sets preload_core_fds) and inside the event loop. */
static inline bool preload_core_call(void)
{
    return preload_core_fds || (green_self() && !green_can_block());
}

/* ---- processes (process.c) -------------------------------------------- */

/* Remove this libgreen.so from LD_PRELOAD, keeping the other entries, so
 * that programs exec'd later start without it (GREEN_INHERIT=0, read
 * with the other variables by green_config_from_env). */
PRELOAD_HIDDEN void preload_uninherit(void);

/* Set on the parent's OS thread (so in the child's view too) while a
 * vfork child runs; preload_vfork_pid is the parent's pid. */
PRELOAD_HIDDEN extern __thread int preload_vforking __attribute__((tls_model("initial-exec")));
PRELOAD_HIDDEN extern pid_t preload_vfork_pid;
PRELOAD_HIDDEN void preload_vfork_enter(void);
PRELOAD_HIDDEN long preload_vfork_leave(long r);

/* ---- errors ------------------------------------------------------------ */

static inline int preload_fail(int r)
{
    errno = -r;
    return -1;
}

static inline ssize_t preload_ret(ssize_t r)
{
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* The other way: a real call's result r, or -errno when it failed. */
static inline ssize_t preload_neg_errno(ssize_t r)
{
    return r < 0 ? -errno : r;
}

/* ---- time ---------------------------------------------------------------
 * Every conversion between the program's times (timespec, timeval,
 * milliseconds, a time on another clock) and the core's (an absolute
 * CLOCK_MONOTONIC deadline in ns, GREEN_NEVER for none) is here. */

/* A timespec the kernel accepts as a duration or an absolute time. */
static inline int preload_ts_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NS_PER_S;
}

/* ts in nanoseconds, saturating at INT64_MAX (ts must be valid). */
static inline int64_t preload_ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec >= INT64_MAX / NS_PER_S)
        return INT64_MAX;
    return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

/* A timeval the kernel accepts as a duration. */
static inline int preload_tv_valid(const struct timeval *tv)
{
    return tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000;
}

/* tv in nanoseconds, saturating at INT64_MAX (tv must be valid). */
static inline int64_t preload_tv_ns(const struct timeval *tv)
{
    struct timespec ts = {.tv_sec = tv->tv_sec, .tv_nsec = (long)tv->tv_usec * 1000};
    return preload_ts_ns(&ts);
}

static inline struct timespec preload_ns_ts(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    return ts;
}

/* a + b for non-negative a and b, saturating at INT64_MAX. */
static inline int64_t preload_add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The CLOCK_MONOTONIC deadline ns from now; GREEN_NEVER past int64. */
static inline int64_t preload_deadline_after(int64_t ns)
{
    int64_t d = preload_add_sat(green_now(), ns);
    return d == INT64_MAX ? GREEN_NEVER : d;
}

/* The deadline of a timeout in milliseconds (poll's): < 0 is none. */
static inline int64_t preload_ms_deadline(int ms)
{
    return ms < 0 ? GREEN_NEVER : preload_deadline_after((int64_t)ms * 1000000);
}

/* Clock c now, in ns. */
static inline int64_t preload_clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return preload_ts_ns(&ts);
}

/* The CLOCK_MONOTONIC deadline of abs on clock c, at call time; a time
 * already past gives a deadline already past (never 0, which means
 * "try" to the core). */
static inline int64_t preload_deadline_at(clockid_t c, const struct timespec *abs)
{
    int64_t left = preload_ts_ns(abs) - preload_clock_ns(c);
    int64_t mono = green_now();
    if (left <= 0)
        return mono;
    int64_t d = preload_add_sat(mono, left);
    return d == INT64_MAX ? GREEN_NEVER : d;
}

#endif
