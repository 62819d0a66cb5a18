/* real.h: the libc functions libgreen.so interposes, as libc implements
 * them.
 *
 * Every real_<name> pointer is callable at any time, from any OS thread:
 * it starts out at a trampoline that resolves all of them (dlsym or
 * dlvsym on RTLD_NEXT) and then calls the real function. While that
 * resolution runs on the calling thread (dlsym may allocate, and an
 * allocator may call back into read or write), the syscall-backed ones
 * fall back to the raw system call; the others abort with a message,
 * which cannot happen for the ones resolved first (see real.c).
 *
 * The constructor calls real_resolve() eagerly; wrappers need not. */
#ifndef GREEN_PRELOAD_REAL_H
#define GREEN_PRELOAD_REAL_H

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/* X(return type, name, parameters, arguments, glibc version or NULL).
 * The version names the newest default version where glibc has several
 * (dlsym on RTLD_NEXT may hand out the oldest); NULL uses dlsym. */
#define REAL_LIB_FUNCS(X)                                                                         \
    X(pthread_t, pthread_self, (void), (), NULL)                                                  \
    X(int, pthread_equal, (pthread_t a, pthread_t b), (a, b), NULL)                               \
    X(int, pthread_create,                                                                        \
      (pthread_t * t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg),                \
      (t, attr, fn, arg), "GLIBC_2.34")                                                           \
    X(int, pthread_join, (pthread_t t, void **ret), (t, ret), "GLIBC_2.34")                       \
    X(int, pthread_detach, (pthread_t t), (t), "GLIBC_2.34")                                      \
    X(int, pthread_attr_init, (pthread_attr_t * a), (a), NULL)                                    \
    X(int, pthread_attr_destroy, (pthread_attr_t * a), (a), NULL)                                 \
    X(int, pthread_attr_getstacksize, (const pthread_attr_t *a, size_t *s), (a, s), "GLIBC_2.34") \
    X(int, pthread_attr_getstack, (const pthread_attr_t *a, void **p, size_t *s), (a, p, s),      \
      "GLIBC_2.34")                                                                               \
    X(int, pthread_attr_getguardsize, (const pthread_attr_t *a, size_t *s), (a, s), "GLIBC_2.34") \
    X(int, pthread_attr_getdetachstate, (const pthread_attr_t *a, int *d), (a, d), NULL)

/* Same, plus the raw-syscall fallback used while resolving. */
#define REAL_SYS_FUNCS(X)                                                                         \
    X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n), NULL)                           \
    X(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n), NULL)                    \
    X(ssize_t, preadv2, (int fd, const struct iovec *iov, int cnt, off_t off, int fl),            \
      (fd, iov, cnt, off, fl), NULL)                                                              \
    X(ssize_t, pwritev2, (int fd, const struct iovec *iov, int cnt, off_t off, int fl),           \
      (fd, iov, cnt, off, fl), NULL)                                                              \
    X(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem), NULL)       \
    X(int, clock_nanosleep,                                                                       \
      (clockid_t c, int fl, const struct timespec *req, struct timespec *rem), (c, fl, req, rem), \
      "GLIBC_2.17")                                                                               \
    X(unsigned int, sleep, (unsigned int s), (s), NULL)                                           \
    X(int, usleep, (useconds_t us), (us), NULL)                                                   \
    X(int, accept, (int fd, struct sockaddr *sa, socklen_t *len), (fd, sa, len), NULL)            \
    X(int, accept4, (int fd, struct sockaddr *sa, socklen_t *len, int fl), (fd, sa, len, fl),     \
      NULL)                                                                                       \
    X(int, connect, (int fd, const struct sockaddr *sa, socklen_t len), (fd, sa, len), NULL)      \
    X(int, poll, (struct pollfd * fds, nfds_t n, int ms), (fds, n, ms), NULL)                     \
    X(int, fstat, (int fd, struct stat *st), (fd, st), NULL)                                      \
    X(int, close, (int fd), (fd), NULL)                                                           \
    X(pid_t, gettid, (void), (), NULL)                                                            \
    X(int, tgkill, (pid_t pid, pid_t tid, int sig), (pid, tid, sig), NULL)

#define REAL_DECLARE(ret, name, params, args, version) extern ret(*real_##name) params;
REAL_LIB_FUNCS(REAL_DECLARE)
REAL_SYS_FUNCS(REAL_DECLARE)
#undef REAL_DECLARE

/* Variadic or never-returning, so written out by hand in real.c. */
extern int (*real_fcntl)(int fd, int cmd, ...);
extern void (*real_pthread_exit)(void *ret) __attribute__((noreturn));

#include "real_io.h"
#include "real_thr.h"
#include "real_proc.h"

/* Resolve every real_* pointer (idempotent; any OS thread). Returns 0,
 * or -EDEADLK when called again from inside a resolution on this thread
 * (the pointers then keep their fallbacks). */
int real_resolve(void);

/* Point every real_* at a gate that lets its system calls through the
 * safety net (sud.c); call once, on the thread that turns the net on,
 * before it does. */
void real_gate(void);

#endif
