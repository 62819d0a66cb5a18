/* threads_sync: mutexes, condition variables, semaphores, rwlocks,
 * barriers, spin locks, keys, once, names, yields, join variants and
 * cleanup handlers, as a program uses them. Every result is printed, so
 * the output is the same natively and under libgreen. Contended waits
 * show other threads running meanwhile (a counter advanced by a thread
 * that yields). Sleeps are only timeouts, never synchronisation. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *en(int e)
{
    return e ? strerrorname_np(e) : "0";
}

/* Print the result of each call in turn (printf's arguments have no
 * order of evaluation). */
#define E(x) printf(" %s", en(x))
#define EI(x) (errno = 0, printf(" %d", (x)), printf(" %s", en(errno)))

static struct timespec in_ms(clockid_t c, long ms)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* ---- mutex kinds --------------------------------------------------------- */

static pthread_mutex_t m_static = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t m_chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

static void *try_other(void *arg)
{
    int r = pthread_mutex_trylock(arg);
    if (r == 0)
        pthread_mutex_unlock(arg);
    return (void *)(intptr_t)r;
}

static int trylock_elsewhere(pthread_mutex_t *m)
{
    pthread_t t;
    void *v;
    CHECK(pthread_create(&t, NULL, try_other, m));
    CHECK(pthread_join(t, &v));
    return (int)(intptr_t)v;
}

static void *unlock_other(void *arg)
{
    return (void *)(intptr_t)pthread_mutex_unlock(arg);
}

static int unlock_elsewhere(pthread_mutex_t *m)
{
    pthread_t t;
    void *v;
    CHECK(pthread_create(&t, NULL, unlock_other, m));
    CHECK(pthread_join(t, &v));
    return (int)(intptr_t)v;
}

static void mutex_kinds(void)
{
    printf("static normal:");
    E(pthread_mutex_lock(&m_static));
    E(trylock_elsewhere(&m_static));
    E(pthread_mutex_unlock(&m_static));
    E(trylock_elsewhere(&m_static));
    printf("\nrecursive:");
    E(pthread_mutex_lock(&m_rec));
    E(pthread_mutex_lock(&m_rec));
    E(pthread_mutex_trylock(&m_rec));
    E(unlock_elsewhere(&m_rec));
    E(trylock_elsewhere(&m_rec));
    for (int i = 0; i < 4; i++)
        E(pthread_mutex_unlock(&m_rec));
    printf("\nerrorcheck:");
    E(pthread_mutex_lock(&m_chk));
    E(pthread_mutex_lock(&m_chk));
    E(pthread_mutex_trylock(&m_chk));
    E(unlock_elsewhere(&m_chk));
    E(pthread_mutex_unlock(&m_chk));
    E(pthread_mutex_unlock(&m_chk));
    printf("\n");

    pthread_mutexattr_t a;
    pthread_mutex_t m;
    int kinds[] = {PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK,
                   PTHREAD_MUTEX_ADAPTIVE_NP};
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_mutexattr_init(&a));
        CHECK(pthread_mutexattr_settype(&a, kinds[i]));
        CHECK(pthread_mutex_init(&m, &a));
        CHECK(pthread_mutexattr_destroy(&a));
        CHECK(pthread_mutex_lock(&m));
        int relock = pthread_mutex_trylock(&m);
        printf("kind %d: trylock by owner %s,", kinds[i], en(relock));
        E(pthread_mutex_destroy(&m));
        if (relock == 0)
            pthread_mutex_unlock(&m);
        CHECK(pthread_mutex_unlock(&m));
        printf(", destroy %s\n", en(pthread_mutex_destroy(&m)));
    }
    CHECK(pthread_mutex_init(&m, NULL));
    CHECK(pthread_mutex_lock(&m));
    struct timespec ts = in_ms(CLOCK_REALTIME, 20), bad = {0, 1000000000}, neg = {-1, 0};
    printf("timedlock held, bad nsec, negative, monotonic, bad clock:");
    E(pthread_mutex_timedlock(&m, &ts));
    E(pthread_mutex_timedlock(&m, &bad));
    E(pthread_mutex_timedlock(&m, &neg));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    E(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts));
    E(pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &ts));
    printf("\n");
    CHECK(pthread_mutex_unlock(&m));
    printf("timedlock free, bad nsec: %s\n", en(pthread_mutex_timedlock(&m, &bad)));
    CHECK(pthread_mutex_unlock(&m));
}

/* ---- contention: the others run while one waits ---------------------------- */

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static volatile long ticks;
static volatile int stop;

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop) {
        ticks++;
        sched_yield();
    }
    return NULL;
}

static long total;
static void *adder(void *arg)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&cm);
        long v = total;
        if (i % 100 == 0)
            sched_yield(); /* hold it across a switch */
        total = v + (long)(intptr_t)arg;
        pthread_mutex_unlock(&cm);
    }
    return NULL;
}

static void contention(void)
{
    pthread_t t[8], tk;
    stop = 0;
    CHECK(pthread_create(&tk, NULL, ticker, NULL));
    for (int i = 0; i < 8; i++)
        CHECK(pthread_create(&t[i], NULL, adder, (void *)(intptr_t)(i + 1)));
    for (int i = 0; i < 8; i++)
        CHECK(pthread_join(t[i], NULL));
    /* A held mutex: the ticker keeps running while main waits for it. */
    CHECK(pthread_mutex_lock(&cm));
    long before = ticks;
    struct timespec ts = in_ms(CLOCK_REALTIME, 30);
    int r = pthread_mutex_timedlock(&cm, &ts);
    printf("mutex sum %ld, relock by owner %s, ticker ran meanwhile %d\n", total, en(r),
           ticks > before);
    CHECK(pthread_mutex_unlock(&cm));
    stop = 1;
    CHECK(pthread_join(tk, NULL));
}

/* ---- condition variables ----------------------------------------------------- */

static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qc = PTHREAD_COND_INITIALIZER;
static int queue_len, produced, consumed_sum;

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&qm);
        while (queue_len == 0 && produced < 1000)
            pthread_cond_wait(&qc, &qm);
        if (queue_len == 0) {
            pthread_mutex_unlock(&qm);
            return NULL;
        }
        queue_len--;
        consumed_sum++;
        pthread_cond_broadcast(&qc);
        pthread_mutex_unlock(&qm);
    }
}

static void conds(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, consumer, NULL));
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&qm);
        while (queue_len >= 3)
            pthread_cond_wait(&qc, &qm);
        queue_len++;
        produced++;
        pthread_cond_signal(&qc);
        pthread_mutex_unlock(&qm);
    }
    pthread_mutex_lock(&qm);
    pthread_cond_broadcast(&qc);
    pthread_mutex_unlock(&qm);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL));
    printf("condition queue: consumed %d\n", consumed_sum);

    pthread_condattr_t a;
    pthread_cond_t c;
    clockid_t clk;
    CHECK(pthread_condattr_init(&a));
    CHECK(pthread_condattr_setclock(&a, CLOCK_MONOTONIC));
    CHECK(pthread_condattr_getclock(&a, &clk));
    CHECK(pthread_cond_init(&c, &a));
    pthread_mutex_lock(&qm);
    struct timespec ts = in_ms(CLOCK_MONOTONIC, 20), bad = {0, -1}, neg = {-5, 0};
    printf("monotonic cond (%d): timedwait, clockwait realtime, bad clock, bad nsec, negative:",
           clk == CLOCK_MONOTONIC);
    E(pthread_cond_timedwait(&c, &qm, &ts));
    ts = in_ms(CLOCK_REALTIME, 20);
    E(pthread_cond_clockwait(&c, &qm, CLOCK_REALTIME, &ts));
    E(pthread_cond_clockwait(&c, &qm, CLOCK_PROCESS_CPUTIME_ID, &ts));
    E(pthread_cond_timedwait(&c, &qm, &bad));
    E(pthread_cond_timedwait(&c, &qm, &neg));
    printf("\n");
    pthread_mutex_unlock(&qm);
    CHECK(pthread_cond_destroy(&c));
    CHECK(pthread_condattr_destroy(&a));
}

/* ---- semaphores ------------------------------------------------------------------ */

static sem_t sa, sb;
static void *sem_pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        sem_wait(&sa);
        sem_post(&sb);
    }
    return NULL;
}

static void sems(void)
{
    pthread_t t;
    int v;
    CHECK(sem_init(&sa, 0, 0));
    CHECK(sem_init(&sb, 0, 0));
    CHECK(pthread_create(&t, NULL, sem_pong, NULL));
    for (int i = 0; i < 1000; i++) {
        sem_post(&sa);
        sem_wait(&sb);
    }
    CHECK(pthread_join(t, NULL));
    sem_getvalue(&sa, &v);
    printf("sem ping-pong done, value %d\n", v);
    printf("trywait at 0, timedwait, bad nsec, negative, clockwait, bad clock:");
    EI(sem_trywait(&sa));
    struct timespec ts = in_ms(CLOCK_REALTIME, 20), bad = {0, 1000000000}, neg = {-1, 0};
    EI(sem_timedwait(&sa, &ts));
    EI(sem_timedwait(&sa, &bad));
    EI(sem_timedwait(&sa, &neg));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    EI(sem_clockwait(&sa, CLOCK_MONOTONIC, &ts));
    EI(sem_clockwait(&sa, CLOCK_THREAD_CPUTIME_ID, &ts));
    printf("\nvalue 1: bad nsec, negative:");
    sem_post(&sa);
    EI(sem_timedwait(&sa, &bad));
    EI(sem_timedwait(&sa, &neg));
    printf("\nsem_init above SEM_VALUE_MAX:");
    EI(sem_init(&sb, 0, (unsigned)SEM_VALUE_MAX + 1));
    CHECK(sem_init(&sb, 0, SEM_VALUE_MAX));
    printf("\npost at SEM_VALUE_MAX:");
    EI(sem_post(&sb));
    printf("\n");
    sem_destroy(&sa);
    sem_destroy(&sb);
}

/* ---- rwlocks, barriers, spin locks ------------------------------------------------ */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static int serial_count;
static pthread_spinlock_t spin;
static long spin_total;

static void *rw_reader(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)pthread_rwlock_tryrdlock(&rw);
}

static void *bar_worker(void *arg)
{
    (void)arg;
    for (int round = 0; round < 50; round++) {
        int r = pthread_barrier_wait(&bar);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_fetch_add(&serial_count, 1, __ATOMIC_RELAXED);
        else if (r != 0)
            return (void *)1;
    }
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pthread_spin_lock(&spin);
        long v = spin_total;
        if (i % 10 == 0)
            sched_yield();
        spin_total = v + 1;
        pthread_spin_unlock(&spin);
    }
    return NULL;
}

static void rwlocks(void)
{
    pthread_t t[4];
    void *v;
    printf("rwlock: rd, rd:");
    E(pthread_rwlock_rdlock(&rw));
    E(pthread_rwlock_rdlock(&rw));
    CHECK(pthread_create(&t[0], NULL, rw_reader, NULL));
    CHECK(pthread_join(t[0], &v));
    printf(", other tryrd %s; trywr, 3 unlocks, wr, rd by writer, wr again:", en((int)(intptr_t)v));
    E(pthread_rwlock_trywrlock(&rw));
    E(pthread_rwlock_unlock(&rw)); /* the other reader's */
    E(pthread_rwlock_unlock(&rw));
    E(pthread_rwlock_unlock(&rw));
    E(pthread_rwlock_wrlock(&rw));
    E(pthread_rwlock_rdlock(&rw));
    E(pthread_rwlock_wrlock(&rw));
    CHECK(pthread_create(&t[0], NULL, rw_reader, NULL));
    CHECK(pthread_join(t[0], &v));
    printf(", other tryrd %s\n", en((int)(intptr_t)v));
    struct timespec ts = in_ms(CLOCK_REALTIME, 20), bad = {0, 1000000000};
    printf("rwlock timed: bad nsec wr, rd; free wr; rd held; clockrd; bad clock; destroy:");
    E(pthread_rwlock_timedwrlock(&rw, &bad));
    E(pthread_rwlock_timedrdlock(&rw, &bad));
    CHECK(pthread_rwlock_unlock(&rw));
    E(pthread_rwlock_timedwrlock(&rw, &ts));
    E(pthread_rwlock_timedrdlock(&rw, &ts));
    CHECK(pthread_rwlock_unlock(&rw));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    E(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &ts));
    E(pthread_rwlock_clockwrlock(&rw, CLOCK_PROCESS_CPUTIME_ID, &ts));
    CHECK(pthread_rwlock_unlock(&rw));
    E(pthread_rwlock_destroy(&rw));
    printf("\n");

    CHECK(pthread_barrier_init(&bar, NULL, 4));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, bar_worker, NULL));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL));
    printf("barrier: serial threads %d of 50 rounds; destroy, init 0:", serial_count);
    E(pthread_barrier_destroy(&bar));
    E(pthread_barrier_init(&bar, NULL, 0));
    printf("\n");

    CHECK(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, spinner, NULL));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL));
    printf("spin: total %ld; trylock, again:", spin_total);
    E(pthread_spin_trylock(&spin));
    E(pthread_spin_trylock(&spin));
    printf("\n");
    pthread_spin_unlock(&spin);
    pthread_spin_destroy(&spin);
}

/* ---- keys, once, names, joins, cleanup -------------------------------------------- */

static pthread_key_t key, key2;
static int dtor_calls;
static void dtor(void *v)
{
    dtor_calls++;
    if ((intptr_t)v < 3) /* set again: destructors run in rounds */
        pthread_setspecific(key, (void *)((intptr_t)v + 1));
}

static void *key_user(void *arg)
{
    pthread_setspecific(key, (void *)1);
    pthread_setspecific(key2, arg);
    usleep(1000); /* let the others set theirs */
    return (void *)(intptr_t)(pthread_getspecific(key2) == arg &&
                              pthread_getspecific(key) == (void *)1);
}

static int once_runs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void once_fn(void)
{
    once_runs++;
    sched_yield(); /* others arrive while it runs */
}

static void *once_user(void *arg)
{
    (void)arg;
    pthread_once(&once, once_fn);
    return (void *)(intptr_t)once_runs;
}

static int cleanup_log[8], cleanups;
static void cleanup(void *arg)
{
    cleanup_log[cleanups++] = (int)(intptr_t)arg;
}

static void *with_cleanup(void *arg)
{
    pthread_cleanup_push(cleanup, (void *)1);
    pthread_cleanup_push(cleanup, (void *)2);
    pthread_cleanup_pop(0);
    pthread_cleanup_push(cleanup, (void *)3);
    if (arg)
        pthread_exit((void *)7);
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(1);
    return (void *)8;
}

static void *slow(void *arg)
{
    usleep(50000);
    return arg;
}

static void *named(void *arg)
{
    char name[16];
    pthread_setname_np(pthread_self(), arg);
    usleep(1000);
    pthread_getname_np(pthread_self(), name, sizeof name);
    return (void *)(intptr_t)(strcmp(name, arg) == 0);
}

static void misc(void)
{
    pthread_t t[4];
    void *v;
    int ok = 1;
    CHECK(pthread_key_create(&key, dtor));
    CHECK(pthread_key_create(&key2, NULL));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, key_user, (void *)(intptr_t)(i + 10)));
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], &v));
        ok &= v != NULL;
    }
    printf("keys per thread %d, destructor calls %d, main sees %p\n", ok, dtor_calls,
           pthread_getspecific(key));
    pthread_setspecific(key2, (void *)5);
    CHECK(pthread_key_delete(key2));
    printf("delete again, set deleted, bad key set:");
    E(pthread_key_delete(key2));
    E(pthread_setspecific(key2, (void *)1));
    E(pthread_setspecific(100000, NULL));
    printf("\n");
    CHECK(pthread_key_delete(key));

    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, once_user, NULL));
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], &v));
        ok &= (intptr_t)v == 1;
    }
    printf("once: runs %d, every caller saw it done %d\n", once_runs, ok);

    CHECK(pthread_create(&t[0], NULL, with_cleanup, NULL));
    CHECK(pthread_join(t[0], &v));
    CHECK(pthread_create(&t[0], NULL, with_cleanup, (void *)1));
    CHECK(pthread_join(t[0], &v));
    printf("cleanup: exit value %ld, handlers", (long)(intptr_t)v);
    for (int i = 0; i < cleanups; i++)
        printf(" %d", cleanup_log[i]);
    printf("\n");

    struct timespec ts = in_ms(CLOCK_REALTIME, 10), bad = {0, 1000000000};
    CHECK(pthread_create(&t[0], NULL, slow, (void *)9));
    printf("join: try, timed, bad clock, bad nsec (glibc waits it out), clockjoin:");
    E(pthread_tryjoin_np(t[0], &v));
    E(pthread_timedjoin_np(t[0], &v, &ts));
    ts = in_ms(CLOCK_MONOTONIC, 5000);
    E(pthread_clockjoin_np(t[0], &v, CLOCK_THREAD_CPUTIME_ID, &ts));
    E(pthread_timedjoin_np(t[0], &v, &bad));
    printf(" value %ld", (long)(intptr_t)v);
    CHECK(pthread_create(&t[0], NULL, slow, (void *)11));
    E(pthread_clockjoin_np(t[0], &v, CLOCK_MONOTONIC, &ts));
    printf(" value %ld\n", (long)(intptr_t)v);

    CHECK(pthread_create(&t[0], NULL, named, "worker-a"));
    CHECK(pthread_create(&t[1], NULL, named, "worker-b"));
    CHECK(pthread_join(t[0], &v));
    ok = (intptr_t)v;
    CHECK(pthread_join(t[1], &v));
    char buf[16];
    printf("names kept per thread %d; setname too long, getname short buffer:", ok && (intptr_t)v);
    E(pthread_setname_np(pthread_self(), "a-name-of-twenty-chars"));
    E(pthread_getname_np(pthread_self(), buf, 4));
    printf("\n");

    pthread_attr_t a;
    size_t size;
    void *addr;
    CHECK(pthread_getattr_np(pthread_self(), &a));
    CHECK(pthread_attr_getstack(&a, &addr, &size));
    printf("getattr of main: stack found %d\n", size > 0 && addr != NULL);
    CHECK(pthread_attr_destroy(&a));
    printf("sched_yield %d\n", sched_yield());
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    mutex_kinds();
    contention();
    conds();
    sems();
    rwlocks();
    misc();
    return 0;
}
