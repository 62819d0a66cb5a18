/* unistd.c: read, write, accept and connect as green waits; close.
 *
 * Never set O_NONBLOCK on a file description: the program, its parent
 * shell and glibc's own stdio (which reads through an internal read no
 * interposer sees) share it. Each call is first made in a per-call
 * non-blocking form instead: preadv2/pwritev2 with RWF_NOWAIT and offset
 * -1 (the current position, as read and write use) works on pipes,
 * sockets, FIFOs and regular files. On EAGAIN the thread waits green for
 * the fd and retries, unless the program set O_NONBLOCK itself (then it
 * gets EAGAIN, as natively) or the fd is a file or block device, which
 * polling cannot wait for (then the real call is made). Where the kernel
 * has no non-blocking form (ttys, some devices: EOPNOTSUPP) the thread
 * waits for readiness, then makes the real call.
 *
 * read and write check their whole buffer before clamping the count to
 * MAX_RW_COUNT, while preadv2/pwritev2 clamp first and reject counts
 * above SSIZE_MAX with EINVAL: huge counts are handled apart to keep the
 * native errno. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "preload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern void __chk_fail(void) __attribute__((noreturn));

/* The kernel's cap on one read or write. */
static size_t max_rw_count(void)
{
    return (size_t)INT_MAX & ~((size_t)getpagesize() - 1);
}

static int own_nonblock(int fd)
{
    int fl = real_fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* Files, block devices and directories cannot be polled: their calls
 * are made for real. */
static int unpollable(int fd)
{
    struct stat st;
    return real_fstat(fd, &st) == 0 &&
           (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode));
}

/* After the non-blocking form failed with err (EAGAIN or EOPNOTSUPP):
 * 0 to retry it, 1 to make the real call now, or -errno to fail with. */
GREEN_YIELDS static int wait_ready(int fd, int events, int err)
{
    if (own_nonblock(fd))
        return err == EAGAIN ? -EAGAIN : 1;
    if (unpollable(fd))
        return 1;
    int r = green_fd_wait(fd, events, GREEN_NEVER);
    if (r == -EPERM)
        return 1;
    if (r < 0)
        return r;
    return err == EAGAIN ? 0 : 1;
}

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

GREEN_YIELDS static ssize_t read_green(int fd, void *buf, size_t n)
{
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    int r = n > max_rw_count() ? huge_check(fd, buf, n, O_WRONLY) : 0;
    while (r == 0) {
        ssize_t got = real_preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
        if (got >= 0)
            return got;
        if (errno != EAGAIN && errno != EOPNOTSUPP)
            return -errno;
        r = wait_ready(fd, GREEN_IN, errno);
    }
    if (r < 0)
        return r;
    ssize_t got = real_read(fd, buf, n);
    return got < 0 ? -errno : got;
}

/* The real write of what is left, once the fd is ready. */
static ssize_t write_rest(int fd, const char *buf, size_t done, size_t n)
{
    ssize_t r = real_write(fd, buf + done, n - done);
    if (r < 0)
        return done ? (ssize_t)done : -errno;
    return (ssize_t)done + r;
}

/* Write all of buf, as a blocking write does, waiting green whenever the
 * fd is full. An error after some progress returns the count written, as
 * the kernel does. A pipe takes n <= PIPE_BUF whole or not at all, so
 * such writes stay atomic. */
GREEN_YIELDS static ssize_t write_green(int fd, const char *buf, size_t n)
{
    size_t done = 0;
    int r = n > max_rw_count() ? huge_check(fd, buf, n, O_RDONLY) : 0;
    if (n > max_rw_count())
        n = max_rw_count();
    while (r == 0) {
        struct iovec iov = {.iov_base = (char *)buf + done, .iov_len = n - done};
        ssize_t put = real_pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
        if (put > 0 && (done += (size_t)put) < n && !own_nonblock(fd))
            continue;
        if (put >= 0)
            return (ssize_t)done;
        if (errno != EAGAIN && errno != EOPNOTSUPP)
            return done ? (ssize_t)done : -errno;
        r = wait_ready(fd, GREEN_OUT, errno);
    }
    if (r < 0)
        return done ? (ssize_t)done : r;
    return write_rest(fd, buf, done, n);
}

/* Passes through off green threads, when nobody else could run, and for
 * counts no call can accept (fails at once); waits green on EAGAIN. */
static ssize_t do_read(int fd, void *buf, size_t n)
{
    if (n > SSIZE_MAX || !preload_should_wait())
        return real_read(fd, buf, n);
    return preload_ret(read_green(fd, buf, n));
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

/* Passes through as read does; waits green while the fd is full. */
PRELOAD_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (n > SSIZE_MAX || !preload_should_wait())
        return real_write(fd, buf, n);
    return preload_ret(write_green(fd, buf, n));
}

/* Never waits. Before the real close, wake the green threads waiting on
 * fd (they get EBADF) and drop the core's state for it: libev keeps a
 * fd registered with epoll after its waits end, and would never report
 * a new file that reuses the number. Only the scheduler's OS thread may
 * touch the core; a close elsewhere just closes. */
PRELOAD_EXPORT int close(int fd)
{
    preload_ensure();
    if (green_self())
        green_fd_close(fd);
    return real_close(fd);
}

/* accept has no per-call non-blocking form: wait until poll says a
 * connection is pending, then make the real call. A prefork server's
 * processes share the listening socket, so another process may take the
 * connection between the poll and the accept, and the real accept then
 * blocks every green thread until the next one arrives. Closing that race
 * needs O_NONBLOCK on listening sockets hidden from F_GETFL and ioctl,
 * which belongs with the fd table (fcntl.c), not here. */
GREEN_YIELDS static int accept_green(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (real_poll(&p, 1, 0) != 0)
            break;
        int r = green_fd_wait(fd, GREEN_IN, GREEN_NEVER);
        if (r == -EPERM)
            break;
        if (r < 0)
            return r;
    }
    int r = real_accept4(fd, sa, len, flags);
    return r < 0 ? -errno : r;
}

/* Passes through off green threads, when nobody else could run, and on
 * sockets the program made non-blocking; otherwise waits green. */
PRELOAD_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    int fl;
    if (!preload_should_wait() || (fl = real_fcntl(fd, F_GETFL)) < 0 || (fl & O_NONBLOCK))
        return real_accept4(fd, sa, len, flags);
    return (int)preload_ret(accept_green(fd, sa, len, flags));
}

/* As accept4 with no flags. */
PRELOAD_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    int fl;
    if (!preload_should_wait() || (fl = real_fcntl(fd, F_GETFL)) < 0 || (fl & O_NONBLOCK))
        return real_accept(fd, sa, len);
    return (int)preload_ret(accept_green(fd, sa, len, 0));
}

/* One non-blocking connect attempt: the socket is not connected yet, so
 * no one else can see its flags change meanwhile. Returns 0 or -errno. */
static int connect_once(int fd, int fl, const struct sockaddr *sa, socklen_t len)
{
    if (real_fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    int e = real_connect(fd, sa, len) < 0 ? errno : 0;
    real_fcntl(fd, F_SETFL, fl);
    return -e;
}

/* Repeat the non-blocking connect until it no longer says "in progress",
 * waiting for writability in between: the call after the wait-for
 * completion reports the outcome exactly as a blocking connect would (0,
 * or the socket error) and moves the socket to its final state, so a
 * later connect says EISCONN as natively. A full AF_UNIX backlog (EAGAIN)
 * gives no event to wait for: retry every millisecond, as the blocking
 * connect would wait for room. */
GREEN_YIELDS static int connect_green(int fd, int fl, const struct sockaddr *sa, socklen_t len)
{
    int r = connect_once(fd, fl, sa, len);
    for (;;) {
        int w;
        if (r == -EAGAIN)
            w = green_sleep_until(preload_deadline_after(1000000));
        else if (r == -EINPROGRESS || r == -EALREADY)
            w = green_fd_wait(fd, GREEN_OUT, GREEN_NEVER);
        else
            return r;
        if (w < 0)
            return w;
        r = connect_once(fd, fl, sa, len);
    }
}

/* Passes through as accept4 does; otherwise connects without blocking
 * and waits green until the socket is writable. */
PRELOAD_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    int fl;
    if (!preload_should_wait() || (fl = real_fcntl(fd, F_GETFL)) < 0 || (fl & O_NONBLOCK))
        return real_connect(fd, sa, len);
    return (int)preload_ret(connect_green(fd, fl, sa, len));
}
