/* test_cond.c: green condition variables: FIFO signal, broadcast,
 * timed waits, the mutex relocked on every return, and producers and
 * consumers over a bounded buffer. */
#include "util.h"

static struct evlog lg;

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

Test(cond, cond_signal_wakes_one_waiter_in_fifo_order, .timeout = 20)
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

Test(cond, cond_broadcast_wakes_every_waiter, .timeout = 20)
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

Test(cond, cond_signal_without_waiters_is_not_remembered, .timeout = 20)
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

Test(cond, cond_wait_returns_only_with_the_mutex_relocked, .timeout = 20)
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

Test(cond, cond_timed_wait_expires_with_etimedout_and_the_mutex_relocked, .timeout = 20)
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

Test(cond, cond_timed_wait_waits_for_the_mutex_after_its_deadline, .timeout = 20)
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

Test(cond, cond_wait_without_holding_the_mutex_is_eperm, .timeout = 20)
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

Test(cond, producers_and_consumers_pass_every_item_exactly_once, .timeout = 60)
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
