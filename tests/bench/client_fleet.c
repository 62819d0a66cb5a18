/* client_fleet: a fleet of blocking client threads, as a CI harness
 * would write it: one pthread per client, each connects to an echo
 * server, makes ROUNDS blocking write/read round trips of 64 bytes and
 * checks every byte that comes back.
 *
 *   client_fleet PORT THREADS [ROUNDS=100]
 *
 * A plain pthread program (no libgreen header): scripts/bench-threads
 * runs it natively and under LD_PRELOAD=libgreen.so against a loopback
 * echo server. Prints, as "name value unit" lines: the wall time from
 * the first pthread_create to the last join, the failed clients (could
 * not start or connect, broken connection, wrong byte) and the
 * process's peak RSS (VmHWM). Exit status 0 when every client passed.
 *
 *   client_fleet PORT THREADS ROUNDS OPEN
 *
 * gates the connections: every thread is made and started first (all
 * THREADS exist at once: each waits at a start line until the last one
 * has come), then at most OPEN of them hold a connection at a time (a
 * semaphore): so that more clients than the fd limit allows can be
 * blocking threads of one process. Prints the most threads that existed
 * and connections that were open at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define MSG 64

static int port;
static long rounds;
static long open_max; /* 0: no gate */
static sem_t gate;
static pthread_mutex_t line_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t line_cond = PTHREAD_COND_INITIALIZER;
static long at_line, expected; /* threads at the start line, of how many */
static atomic_long open_now, open_peak;

/* Wait until every thread made has come (main lowers expected when a
 * pthread_create fails). */
static void start_line(void)
{
    pthread_mutex_lock(&line_lock);
    at_line++;
    pthread_cond_broadcast(&line_cond);
    while (at_line < expected)
        pthread_cond_wait(&line_cond, &line_lock);
    pthread_mutex_unlock(&line_lock);
}

static void count_open(long d)
{
    long now = atomic_fetch_add(&open_now, d) + d, peak = atomic_load(&open_peak);
    while (now > peak && !atomic_compare_exchange_weak(&open_peak, &peak, now))
        ;
}

/* Returns 0 when every round trip came back intact, -1 otherwise. */
static int client(long id)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok = 0;
    if (fd < 0)
        return -1;
    count_open(1);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        goto out;
    for (long r = 0; r < rounds; r++) {
        unsigned char out[MSG], in[MSG];
        for (int i = 0; i < MSG; i++)
            out[i] = (unsigned char)(id * 31 + r * 7 + i);
        for (size_t n = 0; n < MSG;) {
            ssize_t w = write(fd, out + n, MSG - n);
            if (w <= 0)
                goto out;
            n += (size_t)w;
        }
        for (size_t n = 0; n < MSG;) {
            ssize_t g = read(fd, in + n, MSG - n);
            if (g <= 0)
                goto out;
            n += (size_t)g;
        }
        if (memcmp(in, out, MSG) != 0)
            goto out;
    }
    ok = 1;
out:
    count_open(-1);
    close(fd);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    if (open_max) {
        start_line();
        while (sem_wait(&gate) != 0)
            ;
    }
    int r = client((long)(intptr_t)arg);
    if (open_max)
        sem_post(&gate);
    return r == 0 ? NULL : (void *)1;
}

static long vmhwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: client_fleet PORT THREADS [ROUNDS=100 [OPEN]]\n");
        return 2;
    }
    port = (int)bench_arg(argc, argv, 1, 0);
    long n = bench_arg(argc, argv, 2, 0);
    rounds = bench_arg(argc, argv, 3, 100);
    open_max = argc > 4 ? bench_arg(argc, argv, 4, 0) : 0;
    if (open_max && sem_init(&gate, 0, (unsigned)open_max) != 0)
        return 1;
    expected = n;
    pthread_t *t = calloc((size_t)n, sizeof *t);
    char *started = calloc((size_t)n, 1);
    if (!t || !started)
        return 1;
    long failed = 0;
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++) {
        started[i] = pthread_create(&t[i], NULL, run, (void *)(intptr_t)i) == 0;
        failed += !started[i];
    }
    pthread_mutex_lock(&line_lock);
    expected -= failed;
    long existed = expected;
    pthread_cond_broadcast(&line_cond);
    pthread_mutex_unlock(&line_lock);
    for (long i = 0; i < n; i++) {
        void *v = NULL;
        if (started[i] && (pthread_join(t[i], &v) != 0 || v))
            failed++;
    }
    double ms = (double)(bench_now() - t0) / 1e6;
    printf("fleet_threads %ld threads\nfleet_failed %ld clients\n", n, failed);
    printf("fleet_wall_ms %.1f ms\nfleet_hwm_kib %ld KiB\n", ms, vmhwm_kib());
    if (open_max)
        printf("fleet_existed %ld threads\nfleet_open_peak %ld connections\n", existed,
               atomic_load(&open_peak));
    return failed ? 1 : 0;
}
