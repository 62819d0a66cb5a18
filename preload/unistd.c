/* unistd.c: read and write as green waits; close, dup and pipe keep the
 * fd records (fd.c) true.
 *
 * Never set O_NONBLOCK on a file description: the program, its parent
 * shell and glibc's own stdio (which reads through an internal read no
 * interposer sees) share it. Each call is first made in a per-call
 * non-blocking form instead: preadv2/pwritev2 with RWF_NOWAIT and offset
 * -1 (the current position, as read and write use) works on pipes,
 * sockets and regular files. On EAGAIN the thread waits green for
 * the fd and retries, unless the program set O_NONBLOCK itself (then it
 * gets EAGAIN, as natively) or the fd is a file or block device, which
 * polling cannot wait for (then the real call is made). Where the kernel
 * has no non-blocking form (FIFOs opened with open(), ttys, some devices:
 * EOPNOTSUPP) io_run finds another (iorun.c). A count of 0 is made as the
 * program made it (see io_loop).
 *
 * read and write check their whole buffer before clamping the count to
 * MAX_RW_COUNT, while preadv2/pwritev2 clamp first and reject counts
 * above SSIZE_MAX with EINVAL: huge counts are handled apart to keep the
 * native errno. */
#include "fd.h"
#include "file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* For n above MAX_RW_COUNT: the error the real call would give before
 * doing anything (bad fd or wrong mode, then a buffer reaching past user
 * space), or 0. The range is probed by a read on a directory, which the
 * kernel checks the same way and then fails with EISDIR, touching
 * nothing; raw system calls keep the probe's fd away from interposers. */
static int huge_check(int fd, const void *buf, size_t n, int wrong_mode)
{
    int fl = real_fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if ((fl & O_ACCMODE) == wrong_mode || (fl & O_PATH))
        return -EBADF;
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    int bad = syscall(SYS_read, dir, buf, n) < 0 && errno == EFAULT;
    syscall(SYS_close, dir);
    return bad ? -EFAULT : 0;
}

/* A socket is read with recv: the kernel's path for it is shorter than
 * preadv2's, and a thread-per-connection server makes two such calls per
 * request (the second meets EAGAIN). */
static ssize_t read_call(struct io *io, bool nowait)
{
    struct iovec iov = {.iov_base = io->buf, .iov_len = io->total};
    ssize_t r = -1;
    errno = ENOTSOCK;
    if (nowait && io->kind == FD_SOCKET)
        r = real_recv(io->fd, io->buf, io->total, MSG_DONTWAIT);
    if (r >= 0 || errno != ENOTSOCK) /* else not a socket, or no longer one */
        return preload_neg_errno(r);
    if (!nowait)
        r = real_read(io->fd, io->buf, io->total);
    else if ((r = real_preadv2(io->fd, &iov, 1, -1, RWF_NOWAIT)) < 0)
        return io_nowait_err(errno, 0);
    return preload_neg_errno(r);
}

/* A socket is written with send, so that a write after part of the
 * buffer went does not raise a second SIGPIPE (the kernel returns the
 * count then, and signals on the next call). */
static ssize_t write_call(struct io *io, bool nowait)
{
    char *p = (char *)io->buf + io->done;
    size_t n = io->total - io->done;
    struct iovec iov = {.iov_base = p, .iov_len = n};
    ssize_t r;
    if (!nowait)
        r = real_write(io->fd, p, n);
    else if (io->kind == FD_SOCKET)
        r = real_send(io->fd, p, n, MSG_DONTWAIT | (io->done ? MSG_NOSIGNAL : 0));
    else if ((r = real_pwritev2(io->fd, &iov, 1, -1, RWF_NOWAIT)) < 0)
        return io_nowait_err(errno, 0);
    return preload_neg_errno(r);
}

/* Passes through off green threads, when nobody else could run, and for
 * counts no call can accept (fails at once); waits green on EAGAIN. */
static __attribute__((noinline)) ssize_t read_green(int fd, void *buf, size_t n)
{
    if (n > SSIZE_MAX || !preload_should_wait())
        return real_read(fd, buf, n);
    int r = n > max_rw_count() ? huge_check(fd, buf, n, O_WRONLY) : 0;
    if (r < 0)
        return preload_fail(r);
    struct fd_rec *fi = fd_get(fd);
    if (fi && fi->kind == FD_FILE && n) /* page cache first, else a helper (file.c) */
        return preload_ret(preload_file_preadv(fd, &(struct iovec){buf, n}, 1, -1));
    struct io io = {
        .fd = fd, .events = GREEN_IN, .call = read_call, .buf = buf, .total = n, .rw = true};
    return preload_ret(io_run_fi(&io, fi));
}

/* A single-threaded program's read is one test and the real call, in a
 * frame with nothing to save (read_green is apart for that). */
static inline ssize_t do_read(int fd, void *buf, size_t n)
{
    if (!preload_threaded)
        return real_read(fd, buf, n);
    return read_green(fd, buf, n);
}

/* Passes through or waits green as do_read says. */
PRELOAD_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    return do_read(fd, buf, n);
}

/* The fortified read: read (passing through or waiting green as it does)
 * once the count is checked against the buffer's size. */
PRELOAD_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return do_read(fd, buf, n);
}

/* Passes through as read_green does; otherwise writes all of buf as a
 * blocking write does, waiting green whenever the fd is full. A pipe
 * takes up to PIPE_BUF bytes whole or not at all, so such writes stay
 * atomic. */
static __attribute__((noinline)) ssize_t write_green(int fd, const void *buf, size_t n)
{
    if (n > SSIZE_MAX || !preload_should_wait())
        return real_write(fd, buf, n);
    int r = n > max_rw_count() ? huge_check(fd, buf, n, O_RDONLY) : 0;
    if (r < 0)
        return preload_fail(r);
    struct io io = {.fd = fd,
                    .events = GREEN_OUT,
                    .call = write_call,
                    .buf = (void *)buf,
                    .total = n > max_rw_count() ? max_rw_count() : n,
                    .all = true,
                    .rw = true};
    return preload_ret(io_run(&io));
}

/* One test and the real call while the program has one thread, as read;
 * else write_green. */
PRELOAD_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (!preload_threaded)
        return real_write(fd, buf, n);
    return write_green(fd, buf, n);
}

/* ---- closing and duplicating ------------------------------------------- */

/* libgreen's own fds look closed to the program; the core may close them
 * (libev does, to remake its epoll fd after fork). */
static bool hands_off(int fd)
{
    if (!fd_is_shim(fd))
        return false;
    if (!preload_core_call())
        return true;
    fd_shim_drop(fd);
    return false;
}

/* Never waits. Before the real close, wake the green threads waiting on
 * fd (they get EBADF) and drop the record: libev keeps a fd registered
 * with epoll after its waits end, and would never report a new file that
 * reuses the number. libgreen's own fds fail with EBADF. */
PRELOAD_EXPORT int close(int fd)
{
    preload_ensure();
    if (hands_off(fd))
        return preload_fail(-EBADF);
    fd_closing(fd);
    return real_close(fd);
}

/* close_range of [lo, hi] minus libgreen's own fds: one real call per
 * piece around them. */
static int close_pieces(unsigned int lo, unsigned int hi, int flags)
{
    int own[8], n = fd_shim_in(lo, hi, own, 8);
    for (int i = 0; i <= n; i++) {
        unsigned int a = i ? (unsigned int)own[i - 1] + 1 : lo;
        unsigned int b = i < n ? (unsigned int)own[i] - 1 : hi;
        if (a <= b && real_close_range(a, b, flags) < 0)
            return -1;
    }
    return 0;
}

/* Never waits. Wakes the waiters of every fd in the range with EBADF and
 * forgets their records (unless it only sets close-on-exec), then closes
 * the range around libgreen's own fds. Bad arguments go to libc as they
 * are, for its error. */
PRELOAD_EXPORT int close_range(unsigned int lo, unsigned int hi, int flags)
{
    preload_ensure();
    if (lo > hi || (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
        return real_close_range(lo, hi, flags);
    if (!(flags & CLOSE_RANGE_CLOEXEC) && green_self())
        green_fd_close_range(lo, hi > INT_MAX ? INT_MAX : hi);
    return close_pieces(lo, hi, flags);
}

/* As close_range(lowfd, ~0U, 0); the part above libgreen's fds goes to
 * libc's closefrom, which has its own fallback when close_range fails. */
PRELOAD_EXPORT void closefrom(int lowfd)
{
    preload_ensure();
    unsigned int lo = lowfd < 0 ? 0 : (unsigned int)lowfd;
    int own[8], n = fd_shim_in(lo, ~0U, own, 8);
    if (green_self())
        green_fd_close_range(lo, INT_MAX);
    if (n && close_pieces(lo, (unsigned int)own[n - 1], 0) < 0)
        n = 0;
    real_closefrom(n ? own[n - 1] + 1 : (int)lo);
}

/* Never waits; the copy shares the description, so its record too. */
PRELOAD_EXPORT int dup(int fd)
{
    preload_ensure();
    if (fd_hidden(fd))
        return preload_fail(-EBADF); /* libgreen's own */
    int r = real_dup(fd);
    if (r >= 0)
        fd_dup(fd, r);
    return r;
}

/* dup2 and dup3: to is closed first, so its waiters wake with EBADF, but
 * only when fd is valid (otherwise nothing is closed, as natively). A
 * libgreen fd as target fails with EBADF, as for a number beyond the
 * limit: the event loop keeps its number. */
static int dup_onto(int fd, int to, int flags, bool three)
{
    preload_ensure();
    if (hands_off(to) || fd_hidden(fd))
        return preload_fail(-EBADF);
    if (fd != to && real_fcntl(fd, F_GETFD) >= 0)
        fd_closing(to);
    int r = three ? real_dup3(fd, to, flags) : real_dup2(fd, to);
    if (r >= 0 && fd != to)
        fd_dup(fd, r);
    return r;
}

/* Never waits (see dup_onto). */
PRELOAD_EXPORT int dup2(int fd, int to)
{
    return dup_onto(fd, to, 0, false);
}

/* Never waits (see dup_onto). */
PRELOAD_EXPORT int dup3(int fd, int to, int flags)
{
    return dup_onto(fd, to, flags, true);
}

/* Never waits; records both ends as pipes, with O_NONBLOCK as asked.
 * A pipe libev makes for libgreen's loop goes high (see fcntl.c). The
 * system call is the program's own: pipe for pipe, pipe2 for pipe2. */
static int make_pipe(int p[2], int flags, bool two)
{
    preload_ensure();
    int r = two ? real_pipe2(p, flags) : real_pipe(p);
    if (r == 0 && preload_core_call()) {
        p[0] = fd_shim_adopt(p[0]);
        p[1] = fd_shim_adopt(p[1]);
    } else if (r == 0) {
        fd_new(p[0], FD_PIPE, flags & O_NONBLOCK, 0);
        fd_new(p[1], FD_PIPE, flags & O_NONBLOCK, 0);
    }
    return r;
}

/* See make_pipe. */
PRELOAD_EXPORT int pipe2(int p[2], int flags)
{
    return make_pipe(p, flags, true);
}

/* pipe2 with no flags. */
PRELOAD_EXPORT int pipe(int p[2])
{
    return make_pipe(p, 0, false);
}
