/* sem.c: the green counting semaphore.
 *
 * The value is atomic, so any OS thread may post or wait. A green post
 * hands its unit straight to the first green waiter (FIFO) instead of
 * raising the value. A post from another OS thread raises the value and,
 * when green threads queue, kicks the semaphore (kick.h): the scheduler
 * then hands out what the value holds. A green waiter re-checks the
 * value after queueing, so a post that raced with it and saw no queue is
 * not lost (both sides use sequentially consistent operations). Waiters
 * on other OS threads sleep on the value's futex; once one has, posts
 * wake the futex too (the FWAIT bit, sticky). */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>

#include "kick.h"
#include "list.h"

_Static_assert(sizeof(green_sem) <= sizeof(sem_t), "green sem must fit the caller's sem_t");
_Static_assert(offsetof(green_sem, flags) == 4,
               "the magic sits where glibc's sem_t keeps its count of waiters");

#define FWAIT 1u

static void kicked(void **link);
static struct green_kickq kickq = GREEN_KICKQ_INIT(kicked);

void green_sem_init(green_sem *s, unsigned int value)
{
    *s = (green_sem){.value = value, .flags = GREEN_SEM_MAGIC};
}

int green_sem_is_green(const green_sem *s)
{
    return (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & GREEN_SEM_MAGIC_MASK) == GREEN_SEM_MAGIC;
}

static bool try_dec(green_sem *s)
{
    unsigned int v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
    while (v > 0)
        if (__atomic_compare_exchange_n(&s->value, &v, v - 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return true;
    return false;
}

GREEN_YIELDS static int os_wait(green_sem *s, int64_t deadline)
{
    while (!try_dec(s)) {
        if (deadline == 0)
            return -EAGAIN;
        __atomic_fetch_or(&s->flags, FWAIT, __ATOMIC_SEQ_CST);
        int r = green__futex_wait(&s->value, 0, deadline);
        if (r == -ETIMEDOUT || r == -EINTR)
            return r;
    }
    return 0;
}

int green_sem_wait(green_sem *s, int64_t deadline)
{
    if (!green__on_green())
        return os_wait(s, deadline);
    for (;;) {
        if (try_dec(s))
            return 0;
        if (deadline == 0)
            return -EAGAIN;
        struct green_waiter w;
        green__waiter_add(&s->waiters, &w, green__current);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&s->value, __ATOMIC_SEQ_CST) > 0) {
            green__unwait(green__current); /* a post raced with us */
            continue;
        }
        green__current->cancel_point = true;
        int r = green__block(W_SEM, s, deadline, false);
        green__current->cancel_point = false;
        if (r >= 0 || (r = green__settle(GREEN_CALL_SEM, r, deadline, 0, NULL, NULL)) <= 0)
            return r;
    }
}

static int raise_value(green_sem *s)
{
    unsigned int v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
    do
        if (v >= SEM_VALUE_MAX)
            return -EOVERFLOW;
    while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST));
    if (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & FWAIT)
        green__futex_wake(&s->value, 1);
    return 0;
}

/* Hand what the value holds to queued green waiters. */
static void kicked(void **link)
{
    green_sem *s = container_of(link, green_sem, kick);
    while (s->waiters.head && try_dec(s))
        green__wake(s->waiters.head->t, 0);
}

int green_sem_post(green_sem *s)
{
    if (!green__on_green()) {
        int r = raise_value(s);
        if (r == 0 && __atomic_load_n(&s->waiters.head, __ATOMIC_SEQ_CST))
            green__kick(&kickq, &s->kick);
        return r;
    }
    if (s->waiters.head) {
        green__wake(s->waiters.head->t, 0);
        return 0;
    }
    return raise_value(s);
}

unsigned int green_sem_value(const green_sem *s)
{
    return __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
}

int green_sem_destroy(green_sem *s)
{
    if (s->waiters.head)
        return -EBUSY;
    green__kick_settle(&s->kick);
    return 0;
}
