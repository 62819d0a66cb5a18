/* pipe_rw: producers and consumers over a pipe and a socketpair, then
 * read and write with bad input.
 *
 * The streams use odd chunk sizes on both sides (a fixed pseudo-random
 * sequence), one write larger than the pipe's capacity (a blocking write
 * returns only when all of it is written) and, on a second pipe, two
 * writers of PIPE_BUF-sized records that must never interleave. The bad
 * input cases run while another thread exists (it blocks in read), so
 * that under libgreen they take the waiting paths. Every line printed is the
 * same natively and under libgreen. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOTAL (3 * 1000 * 1000)
#define BIG_WRITE (300 * 1000)
#define RECORDS 200

struct stream {
    int rfd, wfd;
    uint32_t wsum, rsum;
    size_t wrote, got;
    ssize_t big;
};

static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void *producer(void *arg)
{
    struct stream *s = arg;
    unsigned char *buf = malloc(BIG_WRITE);
    uint32_t seed = 7;
    s->wsum = 2166136261u;
    while (s->wrote < TOTAL) {
        size_t n = s->wrote == 0 ? BIG_WRITE : 1 + next_rand(&seed) % 20000;
        if (n > TOTAL - s->wrote)
            n = TOTAL - s->wrote;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)next_rand(&seed);
        ssize_t w = write(s->wfd, buf, n);
        if (w < 0) {
            perror("write");
            exit(1);
        }
        if (s->wrote == 0)
            s->big = w;
        s->wsum = fnv(s->wsum, buf, (size_t)w);
        s->wrote += (size_t)w;
    }
    close(s->wfd);
    free(buf);
    return NULL;
}

static void *consumer(void *arg)
{
    struct stream *s = arg;
    unsigned char buf[30000];
    uint32_t seed = 11;
    ssize_t r;
    s->rsum = 2166136261u;
    while ((r = read(s->rfd, buf, 1 + next_rand(&seed) % sizeof buf)) > 0) {
        s->rsum = fnv(s->rsum, buf, (size_t)r);
        s->got += (size_t)r;
    }
    if (r < 0) {
        perror("read");
        exit(1);
    }
    close(s->rfd);
    return NULL;
}

static void run_stream(const char *name, int rfd, int wfd)
{
    struct stream s = {.rfd = rfd, .wfd = wfd};
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, &s);
    pthread_create(&p, NULL, producer, &s);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("%s: first write %zd of %d, wrote %zu, read %zu, checksums %s (%08x)\n", name, s.big,
           BIG_WRITE, s.wrote, s.got, s.wsum == s.rsum ? "equal" : "DIFFER", s.rsum);
}

static int rec_pipe[2];
static void *record_writer(void *arg)
{
    char rec[PIPE_BUF];
    memset(rec, (int)(intptr_t)arg, sizeof rec);
    for (int i = 0; i < RECORDS; i++)
        if (write(rec_pipe[1], rec, sizeof rec) != (ssize_t)sizeof rec)
            exit(1);
    return NULL;
}

/* Two writers of PIPE_BUF records: each read of PIPE_BUF bytes must be one
 * whole record (writes up to PIPE_BUF are atomic). */
static void records(void)
{
    pthread_t a, b;
    char rec[PIPE_BUF];
    int whole = 0;
    if (pipe(rec_pipe))
        exit(1);
    pthread_create(&a, NULL, record_writer, (void *)'a');
    pthread_create(&b, NULL, record_writer, (void *)'b');
    for (int i = 0; i < 2 * RECORDS; i++) {
        size_t got = 0;
        while (got < sizeof rec) {
            ssize_t r = read(rec_pipe[0], rec + got, sizeof rec - got);
            if (r <= 0)
                exit(1);
            got += (size_t)r;
        }
        whole += memchr(rec, rec[0] == 'a' ? 'b' : 'a', sizeof rec) == NULL;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("records: %d of %d whole\n", whole, 2 * RECORDS);
    close(rec_pipe[0]);
    close(rec_pipe[1]);
}

static void show(const char *what, ssize_t r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %zd\n", what, r);
}

static int idle_pipe[2];
static void *blocked_reader(void *arg)
{
    char c;
    (void)arg;
    return (void *)read(idle_pipe[0], &c, 1);
}

/* Volatile, so the compiler neither warns about nor folds the bad input. */
static void *volatile null_ptr;
static volatile size_t size_max = SIZE_MAX, ssize_max = SSIZE_MAX, one_tib = (size_t)1 << 40;

static void bad_input(void)
{
    static char buf[64];
    int p[2], s[2];
    pthread_t t;
    if (pipe(idle_pipe) || pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        exit(1);
    pthread_create(&t, NULL, blocked_reader, NULL);
    show("read fd -1", read(-1, buf, 10));
    show("write fd -1", write(-1, buf, 10));
    show("read write end", read(p[1], buf, 10));
    show("read 0 bytes, empty pipe", read(p[0], buf, 0));
    show("write hello", write(p[1], "hello", 5));
    show("read NULL, data there", read(p[0], null_ptr, 10));
    show("read SIZE_MAX", read(p[0], buf, size_max));
    show("read SSIZE_MAX", read(p[0], buf, ssize_max));
    show("read 1 TiB into static buffer", read(p[0], buf, one_tib));
    show("write hello", write(p[1], "hello", 5));
    show("read 64", read(p[0], buf, sizeof buf));
    show("write NULL", write(p[1], null_ptr, 10));
    show("write SIZE_MAX", write(p[1], buf, size_max));
    show("socket write", write(s[1], "abc", 3));
    show("socket read NULL", read(s[0], null_ptr, 3));
    show("socket read", read(s[0], buf, sizeof buf));
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    show("write closed pipe", write(p[1], "x", 1));
    close(s[0]);
    show("write closed socket", write(s[1], "x", 1));
    show("wake blocked reader", write(idle_pipe[1], "x", 1));
    void *v;
    pthread_join(t, &v);
    printf("blocked reader got: %ld\n", (long)(intptr_t)v);
}

int main(void)
{
    int p[2], s[2];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        return 1;
    run_stream("pipe", p[0], p[1]);
    run_stream("socketpair", s[0], s[1]);
    records();
    bad_input();
    return 0;
}
