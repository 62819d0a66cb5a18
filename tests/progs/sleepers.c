/* sleepers: many threads sleep one second each, all at once.
 *
 * usage: sleepers [-n THREADS] [-t] | sleepers -e
 * Even threads call sleep(1), odd ones nanosleep for 1 s. Main joins
 * them and prints how many slept, how many woke early (must be 0) and
 * the elapsed time in coarse buckets, so that the output is the same
 * natively and under libgreen. -t also prints the "Threads:" line of
 * /proc/self/status, read by main while the others sleep.
 * -e instead prints what the sleep calls return on edge cases (bad
 * times, other clocks, absolute times), while a second thread exists. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Returns (void *)1 when the sleep ended early or failed. */
static void *sleeper(void *arg)
{
    double t0 = now_s();
    int bad;
    if ((long)arg % 2 == 0) {
        bad = sleep(1) != 0;
    } else {
        struct timespec ts = {1, 0};
        bad = nanosleep(&ts, NULL) != 0;
    }
    return (void *)(long)(bad || now_s() - t0 < 1.0);
}

/* The "Threads:" line of /proc/self/status, with plain read calls. */
static void print_threads_line(void)
{
    static char buf[16384];
    size_t len = 0;
    ssize_t n;
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) {
        perror("open /proc/self/status");
        exit(1);
    }
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    char *line = strstr(buf, "\nThreads:");
    char *end = line ? strchr(line + 1, '\n') : NULL;
    if (!end) {
        fprintf(stderr, "no Threads: line\n");
        exit(1);
    }
    printf("%.*s\n", (int)(end - line - 1), line + 1);
}

static void show(const char *what, int r)
{
    printf("%s: %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

/* clock_nanosleep returns the error and leaves errno alone. */
static void show_cns(const char *what, clockid_t c, int flags, long sec, long nsec)
{
    struct timespec ts = {sec, nsec};
    errno = 0;
    int r = clock_nanosleep(c, flags, &ts, NULL);
    printf("%s: %s errno %d\n", what, r ? strerrorname_np(r) : "0", errno);
}

/* Sleep until `ms` from now on clock c with TIMER_ABSTIME; 1 when it
 * returned 0 no earlier than that. */
static int abs_sleep_ok(clockid_t c, long ms)
{
    struct timespec t, after;
    clock_gettime(c, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    int r = clock_nanosleep(c, TIMER_ABSTIME, &t, NULL);
    clock_gettime(c, &after);
    return r == 0 &&
           (after.tv_sec > t.tv_sec || (after.tv_sec == t.tv_sec && after.tv_nsec >= t.tv_nsec));
}

static int idle_pipe[2];
static void *idle_reader(void *arg)
{
    char c;
    (void)arg;
    return (void *)read(idle_pipe[0], &c, 1);
}

static int edge_cases(void)
{
    pthread_t t;
    struct timespec ts;
    if (pipe(idle_pipe) || pthread_create(&t, NULL, idle_reader, NULL))
        return 1;
    show("nanosleep nsec 1e9", nanosleep(&(struct timespec){0, 1000000000}, NULL));
    show("nanosleep nsec -1", nanosleep(&(struct timespec){0, -1}, NULL));
    show("nanosleep sec -1", nanosleep(&(struct timespec){-1, 0}, NULL));
    show("nanosleep 0", nanosleep(&(struct timespec){0, 0}, NULL));
    double t0 = now_s();
    ts = (struct timespec){0, 50000000};
    show("nanosleep 50 ms", nanosleep(&ts, &ts));
    printf("slept 50 ms at least: %d\n", now_s() - t0 >= 0.05);
    show_cns("clock_nanosleep nsec 1e9", CLOCK_MONOTONIC, 0, 0, 1000000000);
    show_cns("clock_nanosleep abs sec -1", CLOCK_MONOTONIC, TIMER_ABSTIME, -1, 0);
    show_cns("clock_nanosleep thread cputime", CLOCK_THREAD_CPUTIME_ID, 0, 0, 1000000);
    show_cns("clock_nanosleep bad clock", 12345, 0, 0, 1000000);
    show_cns("clock_nanosleep abs in the past", CLOCK_MONOTONIC, TIMER_ABSTIME, 0, 0);
    show_cns("clock_nanosleep boottime 20 ms", CLOCK_BOOTTIME, 0, 0, 20000000);
    show_cns("clock_nanosleep realtime 20 ms", CLOCK_REALTIME, 0, 0, 20000000);
    printf("abs monotonic 50 ms: %d\n", abs_sleep_ok(CLOCK_MONOTONIC, 50));
    printf("abs realtime 50 ms: %d\n", abs_sleep_ok(CLOCK_REALTIME, 50));
    printf("abs boottime 50 ms: %d\n", abs_sleep_ok(CLOCK_BOOTTIME, 50));
    errno = 77;
    printf("sleep 0: %u errno %d\n", sleep(0), errno);
    show("usleep 0", usleep(0));
    t0 = now_s();
    show("usleep 1000000", usleep(1000000));
    printf("slept 1 s at least: %d\n", now_s() - t0 >= 1.0);
    if (write(idle_pipe[1], "x", 1) != 1 || pthread_join(t, NULL))
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    long n = 1000;
    int show_threads = 0, opt;
    while ((opt = getopt(argc, argv, "n:te")) != -1) {
        if (opt == 'e')
            return edge_cases();
        else if (opt == 'n')
            n = atol(optarg);
        else if (opt == 't')
            show_threads = 1;
        else
            return 2;
    }
    pthread_t *t = calloc((size_t)n, sizeof *t);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int r = pthread_create(&t[i], NULL, sleeper, (void *)i);
        if (r) {
            fprintf(stderr, "pthread_create %ld: %s\n", i, strerror(r));
            return 1;
        }
    }
    if (show_threads)
        print_threads_line();
    long early = 0;
    for (long i = 0; i < n; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        early += ret != NULL;
    }
    double el = now_s() - t0;
    printf("slept: %ld threads\n", n);
    printf("early or failed: %ld\n", early);
    printf("elapsed: %s\n", el < 1.0 ? "under 1 s" : el < 3.0 ? "1 to 3 s" : "3 s or more");
    free(t);
    return 0;
}
