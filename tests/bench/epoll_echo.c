/* epoll_echo.c: the reference for the echo benchmark: a single-threaded
 * epoll echo server, as an event-loop program would be written by hand.
 *
 *   epoll_echo [PORT] [--max N]
 *
 * Prints "port N" first. Non-blocking sockets, level-triggered epoll,
 * each readable connection read once and echoed (a short write keeps
 * the rest until writable). Exits 0 after N connections closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t len, off; /* bytes of buf not yet echoed */
    char buf[4096];
};

static int ep;

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int listener(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4096) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        perror("epoll_echo: listen");
        exit(1);
    }
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return s;
}

static void watch(struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, op, c->fd, &ev);
}

/* Echo what is pending; 0 to keep the connection, -1 when it ended. */
static int serve(struct conn *c)
{
    if (!c->len) {
        ssize_t n = read(c->fd, c->buf, sizeof c->buf);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? 0 : -1;
        c->len = (size_t)n;
        c->off = 0;
    }
    ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
    if (w < 0 && errno != EAGAIN)
        return -1;
    if (w > 0)
        c->off += (size_t)w;
    if (c->off == c->len) {
        c->len = 0;
        watch(c, EPOLLIN, EPOLL_CTL_MOD);
    } else {
        watch(c, EPOLLOUT, EPOLL_CTL_MOD);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0;
    long max = -1, closed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = atol(argv[++i]);
        else
            port = atoi(argv[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    ep = epoll_create1(EPOLL_CLOEXEC);
    int ls = listener(port);
    struct conn lc = {.fd = ls};
    watch(&lc, EPOLLIN, EPOLL_CTL_ADD);
    struct epoll_event evs[256];
    while (max < 0 || closed < max) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == &lc) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    watch(nc, EPOLLIN, EPOLL_CTL_ADD);
                }
            } else if (serve(c) < 0) {
                close(c->fd);
                free(c);
                closed++;
            }
        }
    }
    fprintf(stderr, "epoll_echo: %ld connections closed, exiting\n", closed);
    return 0;
}
