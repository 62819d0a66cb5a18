/* bench_switch: the cost of a green switch next to the raw context switch
 * it is built on.
 *
 * Both sides time a round trip between two contexts. Green: the main green
 * thread and a partner yield to each other through the scheduler, so one
 * green_yield of main is one round trip (main -> partner -> main).
 * Reference: two bare fcontexts on mmap'd stacks jump to each other, two
 * jump_fcontext calls per round trip and nothing else. The ratio is the
 * price of the scheduler, the errno save and the run queue on top.
 *
 * The two sides alternate within each repetition, so both meet the same
 * noise; on a shared machine noise only adds time, so the best of the
 * repetitions is the figure, and the median is printed beside it. The
 * runs are short (well under a millisecond), so that many of them fall
 * between two preemptions of the process by the other loads: a long run
 * rarely escapes them, and the longer side (green) would suffer more.
 *
 * Usage: bench_switch [ROUND_TRIPS=20000] [REPS=301] */
#include "fcontext.h"
#include "green.h"

/* After green.h: bench_green_init is defined only then. */
#include "bench.h"

/* ---- green side ------------------------------------------------------ */

/* Volatile: nothing in this file's view of green_yield can change the
 * flag, so the compiler could otherwise hoist the load out of the loop. */
static volatile int partner_stop;

static void *partner(void *arg)
{
    (void)arg;
    while (!partner_stop)
        green_yield();
    return NULL;
}

static double green_round_trip_ns(long n)
{
    green_thread *t;
    int r;

    partner_stop = 0;
    if ((r = green_spawn(&t, partner, NULL, NULL)) < 0)
        bench_die("green_spawn", r);
    /* Warm up: the partner's first run touches a fresh stack. */
    for (long i = 0; i < n / 16 + 1; i++)
        green_yield();
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++)
        green_yield();
    int64_t t1 = bench_now();
    partner_stop = 1;
    if ((r = green_join(t, NULL, GREEN_NEVER)) < 0)
        bench_die("green_join", r);
    return (double)(t1 - t0) / (double)n;
}

/* ---- main ------------------------------------------------------------ */

#define MAX_REPS 1001

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 20000);
    int reps = (int)bench_arg(argc, argv, 2, 301);
    double green[MAX_REPS], raw[MAX_REPS];

    if (reps > MAX_REPS)
        reps = MAX_REPS;
    bench_green_init();
    struct bench_raw rawrun;
    bench_raw_init(&rawrun);
    bench_raw_round_trip_ns(&rawrun, n / 16 + 1); /* warm up */
    for (int i = 0; i < reps; i++) {
        green[i] = green_round_trip_ns(n);
        raw[i] = bench_raw_round_trip_ns(&rawrun, n);
    }
    double gbest = bench_min(green, reps), rbest = bench_min(raw, reps);
    double gmed = bench_median(green, reps), rmed = bench_median(raw, reps);

    bench_emit("switch_green_ns", gbest, "ns");
    bench_emit("switch_raw_ns", rbest, "ns");
    bench_emit("switch_ratio", gbest / rbest, "x");
    bench_emit("switch_green_median_ns", gmed, "ns");
    bench_emit("switch_raw_median_ns", rmed, "ns");
    printf("# round trip (2 switches), %ld per run, best/median of %d runs\n", n, reps);
    printf("# %-22s %10s %10s\n", "", "best ns", "median ns");
    printf("# %-22s %10.2f %10.2f\n", "green_yield pair", gbest, gmed);
    printf("# %-22s %10.2f %10.2f\n", "raw jump_fcontext pair", rbest, rmed);
    printf("# %-22s %10.2f %10.2f   (goal <= 2x)\n", "ratio green/raw", gbest / rbest, gmed / rmed);
    bench_raw_free(&rawrun);
    return 0;
}
