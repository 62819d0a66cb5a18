/* bench_spawn: create, run and join a thread with a trivial body, as a
 * green thread and as a native pthread, in the same run.
 *
 * The benchmark links the core statically and is not preloaded, so
 * pthread_create here is glibc's: the reference is what a native thread
 * costs (clone, stack from glibc's cache, futex join). Both sides use
 * default attributes, so default-size stacks. The sides alternate in each
 * repetition; the best repetition is the figure, the median is printed
 * beside it.
 *
 * Usage: bench_spawn [GREEN_N=100000] [NATIVE_N=5000] [REPS=5] */
#include "bench.h"
#include "green.h"

#include <pthread.h>

static void *body(void *arg)
{
    return arg;
}

/* The body returns its argument: checking it proves the thread ran. */
static void check_ret(void *got, void *want, const char *side)
{
    if (got != want) {
        fprintf(stderr, "bench_spawn: %s thread returned %p, not %p\n", side, got, want);
        exit(1);
    }
}

static double green_spawn_join_ns(long n)
{
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++) {
        green_thread *t;
        void *ret;
        int r;
        if ((r = green_spawn(&t, body, (void *)(i + 1), NULL)) < 0)
            bench_die("green_spawn", r);
        if ((r = green_join(t, &ret, GREEN_NEVER)) < 0)
            bench_die("green_join", r);
        check_ret(ret, (void *)(i + 1), "green");
    }
    return (double)(bench_now() - t0) / (double)n;
}

static double native_spawn_join_ns(long n)
{
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *ret;
        int r;
        if ((r = pthread_create(&t, NULL, body, (void *)(i + 1))) != 0)
            bench_die("pthread_create", -r);
        if ((r = pthread_join(t, &ret)) != 0)
            bench_die("pthread_join", -r);
        check_ret(ret, (void *)(i + 1), "native");
    }
    return (double)(bench_now() - t0) / (double)n;
}

#define MAX_REPS 101

int main(int argc, char **argv)
{
    long gn = bench_arg(argc, argv, 1, 100000);
    long nn = bench_arg(argc, argv, 2, 5000);
    int reps = (int)bench_arg(argc, argv, 3, 5);
    double green[MAX_REPS], native[MAX_REPS];

    if (reps > MAX_REPS)
        reps = MAX_REPS;
    bench_green_init();
    /* Warm up both: the green stack pool and glibc's stack cache. */
    green_spawn_join_ns(gn / 16 + 1);
    native_spawn_join_ns(nn / 16 + 1);
    for (int i = 0; i < reps; i++) {
        green[i] = green_spawn_join_ns(gn);
        native[i] = native_spawn_join_ns(nn);
    }
    double gbest = bench_min(green, reps), nbest = bench_min(native, reps);
    double gmed = bench_median(green, reps), nmed = bench_median(native, reps);

    bench_emit("spawn_green_ns", gbest, "ns");
    bench_emit("spawn_native_ns", nbest, "ns");
    bench_emit("spawn_speedup", nbest / gbest, "x");
    bench_emit("spawn_green_median_ns", gmed, "ns");
    bench_emit("spawn_native_median_ns", nmed, "ns");
    printf("# spawn + run + join, trivial body: %ld green, %ld native per run, "
           "best/median of %d runs\n",
           gn, nn, reps);
    printf("# %-24s %10s %10s\n", "", "best ns", "median ns");
    printf("# %-24s %10.1f %10.1f\n", "green_spawn+green_join", gbest, gmed);
    printf("# %-24s %10.1f %10.1f\n", "pthread_create+join", nbest, nmed);
    printf("# %-24s %10.1f %10.1f   (goal >= 50x)\n", "speedup native/green", nbest / gbest,
           nmed / gmed);
    return 0;
}
