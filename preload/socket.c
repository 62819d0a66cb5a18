/* socket.c: sockets as green waits.
 *
 * recv and send families try the call with MSG_DONTWAIT added (the
 * socket's flags stay untouched) and wait green on EAGAIN (iorun.c). A
 * blocking send on a stream socket takes all of the buffer, as the kernel
 * does, and MSG_WAITALL receives until full, EOF or an error; the later
 * attempts of such a call add MSG_NOSIGNAL, since the kernel returns the
 * count after progress and raises SIGPIPE only on the next call.
 *
 * accept has no per-call non-blocking form. A prefork server's processes
 * share the listening socket, and a connection another process takes
 * between our wait and our accept would leave the accept blocking every
 * green thread. So the first accept that would wait sets O_NONBLOCK on
 * the listening socket (hidden_nonblock): F_GETFL and FIONBIO keep
 * reporting and changing only the program's own flag (fcntl.c). It stays
 * set while the process lives (forked children share the description
 * and the record); see LIMITS in libgreen.7 for programs that inherit the
 * socket through exec.
 *
 * connect on a blocking socket is made non-blocking for its duration
 * only: nobody else can use a socket that is not connected yet. */
#include "fd.h"
#include "pthr.h"

#include <fcntl.h>
#include <string.h>

#define SOCK_TYPE_MASK 0xf

/* Flags with which a call never waits: the program's MSG_DONTWAIT, and
 * MSG_ERRQUEUE, which only reads a socket's error queue (EAGAIN when
 * empty; polling never says when it fills, POLLERR is not readability). */
#define NEVER_WAITS (MSG_DONTWAIT | MSG_ERRQUEUE)

static int stream_bit(int type)
{
    return (type & SOCK_TYPE_MASK) == SOCK_STREAM ? FDI_STREAM : 0;
}

/* Never waits; records the socket, its type and SOCK_NONBLOCK. */
PRELOAD_EXPORT int socket(int domain, int type, int proto)
{
    preload_ensure();
    int fd = real_socket(domain, type, proto);
    fd_new(fd, FD_SOCKET, type & SOCK_NONBLOCK, stream_bit(type));
    return fd;
}

/* Never waits; records both ends as socket does. */
PRELOAD_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
    preload_ensure();
    int r = real_socketpair(domain, type, proto, sv);
    if (r == 0) {
        fd_new(sv[0], FD_SOCKET, type & SOCK_NONBLOCK, stream_bit(type));
        fd_new(sv[1], FD_SOCKET, type & SOCK_NONBLOCK, stream_bit(type));
    }
    return r;
}

/* Never waits: passes through. */
PRELOAD_EXPORT int listen(int fd, int backlog)
{
    return real_listen(fd, backlog);
}

/* Never waits: passes through (waiting readers see EOF from the kernel). */
PRELOAD_EXPORT int shutdown(int fd, int how)
{
    return real_shutdown(fd, how);
}

static bool is_timeo(int level, int name)
{
    if (level != SOL_SOCKET)
        return false;
#ifdef SO_RCVTIMEO_NEW
    if (name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW)
        return true;
#endif
    return name == SO_RCVTIMEO || name == SO_SNDTIMEO;
}

/* Never waits. A successful SO_RCVTIMEO or SO_SNDTIMEO is recorded as the
 * kernel keeps it: waits of this socket then end with EAGAIN after it. */
PRELOAD_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    preload_ensure();
    int r = real_setsockopt(fd, level, name, val, len);
    struct fd_rec *fi;
    if (r == 0 && is_timeo(level, name) && green_self() && (fi = fd_get(fd)))
        fd_refresh(fd, fi);
    return r;
}

/* Never waits: passes through (libgreen hides nothing in socket options). */
PRELOAD_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    return real_getsockopt(fd, level, name, val, len);
}

/* ---- accept and connect --------------------------------------------------- */

static ssize_t accept_call(struct io *io, bool nowait)
{
    (void)nowait;
    int r = real_accept4(io->fd, io->from.sa, io->from.len, io->flags);
    return preload_neg_errno(r);
}

/* Make the listening socket non-blocking for good, hidden (see above).
 * False when it cannot be (then the real call is made). */
static bool hide_nonblock(int fd, struct fd_rec *fi)
{
    if (fi->hidden_nonblock)
        return true;
    int fl = real_fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK) || real_fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return false;
    fi->hidden_nonblock = 1;
    return true;
}

/* The new socket: type and timeouts inherited from the listener, as the
 * kernel does; O_NONBLOCK only from SOCK_NONBLOCK. */
static int accepted(int lfd, int fd, int flags)
{
    struct fd_rec *l = green_self() ? fd_record(lfd) : NULL, *fi;
    fd_new(fd, FD_SOCKET, flags & SOCK_NONBLOCK, l ? l->flags & FDI_STREAM : 0);
    if (l && (fi = fd_record(fd))) {
        fi->rcvtimeo = l->rcvtimeo;
        fi->sndtimeo = l->sndtimeo;
    }
    return fd;
}

/* The real accept, blocking as the program expects even when libgreen
 * made the listening socket non-blocking (hidden_nonblock): then it
 * waits in a real poll, as the real accept would have waited. */
static int real_accept_blocking(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    struct fd_rec *fi = green_self() ? fd_record(fd) : NULL;
    for (;;) {
        int r = real_accept4(fd, sa, len, flags);
        if (r >= 0 || errno != EAGAIN || !fi || !fi->hidden_nonblock || fi->nonblock)
            return r;
        int timeout = fi->rcvtimeo > 0 ? (int)(fi->rcvtimeo / 1000000) : -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = real_poll(&p, 1, timeout);
        if (n == 0)
            return errno = EAGAIN, -1;
        if (n < 0)
            return -1;
    }
}

/* Passes through off green threads, when nobody else could run and on
 * sockets the program made non-blocking; otherwise waits green until a
 * connection is there (EAGAIN after SO_RCVTIMEO, as natively). */
PRELOAD_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    struct fd_rec *fi;
    if (!preload_should_wait() || !(fi = fd_get(fd)) || fi->kind != FD_SOCKET ||
        fd_nonblock(fd, fi) || !hide_nonblock(fd, fi))
        return accepted(fd, real_accept_blocking(fd, sa, len, flags), flags);
    struct io io = {
        .fd = fd, .events = GREEN_IN, .call = accept_call, .from = {sa, len}, .flags = flags};
    ssize_t r = io_run_fi(&io, fi);
    return r < 0 ? preload_fail((int)r) : accepted(fd, (int)r, flags);
}

/* As accept4 with no flags. */
PRELOAD_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    return accept4(fd, sa, len, 0);
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
 * waiting for writability in between: the call after the wait reports
 * the outcome exactly as a blocking connect would (0, or the socket
 * error) and moves the socket to its final state. A full AF_UNIX backlog
 * (EAGAIN) gives no event to wait for: retry every millisecond, as the
 * blocking connect would wait for room. At SO_SNDTIMEO the call returns
 * what its last attempt said, as the kernel does: EINPROGRESS, EALREADY
 * when a connect was already under way, EAGAIN for a full backlog. */
GREEN_YIELDS static int connect_green(int fd, int fl, const struct sockaddr *sa, socklen_t len,
                                      int64_t deadline)
{
    unsigned long since = green_call_seq();
    int r = connect_once(fd, fl, sa, len);
    while (r == -EAGAIN || r == -EINPROGRESS || r == -EALREADY) {
        struct green_wait w = {.call = GREEN_CALL_CONNECT,
                               .fd = fd,
                               .events = GREEN_OUT,
                               .on = r == -EAGAIN ? GREEN_ON_RETRY : GREEN_ON_FD,
                               .deadline = deadline,
                               .result = r,
                               .since = since};
        int k = green_wait(&w);
        if (k <= 0)
            return k;
        r = connect_once(fd, fl, sa, len);
    }
    return r;
}

/* Passes through as accept4 does; otherwise connects without blocking
 * and waits green until the socket is writable. */
PRELOAD_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct fd_rec *fi;
    int fl;
    if (!preload_should_wait() || !(fi = fd_get(fd)) || fi->kind != FD_SOCKET ||
        fd_nonblock(fd, fi) || (fl = real_fcntl(fd, F_GETFL)) < 0)
        return real_connect(fd, sa, len);
    int64_t deadline = fi->sndtimeo > 0 ? preload_deadline_after(fi->sndtimeo) : GREEN_NEVER;
    int r = connect_green(fd, fl, sa, len, deadline);
    return r < 0 ? preload_fail(r) : 0;
}

/* ---- receiving ---------------------------------------------------------- */

/* nowait adds MSG_DONTWAIT; later attempts of MSG_WAITALL go on after
 * what came. */
static ssize_t recvfrom_call(struct io *io, bool nowait)
{
    int fl = io->flags | (nowait ? MSG_DONTWAIT : 0);
    ssize_t r = real_recvfrom(io->fd, (char *)io->buf + io->done, io->total - io->done, fl,
                              io->from.sa, io->from.len);
    return preload_neg_errno(r);
}

/* Passes through off green threads, when nobody else could run and with
 * MSG_DONTWAIT or MSG_ERRQUEUE; otherwise waits green while nothing came. */
static ssize_t do_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
                           socklen_t *len)
{
    if ((flags & NEVER_WAITS) || !preload_should_wait())
        return real_recvfrom(fd, buf, n, flags, sa, len);
    struct io io = {.fd = fd,
                    .events = GREEN_IN,
                    .call = recvfrom_call,
                    .socket_only = true,
                    .all_if_stream = (flags & (MSG_WAITALL | MSG_PEEK)) == MSG_WAITALL,
                    .buf = buf,
                    .total = n,
                    .flags = flags,
                    .from = {sa, len}};
    return preload_ret(io_run(&io));
}

/* Waits green as do_recvfrom says. */
PRELOAD_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
                                socklen_t *len)
{
    return do_recvfrom(fd, buf, n, flags, sa, len);
}

/* recvfrom without an address. */
PRELOAD_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return do_recvfrom(fd, buf, n, flags, NULL, NULL);
}

/* The fortified recv: the count is checked against the buffer first. */
PRELOAD_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return do_recvfrom(fd, buf, n, flags, NULL, NULL);
}

/* The fortified recvfrom. */
PRELOAD_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                      struct sockaddr *sa, socklen_t *len)
{
    if (n > buflen)
        __chk_fail();
    return do_recvfrom(fd, buf, n, flags, sa, len);
}

/* The first attempt uses the program's msghdr (the kernel checks it and
 * fills name, control and flags); MSG_WAITALL's later ones only receive
 * into the rest of its iovec. */
static ssize_t recvmsg_call(struct io *io, bool nowait)
{
    struct msghdr *m = io->msg, rest = {.msg_iov = io->iov, .msg_iovlen = (size_t)io->cnt};
    ssize_t r = real_recvmsg(io->fd, io->done ? &rest : m, io->flags | (nowait ? MSG_DONTWAIT : 0));
    if (r > 0 && !io->done) {
        io->iov = m->msg_iov;
        io->cnt = (int)m->msg_iovlen;
    }
    return preload_neg_errno(r);
}

/* Passes through as recvfrom does; otherwise waits green. */
PRELOAD_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    if ((flags & NEVER_WAITS) || !preload_should_wait())
        return real_recvmsg(fd, m, flags);
    struct io io = {.fd = fd,
                    .events = GREEN_IN,
                    .call = recvmsg_call,
                    .socket_only = true,
                    .all_if_stream = (flags & (MSG_WAITALL | MSG_PEEK)) == MSG_WAITALL,
                    .msg = m,
                    .flags = flags};
    return preload_ret(io_run(&io));
}

/* Messages after the first stop coming once the program's timeout has
 * passed (the kernel checks it only after each message, too). */
static ssize_t recvmmsg_call(struct io *io, bool nowait)
{
    const int64_t *deadline = io->mmsg.deadline;
    if (io->done && *deadline != GREEN_NEVER && green_now() >= *deadline)
        return 0;
    int r = real_recvmmsg(io->fd, (struct mmsghdr *)io->buf + io->done,
                          (unsigned int)(io->total - io->done),
                          io->flags | (nowait ? MSG_DONTWAIT : 0), nowait ? NULL : io->mmsg.ts);
    return preload_neg_errno(r);
}

/* Passes through as recvfrom does, and for a timeout libgreen cannot
 * read; otherwise waits green for each message until n came, or one with
 * MSG_WAITFORONE, or the timeout passed. */
PRELOAD_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
                            struct timespec *ts)
{
    struct timespec t;
    if ((flags & NEVER_WAITS) || !preload_should_wait() || n > INT_MAX ||
        (ts && (fd_copyin(&t, ts, sizeof t) < 0 || !preload_ts_valid(&t))))
        return real_recvmmsg(fd, v, n, flags, ts);
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(&t)) : GREEN_NEVER;
    struct io io = {.fd = fd,
                    .events = GREEN_IN,
                    .call = recvmmsg_call,
                    .socket_only = true,
                    .all = !(flags & MSG_WAITFORONE),
                    .buf = v,
                    .total = n,
                    .flags = flags,
                    .mmsg = {ts, &deadline}};
    return (int)preload_ret(io_run(&io));
}

/* ---- sending ------------------------------------------------------------ */

static int send_flags(struct io *io, bool nowait)
{
    return io->flags | (nowait ? MSG_DONTWAIT : 0) | (io->done ? MSG_NOSIGNAL : 0);
}

static ssize_t sendto_call(struct io *io, bool nowait)
{
    ssize_t r = real_sendto(io->fd, (char *)io->buf + io->done, io->total - io->done,
                            send_flags(io, nowait), io->to.sa, io->to.len);
    return preload_neg_errno(r);
}

/* Passes through off green threads, when nobody else could run and with
 * MSG_DONTWAIT; otherwise sends all, waiting green while the socket is
 * full (a datagram goes whole or not at all, as natively). */
PRELOAD_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                              const struct sockaddr *sa, socklen_t len)
{
    if ((flags & MSG_DONTWAIT) || !preload_should_wait())
        return real_sendto(fd, buf, n, flags, sa, len);
    struct io io = {.fd = fd,
                    .events = GREEN_OUT,
                    .call = sendto_call,
                    .socket_only = true,
                    .all = true,
                    .buf = (void *)buf,
                    .total = n,
                    .flags = flags,
                    .to = {sa, len}};
    return preload_ret(io_run(&io));
}

/* sendto without an address. */
PRELOAD_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return sendto(fd, buf, n, flags, NULL, 0);
}

/* The first attempt sends the program's msghdr; after a short count the
 * rest of its iovec goes without name or control data (already sent). */
static ssize_t sendmsg_call(struct io *io, bool nowait)
{
    const struct msghdr *m = io->msg;
    struct msghdr rest = {.msg_iov = io->iov, .msg_iovlen = (size_t)io->cnt};
    ssize_t r = real_sendmsg(io->fd, io->done ? &rest : m, send_flags(io, nowait));
    if (r > 0 && !io->done) {
        io->iov = m->msg_iov;
        io->cnt = (int)m->msg_iovlen;
    }
    return preload_neg_errno(r);
}

/* A listening socket libgreen made non-blocking (hidden_nonblock) goes
 * to another process or fd: it must arrive as the program left it, so
 * its O_NONBLOCK is cleared (set again at its next green accept). Called
 * after the kernel accepted m, so its control data is readable. */
static void unhide_passed(const struct msghdr *m)
{
    struct fd_rec *fi;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int pfd;
            memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof pfd);
            if ((fi = fd_record(pfd)) && fi->hidden_nonblock) {
                int fl = real_fcntl(pfd, F_GETFL);
                if (fl >= 0 && real_fcntl(pfd, F_SETFL, fl & ~O_NONBLOCK) == 0)
                    fi->hidden_nonblock = 0;
            }
        }
    }
}

/* Passes through as sendto does; otherwise sends all, waiting green. */
PRELOAD_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    ssize_t r;
    if ((flags & MSG_DONTWAIT) || !preload_should_wait()) {
        r = real_sendmsg(fd, m, flags);
    } else {
        struct io io = {.fd = fd,
                        .events = GREEN_OUT,
                        .call = sendmsg_call,
                        .socket_only = true,
                        .all = true,
                        .msg = (struct msghdr *)m,
                        .flags = flags};
        r = preload_ret(io_run(&io));
    }
    if (r >= 0 && m->msg_controllen && green_self())
        unhide_passed(m);
    return r;
}

static ssize_t sendmmsg_call(struct io *io, bool nowait)
{
    int r = real_sendmmsg(io->fd, (struct mmsghdr *)io->buf + io->done,
                          (unsigned int)(io->total - io->done), send_flags(io, nowait));
    return preload_neg_errno(r);
}

/* Passes through as sendto does; otherwise sends the messages one after
 * the other, waiting green while the socket is full. */
PRELOAD_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
    if ((flags & MSG_DONTWAIT) || !preload_should_wait() || n > INT_MAX)
        return real_sendmmsg(fd, v, n, flags);
    struct io io = {.fd = fd,
                    .events = GREEN_OUT,
                    .call = sendmmsg_call,
                    .socket_only = true,
                    .all = true,
                    .buf = v,
                    .total = n,
                    .flags = flags};
    return (int)preload_ret(io_run(&io));
}
