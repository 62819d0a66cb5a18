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
 *
 * libev aborts when epoll_ctl meets a bad fd, and a program can close a
 * fd behind our back (fclose and closedir close internally, unseen by
 * any interposer). So every fd whose watcher was (re)started is checked
 * right before the loop runs, when no green code can run in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "list.h"
#include <stdint.h>

#define CHUNK 1024
/* Above any fd the kernel hands out (fs.nr_open is at most 2^30, and far
 * lower in practice): a bogus number must not make the table huge. */
#define FD_LIMIT (1 << 26)

enum fd_kind { FD_UNKNOWN, FD_POLLABLE, FD_NOT_POLLABLE };

struct fdrec {
    ev_io io;
    struct green_waitq waiters;
    enum fd_kind kind;
    bool dirty; /* watcher started since the loop last ran */
    union {
        unsigned char bytes[GREEN_FD_SLOT_SIZE];
        int64_t align_i;
        void *align_p;
    } slot; /* green_fd_slot: the layer above's */
    struct green_fd_guess guess;
};

static struct fdrec **chunks;
static size_t nchunks;
static struct {
    int *fd;
    size_t n, cap;
} dirty;

/* The core's own fcntl, so that no interposer sees it. */
static int raw_fcntl(int fd, int cmd)
{
    long r = syscall(SYS_fcntl, fd, cmd, 0);
    return r < 0 ? -errno : (int)r;
}

static struct fdrec *record(int fd, bool create)
{
    if (fd < 0 || fd >= FD_LIMIT)
        return NULL;
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

static void wake_all(struct fdrec *r, int result)
{
    while (r->waiters.head)
        green__wake(r->waiters.head->t, result);
}

/* The fd was closed behind our back: let the waiters' retries meet the
 * real error. */
static void forget_bad(struct fdrec *r)
{
    if (ev_is_active(&r->io))
        ev_io_stop(green__s.loop, &r->io);
    wake_all(r, GREEN_IN | GREEN_OUT);
    r->kind = FD_UNKNOWN;
}

static void mark_dirty(struct fdrec *r, int fd)
{
    if (r->dirty)
        return;
    if (dirty.n == dirty.cap) {
        size_t cap = dirty.cap ? 2 * dirty.cap : 64;
        int *v = realloc(dirty.fd, cap * sizeof *v);
        if (!v) {
            if (raw_fcntl(fd, F_GETFD) == -EBADF)
                forget_bad(r);
            return;
        }
        dirty.fd = v;
        dirty.cap = cap;
    }
    r->dirty = true;
    dirty.fd[dirty.n++] = fd;
}

void green__fd_prepare(void)
{
    for (size_t i = 0; i < dirty.n; i++) {
        struct fdrec *r = record(dirty.fd[i], false);
        r->dirty = false;
        if (ev_is_active(&r->io) && raw_fcntl(dirty.fd[i], F_GETFD) == -EBADF)
            forget_bad(r);
    }
    dirty.n = 0;
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
        mark_dirty(r, fd);
    }
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct fdrec *r = container_of(io, struct fdrec, io);
    if (revents & EV_ERROR) {
        /* libev stopped the watcher (bad fd): let every waiter retry its
         * call and meet the real error. */
        wake_all(r, GREEN_IN | GREEN_OUT);
        r->kind = FD_UNKNOWN;
        return;
    }
    int ready = revents & (EV_READ | EV_WRITE), unclaimed = ready;
    /* Rescan from the head after each wake: waking a thread unlinks all
     * of its waiters, which may include the next one in this queue. */
    while (unclaimed) {
        struct green_waiter *w = r->waiters.head;
        while (w && !(w->events & unclaimed))
            w = w->next;
        if (!w)
            break;
        unclaimed &= ~w->events;
        green__wake(w->t, w->events & ready);
    }
    /* Nobody wants what is left: stop watching it, but only when the
     * loop would otherwise block. While threads are ready (a poll
     * between them), the one just woken for this fd has not run yet and
     * will most likely wait on it again: re-arming would cost two
     * epoll_ctl and a check per request. */
    if (unclaimed && !green__s.polling)
        watch(r, io->fd, io->events & ~unclaimed & (EV_READ | EV_WRITE));
}

/* A regular file of the kernel's own file systems may have readiness of
 * its own (POLLPRI|POLLERR when a sysfs attribute or a cgroup's events
 * change, /proc/self/mounts): epoll watches those (and libev treats one
 * epoll refuses as always ready, as before). */
static bool pseudo_file(int fd)
{
    struct statfs fs;
    if (fstatfs(fd, &fs) < 0)
        return false;
    switch ((unsigned long)fs.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
        return true;
    default:
        return false;
    }
}

static int classify(struct fdrec *r, int fd)
{
    /* epoll_ctl on an O_PATH fd fails with EBADF, which libev asserts on. */
    int fl = raw_fcntl(fd, F_GETFL);
    if (fl < 0)
        return fl;
    if (fl & O_PATH)
        return -EBADF;
    struct stat st;
    if (green__libc.fstat(fd, &st) < 0)
        return -errno;
    r->kind = (S_ISREG(st.st_mode) && !pseudo_file(fd)) || S_ISDIR(st.st_mode) ? FD_NOT_POLLABLE
                                                                               : FD_POLLABLE;
    return 0;
}

/* Queue w on fd's record for events and make the watcher cover them.
 * Returns 0, -EBADF, -EPERM (not pollable) or -ENOMEM. */
static int enlist(int fd, int events, struct green_waiter *w)
{
    if (fd < 0)
        return -EBADF;
    struct fdrec *r = record(fd, true);
    if (!r)
        return -ENOMEM;
    if (r->kind == FD_UNKNOWN) {
        /* The core's own calls: the safety net's trap would put its
         * signal frame on this thread's stack, a page more per thread. */
        unsigned char net = green__net_open();
        int e = classify(r, fd);
        green__net_close(net);
        if (e < 0)
            return e;
        ev_init(&r->io, io_cb);
    }
    if (r->kind == FD_NOT_POLLABLE)
        return -EPERM;
    green__waiter_add(&r->waiters, w, green__current);
    w->events = events;
    watch(r, fd, (ev_is_active(&r->io) ? r->io.events & (EV_READ | EV_WRITE) : 0) | events);
    return 0;
}

int green_fd_wait(int fd, int events, int64_t deadline)
{
    events &= GREEN_IN | GREEN_OUT;
    if (!events)
        return -EINVAL;
    struct green_waiter w;
    int r = enlist(fd, events, &w);
    if (r < 0)
        return r;
    green__current->wait_fd = fd;
    return green__block(W_FD, (void *)(intptr_t)events, deadline, true);
}

int green_fd_wait_many(const struct green_pollfd *fds, size_t n, int64_t deadline)
{
    struct green_waiter local[16], *w = n <= 16 ? local : malloc(n * sizeof *w);
    if (!w)
        return -ENOMEM;
    size_t queued = 0;
    int r = 0;
    for (size_t k = 0; k < n && r == 0; k++) {
        int events = fds[k].events & (GREEN_IN | GREEN_OUT);
        if (fds[k].fd < 0 || !events)
            continue; /* poll ignores these */
        r = enlist(fds[k].fd, events, &w[k]);
        queued += r == 0;
        /* A regular file's readiness never changes: the caller's check
         * saw it, so it cannot end the wait (POLLPRI never comes). */
        if (r == -EPERM)
            r = 0;
    }
    /* A bad fd is for the caller's own check to report. */
    if (r == -EBADF)
        r = 1;
    if (r == 0 && queued) {
        green__current->wait_fd = (int)n;
        r = green__block(W_POLL, NULL, deadline, true);
        if (r == -EBADF)
            r = 1; /* closed meanwhile: the caller's check reports it */
    } else if (r == 0) {
        r = green_sleep_until(deadline) == -EINTR ? -EINTR : -ETIMEDOUT;
    } else {
        green__unwait(green__current);
    }
    if (w != local)
        free(w);
    return r;
}

int green_fd_close(int fd)
{
    struct fdrec *r = fd >= 0 ? record(fd, false) : NULL;
    if (!r)
        return 0;
    if (ev_is_active(&r->io))
        ev_io_stop(green__s.loop, &r->io);
    wake_all(r, -EBADF);
    r->kind = FD_UNKNOWN;
    memset(&r->slot, 0, sizeof r->slot);
    memset(&r->guess, 0, sizeof r->guess);
    return 0;
}

struct green_fd_guess *green__fd_guess(int fd)
{
    struct fdrec *r = fd >= 0 ? record(fd, true) : NULL;
    return r ? &r->guess : NULL;
}

void *green_fd_slot(int fd)
{
    struct fdrec *r = fd >= 0 ? record(fd, true) : NULL;
    return r ? r->slot.bytes : NULL;
}

int green_fd_close_range(int lo, int hi)
{
    if (lo < 0)
        lo = 0;
    for (size_t c = (size_t)lo / CHUNK; c < nchunks && c * CHUNK <= (size_t)hi; c++) {
        if (!chunks[c])
            continue;
        size_t first = c * CHUNK < (size_t)lo ? (size_t)lo : c * CHUNK;
        size_t last = c * CHUNK + CHUNK - 1 < (size_t)hi ? c * CHUNK + CHUNK - 1 : (size_t)hi;
        for (size_t fd = first; fd <= last; fd++)
            green_fd_close((int)fd);
    }
    return 0;
}
