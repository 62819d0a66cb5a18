/* dns_slow: a tiny DNS server on UDP that answers every query after a
 * delay, for tests of concurrent lookups.
 *
 *   dns_slow ADDR PORT DELAY_MS
 *
 * An A query for any name gets one answer, 10.0.0.N, where N is the
 * length of the first label; other types get an empty NOERROR answer.
 * Queries are answered in arrival order, each DELAY_MS after it came,
 * so that concurrent queries overlap. Prints "ready" on stdout once
 * bound, then serves until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define QMAX 256

struct query {
    int64_t due;
    struct sockaddr_storage from;
    socklen_t fromlen;
    unsigned char buf[512];
    size_t len;
};

/* Turn the query in q into its answer; returns the answer's length. */
static size_t answer(struct query *q)
{
    unsigned char *p = q->buf;
    if (q->len < 12)
        return 0;
    size_t i = 12, first = p[12];
    while (i < q->len && p[i])
        i += (size_t)p[i] + 1;
    if (i + 5 > q->len)
        return 0;
    size_t qend = i + 5;
    int type = p[i + 1] << 8 | p[i + 2];
    p[2] = 0x84 | (p[2] & 1);           /* response, authoritative, keep RD */
    p[3] = 0x80;                        /* RA, NOERROR */
    p[6] = 0, p[7] = type == 1 ? 1 : 0; /* answers */
    p[8] = p[9] = p[10] = p[11] = 0;
    if (type != 1 || qend + 16 > sizeof q->buf)
        return qend;
    unsigned char rr[16] = {0xc0, 12, 0, 1, 0,  1, 0, 0,
                            0,    60, 0, 4, 10, 0, 0, (unsigned char)first};
    memcpy(p + qend, rr, sizeof rr);
    return qend + sizeof rr;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dns_slow ADDR PORT DELAY_MS\n");
        return 2;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        perror("dns_slow: bind");
        return 1;
    }
    int delay = atoi(argv[3]);
    static struct query q[QMAX];
    size_t head = 0, n = 0;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int wait = n ? (int)(q[head].due - now_ms()) : -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (!n || wait > 0)
            poll(&p, 1, n ? wait : -1);
        if (p.revents & POLLIN && n < QMAX) {
            struct query *x = &q[(head + n) % QMAX];
            x->fromlen = sizeof x->from;
            ssize_t r =
                recvfrom(fd, x->buf, sizeof x->buf, 0, (struct sockaddr *)&x->from, &x->fromlen);
            if (r > 0) {
                x->len = (size_t)r;
                x->due = now_ms() + delay;
                n++;
            }
        }
        while (n && q[head].due <= now_ms()) {
            size_t len = answer(&q[head]);
            if (len)
                sendto(fd, q[head].buf, len, 0, (struct sockaddr *)&q[head].from, q[head].fromlen);
            head = (head + 1) % QMAX;
            n--;
        }
    }
}
