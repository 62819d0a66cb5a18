/* io.c: the vector and positional reads and writes as green waits.
 *
 * Every one of them has a non-blocking form in preadv2/pwritev2 with
 * RWF_NOWAIT, at the same offset (-1: the current position); the wait
 * and the retries are io_run's (iorun.c). Reads of regular files go to
 * file.c (page cache first, else a helper thread); writes to them are
 * made for real (see LIMITS in libgreen.7). A negative offset of pread, pwrite, preadv
 * and pwritev goes to the C library as it is (EINVAL), since -1 means
 * "the current position" to preadv2. */
#include "fd.h"
#include "file.h"

enum how { READV, PREAD, PREADV, PREADV2 };

/* The program's own call, as it made it. */
static ssize_t as_called(struct io *io, bool out)
{
    const struct iovec *v = io->iov;
    switch ((enum how)io->how) {
    case READV:
        return out ? real_writev(io->fd, v, io->cnt) : real_readv(io->fd, v, io->cnt);
    case PREAD:
        return out ? real_pwrite(io->fd, v->iov_base, v->iov_len, io->off)
                   : real_pread(io->fd, v->iov_base, v->iov_len, io->off);
    case PREADV:
        return out ? real_pwritev(io->fd, v, io->cnt, io->off)
                   : real_preadv(io->fd, v, io->cnt, io->off);
    default:
        return out ? real_pwritev2(io->fd, v, io->cnt, io->off, io->flags)
                   : real_preadv2(io->fd, v, io->cnt, io->off, io->flags);
    }
}

static ssize_t vread_call(struct io *io, bool nowait)
{
    if (!nowait) {
        ssize_t r = as_called(io, false);
        return preload_neg_errno(r);
    }
    ssize_t r = real_preadv2(io->fd, io->iov, io->cnt, io->off, io->flags | RWF_NOWAIT);
    return r < 0 ? io_nowait_err(errno, io->flags) : r;
}

/* Later attempts of a write go on after what was written. */
static ssize_t vwrite_call(struct io *io, bool nowait)
{
    off_t off = io->off < 0 ? io->off : io->off + (off_t)io->done;
    if (!nowait) {
        ssize_t r = as_called(io, true);
        return preload_neg_errno(r);
    }
    ssize_t r = real_pwritev2(io->fd, io->iov, io->cnt, off, io->flags | RWF_NOWAIT);
    return r < 0 ? io_nowait_err(errno, io->flags) : r;
}

/* Passes through off green threads, when nobody else could run, with a
 * negative offset where none is allowed, with RWF_NOWAIT and for a pread
 * of nothing (positional, so never on a fd that waits; the kernel's
 * pread reaches the file, EISDIR on a directory, where preadv2 says 0);
 * otherwise reads without blocking, waiting green while nothing is there. */
static ssize_t vread(int fd, const struct iovec *iov, int cnt, off_t off, int flags, enum how how)
{
    struct io io = {.fd = fd,
                    .events = GREEN_IN,
                    .call = vread_call,
                    .iov = (struct iovec *)iov,
                    .cnt = cnt,
                    .off = off,
                    .flags = flags,
                    .how = how};
    if ((off < 0 && how != READV && how != PREADV2) || (flags & RWF_NOWAIT) ||
        (how == PREAD && !iov->iov_len) || !preload_should_wait())
        return as_called(&io, false);
    struct fd_rec *fi = fd_get(fd);
    if (fi && fi->kind == FD_FILE && !flags) /* page cache first, else a helper */
        return preload_ret(preload_file_preadv(fd, iov, cnt, off));
    return preload_ret(io_run_fi(&io, fi));
}

/* As vread; a blocking write takes all, as natively. */
static ssize_t vwrite(int fd, const struct iovec *iov, int cnt, off_t off, int flags, enum how how)
{
    struct io io = {.fd = fd,
                    .events = GREEN_OUT,
                    .call = vwrite_call,
                    .all = true,
                    .iov = (struct iovec *)iov,
                    .cnt = cnt,
                    .off = off,
                    .flags = flags,
                    .how = how};
    if ((off < 0 && how != READV && how != PREADV2) || (flags & RWF_NOWAIT) ||
        !preload_should_wait())
        return as_called(&io, true);
    return preload_ret(io_run(&io));
}

/* See vread. */
PRELOAD_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    return vread(fd, iov, cnt, -1, 0, READV);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    return vwrite(fd, iov, cnt, -1, 0, READV);
}

/* See vread. */
PRELOAD_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    struct iovec v = {.iov_base = buf, .iov_len = n};
    return vread(fd, &v, 1, off, 0, PREAD);
}

/* See vread. */
PRELOAD_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    return pread(fd, buf, n, off);
}

/* The fortified pread: the count is checked against the buffer first. */
PRELOAD_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return pread(fd, buf, n, off);
}

/* The fortified pread64. */
PRELOAD_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return pread(fd, buf, n, off);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = n};
    return vwrite(fd, &v, 1, off, 0, PREAD);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite(fd, buf, n, off);
}

/* See vread. */
PRELOAD_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return vread(fd, iov, cnt, off, 0, PREADV);
}

/* See vread. */
PRELOAD_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return vread(fd, iov, cnt, off, 0, PREADV);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return vwrite(fd, iov, cnt, off, 0, PREADV);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return vwrite(fd, iov, cnt, off, 0, PREADV);
}

/* See vread; the program's RWF_NOWAIT passes through. */
PRELOAD_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return vread(fd, iov, cnt, off, flags, PREADV2);
}

/* See vread. */
PRELOAD_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return vread(fd, iov, cnt, off, flags, PREADV2);
}

/* See vwrite; the program's RWF_NOWAIT passes through. */
PRELOAD_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return vwrite(fd, iov, cnt, off, flags, PREADV2);
}

/* See vwrite. */
PRELOAD_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return vwrite(fd, iov, cnt, off, flags, PREADV2);
}
