/* io_calls: blocking I/O, socket and polling calls, with their results
 * printed one per line so that a run under libgreen can be compared with
 * a native one.
 *
 * A helper thread blocked in read exists during every case (and is
 * released at the end), so under libgreen each call takes its waiting
 * path instead of passing through. Cases that need a second party use a
 * thread; none uses a sleep to order events.
 *
 * Usage: io_calls [CASE...]   (no CASE: all those that behave the same
 * natively; "closewait" only under libgreen: natively a read blocked in
 * another thread ignores close). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define BIG (4 * 1024 * 1024)

static void show(const char *what, long r)
{
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

#define SHOW(call) show(#call, (long)(call))

static void spawn(void *(*fn)(void *), void *arg, pthread_t *t)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        abort();
}

static void *join(pthread_t t)
{
    void *r;
    pthread_join(t, &r);
    return r;
}

/* ---- the helper that keeps another thread alive ------------------------- */

static int idle_pipe[2];

static void *idle(void *arg)
{
    char c;
    sigset_t all;
    (void)arg;
    sigfillset(&all); /* signals go to main, natively too */
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (read(idle_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* ---- cases ---------------------------------------------------------------- */

static void *write_after(void *arg)
{
    int fd = (int)(intptr_t)arg;
    write(fd, "x", 1);
    return NULL;
}

/* The program's own O_NONBLOCK gives EAGAIN at once; F_GETFL shows it. */
static void case_nonblock(void)
{
    int p[2], sv[2], sn[2], on = 1, off = 0;
    char c;
    pipe(p);
    SHOW(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    SHOW(fcntl(p[0], F_SETFL, O_NONBLOCK));
    SHOW(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    SHOW(read(p[0], &c, 1));
    SHOW(fcntl(p[0], F_SETFL, 0));
    pthread_t t;
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    SHOW(read(p[0], &c, 1));
    join(t);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW(ioctl(sv[0], FIONBIO, &on));
    SHOW(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    SHOW(recv(sv[0], &c, 1, 0));
    SHOW(ioctl(sv[0], FIONBIO, &off));
    SHOW(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sn);
    SHOW(read(sn[0], &c, 1));
    SHOW(recv(sn[0], &c, 1, 0));
    int d = dup(sv[0]);
    SHOW(fcntl(sv[0], F_SETFL, O_NONBLOCK));
    SHOW(read(d, &c, 1));
    int e = eventfd(0, EFD_NONBLOCK);
    uint64_t v;
    SHOW(read(e, &v, sizeof v));
    close(e), close(d), close(p[0]), close(p[1]);
    close(sv[0]), close(sv[1]), close(sn[0]), close(sn[1]);
}

/* SO_RCVTIMEO and SO_SNDTIMEO end a wait with EAGAIN; no timeout is
 * invented where none was set. */
static void case_timeout(void)
{
    int sv[2];
    char c;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    SHOW(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    double t0 = now_s();
    SHOW(recv(sv[0], &c, 1, 0));
    printf("waited at least 0.09 s: %d\n", now_s() - t0 >= 0.09);
    SHOW(read(sv[0], &c, 1));
    int small = 4096;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    SHOW(setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    char *big = calloc(1, BIG);
    long n = send(sv[1], big, BIG, 0);
    printf("send with SO_SNDTIMEO: partial %d\n", n > 0 && n < BIG);
    free(big);
    close(sv[0]), close(sv[1]);
}

static int listener(struct sockaddr_in *sa)
{
    socklen_t len = sizeof *sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)sa, sizeof *sa) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)sa, &len))
        abort();
    return fd;
}

static struct sockaddr_in server;

/* Connects and receives 5 bytes; main prints what it got after join. */
static char client_got[64];

static void *client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int c = connect(fd, (struct sockaddr *)&server, sizeof server);
    char buf[6] = "";
    long r = recv(fd, buf, 5, MSG_WAITALL);
    snprintf(client_got, sizeof client_got, "client: connect %d recv %ld %s", c, r, buf);
    close(fd);
    return NULL;
}

/* accept waits for a connection; the listening socket never shows an
 * O_NONBLOCK the program did not set; connect to a closed port is
 * refused; accept4 takes SOCK_NONBLOCK. */
static void case_accept(void)
{
    int lfd = listener(&server);
    pthread_t t;
    SHOW(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    spawn(client, NULL, &t);
    int fd = accept(lfd, NULL, NULL);
    printf("accepted: %d\n", fd >= 0);
    SHOW(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    SHOW(fcntl(fd, F_GETFL) & O_NONBLOCK);
    for (const char *p = "hello"; *p; p++)
        SHOW(send(fd, p, 1, 0));
    join(t);
    puts(client_got);
    char c;
    SHOW(recv(fd, &c, 1, 0));
    close(fd);
    spawn(client, NULL, &t);
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    SHOW(fcntl(fd, F_GETFL) & O_NONBLOCK);
    SHOW(send(fd, "world", 5, 0));
    join(t);
    puts(client_got);
    close(fd);
    SHOW(fcntl(lfd, F_SETFL, O_NONBLOCK));
    SHOW(accept(lfd, NULL, NULL));
    SHOW(fcntl(lfd, F_SETFL, 0));
    SHOW(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    close(lfd);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    SHOW(connect(s, (struct sockaddr *)&server, sizeof server));
    close(s);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    lfd = listener(&server);
    int r = connect(s, (struct sockaddr *)&server, sizeof server);
    printf("non-blocking connect: %s\n", r == 0 || errno == EINPROGRESS ? "ok" : strerror(errno));
    close(s), close(lfd);
}

struct stream {
    int fd;
    size_t n;
    uint32_t sum;
};

static void *drain(void *arg)
{
    struct stream *s = arg;
    unsigned char buf[65536];
    ssize_t r;
    s->sum = 2166136261u;
    while ((r = read(s->fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < r; i++)
            s->sum = (s->sum ^ buf[i]) * 16777619u;
        s->n += (size_t)r;
    }
    return NULL;
}

static void *dribble(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (int i = 0; i < 100; i++)
        write(fd, "0123456789", 10);
    return NULL;
}

/* A blocking send of a large buffer completes; MSG_WAITALL waits for all;
 * a closed peer gives EPIPE; vector calls; the bad inputs. */
static void case_stream(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    unsigned char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 12));
    struct stream s = {.fd = sv[1]};
    pthread_t t;
    spawn(drain, &s, &t);
    SHOW(send(sv[0], big, BIG, 0));
    struct iovec iov[3] = {{big, 1000}, {big + 1000, BIG / 2}, {big + 5, 77}};
    SHOW(writev(sv[0], iov, 3));
    shutdown(sv[0], SHUT_WR);
    join(t);
    printf("drained %zu bytes, sum %08x\n", s.n, s.sum);
    spawn(dribble, (void *)(intptr_t)sv[1], &t);
    char buf[1001] = "";
    SHOW(recv(sv[0], buf, 1000, MSG_WAITALL));
    printf("waitall tail: %s\n", buf + 990);
    join(t);
    close(sv[1]);
    SHOW(recv(sv[0], buf, 10, 0));
    signal(SIGPIPE, SIG_IGN);
    SHOW(send(sv[0], "x", 1, 0));
    SHOW(write(sv[0], "x", 1));
    SHOW(send(sv[0], "x", 1, MSG_NOSIGNAL));
    close(sv[0]);
    free(big);
}

/* Hidden from the compiler, which would warn about them. */
static void *volatile bad_ptr = (void *)1;
static volatile int minus_one = -1;

static void case_bad(void)
{
    int p[2], sv[2];
    char c;
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "abc", 3);
    SHOW(read(-1, &c, 1));
    SHOW(read(999, &c, 1));
    SHOW(write(p[0], "x", 1));
    SHOW(recv(p[0], &c, 1, 0));
    SHOW(send(p[1], "x", 1, 0));
    SHOW(recv(sv[0], bad_ptr, 1, 0));
    SHOW(read(sv[0], bad_ptr, 1));
    SHOW(recv(sv[0], &c, 1, 0xdeadbeef));
    SHOW(writev(p[1], NULL, minus_one));
    SHOW(readv(sv[0], bad_ptr, 1));
    SHOW(pread(p[0], &c, 1, -5));
    SHOW(pread(p[0], &c, 1, 0));
    SHOW(pwrite(p[1], "x", 1, 0));
    SHOW(preadv2(p[0], NULL, 0, -1, 0xff));
    SHOW(accept(p[0], NULL, NULL));
    SHOW(accept(sv[0], NULL, NULL));
    SHOW(connect(p[0], NULL, 0));
    SHOW(poll(bad_ptr, 1, 10));
    SHOW(select(-1, NULL, NULL, NULL, NULL));
    SHOW(epoll_wait(p[0], bad_ptr, 1, 10));
    SHOW(epoll_wait(-1, bad_ptr, 1, 10));
    int ep = epoll_create1(0);
    struct epoll_event ev;
    SHOW(epoll_wait(ep, &ev, 0, 10));
    SHOW(ppoll(NULL, 0, &(struct timespec){.tv_nsec = -1}, NULL));
    SHOW(dup2(999, 5));
    SHOW(dup3(p[0], p[0], 0));
    SHOW(fcntl(999, F_GETFL));
    SHOW(close(-1));
    SHOW(close_range(5, 3, 0));
    SHOW(setsockopt(p[0], SOL_SOCKET, SO_RCVTIMEO, &c, 1));
    struct timeval bad = {.tv_sec = 0, .tv_usec = 2000000};
    SHOW(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
    SHOW(recv(sv[0], &c, 1, 0));
    close(ep), close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

/* poll, select and epoll: exact revents, counts and timeouts. */
static void case_poll(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    struct pollfd f[3] = {{p[0], POLLIN, 0}, {q[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    SHOW(poll(f, 3, 100));
    printf("revents %x %x %x\n", f[0].revents, f[1].revents, f[2].revents);
    f[1].fd = -1;
    double t0 = now_s();
    SHOW(poll(f, 3, 100));
    printf("poll waited at least 0.09 s: %d\n", now_s() - t0 >= 0.09);
    pthread_t t;
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    SHOW(poll(f, 1, -1));
    printf("revents %x\n", f[0].revents);
    join(t);
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    SHOW(poll(f, 1, -1));
    printf("revents after close %x\n", f[0].revents);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(q[0], &r);
    FD_SET(q[1], &w);
    struct timeval tv = {1, 0};
    SHOW(select(q[1] + 1, &r, &w, NULL, &tv));
    printf("sets %d %d\n", FD_ISSET(q[0], &r), FD_ISSET(q[1], &w));
    FD_ZERO(&r);
    FD_SET(q[0], &r);
    tv = (struct timeval){0, 100000};
    t0 = now_s();
    SHOW(select(q[0] + 1, &r, NULL, NULL, &tv));
    printf("select waited at least 0.09 s: %d, set %d, left %ld.%06ld\n", now_s() - t0 >= 0.09,
           FD_ISSET(q[0], &r), (long)tv.tv_sec, (long)tv.tv_usec);
    spawn(write_after, (void *)(intptr_t)q[1], &t);
    FD_SET(q[0], &r);
    SHOW(pselect(q[0] + 1, &r, NULL, NULL, NULL, NULL));
    printf("set %d\n", FD_ISSET(q[0], &r));
    join(t);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 42}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
    SHOW(epoll_wait(ep, out, 4, -1));
    printf("event %x data %u\n", out[0].events, out[0].data.u32);
    read(q[0], &c, 1);
    t0 = now_s();
    SHOW(epoll_wait(ep, out, 4, 100));
    printf("epoll waited at least 0.09 s: %d\n", now_s() - t0 >= 0.09);
    spawn(write_after, (void *)(intptr_t)q[1], &t);
    SHOW(epoll_pwait2(ep, out, 4, NULL, NULL));
    join(t);
    close(ep), close(p[0]), close(q[0]), close(q[1]);
}

/* stdio on a socket after green waits on it: no O_NONBLOCK was left. */
static void case_stdio(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    spawn(write_after, (void *)(intptr_t)sv[1], &t);
    char c, line[64];
    SHOW(recv(sv[0], &c, 1, 0));
    join(t);
    write(sv[1], "line one\nline two\n", 18);
    FILE *f = fdopen(sv[0], "r");
    while (fgets(line, sizeof line, f) && strncmp(line, "line two", 8))
        printf("fgets: %s", line);
    printf("fgets: %s", line);
    SHOW(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    fclose(f);
    close(sv[1]);
}

/* A daemon closing every fd must not take libgreen's with it. */
static void case_closeall(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < max && fd < 65536; fd++)
        if (fd != idle_pipe[0] && fd != idle_pipe[1])
            close((int)fd);
    int lo = idle_pipe[0] > idle_pipe[1] ? idle_pipe[0] : idle_pipe[1];
    SHOW(close_range((unsigned)lo + 1, ~0U, 0));
    closefrom(lo + 1);
    for (int fd = lo + 1; fd < 1100; fd++)
        if (dup2(0, fd) == fd)
            close(fd);
    int p[2];
    pipe(p);
    pthread_t t;
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    char c;
    SHOW(read(p[0], &c, 1));
    join(t);
    struct timespec ts = {0, 1000000};
    SHOW(nanosleep(&ts, NULL));
    close(p[0]), close(p[1]);
}

/* Threads each running their own epoll loop over a socketpair. */
struct ring {
    int ep, fd, rounds;
};

static void *epoll_loop(void *arg)
{
    struct ring *r = arg;
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(r->ep, EPOLL_CTL_ADD, r->fd, &ev);
    int n = 0;
    while (n < r->rounds && epoll_wait(r->ep, &out, 1, 5000) == 1) {
        char c;
        if (read(r->fd, &c, 1) != 1 || write(r->fd, &c, 1) != 1)
            break;
        n++;
    }
    return (void *)(intptr_t)n;
}

static void case_epoll_loops(void)
{
    enum { LOOPS = 20, ROUNDS = 200 };
    struct ring r[LOOPS];
    int peer[LOOPS];
    pthread_t t[LOOPS];
    for (int i = 0; i < LOOPS; i++) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        r[i] = (struct ring){.ep = epoll_create1(0), .fd = sv[0], .rounds = ROUNDS};
        peer[i] = sv[1];
        spawn(epoll_loop, &r[i], &t[i]);
    }
    long ok = 0;
    for (int k = 0; k < ROUNDS; k++)
        for (int i = 0; i < LOOPS; i++) {
            char c = (char)k;
            ok += write(peer[i], &c, 1) == 1 && read(peer[i], &c, 1) == 1 && c == (char)k;
        }
    long done = 0;
    for (int i = 0; i < LOOPS; i++) {
        done += (intptr_t)join(t[i]);
        close(r[i].ep), close(r[i].fd), close(peer[i]);
    }
    printf("epoll loops: %ld round trips, %ld served\n", ok, done);
}

/* ---- sendfile, splice, tee ------------------------------------------------ */

#define FILE_SIZE (1024 * 1024)

/* A temporary file of FILE_SIZE bytes in a known pattern, unlinked. */
static int pattern_file(void)
{
    char path[] = "/tmp/io_calls.XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    unsigned char *b = malloc(FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        b[i] = (unsigned char)(i * 13 + (i >> 10));
    if (fd < 0 || write(fd, b, FILE_SIZE) != FILE_SIZE)
        abort();
    free(b);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static long pos(int fd)
{
    return (long)lseek(fd, 0, SEEK_CUR);
}

/* Fill socket fd until it would block; the bytes it took. */
static long fill(int fd)
{
    static char junk[4096];
    long n = 0, r;
    while ((r = send(fd, junk, sizeof junk, MSG_DONTWAIT)) > 0)
        n += r;
    return n;
}

struct sf_job {
    int out, in;
    size_t n;
    long r;
};

static void *sendfile_job(void *arg)
{
    struct sf_job *j = arg;
    j->r = sendfile(j->out, j->in, NULL, j->n);
    return NULL;
}

static void *echo_once(void *arg)
{
    int *p = arg;
    char c;
    if (read(p[0], &c, 1) == 1)
        write(p[1], &c, 1);
    return NULL;
}

/* sendfile to sockets and pipes: all of a blocking socket's count, what
 * fits in a pipe, offsets and file positions, the errors; a sendfile to
 * a full socket waits while the others run. */
static void case_sendfile(void)
{
    int f = pattern_file(), sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int small = 8192;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    struct stream s = {.fd = sv[1]};
    pthread_t t;
    spawn(drain, &s, &t);
    SHOW(sendfile(sv[0], f, NULL, FILE_SIZE));
    printf("position %ld\n", pos(f));
    off_t off = 1000;
    SHOW(sendfile64(sv[0], f, &off, 5000));
    printf("offset %ld position %ld\n", (long)off, pos(f));
    off = FILE_SIZE - 10;
    SHOW(sendfile(sv[0], f, &off, 100));
    printf("offset %ld\n", (long)off);
    SHOW(sendfile(sv[0], f, NULL, 100));
    shutdown(sv[0], SHUT_WR);
    join(t);
    printf("drained %zu bytes, sum %08x\n", s.n, s.sum);
    close(sv[0]), close(sv[1]);

    pipe(p);
    off = 0;
    SHOW(sendfile(p[1], f, &off, FILE_SIZE)); /* what fits: the pipe is empty */
    printf("offset %ld\n", (long)off);
    s = (struct stream){.fd = p[0]};
    spawn(drain, &s, &t);
    long r = sendfile(p[1], f, &off, FILE_SIZE);
    printf("sendfile to a full pipe, after room: %d, offset moved %d\n", r > 0 && r <= 65536,
           off == 65536 + r);
    close(p[1]);
    join(t);
    printf("pipe drained all: %d\n", s.n == (size_t)off);
    close(p[0]);

    /* A sendfile to a full socket waits; others run meanwhile. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    long filled = fill(sv[0]);
    lseek(f, 0, SEEK_SET);
    struct sf_job j = {.out = sv[0], .in = f, .n = 100000};
    pthread_t tj, te;
    spawn(sendfile_job, &j, &tj);
    int ping[2], pong[2], ends[2];
    pipe(ping), pipe(pong);
    ends[0] = ping[0], ends[1] = pong[1];
    spawn(echo_once, ends, &te);
    char c = 'e';
    write(ping[1], &c, 1);
    SHOW(read(pong[0], &c, 1)); /* another thread ran while sendfile waits */
    join(te);
    s = (struct stream){.fd = sv[1]};
    shutdown(sv[1], SHUT_WR);
    pthread_t td;
    spawn(drain, &s, &td);
    join(tj);
    shutdown(sv[0], SHUT_WR);
    join(td);
    printf("sendfile to a full socket: %ld, drained %d\n", j.r, s.n == (size_t)(filled + j.r));
    printf("position %ld\n", pos(f));
    close(sv[0]), close(sv[1]), close(ping[0]), close(ping[1]), close(pong[0]), close(pong[1]);

    /* The program's O_NONBLOCK, closed peer, bad input. */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fill(sv[0]);
    SHOW(sendfile(sv[0], f, NULL, 10));
    close(sv[1]);
    signal(SIGPIPE, SIG_IGN);
    SHOW(sendfile(sv[0], f, NULL, 10));
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    int wr = open("/dev/null", O_WRONLY), dir = open("/", O_RDONLY);
    off = -1;
    SHOW(sendfile(sv[0], f, &off, 10));
    SHOW(sendfile(sv[0], -1, NULL, 10));
    SHOW(sendfile(-1, f, NULL, 10));
    SHOW(sendfile(sv[0], wr, NULL, 10));
    SHOW(sendfile(sv[0], p[0], NULL, 10));
    SHOW(sendfile(sv[0], dir, NULL, 10));
    SHOW(sendfile(sv[0], f, bad_ptr, 10));
    SHOW(sendfile(p[0], f, NULL, 10));
    SHOW(sendfile(sv[0], f, NULL, 0));
    SHOW(sendfile(sv[0], f, NULL, (size_t)-1));
    close(wr), close(dir), close(p[0]), close(p[1]), close(sv[0]), close(sv[1]), close(f);
}

static void case_splice(void)
{
    int f = pattern_file(), sv[2], p[2], q[2];
    char buf[4096];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p), pipe(q);
    pthread_t t;
    /* pipe to socket, socket to pipe, each waiting for its input */
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    SHOW(splice(p[0], NULL, sv[0], NULL, 100, 0));
    join(t);
    spawn(write_after, (void *)(intptr_t)sv[1], &t);
    SHOW(splice(sv[0], NULL, q[1], NULL, 100, 0));
    join(t);
    SHOW(read(q[0], buf, sizeof buf));
    SHOW(read(sv[1], buf, sizeof buf));
    /* a whole pipe's worth to a small socket buffer: all of it goes */
    int small = 8192;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    off_t off = 0;
    SHOW(sendfile(p[1], f, &off, 65536));
    struct stream s = {.fd = sv[1]};
    spawn(drain, &s, &t);
    SHOW(splice(p[0], NULL, sv[0], NULL, 100000, SPLICE_F_MORE));
    shutdown(sv[0], SHUT_WR);
    join(t);
    printf("drained %zu bytes, sum %08x\n", s.n, s.sum);
    /* file to pipe at an offset and at the position, pipe to pipe, tee */
    loff_t lo = 10;
    SHOW(splice(f, &lo, p[1], NULL, 100, 0));
    printf("offset %ld position %ld\n", (long)lo, pos(f));
    SHOW(splice(f, NULL, p[1], NULL, 50, 0));
    printf("position %ld\n", pos(f));
    SHOW(tee(p[0], q[1], 1000, 0));
    SHOW(splice(p[0], NULL, q[1], NULL, 1000, 0));
    SHOW(read(q[0], buf, sizeof buf));
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    SHOW(splice(p[0], NULL, q[1], NULL, 1000, 0));
    join(t);
    spawn(write_after, (void *)(intptr_t)p[1], &t);
    SHOW(tee(p[0], q[1], 1000, 0));
    join(t);
    SHOW(read(q[0], buf, sizeof buf));
    SHOW(read(p[0], buf, sizeof buf));
    /* a full output pipe waits for room */
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    long full = 0, r;
    fcntl(q[1], F_SETFL, O_NONBLOCK);
    while ((r = write(q[1], buf, sizeof buf)) > 0)
        full += r;
    fcntl(q[1], F_SETFL, 0);
    write(p[1], "z", 1);
    s = (struct stream){.fd = q[0]};
    spawn(drain, &s, &t);
    SHOW(splice(p[0], NULL, q[1], NULL, 1, 0));
    close(q[1]);
    join(t);
    printf("pipe drained %d\n", s.n == (size_t)full + 1);
    pipe(q);
    /* the program's flags, bad input */
    SHOW(splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    SHOW(tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    SHOW(splice(p[0], NULL, sv[1], NULL, 10, 0));
    fcntl(p[0], F_SETFL, 0);
    SHOW(splice(sv[0], NULL, sv[1], NULL, 10, 0));
    SHOW(splice(-1, NULL, q[1], NULL, 10, 0));
    SHOW(splice(p[0], NULL, -1, NULL, 10, 0));
    lo = 0;
    SHOW(splice(p[0], &lo, q[1], NULL, 10, 0));
    lo = -1;
    SHOW(splice(f, &lo, q[1], NULL, 10, 0));
    SHOW(splice(p[0], NULL, q[1], NULL, 0, 0));
    SHOW(tee(f, q[1], 10, 0));
    SHOW(tee(p[0], p[0], 10, 0));
    SHOW(splice(p[0], NULL, q[1], NULL, 10, 0xff00));
    close(sv[0]), close(sv[1]), close(p[0]), close(p[1]), close(q[0]), close(q[1]), close(f);
}

/* ---- a thread left alone, signals during a read -------------------------- */

static pthread_t idle_thread;

static void idle_start(void)
{
    spawn(idle, NULL, &idle_thread);
}

static void idle_stop(void)
{
    write(idle_pipe[1], "x", 1);
    join(idle_thread);
}

/* Returns once process pid sleeps in the kernel (its main thread's
 * state is S): the caller is then sure pid is blocked in its call. */
static void until_sleeping(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (;;) {
        int fd = open(path, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            _exit(3);
        buf[n] = 0;
        char *st = strrchr(buf, ')');
        if (st && st[1] == ' ' && st[2] == 'S')
            return;
        sched_yield();
    }
}

/* A child that waits for a byte on go, then for the parent to sleep,
 * then runs fn. */
static pid_t child_after_go(int go, void (*fn)(pid_t parent))
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        char c;
        if (read(go, &c, 1) != 1)
            _exit(2);
        until_sleeping(parent);
        fn(parent);
        _exit(0);
    }
    return pid;
}

static void connect_and_say(pid_t parent)
{
    (void)parent;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) == 0)
        write(fd, "k", 1);
    close(fd);
}

/* After a green accept (while another thread lived) left libgreen's
 * hidden O_NONBLOCK on the listening socket, an accept by a thread that
 * is now alone still blocks until a connection comes. */
static void case_accept_alone(void)
{
    int lfd = listener(&server), go[2];
    pthread_t t;
    spawn(client, NULL, &t);
    int fd = accept(lfd, NULL, NULL);
    send(fd, "first", 5, 0);
    join(t);
    puts(client_got);
    close(fd);
    idle_stop();
    pipe(go);
    pid_t pid = child_after_go(go[0], connect_and_say);
    write(go[1], "g", 1);
    fd = accept(lfd, NULL, NULL);
    printf("accept alone: %d %s\n", fd >= 0, fd < 0 ? strerrorname_np(errno) : "");
    char c = 0;
    SHOW(read(fd, &c, 1));
    printf("got %c\n", c);
    SHOW(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", status);
    close(fd), close(lfd), close(go[0]), close(go[1]);
    idle_start();
}

static int data_pipe[2], ack_pipe[2];

static void on_usr1(int sig)
{
    (void)sig;
    write(ack_pipe[1], "a", 1);
}

/* Signal the parent, wait until its handler ran, then send the data. */
static void signal_then_data(pid_t parent)
{
    char c;
    kill(parent, SIGUSR1);
    if (read(ack_pipe[0], &c, 1) != 1)
        _exit(4);
    write(data_pipe[1], "d", 1);
}

/* A thread that writes "abc" to the fd it is given at each 'g' read
 * from pong, and closes it at 'q'. */
static int pong[2];

static void *feed(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    while (read(pong[0], &c, 1) == 1 && c == 'g')
        write(fd, "abc", 3);
    close(fd);
    return NULL;
}

/* Reads of rfd that each ask feed for data first: under libgreen every
 * one finds nothing and waits, so rfd is learned as a fd to wait for
 * before the first attempt (fdguess.c). Short counts, as natively. */
static void train(int rfd, int wfd, pthread_t *t)
{
    char buf[10];
    pipe(pong);
    spawn(feed, (void *)(intptr_t)wfd, t);
    for (int i = 0; i < 4; i++) {
        write(pong[1], "g", 1);
        SHOW(read(rfd, buf, sizeof buf));
    }
}

static void untrain(pthread_t t)
{
    write(pong[1], "q", 1);
    join(t);
    close(pong[0]), close(pong[1]);
}

/* A read blocked on a pipe and interrupted by a handler: it resumes and
 * returns the data with SA_RESTART, fails with EINTR without. learned:
 * on a pipe libgreen has learned to wait for before reading. */
static void read_intr(int restart, int learned)
{
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    int go[2];
    pipe(data_pipe), pipe(ack_pipe), pipe(go);
    if (learned) {
        pthread_t t;
        int keep = dup(data_pipe[1]);
        train(data_pipe[0], data_pipe[1], &t);
        untrain(t); /* feed closed its end: the child writes through keep */
        data_pipe[1] = keep;
    }
    pid_t pid = child_after_go(go[0], signal_then_data);
    write(go[1], "g", 1);
    char c = 0;
    printf("%sSA_RESTART %d: ", learned ? "learned, " : "", restart);
    SHOW(read(data_pipe[0], &c, 1));
    if (c != 'd')
        SHOW(read(data_pipe[0], &c, 1));
    printf("got %c\n", c);
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", status);
    close(go[0]), close(go[1]), close(data_pipe[0]), close(data_pipe[1]);
    close(ack_pipe[0]), close(ack_pipe[1]);
    signal(SIGUSR1, SIG_DFL);
}

static void case_read_intr(void)
{
    read_intr(1, 0);
    read_intr(0, 0);
}

/* Once libgreen waits before reading, reads still end as natively: a
 * timeout with EAGAIN, EOF, and a handler's EINTR (or, with SA_RESTART,
 * the data). */
static void case_learned(void)
{
    int sv[2];
    char c = 0;
    pthread_t t;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    train(sv[0], sv[1], &t);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double t0 = now_s();
    SHOW(read(sv[0], &c, 1));
    printf("waited at least 0.09 s: %d\n", now_s() - t0 >= 0.09);
    untrain(t);
    SHOW(read(sv[0], &c, 1));
    close(sv[0]);
    read_intr(1, 1);
    read_intr(0, 1);
}

/* Under libgreen only: close of a fd another thread waits on wakes it
 * with EBADF. */
static void *reader(void *arg)
{
    char c;
    show("reader after close", read((int)(intptr_t)arg, &c, 1));
    return NULL;
}

static void case_closewait(void)
{
    int p[2];
    pipe(p);
    pthread_t t;
    spawn(reader, (void *)(intptr_t)p[0], &t);
    sched_yield();
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    SHOW(close(p[0]));
    join(t);
    close(p[1]);
}

/* Read standard input to its end in a thread (green waits on a pipe the
 * parent shares). */
static void *read_stdin(void *arg)
{
    char buf[512];
    ssize_t r;
    size_t *n = arg;
    while ((r = read(0, buf, sizeof buf)) > 0)
        *n += (size_t)r;
    return NULL;
}

static void case_stdin(void)
{
    size_t n = 0;
    pthread_t t;
    spawn(read_stdin, &n, &t);
    join(t);
    printf("stdin: %zu bytes, O_NONBLOCK %d\n", n, (fcntl(0, F_GETFL) & O_NONBLOCK) != 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
    int by_default;
} cases[] = {
    {"nonblock", case_nonblock, 1},
    {"timeout", case_timeout, 1},
    {"accept", case_accept, 1},
    {"stream", case_stream, 1},
    {"bad", case_bad, 1},
    {"poll", case_poll, 1},
    {"stdio", case_stdio, 1},
    {"epoll_loops", case_epoll_loops, 1},
    {"closeall", case_closeall, 1},
    {"closewait", case_closewait, 0},
    {"stdin", case_stdin, 0},
    {"sendfile", case_sendfile, 1},
    {"splice", case_splice, 1},
    {"accept_alone", case_accept_alone, 1},
    {"read_intr", case_read_intr, 1},
    {"learned", case_learned, 1},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pipe(idle_pipe);
    idle_start();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int run = argc == 1 && cases[i].by_default;
        for (int a = 1; a < argc; a++)
            run |= strcmp(argv[a], cases[i].name) == 0;
        if (run) {
            printf("== %s\n", cases[i].name);
            cases[i].fn();
        }
    }
    idle_stop();
    return 0;
}
