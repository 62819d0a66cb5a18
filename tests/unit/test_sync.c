/* test_sync.c: the sync objects together: their fit inside the pthread
 * and sem_t storage the program owns, every wait mixed with timeouts and
 * interrupts, and other OS threads sharing them with green threads. */
#include "util.h"

#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

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
