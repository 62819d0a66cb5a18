/* kick.h: wake-ups of green waiters requested by other OS threads.
 *
 * A condition variable or semaphore signalled by an OS thread that is
 * not the scheduler's cannot touch its wait queue. It "kicks" the object
 * instead: the object's kick link (one pointer, zero when idle) goes on a
 * lock-free list, and the scheduler's OS thread later calls the list's
 * handler for it, which wakes the green waiters as the object's own
 * green code would. An object kicked again before the handler ran is
 * handled once. Also: the futex helpers every sync object's other-OS-
 * thread path uses (raw system calls: never an interposed function). */
#ifndef GREEN_KICK_H
#define GREEN_KICK_H

#include "internal.h"

struct green_kickq {
    void *head;                  /* atomic: newest kicked link */
    void (*handle)(void **link); /* runs on the scheduler's OS thread */
    struct green_foreign node;
};
#define GREEN_KICKQ_INIT(handler)                                           \
    {                                                                       \
        .head = NULL, .handle = (handler), .node = {.fn = green__kick_run } \
    }

void green__kick_run(struct green_foreign *n);
/* From any OS thread: have q->handle(link) run on the scheduler's. */
void green__kick(struct green_kickq *q, void **link);
/* Until the kicks pending on link are handled (object destroy). */
GREEN_YIELDS void green__kick_settle(void **link);

/* True on a green thread that may wait green; false on other OS threads
 * and inside the core, where waits use futexes. */
static inline bool green__on_green(void)
{
    return green__current && !green__in_core;
}

int green__tid(void);
/* FUTEX_WAIT (private) on *word while it holds val, until deadline
 * (CLOCK_MONOTONIC ns, GREEN_NEVER). Returns 0, -ETIMEDOUT, -EAGAIN
 * (value changed) or -EINTR. */
int green__futex_wait(unsigned int *word, unsigned int val, int64_t deadline);
void green__futex_wake(unsigned int *word, int n);
/* Sleep the OS thread briefly (another OS thread's spin back-off). */
void green__os_pause(void);

#endif
