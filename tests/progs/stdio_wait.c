/* stdio_wait: stdio reads whose read(2) glibc makes internally, where no
 * interposer sees it, while a ticker thread ticks every 100 ms.
 *
 *   stdio_wait fgets     fgets from a pipe that another thread fills 1 s later
 *   stdio_wait getline   getline on a socket, the same way
 *   stdio_wait fread     fread from a pty, the same way
 *   stdio_wait server N  a thread-per-connection server written with
 *                        fdopen + fgets + fprintf, and N client threads
 *                        that connect at once, each sending one line and
 *                        reading the answer
 *   stdio_wait locks     two threads writing lines to one FILE, 1000 each,
 *                        and reading them back whole
 *
 * The ticker must keep ticking while the main thread waits in stdio:
 * natively it runs on its own OS thread, under libgreen only if the
 * wait is green. Every line printed is the same natively and under
 * libgreen; -t (last argument) also prints "Threads:" (with the server,
 * natively, its threads may still be ending). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static struct ticker tick;

static int wfd;

static void *late_writer(void *arg)
{
    const char *text = arg;
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    if (write(wfd, text, strlen(text)) < 0)
        exit(1);
    return NULL;
}

/* fd gets text written a second from now, by another thread. */
static pthread_t write_later(int fd, const char *text)
{
    pthread_t t;
    wfd = fd;
    CHECK(pthread_create(&t, NULL, late_writer, (void *)text));
    return t;
}

static void report(const char *what, int before, const char *got)
{
    printf("%s: \"%s\", ticker %s\n", what, got,
           tick.ticks - before >= 5 ? "kept ticking" : "stopped");
}

static void via_fgets(void)
{
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    FILE *f = fdopen(p[0], "r");
    int before = tick.ticks;
    pthread_t t = write_later(p[1], "a line through a pipe\n");
    char buf[128] = "";
    if (!fgets(buf, sizeof buf, f))
        strcpy(buf, "EOF");
    buf[strcspn(buf, "\n")] = 0;
    report("fgets from a pipe", before, buf);
    CHECK(pthread_join(t, NULL));
    fclose(f);
    close(p[1]);
}

static void via_getline(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        exit(1);
    FILE *f = fdopen(sv[0], "r");
    int before = tick.ticks;
    pthread_t t = write_later(sv[1], "a line through a socket\n");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n > 0)
        line[strcspn(line, "\n")] = 0;
    report("getline on a socket", before, n > 0 ? line : "EOF");
    free(line);
    CHECK(pthread_join(t, NULL));
    fclose(f);
    close(sv[1]);
}

static void via_fread(void)
{
    int master, slave;
    struct termios raw;
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
        perror("openpty");
        exit(1);
    }
    tcgetattr(slave, &raw);
    cfmakeraw(&raw);
    tcsetattr(slave, TCSANOW, &raw);
    FILE *f = fdopen(slave, "r");
    setvbuf(f, NULL, _IONBF, 0);
    int before = tick.ticks;
    pthread_t t = write_later(master, "pty!");
    char buf[8] = "";
    size_t n = fread(buf, 1, 4, f);
    buf[n] = 0;
    report("fread from a pty", before, buf);
    CHECK(pthread_join(t, NULL));
    fclose(f);
    close(master);
}

/* ---- an fdopen + fgets + fprintf server ------------------------------------ */

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
    char line[256];
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = 0;
        fprintf(out, "echo %s\n", line);
        fflush(out);
    }
    fclose(in);
    fclose(out);
    return NULL;
}

static void *acceptor(void *arg)
{
    int ls = (int)(intptr_t)arg, fd;
    while ((fd = accept(ls, NULL, NULL)) >= 0) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 64 * 1024);
        CHECK(pthread_create(&t, &a, serve, (void *)(intptr_t)fd));
        pthread_attr_destroy(&a);
    }
    return NULL;
}

static struct sockaddr_in addr;
static pthread_barrier_t all_connected;
static int failures;

static void *client(void *arg)
{
    int i = (int)(intptr_t)arg, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
        pthread_barrier_wait(&all_connected);
        return NULL;
    }
    pthread_barrier_wait(&all_connected); /* every connection is open at once */
    FILE *f = fdopen(fd, "r+");
    char want[64], got[64] = "";
    fprintf(f, "client %d\n", i);
    fflush(f);
    snprintf(want, sizeof want, "echo client %d\n", i);
    if (!fgets(got, sizeof got, f) || strcmp(got, want))
        __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    fclose(f);
    return NULL;
}

static void server(int n)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 4096) < 0 ||
        getsockname(ls, (struct sockaddr *)&addr, &len) < 0) {
        perror("listen");
        exit(1);
    }
    pthread_t acc, *c = calloc((size_t)n, sizeof *c);
    CHECK(pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)ls));
    CHECK(pthread_barrier_init(&all_connected, NULL, (unsigned)n));
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&c[i], &a, client, (void *)(intptr_t)i));
    for (int i = 0; i < n; i++)
        CHECK(pthread_join(c[i], NULL));
    printf("server: %d clients, %d failed\n", n, failures);
    free(c);
}

/* ---- one FILE, two writers ------------------------------------------------- *
 * Both write 100-byte lines through one FILE into a pipe that a slow
 * reader drains, so writes block with the FILE's lock held: natively the
 * other writer then waits for the lock, and no line is ever torn. */

static FILE *shared;

static void *line_writer(void *arg)
{
    char c = (char)(intptr_t)arg;
    char line[101];
    memset(line, c, 99);
    line[99] = '\n';
    line[100] = 0;
    for (int i = 0; i < 1000; i++)
        fputs(line, shared);
    return NULL;
}

static void *slow_reader(void *arg)
{
    FILE *in = arg;
    char line[256];
    int whole = 0, torn = 0, n = 0;
    struct timespec ts = {0, 1000 * 1000};
    while (fgets(line, sizeof line, in)) {
        size_t len = strlen(line);
        if (len == 100 && strspn(line, line[0] == 'a' ? "a" : "b") == 99)
            whole++;
        else
            torn++;
        if (++n % 10 == 0)
            nanosleep(&ts, NULL);
    }
    printf("one FILE, two writers: %d whole lines, %d torn\n", whole, torn);
    return NULL;
}

static void locks(void)
{
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    shared = fdopen(p[1], "w");
    setvbuf(shared, NULL, _IOFBF, 150); /* a write every line and a half */
    pthread_t a, b, r;
    CHECK(pthread_create(&r, NULL, slow_reader, fdopen(p[0], "r")));
    CHECK(pthread_create(&a, NULL, line_writer, (void *)'a'));
    CHECK(pthread_create(&b, NULL, line_writer, (void *)'b'));
    CHECK(pthread_join(a, NULL));
    CHECK(pthread_join(b, NULL));
    fclose(shared);
    CHECK(pthread_join(r, NULL));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: stdio_wait fgets|getline|fread|server N|locks [-t]\n");
        return 2;
    }
    ticker_start(&tick, 100);
    if (!strcmp(argv[1], "fgets"))
        via_fgets();
    else if (!strcmp(argv[1], "getline"))
        via_getline();
    else if (!strcmp(argv[1], "fread"))
        via_fread();
    else if (!strcmp(argv[1], "server"))
        server(argc > 2 ? atoi(argv[2]) : 100);
    else if (!strcmp(argv[1], "locks"))
        locks();
    ticker_stop(&tick);
    if (!strcmp(argv[argc - 1], "-t")) {
        print_os_threads();
    }
    return 0;
}
