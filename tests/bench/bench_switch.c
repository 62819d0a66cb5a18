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
 * repetitions is the figure, and the median is printed beside it.
 *
 * Usage: bench_switch [ROUND_TRIPS=1000000] [REPS=7] */
#include "fcontext.h"
#include "green.h"
#include "bench.h"

#include <sys/mman.h>

#define RAW_STACK_SIZE ((size_t)64 * 1024)

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

/* ---- raw fcontext side ----------------------------------------------- */

struct raw_run {
    fcontext_t pong; /* the partner context */
    long n;          /* round trips to make */
};

/* The partner: jump back to whoever jumped here, forever. It is abandoned,
 * never returned from (an fcontext function must not return). */
static void raw_pong(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

/* The pinger: n round trips with the partner, then back to main for good. */
static void raw_ping(transfer_t t)
{
    fcontext_t caller = t.fctx;
    struct raw_run *run = t.data;
    fcontext_t pong = run->pong;

    for (long i = 0; i < run->n; i++)
        pong = jump_fcontext(pong, NULL).fctx;
    jump_fcontext(caller, NULL);
    abort(); /* never resumed */
}

static void *raw_stack(void)
{
    void *p = mmap(NULL, RAW_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        bench_die("mmap", -errno);
    return p;
}

/* Fresh contexts each time on the same stacks: the old ones are dead. */
static double raw_round_trip_ns(char *ping_stack, char *pong_stack, long n)
{
    struct raw_run run;
    fcontext_t ping;

    ping = make_fcontext(ping_stack + RAW_STACK_SIZE, RAW_STACK_SIZE, raw_ping);
    run.pong = make_fcontext(pong_stack + RAW_STACK_SIZE, RAW_STACK_SIZE, raw_pong);
    run.n = n;
    /* Timed from main: the two extra jumps in and out are noise at n. */
    int64_t t0 = bench_now();
    jump_fcontext(ping, &run);
    int64_t t1 = bench_now();
    return (double)(t1 - t0) / (double)n;
}

/* ---- main ------------------------------------------------------------ */

#define MAX_REPS 101

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 1000000);
    int reps = (int)bench_arg(argc, argv, 2, 7);
    double green[MAX_REPS], raw[MAX_REPS];

    if (reps > MAX_REPS)
        reps = MAX_REPS;
    bench_green_init();
    char *ping_stack = raw_stack(), *pong_stack = raw_stack();

    raw_round_trip_ns(ping_stack, pong_stack, n / 16 + 1); /* warm up */
    for (int i = 0; i < reps; i++) {
        green[i] = green_round_trip_ns(n);
        raw[i] = raw_round_trip_ns(ping_stack, pong_stack, n);
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
    printf("# %-22s %10.2f %10.2f   (goal <= 2x)\n", "ratio green/raw", gbest / rbest,
           gmed / rmed);
    munmap(ping_stack, RAW_STACK_SIZE);
    munmap(pong_stack, RAW_STACK_SIZE);
    return 0;
}
