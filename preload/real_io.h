/* real_io.h: the file descriptor, socket and polling functions of libc
 * that libgreen.so interposes beyond those of real.h (same rules: every
 * real_<name> pointer is callable at any time; real.c resolves them). */
#ifndef GREEN_PRELOAD_REAL_IO_H
#define GREEN_PRELOAD_REAL_IO_H

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/* X(return type, name, parameters, arguments, glibc version or NULL) */
#define REAL_IO_FUNCS(X)                                                                          \
    X(ssize_t, readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), NULL)           \
    X(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), NULL)          \
    X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), NULL)          \
    X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), NULL)   \
    X(ssize_t, preadv, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), \
      NULL)                                                                                       \
    X(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off),                    \
      (fd, iov, cnt, off), NULL)                                                                  \
    X(ssize_t, recv, (int fd, void *buf, size_t n, int fl), (fd, buf, n, fl), NULL)               \
    X(ssize_t, recvfrom,                                                                          \
      (int fd, void *buf, size_t n, int fl, struct sockaddr *sa, socklen_t *len),                 \
      (fd, buf, n, fl, sa, len), NULL)                                                            \
    X(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl), NULL)                    \
    X(int, recvmmsg,                                                                              \
      (int fd, struct mmsghdr *v, unsigned int n, int fl, struct timespec *ts),                   \
      (fd, v, n, fl, ts), NULL)                                                                   \
    X(ssize_t, send, (int fd, const void *buf, size_t n, int fl), (fd, buf, n, fl), NULL)         \
    X(ssize_t, sendto,                                                                            \
      (int fd, const void *buf, size_t n, int fl, const struct sockaddr *sa, socklen_t len),      \
      (fd, buf, n, fl, sa, len), NULL)                                                            \
    X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl), NULL)              \
    X(int, sendmmsg, (int fd, struct mmsghdr *v, unsigned int n, int fl), (fd, v, n, fl), NULL)   \
    X(int, socket, (int d, int t, int p), (d, t, p), NULL)                                        \
    X(int, socketpair, (int d, int t, int p, int sv[2]), (d, t, p, sv), NULL)                     \
    X(int, listen, (int fd, int n), (fd, n), NULL)                                                \
    X(int, shutdown, (int fd, int how), (fd, how), NULL)                                          \
    X(int, setsockopt, (int fd, int lv, int name, const void *v, socklen_t len),                  \
      (fd, lv, name, v, len), NULL)                                                               \
    X(int, getsockopt, (int fd, int lv, int name, void *v, socklen_t *len),                       \
      (fd, lv, name, v, len), NULL)                                                               \
    X(ssize_t, sendfile, (int out, int in, off_t *off, size_t n), (out, in, off, n), NULL)        \
    X(ssize_t, splice,                                                                            \
      (int in, loff_t *inoff, int out, loff_t *outoff, size_t n, unsigned int fl),                \
      (in, inoff, out, outoff, n, fl), NULL)                                                      \
    X(ssize_t, tee, (int in, int out, size_t n, unsigned int fl), (in, out, n, fl), NULL)         \
    X(int, close_range, (unsigned int lo, unsigned int hi, int fl), (lo, hi, fl), NULL)           \
    X(void, closefrom, (int lo), (lo), NULL)                                                      \
    X(int, dup, (int fd), (fd), NULL)                                                             \
    X(int, dup2, (int fd, int to), (fd, to), NULL)                                                \
    X(int, dup3, (int fd, int to, int fl), (fd, to, fl), NULL)                                    \
    X(int, pipe, (int p[2]), (p), NULL)                                                           \
    X(int, pipe2, (int p[2], int fl), (p, fl), NULL)                                              \
    X(int, ppoll,                                                                                 \
      (struct pollfd * p, nfds_t n, const struct timespec *ts, const sigset_t *mask),             \
      (p, n, ts, mask), NULL)                                                                     \
    X(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv),                  \
      (n, r, w, e, tv), NULL)                                                                     \
    X(int, pselect,                                                                               \
      (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask),  \
      (n, r, w, e, ts, mask), NULL)                                                               \
    X(int, epoll_wait, (int ep, struct epoll_event *ev, int n, int ms), (ep, ev, n, ms), NULL)    \
    X(int, epoll_pwait,                                                                           \
      (int ep, struct epoll_event *ev, int n, int ms, const sigset_t *mask),                      \
      (ep, ev, n, ms, mask), NULL)                                                                \
    X(int, epoll_pwait2,                                                                          \
      (int ep, struct epoll_event *ev, int n, const struct timespec *ts, const sigset_t *mask),   \
      (ep, ev, n, ts, mask), NULL)                                                                \
    X(int, epoll_create, (int n), (n), NULL)                                                      \
    X(int, epoll_create1, (int fl), (fl), NULL)                                                   \
    X(int, eventfd, (unsigned int v, int fl), (v, fl), NULL)                                      \
    X(int, timerfd_create, (clockid_t c, int fl), (c, fl), NULL)                                  \
    X(int, signalfd, (int fd, const sigset_t *mask, int fl), (fd, mask, fl), NULL)                \
    X(int, inotify_init, (void), (), NULL)                                                        \
    X(int, inotify_init1, (int fl), (fl), NULL)                                                   \
    X(int, creat, (const char *path, mode_t mode), (path, mode), NULL)

/* What lets a program see its fds (libgreen's own are hidden: ownfd.c). */
struct statx;
struct __dirstream;
struct dirent;
struct dirent64;
#define REAL_OWNFD_FUNCS(X)                                                                       \
    X(int, fstatat, (int dir, const char *path, struct stat *st, int fl), (dir, path, st, fl),    \
      NULL)                                                                                       \
    X(int, statx, (int dir, const char *path, int fl, unsigned int mask, struct statx *st),       \
      (dir, path, fl, mask, st), NULL)                                                            \
    X(struct dirent *, readdir, (struct __dirstream * d), (d), NULL)                              \
    X(struct dirent64 *, readdir64, (struct __dirstream * d), (d), NULL)                          \
    X(ssize_t, getdents64, (int fd, void *buf, size_t n), (fd, buf, n), NULL)

#define REAL_DECLARE_IO(ret, name, params, args, version) extern ret(*real_##name) params;
REAL_IO_FUNCS(REAL_DECLARE_IO)
REAL_OWNFD_FUNCS(REAL_DECLARE_IO)
#undef REAL_DECLARE_IO

/* Variadic, so resolved by hand in real.c. */
extern int (*real_ioctl)(int fd, unsigned long req, ...);
extern int (*real_open)(const char *path, int fl, ...);
extern int (*real_openat)(int dir, const char *path, int fl, ...);

#endif
