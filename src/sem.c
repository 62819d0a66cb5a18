/* sem.c: the green counting semaphore. Post hands its unit straight to
 * the first waiter (FIFO) instead of raising the value. */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>

#include "internal.h"
#include "list.h"

_Static_assert(sizeof(green_sem) <= sizeof(sem_t), "green sem must fit the caller's sem_t");

void green_sem_init(green_sem *s, unsigned int value)
{
    *s = (green_sem){.value = value};
}

int green_sem_wait(green_sem *s, int64_t deadline)
{
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    if (deadline == 0)
        return -EAGAIN;
    struct green_waiter w;
    green__waiter_add(&s->waiters, &w, green__current);
    return green__block(W_SEM, s, deadline, false);
}

int green_sem_post(green_sem *s)
{
    if (s->waiters.head) {
        green__wake(s->waiters.head->t, 0);
        return 0;
    }
    if (s->value >= SEM_VALUE_MAX)
        return -EOVERFLOW;
    s->value++;
    return 0;
}

unsigned int green_sem_value(const green_sem *s)
{
    return s->value;
}
