/* yield_pair: a green switch through the public path, next to a raw
 * fcontext switch measured in the same process.
 *
 * Public path: two plain pthreads (main and one other, each in its own
 * loop, as a program would have them) call sched_yield() in turn. Under
 * libgreen each call is one switch to the other green thread: the
 * interposer, the scheduler, the jump. Reference: boost's jump_fcontext
 * between two bare contexts (linked into this program), half a round
 * trip per switch. The two alternate within each repetition, in short
 * runs; the best of each is the figure (noise only adds time), the
 * median is printed beside it.
 *
 * Main checks after each of its yields that the other thread took one
 * turn: a run where nine in ten did not (natively, where the threads run
 * side by side on two cores) is reported and the program fails, since
 * its figure would not be a switch. A few may not: the slice timer can
 * preempt the other thread between its count and its yield.
 *
 *   greenrun yield_pair [SWITCHES=40000] [REPS=101]
 *
 * Prints "yield_switch_ns", "yield_raw_switch_ns" and "yield_ratio". */
#include <pthread.h>
#include <sched.h>

#include "bench.h"

static int stop;
static long ran; /* the other thread's turns */

static void *other(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        __atomic_store_n(&ran, ran + 1, __ATOMIC_RELAXED);
        sched_yield();
    }
    return NULL;
}

/* ns per switch over n round trips of main with the other thread; -1
 * when they did not take turns. */
static double yield_switch_ns(long n)
{
    pthread_t t;
    stop = 0;
    if (pthread_create(&t, NULL, other, NULL) != 0)
        bench_die("pthread_create", -EAGAIN);
    for (long i = 0; i < n / 16 + 1; i++) /* warm up: its fresh stack */
        sched_yield();
    long turns = 0;
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++) {
        long before = __atomic_load_n(&ran, __ATOMIC_RELAXED);
        sched_yield();
        turns += __atomic_load_n(&ran, __ATOMIC_RELAXED) == before + 1;
    }
    int64_t t1 = bench_now();
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    return turns >= n - n / 10 ? (double)(t1 - t0) / (double)(2 * n) : -1;
}

#define MAX_REPS 1001

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 40000) / 2;
    int reps = (int)bench_arg(argc, argv, 2, 101);
    double green[MAX_REPS], raw[MAX_REPS];
    struct bench_raw r;

    if (reps > MAX_REPS)
        reps = MAX_REPS;
    bench_raw_init(&r);
    bench_raw_round_trip_ns(&r, n / 16 + 1); /* warm up */
    for (int i = 0; i < reps; i++) {
        if ((green[i] = yield_switch_ns(n)) < 0) {
            fprintf(stderr, "yield_pair: the threads did not take turns (not under libgreen?)\n");
            return 1;
        }
        raw[i] = bench_raw_round_trip_ns(&r, n) / 2;
    }
    bench_raw_free(&r);
    double gbest = bench_min(green, reps), rbest = bench_min(raw, reps);
    double gmed = bench_median(green, reps), rmed = bench_median(raw, reps);
    bench_emit("yield_switch_ns", gbest, "ns");
    bench_emit("yield_raw_switch_ns", rbest, "ns");
    bench_emit("yield_ratio", gbest / rbest, "x");
    printf("# one switch, %ld per run, best/median of %d runs\n", 2 * n, reps);
    printf("# %-26s %10s %10s\n", "", "best ns", "median ns");
    printf("# %-26s %10.2f %10.2f\n", "sched_yield, two pthreads", gbest, gmed);
    printf("# %-26s %10.2f %10.2f\n", "raw jump_fcontext", rbest, rmed);
    printf("# %-26s %10.2f %10.2f   (goal <= 3x)\n", "ratio", gbest / rbest, gmed / rmed);
    return 0;
}
