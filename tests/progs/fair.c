/* fair.c: threads that never block must not starve the others.
 *
 *   fair compute   a thread computes (no library call) until main, which
 *                  sleeps 1 s, stops it; a ticker sleeping 10 ms in a
 *                  loop meanwhile must get at least 40 ticks (natively
 *                  about 100)
 *   fair poll      a thread polls a readable pipe with a zero timeout
 *                  until another thread has read the byte
 *   fair waitpid   a thread loops on waitpid(WNOHANG) for a child that
 *                  exits only once another thread has written to it
 *   fair trylock   a thread loops on pthread_mutex_trylock of a mutex
 *                  another thread holds until it saw a flag main sets
 *   fair pingpong  two threads pass a byte back and forth 20,000 times
 *                  over pipes, computing about 20 us at each turn
 *                  (under libgreen: never preempted, see test_fair)
 *   fair spin SIG  a thread computes until SIGUSR1; a child process sends
 *                  the parent SIG after 200 ms, then SIGUSR1 after 400 ms
 *                  (for the dump signal: not a native scenario)
 *
 * Prints one line per scenario; the same natively and under libgreen.
 * Under a libgreen without preemption the first never ends (main never
 * wakes) and the others spin forever.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile int stop;

static void *compute(void *arg)
{
    volatile unsigned long x = 0;
    while (!stop)
        x = x * 2862933555777941757ul + 3037000493ul;
    return arg;
}

static int scenario_compute(void)
{
    pthread_t c;
    struct ticker tick;
    ticker_start(&tick, 10);
    CHECK(pthread_create(&c, NULL, compute, NULL));
    sleep(1);
    stop = 1;
    int ticks = ticker_stop(&tick);
    CHECK(pthread_join(c, NULL));
    if (ticks >= 40)
        printf("compute: the ticker kept ticking\n");
    else
        printf("compute: the ticker got only %d ticks of about 100\n", ticks);
    return 0;
}

static int pipefd[2];

static void *poller(void *arg)
{
    (void)arg;
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    long rounds = 0;
    while (!stop) {
        int n = poll(&p, 1, 0);
        if (n < 0) {
            printf("poll: %s\n", strerror(errno));
            break;
        }
        /* Not readable: the reader took the byte and is about to set
         * stop (natively it may not have yet, on the other core). */
        if (n == 0 || !(p.revents & POLLIN))
            break;
        rounds++;
    }
    return (void *)rounds;
}

static void *reader(void *arg)
{
    char c = 0;
    ssize_t n = read(pipefd[0], &c, 1);
    stop = 1;
    printf("poll: the other thread read %zd byte '%c'\n", n, c);
    return arg;
}

static int scenario_poll(void)
{
    pthread_t p, r;
    if (pipe(pipefd) || write(pipefd[1], "x", 1) != 1)
        return 1;
    CHECK(pthread_create(&p, NULL, poller, NULL));
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL); /* let the poller start first */
    CHECK(pthread_create(&r, NULL, reader, NULL));
    CHECK(pthread_join(r, NULL));
    CHECK(pthread_join(p, NULL));
    return 0;
}

static pid_t child;
static int topipe[2];

static void *reaper(void *arg)
{
    int st = 0;
    pid_t r;
    while ((r = waitpid(child, &st, WNOHANG)) == 0)
        ;
    if (r == child && WIFEXITED(st))
        printf("waitpid: the child exited with %d\n", WEXITSTATUS(st));
    else
        printf("waitpid: %d, status %#x\n", (int)r, st);
    return arg;
}

static void *teller(void *arg)
{
    if (write(topipe[1], "q", 1) != 1)
        printf("waitpid: write failed\n");
    return arg;
}

static int scenario_waitpid(void)
{
    if (pipe(topipe))
        return 1;
    child = fork();
    if (child == 0) {
        char c;
        _exit(read(topipe[0], &c, 1) == 1 && c == 'q' ? 7 : 9);
    }
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, reaper, NULL));
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL); /* the reaper loops first */
    CHECK(pthread_create(&b, NULL, teller, NULL));
    CHECK(pthread_join(b, NULL));
    CHECK(pthread_join(a, NULL));
    return 0;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;

static void *holder(void *arg)
{
    CHECK(pthread_mutex_lock(&m));
    holding = 1;
    struct timespec ms = {0, 1000000};
    while (!stop)
        nanosleep(&ms, NULL);
    CHECK(pthread_mutex_unlock(&m));
    return arg;
}

static void *trier(void *arg)
{
    long busy = 0;
    int r;
    while ((r = pthread_mutex_trylock(&m)) == EBUSY)
        busy++;
    printf("trylock: %s after the holder let go\n", r == 0 ? "taken" : strerror(r));
    if (r == 0)
        CHECK(pthread_mutex_unlock(&m));
    return arg;
}

static int scenario_trylock(void)
{
    pthread_t h, t;
    CHECK(pthread_create(&h, NULL, holder, NULL));
    while (!holding)
        usleep(1000);
    CHECK(pthread_create(&t, NULL, trier, NULL));
    usleep(20000);
    stop = 1;
    CHECK(pthread_join(h, NULL));
    CHECK(pthread_join(t, NULL));
    return 0;
}

static void on_usr1(int sig)
{
    (void)sig;
    stop = 1;
}

static int scenario_spin(int sig)
{
    signal(SIGUSR1, on_usr1);
    pid_t parent = getpid();
    if (fork() == 0) {
        usleep(200000);
        kill(parent, sig);
        usleep(200000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    pthread_t c;
    CHECK(pthread_create(&c, NULL, compute, NULL));
    CHECK(pthread_join(c, NULL));
    wait(NULL);
    printf("spin: stopped by a signal\n");
    return 0;
}

static int ping[2], pong[2];

static void work(void)
{
    volatile unsigned long x = 0;
    for (int i = 0; i < 20000; i++)
        x = x * 2862933555777941757ul + 3037000493ul;
}

static void *ponger(void *arg)
{
    char c;
    while (read(ping[0], &c, 1) == 1 && c != 'q') {
        work();
        if (write(pong[1], &c, 1) != 1)
            break;
    }
    return arg;
}

static int scenario_pingpong(void)
{
    pthread_t t;
    if (pipe(ping) || pipe(pong))
        return 1;
    CHECK(pthread_create(&t, NULL, ponger, NULL));
    int n = 0;
    char c = 'x';
    for (; n < 20000; n++) {
        work();
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
            break;
    }
    if (write(ping[1], "q", 1) != 1)
        return 1;
    CHECK(pthread_join(t, NULL));
    printf("pingpong: %d round trips\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "compute"))
        return scenario_compute();
    if (argc == 2 && !strcmp(argv[1], "poll"))
        return scenario_poll();
    if (argc == 2 && !strcmp(argv[1], "waitpid"))
        return scenario_waitpid();
    if (argc == 2 && !strcmp(argv[1], "trylock"))
        return scenario_trylock();
    if (argc == 2 && !strcmp(argv[1], "pingpong"))
        return scenario_pingpong();
    if (argc == 3 && !strcmp(argv[1], "spin"))
        return scenario_spin(atoi(argv[2]));
    fprintf(stderr, "usage: fair compute|poll|waitpid|trylock|pingpong|spin SIG\n");
    return 2;
}
