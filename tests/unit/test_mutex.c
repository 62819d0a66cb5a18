/* test_mutex.c: green mutexes: kinds (normal, recursive, errorcheck,
 * adaptive, pthread's static initializers), errors, FIFO hand-off,
 * timed locks and exclusion across switches. */
#include "util.h"

#include <limits.h>
#include <pthread.h>

static struct evlog lg;

static green_mutex *shared_m;

static void *unlock_result(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_mutex_unlock(shared_m);
}

static int unlock_elsewhere(green_mutex *m)
{
    shared_m = m;
    return (int)(intptr_t)join_ok(spawn_ok(unlock_result, NULL));
}

static green_mutex zero_m;

Test(mutex, zero_filled_mutex_is_an_unlocked_normal_mutex, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_mutex_lock(&zero_m, GREEN_NEVER), 0);
    cr_assert_eq(trylock_elsewhere(&zero_m), -EBUSY, "held");
    cr_assert_eq(green_mutex_unlock(&zero_m), 0);
    cr_assert_eq(trylock_elsewhere(&zero_m), 0, "free again");
    cr_assert_eq(green_mutex_destroy(&zero_m), 0);
}

Test(mutex, pthread_static_initializers_work_as_green_objects, .timeout = 20)
{
    GREEN_INIT();
    static union {
        pthread_mutex_t p;
        green_mutex g;
    } normal = {.p = PTHREAD_MUTEX_INITIALIZER},
      rec = {.p = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP},
      chk = {.p = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP};
    static union {
        pthread_cond_t p;
        green_cond g;
    } cond = {.p = PTHREAD_COND_INITIALIZER};

    cr_assert_eq(green_mutex_lock(&normal.g, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_unlock(&normal.g), 0);

    cr_assert_eq(green_mutex_lock(&rec.g, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_lock(&rec.g, GREEN_NEVER), 0, "recursive relock");
    cr_assert_eq(green_mutex_unlock(&rec.g), 0);
    cr_assert_eq(green_mutex_unlock(&rec.g), 0);

    cr_assert_eq(green_mutex_lock(&chk.g, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_lock(&chk.g, 0), -EBUSY,
                 "errorcheck trylock by the owner: EBUSY as glibc");
    int64_t d = in_ms(10);
    cr_assert_eq(green_cond_wait(&cond.g, &chk.g, d), -ETIMEDOUT, "cond from initializer");
    cr_assert_eq(green_mutex_unlock(&chk.g), 0);
    cr_assert_eq(green_mutex_unlock(&chk.g), -EPERM);
}

Test(mutex, recursive_kind_set_directly_in_the_kind_field_works, .timeout = 20)
{
    GREEN_INIT();
    static green_mutex m = {.kind = GREEN_MUTEX_RECURSIVE};
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_lock(&m, 0), 0, "trylock by the owner counts up");
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY);
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY, "still held once");
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), 0, "free after as many unlocks as locks");
    cr_assert_eq(green_mutex_unlock(&m), -EPERM, "unlock of a free recursive mutex");
}

Test(mutex, recursive_mutex_counts_and_rejects_other_unlockers, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_RECURSIVE);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0, "lock %d", i);
    cr_assert_eq(unlock_elsewhere(&m), -EPERM, "unlock by a thread that does not own it");
    for (int i = 0; i < 99; i++) {
        cr_assert_eq(green_mutex_unlock(&m), 0);
        cr_assert_eq(trylock_elsewhere(&m), -EBUSY, "after %d unlocks", i + 1);
    }
    cr_assert_eq(green_mutex_destroy(&m), -EBUSY, "destroy while held");
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), 0);
    cr_assert_eq(green_mutex_destroy(&m), 0);
}

Test(mutex, recursion_count_overflow_is_eagain, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_RECURSIVE);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    m.count = UINT_MAX; /* the public layout: as after 2^32-1 relocks */
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), -EAGAIN);
    cr_assert_eq(green_mutex_lock(&m, 0), -EAGAIN, "trylock too");
    m.count = 1;
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), 0, "the failed relocks changed nothing");
}

Test(mutex, errorcheck_mutex_reports_relock_and_foreign_unlock, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_ERRORCHECK);
    cr_assert_eq(green_mutex_unlock(&m), -EPERM, "unlock of a free mutex");
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), -EDEADLK, "relock by the owner");
    cr_assert_eq(green_mutex_lock(&m, 0), -EBUSY, "trylock by the owner (glibc: EBUSY)");
    cr_assert_eq(unlock_elsewhere(&m), -EPERM, "unlock by another thread");
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY, "the failed calls changed nothing");
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(green_mutex_unlock(&m), -EPERM, "second unlock");
}

/* glibc's normal mutex has no owner check: another thread's unlock
 * releases it, and unlocking a free one does nothing. Native behaviour
 * is the bar, so the green mutex does the same. */
Test(mutex, normal_mutex_unlocks_for_any_thread_as_in_glibc, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_NORMAL);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(unlock_elsewhere(&m), 0, "unlock by a thread that does not own it");
    cr_assert_eq(trylock_elsewhere(&m), 0, "released by that unlock");
    cr_assert_eq(green_mutex_lock(&m, 0), 0, "free again after the other thread's unlock");
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(green_mutex_unlock(&m), 0, "unlock of a free mutex does nothing");
    cr_assert_eq(green_mutex_lock(&m, 0), 0, "and leaves it usable");
}

Test(mutex, adaptive_mutex_behaves_as_normal, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_ADAPTIVE);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY);
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), 0);
}

Test(mutex, trylock_of_a_held_mutex_is_ebusy, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_NORMAL);
    cr_assert_eq(green_mutex_lock(&m, 0), 0, "trylock of a free mutex");
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY);
    cr_assert_eq(green_mutex_lock(&m, 0), -EBUSY, "trylock by the owner of a normal mutex");
    cr_assert_eq(green_mutex_unlock(&m), 0);
}

static green_mutex fifo_m;
static int arrived;

/* Thread i yields (N-1-i) times, so they reach the lock in reverse order. */
static void *lock_in_turn(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int k = 0; k < 9 - i; k++)
        green_yield();
    evlog_add(&lg, i);
    arrived++;
    int r = green_mutex_lock(&fifo_m, GREEN_NEVER);
    cr_expect_eq(r, 0);
    evlog_add(&lg, 100 + i);
    green_yield(); /* hold it across a switch */
    green_mutex_unlock(&fifo_m);
    return NULL;
}

Test(mutex, mutex_waiters_acquire_in_arrival_order, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 10 };
    green_mutex_init(&fifo_m, GREEN_MUTEX_NORMAL);
    cr_assert_eq(green_mutex_lock(&fifo_m, GREEN_NEVER), 0);
    green_thread *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(lock_in_turn, (void *)(intptr_t)i);
    while (arrived < N)
        green_yield();
    cr_assert_eq(lg.n, N, "all arrived, none acquired");
    cr_assert_eq(green_mutex_destroy(&fifo_m), -EBUSY, "destroy while waited on");
    cr_assert_eq(green_mutex_unlock(&fifo_m), 0);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(lg.n, 2 * N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(lg.ev[N + i], 100 + lg.ev[i], "acquisition %d went to %d, but %d arrived %dth",
                     i, lg.ev[N + i] - 100, lg.ev[i], i);
}

static void *lock_log_unlock(void *arg)
{
    int r = green_mutex_lock(shared_m, GREEN_NEVER);
    cr_expect_eq(r, 0);
    evlog_add(&lg, (int)(intptr_t)arg);
    green_mutex_unlock(shared_m);
    return NULL;
}

Test(mutex, unlock_hands_the_mutex_to_the_first_waiter, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_NORMAL);
    shared_m = &m;
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    green_thread *t = spawn_ok(lock_log_unlock, (void *)1);
    green_yield(); /* t waits */
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(green_mutex_lock(&m, 0), -EBUSY,
                 "the unlocker cannot take back a mutex handed to a waiter");
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(lg.n, 1, "the waiter had it first");
    cr_assert_eq(green_mutex_unlock(&m), 0);
    join_ok(t);
}

static void *timed_lock(void *arg)
{
    int64_t deadline = *(int64_t *)arg;
    int r = green_mutex_lock(shared_m, deadline);
    if (r == -ETIMEDOUT)
        cr_expect_geq(green_now(), deadline, "timed out before the deadline");
    if (r == 0)
        green_mutex_unlock(shared_m);
    return (void *)(intptr_t)r;
}

Test(mutex, timed_lock_expires_while_held_and_succeeds_after_unlock, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_NORMAL);
    shared_m = &m;
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    int64_t deadline = in_ms(50);
    green_thread *t = spawn_ok(timed_lock, &deadline);
    cr_assert_eq((int)(intptr_t)join_ok(t), -ETIMEDOUT);

    /* the timed-out waiter left the queue: nobody is handed the mutex */
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(green_mutex_lock(&m, 0), 0, "free after the timed-out waiter left");

    deadline = in_ms(10000);
    t = spawn_ok(timed_lock, &deadline);
    green_yield(); /* t waits with a far deadline */
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq((int)(intptr_t)join_ok(t), 0, "the unlock reached the timed waiter");
    cr_assert_eq(green_mutex_destroy(&m), 0);
}

static green_mutex count_m;
static long counter;

static void *count_with_yields(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        green_mutex_lock(&count_m, GREEN_NEVER);
        long c = counter;
        green_yield();
        counter = c + 1;
        green_mutex_unlock(&count_m);
    }
    return NULL;
}

Test(mutex, mutex_excludes_across_switches, .timeout = 30)
{
    GREEN_INIT();
    enum { N = 10 };
    green_thread *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(count_with_yields, NULL);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(counter, (long)N * 1000, "lost updates: %ld", counter);
}
