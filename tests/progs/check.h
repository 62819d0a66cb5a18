/* check.h: for the plain test programs (no libgreen header). */
#ifndef GREEN_TEST_CHECK_H
#define GREEN_TEST_CHECK_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A pthread call that must return 0: else say which and exit 1. */
#define CHECK(call)                                           \
    do {                                                      \
        int r_ = (call);                                      \
        if (r_) {                                             \
            fprintf(stderr, "%s: %s\n", #call, strerror(r_)); \
            exit(1);                                          \
        }                                                     \
    } while (0)

/* Print the process's "Threads:" line of /proc/self/status (how many OS
 * threads it has: 1 under libgreen). */
static inline void print_os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            fputs(line, stdout);
    if (f)
        fclose(f);
}

/* CLOCK_MONOTONIC in nanoseconds, milliseconds and seconds. */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

static inline double now_s(void)
{
    return now_ns() / 1e9;
}

/* A thread that sleeps period_ms and counts, until stopped: whether it
 * kept ticking shows whether other threads ran while one waited. */
struct ticker {
    pthread_t thread;
    long period_ms;
    volatile int ticks, stop;
};

static inline void *ticker_run(void *arg)
{
    struct ticker *t = (struct ticker *)arg;
    struct timespec ts = {t->period_ms / 1000, t->period_ms % 1000 * 1000000};
    while (!t->stop) {
        nanosleep(&ts, NULL);
        t->ticks = t->ticks + 1; /* not ++: C++20 deprecates it on volatile */
    }
    return NULL;
}

static inline void ticker_start(struct ticker *t, long period_ms)
{
    t->period_ms = period_ms;
    t->ticks = 0;
    t->stop = 0;
    CHECK(pthread_create(&t->thread, NULL, ticker_run, t));
}

/* Stop the ticker and join it; returns its ticks. */
static inline int ticker_stop(struct ticker *t)
{
    t->stop = 1;
    CHECK(pthread_join(t->thread, NULL));
    return t->ticks;
}

#endif
