/* fd.c: what libgreen knows of each fd, libgreen's own fds, and the one
 * loop in which reads, writes, sends and receives wait.
 *
 * Knowledge first: every interposer that makes a fd records its kind and
 * the program's O_NONBLOCK, so that the slow path of a call costs no
 * fcntl or fstat. A description the program may also reach through
 * another fd or process (a dup, an inherited fd) can change under us: its
 * record is FDI_SHARED and re-read from the kernel when a call would
 * block, which is the only moment its flags matter.
 *
 * libgreen's own fds (libev's epoll fd) are moved high and skipped by
 * close, close_range, closefrom, dup2 and dup3 of the program: daemons
 * close every fd at start and would take the event loop with them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fd.h"
#include "pthr.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- records ----------------------------------------------------------- */

static int64_t tv_ns(const struct timeval *tv)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0)
        return 0;
    if (tv->tv_sec >= INT64_MAX / NS_PER_S - 1)
        return INT64_MAX;
    return (int64_t)tv->tv_sec * NS_PER_S + (int64_t)tv->tv_usec * 1000;
}

static int64_t sock_timeo(int fd, int name)
{
    struct timeval tv = {0};
    socklen_t len = sizeof tv;
    return real_getsockopt(fd, SOL_SOCKET, name, &tv, &len) == 0 ? tv_ns(&tv) : 0;
}

/* Re-read what the program may have changed where we could not see it. */
void fd_refresh(int fd, struct green_fdinfo *fi)
{
    int fl = real_fcntl(fd, F_GETFL);
    if (fl >= 0 && !fi->hidden_nonblock)
        fi->nonblock = (fl & O_NONBLOCK) != 0;
    if (fi->kind == GREEN_FD_SOCKET) {
        fi->rcvtimeo = sock_timeo(fd, SO_RCVTIMEO);
        fi->sndtimeo = sock_timeo(fd, SO_SNDTIMEO);
    }
}

static int kind_of(mode_t m)
{
    if (S_ISSOCK(m))
        return GREEN_FD_SOCKET;
    if (S_ISFIFO(m))
        return GREEN_FD_PIPE;
    if (S_ISREG(m) || S_ISDIR(m) || S_ISBLK(m))
        return GREEN_FD_FILE;
    return GREEN_FD_OTHER;
}

/* An event queue among the anonymous fds (their link reads
 * "anon_inode:inotify", "anon_inode:[fanotify]"). */
static bool is_evqueue(int fd)
{
    char path[40], link[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0)
        return false;
    link[n] = 0;
    return strstr(link, "notify") != NULL;
}

/* A fd no interposer saw made: learn it from the kernel, once. */
static int adopt(int fd, struct green_fdinfo *fi)
{
    struct stat st;
    if (real_fstat(fd, &st) < 0)
        return -1;
    fi->kind = (unsigned char)kind_of(st.st_mode);
    if (fi->kind == GREEN_FD_OTHER && !(fi->flags & FDI_MADE) && is_evqueue(fd))
        fi->flags |= FDI_EVQUEUE;
    if (fi->kind == GREEN_FD_SOCKET && !(fi->flags & FDI_MADE)) {
        int type = 0;
        socklen_t len = sizeof type;
        if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM)
            fi->flags |= FDI_STREAM;
    }
    if (!(fi->flags & FDI_MADE)) {
        fi->flags |= FDI_SHARED;
        fd_refresh(fd, fi);
    }
    return 0;
}

struct green_fdinfo *fd_get(int fd)
{
    struct green_fdinfo *fi = green_fd_info(fd);
    if (fi && fi->kind == GREEN_FD_UNKNOWN && adopt(fd, fi) < 0)
        return NULL;
    return fi;
}

void fd_new(int fd, int kind, bool nonblock, int flags)
{
    if (fd < 0 || !green_self())
        return;
    green_fd_close(fd);
    struct green_fdinfo *fi = green_fd_info(fd);
    if (fi) {
        fi->kind = (unsigned char)kind;
        fi->nonblock = nonblock;
        fi->flags = (unsigned char)(flags | FDI_MADE);
    }
}

void fd_dup(int fd, int newfd)
{
    if (newfd < 0 || !green_self())
        return;
    green_fd_close(newfd);
    struct green_fdinfo *from = green_fd_info(fd), *to = green_fd_info(newfd);
    if (!from || !to || from->kind == GREEN_FD_UNKNOWN)
        return;
    from->flags |= FDI_SHARED;
    *to = *from;
}

bool fd_nonblock(int fd, struct green_fdinfo *fi)
{
    if (fi->flags & FDI_SHARED)
        fd_refresh(fd, fi);
    return fi->nonblock;
}

void fd_closing(int fd)
{
    if (green_self())
        green_fd_close(fd);
}

/* ---- libgreen's own fds ------------------------------------------------- */

#define SHIM_MAX 8
static int shim[SHIM_MAX];
static int nshim;

bool fd_core_call(void)
{
    return preload_core_fds || (green_self() && !green_can_block());
}

/* Below the usual fd limit, so select() and the like still reach it,
 * but far above what a program normally uses. */
static int shim_floor(void)
{
    struct rlimit rl;
    rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (lim > 1024)
        lim = 1024;
    return lim > 64 ? (int)lim - 16 : 3;
}

int fd_shim_adopt(int fd)
{
    if (fd < 0 || nshim == SHIM_MAX)
        return fd;
    int high = real_fcntl(fd, F_DUPFD_CLOEXEC, shim_floor());
    if (high >= 0) {
        real_close(fd);
        fd = high;
    }
    int i = nshim++;
    while (i > 0 && shim[i - 1] > fd) {
        shim[i] = shim[i - 1];
        i--;
    }
    shim[i] = fd;
    return fd;
}

bool fd_is_shim(int fd)
{
    for (int i = 0; i < nshim; i++)
        if (shim[i] == fd)
            return true;
    return false;
}

bool fd_hidden(int fd)
{
    return nshim && fd_is_shim(fd) && !fd_core_call();
}

void fd_shim_drop(int fd)
{
    for (int i = 0; i < nshim; i++)
        if (shim[i] == fd) {
            memmove(&shim[i], &shim[i + 1], (size_t)(nshim - i - 1) * sizeof shim[0]);
            nshim--;
            return;
        }
}

int fd_shim_in(unsigned int lo, unsigned int hi, int *out, int max)
{
    int n = 0;
    for (int i = 0; i < nshim && n < max; i++)
        if ((unsigned int)shim[i] >= lo && (unsigned int)shim[i] <= hi)
            out[n++] = shim[i];
    return n;
}

/* ---- program memory ------------------------------------------------------ */

int fd_copyin(void *dst, const void *src, size_t n)
{
    struct iovec local = {.iov_base = dst, .iov_len = n};
    struct iovec remote = {.iov_base = (void *)src, .iov_len = n};
    if (n == 0)
        return 0;
    if (!src)
        return -EFAULT;
    int saved = errno;
    ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    int e = r < 0 ? errno : 0;
    errno = saved;
    if (r == (ssize_t)n)
        return 0;
    if (r < 0 && e != EFAULT) {
        memcpy(dst, src, n); /* the call is not allowed here: trust src */
        return 0;
    }
    return -EFAULT;
}

/* The program's memory at dst is probed page by page by reading it
 * (fd_copyin), then written: a write through process_vm_writev would be
 * invisible to valgrind. A read-only dst still faults. */
int fd_copyout(void *dst, const void *src, size_t n)
{
    char probe;
    if (n == 0)
        return 0;
    for (size_t off = 0; off < n; off += 4096)
        if (fd_copyin(&probe, (char *)dst + off, 1) < 0)
            return -EFAULT;
    if (fd_copyin(&probe, (char *)dst + n - 1, 1) < 0)
        return -EFAULT;
    memcpy(dst, src, n);
    return 0;
}

size_t iov_total(const struct iovec *iov, int cnt)
{
    size_t t = 0;
    for (int i = 0; i < cnt; i++)
        t = iov[i].iov_len > SIZE_MAX - t ? SIZE_MAX : t + iov[i].iov_len;
    return t;
}

int iov_copy(struct io *io, const struct iovec *iov, int cnt, size_t skip)
{
    while (cnt > 0 && skip >= iov->iov_len) {
        skip -= iov->iov_len;
        iov++;
        cnt--;
    }
    struct iovec *v = malloc((cnt ? (size_t)cnt : 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    memcpy(v, iov, (size_t)cnt * sizeof *v);
    if (cnt) {
        v[0].iov_base = (char *)v[0].iov_base + skip;
        v[0].iov_len -= skip;
    }
    free(io->owned);
    io->owned = io->iov = v;
    io->cnt = cnt;
    return 0;
}

/* ---- the waiting loop ---------------------------------------------------- */

/* Count r more done; true when the call must go on for the rest. */
static bool progress(struct io *io, size_t r)
{
    if (io->iov && !io->total)
        io->total = iov_total(io->iov, io->cnt);
    io->done += r;
    if (!io->all || io->done >= io->total)
        return false;
    return !io->iov || iov_copy(io, io->iov, io->cnt, r) == 0;
}

static int64_t deadline_of(const struct green_fdinfo *fi, int events)
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

int fd_wait(int fd, int events, const struct green_fdinfo *fi, int64_t *deadline,
            struct iovec **owned)
{
    if (!*deadline)
        *deadline = deadline_of(fi, events);
    struct green_wait w = {.call = GREEN_CALL_IO, .on = GREEN_ON_FD, .fd = fd,
                           .events = events, .deadline = *deadline,
                           .release = owned ? release_owned : NULL, .arg = owned};
    return green_wait(&w);
}

/* Where the kernel has no non-blocking form and no twin can be made
 * (ttys, devices, inotify): wait until ready, then make the call as the
 * program did (see LIMITS in libgreen.7). */
GREEN_YIELDS static ssize_t ready_then_call(struct io *io, struct green_fdinfo *fi)
{
    if (!fd_nonblock(io->fd, fi)) {
        int64_t never = GREEN_NEVER;
        int w = fd_wait(io->fd, io->events, fi, &never, &io->owned);
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
static ssize_t attempt(struct io *io, struct green_fdinfo *fi)
{
    if (!(fi->flags & FDI_NOFORM)) {
        ssize_t r = io->call(io, true);
        if (r != IO_NOFORM)
            return r;
        fi->flags |= FDI_NOFORM;
    }
    return fi->kind == GREEN_FD_PIPE ? twin_call(io) : IO_NOFORM;
}

/* read and write of nothing: the kernel answers at once (0, or the fd's
 * own size check, EINVAL for eventfd, timerfd, signalfd) where the
 * per-call forms say 0 early (preadv2) or ask the protocol (recv): make
 * it as the program did. Except a socket written, whose protocol may
 * wait for room (send's form is exact there), and an event queue read,
 * which waits for an event before it checks the count. */
static bool nothing_now(const struct io *io, const struct green_fdinfo *fi)
{
    if (fi->kind == GREEN_FD_SOCKET)
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
    return io->kind == GREEN_FD_SOCKET && real_poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* Where the core has learned that the first attempt would meet EAGAIN
 * (fdguess.c), wait for readiness before it. Not on the program's
 * O_NONBLOCK, nor on a description others share (its flags would cost a
 * system call to re-read). 0 when the wait was not made or ended ready
 * (or the fd cannot be polled), else its end: -EINTR, -EAGAIN at the
 * timeout, -EBADF. */
GREEN_YIELDS static int wait_first(struct io *io, struct green_fdinfo *fi, int64_t *deadline)
{
    if ((fi->flags & FDI_SHARED) || fi->nonblock || !green_fd_wait_first(fi, io->events))
        return 0;
    int w = fd_wait(io->fd, io->events, fi, deadline, &io->owned);
    return w > 0 || w == -EPERM ? 0 : w;
}

/* Every result of an attempt other than EAGAIN is the call's own: it is
 * returned as it is (a count goes on only where the blocking call takes
 * all). EAGAIN waits, unless the program asked for it. */
GREEN_YIELDS static ssize_t io_loop(struct io *io, struct green_fdinfo *fi)
{
    int64_t deadline = 0;
    if (io->rw && !io->total && nothing_now(io, fi))
        return last(io, io->call(io, false));
    if (io->rw && !io->total && io->events == GREEN_IN)
        return last(io, ready_then_call(io, fi)); /* an event queue */
    /* Closed while waiting (the number may be reused), or interrupted: a
     * handler ran, and an attempt now could find data its effects
     * brought, where the native call blocked in the kernel fails. */
    int early = wait_first(io, fi, &deadline);
    if (early == -EBADF || early == -EINTR)
        return early;
    for (bool learn = !deadline;; learn = false) {
        if (io->done && sock_error(io))
            return 0;
        ssize_t r = attempt(io, fi);
        if (learn)
            green_fd_tried(fi, io->events, r == -EAGAIN);
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
            return last(io, ready_then_call(io, fi));
        if (r != -EAGAIN || fd_nonblock(io->fd, fi))
            return r;
        int w = fd_wait(io->fd, io->events, fi, &deadline, &io->owned);
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

ssize_t io_run_fi(struct io *io, struct green_fdinfo *fi)
{
    green_yield_point();
    if (!fi || fi->kind == GREEN_FD_FILE || (io->socket_only && fi->kind != GREEN_FD_SOCKET))
        return io->call(io, false);
    io->kind = fi->kind;
    if (io->all_if_stream)
        io->all = (fi->flags & FDI_STREAM) != 0;
    ssize_t r = io_loop(io, fi);
    free(io->owned);
    io->owned = NULL;
    return io->done ? (ssize_t)io->done : r;
}
