/* file.c: regular files, whose reads and syncs no fd wait can end.
 *
 * Polling says a regular file is always ready, yet a read that misses
 * the page cache sleeps in the disk. preadv2 with RWF_NOWAIT reads what
 * is cached and says EAGAIN otherwise: only then does the read go to a
 * helper thread (green_offload), where it blocks that thread alone.
 * Files where the kernel has no RWF_NOWAIT (EOPNOTSUPP: /proc, /sys,
 * some network and FUSE file systems) are read for real, on this
 * thread: the pseudo-files never wait for a disk. A cached read shorter than asked is either the
 * end of the file or a partly cached range: one more RWF_NOWAIT call tells which, and only the rest
 * not cached is offloaded, so the result is the whole count as a blocking read gives. fsync and
 * friends always offload.
 *
 * Offsets: off -1 means the file position (read, readv), which the
 * helper's preadv2 uses and moves exactly as the real read would. */
#include "fd.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file.h"

struct job {
    int fd, op;
    const struct iovec *iov;
    int cnt;
    off_t off, len;
    unsigned int flags;
    ssize_t r;
    int err;
};

enum { OP_READ, OP_FSYNC, OP_FDATASYNC, OP_SYNCFS, OP_RANGE };

static void do_file(void *p)
{
    struct job *j = p;
    switch (j->op) {
    case OP_READ:
        j->r = real_preadv2(j->fd, j->iov, j->cnt, j->off, 0);
        break;
    case OP_FSYNC:
        j->r = real_fsync(j->fd);
        break;
    case OP_FDATASYNC:
        j->r = real_fdatasync(j->fd);
        break;
    case OP_SYNCFS:
        j->r = real_syncfs(j->fd);
        break;
    default:
        j->r = real_sync_file_range(j->fd, j->off, j->len, j->flags);
        break;
    }
    j->err = errno;
}

GREEN_YIELDS static ssize_t offload(struct job *j)
{
    green_offload(do_file, j);
    return j->r < 0 ? -j->err : j->r;
}

/* The iovec past the first done bytes, in tmp (at most IOV_MAX long). */
static int iov_skip(const struct iovec *iov, int cnt, size_t done, struct iovec *tmp)
{
    int k = 0;
    for (int i = 0; i < cnt; i++) {
        if (done >= iov[i].iov_len) {
            done -= iov[i].iov_len;
            continue;
        }
        tmp[k].iov_base = (char *)iov[i].iov_base + done;
        tmp[k++].iov_len = iov[i].iov_len - done;
        done = 0;
    }
    return k;
}

ssize_t preload_file_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    size_t want = SIZE_MAX, done = 0; /* summed once the kernel read iov */
    struct iovec tmp[cnt > 0 && cnt <= IOV_MAX ? cnt : 1];
    const struct iovec *v = iov;
    int n = cnt;
    for (;;) {
        ssize_t r = real_preadv2(fd, v, n, off < 0 ? -1 : off + (off_t)done, RWF_NOWAIT);
        if (r > 0 && want == SIZE_MAX)
            want = (size_t)iov_total(iov, cnt); /* the kernel took iov: no -EINVAL */
        if (r > 0 && (done += (size_t)r) < want && cnt <= IOV_MAX) {
            n = iov_skip(iov, cnt, done, tmp);
            v = tmp;
            continue;
        }
        if (r >= 0)
            return (ssize_t)done;
        if (errno == EOPNOTSUPP && !done) {
            r = off < 0 ? real_readv(fd, iov, cnt) : real_preadv(fd, iov, cnt, off);
            return preload_neg_errno(r);
        }
        if (errno != EAGAIN)
            return done ? (ssize_t)done : -errno;
        struct job j = {
            .fd = fd, .op = OP_READ, .iov = v, .cnt = n, .off = off < 0 ? -1 : off + (off_t)done};
        r = offload(&j);
        return r < 0 ? (done ? (ssize_t)done : r) : (ssize_t)done + r;
    }
}

GREEN_YIELDS static int sync_op(int op, int fd)
{
    struct job j = {.fd = fd, .op = op};
    return (int)preload_ret(offload(&j));
}

/* Each runs on a helper thread while the caller waits green. */
PRELOAD_EXPORT int fsync(int fd)
{
    return preload_should_wait() ? sync_op(OP_FSYNC, fd) : real_fsync(fd);
}

PRELOAD_EXPORT int fdatasync(int fd)
{
    return preload_should_wait() ? sync_op(OP_FDATASYNC, fd) : real_fdatasync(fd);
}

PRELOAD_EXPORT int syncfs(int fd)
{
    return preload_should_wait() ? sync_op(OP_SYNCFS, fd) : real_syncfs(fd);
}

PRELOAD_EXPORT int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    if (!preload_should_wait())
        return real_sync_file_range(fd, off, n, flags);
    struct job j = {.fd = fd, .op = OP_RANGE, .off = off, .len = n, .flags = flags};
    return (int)preload_ret(offload(&j));
}
