/* test_sem.c: green semaphores: values, trywait, timed waits, overflow
 * and FIFO hand-off. */
#include "util.h"

#include <limits.h>

static struct evlog lg;

Test(sem, semaphore_value_follows_posts_and_waits, .timeout = 20)
{
    GREEN_INIT();
    static green_sem zero;
    cr_assert_eq(green_sem_value(&zero), 0u, "a zero-filled semaphore is at 0");
    green_sem s;
    green_sem_init(&s, 3);
    cr_assert_eq(green_sem_value(&s), 3u);
    cr_assert_eq(green_sem_wait(&s, GREEN_NEVER), 0);
    cr_assert_eq(green_sem_value(&s), 2u);
    cr_assert_eq(green_sem_post(&s), 0);
    cr_assert_eq(green_sem_post(&s), 0);
    cr_assert_eq(green_sem_value(&s), 4u);
}

Test(sem, semaphore_trywait_at_zero_is_eagain, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, 1);
    cr_assert_eq(green_sem_wait(&s, 0), 0, "trywait at 1");
    cr_assert_eq(green_sem_wait(&s, 0), -EAGAIN, "trywait at 0");
    cr_assert_eq(green_sem_value(&s), 0u);
}

Test(sem, semaphore_timed_wait_expires_with_etimedout, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, 0);
    int64_t d = in_ms(50);
    cr_assert_eq(green_sem_wait(&s, d), -ETIMEDOUT);
    cr_assert_geq(green_now(), d, "not before the deadline");
    cr_assert_eq(green_sem_post(&s), 0);
    cr_assert_eq(green_sem_value(&s), 1u, "the timed-out waiter left the queue");
}

Test(sem, semaphore_post_at_sem_value_max_is_eoverflow, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, SEM_VALUE_MAX);
    cr_assert_eq(green_sem_post(&s), -EOVERFLOW);
    cr_assert_eq(green_sem_value(&s), (unsigned)SEM_VALUE_MAX);
}

static green_sem fifo_s;
static int arrived;

static void *sem_in_turn(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int k = 0; k < 9 - i; k++)
        green_yield();
    evlog_add(&lg, i);
    arrived++;
    int r = green_sem_wait(&fifo_s, GREEN_NEVER);
    cr_expect_eq(r, 0);
    evlog_add(&lg, 100 + i);
    return NULL;
}

Test(sem, semaphore_posts_hand_off_to_waiters_in_arrival_order, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 10 };
    green_thread *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(sem_in_turn, (void *)(intptr_t)i);
    while (arrived < N)
        green_yield();
    cr_assert_eq(lg.n, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(green_sem_post(&fifo_s), 0);
    cr_assert_eq(green_sem_value(&fifo_s), 0u, "each post went to a waiter");
    cr_assert_eq(green_sem_wait(&fifo_s, 0), -EAGAIN, "the poster cannot take a handed-off unit");
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(lg.n, 2 * N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(lg.ev[N + i], 100 + lg.ev[i], "wake %d went to %d, but %d arrived %dth", i,
                     lg.ev[N + i] - 100, lg.ev[i], i);
}

static void *sem_post_one(void *arg)
{
    green_sem_post(arg);
    return NULL;
}

Test(sem, semaphore_wait_wakes_on_a_post_from_another_thread, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, 0);
    green_thread *t = spawn_ok(sem_post_one, &s);
    cr_assert_eq(green_sem_wait(&s, GREEN_NEVER), 0);
    cr_assert_eq(green_sem_value(&s), 0u);
    join_ok(t);
}
