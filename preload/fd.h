/* fd.h: what the file descriptor interposers share: the records of fds
 * (fd.c), libgreen's own fds (ownfd.c), the waiting loop (iorun.c) and
 * the program's buffers (iov.c).
 *
 * Every fd has a struct fd_rec in the slot the core keeps with its own
 * record of the fd (green_fd_slot): its kind, the program's own
 * O_NONBLOCK, SO_RCVTIMEO/SO_SNDTIMEO, and the FDI_* bits below.
 * Interposers that make a fd record what they know (fd_new); a fd
 * nobody saw made (inherited, made by an uninterposed call) is adopted
 * on its first slow-path use (fd_get). A record of a file
 * description others may share (a dup, an adopted fd) is re-read from
 * the kernel before its O_NONBLOCK or timeouts decide anything.
 *
 * io_run is the one waiting loop of every read, write, send and recv:
 * the call's own attempt function is made in its non-blocking form, and
 * on EAGAIN the green thread waits for the fd and tries again. Every
 * other result is the call's own and is returned as it is. A fd whose
 * kernel refuses the non-blocking form (IO_NOFORM, remembered as
 * FDI_NOFORM) gets one in io_run when it is a FIFO (a private
 * O_NONBLOCK reopen per attempt), else waits until ready and makes the
 * call. */
#ifndef GREEN_PRELOAD_FD_H
#define GREEN_PRELOAD_FD_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "preload.h"

/* What libgreen knows of a fd. All zeros (unknown) until filled; the
 * core zeroes it again at green_fd_close. */
enum fd_kind {
    FD_UNKNOWN = 0,
    FD_SOCKET,
    FD_PIPE,  /* pipes and FIFOs */
    FD_FILE,  /* regular files, directories, block devices */
    FD_OTHER, /* ttys, eventfd, timerfd, signalfd, ... */
};
struct fd_rec {
    unsigned char kind;            /* enum fd_kind */
    unsigned char nonblock;        /* the program's own O_NONBLOCK */
    unsigned char hidden_nonblock; /* O_NONBLOCK set by libgreen, hidden */
    unsigned char flags;           /* FDI_* */
    int64_t rcvtimeo;              /* SO_RCVTIMEO in ns; 0: none */
    int64_t sndtimeo;              /* SO_SNDTIMEO in ns; 0: none */
};
_Static_assert(sizeof(struct fd_rec) <= GREEN_FD_SLOT_SIZE, "fd_rec must fit the core's fd slot");

/* fd's record as it is (never adopted): NULL when fd < 0 or out of
 * memory. */
static inline struct fd_rec *fd_record(int fd)
{
    return green_fd_slot(fd);
}

/* fd_rec.flags */
#define FDI_SHARED 1 /* re-read flags and timeouts from the kernel */
#define FDI_STREAM 2 /* a SOCK_STREAM socket: blocking calls take all */
#define FDI_MADE 4   /* made by an interposer: nonblock is exact */
#define FDI_NOFORM 8 /* RWF_NOWAIT refused: no per-call non-blocking form */
#define FDI_EVQUEUE                                    \
    16 /* inotify, fanotify: a read waits for an event \
          before it looks at its count */

/* The record of fd, adopted when unknown; NULL for a bad fd (the real
 * call then gives the native error) or one the table cannot hold.
 * Scheduler OS thread only. */
PRELOAD_HIDDEN struct fd_rec *fd_get(int fd);

/* fd was just made by an interposer: forget any stale record of its
 * number, then record kind, the program's O_NONBLOCK and the FDI_*
 * bits. Does nothing off the scheduler's OS thread. */
PRELOAD_HIDDEN void fd_new(int fd, int kind, bool nonblock, int flags);

/* newfd is a duplicate of fd: same description, so same knowledge;
 * both become FDI_SHARED. */
PRELOAD_HIDDEN void fd_dup(int fd, int newfd);

/* Re-read O_NONBLOCK (unless libgreen set it) and socket timeouts. */
PRELOAD_HIDDEN void fd_refresh(int fd, struct fd_rec *fi);

/* The program's O_NONBLOCK on fd now (re-read when shared). */
PRELOAD_HIDDEN bool fd_nonblock(int fd, struct fd_rec *fi);

/* fd is about to be closed or replaced: wake its waiters with EBADF,
 * forget its record. Harmless off the scheduler's OS thread. */
PRELOAD_HIDDEN void fd_closing(int fd);

/* ---- libgreen's own fds (ownfd.c) -------------------------------------- */

/* Move a fd the core just made out of the program's way (a high number,
 * close-on-exec) and remember it. Returns the new number, or fd. */
PRELOAD_HIDDEN int fd_shim_adopt(int fd);
PRELOAD_HIDDEN bool fd_is_shim(int fd);
/* fd is libgreen's and the caller is the program: it must look closed. */
PRELOAD_HIDDEN bool fd_hidden(int fd);
/* fd is being closed by the core: forget it. */
PRELOAD_HIDDEN void fd_shim_drop(int fd);
/* The shim fds in [lo, hi], ascending, into out (at most max); count. */
PRELOAD_HIDDEN int fd_shim_in(unsigned int lo, unsigned int hi, int *out, int max);

/* ---- the waiting loop (iorun.c) ---------------------------------------- */

/* What an I/O call's waits share: its deadline, from the socket
 * timeouts on the first wait (0 until then), and green_call_seq() from
 * when the call began (FD_CALL_START). */
struct fd_call {
    int64_t deadline;
    unsigned long since;
};
#define FD_CALL_START ((struct fd_call){.since = green_call_seq()})

/* One green_wait of an I/O call (GREEN_CALL_IO) on fd for events (a
 * cancel frees *owned, when owned is given, and ends the thread).
 * Returns > 0 to try the call again (ready, or interrupted by a
 * SA_RESTART handler with no timeout), -EAGAIN at the timeout, -EPERM
 * for a fd that cannot be polled, -EINTR, -EBADF. */
GREEN_YIELDS PRELOAD_HIDDEN int fd_wait(int fd, int events, const struct fd_rec *fi,
                                        struct fd_call *c, struct iovec **owned);

struct io;
/* One attempt of the call: nowait selects its non-blocking form (else
 * the call as the program made it). Returns >= 0 or -errno, or
 * IO_NOFORM when the kernel refused the non-blocking form itself (see
 * io_nowait_err). */
typedef ssize_t io_fn(struct io *io, bool nowait);

/* Not an errno: the fd has no per-call non-blocking form. */
#define IO_NOFORM ((ssize_t)-0x10000)

/* The result of a failed RWF_NOWAIT attempt: EOPNOTSUPP means that the
 * fd has no such form, unless the program's own flags (prog_flags, for
 * preadv2 and pwritev2) may be what the kernel refused. */
static inline ssize_t io_nowait_err(int e, int prog_flags)
{
    return e == EOPNOTSUPP && !prog_flags ? IO_NOFORM : -e;
}

struct io {
    int fd;
    int events;         /* GREEN_IN or GREEN_OUT */
    unsigned char kind; /* the fd's enum fd_kind, set by io_run */
    io_fn *call;
    bool all;           /* a blocking call takes all of `total`: go on after
                           a short count (stream writes, MSG_WAITALL) */
    bool socket_only;   /* fails with ENOTSOCK on other fds (send, recv) */
    bool all_if_stream; /* all, but only on a SOCK_STREAM socket (MSG_WAITALL) */
    bool rw;            /* read or write: for a count of 0 the kernel answers
                           differently from the per-call form (see io_loop) */
    size_t total;       /* bytes (or messages) the call asks for */
    size_t done;        /* taken so far; attempts continue from there */
    /* the call's arguments, as its attempt function needs them */
    void *buf;
    struct iovec *iov; /* the program's array, or iov_copy's */
    int cnt;           /* entries of iov */
    int flags;
    off_t off;
    union {      /* what only some calls have */
        int how; /* io.c: which of the vector calls the program made */
        struct { /* accept4, recvfrom: where the peer's address goes */
            struct sockaddr *sa;
            socklen_t *len;
        } from;
        struct { /* sendto */
            const struct sockaddr *sa;
            socklen_t len;
        } to;
        struct msghdr *msg;          /* recvmsg, sendmsg (which only reads it) */
        struct {                     /* recvmmsg */
            struct timespec *ts;     /* the program's timeout */
            const int64_t *deadline; /* the same, as a deadline */
        } mmsg;
        struct { /* sendfile */
            int in;
            off_t *off;
        } sendfile;
    };
    struct iovec *owned; /* iov_copy's allocation, freed by io_run */
};

/* Run io to completion as the blocking call would, waiting green while
 * it would block: returns the count, or -errno (EAGAIN after the fd's
 * SO_RCVTIMEO/SO_SNDTIMEO, or at once when the program set O_NONBLOCK).
 * An error or timeout after progress returns the progress. Files and
 * unknown fds get the real call. */
GREEN_YIELDS PRELOAD_HIDDEN ssize_t io_run(struct io *io);
/* io_run for a caller that already has fd_get(io->fd). */
GREEN_YIELDS PRELOAD_HIDDEN ssize_t io_run_fi(struct io *io, struct fd_rec *fi);

/* ---- the program's buffers (iov.c) ------------------------------------- */

/* Make io->iov a private copy of iov[0..cnt) skipping its first `skip`
 * bytes (iov already read by the kernel, so valid). 0 or -ENOMEM. */
PRELOAD_HIDDEN int iov_copy(struct io *io, const struct iovec *iov, int cnt, size_t skip);

/* Sum of the iov lengths, or -EINVAL when it exceeds SSIZE_MAX, as the
 * kernel says of such an array (so never for one a call accepted). */
PRELOAD_HIDDEN ssize_t iov_total(const struct iovec *iov, int cnt);

/* The kernel's cap on one read, write or sendfile (MAX_RW_COUNT):
 * INT_MAX rounded down to a page. */
PRELOAD_HIDDEN size_t max_rw_count(void);

/* Copy n bytes from the program's src into dst without faulting in the
 * shim: 0, or -EFAULT when src is not readable. */
PRELOAD_HIDDEN int fd_copyin(void *dst, const void *src, size_t n);
/* The other way: n bytes of src into the program's dst; 0 or -EFAULT. */
PRELOAD_HIDDEN int fd_copyout(void *dst, const void *src, size_t n);

#endif
