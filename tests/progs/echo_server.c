/* echo_server: a plain thread-per-connection TCP echo server, written the
 * way servers were in 1998: a blocking accept loop in main and one
 * detached pthread per connection doing blocking read/write until EOF.
 * No O_NONBLOCK, no poll, default thread attributes. It never includes a
 * libgreen header: it is the unmodified program libgreen must carry.
 *
 * Usage: echo_server [PORT] [--max N]
 *   PORT     TCP port on 127.0.0.1; 0 (the default) picks a free one.
 *   --max N  exit (status 0) once N connections have been closed.
 * The first line on stdout is "port N", the port listened on.
 * Diagnostics go to stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long max_closed; /* 0: run forever */
static long closed;
static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(const char *me)
{
    fprintf(stderr, "usage: %s [PORT] [--max N]\n", me);
    exit(2);
}

static long parse_num(const char *me, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        usage(me);
    return v;
}

/* Write all of buf, as a blocking server does: a short write is resumed. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Count a closed connection; the one that reaches --max ends the process. */
static void connection_closed(void)
{
    pthread_mutex_lock(&closed_lock);
    long n = ++closed;
    pthread_mutex_unlock(&closed_lock);
    if (max_closed > 0 && n >= max_closed) {
        fprintf(stderr, "echo_server: %ld connections closed, exiting\n", n);
        exit(0);
    }
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
    connection_closed();
    return NULL;
}

static int listen_on(int port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        perror("echo_server: socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A large backlog: load generators open thousands of connections at
     * once, and the kernel caps it at net.core.somaxconn anyway. */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        perror("echo_server: bind/listen");
        exit(1);
    }
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

/* One thread per connection; a connection without a thread is dropped. */
static void start_thread(int fd)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
    if (r != 0) {
        fprintf(stderr, "echo_server: pthread_create: %s\n", strerror(r));
        close(fd);
        connection_closed();
        return;
    }
    pthread_detach(t);
}

int main(int argc, char **argv)
{
    int port = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            max_closed = parse_num(argv[0], argv[++i], 1, 1L << 40);
        else if (argv[i][0] != '-')
            port = (int)parse_num(argv[0], argv[i], 0, 65535);
        else
            usage(argv[0]);
    }
    /* A peer that closes early must cost a connection, not the server. */
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0) {
            start_thread(fd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
            /* Out of descriptors or memory: back off instead of spinning. */
            perror("echo_server: accept");
            usleep(10000);
        } else if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EFAULT ||
                   errno == EOPNOTSUPP) {
            perror("echo_server: accept");
            return 1;
        }
        /* Anything else (EINTR, ECONNABORTED, the network errors Linux
         * passes on from the new socket) concerns one connection: retry. */
    }
}
