/* tls_rss: what a parked thread costs when the program has 43 KB of
 * thread-local storage (haproxy's size), natively and under libgreen.
 *
 * A plain pthread program: N threads (default 2,000) each write their
 * TLS once and park on a semaphore; VmRSS before and with all parked
 * gives KiB per thread. Then every thread is released and joined, and
 * as many are spawned and joined again, one at a time: RSS after that
 * round shows whether the TLS of joined threads is reused.
 *
 * Usage: tls_rss [THREADS] */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_BYTES (43 * 1024)

__thread char tls_data[TLS_BYTES] = {1}; /* initialised: copied per thread */
static sem_t park, ready;

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void *parker(void *arg)
{
    tls_data[TLS_BYTES - 1] = (char)(long)arg;
    void *p = malloc(100); /* a malloc cache per thread, as natively */
    sem_post(&ready);
    sem_wait(&park);
    free(p);
    return (void *)(long)tls_data[0];
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000;
    pthread_t *t = calloc(n, sizeof *t);
    sem_init(&park, 0, 0);
    sem_init(&ready, 0, 0);
    long before = rss_kib();
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t[i], NULL, parker, (void *)i)) {
            fprintf(stderr, "tls_rss: pthread_create failed after %ld threads\n", i);
            return 1;
        }
        sem_wait(&ready);
    }
    long held = rss_kib();
    for (long i = 0; i < n; i++)
        sem_post(&park);
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    long joined = rss_kib();
    for (long i = 0; i < n; i++) { /* one at a time: blocks are reused */
        pthread_create(&t[i], NULL, parker, (void *)i);
        sem_wait(&ready);
        sem_post(&park);
        pthread_join(t[i], NULL);
    }
    long again = rss_kib();
    printf("tls_rss_per_thread_kib %.1f KiB\n", (double)(held - before) / n);
    printf("# %ld threads with %d KiB of TLS each: RSS before %ld KiB, parked %ld KiB "
           "(%.1f KiB per thread), joined %ld KiB, after %ld more one at a time %ld KiB\n",
           n, TLS_BYTES / 1024, before, held, (double)(held - before) / n, joined, n, again);
    return 0;
}
