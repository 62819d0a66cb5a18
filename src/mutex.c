/* mutex.c: the green mutex. Unlock hands the mutex to the first waiter
 * (FIFO), so a thread that unlocks and relocks in a loop cannot starve
 * the others. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "internal.h"
#include "list.h"

_Static_assert(sizeof(green_mutex) <= sizeof(pthread_mutex_t),
               "green mutex must fit the caller's pthread_mutex_t");
_Static_assert(offsetof(green_mutex, kind) == 16,
               "the kind must sit where glibc's static initializers put __kind");

#define KIND(m) ((m)->kind & 3)

void green_mutex_init(green_mutex *m, int kind)
{
    *m = (green_mutex){.kind = kind};
}

int green_mutex_lock(green_mutex *m, int64_t deadline)
{
    green_thread *self = green__current;
    if (m->lock && m->owner == self) {
        if (KIND(m) == GREEN_MUTEX_RECURSIVE) {
            if (m->count == UINT_MAX)
                return -EAGAIN;
            m->count++;
            return 0;
        }
        if (KIND(m) == GREEN_MUTEX_ERRORCHECK)
            return -EDEADLK;
        /* A normal mutex relocked by its owner waits, as natively. */
    }
    for (;;) {
        if (!m->lock) {
            m->lock = 1;
            m->owner = self;
            m->count = 1;
            return 0;
        }
        if (deadline == 0)
            return -EBUSY;
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

int green_mutex_unlock(green_mutex *m)
{
    if (!m->lock || m->owner != green__current) {
        if (KIND(m) == GREEN_MUTEX_RECURSIVE || KIND(m) == GREEN_MUTEX_ERRORCHECK)
            return -EPERM;
        if (!m->lock)
            return 0; /* glibc: unlocking a free normal mutex does nothing */
        /* glibc lets any thread unlock a normal mutex. */
    }
    if (KIND(m) == GREEN_MUTEX_RECURSIVE && --m->count > 0)
        return 0;
    struct green_waiter *w = m->waiters.head;
    if (w) {
        m->owner = w->t;
        m->count = 1;
        green__wake(w->t, 0);
    } else {
        m->lock = 0;
        m->owner = NULL;
        m->count = 0;
    }
    return 0;
}

int green_mutex_destroy(green_mutex *m)
{
    return m->lock || m->waiters.head ? -EBUSY : 0;
}
