/* mutex_pair: ns per uncontended pthread_mutex_lock + unlock pair.
 *
 *   mutex_pair [PAIRS=20000000]
 *
 * A plain pthread program (no libgreen header): scripts/bench-threads
 * runs it natively and under LD_PRELOAD=libgreen.so. One helper thread
 * is parked on a condition variable meanwhile, so under the shim the
 * lock is taken while another green thread exists (the general case,
 * not the single-thread pass-through). Best of 5 runs.
 * Prints "mutex_pair_ns X ns". */
#include <pthread.h>

#include "bench.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t park_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_c = PTHREAD_COND_INITIALIZER;
static int done;

static void *parked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&park_m);
    while (!done)
        pthread_cond_wait(&park_c, &park_m);
    pthread_mutex_unlock(&park_m);
    return NULL;
}

int main(int argc, char **argv)
{
    long pairs = bench_arg(argc, argv, 1, 20000000);
    static volatile long counter;
    pthread_t t;
    if (pthread_create(&t, NULL, parked, NULL) != 0)
        return 1;
    double best[5];
    for (int run = 0; run < 5; run++) {
        int64_t t0 = bench_now();
        for (long i = 0; i < pairs; i++) {
            pthread_mutex_lock(&m);
            counter++;
            pthread_mutex_unlock(&m);
        }
        best[run] = (double)(bench_now() - t0) / (double)pairs;
    }
    pthread_mutex_lock(&park_m);
    done = 1;
    pthread_cond_signal(&park_c);
    pthread_mutex_unlock(&park_m);
    pthread_join(t, NULL);
    printf("mutex_pair_ns %.2f ns\n", bench_min(best, 5));
    return counter == 5 * pairs ? 0 : 1;
}
