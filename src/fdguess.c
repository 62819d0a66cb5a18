/* fdguess.c: learning per fd whether a blocking call will find it ready.
 *
 * A blocking call is made in its non-blocking form first, and waits for
 * readiness only when that meets EAGAIN. On a connection of a
 * thread-per-connection server, the read of the next request nearly
 * always meets EAGAIN: a system call per request that an event loop does
 * not make (it reads once epoll said so). So after a few such misses in
 * a row, the call waits first and then reads. Now and then it attempts
 * first anyway (a probe), to unlearn a fd that has become ready at every
 * call (a bulk stream); each probe that misses doubles the interval, up
 * to PROBE_MAX calls, so a connection that keeps waiting pays less and
 * less for them. Waiting first never loses data: the loop's epoll is
 * level-triggered, so a fd already ready is reported at once.
 */
#include <limits.h>

#include "internal.h"

/* First attempts in a row that met EAGAIN before waiting first. */
#define MISSES_TO_WAIT 2
#define PROBE_SHIFT_MAX 7 /* a probe at least every 128 calls */

int green_fd_wait_first(int fd, int events)
{
    struct green_fd_guess *g = green__fd_guess(fd);
    unsigned m = g ? g->misses[!(events & GREEN_IN)] : 0;
    if (m < MISSES_TO_WAIT)
        return 0;
    if (++g->probes < 1u << (m < PROBE_SHIFT_MAX ? m : PROBE_SHIFT_MAX))
        return 1;
    g->probes = 0;
    return 0;
}

void green_fd_tried(int fd, int events, int would_block)
{
    struct green_fd_guess *g = green__fd_guess(fd);
    if (!g)
        return;
    unsigned char *m = &g->misses[!(events & GREEN_IN)];
    /* A probe that found data may be luck: one more miss learns again. */
    if (!would_block)
        *m = *m >= MISSES_TO_WAIT ? MISSES_TO_WAIT - 1 : 0;
    else if (*m < UCHAR_MAX)
        (*m)++;
}
