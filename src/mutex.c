/* mutex.c: the green mutex.
 *
 * The lock word is atomic so that OS threads the shim did not make green
 * (a library's helper, a lookup on the offload pool) still get mutual
 * exclusion: 0 free, 1 held, 2 held with such threads asleep on the
 * futex. Green threads take it with one compare-and-swap and, when it is
 * held by another green thread, queue and block; unlock hands it to the
 * first green waiter (FIFO), so a thread that unlocks and relocks in a
 * loop cannot starve the others, and the word never drops to 0 while
 * green threads queue (another OS thread cannot slip in between).
 *
 * owner is cleared before the word is released, so a green thread that
 * sees the word held with owner NULL or FOREIGN knows another OS thread
 * holds it (or is taking it): that one will not look at the green queue
 * when it unlocks, so the green thread re-checks every millisecond
 * instead of queueing. Such a wait counts as wakeable from outside: no
 * false deadlock report. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "kick.h"
#include "list.h"

_Static_assert(sizeof(green_mutex) <= sizeof(pthread_mutex_t),
               "green mutex must fit the caller's pthread_mutex_t");
_Static_assert(offsetof(green_mutex, kind) == 16,
               "the kind must sit where glibc's static initializers put __kind");

#define KIND(m) ((m)->kind & GREEN_MUTEX_KIND_MASK)
#define FOREIGN ((green_thread *)1)
#define RECHECK_NS 1000000

#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)

static bool try_take(green_mutex *m)
{
    unsigned int free_ = 0;
    return __atomic_compare_exchange_n(&m->lock, &free_, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* m was just taken by green thread self. Returns 0 (lock's result). */
static int owned_by(green_mutex *m, green_thread *self)
{
    STORE(&m->owner, self);
    m->count = 1;
    return 0;
}

/* Release the word; wake one OS thread asleep on it. */
static void release(green_mutex *m)
{
    STORE(&m->owner, NULL);
    m->count = 0;
    if (__atomic_exchange_n(&m->lock, 0, __ATOMIC_RELEASE) == 2)
        green__futex_wake(&m->lock, 1);
}

void green_mutex_init(green_mutex *m, int kind)
{
    *m = (green_mutex){.kind = kind};
}

/* The owner locks again. Returns 1 when the caller must wait anyway. A
 * trylock (deadline 0) of an errorcheck mutex says EBUSY, as glibc's. */
static int relock(green_mutex *m, int64_t deadline)
{
    if (KIND(m) == GREEN_MUTEX_RECURSIVE) {
        if (m->count == UINT_MAX)
            return -EAGAIN;
        m->count++;
        return 0;
    }
    if (KIND(m) == GREEN_MUTEX_ERRORCHECK)
        return deadline == 0 ? -EBUSY : -EDEADLK;
    return 1; /* a normal mutex relocked by its owner waits, as natively */
}

GREEN_YIELDS __attribute__((noinline)) static int os_lock(green_mutex *m, int64_t deadline)
{
    int tid = green__tid();
    if (LOAD(&m->lock) && LOAD(&m->owner) == FOREIGN && LOAD(&m->owner_tid) == tid) {
        int r = relock(m, deadline);
        if (r <= 0)
            return r;
    }
    if (!try_take(m)) {
        if (deadline == 0)
            return -EBUSY;
        while (__atomic_exchange_n(&m->lock, 2, __ATOMIC_ACQUIRE) != 0)
            if (green__futex_wait(&m->lock, 2, deadline) == -ETIMEDOUT)
                return -ETIMEDOUT;
    }
    STORE(&m->owner_tid, tid);
    STORE(&m->owner, FOREIGN);
    m->count = 1;
    return 0;
}

GREEN_YIELDS __attribute__((noinline)) static int lock_slow(green_mutex *m, green_thread *self,
                                                            int64_t deadline)
{
    if (LOAD(&m->owner) == self && LOAD(&m->lock)) {
        int r = relock(m, deadline);
        if (r <= 0)
            return r;
    }
    for (;;) {
        if (try_take(m))
            return owned_by(m, self);
        if (deadline == 0)
            return -EBUSY;
        green_thread *o = LOAD(&m->owner);
        if (!o || o == FOREIGN) {
            int64_t d = green_now() + RECHECK_NS;
            if (deadline != GREEN_NEVER && deadline < d)
                d = deadline;
            if (green__block(W_MUTEX, m, d, true) == -ETIMEDOUT && d == deadline) {
                return try_take(m) ? owned_by(m, self) : -ETIMEDOUT;
            }
            continue;
        }
        struct green_waiter w;
        green__waiter_add(&m->waiters, &w, self);
        int r = green__block(W_MUTEX, m, deadline, false);
        if (r == 0)
            return 0; /* handed over by unlock: we own it */
        if (r == -ETIMEDOUT)
            return r;
        /* -EINTR: locking a mutex is not interruptible; wait again. */
    }
}

int green_mutex_lock(green_mutex *m, int64_t deadline)
{
    green_thread *self = green__current;
    if (__builtin_expect(!self || green__in_core, 0))
        return os_lock(m, deadline);
    if (__builtin_expect(try_take(m), 1))
        return owned_by(m, self);
    return lock_slow(m, self, deadline);
}

__attribute__((noinline)) static int os_unlock(green_mutex *m)
{
    if (!LOAD(&m->lock) || LOAD(&m->owner) != FOREIGN || LOAD(&m->owner_tid) != green__tid()) {
        if (KIND(m) == GREEN_MUTEX_RECURSIVE || KIND(m) == GREEN_MUTEX_ERRORCHECK)
            return -EPERM;
        if (!LOAD(&m->lock))
            return 0;
    }
    if (KIND(m) == GREEN_MUTEX_RECURSIVE && --m->count > 0)
        return 0;
    STORE(&m->owner_tid, 0);
    release(m);
    return 0;
}

int green_mutex_unlock(green_mutex *m)
{
    green_thread *self = green__current;
    if (__builtin_expect(!self || green__in_core, 0))
        return os_unlock(m);
    if (__builtin_expect(LOAD(&m->owner) != self || !LOAD(&m->lock), 0)) {
        if (KIND(m) == GREEN_MUTEX_RECURSIVE || KIND(m) == GREEN_MUTEX_ERRORCHECK)
            return -EPERM;
        if (!LOAD(&m->lock))
            return 0; /* glibc: unlocking a free normal mutex does nothing */
        /* glibc lets any thread unlock a normal mutex. */
    }
    if (KIND(m) == GREEN_MUTEX_RECURSIVE && --m->count > 0)
        return 0;
    struct green_waiter *w = m->waiters.head;
    if (w) {
        STORE(&m->owner, w->t);
        m->count = 1;
        green__wake(w->t, 0);
        return 0;
    }
    release(m);
    return 0;
}

int green_mutex_destroy(green_mutex *m)
{
    return LOAD(&m->lock) || m->waiters.head ? -EBUSY : 0;
}
