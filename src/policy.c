/* policy.c: the one wait policy of every blocking call.
 *
 * Natively the kernel decides, per system call, what a signal handler
 * does to a blocked call (signal(7)): some calls are restarted after a
 * handler installed with SA_RESTART, some always fail with EINTR, socket
 * calls with a timeout never restart. Cancellation acts at the
 * cancellation points POSIX lists, and each call reports its timeout in
 * its own way. Interposers name their class of call (enum green_call);
 * this table is the only place that knows what the class means.
 *
 * A cancellation point checks for a pending cancellation before it
 * waits (the request may have come while the thread ran) and when its
 * wait is interrupted; green_cancel interrupts only such waits, so a
 * thread in a mutex or an offloaded call is never disturbed. */
#include <errno.h>

#include "internal.h"

enum intr {
    INTR_FAILS,    /* EINTR whatever the handler */
    INTR_RESTARTS, /* restarted after a SA_RESTART handler */
    INTR_UNTIMED,  /* restarted after SA_RESTART unless it has a deadline */
    INTR_IGNORED,  /* never EINTR: the wait goes on */
};

struct rule {
    unsigned char intr; /* enum intr */
    bool cancels;       /* a cancellation point */
    int timeout;        /* result at the deadline */
};

static const struct rule rules[] = {
    [GREEN_CALL_IO] = {INTR_UNTIMED, true, -EAGAIN},
    [GREEN_CALL_CONNECT] = {INTR_UNTIMED, true, -EINPROGRESS},
    [GREEN_CALL_POLL] = {INTR_FAILS, true, 0},
    [GREEN_CALL_SLEEP] = {INTR_FAILS, true, 0},
    [GREEN_CALL_CHILD] = {INTR_RESTARTS, true, -ETIMEDOUT},
    [GREEN_CALL_SIGWAIT] = {INTR_FAILS, true, -EAGAIN},
    [GREEN_CALL_SIGWAIT_ANY] = {INTR_IGNORED, true, -EAGAIN},
    [GREEN_CALL_SEM] = {INTR_RESTARTS, true, -ETIMEDOUT},
    [GREEN_CALL_PAUSE] = {INTR_FAILS, true, -ETIMEDOUT},
    [GREEN_CALL_JOIN] = {INTR_IGNORED, true, -ETIMEDOUT},
    [GREEN_CALL_COND] = {INTR_IGNORED, true, -ETIMEDOUT},
    [GREEN_CALL_LOCK] = {INTR_IGNORED, false, -ETIMEDOUT},
};

static int (*cancel_due)(void);
static void (*cancel_act)(void);

void green_cancel_hooks(int (*due)(void), void (*act)(void))
{
    cancel_due = due;
    cancel_act = act;
}

void green_cancel_point(void (*release)(void *), void *arg)
{
    if (!cancel_due || !green__current || !cancel_due())
        return;
    if (release)
        release(arg);
    cancel_act();
}

int green_cancel(green_thread *t)
{
    if (t->state != T_BLOCKED || !t->cancel_point)
        return -ESRCH;
    t->intr_restart = false;
    green__wake(t, -EINTR);
    return 0;
}

bool green__cancels(int call)
{
    return rules[call].cancels;
}

int green__settle(int call, int r, int64_t deadline, int result, void (*release)(void *), void *arg)
{
    const struct rule *ru = &rules[call];
    if (r == -ETIMEDOUT)
        return call == GREEN_CALL_CONNECT ? result : ru->timeout;
    if (r != -EINTR)
        return r;
    if (ru->cancels)
        green_cancel_point(release, arg);
    switch (ru->intr) {
    case INTR_IGNORED:
        return 1;
    case INTR_RESTARTS:
        return green_intr_restart() ? 1 : -EINTR;
    case INTR_UNTIMED:
        return deadline == GREEN_NEVER && green_intr_restart() ? 1 : -EINTR;
    default:
        return -EINTR;
    }
}

/* Nothing the loop can see: wake within a millisecond, or at deadline. */
GREEN_YIELDS static int retry_wait(int64_t deadline)
{
    int64_t step = green_now() + 1000000;
    int64_t until = deadline != GREEN_NEVER && deadline < step ? deadline : step;
    if (green_sleep_until(until) == -EINTR)
        return -EINTR;
    return until == deadline ? -ETIMEDOUT : 1;
}

GREEN_YIELDS static int wait_on(const struct green_wait *w)
{
    switch (w->on) {
    case GREEN_ON_FD:
        return green_fd_wait(w->fd, w->events, w->deadline);
    case GREEN_ON_FDS:
        return green_fd_wait_many(w->fds, w->n, w->deadline);
    case GREEN_ON_CHILD:
        return green_child_wait(w->fd, w->events, w->deadline);
    case GREEN_ON_TIME:
        return green_sleep_until(w->deadline) == -EINTR ? -EINTR : -ETIMEDOUT;
    case GREEN_ON_RETRY:
        return retry_wait(w->deadline);
    default:
        return -EINVAL;
    }
}

int green_wait(const struct green_wait *w)
{
    if ((unsigned)w->call >= sizeof rules / sizeof rules[0])
        return -EINVAL;
    green_thread *self = green__current;
    bool cancels = rules[w->call].cancels;
    if (cancels)
        green_cancel_point(w->release, w->arg);
    self->cancel_point = cancels;
    self->call_since = w->since;
    int r = wait_on(w);
    self->call_since = 0;
    self->cancel_point = false;
    return green__settle(w->call, r, w->deadline, w->result, w->release, w->arg);
}
