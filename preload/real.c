/* real.c: resolve the real libc functions, once, in one place.
 *
 * Each real_<name> pointer starts at a lazy trampoline, so a wrapper
 * called before the constructor (another library's constructor, an
 * early allocator) still reaches libc: the trampoline resolves every
 * pointer and forwards the call. dlsym itself may allocate, and an
 * interposed allocator may call read, write or pthread_self: a
 * thread-local guard makes such a nested call use the raw system call
 * instead of recursing into dlsym (the jemalloc #443 deadlock).
 * pthread_self and pthread_equal have no system call; they are resolved
 * first, so a nested call after them already finds them. Every
 * pointer is listed once, in real.def.
 *
 * Pointers are written with atomic stores: any OS thread may resolve
 * while another reads; both store the same values. */
#include "real.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TLS_IE __attribute__((tls_model("initial-exec")))

static __thread int resolving TLS_IE;
static int resolved;

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)

/* name is "real_<symbol>". */
__attribute__((noreturn)) static void missing(const char *name)
{
    name += sizeof "real_" - 1;
    static const char pre[] = "libgreen: cannot resolve the real ";
    static const char post[] = " in libc\n";
    syscall(SYS_write, 2, pre, sizeof pre - 1);
    syscall(SYS_write, 2, name, strlen(name));
    syscall(SYS_write, 2, post, sizeof post - 1);
    abort();
}

/* ---- raw system call fallbacks, with libc's return conventions ------- */

static ssize_t sys_read(int fd, void *buf, size_t n)
{
    return syscall(SYS_read, fd, buf, n);
}

static ssize_t sys_write(int fd, const void *buf, size_t n)
{
    return syscall(SYS_write, fd, buf, n);
}

/* The kernel takes the offset as two longs, low half first. */
static ssize_t sys_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int fl)
{
    return syscall(SYS_preadv2, fd, iov, cnt, (long)off, (long)((unsigned long long)off >> 32), fl);
}

static ssize_t sys_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int fl)
{
    return syscall(SYS_pwritev2, fd, iov, cnt, (long)off, (long)((unsigned long long)off >> 32),
                   fl);
}

static int sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
    return (int)syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, req, rem);
}

/* clock_nanosleep returns the error and leaves errno alone. */
static int sys_clock_nanosleep(clockid_t c, int fl, const struct timespec *req,
                               struct timespec *rem)
{
    int saved = errno;
    int r = syscall(SYS_clock_nanosleep, c, fl, req, rem) < 0 ? errno : 0;
    errno = saved;
    return r;
}

static unsigned int sys_sleep(unsigned int s)
{
    struct timespec ts = {.tv_sec = s, .tv_nsec = 0};
    return sys_nanosleep(&ts, &ts) < 0 && errno == EINTR ? (unsigned int)ts.tv_sec : 0;
}

static int sys_usleep(useconds_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    return sys_nanosleep(&ts, NULL);
}

static int sys_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    return (int)syscall(SYS_accept4, fd, sa, len, 0);
}

static int sys_accept4(int fd, struct sockaddr *sa, socklen_t *len, int fl)
{
    return (int)syscall(SYS_accept4, fd, sa, len, fl);
}

static int sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    return (int)syscall(SYS_connect, fd, sa, len);
}

static int sys_poll(struct pollfd *fds, nfds_t n, int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    return (int)syscall(SYS_ppoll, fds, n, ms < 0 ? NULL : &ts, NULL, (size_t)8);
}

static int sys_fstat(int fd, struct stat *st)
{
    return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}

static int sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

static pid_t sys_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static int sys_tgkill(pid_t pid, pid_t tid, int sig)
{
    return (int)syscall(SYS_tgkill, pid, tid, sig);
}

/* fcntl's third argument, if any, is a pointer-sized value. */
static int sys_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* ---- trampolines and pointers ----------------------------------------- */

/* real_<name> starts as lazy_real_<name>, which resolves everything and
 * calls the real function, or the fallback when it cannot be found. */
#define LAZY_BODY(ret, name, params, args, fallback)            \
    ret(*f) params;                                             \
    if (real_resolve() == 0 && (f = LOAD(name)) != lazy_##name) \
        return f args;                                          \
    ret(*fb) params = fallback;                                 \
    if (!fb)                                                    \
        missing(#name);                                         \
    return fb args;
#define REAL(ret, name, params, args, version, fallback) \
    static ret lazy_##name params;                       \
    ret(*name) params = lazy_##name;                     \
    static ret lazy_##name params                        \
    {                                                    \
        LAZY_BODY(ret, name, params, args, fallback)     \
    }
#define REAL_VA(ret, name, params, last, args, version, fallback) \
    static ret lazy_##name params;                                \
    ret(*name) params = lazy_##name;                              \
    static ret lazy_##name params                                 \
    {                                                             \
        va_list ap;                                               \
        va_start(ap, last);                                       \
        void *arg = va_arg(ap, void *);                           \
        va_end(ap);                                               \
        LAZY_BODY(ret, name, params, args, fallback)              \
    }
#define REAL_VOID(name, params, args, version)                        \
    static void lazy_##name params;                                   \
    void(*name) params = lazy_##name;                                 \
    static void lazy_##name params                                    \
    {                                                                 \
        void(*f) params;                                              \
        if (real_resolve() == 0 && (f = LOAD(name)) != lazy_##name) { \
            f args;                                                   \
            return;                                                   \
        }                                                             \
        missing(#name);                                               \
    }
#define REAL_NORETURN(name, params, args, version)                  \
    __attribute__((noreturn)) static void lazy_##name params;       \
    void(*name) params __attribute__((noreturn)) = lazy_##name;     \
    __attribute__((noreturn)) static void lazy_##name params        \
    {                                                               \
        void(*f) params;                                            \
        if (real_resolve() == 0 && (f = LOAD(name)) != lazy_##name) \
            f args;                                                 \
        missing(#name);                                             \
    }
#include "real.def"

/* ---- resolution -------------------------------------------------------- */

/* name is "real_<symbol>". */
static void *lookup(const char *name, const char *version)
{
    name += sizeof "real_" - 1;
    void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    return p ? p : dlsym(RTLD_NEXT, name);
}

/* A symbol libc lacks keeps its trampoline (and so its fallback). */
#define RESOLVE(name, version)                                              \
    do {                                                                    \
        void *p = lookup(#name, version);                                   \
        if (p)                                                              \
            __atomic_store_n(&name, (__typeof__(name))p, __ATOMIC_RELEASE); \
    } while (0);

int real_resolve(void)
{
    if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
        return 0;
    if (resolving)
        return -EDEADLK;
    resolving = 1;
#define REAL(ret, name, params, args, version, fallback) RESOLVE(name, version)
#define REAL_VA(ret, name, params, last, args, version, fallback) RESOLVE(name, version)
#define REAL_VOID(name, params, args, version) RESOLVE(name, version)
#define REAL_NORETURN(name, params, args, version) RESOLVE(name, version)
#include "real.def"
    resolving = 0;
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- the safety net's gate (sud.c) ----------------------------------------
 * While the net is on, system calls made outside libgreen's code trap.
 * libgreen's own calls into libc go through real_*: real_gate() points
 * each of them at a gate that opens the selector around the libc call,
 * so they cost two byte stores, not a trap. A function that never
 * returns keeps libc's own (the gate would never close). */

#define REAL(ret, name, params, args, version, fallback) \
    static ret(*libc_##name) params;                     \
    static ret gate_##name params                        \
    {                                                    \
        PRELOAD_GATE_OPEN;                               \
        return libc_##name args;                         \
    }
#define REAL_VA(ret, name, params, last, args, version, fallback) \
    static ret(*libc_##name) params;                              \
    static ret gate_##name params                                 \
    {                                                             \
        va_list ap;                                               \
        va_start(ap, last);                                       \
        void *arg = va_arg(ap, void *);                           \
        va_end(ap);                                               \
        PRELOAD_GATE_OPEN;                                        \
        return libc_##name args;                                  \
    }
#define REAL_VOID(name, params, args, version) \
    static void(*libc_##name) params;          \
    static void gate_##name params             \
    {                                          \
        PRELOAD_GATE_OPEN;                     \
        libc_##name args;                      \
    }
#define REAL_NORETURN(name, params, args, version)
#include "real.def"

#define SWAP(name)            \
    libc_##name = LOAD(name); \
    __atomic_store_n(&name, gate_##name, __ATOMIC_RELEASE);

void real_gate(void)
{
    real_resolve();
#define REAL(ret, name, params, args, version, fallback) SWAP(name)
#define REAL_VA(ret, name, params, last, args, version, fallback) SWAP(name)
#define REAL_VOID(name, params, args, version) SWAP(name)
#define REAL_NORETURN(name, params, args, version)
#include "real.def"
}
