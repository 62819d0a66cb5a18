/* iorun.c: the one loop in which reads, writes, sends and receives wait
 * (io_run; see fd.h for its contract and struct io).
 *
 * Each round makes the call's attempt function in its non-blocking form;
 * on EAGAIN the green thread waits for the fd in the core (fd_wait, one
 * green_wait) and tries again. Every other result is the call's own. */
#include "fd.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Count r more done; true when the call must go on for the rest. */
static bool progress(struct io *io, size_t r)
{
    if (io->iov && !io->total) /* the kernel took iov: no -EINVAL */
        io->total = (size_t)iov_total(io->iov, io->cnt);
    io->done += r;
    if (!io->all || io->done >= io->total)
        return false;
    return !io->iov || iov_copy(io, io->iov, io->cnt, r) == 0;
}

static int64_t deadline_of(const struct fd_rec *fi, int events)
{
    int64_t t = events & GREEN_IN ? fi->rcvtimeo : fi->sndtimeo;
    return t > 0 ? preload_deadline_after(t) : GREEN_NEVER;
}

/* A cancellation ends the thread: the call's iovec copy goes first. */
static void release_owned(void *arg)
{
    struct iovec **owned = arg;
    free(*owned);
    *owned = NULL;
}

int fd_wait(int fd, int events, const struct fd_rec *fi, struct fd_call *c, struct iovec **owned)
{
    if (!c->deadline)
        c->deadline = deadline_of(fi, events);
    struct green_wait w = {.call = GREEN_CALL_IO,
                           .on = GREEN_ON_FD,
                           .fd = fd,
                           .events = events,
                           .deadline = c->deadline,
                           .since = c->since,
                           .release = owned ? release_owned : NULL,
                           .arg = owned};
    return green_wait(&w);
}

/* Where the kernel has no non-blocking form and no twin can be made
 * (ttys, devices, inotify): wait until ready, then make the call as the
 * program did (see LIMITS in libgreen.7). */
GREEN_YIELDS static ssize_t ready_then_call(struct io *io, struct fd_rec *fi, struct fd_call *c)
{
    if (!fd_nonblock(io->fd, fi)) {
        c->deadline = GREEN_NEVER;
        int w = fd_wait(io->fd, io->events, fi, c, &io->owned);
        if (w < 0 && w != -EPERM)
            return w;
    }
    return io->call(io, false);
}

/* A FIFO opened with open() refuses RWF_NOWAIT. Opened again through
 * /proc with O_NONBLOCK, it gives a description of the same pipe that
 * only this attempt uses: the program's call made on it cannot block,
 * and nobody sees its flags. It exists only while the attempt runs, which
 * never yields, so it cannot change who counts as a reader or writer of
 * the FIFO for anybody else (nor be inherited by a fork). A write end
 * with no reader cannot be opened so (ENXIO): the program's own write
 * then fails at once with EPIPE. IO_NOFORM when no twin can be made. */
static ssize_t twin_call(struct io *io)
{
    char path[40];
    int fl = real_fcntl(io->fd, F_GETFL);
    if (fl < 0)
        return -errno;
    snprintf(path, sizeof path, "/proc/self/fd/%d", io->fd);
    int twin = (int)syscall(SYS_openat, AT_FDCWD, path,
                            (fl & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (twin < 0)
        return errno == ENXIO && (fl & O_ACCMODE) == O_WRONLY ? io->call(io, false) : IO_NOFORM;
    int fd = io->fd;
    io->fd = twin;
    ssize_t r = io->call(io, false);
    io->fd = fd;
    syscall(SYS_close, twin);
    return r;
}

/* One attempt that cannot block: the call's non-blocking form, or the
 * twin of a FIFO. IO_NOFORM when there is neither. */
static ssize_t attempt(struct io *io, struct fd_rec *fi)
{
    if (!(fi->flags & FDI_NOFORM)) {
        ssize_t r = io->call(io, true);
        if (r != IO_NOFORM)
            return r;
        fi->flags |= FDI_NOFORM;
    }
    return fi->kind == FD_PIPE ? twin_call(io) : IO_NOFORM;
}

/* read and write of nothing: the kernel answers at once (0, or the fd's
 * own size check, EINVAL for eventfd, timerfd, signalfd) where the
 * per-call forms say 0 early (preadv2) or ask the protocol (recv): make
 * it as the program did. Except a socket written, whose protocol may
 * wait for room (send's form is exact there), and an event queue read,
 * which waits for an event before it checks the count. */
static bool nothing_now(const struct io *io, const struct fd_rec *fi)
{
    if (fi->kind == FD_SOCKET)
        return io->events == GREEN_IN;
    return !(fi->flags & FDI_EVQUEUE) || io->events != GREEN_IN;
}

/* The result of a last call, as io_loop returns it. */
static ssize_t last(struct io *io, ssize_t r)
{
    if (r > 0)
        progress(io, (size_t)r);
    return r > 0 ? 0 : r;
}

/* A socket error is there (a reset): the blocking call ends with what it
 * moved, and leaves the error to the next call, as the kernel does; an
 * attempt would consume it. */
static bool sock_error(const struct io *io)
{
    struct pollfd p = {.fd = io->fd};
    return io->kind == FD_SOCKET && real_poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* Where the core has learned that the first attempt would meet EAGAIN
 * (fdguess.c), wait for readiness before it. Not on the program's
 * O_NONBLOCK, nor on a description others share (its flags would cost a
 * system call to re-read). 0 when the wait was not made or ended ready
 * (or the fd cannot be polled), else its end: -EINTR, -EAGAIN at the
 * timeout, -EBADF. */
GREEN_YIELDS static int wait_first(struct io *io, struct fd_rec *fi, struct fd_call *c)
{
    if ((fi->flags & FDI_SHARED) || fi->nonblock || !green_fd_wait_first(io->fd, io->events))
        return 0;
    int w = fd_wait(io->fd, io->events, fi, c, &io->owned);
    return w > 0 || w == -EPERM ? 0 : w;
}

/* Every result of an attempt other than EAGAIN is the call's own: it is
 * returned as it is (a count goes on only where the blocking call takes
 * all). EAGAIN waits, unless the program asked for it. */
GREEN_YIELDS static ssize_t io_loop(struct io *io, struct fd_rec *fi)
{
    struct fd_call c = FD_CALL_START;
    if (io->rw && !io->total && nothing_now(io, fi))
        return last(io, io->call(io, false));
    if (io->rw && !io->total && io->events == GREEN_IN)
        return last(io, ready_then_call(io, fi, &c)); /* an event queue */
    /* Closed while waiting (the number may be reused), or interrupted: a
     * handler ran, and an attempt now could find data its effects
     * brought, where the native call blocked in the kernel fails. */
    int early = wait_first(io, fi, &c);
    if (early == -EBADF || early == -EINTR)
        return early;
    for (bool learn = !c.deadline;; learn = false) {
        if (io->done && sock_error(io))
            return 0;
        ssize_t r = attempt(io, fi);
        if (learn)
            green_fd_tried(io->fd, io->events, r == -EAGAIN);
        /* A wait made first that timed out ends the call as the native
         * one, unless the data came at the deadline. */
        if (early && r == -EAGAIN)
            return early;
        early = 0;
        if (r > 0 && progress(io, (size_t)r) && !fd_nonblock(io->fd, fi))
            continue;
        if (r >= 0)
            return 0;
        if (r == IO_NOFORM)
            return last(io, ready_then_call(io, fi, &c));
        if (r != -EAGAIN || fd_nonblock(io->fd, fi))
            return r;
        int w = fd_wait(io->fd, io->events, fi, &c, &io->owned);
        if (w == -EPERM)
            return last(io, io->call(io, false));
        if (w < 0)
            return w;
    }
}

ssize_t io_run(struct io *io)
{
    return io_run_fi(io, fd_get(io->fd));
}

ssize_t io_run_fi(struct io *io, struct fd_rec *fi)
{
    green_yield_point();
    if (!fi || fi->kind == FD_FILE || (io->socket_only && fi->kind != FD_SOCKET))
        return io->call(io, false);
    io->kind = fi->kind;
    if (io->all_if_stream)
        io->all = (fi->flags & FDI_STREAM) != 0;
    ssize_t r = io_loop(io, fi);
    free(io->owned);
    io->owned = NULL;
    return io->done ? (ssize_t)io->done : r;
}
