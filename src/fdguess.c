/* fdguess.c: learning per fd whether a blocking call will find it ready.
 *
 * A blocking call is made in its non-blocking form first, and waits for
 * readiness only when that meets EAGAIN. On a connection of a
 * thread-per-connection server, the read of the next request nearly
 * always meets EAGAIN: a system call per request that an event loop does
 * not make (it reads once epoll said so). So after a few such misses in
 * a row, the call waits first and then reads. A fd that is ready at
 * every call (a bulk stream) never misses, and one attempt in PROBE_EVERY
 * is made without waiting anyway, which unlearns a fd that has become so.
 * Waiting first never loses data: the loop's epoll is level-triggered, so
 * a fd already ready is reported at once.
 */
#include "internal.h"

/* First attempts in a row that met EAGAIN before waiting first. */
#define MISSES_TO_WAIT 2
#define PROBE_EVERY 32

int green_fd_wait_first(struct green_fdinfo *fi, int events)
{
    if (fi->misses[!(events & GREEN_IN)] < MISSES_TO_WAIT)
        return 0;
    return ++fi->probes % PROBE_EVERY != 0;
}

void green_fd_tried(struct green_fdinfo *fi, int events, int would_block)
{
    unsigned char *m = &fi->misses[!(events & GREEN_IN)];
    if (!would_block)
        *m = 0;
    else if (*m < MISSES_TO_WAIT)
        (*m)++;
}
