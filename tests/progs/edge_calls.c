/* edge_calls: every I/O, polling, sleep and signal-wait call on every
 * kind of fd and with edge arguments (zero lengths, the wrong direction,
 * the wrong kind of fd, bad pointers), one result per line, so that a
 * run under libgreen can be compared with a native one.
 *
 *   edge_calls
 *
 * A helper thread blocked in read exists throughout (it blocks every
 * signal), so under libgreen each call takes its waiting path instead of
 * passing through. The table crosses fd kinds with calls; each case gets
 * fresh fds. A case that would block natively is ended by a repeating
 * SIGALRM (a handler without SA_RESTART: EINTR), so that a call libgreen
 * wrongly makes wait for ever shows as a difference instead of a hang.
 * Cases where another thread must run while the call waits (FIFO readers
 * and writers, poll asking only for POLLPRI on a file, select beyond
 * FD_SETSIZE) would hang the whole process if the call blocked the OS
 * thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char dir[64];

/* Hidden from the compiler, which would warn about them. */
static void *volatile bad_ptr = (void *)1;

static void show(const char *op, const char *kind, long r, int e)
{
    printf("%s %s: %ld %s\n", op, kind, r, r < 0 ? strerrorname_np(e) : "");
}

/* ---- the guard against calls that block ------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
}

static void guard(int on)
{
    struct itimerval it = {{0, on ? 50000 : 0}, {0, on ? 50000 : 0}};
    setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- the helper thread that keeps another thread alive ------------------ */

static int idle_pipe[2];

/* Blocks every signal and waits for a byte on the pipe arg reads. */
static void *idle(void *arg)
{
    char c;
    sigset_t all;
    sigfillset(&all); /* signals go to main, natively too */
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (read((int)(intptr_t)arg, &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* ---- fds of every kind ---------------------------------------------------- */

#define MAXFD 8
static int opened[MAXFD], nopened;

static int keep(int fd)
{
    if (fd < 0) {
        perror("edge_calls: making a fd");
        exit(2);
    }
    if (nopened < MAXFD)
        opened[nopened++] = fd;
    return fd;
}

static void close_all(void)
{
    while (nopened)
        close(opened[--nopened]);
}

static struct sockaddr_in loopback(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static int tcp_listener(struct sockaddr_in *sa)
{
    int l = keep(socket(AF_INET, SOCK_STREAM, 0));
    socklen_t len = sizeof *sa;
    *sa = loopback();
    if (bind(l, (struct sockaddr *)sa, len) < 0 || listen(l, 8) < 0 ||
        getsockname(l, (struct sockaddr *)sa, &len) < 0)
        exit(2);
    return l;
}

/* A connected TCP socket; *peer gets the other end. */
static int tcp_pair(int *peer)
{
    struct sockaddr_in sa;
    int l = tcp_listener(&sa), c = keep(socket(AF_INET, SOCK_STREAM, 0));
    if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0)
        exit(2);
    *peer = keep(accept(l, NULL, NULL));
    return c;
}

static int mk_pipe(int end)
{
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    keep(p[0]), keep(p[1]);
    return p[end];
}

static int mk_pipe_r(void)
{
    return mk_pipe(0);
}
static int mk_pipe_w(void)
{
    return mk_pipe(1);
}

static int fifo_no, fifo_rdwr;

/* A FIFO opened with open(): O_RDWR never waits for a partner, and a
 * second descriptor gives the end asked for. */
static int mk_fifo(int flags)
{
    char path[96];
    snprintf(path, sizeof path, "%s/fifo%d", dir, fifo_no++);
    if (mkfifo(path, 0600) < 0)
        exit(2);
    fifo_rdwr = keep(open(path, O_RDWR));
    int fd = keep(open(path, flags));
    unlink(path);
    return fd;
}

static int mk_fifo_r(void)
{
    return mk_fifo(O_RDONLY);
}
static int mk_fifo_w(void)
{
    return mk_fifo(O_WRONLY);
}

/* The end asked for, the O_RDWR end closed: no writer, or no reader. */
static int mk_fifo_alone(int flags)
{
    int fd = mk_fifo(flags);
    close(fifo_rdwr);
    for (int i = 0; i < nopened; i++)
        if (opened[i] == fifo_rdwr)
            opened[i] = opened[--nopened];
    return fd;
}

static int mk_fifo_r_alone(void)
{
    return mk_fifo_alone(O_RDONLY);
}
static int mk_fifo_w_alone(void)
{
    return mk_fifo_alone(O_WRONLY);
}
static int mk_dir(void)
{
    return keep(open(dir, O_RDONLY | O_DIRECTORY));
}
static int mk_opath(void)
{
    return keep(open(dir, O_PATH));
}
static int mk_null(void)
{
    return keep(open("/dev/null", O_RDWR));
}
static int mk_eventfd(void)
{
    return keep(eventfd(0, 0));
}
static int mk_timerfd(void)
{
    return keep(timerfd_create(CLOCK_MONOTONIC, 0));
}
static int mk_epoll(void)
{
    return keep(epoll_create1(0));
}
static int mk_inotify(void)
{
    return keep(inotify_init());
}

static int mk_file(void)
{
    char path[96];
    snprintf(path, sizeof path, "%s/file", dir);
    int fd = keep(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600));
    write(fd, "abcdef", 6);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static int mk_signalfd(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    return keep(signalfd(-1, &s, 0));
}

static int mk_unix_stream(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        exit(2);
    keep(sv[1]);
    return keep(sv[0]);
}

static int mk_unix_dgram(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        exit(2);
    keep(sv[1]);
    return keep(sv[0]);
}

static int mk_unix_dgram_unbound(void)
{
    return keep(socket(AF_UNIX, SOCK_DGRAM, 0));
}
static int mk_tcp_unconnected(void)
{
    return keep(socket(AF_INET, SOCK_STREAM, 0));
}

static int mk_tcp(void)
{
    int peer;
    return tcp_pair(&peer);
}

static int mk_tcp_listen(void)
{
    struct sockaddr_in sa;
    return tcp_listener(&sa);
}

/* A TCP socket whose peer closed with a reset (SO_LINGER 0). */
static int mk_tcp_reset(void)
{
    int peer, c = tcp_pair(&peer);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(peer);
    struct pollfd p = {.fd = c, .events = POLLIN};
    poll(&p, 1, 1000); /* the reset has come */
    return c;
}

static int mk_udp(void)
{
    struct sockaddr_in sa = loopback();
    int fd = keep(socket(AF_INET, SOCK_DGRAM, 0));
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    return fd;
}

static int mk_udp_connected(void)
{
    struct sockaddr_in sa = loopback();
    socklen_t len = sizeof sa;
    int a = mk_udp(), b = mk_udp();
    getsockname(b, (struct sockaddr *)&sa, &len);
    connect(a, (struct sockaddr *)&sa, len);
    return a;
}

static const struct kind {
    const char *name;
    int (*make)(void);
} kinds[] = {
    {"pipe_r", mk_pipe_r},
    {"pipe_w", mk_pipe_w},
    {"fifo_r", mk_fifo_r},
    {"fifo_w", mk_fifo_w},
    {"fifo_r_alone", mk_fifo_r_alone},
    {"fifo_w_alone", mk_fifo_w_alone},
    {"dir", mk_dir},
    {"file", mk_file},
    {"opath", mk_opath},
    {"devnull", mk_null},
    {"eventfd", mk_eventfd},
    {"timerfd", mk_timerfd},
    {"signalfd", mk_signalfd},
    {"epoll", mk_epoll},
    {"inotify", mk_inotify},
    {"unix_stream", mk_unix_stream},
    {"unix_dgram", mk_unix_dgram},
    {"unix_dgram_unbound", mk_unix_dgram_unbound},
    {"tcp", mk_tcp},
    {"tcp_listen", mk_tcp_listen},
    {"tcp_unconnected", mk_tcp_unconnected},
    {"tcp_reset", mk_tcp_reset},
    {"udp", mk_udp},
    {"udp_connected", mk_udp_connected},
};

/* ---- calls: each returns the call's result, errno left by it ------------ */

static char buf[256];

static long op_read0(int fd)
{
    return read(fd, buf, 0);
}
static long op_read1(int fd)
{
    return read(fd, buf, 1);
}
static long op_read_bad(int fd)
{
    return read(fd, bad_ptr, 16);
}
static long op_write0(int fd)
{
    return write(fd, buf, 0);
}
static long op_write1(int fd)
{
    return write(fd, "x", 1);
}
static long op_write_bad(int fd)
{
    return write(fd, bad_ptr, 16);
}
static long op_readv0(int fd)
{
    return readv(fd, &(struct iovec){buf, 0}, 1);
}
static long op_writev_bad(int fd)
{
    return writev(fd, bad_ptr, 1);
}
static long op_sendmsg_bad(int fd)
{
    return sendmsg(fd, bad_ptr, 0);
}
static long op_readv_bad(int fd)
{
    return readv(fd, bad_ptr, 1);
}
static long op_writev0(int fd)
{
    return writev(fd, &(struct iovec){buf, 0}, 1);
}
static long op_pread0(int fd)
{
    return pread(fd, buf, 0, 0);
}
static long op_pread1(int fd)
{
    return pread(fd, buf, 1, 0);
}
static long op_pwrite0(int fd)
{
    return pwrite(fd, buf, 0, 0);
}
static long op_preadv2_0(int fd)
{
    return preadv2(fd, &(struct iovec){buf, 0}, 1, -1, 0);
}
static long op_pwritev2_0(int fd)
{
    return pwritev2(fd, &(struct iovec){buf, 0}, 1, -1, 0);
}
static long op_recv0(int fd)
{
    return recv(fd, buf, 0, 0);
}
static long op_recv1(int fd)
{
    return recv(fd, buf, 1, 0);
}
static long op_recv_oob(int fd)
{
    return recv(fd, buf, 1, MSG_OOB);
}
static long op_recv_errqueue(int fd)
{
    return recv(fd, buf, 1, MSG_ERRQUEUE);
}
static long op_recv_bad(int fd)
{
    return recv(fd, bad_ptr, 16, 0);
}
static long op_recvfrom0(int fd)
{
    return recvfrom(fd, buf, 0, 0, NULL, NULL);
}
static long op_send0(int fd)
{
    return send(fd, buf, 0, 0);
}
static long op_send1(int fd)
{
    return send(fd, "x", 1, 0);
}
static long op_send_oob(int fd)
{
    return send(fd, "x", 1, MSG_OOB);
}
static long op_sendto0(int fd)
{
    return sendto(fd, buf, 0, 0, NULL, 0);
}

static long op_recvmsg0(int fd)
{
    struct msghdr m = {.msg_iov = &(struct iovec){buf, 0}, .msg_iovlen = 1};
    return recvmsg(fd, &m, 0);
}

static long op_recvmsg_errqueue(int fd)
{
    struct msghdr m = {.msg_iov = &(struct iovec){buf, 1}, .msg_iovlen = 1};
    return recvmsg(fd, &m, MSG_ERRQUEUE);
}

static long op_recvmsg_bad(int fd)
{
    return recvmsg(fd, bad_ptr, 0);
}

static long op_sendmsg0(int fd)
{
    struct msghdr m = {.msg_iov = &(struct iovec){buf, 0}, .msg_iovlen = 1};
    return sendmsg(fd, &m, 0);
}

static long op_recvmmsg1(int fd)
{
    struct mmsghdr m = {.msg_hdr = {.msg_iov = &(struct iovec){buf, 1}, .msg_iovlen = 1}};
    return recvmmsg(fd, &m, 1, 0, NULL);
}

static long op_sendmmsg0(int fd)
{
    struct mmsghdr m = {.msg_hdr = {.msg_iov = &(struct iovec){buf, 0}, .msg_iovlen = 1}};
    return sendmmsg(fd, &m, 1, 0);
}

static long op_accept(int fd)
{
    return accept(fd, NULL, NULL);
}
static long op_accept4(int fd)
{
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}
static long op_accept_bad(int fd)
{
    return accept(fd, bad_ptr, bad_ptr);
}

/* To a loopback port nobody listens on (refused), or a bad address. */
static long op_connect(int fd)
{
    struct sockaddr_in sa;
    int l = tcp_listener(&sa);
    close(l);
    nopened--;
    return connect(fd, (struct sockaddr *)&sa, sizeof sa);
}

static long op_connect_bad(int fd)
{
    return connect(fd, bad_ptr, sizeof(struct sockaddr_in));
}

/* fd as the output of sendfile from a regular file, and as its input
 * into a pipe. */
static long op_sendfile_out(int fd)
{
    return sendfile(fd, mk_file(), NULL, 1);
}
static long op_sendfile_in(int fd)
{
    return sendfile(mk_pipe_w(), fd, NULL, 1);
}
static long op_sendfile_in0(int fd)
{
    return sendfile(mk_pipe_w(), fd, NULL, 0);
}

/* fd as the input of splice into a pipe, and as its output from a pipe
 * holding data. */
static long op_splice_in(int fd)
{
    return splice(fd, NULL, mk_pipe_w(), NULL, 1, 0);
}

static long op_splice_out(int fd)
{
    int p[2];
    pipe(p);
    keep(p[0]), keep(p[1]);
    write(p[1], "x", 1);
    return splice(p[0], NULL, fd, NULL, 1, 0);
}

static long op_tee_in(int fd)
{
    return tee(fd, mk_pipe_w(), 1, 0);
}

static volatile int woke;
static int poke_fd;

static void *poke(void *arg)
{
    (void)arg;
    woke = 1;
    write(poke_fd, "x", 1);
    return NULL;
}

/* Waits until another thread writes a pipe, with fd asked for what may
 * never come: the other thread must run meanwhile. */
static long poll_with(int fd, short events, char *out, size_t n)
{
    pthread_t t;
    int p[2];
    guard(0); /* the other thread ends the wait, however late it runs */
    pipe(p);
    keep(p[0]), keep(p[1]);
    poke_fd = p[1];
    CHECK(pthread_create(&t, NULL, poke, NULL));
    struct pollfd f[2] = {{.fd = fd, .events = events}, {.fd = p[0], .events = POLLIN}};
    long r = poll(f, 2, -1);
    int e = errno;
    CHECK(pthread_join(t, NULL));
    /* Whether the pipe was ready too depends on when the other thread ran
     * (at once when fd alone ends the wait): only fd's part is shown. */
    snprintf(out, n, "%#x", f[0].revents);
    errno = e;
    return r > 0 ? r - (f[1].revents != 0) : r;
}

static char extra[64];

static long op_poll_pri(int fd)
{
    return poll_with(fd, POLLPRI, extra, sizeof extra);
}
static long op_poll_none(int fd)
{
    return poll_with(fd, 0, extra, sizeof extra);
}

/* select with fd in exceptfds only, nfds beyond FD_SETSIZE when big. */
static long select_with(int fd, int big)
{
    pthread_t t;
    int p[2];
    guard(0); /* as poll_with */
    pipe(p);
    keep(p[0]), keep(p[1]);
    poke_fd = p[1];
    int n = big ? FD_SETSIZE * 2 : (fd > p[0] ? fd : p[0]) + 1;
    unsigned long rs[FD_SETSIZE * 2 / 64] = {0}, es[FD_SETSIZE * 2 / 64] = {0};
    rs[p[0] / 64] |= 1UL << (p[0] % 64);
    es[fd / 64] |= 1UL << (fd % 64);
    CHECK(pthread_create(&t, NULL, poke, NULL));
    long r = select(n, (fd_set *)rs, NULL, (fd_set *)es, NULL);
    int e = errno, pipe_ready = (int)((rs[p[0] / 64] >> (p[0] % 64)) & 1);
    CHECK(pthread_join(t, NULL));
    snprintf(extra, sizeof extra, "%d", (int)((es[fd / 64] >> (fd % 64)) & 1)); /* as poll_with */
    errno = e;
    return r > 0 ? r - pipe_ready : r;
}

static long op_select_exc(int fd)
{
    return select_with(fd, 0);
}
static long op_select_big(int fd)
{
    return select_with(fd, 1);
}

static const struct op {
    const char *name;
    long (*call)(int fd);
} ops[] = {
    {"read0", op_read0},
    {"read1", op_read1},
    {"read_bad", op_read_bad},
    {"write0", op_write0},
    {"write1", op_write1},
    {"write_bad", op_write_bad},
    {"readv0", op_readv0},
    {"readv_bad", op_readv_bad},
    {"writev0", op_writev0},
    {"writev_bad", op_writev_bad},
    {"pread0", op_pread0},
    {"pread1", op_pread1},
    {"pwrite0", op_pwrite0},
    {"preadv2_0", op_preadv2_0},
    {"pwritev2_0", op_pwritev2_0},
    {"recv0", op_recv0},
    {"recv1", op_recv1},
    {"recv_oob", op_recv_oob},
    {"recv_errqueue", op_recv_errqueue},
    {"recv_bad", op_recv_bad},
    {"recvfrom0", op_recvfrom0},
    {"recvmsg0", op_recvmsg0},
    {"recvmsg_errqueue", op_recvmsg_errqueue},
    {"recvmsg_bad", op_recvmsg_bad},
    {"recvmmsg1", op_recvmmsg1},
    {"send0", op_send0},
    {"send1", op_send1},
    {"send_oob", op_send_oob},
    {"sendto0", op_sendto0},
    {"sendmsg0", op_sendmsg0},
    {"sendmsg_bad", op_sendmsg_bad},
    {"sendmmsg0", op_sendmmsg0},
    {"accept", op_accept},
    {"accept4", op_accept4},
    {"accept_bad", op_accept_bad},
    {"connect", op_connect},
    {"connect_bad", op_connect_bad},
    {"sendfile_out", op_sendfile_out},
    {"sendfile_in", op_sendfile_in},
    {"sendfile_in0", op_sendfile_in0},
    {"splice_in", op_splice_in},
    {"splice_out", op_splice_out},
    {"tee_in", op_tee_in},
    {"poll_pri", op_poll_pri},
    {"poll_none", op_poll_none},
    {"select_exc", op_select_exc},
    {"select_big", op_select_big},
};

/* A zero-length recv on an empty TCP socket waits, and when a signal
 * ends the wait it returns 0, not EINTR: the guard cannot end it alike. */
static int skipped(const char *op, const char *kind)
{
    return strcmp(kind, "tcp") == 0 && (strcmp(op, "recv0") == 0 || strcmp(op, "recvfrom0") == 0 ||
                                        strcmp(op, "recvmsg0") == 0);
}

static void matrix(void)
{
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (skipped(ops[o].name, kinds[k].name))
                continue;
            int fd = kinds[k].make();
            extra[0] = 0;
            guard(1);
            errno = 0;
            long r = ops[o].call(fd);
            int e = errno;
            guard(0);
            show(ops[o].name, kinds[k].name, r, e);
            if (extra[0])
                printf("  fd's revents %s\n", extra);
            close_all();
        }
}

/* ---- FIFOs opened with open(), shared by threads ------------------------- */

static int report[2];

static void *fifo_reader(void *arg)
{
    char b[16];
    ssize_t n = read((int)(intptr_t)arg, b, sizeof b);
    write(report[1], b, n > 0 ? (size_t)n : 0);
    return NULL;
}

/* Two threads read one FIFO: the first read takes what is there, the
 * second waits for more while main writes it. */
static void fifo_two_readers(void)
{
    int fd = mk_fifo_r();
    char got[8] = {0};
    pthread_t a, b;
    pipe(report);
    CHECK(pthread_create(&a, NULL, fifo_reader, (void *)(intptr_t)fd));
    CHECK(pthread_create(&b, NULL, fifo_reader, (void *)(intptr_t)fd));
    sched_yield();
    write(fifo_rdwr, "ab", 2);
    read(report[0], got, 2);
    printf("fifo first reader: %s\n", got);
    write(fifo_rdwr, "cd", 2);
    memset(got, 0, sizeof got);
    read(report[0], got, 2);
    printf("fifo second reader: %s\n", got);
    CHECK(pthread_join(a, NULL));
    CHECK(pthread_join(b, NULL));
    close(report[0]), close(report[1]);
    close_all();
}

#define MIB (1024 * 1024)

static void *fifo_drain(void *arg)
{
    static char b[65536];
    size_t total = 0;
    ssize_t n;
    while (total < MIB && (n = read((int)(intptr_t)arg, b, sizeof b)) > 0)
        total += (size_t)n;
    return (void *)total;
}

/* A 1 MiB write into a FIFO that another thread drains. */
static void fifo_big_write(void)
{
    char path[96];
    snprintf(path, sizeof path, "%s/bigfifo", dir);
    mkfifo(path, 0600);
    int r = keep(open(path, O_RDWR)), w = keep(open(path, O_WRONLY));
    unlink(path);
    char *data = calloc(1, MIB);
    pthread_t t;
    void *total;
    CHECK(pthread_create(&t, NULL, fifo_drain, (void *)(intptr_t)r));
    long n = write(w, data, MIB);
    CHECK(pthread_join(t, &total));
    printf("fifo 1 MiB write: %ld, drained %zu\n", n, (size_t)total);
    free(data);
    close_all();
}

/* F_SETFL O_NONBLOCK and FIONBIO on FIFOs just opened. */
static void fifo_nonblock(void)
{
    int a = mk_fifo_r(), b = mk_fifo_r(), on = 1;
    fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
    ioctl(b, FIONBIO, &on);
    errno = 0;
    long r = read(a, buf, 1);
    show("read", "fifo after F_SETFL O_NONBLOCK", r, errno);
    r = read(b, buf, 1);
    show("read", "fifo after FIONBIO", r, errno);
    printf("F_GETFL O_NONBLOCK %d %d\n", (fcntl(a, F_GETFL) & O_NONBLOCK) != 0,
           (fcntl(b, F_GETFL) & O_NONBLOCK) != 0);
    close_all();
}

/* ---- sleeps and signal waits with bad pointers --------------------------- */

#define SHOW(call)                  \
    do {                            \
        errno = 0;                  \
        long r_ = (long)(call);     \
        show(#call, "", r_, errno); \
    } while (0)

static void bad_pointers(void)
{
    struct timespec ts = {0, 1000000};
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    SHOW(nanosleep(bad_ptr, NULL));
    SHOW(nanosleep(&ts, bad_ptr));
    SHOW(clock_nanosleep(CLOCK_MONOTONIC, 0, bad_ptr, NULL));
    SHOW(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, bad_ptr, NULL));
    SHOW(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, bad_ptr));
    SHOW(sigsuspend(bad_ptr));
    /* A bad new set crashes in glibc natively too: only the old one. */
    SHOW(pthread_sigmask(SIG_BLOCK, &usr2, bad_ptr));
    SHOW(pthread_sigmask(SIG_BLOCK, NULL, bad_ptr));
    SHOW(sigprocmask(SIG_UNBLOCK, &usr2, bad_ptr));
    SHOW(sigtimedwait(bad_ptr, NULL, &ts));
    SHOW(sigtimedwait(&usr2, NULL, bad_ptr));
    SHOW(sigwaitinfo(bad_ptr, NULL));
    SHOW(pthread_getname_np(pthread_self(), bad_ptr, 16));
    pthread_t t;
    int p[2];
    pipe(p);
    CHECK(pthread_create(&t, NULL, idle, (void *)(intptr_t)p[0]));
    SHOW(pthread_getname_np(t, bad_ptr, 16));
    write(p[1], "x", 1);
    CHECK(pthread_join(t, NULL));
    close(p[0]), close(p[1]);
    /* A signal pending for sigtimedwait with a bad siginfo. */
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    raise(SIGUSR2);
    SHOW(sigtimedwait(&usr2, bad_ptr, &ts));
    SHOW(sigtimedwait(&usr2, NULL, &(struct timespec){0, 0}));
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    SHOW(waitid(P_PID, (id_t)pid, bad_ptr, WEXITED));
    SHOW(waitpid(pid, NULL, 0));
    guard(1);
    SHOW(waitid(P_ALL, 0, bad_ptr, WEXITED));
    guard(0);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL); /* whatever the parent blocked */
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "/tmp/edge_calls.%d", (int)getpid());
    if (mkdir(dir, 0700) < 0)
        return 2;
    pipe(idle_pipe);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle, (void *)(intptr_t)idle_pipe[0]));
    matrix();
    fifo_two_readers();
    fifo_big_write();
    fifo_nonblock();
    bad_pointers();
    write(idle_pipe[1], "x", 1);
    CHECK(pthread_join(t, NULL));
    char path[96];
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
