/* cond_pingpong: two threads hand a turn back and forth through one
 * mutex and a condition variable each; ns per round trip (two hand-offs:
 * each one wakes the other thread and waits).
 *
 *   cond_pingpong [ROUNDS=100000]
 *
 * A plain pthread program (no libgreen header): scripts/bench-threads
 * runs it natively (unpinned, and pinned to one core) and under
 * LD_PRELOAD=libgreen.so. Best of 3 runs; checks the final count.
 * Prints "pingpong_ns X ns". */
#include <pthread.h>

#include "bench.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static long turns; /* even: thread 0 plays, odd: thread 1 */
static long rounds;

static void play(int me)
{
    pthread_mutex_lock(&m);
    for (long i = 0; i < rounds; i++) {
        while ((turns & 1) != me)
            pthread_cond_wait(&wake[me], &m);
        turns++;
        pthread_cond_signal(&wake[!me]);
    }
    pthread_mutex_unlock(&m);
}

static void *other(void *arg)
{
    (void)arg;
    play(1);
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = bench_arg(argc, argv, 1, 100000);
    double best[3];
    for (int run = 0; run < 3; run++) {
        pthread_t t;
        turns = 0;
        int64_t t0 = bench_now();
        if (pthread_create(&t, NULL, other, NULL) != 0)
            return 1;
        play(0);
        pthread_join(t, NULL);
        best[run] = (double)(bench_now() - t0) / (double)rounds;
        if (turns != 2 * rounds) {
            fprintf(stderr, "cond_pingpong: %ld turns, expected %ld\n", turns, 2 * rounds);
            return 1;
        }
    }
    printf("pingpong_ns %.1f ns\n", bench_min(best, 3));
    return 0;
}
