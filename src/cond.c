/* cond.c: the green condition variable.
 *
 * Green waiters queue on the condition; waiters on other OS threads
 * sleep on the seq futex, which every signal or broadcast that finds
 * them bumps. A signal from another OS thread cannot touch the queue: it
 * kicks the condition (kick.h), and the scheduler then wakes every green
 * waiter (a signal becoming a broadcast is a spurious wake-up, which
 * POSIX allows). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "kick.h"
#include "list.h"

_Static_assert(sizeof(green_cond) <= sizeof(pthread_cond_t),
               "green cond must fit the caller's pthread_cond_t");
_Static_assert(offsetof(green_cond, reserved) + sizeof(unsigned int) == 36,
               "byte 36 (glibc's pshared mark) must stay zero in a green cond");

static int wake_all_green(green_cond *c);

static void kicked(void **link)
{
    wake_all_green(container_of(link, green_cond, kick));
}

static struct green_kickq kickq = GREEN_KICKQ_INIT(kicked);

void green_cond_init(green_cond *c, int clock)
{
    *c = (green_cond){.clock = clock};
}

static void wake_os(green_cond *c, int n)
{
    if (__atomic_load_n(&c->os_waiters, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
        green__futex_wake(&c->seq, n);
    }
}

GREEN_YIELDS static int os_wait(green_cond *c, green_mutex *m, int64_t deadline)
{
    unsigned int seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&c->os_waiters, 1, __ATOMIC_SEQ_CST);
    int r = green_mutex_unlock(m);
    if (r < 0) {
        __atomic_fetch_sub(&c->os_waiters, 1, __ATOMIC_SEQ_CST);
        return r;
    }
    r = green__futex_wait(&c->seq, seq, deadline);
    __atomic_fetch_sub(&c->os_waiters, 1, __ATOMIC_SEQ_CST);
    while (green_mutex_lock(m, GREEN_NEVER) < 0)
        ;
    return r == -ETIMEDOUT ? r : 0;
}

int green_cond_wait(green_cond *c, green_mutex *m, int64_t deadline)
{
    green_thread *self = green__current;
    if (!green__on_green())
        return os_wait(c, m, deadline);
    if (!__atomic_load_n(&m->lock, __ATOMIC_RELAXED) || m->owner != self)
        return -EPERM;
    /* Queue before unlocking, so a signal sent by the next owner of m
     * finds us. */
    struct green_waiter w;
    green__waiter_add(&c->waiters, &w, self);
    green_mutex_unlock(m);
    self->cancel_point = true;
    int r = green__block(W_COND, c, deadline, false);
    self->cancel_point = false;
    while (green_mutex_lock(m, GREEN_NEVER) < 0)
        ;
    /* An interrupt is a spurious wake-up: condition waits never fail
     * with EINTR. */
    return r == -ETIMEDOUT ? r : 0;
}

static int wake_all_green(green_cond *c)
{
    while (c->waiters.head)
        green__wake(c->waiters.head->t, 0);
    return 0;
}

/* From another OS thread: the queue is the scheduler's. The waiter
 * queued under the mutex the signaller (normally) holds, so the load
 * sees it. */
static void kick_green(green_cond *c)
{
    if (__atomic_load_n(&c->waiters.head, __ATOMIC_ACQUIRE))
        green__kick(&kickq, &c->kick);
}

int green_cond_signal(green_cond *c)
{
    if (!green__on_green()) {
        kick_green(c);
        wake_os(c, 1);
        return 0;
    }
    if (c->waiters.head)
        green__wake(c->waiters.head->t, 0);
    else
        wake_os(c, 1);
    return 0;
}

int green_cond_broadcast(green_cond *c)
{
    if (!green__on_green())
        kick_green(c);
    else
        wake_all_green(c);
    wake_os(c, INT_MAX);
    return 0;
}

int green_cond_destroy(green_cond *c)
{
    if (c->waiters.head || __atomic_load_n(&c->os_waiters, __ATOMIC_SEQ_CST))
        return -EBUSY;
    green__kick_settle(&c->kick);
    return 0;
}
