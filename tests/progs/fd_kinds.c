/* fd_kinds.c: a thread blocked reading each kind of fd that can wait.
 *
 *   fd_kinds
 *
 * For a FIFO, an eventfd, a signalfd, an inotify fd and a pty, a reader
 * thread blocks in read() while main, which yields once so that the
 * reader is blocked first (under libgreen every thread runs until it
 * blocks), then makes the event happen. Were the read to block the OS
 * thread under libgreen, main could never make it: the program would
 * hang. For a timerfd the event comes by itself: main counts how often
 * it ran while the reader waited. Prints what each read returned.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct reader {
    int fd;
    char buf[256];
    ssize_t n;
    volatile int done;
};

static void *read_once(void *arg)
{
    struct reader *r = arg;
    r->n = read(r->fd, r->buf, sizeof r->buf);
    r->done = 1;
    return NULL;
}

/* Start a reader on fd; main yields so that it blocks first. */
static pthread_t start(struct reader *r, int fd)
{
    pthread_t t;
    memset(r, 0, sizeof *r);
    r->fd = fd;
    if (pthread_create(&t, NULL, read_once, r) != 0)
        exit(3);
    sched_yield();
    return t;
}

static void fifo(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    if (mkfifo(path, 0600) < 0)
        exit(3);
    int rd = open(path, O_RDWR), wr = open(path, O_WRONLY);
    struct reader r;
    pthread_t t = start(&r, rd);
    if (write(wr, "fifo data", 9) != 9)
        exit(3);
    pthread_join(t, NULL);
    printf("fifo: %zd \"%.*s\"\n", r.n, (int)(r.n > 0 ? r.n : 0), r.buf);
    close(rd);
    close(wr);
}

static void event(void)
{
    int e = eventfd(0, 0);
    struct reader r;
    pthread_t t = start(&r, e);
    uint64_t v = 42;
    if (write(e, &v, sizeof v) != sizeof v)
        exit(3);
    pthread_join(t, NULL);
    memcpy(&v, r.buf, sizeof v);
    printf("eventfd: %zd bytes, value %llu\n", r.n, (unsigned long long)v);
    close(e);
}

static void timer(void)
{
    int tf = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {.it_value = {.tv_nsec = 100 * 1000000}};
    if (timerfd_settime(tf, 0, &its, NULL) < 0)
        exit(3);
    struct reader r;
    pthread_t t = start(&r, tf);
    int ran = 0;
    while (!r.done) { /* an overlap count, with a wide margin */
        usleep(1000);
        ran++;
    }
    pthread_join(t, NULL);
    uint64_t n;
    memcpy(&n, r.buf, sizeof n);
    printf("timerfd: %zd bytes, %llu expiration, main ran meanwhile: %s\n", r.n,
           (unsigned long long)n, ran >= 5 ? "yes" : "no");
    close(tf);
}

static void signals(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    int sf = signalfd(-1, &s, 0);
    struct reader r;
    pthread_t t = start(&r, sf);
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    struct signalfd_siginfo si;
    memcpy(&si, r.buf, sizeof si);
    printf("signalfd: %zd bytes, signal %s\n", r.n, si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "?");
    close(sf);
}

static void watch(const char *dir)
{
    int in = inotify_init1(0);
    if (inotify_add_watch(in, dir, IN_CREATE) < 0)
        exit(3);
    struct reader r;
    pthread_t t = start(&r, in);
    char path[256];
    snprintf(path, sizeof path, "%s/created", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    pthread_join(t, NULL);
    struct inotify_event *ev = (struct inotify_event *)r.buf;
    printf("inotify: %s %s\n", ev->mask & IN_CREATE ? "IN_CREATE" : "?", ev->len ? ev->name : "");
    close(in);
    unlink(path);
}

static void tty(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        exit(3);
    int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct reader r;
    pthread_t t = start(&r, sl);
    if (write(m, "typed line\n", 11) != 11)
        exit(3);
    pthread_join(t, NULL);
    printf("pty: %zd \"%.*s\"\n", r.n, (int)(r.n > 1 ? r.n - 1 : 0), r.buf);
    close(sl);
    close(m);
}

int main(void)
{
    char dir[] = "/tmp/fd_kinds.XXXXXX";
    if (!mkdtemp(dir))
        return 3;
    /* Blocked in every thread: the signal waits for the signalfd. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    fifo(dir);
    event();
    timer();
    signals();
    watch(dir);
    tty();
    char path[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
