/* bench_rss: what a parked green thread costs in memory.
 *
 * Spawns N green threads (default 100,000) with the default stack size,
 * lets each run until it parks on one green semaphore, and reads from
 * /proc/self: VmRSS (resident pages: stacks touched, thread records),
 * VmPTE (page tables, which RSS does not count and which sparse stacks
 * can make large) and the number of mappings (VMAs; vm.max_map_count
 * caps them, 65,530 by default). Then posts the semaphore N times, joins
 * every thread and reads RSS again, so the run ends cleanly and shows
 * what the stack pool keeps.
 *
 * Memory figures are not noisy the way timings are, so one round is made.
 *
 * Usage: bench_rss [THREADS=100000] */
#include "bench.h"
#include "green.h"

struct mem {
    long rss_kib, pte_kib, vmas;
};

static struct mem mem_now(void)
{
    struct mem m = {bench_status_kib("VmRSS"), bench_status_kib("VmPTE"), bench_count_maps()};
    return m;
}

static green_sem park;
/* Written by the parkers, read by main across green_yield: volatile, or
 * the compiler may keep main's copy in a register. */
static volatile long parked;

static void *parker(void *arg)
{
    int r;
    parked++;
    if ((r = green_sem_wait(&park, GREEN_NEVER)) < 0)
        bench_die("green_sem_wait", r);
    return arg;
}

/* Spawn up to n parkers; returns how many were spawned. A failure is
 * reported, not fatal: the ones spawned are still released and joined. */
static long spawn_parkers(green_thread **t, long n)
{
    for (long i = 0; i < n; i++) {
        int r = green_spawn(&t[i], parker, NULL, NULL);
        if (r < 0) {
            fprintf(stderr, "bench_rss: green_spawn failed after %ld threads: %s\n", i,
                    strerror(-r));
            return i;
        }
    }
    return n;
}

/* Yield until all spawned threads sit on the semaphore. A yield runs the
 * whole run queue once, so one or two rounds suffice; the bound only
 * guards against a scheduler that never runs them. */
static int wait_parked(long n)
{
    for (int round = 0; parked < n && round < 1000; round++)
        green_yield();
    return parked == n ? 0 : -1;
}

static void release_and_join(green_thread **t, long n)
{
    int r;
    for (long i = 0; i < n; i++)
        if ((r = green_sem_post(&park)) < 0)
            bench_die("green_sem_post", r);
    for (long i = 0; i < n; i++)
        if ((r = green_join(t[i], NULL, GREEN_NEVER)) < 0)
            bench_die("green_join", r);
}

static void report(long n, struct mem before, struct mem held, struct mem after, double spawn_ns)
{
    double rss = (double)(held.rss_kib - before.rss_kib) / (double)n;
    double pte = (double)(held.pte_kib - before.pte_kib) / (double)n;

    bench_emit_count("rss_threads", n, "threads");
    bench_emit("rss_per_thread_kib", rss, "KiB");
    bench_emit("pte_per_thread_kib", pte, "KiB");
    bench_emit_count("vmas_before", before.vmas, "vmas");
    bench_emit_count("vmas_parked", held.vmas, "vmas");
    bench_emit_count("rss_before_kib", before.rss_kib, "KiB");
    bench_emit_count("rss_parked_kib", held.rss_kib, "KiB");
    bench_emit_count("rss_joined_kib", after.rss_kib, "KiB");
    bench_emit_count("pte_parked_kib", held.pte_kib, "KiB");
    bench_emit_count("pte_joined_kib", after.pte_kib, "KiB");
    bench_emit("spawn_park_ns", spawn_ns, "ns");
    printf("# %ld green threads parked on a green_sem, default stack size\n", n);
    printf("# %-14s %12s %12s %8s\n", "", "VmRSS KiB", "VmPTE KiB", "VMAs");
    printf("# %-14s %12ld %12ld %8ld\n", "before", before.rss_kib, before.pte_kib, before.vmas);
    printf("# %-14s %12ld %12ld %8ld\n", "all parked", held.rss_kib, held.pte_kib, held.vmas);
    printf("# %-14s %12ld %12ld %8ld\n", "all joined", after.rss_kib, after.pte_kib, after.vmas);
    printf("# per thread: RSS %.2f KiB (goal <= 8), page tables %.2f KiB, "
           "spawn+park %.0f ns\n",
           rss, pte, spawn_ns);
}

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 100000);

    bench_green_init();
    green_sem_init(&park, 0);
    /* Touch the handle array now, so that it counts before, not per thread. */
    green_thread **t = malloc((size_t)n * sizeof *t);
    if (!t)
        bench_die("malloc", -ENOMEM);
    memset(t, 0, (size_t)n * sizeof *t);

    struct mem before = mem_now();
    int64_t t0 = bench_now();
    long spawned = spawn_parkers(t, n);
    int stuck = wait_parked(spawned);
    double spawn_ns = (double)(bench_now() - t0) / (double)(spawned ? spawned : 1);
    struct mem held = mem_now();
    if (stuck)
        fprintf(stderr, "bench_rss: only %ld of %ld threads parked\n", parked, spawned);
    release_and_join(t, spawned);
    struct mem after = mem_now();

    if (spawned > 0)
        report(spawned, before, held, after, spawn_ns);
    free(t);
    return spawned == n && !stuck ? 0 : 1;
}
