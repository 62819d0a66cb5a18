/* fdtab.c: waiting for fd readiness.
 *
 * One record per fd number, in chunks that never move (libev keeps
 * pointers to the ev_io inside). A record's watcher covers what its
 * waiters want and is stopped lazily: when an event arrives that nobody
 * waits for. A thread-per-connection server re-waits on the same fd
 * after each request, so the common case touches neither libev's fd set
 * nor epoll_ctl.
 *
 * Each readiness event wakes one waiter per direction (the first that
 * wants it); level-triggered epoll reports the fd again on the next
 * iteration if that waiter did not consume the data.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"
#include "list.h"

#define CHUNK 1024

enum fd_kind { FD_UNKNOWN, FD_POLLABLE, FD_NOT_POLLABLE };

struct fdrec {
    ev_io io;
    struct green_waitq waiters;
    enum fd_kind kind;
};

static struct fdrec **chunks;
static size_t nchunks;

static struct fdrec *record(int fd, bool create)
{
    size_t c = (size_t)fd / CHUNK;
    if (c >= nchunks) {
        if (!create)
            return NULL;
        size_t n = nchunks ? nchunks : 16;
        while (n <= c)
            n *= 2;
        struct fdrec **v = realloc(chunks, n * sizeof *v);
        if (!v)
            return NULL;
        for (size_t i = nchunks; i < n; i++)
            v[i] = NULL;
        chunks = v;
        nchunks = n;
    }
    if (!chunks[c]) {
        if (!create)
            return NULL;
        chunks[c] = calloc(CHUNK, sizeof **chunks);
        if (!chunks[c])
            return NULL;
    }
    return &chunks[c][fd % CHUNK];
}

/* Watch `events` on the record (0: stop). ev_io_set after a stop makes
 * libev register the fd anew, which a reused fd number needs. */
static void watch(struct fdrec *r, int fd, int events)
{
    if (ev_is_active(&r->io)) {
        if ((r->io.events & (EV_READ | EV_WRITE)) == events)
            return;
        ev_io_stop(green__s.loop, &r->io);
    }
    if (events) {
        ev_io_set(&r->io, fd, events);
        ev_io_start(green__s.loop, &r->io);
    }
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct fdrec *r = container_of(io, struct fdrec, io);
    if (revents & EV_ERROR) {
        /* libev stopped the watcher (bad fd): let every waiter retry its
         * call and meet the real error. */
        while (r->waiters.head)
            green__wake(r->waiters.head->t, GREEN_IN | GREEN_OUT);
        r->kind = FD_UNKNOWN;
        return;
    }
    int ready = revents & (EV_READ | EV_WRITE), unclaimed = ready;
    for (struct green_waiter *w = r->waiters.head, *next; w && unclaimed; w = next) {
        next = w->next;
        if (w->events & unclaimed) {
            unclaimed &= ~w->events;
            green__wake(w->t, w->events & ready);
        }
    }
    if (unclaimed)
        watch(r, io->fd, io->events & ~unclaimed & (EV_READ | EV_WRITE));
}

static int classify(struct fdrec *r, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    r->kind = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? FD_NOT_POLLABLE : FD_POLLABLE;
    return 0;
}

int green_fd_wait(int fd, int events, int64_t deadline)
{
    events &= GREEN_IN | GREEN_OUT;
    if (fd < 0)
        return -EBADF;
    if (!events)
        return -EINVAL;
    struct fdrec *r = record(fd, true);
    if (!r)
        return -ENOMEM;
    if (r->kind == FD_UNKNOWN) {
        int e = classify(r, fd);
        if (e < 0)
            return e;
        ev_init(&r->io, io_cb);
    }
    if (r->kind == FD_NOT_POLLABLE)
        return -EPERM;
    green_thread *self = green__current;
    struct green_waiter w;
    green__waiter_add(&r->waiters, &w, self);
    w.events = events;
    watch(r, fd, (ev_is_active(&r->io) ? r->io.events & (EV_READ | EV_WRITE) : 0) | events);
    self->wait_fd = fd;
    return green__block(W_FD, (void *)(intptr_t)events, deadline, true);
}

int green_fd_close(int fd)
{
    struct fdrec *r = fd >= 0 ? record(fd, false) : NULL;
    if (!r)
        return 0;
    if (ev_is_active(&r->io))
        ev_io_stop(green__s.loop, &r->io);
    while (r->waiters.head)
        green__wake(r->waiters.head->t, -EBADF);
    r->kind = FD_UNKNOWN;
    return 0;
}
