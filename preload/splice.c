/* splice.c: sendfile, splice and tee as green waits.
 *
 * None of them has a per-call non-blocking form for every side it may
 * wait on. SPLICE_F_NONBLOCK makes only the pipe sides non-blocking; a
 * socket side follows its file description's O_NONBLOCK, which libgreen
 * must not set on a description others may share; sendfile has no flag
 * at all. So each attempt asks the kernel first how much can go without
 * blocking and does no more:
 *   - a pipe written by sendfile: the attempt is made only when poll says
 *     writable; the kernel then moves what fits and returns, as it does
 *     after waiting;
 *   - a socket written by sendfile or splice: the attempt moves at most
 *     half of the room left in its send buffer (SO_MEMINFO: buffer size
 *     minus queued memory; the half covers the kernel's per-packet
 *     overhead), repeated until all went, as the blocking call would;
 *   - a socket read by splice: the attempt is made only when poll says
 *     readable (TCP ignores SPLICE_F_NONBLOCK for its own side);
 *   - pipe sides of splice and tee: SPLICE_F_NONBLOCK.
 * Nothing else changes: offsets and file positions move as the kernel
 * moves them, errors are the kernel's. What remains (LIMITS in
 * libgreen.7): an attempt on a socket may still wait part-way when the
 * kernel's overhead exceeds the margin or under global TCP memory
 * pressure, and the file side waits for the disk with the OS thread. */
#include "fd.h"

#include <fcntl.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

static bool ready(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    return real_poll(&p, 1, 0) == 1 && (p.revents & (ev | POLLERR | POLLHUP | POLLNVAL));
}

/* Bytes a send on socket fd can take now without waiting for room:
 * half the free send buffer; SIZE_MAX when the kernel cannot say. */
static size_t sock_room(int fd)
{
    unsigned int mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof mi;
    if (real_getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0)
        return SIZE_MAX;
    unsigned int used = mi[SK_MEMINFO_WMEM_QUEUED] > mi[SK_MEMINFO_WMEM_ALLOC]
                            ? mi[SK_MEMINFO_WMEM_QUEUED]
                            : mi[SK_MEMINFO_WMEM_ALLOC];
    return used >= mi[SK_MEMINFO_SNDBUF] ? 0 : (mi[SK_MEMINFO_SNDBUF] - used) / 2;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- sendfile ---------------------------------------------------------- */

static ssize_t sendfile_call(struct io *io, bool nowait)
{
    size_t n = io->total - io->done;
    if (nowait && io->kind == FD_SOCKET) {
        /* Nothing can go now: a call of count 0 still reports bad fds
         * and offsets at once, as natively. */
        n = min_size(n, sock_room(io->fd));
    } else if (nowait && !ready(io->fd, POLLOUT)) {
        /* A pipe's count of 0 would wait for room too: only the read
         * end, never writable, is told apart (EBADF from the call). */
        int fl = real_fcntl(io->fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
            return -EAGAIN;
    }
    ssize_t r = real_sendfile(io->fd, io->sendfile.in, io->sendfile.off, n);
    if (r == 0 && !n)
        return -EAGAIN;
    return preload_neg_errno(r);
}

/* Passes through off green threads, when nobody else could run, for a
 * count of 0 or above SSIZE_MAX and when the program made out
 * non-blocking; otherwise waits green while out is full. To a socket it
 * sends all, as natively; to a pipe what fits once there is room. */
PRELOAD_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    struct fd_rec *fi;
    if (!n || n > SSIZE_MAX || !preload_should_wait() || !(fi = fd_get(out)) ||
        (fi->kind != FD_SOCKET && fi->kind != FD_PIPE) || fd_nonblock(out, fi))
        return real_sendfile(out, in, off, n);
    struct io io = {.fd = out,
                    .events = GREEN_OUT,
                    .call = sendfile_call,
                    .all = fi->kind == FD_SOCKET,
                    .total = min_size(n, max_rw_count()),
                    .sendfile = {in, off}};
    return preload_ret(io_run(&io));
}

/* The same function: off_t is 64 bits wide on this ABI. */
PRELOAD_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
    return sendfile(out, in, off, n);
}

/* ---- splice and tee ------------------------------------------------------ */

struct sp {
    int in, out;
    loff_t *inoff, *outoff;
    size_t n;
    unsigned int flags;
    bool tee;
    struct fd_rec *ifi, *ofi;
};

/* A socket input an attempt may read: one with data, an error or its
 * end, or a listening one, which never has data and which the kernel
 * fails at once (ENOTCONN); on others TCP would wait. */
static bool sock_in_ready(int fd)
{
    int on = 0;
    socklen_t len = sizeof on;
    return ready(fd, POLLIN) ||
           (real_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on);
}

/* One attempt that cannot wait: -EAGAIN when it would have. */
static ssize_t sp_try(struct sp *s)
{
    size_t n = s->n;
    if (s->ifi->kind == FD_SOCKET && !sock_in_ready(s->in))
        return -EAGAIN;
    if (s->ofi->kind == FD_SOCKET && !(n = min_size(n, sock_room(s->out))))
        return -EAGAIN;
    unsigned int fl = s->flags | SPLICE_F_NONBLOCK;
    ssize_t r = s->tee ? real_tee(s->in, s->out, n, fl)
                       : real_splice(s->in, s->inoff, s->out, s->outoff, n, fl);
    return preload_neg_errno(r);
}

/* The side that keeps the call waiting: the input while it has nothing
 * to read, else the output. */
static void sp_side(struct sp *s, int *fd, int *events, struct fd_rec **fi)
{
    bool in = s->ifi->kind != FD_FILE && !ready(s->in, POLLIN);
    *fd = in ? s->in : s->out;
    *events = in ? GREEN_IN : GREEN_OUT;
    *fi = in ? s->ifi : s->ofi;
}

static ssize_t sp_real(struct sp *s)
{
    ssize_t r = s->tee ? real_tee(s->in, s->out, s->n, s->flags)
                       : real_splice(s->in, s->inoff, s->out, s->outoff, s->n, s->flags);
    return preload_neg_errno(r);
}

/* As io_loop (iorun.c), with the waiting side chosen after each attempt:
 * socket timeouts end the wait with EAGAIN, SA_RESTART resumes it unless
 * a socket timeout is set. A splice to a socket goes on while the pipe
 * has data, as the kernel's does; an error after progress returns the
 * progress. */
GREEN_YIELDS static ssize_t sp_loop(struct sp *s)
{
    size_t done = 0;
    struct fd_call call = FD_CALL_START;
    for (;;) {
        ssize_t r = sp_try(s);
        if (r > 0 && s->ofi->kind == FD_SOCKET && (size_t)r < s->n && ready(s->in, POLLIN)) {
            done += (size_t)r;
            s->n -= (size_t)r;
            continue;
        }
        if (r != -EAGAIN)
            return r < 0 ? (done ? (ssize_t)done : r) : (ssize_t)done + r;
        int fd, events;
        struct fd_rec *fi;
        sp_side(s, &fd, &events, &fi);
        call.deadline = 0; /* the side may change: its own timeout */
        int w = fd_wait(fd, events, fi, &call, NULL);
        if (w == -EPERM && !done)
            return sp_real(s);
        if (w < 0)
            return done ? (ssize_t)done : w;
    }
}

/* A side splice can wait on: a pipe or socket the program did not make
 * non-blocking. Files and others are made for real. */
static struct fd_rec *waitable(int fd)
{
    struct fd_rec *fi = fd_get(fd);
    if (!fi || fd_nonblock(fd, fi))
        return NULL;
    return fi;
}

/* Passes through off green threads, when nobody else could run, with
 * the program's SPLICE_F_NONBLOCK, for a count of 0, and when a side is
 * a non-blocking fd of the program or neither side a pipe (the kernel's
 * EINVAL); otherwise waits green while the input is empty or the output
 * full, and returns what one blocking call would have moved. */
static ssize_t do_splice(struct sp *s)
{
    if (!s->n || (s->flags & SPLICE_F_NONBLOCK) || !preload_should_wait() ||
        !(s->ifi = waitable(s->in)) || !(s->ofi = waitable(s->out)) ||
        (s->ifi->kind != FD_PIPE && s->ofi->kind != FD_PIPE) ||
        (s->tee && (s->ifi->kind != FD_PIPE || s->ofi->kind != FD_PIPE)))
        return preload_ret(sp_real(s));
    return preload_ret(sp_loop(s));
}

/* See do_splice. */
PRELOAD_EXPORT ssize_t splice(int in, loff_t *inoff, int out, loff_t *outoff, size_t n,
                              unsigned int flags)
{
    struct sp s = {.in = in, .out = out, .inoff = inoff, .outoff = outoff, .n = n, .flags = flags};
    return do_splice(&s);
}

/* See do_splice: both sides are pipes. */
PRELOAD_EXPORT ssize_t tee(int in, int out, size_t n, unsigned int flags)
{
    struct sp s = {.in = in, .out = out, .n = n, .flags = flags, .tee = true};
    return do_splice(&s);
}
