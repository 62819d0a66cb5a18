/* raw_calls: blocking system calls made through syscall(2), as Rust's
 * std, libstdc++ and hand-rolled locks make them.
 *
 * A futex ping-pong between two threads, FUTEX_WAIT timeouts (relative,
 * absolute on both clocks), EAGAIN on a changed word, bitsets, a
 * requeue, bad input, a process-shared futex woken by a child process,
 * syscall(SYS_read) on an empty pipe that another thread fills a second
 * later, and 100 threads in syscall(SYS_nanosleep) at once. A ticker
 * thread runs throughout: a wait that blocked the whole process would
 * stop it. Every line is the same natively and under libgreen; -t also
 * prints the "Threads:" line of /proc/self/status. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 1000
#define SLEEPERS 100

static long futex(uint32_t *w, int op, uint32_t val, const struct timespec *ts, uint32_t *w2,
                  uint32_t val3)
{
    return syscall(SYS_futex, w, op, val, ts, w2, val3);
}

static const char *err(long r)
{
    return r < 0 ? strerrorname_np(errno) : "ok";
}

/* ---- the ticker ---------------------------------------------------------- */

static struct ticker tick;

/* Whether the ticker ticked while f ran (a wait of at least 200 ms). */
static void ticked_during(const char *what, void (*f)(void))
{
    int before = tick.ticks;
    f();
    printf("%s: ticker %s\n", what, tick.ticks - before >= 5 ? "kept ticking" : "stopped");
}

/* ---- ping-pong ----------------------------------------------------------- */

static uint32_t turn;

static void *pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 1)
            futex(&turn, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        __atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
        futex(&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static void ping_pong(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, pong, NULL));
    for (int i = 0; i < ROUNDS; i++) {
        __atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
        futex(&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 0)
            futex(&turn, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
    }
    CHECK(pthread_join(t, NULL));
    printf("ping-pong: %d rounds\n", ROUNDS);
}

/* ---- timeouts, EAGAIN, bad input ------------------------------------------ */

static uint32_t word = 7;

static void timeouts(void)
{
    struct timespec rel = {0, 300 * 1000 * 1000}, abs;
    double t0 = now_s();
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 7, &rel, NULL, 0);
    printf("relative timeout: %ld %s, waited %s\n", r, err(r),
           now_s() - t0 >= 0.29 ? "enough" : "too little");
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 200 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    t0 = now_s();
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("absolute monotonic timeout: %ld %s, waited %s\n", r, err(r),
           now_s() - t0 >= 0.19 ? "enough" : "too little");
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += 1;
    t0 = now_s();
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 7, &abs, NULL, ~0u);
    printf("absolute realtime timeout: %ld %s, waited %s\n", r, err(r),
           now_s() - t0 >= 0.5 ? "enough" : "too little");
}

static void bad_input(void)
{
    struct timespec bad = {0, 2000000000};
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 8, NULL, NULL, 0);
    printf("changed word: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAIT_PRIVATE, 7, &bad, NULL, 0);
    printf("bad timeout: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, NULL, NULL, 0);
    printf("bitset 0: %ld %s\n", r, err(r));
    r = futex((uint32_t *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 7, NULL, NULL, 0);
    printf("misaligned: %ld %s\n", r, err(r));
    r = futex(NULL, FUTEX_WAIT_PRIVATE, 7, NULL, NULL, 0);
    printf("null word: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0);
    printf("wake bitset 0: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    printf("wake nobody: %ld %s\n", r, err(r));
    r = futex(&word, 99, 0, NULL, NULL, 0);
    printf("unknown op: %ld %s\n", r, err(r));
}

/* ---- bitsets and requeue ----------------------------------------------------- */

static uint32_t a_word, b_word;
static int woke[3];

static void *bit_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    long r = futex(&a_word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 1u << i);
    woke[i] = r == 0;
    return NULL;
}

/* Wake until the wanted number of waiters is reached (natively they may
 * not be waiting yet). */
static long wake_until(int op, uint32_t *w, int n, uint32_t *w2, int nmove, uint32_t val3,
                       long want)
{
    long got = 0;
    for (int tries = 0; tries < 100000 && got < want; tries++) {
        long r = futex(w, op, n, (const struct timespec *)(intptr_t)nmove, w2, val3);
        if (r < 0)
            return r;
        got += r;
        if (got < want)
            sched_yield();
    }
    return got;
}

static void bitsets(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, bit_waiter, (void *)(intptr_t)i));
    long r = wake_until(FUTEX_WAKE_BITSET_PRIVATE, &a_word, 5, NULL, 0, 2u, 1);
    CHECK(pthread_join(t[1], NULL));
    printf("wake bit 1: %ld, waiter 0 %s, waiter 1 %s\n", r, woke[0] ? "woken" : "waits",
           woke[1] ? "woken" : "waits");
    r = wake_until(FUTEX_WAKE_BITSET_PRIVATE, &a_word, 5, NULL, 0, 1u, 1);
    CHECK(pthread_join(t[0], NULL));
    printf("wake bit 0: %ld, waiter 0 %s\n", r, woke[0] ? "woken" : "waits");
}

static void *req_waiter(void *arg)
{
    (void)arg;
    futex(&a_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void requeue(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, req_waiter, NULL));
    long r = futex(&a_word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec *)1, &b_word, 5);
    printf("cmp_requeue with a changed word: %ld %s\n", r, err(r));
    r = wake_until(FUTEX_CMP_REQUEUE_PRIVATE, &a_word, 0, &b_word, INT_MAX, 0, 2);
    printf("cmp_requeue moved %ld\n", r);
    r = futex(&a_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    printf("wake on the first word: %ld\n", r);
    r = wake_until(FUTEX_WAKE_PRIVATE, &b_word, INT_MAX, NULL, 0, 0, 2);
    printf("wake on the second word: %ld\n", r);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL));
}

/* ---- a futex shared with a child process -------------------------------------- */

static void shared(void)
{
    uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 300 * 1000 * 1000};
        syscall(SYS_nanosleep, &ts, NULL);
        __atomic_store_n(w, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
        _exit(0);
    }
    long r;
    while ((r = futex(w, FUTEX_WAIT, 0, NULL, NULL, 0)) == 0 &&
           !__atomic_load_n(w, __ATOMIC_SEQ_CST))
        ;
    int st;
    waitpid(pid, &st, 0);
    printf("shared futex woken by a child: %s, word %u\n",
           r == 0 || errno == EAGAIN ? "ok" : err(r), *w);
    munmap(w, 4096);
}

/* ---- read and nanosleep through syscall(2) -------------------------------------- */

static int pfd[2];

static void *late_writer(void *arg)
{
    (void)arg;
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    if (write(pfd[1], "late", 4) != 4)
        exit(1);
    return NULL;
}

static void raw_read(void)
{
    pthread_t t;
    if (pipe(pfd) < 0)
        exit(1);
    CHECK(pthread_create(&t, NULL, late_writer, NULL));
    char buf[16];
    long n = syscall(SYS_read, pfd[0], buf, sizeof buf);
    printf("syscall(SYS_read): %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
    CHECK(pthread_join(t, NULL));
    n = syscall(SYS_read, -1, buf, sizeof buf);
    printf("syscall(SYS_read) on fd -1: %ld %s\n", n, err(n));
    close(pfd[0]);
    close(pfd[1]);
}

static void *sleeper(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 500 * 1000 * 1000};
    long r = syscall(SYS_nanosleep, &ts, NULL);
    return (void *)(intptr_t)r;
}

static void raw_sleeps(void)
{
    pthread_t t[SLEEPERS];
    double t0 = now_s();
    for (int i = 0; i < SLEEPERS; i++)
        CHECK(pthread_create(&t[i], NULL, sleeper, NULL));
    int failed = 0;
    for (int i = 0; i < SLEEPERS; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r));
        failed += r != NULL;
    }
    double took = now_s() - t0;
    printf("%d syscall(SYS_nanosleep) of 0.5 s: %d failed, %s\n", SLEEPERS, failed,
           took < 5 ? "overlapping" : "serialised");
    struct timespec ts = {0, 1000};
    long r = syscall(SYS_clock_nanosleep, 12345, 0, &ts, NULL);
    printf("syscall(SYS_clock_nanosleep) on a bad clock: %ld %s\n", r, err(r));
    struct timeval tv = {0, 200 * 1000};
    fd_set rs;
    FD_ZERO(&rs);
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    FD_SET(p[0], &rs);
    r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
    printf("syscall(SYS_select) timeout: %ld, %ld.%06ld left\n", r, (long)tv.tv_sec,
           (long)tv.tv_usec);
    close(p[0]);
    close(p[1]);
    printf("syscall(SYS_gettid) is gettid(): %s\n", syscall(SYS_gettid) == gettid() ? "yes" : "no");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    ticker_start(&tick, 10);
    ping_pong();
    ticked_during("futex timeouts", timeouts);
    bad_input();
    bitsets();
    requeue();
    ticked_during("shared futex", shared);
    ticked_during("raw read", raw_read);
    ticked_during("raw sleeps", raw_sleeps);
    ticker_stop(&tick);
    if (argc > 1 && !strcmp(argv[1], "-t"))
        print_os_threads();
    return 0;
}
