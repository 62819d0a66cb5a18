/* kick.c: see kick.h. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kick.h"

/* Ends the list; a NULL link means "not queued". */
#define KICK_END ((void *)1)

void green__kick_run(struct green_foreign *n)
{
    struct green_kickq *q = container_of(n, struct green_kickq, node);
    void **l = __atomic_exchange_n(&q->head, NULL, __ATOMIC_ACQ_REL);
    while (l) {
        void *next = __atomic_load_n(l, __ATOMIC_ACQUIRE);
        /* Clear before handling: a kick arriving meanwhile queues again
         * and is handled by the next run, not lost. */
        __atomic_store_n(l, NULL, __ATOMIC_RELEASE);
        q->handle(l);
        l = next == KICK_END ? NULL : next;
    }
}

void green__kick(struct green_kickq *q, void **link)
{
    void *idle = NULL;
    if (!__atomic_compare_exchange_n(link, &idle, KICK_END, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return; /* already queued */
    void *head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
    do
        __atomic_store_n(link, head ? head : KICK_END, __ATOMIC_RELEASE);
    while (!__atomic_compare_exchange_n(&q->head, &head, (void *)link, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE));
    green__foreign_post(&q->node);
}

void green__kick_settle(void **link)
{
    while (__atomic_load_n(link, __ATOMIC_ACQUIRE)) {
        if (green__on_green())
            green_sleep_until(green_now() + 1000000);
        else
            green__os_pause();
    }
}

int green__tid(void)
{
    return (int)syscall(SYS_gettid); /* cannot fail */
}

int green__futex_wait(unsigned int *word, unsigned int val, int64_t deadline)
{
    struct timespec ts, *tp = NULL;
    if (deadline != GREEN_NEVER) {
        ts.tv_sec = deadline / 1000000000;
        ts.tv_nsec = deadline % 1000000000;
        tp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
    int saved = errno;
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, tp, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    int e = r == 0 ? 0 : errno == ETIMEDOUT ? -ETIMEDOUT : errno == EINTR ? -EINTR : -EAGAIN;
    errno = saved;
    return e;
}

void green__futex_wake(unsigned int *word, int n)
{
    int saved = errno;
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
    errno = saved;
}

void green__os_pause(void)
{
    struct timespec ts = {0, 200000};
    int saved = errno;
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
    errno = saved;
}
