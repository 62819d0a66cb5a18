/* rwlock.c: the green read-write lock, barrier and spin lock.
 *
 * rwlock: state counts readers or holds GREEN_RWLOCK_WRITER. Green
 * waiters queue (readers and writers apart) and are granted the lock by
 * the releasing thread, which updates state on their behalf, so a woken
 * waiter owns what it asked for. glibc's default prefers readers: a
 * reader gets in whenever no writer holds the lock; with
 * PREFER_WRITER_NONRECURSIVE a waiting writer holds new readers back.
 * Other OS threads spin on state with short sleeps; they cannot grant to
 * green waiters, so once one has touched the lock (flags & TOUCHED)
 * green waiters re-check every millisecond. */
#include <errno.h>
#include <pthread.h>

#include "kick.h"
#include "list.h"

_Static_assert(sizeof(green_rwlock) <= sizeof(pthread_rwlock_t),
               "green rwlock must fit the caller's pthread_rwlock_t");
_Static_assert(offsetof(green_rwlock, shared) == 28 && offsetof(green_rwlock, kind) == 48,
               "glibc's __shared and __flags slots");
_Static_assert(sizeof(green_barrier) <= sizeof(pthread_barrier_t),
               "green barrier must fit the caller's pthread_barrier_t");
_Static_assert(offsetof(green_barrier, shared) == 12, "glibc's barrier shared slot");

#define WRITER GREEN_RWLOCK_WRITER
#define OS_WRITER (~0u)
#define TOUCHED 1u
#define RECHECK_NS 1000000
#define MAX_READERS (WRITER - 1)

void green_rwlock_init(green_rwlock *l, int kind)
{
    *l = (green_rwlock){.kind = kind};
}

static bool cas(unsigned int *p, unsigned int old, unsigned int new_)
{
    return __atomic_compare_exchange_n(p, &old, new_, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static bool writers_first(const green_rwlock *l)
{
    return l->kind == GREEN_RWLOCK_PREFER_WRITER_NONRECURSIVE;
}

/* One attempt. Returns 0 (taken), -EBUSY or -EAGAIN. */
static int try_rd(green_rwlock *l, bool green)
{
    unsigned int s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (;;) {
        if (s & WRITER)
            return -EBUSY;
        if (green && writers_first(l) && l->wwait)
            return -EBUSY;
        if (s == MAX_READERS)
            return -EAGAIN;
        if (__atomic_compare_exchange_n(&l->state, &s, s + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return 0;
    }
}

GREEN_YIELDS static int os_lock(green_rwlock *l, bool write, int64_t deadline)
{
    __atomic_fetch_or(&l->flags, TOUCHED, __ATOMIC_RELAXED);
    for (;;) {
        int r = write ? (cas(&l->state, 0, WRITER) ? 0 : -EBUSY) : try_rd(l, false);
        if (r == 0 && write)
            l->writer = OS_WRITER;
        if (r != -EBUSY || deadline == 0)
            return r;
        if (deadline != GREEN_NEVER && green_now() >= deadline)
            return -ETIMEDOUT;
        green__os_pause();
    }
}

GREEN_YIELDS static int green_lock(green_rwlock *l, bool write, int64_t deadline)
{
    green_thread *self = green__current;
    if (l->writer == green_thread_id(self) &&
        (__atomic_load_n(&l->state, __ATOMIC_RELAXED) & WRITER))
        return -EDEADLK;
    for (;;) {
        int r = write ? (cas(&l->state, 0, WRITER) ? 0 : -EBUSY) : try_rd(l, true);
        if (r == 0 && write)
            l->writer = (unsigned int)green_thread_id(self);
        if (r != -EBUSY || deadline == 0)
            return r;
        if (__atomic_load_n(&l->flags, __ATOMIC_RELAXED) & TOUCHED) {
            int64_t d = green_now() + RECHECK_NS;
            if (deadline != GREEN_NEVER && deadline < d)
                d = deadline;
            if (green__block(write ? W_RWLOCK_WR : W_RWLOCK_RD, l, d, true) == -ETIMEDOUT &&
                d == deadline)
                return -ETIMEDOUT;
            continue;
        }
        struct green_waiter w;
        green__waiter_add(write ? &l->writers : &l->readers, &w, self);
        if (write)
            l->wwait++;
        r = green__block(write ? W_RWLOCK_WR : W_RWLOCK_RD, l, deadline, false);
        if (r == 0)
            return 0; /* granted by the releaser */
        if (write)
            l->wwait--;
        if (r == -ETIMEDOUT)
            return r;
    }
}

int green_rwlock_rdlock(green_rwlock *l, int64_t deadline)
{
    return green__on_green() ? green_lock(l, false, deadline) : os_lock(l, false, deadline);
}

int green_rwlock_wrlock(green_rwlock *l, int64_t deadline)
{
    return green__on_green() ? green_lock(l, true, deadline) : os_lock(l, true, deadline);
}

/* The lock was released: hand it to queued green waiters. */
static void grant(green_rwlock *l)
{
    unsigned int s = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    if (s & WRITER)
        return;
    if (s == 0 && l->writers.head && (writers_first(l) || !l->readers.head)) {
        if (!cas(&l->state, 0, WRITER))
            return;
        green_thread *t = l->writers.head->t;
        l->writer = (unsigned int)green_thread_id(t);
        l->wwait--;
        green__wake(t, 0);
        return;
    }
    if (writers_first(l) && l->writers.head)
        return;
    while (l->readers.head && try_rd(l, false) == 0)
        green__wake(l->readers.head->t, 0);
}

int green_rwlock_unlock(green_rwlock *l)
{
    unsigned int s = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    if (s == 0)
        return -EPERM;
    if (s & WRITER) {
        l->writer = 0;
        __atomic_store_n(&l->state, 0, __ATOMIC_RELEASE);
    } else {
        __atomic_fetch_sub(&l->state, 1, __ATOMIC_ACQ_REL);
    }
    if (green__on_green())
        grant(l);
    else
        __atomic_fetch_or(&l->flags, TOUCHED, __ATOMIC_RELAXED);
    return 0;
}

int green_rwlock_destroy(green_rwlock *l)
{
    return __atomic_load_n(&l->state, __ATOMIC_RELAXED) || l->readers.head || l->writers.head
               ? -EBUSY
               : 0;
}

/* ---- barrier ------------------------------------------------------------ */

int green_barrier_init(green_barrier *b, unsigned int count)
{
    if (count == 0)
        return -EINVAL;
    *b = (green_barrier){.count = count};
    return 0;
}

int green_barrier_wait(green_barrier *b)
{
    unsigned int gen = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->count) {
        __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&b->gen, 1, __ATOMIC_RELEASE);
        while (b->waiters.head)
            green__wake(b->waiters.head->t, 0);
        green__futex_wake(&b->gen, 0x7fffffff);
        return 1;
    }
    if (!green__on_green()) {
        while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == gen)
            green__futex_wait(&b->gen, gen, GREEN_NEVER);
        return 0;
    }
    while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == gen) {
        struct green_waiter w;
        green__waiter_add(&b->waiters, &w, green__current);
        green__block(W_BARRIER, b, GREEN_NEVER, false);
    }
    return 0;
}

int green_barrier_destroy(green_barrier *b)
{
    return __atomic_load_n(&b->arrived, __ATOMIC_RELAXED) ? -EBUSY : 0;
}

/* ---- spin lock ------------------------------------------------------------ */

int green_spin_lock(int *lock, int64_t deadline)
{
    for (unsigned int n = 0;; n++) {
        if (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) == 0)
            return 0;
        if (deadline == 0)
            return -EBUSY;
        /* A green holder only runs when we let it: yield, and after a
         * while sleep, so a holder that waits on a timer is not raced. */
        if (!green__on_green())
            green__os_pause();
        else if (n < 64)
            green_yield();
        else
            green_sleep_until(green_now() + RECHECK_NS);
    }
}

int green_spin_unlock(int *lock)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
    return 0;
}
