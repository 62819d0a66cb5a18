/* park_million: N plain pthreads parked on one condition variable.
 *
 *   park_million [THREADS=1000000]
 *
 * A plain pthread program (no libgreen header): scripts/bench-million
 * runs it natively (where pthread_create fails with EAGAIN near
 * kernel.pid_max; the threads made until then are measured) and under
 * LD_PRELOAD=libgreen.so. Default thread attributes, as a program that
 * never thinks about stacks has them.
 *
 * Each thread counts itself under the mutex and waits on the condition
 * variable until main broadcasts. Prints, as "name value unit" lines:
 * the threads made, the time from the first pthread_create until every
 * thread is parked, the memory per parked thread (VmRSS and VmPTE from
 * /proc/self/status, above what the process had before the first
 * thread), the process's mappings (vm.max_map_count caps them), and the
 * memory per thread still held once every thread is joined. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER, all_cv = PTHREAD_COND_INITIALIZER;
static long parked, want = -1;
static int go;

static void *parker(void *arg)
{
    pthread_mutex_lock(&mu);
    if (++parked == want)
        pthread_cond_signal(&all_cv);
    while (!go)
        pthread_cond_wait(&go_cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    pthread_t *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
    if (n <= 0 || !t) {
        fprintf(stderr, "usage: park_million [THREADS > 0]\n");
        return 2;
    }
    memset(t, 0, (size_t)n * sizeof *t); /* its pages are not the threads' */
    long rss0 = bench_status_kib("VmRSS"), pte0 = bench_status_kib("VmPTE");
    int64_t t0 = bench_now();
    long made = 0;
    int err = 0;
    while (made < n && (err = pthread_create(&t[made], NULL, parker, NULL)) == 0)
        made++;
    pthread_mutex_lock(&mu);
    want = made;
    while (parked < made)
        pthread_cond_wait(&all_cv, &mu);
    pthread_mutex_unlock(&mu);
    double park_ms = (double)(bench_now() - t0) / 1e6;
    long rss1 = bench_status_kib("VmRSS"), pte1 = bench_status_kib("VmPTE"),
         maps = bench_count_maps();

    pthread_mutex_lock(&mu);
    go = 1;
    pthread_cond_broadcast(&go_cv);
    pthread_mutex_unlock(&mu);
    for (long i = 0; i < made; i++)
        pthread_join(t[i], NULL);
    long rss2 = bench_status_kib("VmRSS"), pte2 = bench_status_kib("VmPTE");

    double m = made ? (double)made : 1;
    printf("threads %ld n\n", made);
    printf("stopped_by %d errno\n", made < n ? err : 0);
    printf("park_ms %.0f ms\n", park_ms);
    printf("rss_per_thread %.2f KiB\n", (double)(rss1 - rss0) / m);
    printf("pte_per_thread %.2f KiB\n", (double)(pte1 - pte0) / m);
    printf("mem_per_thread %.2f KiB\n", (double)(rss1 - rss0 + pte1 - pte0) / m);
    printf("maps %ld n\n", maps);
    printf("kept_per_thread %.3f KiB\n", (double)(rss2 - rss0 + pte2 - pte0) / m);
    printf("kept_pte_per_thread %.3f KiB\n", (double)(pte2 - pte0) / m);
    printf("# %ld threads (%s) parked in %.0f ms: %.2f KiB each (RSS %.2f + page tables "
           "%.2f), %ld mappings; after join %.3f KiB each kept\n",
           made, made < n ? strerror(err) : "all asked for", park_ms,
           (double)(rss1 - rss0 + pte1 - pte0) / m, (double)(rss1 - rss0) / m,
           (double)(pte1 - pte0) / m, maps, (double)(rss2 - rss0 + pte2 - pte0) / m);
    free(t);
    return made ? 0 : 1;
}
