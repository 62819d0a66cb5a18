/* echo_fleet: a closed-loop load generator for echo servers, on loopback.
 *
 * Usage: echo_fleet HOST PORT CONNS SECONDS [MSG_SIZE=64]
 *
 * Opens CONNS TCP connections to HOST:PORT (a loopback address; anything
 * else is refused), then for SECONDS keeps one request in flight on each:
 * send MSG_SIZE bytes, wait for all of them to come back, check every
 * byte, send the next. One thread, one epoll set, non-blocking sockets:
 * the generator must not be what limits a server of thousands of threads.
 * Requests in flight when time is up get a short grace period to finish.
 *
 * Prints one line:
 *   conns N ok N failed N requests N seconds S req_per_s R p99_us P
 * where failed counts connections that could not connect or broke (error,
 * early EOF, wrong byte, no answer within the grace period); ok are the
 * others. Failures are counted, not fatal: the exit status is 0 whenever
 * the run took place, 2 for bad arguments, 1 when it could not start.
 *
 * Every phase has a deadline, so a stuck server costs at most
 * CONNECT_TIMEOUT + SECONDS + GRACE. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S INT64_C(1000000000)
#define CONNECT_TIMEOUT (10 * NS_PER_S)
#define GRACE (2 * NS_PER_S)
#define SCRATCH 65536
#define MAX_REPORTED_FAILURES 5

enum conn_state { CONNECTING, IDLE, IN_FLIGHT, FAILED };

struct conn {
    int fd;
    enum conn_state state;
    uint32_t events;  /* current epoll interest */
    uint32_t seq;     /* number of the request in flight */
    size_t sent, got; /* progress of that request */
    int64_t t0;       /* when it was started */
};

/* Latency histogram, log-linear: exact below 64 us, then 32 buckets per
 * power of two (about 3% resolution). */
#define HIST_BUCKETS (64 + 58 * 32)

struct fleet {
    struct conn *c;
    long n;
    size_t msg;
    int ep;
    int loading;  /* the timed phase has begun */
    int stopping; /* time is up: start no new requests */
    long connecting, in_flight, failed;
    uint64_t requests;
    uint64_t hist[HIST_BUCKETS];
    unsigned char buf[SCRATCH];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* ---- arguments and setup ---------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: echo_fleet HOST PORT CONNS SECONDS [MSG_SIZE=64]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        usage();
    return v;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* Resolve HOST:PORT into *ss; only loopback addresses are accepted, so
 * that a typo cannot point a load generator at another machine. */
static socklen_t resolve(const char *host, const char *port, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    int r = getaddrinfo(host, port, &hints, &ai);

    if (r != 0) {
        fprintf(stderr, "echo_fleet: %s:%s: %s\n", host, port, gai_strerror(r));
        exit(1);
    }
    for (struct addrinfo *p = ai; p; p = p->ai_next)
        if (is_loopback(p->ai_addr)) {
            socklen_t len = p->ai_addrlen;
            memcpy(ss, p->ai_addr, len);
            freeaddrinfo(ai);
            return len;
        }
    freeaddrinfo(ai);
    fprintf(stderr, "echo_fleet: %s is not a loopback address\n", host);
    exit(2);
}

/* One descriptor per connection: take all the hard limit allows. */
static void raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + 16 > rl.rlim_cur)
        fprintf(stderr,
                "echo_fleet: open files limited to %lu: some of %ld connections "
                "will fail\n",
                (unsigned long)rl.rlim_cur, want);
}

/* ---- connections --------------------------------------------------------- */

/* The byte at offset off of request seq on connection id: depends on all
 * three, so a byte echoed to the wrong connection, request or place shows. */
static unsigned char pattern(long id, uint32_t seq, size_t off)
{
    return (unsigned char)((unsigned long)id * 131 + seq * 29 + off * 7 + (off >> 8));
}

static void set_events(struct fleet *f, long id, uint32_t events)
{
    struct conn *c = &f->c[id];
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)id};
    epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static void fail(struct fleet *f, long id, const char *why, int err)
{
    struct conn *c = &f->c[id];
    if (f->failed < MAX_REPORTED_FAILURES)
        fprintf(stderr, "echo_fleet: connection %ld: %s%s%s\n", id, why, err ? ": " : "",
                err ? strerror(err) : "");
    if (c->state == CONNECTING)
        f->connecting--;
    if (c->state == IN_FLIGHT)
        f->in_flight--;
    close(c->fd); /* also leaves the epoll set: the fd was never dup'd */
    c->fd = -1;
    c->state = FAILED;
    f->failed++;
}

static void record_latency(struct fleet *f, int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    unsigned b;
    if (us < 64) {
        b = (unsigned)us;
    } else {
        int msb = 63 - __builtin_clzll(us);
        b = 64 + (unsigned)(msb - 6) * 32 + (unsigned)((us >> (msb - 5)) & 31);
    }
    f->hist[b]++;
}

/* Upper bound in microseconds of the values in bucket b. */
static uint64_t bucket_top(unsigned b)
{
    if (b < 64)
        return b;
    unsigned msb = (b - 64) / 32 + 6, sub = (b - 64) % 32;
    uint64_t width = UINT64_C(1) << (msb - 5);
    return (32 + sub) * width + width - 1;
}

static uint64_t percentile_us(const struct fleet *f, double q)
{
    uint64_t total = 0, seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        total += f->hist[b];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.999999);
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        if ((seen += f->hist[b]) >= rank)
            return bucket_top(b);
    return bucket_top(HIST_BUCKETS - 1);
}

/* Send what the socket takes of the request in flight. */
static void pump_send(struct fleet *f, long id)
{
    struct conn *c = &f->c[id];
    while (c->sent < f->msg) {
        size_t len = f->msg - c->sent < SCRATCH ? f->msg - c->sent : SCRATCH;
        for (size_t i = 0; i < len; i++)
            f->buf[i] = pattern(id, c->seq, c->sent + i);
        ssize_t n = send(c->fd, f->buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            fail(f, id, "send", errno);
            return;
        }
        c->sent += (size_t)n;
    }
    /* Read all along: a message larger than the socket buffers only comes
     * back while it is still being sent. */
    set_events(f, id, EPOLLIN | (c->sent < f->msg ? EPOLLOUT : 0));
}

static void start_request(struct fleet *f, long id)
{
    struct conn *c = &f->c[id];
    c->seq++;
    c->sent = c->got = 0;
    c->t0 = now_ns();
    if (c->state != IN_FLIGHT)
        f->in_flight++;
    c->state = IN_FLIGHT;
    pump_send(f, id);
}

static void finish_request(struct fleet *f, long id)
{
    struct conn *c = &f->c[id];
    record_latency(f, now_ns() - c->t0);
    f->requests++;
    if (!f->stopping) {
        start_request(f, id);
        return;
    }
    c->state = IDLE;
    f->in_flight--;
    set_events(f, id, EPOLLIN);
}

/* Check and consume what came back; the server may not send more than was
 * sent, so reading is bounded by the message. */
static void pump_recv(struct fleet *f, long id)
{
    struct conn *c = &f->c[id];
    while (c->got < c->sent) {
        size_t want = c->sent - c->got < SCRATCH ? c->sent - c->got : SCRATCH;
        ssize_t n = recv(c->fd, f->buf, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            fail(f, id, n ? "recv" : "early EOF", n ? errno : 0);
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            if (f->buf[i] != pattern(id, c->seq, c->got + (size_t)i)) {
                fail(f, id, "echoed data differs from what was sent", 0);
                return;
            }
        c->got += (size_t)n;
    }
    if (c->got == f->msg)
        finish_request(f, id);
}

static int sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    return err;
}

static void on_connected(struct fleet *f, long id)
{
    struct conn *c = &f->c[id];
    int err = sock_error(c->fd);

    if (err) {
        fail(f, id, "connect", err);
        return;
    }
    f->connecting--;
    c->state = IDLE;
    set_events(f, id, EPOLLIN);
    /* A late connection joins the load at once; early ones wait for it. */
    if (f->loading && !f->stopping)
        start_request(f, id);
}

static void on_event(struct fleet *f, long id, uint32_t ev)
{
    struct conn *c = &f->c[id];
    switch (c->state) {
    case CONNECTING:
        on_connected(f, id);
        break;
    case IN_FLIGHT:
        if (ev & EPOLLOUT)
            pump_send(f, id);
        if (c->state == IN_FLIGHT && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            pump_recv(f, id);
        /* An error or hang-up the calls above did not meet would be
         * reported again and again: the connection is lost. */
        if (c->state == IN_FLIGHT && (ev & (EPOLLERR | EPOLLHUP)))
            fail(f, id, "connection lost", sock_error(c->fd));
        break;
    case IDLE:
        /* Nothing is expected on an idle connection: data, EOF or error
         * all mean the server misbehaved. */
        fail(f, id, "unexpected data or EOF while idle", 0);
        break;
    case FAILED:
        break;
    }
}

/* Start a non-blocking connect; on failure the connection is counted. */
static void open_conn(struct fleet *f, long id, const struct sockaddr_storage *ss, socklen_t len)
{
    struct conn *c = &f->c[id];
    int one = 1;

    c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->state = CONNECTING;
    f->connecting++;
    if (c->fd < 0) {
        c->state = FAILED;
        f->connecting--;
        if (f->failed++ < MAX_REPORTED_FAILURES)
            fprintf(stderr, "echo_fleet: connection %ld: socket: %s\n", id, strerror(errno));
        return;
    }
    /* Small request-response messages: do not let Nagle hold them back. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)id};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        fail(f, id, "epoll_ctl", errno);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) {
        fail(f, id, "connect", errno);
        return;
    }
    /* Connected or not, EPOLLOUT reports the outcome. */
}

/* ---- the loop ------------------------------------------------------------ */

/* Dispatch events until done(f) or the deadline. */
static void run_until(struct fleet *f, int64_t deadline, int (*done)(const struct fleet *))
{
    struct epoll_event ev[256];
    int64_t now;

    while (!done(f) && (now = now_ns()) < deadline) {
        int ms = (int)((deadline - now + 999999) / 1000000);
        int k = epoll_wait(f->ep, ev, 256, ms);
        if (k < 0 && errno != EINTR) {
            perror("echo_fleet: epoll_wait");
            exit(1);
        }
        for (int i = 0; i < k; i++)
            on_event(f, (long)ev[i].data.u64, ev[i].events);
    }
}

static int all_connected(const struct fleet *f)
{
    return f->connecting == 0;
}

/* The timed phase ends early only when every connection has failed. */
static int nothing_left(const struct fleet *f)
{
    return f->in_flight == 0 && f->connecting == 0;
}

static int none_in_flight(const struct fleet *f)
{
    return f->in_flight == 0;
}

/* Whatever has not finished by now counts as failed. */
static void fail_unfinished(struct fleet *f)
{
    for (long id = 0; id < f->n; id++) {
        if (f->c[id].state == CONNECTING)
            fail(f, id, "connect timed out", 0);
        else if (f->c[id].state == IN_FLIGHT)
            fail(f, id, "no complete echo before the deadline", 0);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6)
        usage();
    struct sockaddr_storage ss;
    socklen_t sslen = resolve(argv[1], argv[2], &ss);
    long n = (long)parse_num(argv[3], 1, 1000000);
    double seconds = parse_num(argv[4], 0.001, 3600);
    struct fleet *f = calloc(1, sizeof *f);
    if (!f || !(f->c = calloc((size_t)n, sizeof *f->c)))
        return perror("echo_fleet: calloc"), 1;
    f->n = n;
    f->msg = argc > 5 ? (size_t)parse_num(argv[5], 1, 1 << 30) : 64;
    if ((f->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return perror("echo_fleet: epoll_create1"), 1;
    raise_nofile(n);

    for (long id = 0; id < n; id++)
        open_conn(f, id, &ss, sslen);
    run_until(f, now_ns() + CONNECT_TIMEOUT, all_connected);

    int64_t start = now_ns();
    f->loading = 1;
    for (long id = 0; id < n; id++)
        if (f->c[id].state == IDLE)
            start_request(f, id);
    run_until(f, start + (int64_t)(seconds * 1e9), nothing_left);
    f->stopping = 1;
    run_until(f, now_ns() + GRACE, none_in_flight);
    double elapsed = (double)(now_ns() - start) / 1e9;
    fail_unfinished(f);

    printf("conns %ld ok %ld failed %ld requests %llu seconds %.2f req_per_s %.0f "
           "p99_us %llu\n",
           n, n - f->failed, f->failed, (unsigned long long)f->requests, elapsed,
           (double)f->requests / elapsed, (unsigned long long)percentile_us(f, 0.99));
    for (long id = 0; id < n; id++)
        if (f->c[id].fd >= 0)
            close(f->c[id].fd);
    return 0;
}
