/* wait.c: the one way a green thread blocks and is woken.
 *
 * A blocking operation registers waiters (on its own stack) in the
 * queues of what it waits on, then calls green__block. Whoever wakes it
 * (an object, an fd callback, its timer, an interrupt) goes through
 * green__wake, which unlinks every waiter of the thread at once. So a
 * woken thread is in no queue: a mutex or semaphore cannot hand itself to
 * a waiter that has already timed out, and waking twice is harmless.
 */
#include <errno.h>
#include <stdatomic.h>

#include "internal.h"
#include "list.h"

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    green__wake(container_of(w, green_thread, timer), -ETIMEDOUT);
}

void green__timer_init(green_thread *t)
{
    ev_timer_init(&t->timer, timer_cb, 0., 0.);
}

void green__waiter_add(struct green_waitq *q, struct green_waiter *w, green_thread *t)
{
    w->t = t;
    w->events = 0;
    w->chain = t->waiters;
    t->waiters = w;
    waitq_push(q, w);
}

/* libev counts timers from its cached clock: read ours first, then
 * refresh libev's, so the timer can only fire at or after deadline. */
static void arm_timer(green_thread *t, int64_t deadline)
{
    int64_t now = green_now();
    ev_now_update(green__s.loop);
    double after = deadline > now ? (double)(deadline - now) / 1e9 : 0.;
    ev_timer_set(&t->timer, after, 0.);
    ev_timer_start(green__s.loop, &t->timer);
}

int green__block(enum wait_kind kind, const void *obj, int64_t deadline, bool outside)
{
    green_thread *self = green__current;
    self->wait_kind = kind;
    self->wait_obj = obj;
    self->wait_since = ev_now(green__s.loop);
    self->wait_deadline = deadline;
    self->block_seq = self->call_since ? self->call_since
                                       : atomic_load_explicit(&green__sigseq, memory_order_relaxed);
    self->state = T_BLOCKED;
    if (deadline != GREEN_NEVER) {
        arm_timer(self, deadline);
        outside = true;
    }
    self->outside = outside;
    if (outside)
        green__s.outside++;
    int64_t since = green__s.diag ? green_now() : 0;
    green__schedule();
    if (green__s.diag)
        green__diag_resumed(self, since);
    self->wait_kind = W_NONE;
    return self->wake_result;
}

void green__unwait(green_thread *t)
{
    for (struct green_waiter *w = t->waiters; w; w = w->chain)
        waitq_remove(w);
    t->waiters = NULL;
}

void green__wake(green_thread *t, int result)
{
    if (t->state != T_BLOCKED)
        return;
    green__unwait(t);
    if (ev_is_active(&t->timer))
        ev_timer_stop(green__s.loop, &t->timer);
    if (t->outside) {
        t->outside = false;
        green__s.outside--;
    }
    t->wake_result = result;
    green__ready(t);
}

int green_interrupt(green_thread *t)
{
    if (t->state != T_BLOCKED)
        return -ESRCH;
    t->intr_restart = false;
    green__wake(t, -EINTR);
    return 0;
}
