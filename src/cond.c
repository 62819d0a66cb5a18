/* cond.c: the green condition variable. */
#include <errno.h>
#include <pthread.h>

#include "internal.h"
#include "list.h"

_Static_assert(sizeof(green_cond) <= sizeof(pthread_cond_t),
               "green cond must fit the caller's pthread_cond_t");

void green_cond_init(green_cond *c, int clock)
{
    *c = (green_cond){.clock = clock};
}

int green_cond_wait(green_cond *c, green_mutex *m, int64_t deadline)
{
    green_thread *self = green__current;
    if (!m->lock || m->owner != self)
        return -EPERM;
    /* Queue before unlocking, so a signal sent by the next owner of m
     * finds us. */
    struct green_waiter w;
    green__waiter_add(&c->waiters, &w, self);
    c->seq++;
    green_mutex_unlock(m);
    int r = green__block(W_COND, c, deadline, false);
    while (green_mutex_lock(m, GREEN_NEVER) < 0)
        ;
    /* An interrupt is a spurious wake-up: condition waits never fail
     * with EINTR. */
    return r == -ETIMEDOUT ? r : 0;
}

int green_cond_signal(green_cond *c)
{
    if (c->waiters.head)
        green__wake(c->waiters.head->t, 0);
    return 0;
}

int green_cond_broadcast(green_cond *c)
{
    while (c->waiters.head)
        green__wake(c->waiters.head->t, 0);
    return 0;
}

int green_cond_destroy(green_cond *c)
{
    return c->waiters.head ? -EBUSY : 0;
}
