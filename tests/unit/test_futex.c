/* test_futex.c: the core's green futexes between green threads: waits,
 * wakes by bitset, timeouts, a changed word, requeue, and a wake from
 * another OS thread. */
#include <pthread.h>

#include "util.h"

static uint32_t word, word2;
static int results[4];

static void *waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    results[i] = green_futex_wait(&word, 0, 1u << i, 0, GREEN_NEVER);
    return NULL;
}

Test(futex, wake_reaches_only_matching_bitsets)
{
    GREEN_INIT();
    green_thread *t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(green_spawn(&t[i], waiter, (void *)(intptr_t)i, NULL), 0);
    green_yield(); /* both park */
    cr_expect_eq(green_futex_wake(&word, 5, 2u), 1, "only waiter 1 meets bitset 2");
    cr_expect_eq(green_futex_wake(&word, 5, ~0u), 1);
    cr_expect_eq(green_futex_wake(&word, 5, ~0u), 0, "nobody left");
    for (int i = 0; i < 2; i++)
        cr_assert_eq(green_join(t[i], NULL, GREEN_NEVER), 0);
    cr_expect_eq(results[0], 0);
    cr_expect_eq(results[1], 0);
}

Test(futex, changed_word_timeout_and_bad_input)
{
    GREEN_INIT();
    word = 3;
    cr_expect_eq(green_futex_wait(&word, 4, ~0u, 0, GREEN_NEVER), -EAGAIN);
    int64_t t0 = green_now();
    cr_expect_eq(green_futex_wait(&word, 3, ~0u, 0, in_ms(50)), -ETIMEDOUT);
    cr_expect_geq(green_now() - t0, 50 * MS);
    cr_expect_eq(green_futex_wait(&word, 3, 0, 0, GREEN_NEVER), -EINVAL, "bitset 0");
    cr_expect_eq(green_futex_wait((uint32_t *)((char *)&word + 1), 3, ~0u, 0, GREEN_NEVER), -EINVAL,
                 "misaligned");
    word = 0;
}

/* Wait while word is 0; the result goes to *result. */
static void *wait_on_word(void *result)
{
    *(int *)result = green_futex_wait(&word, 0, ~0u, 0, GREEN_NEVER);
    return NULL;
}

Test(futex, requeue_moves_waiters_to_the_second_word)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(wait_on_word, &results[0]);
    green_yield();
    cr_expect_eq(green_futex_requeue(&word, 0, &word2, 1), 1);
    cr_expect_eq(green_futex_wake(&word, 1, ~0u), 0, "moved away");
    cr_expect_eq(green_futex_wake(&word2, 1, ~0u), 1);
    join_ok(t);
    cr_expect_eq(results[0], 0);
}

/* The word changes where no wake is made (another process): a polling
 * wait sees it within a few milliseconds. */
static void *changer(void *arg)
{
    (void)arg;
    green_sleep_until(in_ms(20));
    __atomic_store_n(&word, 9, __ATOMIC_SEQ_CST);
    return NULL;
}

Test(futex, a_polling_wait_sees_a_change_without_a_wake)
{
    GREEN_INIT();
    word = 0;
    green_thread *t = spawn_ok(changer, NULL);
    cr_expect_eq(green_futex_wait(&word, 0, ~0u, GREEN_FUTEX_POLL, in_ms(5000)), 0);
    cr_expect_eq(word, 9u);
    join_ok(t);
}

static void *os_waker(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    green_futex_wake(&word, 1, ~0u);
    return NULL;
}

Test(futex, a_wake_from_another_os_thread_is_posted)
{
    GREEN_INIT();
    word = 0;
    green_thread *t = spawn_ok(wait_on_word, &results[1]);
    pthread_t os;
    cr_assert_eq(pthread_create(&os, NULL, os_waker, NULL), 0);
    join_ok(t);
    cr_expect_eq(results[1], 0);
    pthread_join(os, NULL);
}
