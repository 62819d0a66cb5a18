/* test_sync.c: green mutex, condition variable and semaphore: FIFO
 * hand-off, kinds, errors, timeouts, and their fit inside the pthread
 * and sem_t storage the program owns. */
#include "util.h"

#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

static struct evlog lg;

/* ---- layout --------------------------------------------------------------- */

Test(sync, green_objects_fit_the_storage_of_pthread_and_sem_objects, .timeout = 20)
{
    cr_assert_leq(sizeof(green_mutex), sizeof(pthread_mutex_t));
    cr_assert_leq(_Alignof(green_mutex), _Alignof(pthread_mutex_t));
    cr_assert_eq(offsetof(green_mutex, kind), (size_t)16, "kind sits in glibc's __kind");
    cr_assert_leq(sizeof(green_cond), sizeof(pthread_cond_t));
    cr_assert_leq(_Alignof(green_cond), _Alignof(pthread_cond_t));
    cr_assert_leq(sizeof(green_sem), sizeof(sem_t));
    cr_assert_leq(_Alignof(green_sem), _Alignof(sem_t));

    /* glibc's own static initializers put the kind where green reads it */
    pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    pthread_mutex_t adp = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    int kind;
    memcpy(&kind, (char *)&rec + offsetof(green_mutex, kind), sizeof kind);
    cr_assert_eq(kind, GREEN_MUTEX_RECURSIVE);
    memcpy(&kind, (char *)&chk + offsetof(green_mutex, kind), sizeof kind);
    cr_assert_eq(kind, GREEN_MUTEX_ERRORCHECK);
    memcpy(&kind, (char *)&adp + offsetof(green_mutex, kind), sizeof kind);
    cr_assert_eq(kind, GREEN_MUTEX_ADAPTIVE);
}

/* ---- mutex ------------------------------------------------------------------ */

static green_mutex *shared_m;

static void *trylock_result(void *arg)
{
    (void)arg;
    int r = green_mutex_lock(shared_m, 0);
    if (r == 0)
        green_mutex_unlock(shared_m);
    return (void *)(intptr_t)r;
}

/* What another thread's trylock of m says right now. */
static int trylock_elsewhere(green_mutex *m)
{
    shared_m = m;
    return (int)(intptr_t)join_ok(spawn_ok(trylock_result, NULL));
}

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

Test(sync, zero_filled_mutex_is_an_unlocked_normal_mutex, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_mutex_lock(&zero_m, GREEN_NEVER), 0);
    cr_assert_eq(trylock_elsewhere(&zero_m), -EBUSY, "held");
    cr_assert_eq(green_mutex_unlock(&zero_m), 0);
    cr_assert_eq(trylock_elsewhere(&zero_m), 0, "free again");
    cr_assert_eq(green_mutex_destroy(&zero_m), 0);
}

Test(sync, pthread_static_initializers_work_as_green_objects, .timeout = 20)
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
    cr_assert_eq(green_mutex_lock(&chk.g, 0), -EBUSY, "errorcheck trylock by the owner: EBUSY as glibc");
    int64_t d = in_ms(10);
    cr_assert_eq(green_cond_wait(&cond.g, &chk.g, d), -ETIMEDOUT, "cond from initializer");
    cr_assert_eq(green_mutex_unlock(&chk.g), 0);
    cr_assert_eq(green_mutex_unlock(&chk.g), -EPERM);
}

Test(sync, recursive_kind_set_directly_in_the_kind_field_works, .timeout = 20)
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

Test(sync, recursive_mutex_counts_and_rejects_other_unlockers, .timeout = 20)
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

Test(sync, recursion_count_overflow_is_eagain, .timeout = 20)
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

Test(sync, errorcheck_mutex_reports_relock_and_foreign_unlock, .timeout = 20)
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
Test(sync, normal_mutex_unlocks_for_any_thread_as_in_glibc, .timeout = 20)
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

Test(sync, adaptive_mutex_behaves_as_normal, .timeout = 20)
{
    GREEN_INIT();
    green_mutex m;
    green_mutex_init(&m, GREEN_MUTEX_ADAPTIVE);
    cr_assert_eq(green_mutex_lock(&m, GREEN_NEVER), 0);
    cr_assert_eq(trylock_elsewhere(&m), -EBUSY);
    cr_assert_eq(green_mutex_unlock(&m), 0);
    cr_assert_eq(trylock_elsewhere(&m), 0);
}

Test(sync, trylock_of_a_held_mutex_is_ebusy, .timeout = 20)
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

Test(sync, mutex_waiters_acquire_in_arrival_order, .timeout = 20)
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

Test(sync, unlock_hands_the_mutex_to_the_first_waiter, .timeout = 20)
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

Test(sync, timed_lock_expires_while_held_and_succeeds_after_unlock, .timeout = 20)
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

Test(sync, mutex_excludes_across_switches, .timeout = 30)
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

/* ---- condition variable ------------------------------------------------------ */

static green_mutex cm;
static green_cond cv;
static green_sem woke;
static int go;

static void *cond_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    green_mutex_lock(&cm, GREEN_NEVER);
    evlog_add(&lg, i);
    int r = 0;
    while (!go && r == 0)
        r = green_cond_wait(&cv, &cm, GREEN_NEVER);
    cr_expect_eq(r, 0, "cond wait %d: %d", i, r);
    if (go > 0)
        go--; /* a signal lets one through */
    evlog_add(&lg, 100 + i);
    green_mutex_unlock(&cm);
    green_sem_post(&woke);
    return NULL;
}

Test(sync, cond_signal_wakes_one_waiter_in_fifo_order, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 5 };
    green_thread *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(cond_waiter, (void *)(intptr_t)i);
    green_yield();
    cr_assert_eq(lg.n, N, "all wait");
    cr_assert_eq(green_cond_destroy(&cv), -EBUSY, "destroy while waited on");
    for (int i = 0; i < N; i++) {
        green_mutex_lock(&cm, GREEN_NEVER);
        go = 1;
        cr_assert_eq(green_cond_signal(&cv), 0);
        green_mutex_unlock(&cm);
        cr_assert_eq(green_sem_wait(&woke, GREEN_NEVER), 0);
        cr_assert_eq(lg.n, N + i + 1, "signal %d woke %d threads", i, lg.n - N - i);
        cr_assert_eq(lg.ev[N + i], 100 + i, "signal %d woke %d", i, lg.ev[N + i] - 100);
    }
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(green_cond_destroy(&cv), 0);
}

Test(sync, cond_broadcast_wakes_every_waiter, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 20 };
    green_thread *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(cond_waiter, (void *)(intptr_t)i);
    green_yield();
    cr_assert_eq(lg.n, N);
    green_mutex_lock(&cm, GREEN_NEVER);
    go = -1; /* everyone through */
    cr_assert_eq(green_cond_broadcast(&cv), 0);
    green_mutex_unlock(&cm);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(lg.n, 2 * N);
    cr_assert_eq(green_sem_value(&woke), (unsigned)N);
}

Test(sync, cond_signal_without_waiters_is_not_remembered, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_cond_signal(&cv), 0);
    cr_assert_eq(green_cond_broadcast(&cv), 0);
    green_mutex_lock(&cm, GREEN_NEVER);
    int64_t d = in_ms(30);
    cr_assert_eq(green_cond_wait(&cv, &cm, d), -ETIMEDOUT);
    cr_assert_geq(green_now(), d);
    green_mutex_unlock(&cm);
}

static void *lock_signal_and_hold(void *arg)
{
    (void)arg;
    green_mutex_lock(&cm, GREEN_NEVER);
    go = 1;
    green_cond_signal(&cv);
    evlog_add(&lg, 1);
    green_yield(); /* the signalled thread may run now, but must not pass the lock */
    green_yield();
    evlog_add(&lg, 2);
    green_mutex_unlock(&cm);
    return NULL;
}

Test(sync, cond_wait_returns_only_with_the_mutex_relocked, .timeout = 20)
{
    GREEN_INIT();
    green_mutex_init(&cm, GREEN_MUTEX_ERRORCHECK);
    green_mutex_lock(&cm, GREEN_NEVER);
    green_thread *t = spawn_ok(lock_signal_and_hold, NULL);
    int r = 0;
    while (!go && r == 0)
        r = green_cond_wait(&cv, &cm, GREEN_NEVER);
    cr_assert_eq(r, 0);
    evlog_add(&lg, 3);
    cr_assert_eq(green_mutex_unlock(&cm), 0, "the waiter owns the mutex again");
    join_ok(t);
    cr_assert_eq(lg.n, 3);
    cr_assert_eq(lg.ev[2], 3, "the waiter returned while the signaller held the mutex");
}

Test(sync, cond_timed_wait_expires_with_etimedout_and_the_mutex_relocked, .timeout = 20)
{
    GREEN_INIT();
    green_mutex_init(&cm, GREEN_MUTEX_ERRORCHECK);
    cr_assert_eq(green_mutex_lock(&cm, GREEN_NEVER), 0);
    int64_t d = in_ms(50);
    cr_assert_eq(green_cond_wait(&cv, &cm, d), -ETIMEDOUT);
    cr_assert_geq(green_now(), d, "not before the deadline");
    cr_assert_eq(trylock_elsewhere(&cm), -EBUSY, "the mutex is held again");
    cr_assert_eq(green_mutex_unlock(&cm), 0, "by the waiter");
    cr_assert_eq(green_cond_destroy(&cv), 0, "the timed-out waiter left the queue");
}

static int64_t cond_deadline;

static void *timed_cond_waiter(void *arg)
{
    (void)arg;
    green_mutex_lock(&cm, GREEN_NEVER);
    int r = green_cond_wait(&cv, &cm, cond_deadline);
    evlog_add(&lg, 20);
    green_mutex_unlock(&cm);
    return (void *)(intptr_t)r;
}

Test(sync, cond_timed_wait_waits_for_the_mutex_after_its_deadline, .timeout = 20)
{
    GREEN_INIT();
    cond_deadline = in_ms(30);
    green_thread *t = spawn_ok(timed_cond_waiter, NULL);
    green_yield(); /* t waits on cv */
    green_mutex_lock(&cm, GREEN_NEVER);
    /* hold the mutex past t's deadline: t must not return without it */
    cr_assert_eq(green_sleep_until(cond_deadline + 30 * MS), 0);
    evlog_add(&lg, 10);
    green_mutex_unlock(&cm);
    cr_assert_eq((int)(intptr_t)join_ok(t), -ETIMEDOUT);
    cr_assert_eq(lg.n, 2);
    cr_assert_eq(lg.ev[0], 10, "the timed-out waiter ran while main held the mutex");
}

static void *cond_wait_result(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_cond_wait(&cv, &cm, in_ms(1000));
}

Test(sync, cond_wait_without_holding_the_mutex_is_eperm, .timeout = 20)
{
    GREEN_INIT();
    green_mutex_init(&cm, GREEN_MUTEX_ERRORCHECK);
    cr_assert_eq(green_cond_wait(&cv, &cm, GREEN_NEVER), -EPERM, "mutex free");
    green_mutex normal;
    green_mutex_init(&normal, GREEN_MUTEX_NORMAL);
    cr_assert_eq(green_cond_wait(&cv, &normal, GREEN_NEVER), -EPERM, "normal mutex free");
    cr_assert_eq(green_mutex_lock(&cm, GREEN_NEVER), 0);
    green_thread *t = spawn_ok(cond_wait_result, NULL);
    cr_assert_eq((int)(intptr_t)join_ok(t), -EPERM, "mutex held by another thread");
    cr_assert_eq(green_mutex_unlock(&cm), 0, "still main's");
    cr_assert_eq(green_cond_destroy(&cv), 0, "no waiter was queued");
}

/* Producers and consumers over a bounded buffer. */
enum { ITEMS = 100000, PRODUCERS = 5, CONSUMERS = 5, CAP = 16 };
static green_mutex pc_m;
static green_cond not_full, not_empty;
static long ring[CAP];
static int ring_head, ring_len;
static long taken;
static long long sums[CONSUMERS];

static void *producer(void *arg)
{
    long first = (long)(intptr_t)arg * (ITEMS / PRODUCERS) + 1;
    for (long v = first; v < first + ITEMS / PRODUCERS; v++) {
        green_mutex_lock(&pc_m, GREEN_NEVER);
        while (ring_len == CAP)
            green_cond_wait(&not_full, &pc_m, GREEN_NEVER);
        ring[(ring_head + ring_len) % CAP] = v;
        ring_len++;
        green_cond_signal(&not_empty);
        green_mutex_unlock(&pc_m);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    green_mutex_lock(&pc_m, GREEN_NEVER);
    for (;;) {
        while (ring_len == 0 && taken < ITEMS)
            green_cond_wait(&not_empty, &pc_m, GREEN_NEVER);
        if (taken == ITEMS) {
            green_cond_broadcast(&not_empty);
            break;
        }
        sums[me] += ring[ring_head];
        ring_head = (ring_head + 1) % CAP;
        ring_len--;
        taken++;
        green_cond_signal(&not_full);
    }
    green_mutex_unlock(&pc_m);
    return NULL;
}

Test(sync, producers_and_consumers_pass_every_item_exactly_once, .timeout = 60)
{
    GREEN_INIT();
    green_thread *t[PRODUCERS + CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        t[i] = spawn_ok(consumer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        t[CONSUMERS + i] = spawn_ok(producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        join_ok(t[i]);
    long long sum = 0;
    for (int i = 0; i < CONSUMERS; i++)
        sum += sums[i];
    cr_assert_eq(taken, (long)ITEMS);
    cr_assert_eq(ring_len, 0);
    cr_assert_eq(sum, (long long)ITEMS * (ITEMS + 1) / 2, "sum %lld", sum);
}

/* ---- semaphore ------------------------------------------------------------------ */

Test(sync, semaphore_value_follows_posts_and_waits, .timeout = 20)
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

Test(sync, semaphore_trywait_at_zero_is_eagain, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, 1);
    cr_assert_eq(green_sem_wait(&s, 0), 0, "trywait at 1");
    cr_assert_eq(green_sem_wait(&s, 0), -EAGAIN, "trywait at 0");
    cr_assert_eq(green_sem_value(&s), 0u);
}

Test(sync, semaphore_timed_wait_expires_with_etimedout, .timeout = 20)
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

Test(sync, semaphore_post_at_sem_value_max_is_eoverflow, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, SEM_VALUE_MAX);
    cr_assert_eq(green_sem_post(&s), -EOVERFLOW);
    cr_assert_eq(green_sem_value(&s), (unsigned)SEM_VALUE_MAX);
}

static green_sem fifo_s;

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

Test(sync, semaphore_posts_hand_off_to_waiters_in_arrival_order, .timeout = 20)
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

Test(sync, semaphore_wait_wakes_on_a_post_from_another_thread, .timeout = 20)
{
    GREEN_INIT();
    green_sem s;
    green_sem_init(&s, 0);
    green_thread *t = spawn_ok(sem_post_one, &s);
    cr_assert_eq(green_sem_wait(&s, GREEN_NEVER), 0);
    cr_assert_eq(green_sem_value(&s), 0u);
    join_ok(t);
}

/* ---- everything at once ----------------------------------------------------------- */

/* Threads mix locks, condition waits, semaphore waits and sleeps with
 * short or no deadlines while a chaos thread interrupts them at random.
 * Invariants: one holder at a time, every semaphore unit accounted for,
 * nothing left queued at the end. */
enum { CHAOS_THREADS = 40, CHAOS_ROUNDS = 10000 };
static green_mutex ch_m;
static green_cond ch_c;
static green_sem ch_s;
static int inside, overlap;
static long sem_got, sem_posted;
static int chaos_done;
static green_thread *ch_t[CHAOS_THREADS];

static unsigned xorshift(unsigned *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static int64_t short_deadline(unsigned *rng)
{
    switch (xorshift(rng) % 4) {
    case 0:
        return 0;
    case 1:
        return GREEN_NEVER;
    default:
        return green_now() + (int64_t)(xorshift(rng) % 200) * 1000;
    }
}

static void *chaos_worker(void *arg)
{
    unsigned rng = 2463534242u + (unsigned)(intptr_t)arg * 7919u;
    for (int i = 0; i < CHAOS_ROUNDS; i++) {
        switch (xorshift(&rng) % 5) {
        case 0: { /* lock, hold across a switch */
            int64_t d = short_deadline(&rng);
            if (d == GREEN_NEVER)
                d = green_now() + 1000000; /* no unbounded waits: no deadlock */
            if (green_mutex_lock(&ch_m, d) == 0) {
                if (inside++)
                    overlap++;
                green_yield();
                inside--;
                green_mutex_unlock(&ch_m);
            }
            break;
        }
        case 1: /* condition wait with a deadline, or a signal */
            if (green_mutex_lock(&ch_m, green_now() + 1000000) == 0) {
                if (inside++)
                    overlap++;
                inside--;
                if (xorshift(&rng) % 2)
                    green_cond_wait(&ch_c, &ch_m, green_now() + 100000);
                else
                    green_cond_signal(&ch_c);
                if (inside++)
                    overlap++;
                inside--;
                green_mutex_unlock(&ch_m);
            }
            break;
        case 2: { /* semaphore wait */
            int64_t d = short_deadline(&rng);
            if (d == GREEN_NEVER)
                d = green_now() + 200000;
            if (green_sem_wait(&ch_s, d) == 0)
                sem_got++;
            break;
        }
        case 3: /* post */
            if (green_sem_post(&ch_s) == 0)
                sem_posted++;
            break;
        default:
            green_sleep_until(short_deadline(&rng) == 0 ? 0 : green_now() + 50000);
            break;
        }
    }
    return NULL;
}

static void *chaos_monkey(void *arg)
{
    unsigned rng = (unsigned)(uintptr_t)arg | 1u;
    while (!chaos_done) {
        green_interrupt(ch_t[xorshift(&rng) % CHAOS_THREADS]);
        green_yield();
    }
    return NULL;
}

Test(sync, mixed_waits_timeouts_and_interrupts_keep_every_invariant, .timeout = 120)
{
    GREEN_INIT();
    for (int i = 0; i < CHAOS_THREADS; i++)
        ch_t[i] = spawn_ok(chaos_worker, (void *)(intptr_t)i);
    green_thread *monkey = spawn_ok(chaos_monkey, (void *)12345);
    for (int i = 0; i < CHAOS_THREADS; i++) {
        join_ok(ch_t[i]);
        ch_t[i] = green_self(); /* interrupting main (running) is harmless */
    }
    chaos_done = 1;
    join_ok(monkey);
    cr_assert_eq(overlap, 0, "%d times two threads held the mutex", overlap);
    cr_assert_eq(inside, 0);
    cr_assert_eq(green_sem_value(&ch_s), (unsigned)(sem_posted - sem_got),
                 "posted %ld, taken %ld, value %u", sem_posted, sem_got, green_sem_value(&ch_s));
    cr_assert_eq(green_mutex_destroy(&ch_m), 0, "the mutex is free and unwaited");
    cr_assert_eq(green_cond_destroy(&ch_c), 0, "no waiter left on the condition");
    cr_assert_eq(green_mutex_lock(&ch_m, 0), 0);
    cr_assert_eq(green_mutex_unlock(&ch_m), 0);
}

/* ---- other OS threads ------------------------------------------------------- */

#include <pthread.h>

/* Real OS threads (created with the real pthread_create: this test does
 * not preload) share a mutex with green threads: the total counts every
 * increment, so mutual exclusion held across both kinds. */
static green_mutex mixed_m;
static long mixed_total;
static _Atomic int os_done;

static void *os_adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        cr_assert_eq(green_mutex_lock(&mixed_m, GREEN_NEVER), 0);
        long v = mixed_total;
        mixed_total = v + 1;
        cr_assert_eq(green_mutex_unlock(&mixed_m), 0);
    }
    os_done++;
    return NULL;
}

static void *green_adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        cr_assert_eq(green_mutex_lock(&mixed_m, GREEN_NEVER), 0);
        long v = mixed_total;
        if (i % 1000 == 0)
            green_yield(); /* hold it across a switch */
        mixed_total = v + 1;
        cr_assert_eq(green_mutex_unlock(&mixed_m), 0);
    }
    return NULL;
}

Test(sync, mutex_excludes_green_threads_and_other_os_threads_alike, .timeout = 60)
{
    GREEN_INIT();
    pthread_t os[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&os[i], NULL, os_adder, NULL), 0);
    green_thread *g[2];
    for (int i = 0; i < 2; i++)
        g[i] = spawn_ok(green_adder, NULL);
    for (int i = 0; i < 2; i++)
        join_ok(g[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(os[i], NULL);
    cr_assert_eq(mixed_total, 80000, "lost updates: %ld", mixed_total);
}

/* A green thread waits on a condition another OS thread signals, and on
 * a semaphore it posts: the wake-ups come through the scheduler. */
static green_mutex os_m;
static green_cond os_c;
static green_sem os_s;
static int os_flag;

static void *os_signaller(void *arg)
{
    (void)arg;
    green_mutex_lock(&os_m, GREEN_NEVER);
    os_flag = 1;
    green_cond_signal(&os_c);
    green_mutex_unlock(&os_m);
    for (int i = 0; i < 1000; i++)
        green_sem_post(&os_s);
    return NULL;
}

Test(sync, condition_and_semaphore_wake_green_waiters_from_other_os_threads, .timeout = 60)
{
    GREEN_INIT();
    green_sem_init(&os_s, 0);
    pthread_t t;
    green_mutex_lock(&os_m, GREEN_NEVER);
    cr_assert_eq(pthread_create(&t, NULL, os_signaller, NULL), 0);
    while (!os_flag)
        cr_assert_eq(green_cond_wait(&os_c, &os_m, GREEN_NEVER), 0);
    green_mutex_unlock(&os_m);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(green_sem_wait(&os_s, GREEN_NEVER), 0, "unit %d", i);
    pthread_join(t, NULL);
    cr_assert_eq(green_sem_value(&os_s), 0);
    cr_assert_eq(green_sem_destroy(&os_s), 0);
    cr_assert_eq(green_cond_destroy(&os_c), 0);
}

/* Another OS thread waits on a green semaphore and condition; green
 * threads post and broadcast. */
static void *os_waiter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(green_sem_wait(&os_s, GREEN_NEVER), 0);
    green_mutex_lock(&os_m, GREEN_NEVER);
    while (os_flag != 2)
        green_cond_wait(&os_c, &os_m, GREEN_NEVER);
    green_mutex_unlock(&os_m);
    return NULL;
}

Test(sync, other_os_threads_wait_on_green_objects, .timeout = 60)
{
    GREEN_INIT();
    green_sem_init(&os_s, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, os_waiter, NULL), 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(green_sem_post(&os_s), 0);
        green_sleep_until(green_now() + 100000);
    }
    green_mutex_lock(&os_m, GREEN_NEVER);
    os_flag = 2;
    green_cond_broadcast(&os_c);
    green_mutex_unlock(&os_m);
    cr_assert_eq(pthread_join(t, NULL), 0);
}

/* ---- rwlock, barrier, spin, once ------------------------------------------- */

static green_rwlock rwl;
static int rw_readers_in;

static void *rw_reader_thread(void *arg)
{
    (void)arg;
    cr_assert_eq(green_rwlock_rdlock(&rwl, GREEN_NEVER), 0);
    rw_readers_in++;
    green_yield();
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    return NULL;
}

Test(sync, rwlock_writer_blocks_readers_then_grants_them_together, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_rwlock_wrlock(&rwl, GREEN_NEVER), 0, "zeros: an unlocked rwlock");
    cr_assert_eq(green_rwlock_rdlock(&rwl, 0), -EDEADLK);
    green_thread *r[3];
    for (int i = 0; i < 3; i++)
        r[i] = spawn_ok(rw_reader_thread, NULL);
    green_yield();
    cr_assert_eq(rw_readers_in, 0, "readers waited for the writer");
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    green_yield();
    cr_assert_eq(rw_readers_in, 3, "all readers granted at once");
    for (int i = 0; i < 3; i++)
        join_ok(r[i]);
    cr_assert_eq(green_rwlock_wrlock(&rwl, in_ms(5)), 0);
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    cr_assert_eq(green_rwlock_unlock(&rwl), -EPERM);
    cr_assert_eq(green_rwlock_destroy(&rwl), 0);
}

static green_barrier gbar;
static _Atomic int serials;
static void *barrier_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        serials += green_barrier_wait(&gbar);
    return NULL;
}

Test(sync, barrier_releases_rounds_with_one_serial_thread, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_barrier_init(&gbar, 0), -EINVAL);
    cr_assert_eq(green_barrier_init(&gbar, 4), 0);
    green_thread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_ok(barrier_thread, NULL);
    for (int i = 0; i < 4; i++)
        join_ok(t[i]);
    cr_assert_eq(serials, 10);
    cr_assert_eq(green_barrier_destroy(&gbar), 0);
}

static int once_word, once_count;
static void once_body(void *arg)
{
    (void)arg;
    once_count++;
    green_yield(); /* the others arrive while it runs */
}
static void *once_thread(void *arg)
{
    (void)arg;
    green_once(&once_word, once_body, NULL);
    return (void *)(intptr_t)once_count;
}

Test(sync, once_runs_once_and_callers_wait_for_it, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_ok(once_thread, NULL);
    for (int i = 0; i < 4; i++)
        cr_assert_eq((intptr_t)join_ok(t[i]), 1);
    cr_assert_eq(once_word, 2, "glibc's done value");
}
