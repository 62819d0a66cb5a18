/* pthr.h: what the thread and synchronisation interposers share.
 *
 * Each green thread has a struct pthr, reached through
 * green_thread_userdata: its start routine, key values, cleanup buffers,
 * cancellation state. main's (and any OS thread's that is not green)
 * lives in thread-local storage instead, so values set before libgreen
 * started stay main's. */
#ifndef GREEN_PRELOAD_PTHR_H
#define GREEN_PRELOAD_PTHR_H

#include "preload.h"

#define KEY_BLOCK 32
#define KEY_BLOCKS (PTHREAD_KEYS_MAX / KEY_BLOCK)

struct key_slot {
    unsigned long seq; /* the key's sequence when set: stale values read NULL */
    void *value;
};

struct pthr {
    void *(*fn)(void *);
    void *arg;
    struct key_slot first[KEY_BLOCK];  /* keys 0-31, inline as glibc's: an
                                        * allocator may set them while it
                                        * starts, so no malloc for them */
    struct key_slot *keys[KEY_BLOCKS]; /* the others, allocated on first use */
    void *cleanup;                     /* innermost registered cleanup buffer */
    int cancel_state;                  /* PTHREAD_CANCEL_ENABLE / DISABLE */
    int cancel_type;                   /* PTHREAD_CANCEL_DEFERRED / ASYNCHRONOUS */
    int cancel_pending;
    int exiting; /* in pthread_exit: cleanups and destructors */
    void *retval;
};

/* The caller's record (NULL only when out of memory on a foreign OS
 * thread). */
PRELOAD_HIDDEN struct pthr *pthr_self(void);
/* The record of green thread g, NULL once it has ended. */
PRELOAD_HIDDEN struct pthr *pthr_of(green_thread *g);

/* pthread_t <-> green thread (thread.c). */
PRELOAD_HIDDEN pthread_t pthr_to_ptid(green_thread *g);
PRELOAD_HIDDEN green_thread *pthr_from_ptid(pthread_t t);

/* Run the destructors of the caller's key values (key.c). */
PRELOAD_HIDDEN void pthr_run_destructors(struct pthr *p);
PRELOAD_HIDDEN void pthr_free_keys(struct pthr *p);

/* End the calling green thread: cleanup handlers (innermost first),
 * key destructors, then green_exit (thread.c). */
PRELOAD_HIDDEN _Noreturn void pthr_exit(void *retval);
/* Jump into the innermost cleanup buffer of p (cancel.c). */
PRELOAD_HIDDEN _Noreturn void pthr_unwind(struct pthr *p);

/* What glibc checks of a timed wait's abstime: EINVAL for tv_nsec out of
 * range, ETIMEDOUT for a negative tv_sec. Returns 0 or the error. */
static inline int pthr_abstime_error(const struct timespec *ts)
{
    if (ts->tv_nsec < 0 || ts->tv_nsec >= NS_PER_S)
        return EINVAL;
    return ts->tv_sec < 0 ? ETIMEDOUT : 0;
}

/* The clocks glibc's clockwait/clocklock functions accept. */
static inline int pthr_clock_ok(clockid_t c)
{
    return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC;
}

/* The green objects in the program's storage. */
#define AS_MUTEX(m) ((green_mutex *)(void *)(m))
#define AS_COND(c) ((green_cond *)(void *)(c))
#define AS_SEM(s) ((green_sem *)(void *)(s))

/* glibc's marks of the objects libgreen leaves to it, read in glibc's
 * own layout: process-shared mutexes (bit 128 of __kind), conditions
 * (bit 0 of __wrefs; bit 1 is its clock, CLOCK_MONOTONIC when set). The
 * green objects keep those words zero (green.h). */
#define GLIBC_MUTEX_PSHARED 128
#define GLIBC_COND_PSHARED 1
#define GLIBC_COND_MONOTONIC 2
static inline int pthr_mutex_is_glibc(const pthread_mutex_t *m)
{
    return m->__data.__kind & GLIBC_MUTEX_PSHARED;
}
static inline int pthr_cond_is_glibc(const pthread_cond_t *c)
{
    return c->__data.__wrefs & GLIBC_COND_PSHARED;
}

#endif
