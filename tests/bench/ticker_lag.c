/* ticker_lag: a plain program (no libgreen header): a thread sleeps
 * 10 ms in a loop while another computes without any library call; how
 * late each tick wakes is the latency a computing thread costs the
 * others. Run natively and under LD_PRELOAD=libgreen.so (scripts/bench-fair).
 *
 * Usage: ticker_lag [TICKS]   (default 200)
 * Prints "tick_p50_us V us", "tick_p99_us V us" and "ticks N". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile int stop;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *compute(void *arg)
{
    volatile uint64_t x = 1;
    while (!stop)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return arg;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 10)
        return 2;
    int64_t *lag = calloc((size_t)n, sizeof *lag);
    pthread_t c;
    if (!lag || pthread_create(&c, NULL, compute, NULL))
        return 1;
    struct timespec ten = {0, 10000000};
    for (int i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        nanosleep(&ten, NULL);
        lag[i] = now_ns() - t0 - 10000000;
    }
    stop = 1;
    pthread_join(c, NULL);
    qsort(lag, (size_t)n, sizeof *lag, cmp);
    printf("tick_p50_us %.0f us\n", lag[n / 2] / 1e3);
    printf("tick_p99_us %.0f us\n", lag[n * 99 / 100] / 1e3);
    printf("ticks %d\n", n);
    return 0;
}
