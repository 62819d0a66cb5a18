/* wait_edges: edge semantics of blocking calls that libgreen once got
 * wrong, each made while another thread runs (a ticker), so that the
 * shim waits green:
 *   - pthread_kill to an exited, unjoined thread runs no handler;
 *   - pthread_tryjoin_np on a live detached thread is EBUSY;
 *   - pthread_create with a 64 GiB and a 16 TiB stack is EAGAIN;
 *   - pthread_kill to oneself with the signal blocked stays pending
 *     until unblocked (by pthread_sigmask or sigsuspend's mask);
 *   - connect after an SO_SNDTIMEO timeout is EINPROGRESS, again EALREADY;
 *   - connect and sem_wait interrupted by a SA_RESTART handler restart;
 *   - epoll_wait whose epoll fd another thread closes waits to its
 *     timeout;
 *   - after a blocking write cut short by a peer reset, the next write
 *     is ECONNRESET;
 *   - sigtimedwait and sigwait work with the fd table full;
 *   - a listening socket passed over SCM_RIGHTS after a blocking accept
 *     shows no O_NONBLOCK and its accept blocks;
 *   - a signal sent to the process that only main blocks, main waiting
 *     for it in sigwait, is returned by sigwait (last: natively nothing
 *     else could take it, a wrong answer kills the process). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t handled;
static volatile int stop;

static void handler(int sig)
{
    (void)sig;
    handled++;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop)
        usleep(1000);
    return NULL;
}

static void *quick(void *arg)
{
    return arg;
}

static void *short_sleep(void *arg)
{
    usleep(200000);
    return arg;
}

static const char *err(int r)
{
    return r < 0 ? strerror(errno) : "ok";
}

static void threads(void)
{
    pthread_t t;
    pthread_attr_t a;
    CHECK(pthread_create(&t, NULL, quick, NULL));
    usleep(50000);
    handled = 0;
    printf("pthread_kill to exited thread: %d, handler ran %d\n", pthread_kill(t, SIGUSR1),
           (int)handled);
    usleep(10000);
    printf("handler ran later: %d\n", (int)handled);
    CHECK(pthread_join(t, NULL));

    CHECK(pthread_attr_init(&a));
    CHECK(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
    CHECK(pthread_create(&t, &a, short_sleep, NULL));
    printf("tryjoin live detached: %s\n", strerror(pthread_tryjoin_np(t, NULL)));
    CHECK(pthread_attr_destroy(&a));

    CHECK(pthread_attr_init(&a));
    for (unsigned long long gib = 64; gib <= 16384; gib *= 256) {
        CHECK(pthread_attr_setstacksize(&a, (size_t)(gib << 30)));
        int r = pthread_create(&t, &a, quick, NULL);
        printf("stack of %llu GiB: %s\n", gib, strerror(r));
        if (r == 0)
            pthread_join(t, NULL);
    }
    CHECK(pthread_attr_destroy(&a));
}

static void kill_self_blocked(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    handled = 0;
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    CHECK(pthread_kill(pthread_self(), SIGUSR1));
    usleep(10000);
    printf("pthread_kill to self, blocked: handler ran %d\n", (int)handled);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL));
    printf("after unblocking: handler ran %d\n", (int)handled);

    sigset_t none;
    sigemptyset(&none);
    handled = 0;
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    CHECK(pthread_kill(pthread_self(), SIGUSR1));
    int r = sigsuspend(&none);
    printf("sigsuspend unblocking it: %d %s, handler ran %d\n", r, err(r), (int)handled);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL));
}

/* A listener whose accept queue is full: further SYNs are dropped, so a
 * connect to it stays in progress. */
static int lfd;
static struct sockaddr_in sa;

static void full_listener(void)
{
    socklen_t len = sizeof sa;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 0) ||
        getsockname(lfd, (struct sockaddr *)&sa, &len))
        exit(1);
    for (int i = 0; i < 3; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(c, (struct sockaddr *)&sa, sizeof sa);
    }
    usleep(100000);
}

static int conn_r, conn_errno;

static void *connector(void *arg)
{
    (void)arg;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    conn_r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    conn_errno = errno;
    return NULL;
}

static void connects(void)
{
    full_listener();
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {0, 200000};
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    printf("connect with SO_SNDTIMEO: %d %s\n", r, err(r));
    r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    printf("connect again: %d %s\n", r, err(r));

    /* Interrupted by a SA_RESTART handler, then the queue gets room. */
    pthread_t t;
    handled = 0;
    CHECK(pthread_create(&t, NULL, connector, NULL));
    usleep(100000);
    CHECK(pthread_kill(t, SIGUSR1));
    usleep(50000);
    listen(lfd, 128);
    CHECK(pthread_join(t, NULL));
    errno = conn_errno;
    printf("connect interrupted by SA_RESTART handler: %d %s, handler ran %d\n", conn_r,
           err(conn_r), (int)handled);
    close(lfd);
}

static sem_t sem;
static int sem_r, sem_errno;

static void *sem_waiter(void *arg)
{
    (void)arg;
    sem_r = sem_wait(&sem);
    sem_errno = errno;
    return NULL;
}

static void sem_restart(void)
{
    pthread_t t;
    sem_init(&sem, 0, 0);
    handled = 0;
    CHECK(pthread_create(&t, NULL, sem_waiter, NULL));
    usleep(50000);
    CHECK(pthread_kill(t, SIGUSR1));
    while (!handled)
        usleep(1000);
    usleep(20000);
    sem_post(&sem);
    CHECK(pthread_join(t, NULL));
    errno = sem_errno;
    printf("sem_wait interrupted by SA_RESTART handler: %d %s\n", sem_r, err(sem_r));
}

static int ep;

static void *closer(void *arg)
{
    (void)arg;
    usleep(50000);
    close(ep);
    return NULL;
}

static void epoll_closed(void)
{
    pthread_t t;
    struct epoll_event ev;
    int p[2];
    if (pipe(p))
        exit(1);
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.fd = p[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    CHECK(pthread_create(&t, NULL, closer, NULL));
    double t0 = now_s();
    int r = epoll_wait(ep, &ev, 1, 400);
    double took = now_s() - t0;
    printf("epoll_wait, epoll fd closed meanwhile: %d %s, waited to its timeout %s\n", r, err(r),
           took > 0.3 ? "yes" : "no");
    CHECK(pthread_join(t, NULL));
    close(p[0]);
    close(p[1]);
}

/* ---- a write cut short by a reset ---------------------------------------- */

static int peer;

static void *resetter(void *arg)
{
    int w = *(int *)arg, queued = 0;
    /* Let the writer fill both buffers and block (wide margin). */
    while (ioctl(w, SIOCOUTQ, &queued) == 0 && queued < 65536)
        usleep(1000);
    usleep(200000);
    struct linger lg = {1, 0};
    setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(peer);
    return NULL;
}

static void write_reset(void)
{
    socklen_t len = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM, 0), w = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = 0;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &len) ||
        connect(w, (struct sockaddr *)&sa, sizeof sa) || (peer = accept(l, NULL, NULL)) < 0)
        exit(1);
    signal(SIGPIPE, SIG_IGN);
    size_t n = 64 << 20;
    char *buf = calloc(1, n);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, resetter, &w));
    ssize_t r = write(w, buf, n);
    printf("blocking write cut by a reset: %s\n", r > 0 && (size_t)r < n ? "part"
                                                  : r < 0                ? strerror(errno)
                                                                         : "all");
    r = write(w, buf, 100);
    printf("next write: %zd %s\n", r, err((int)r));
    r = write(w, buf, 100);
    printf("the one after: %zd %s\n", r, err((int)r));
    CHECK(pthread_join(t, NULL));
    free(buf);
    close(w);
    close(l);
}

/* ---- the fd table full ------------------------------------------------------ */

static void *raiser(void *arg)
{
    usleep(50000);
    pthread_kill(*(pthread_t *)arg, SIGUSR2);
    return NULL;
}

static void sigwait_fds_full(void)
{
    sigset_t s;
    struct rlimit old, rl;
    struct timespec ts = {0, 100000000};
    int sig = 0, fds[64], n = 0;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    getrlimit(RLIMIT_NOFILE, &old);
    rl = old;
    rl.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &rl);
    while (n < 64 && (fds[n] = dup(0)) >= 0)
        n++;
    int r = sigtimedwait(&s, NULL, &ts);
    int e = errno;
    pthread_t self = pthread_self(), t;
    CHECK(pthread_create(&t, NULL, raiser, &self));
    int w = sigwait(&s, &sig);
    CHECK(pthread_join(t, NULL));
    while (n > 0)
        close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL));
    errno = e;
    printf("fd table full: sigtimedwait %d %s, sigwait %s, signal %s\n", r, err(r), strerror(w),
           sig == SIGUSR2 ? "SIGUSR2" : "other");
}

/* ---- a listening socket passed over SCM_RIGHTS --------------------------------- */

static void *late_client(void *arg)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    (void)arg;
    usleep(100000);
    connect(c, (struct sockaddr *)&sa, sizeof sa);
    usleep(100000);
    close(c);
    return NULL;
}

static int pass_fd(int fd)
{
    int sv[2], got = -1;
    char c = 'x', cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&c, 1};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        exit(1);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    if (sendmsg(sv[0], &m, 0) != 1 || recvmsg(sv[1], &m, 0) != 1)
        exit(1);
    memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof got);
    close(sv[0]);
    close(sv[1]);
    return got;
}

static void listener_passed(void)
{
    socklen_t len = sizeof sa;
    pthread_t t;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = 0;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 8) ||
        getsockname(l, (struct sockaddr *)&sa, &len))
        exit(1);
    CHECK(pthread_create(&t, NULL, late_client, NULL));
    int a = accept(l, NULL, NULL);
    CHECK(pthread_join(t, NULL));
    close(a);
    int got = pass_fd(l);
    printf("passed listener: O_NONBLOCK %s\n", fcntl(got, F_GETFL) & O_NONBLOCK ? "set" : "clear");
    CHECK(pthread_create(&t, NULL, late_client, NULL));
    a = accept(got, NULL, NULL);
    printf("its accept: %s\n", a >= 0 ? "a connection" : strerror(errno));
    CHECK(pthread_join(t, NULL));
    close(a);
    close(got);
    close(l);
}

/* ---- a process-directed signal for main's sigwait ------------------------------ */

static void *killer(void *arg)
{
    (void)arg;
    usleep(50000);
    kill(getpid(), SIGUSR2);
    return NULL;
}

static void sigwait_process_signal(void)
{
    sigset_t s;
    pthread_t t;
    int sig = 0;
    signal(SIGUSR2, SIG_DFL);
    CHECK(pthread_create(&t, NULL, killer, NULL)); /* it does not block SIGUSR2 */
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    int r = sigwait(&s, &sig);
    printf("sigwait of a signal only main blocks: %s %s\n", strerror(r),
           sig == SIGUSR2 ? "SIGUSR2" : "other");
    CHECK(pthread_join(t, NULL));
}

int main(void)
{
    pthread_t tick;
    struct sigaction act = {.sa_handler = handler, .sa_flags = SA_RESTART};
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigemptyset(&act.sa_mask);
    sigaction(SIGUSR1, &act, NULL);
    CHECK(pthread_create(&tick, NULL, ticker, NULL));
    threads();
    kill_self_blocked();
    connects();
    sem_restart();
    epoll_closed();
    write_reset();
    sigwait_fds_full();
    listener_passed();
    sigwait_process_signal();
    stop = 1;
    CHECK(pthread_join(tick, NULL));
    return 0;
}
