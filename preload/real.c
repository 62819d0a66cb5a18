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
 * first, so a nested call after them already finds them.
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

__attribute__((noreturn)) static void missing(const char *name)
{
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

/* ---- trampolines and pointers ----------------------------------------- */

/* real_<name> starts as a trampoline that resolves everything and calls
 * the real function; `otherwise` runs when it cannot be found. */
#define LAZY(ret, name, params, args, otherwise)                           \
    static ret lazy_##name params;                                         \
    ret(*real_##name) params = lazy_##name;                                \
    static ret lazy_##name params                                          \
    {                                                                      \
        ret(*f) params;                                                    \
        if (real_resolve() == 0 && (f = LOAD(real_##name)) != lazy_##name) \
            return f args;                                                 \
        otherwise;                                                         \
    }
#define LAZY_LIB(ret, name, params, args, version) LAZY(ret, name, params, args, missing(#name))
REAL_LIB_FUNCS(LAZY_LIB)

/* During dlsym itself, the system-call ones make the system call. */
#define LAZY_SYS(ret, name, params, args, version) \
    LAZY(ret, name, params, args, return sys_##name args)
REAL_SYS_FUNCS(LAZY_SYS)
REAL_IO_FUNCS(LAZY_LIB)
REAL_OWNFD_FUNCS(LAZY_LIB)

/* The variadic ones take at most one more argument, which glibc reads as
 * a pointer-sized value whatever its type. */
#define LAZY_VAR(name, params, fixed, last)                                  \
    static int lazy_##name params;                                           \
    int(*real_##name) params = lazy_##name;                                  \
    static int lazy_##name params                                            \
    {                                                                        \
        va_list ap;                                                          \
        va_start(ap, last);                                                  \
        void *arg = va_arg(ap, void *);                                      \
        va_end(ap);                                                          \
        int(*f) params;                                                      \
        if (real_resolve() == 0 && (f = LOAD(real_##name)) != lazy_##name)   \
            return f fixed;                                                  \
        missing(#name);                                                      \
    }
LAZY_VAR(ioctl, (int fd, unsigned long req, ...), (fd, req, arg), req)
LAZY_VAR(open, (const char *path, int fl, ...), (path, fl, arg), fl)
LAZY_VAR(openat, (int dir, const char *path, int fl, ...), (dir, path, fl, arg), fl)

/* glibc's own fcntl reads the third argument as a pointer whatever cmd. */
static int lazy_fcntl(int fd, int cmd, ...);
int (*real_fcntl)(int fd, int cmd, ...) = lazy_fcntl;
static int lazy_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int (*f)(int, int, ...);
    if (real_resolve() == 0 && (f = LOAD(real_fcntl)) != lazy_fcntl)
        return f(fd, cmd, arg);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* ---- threads (real_thr.h) ---------------------------------------------- */
REAL_THR_FUNCS(LAZY_LIB)

#define LAZY_VOID(name, params, args)                                      \
    static void lazy_##name params;                                        \
    void(*real_##name) params = lazy_##name;                               \
    static void lazy_##name params                                         \
    {                                                                      \
        void(*f) params;                                                   \
        if (real_resolve() == 0 && (f = LOAD(real_##name)) != lazy_##name) \
            f args;                                                        \
        else                                                               \
            missing(#name);                                                \
    }
REAL_THR_VOID_FUNCS(LAZY_VOID)

/* ---- processes, lookups, file sync, signals (real_proc.h) ------------- */
REAL_PROC_FUNCS(LAZY_LIB)

#define LAZY_NORETURN(name, type, arg)                                            \
    __attribute__((noreturn)) static void lazy_##name(type arg);                  \
    void (*real_##name)(type arg) __attribute__((noreturn)) = lazy_##name;        \
    __attribute__((noreturn)) static void lazy_##name(type arg)                   \
    {                                                                             \
        void (*f)(type);                                                          \
        if (real_resolve() == 0 && (f = LOAD(real_##name)) != lazy_##name)        \
            f(arg);                                                               \
        missing(#name);                                                           \
    }
LAZY_NORETURN(__pthread_unwind_next, void *, buf)
LAZY_NORETURN(thrd_exit, int, r)

__attribute__((noreturn)) static void lazy_pthread_exit(void *ret);
void (*real_pthread_exit)(void *ret) __attribute__((noreturn)) = lazy_pthread_exit;
__attribute__((noreturn)) static void lazy_pthread_exit(void *ret)
{
    void (*f)(void *);
    if (real_resolve() == 0 && (f = LOAD(real_pthread_exit)) != lazy_pthread_exit)
        f(ret);
    missing("pthread_exit");
}

/* ---- resolution -------------------------------------------------------- */

static void *lookup(const char *name, const char *version)
{
    void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    return p ? p : dlsym(RTLD_NEXT, name);
}

/* A symbol libc lacks keeps its trampoline (and so its fallback). */
#define RESOLVE(ret, name, params, args, version)                \
    do {                                                         \
        ret(*p) params = (ret(*) params)lookup(#name, version);  \
        if (p)                                                   \
            __atomic_store_n(&real_##name, p, __ATOMIC_RELEASE); \
    } while (0);

int real_resolve(void)
{
    if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
        return 0;
    if (resolving)
        return -EDEADLK;
    resolving = 1;
    REAL_LIB_FUNCS(RESOLVE)
    REAL_SYS_FUNCS(RESOLVE)
    RESOLVE(int, fcntl, (int fd, int cmd, ...), (), NULL)
    REAL_IO_FUNCS(RESOLVE)
    REAL_OWNFD_FUNCS(RESOLVE)
    RESOLVE(int, ioctl, (int fd, unsigned long req, ...), (), NULL)
    RESOLVE(int, open, (const char *path, int fl, ...), (), NULL)
    RESOLVE(int, openat, (int dir, const char *path, int fl, ...), (), NULL)
    RESOLVE(void, pthread_exit, (void *r), (), NULL)
    REAL_THR_FUNCS(RESOLVE)
#define RESOLVE_VOID(name, params, args) RESOLVE(void, name, params, args, NULL)
    REAL_THR_VOID_FUNCS(RESOLVE_VOID)
    REAL_PROC_FUNCS(RESOLVE)
    RESOLVE(void, __pthread_unwind_next, (void *b), (), NULL)
    RESOLVE(void, thrd_exit, (int r), (), NULL)
    resolving = 0;
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- the safety net's gate (sud.c) ----------------------------------------
 * While the net is on, system calls made outside libgreen's code trap.
 * libgreen's own calls into libc go through real_*: real_gate() points
 * each of them at a gate that opens the selector around the libc call,
 * so they cost two byte stores, not a trap. */

#define GATE(ret, name, params, args, version)              \
    static ret(*libc_##name) params;                        \
    static ret gate_##name params                           \
    {                                                       \
        PRELOAD_GATE_OPEN;                                  \
        return libc_##name args;                            \
    }
REAL_LIB_FUNCS(GATE)
REAL_SYS_FUNCS(GATE)
REAL_IO_FUNCS(GATE)
REAL_THR_FUNCS(GATE)
REAL_PROC_FUNCS(GATE)
#define GATE_VOID(name, params, args)                       \
    static void(*libc_##name) params;                       \
    static void gate_##name params                          \
    {                                                       \
        PRELOAD_GATE_OPEN;                                  \
        libc_##name args;                                   \
    }
REAL_THR_VOID_FUNCS(GATE_VOID)

#define GATE_VAR(name, params, fixed, last)                 \
    static int(*libc_##name) params;                        \
    static int gate_##name params                           \
    {                                                       \
        va_list ap;                                         \
        va_start(ap, last);                                 \
        void *arg = va_arg(ap, void *);                     \
        va_end(ap);                                         \
        PRELOAD_GATE_OPEN;                                  \
        return libc_##name fixed;                           \
    }
GATE_VAR(ioctl, (int fd, unsigned long req, ...), (fd, req, arg), req)
GATE_VAR(open, (const char *path, int fl, ...), (path, fl, arg), fl)
GATE_VAR(openat, (int dir, const char *path, int fl, ...), (dir, path, fl, arg), fl)
GATE_VAR(fcntl, (int fd, int cmd, ...), (fd, cmd, arg), cmd)

void real_gate(void)
{
    real_resolve();
#define SWAP(ret, name, params, args, version)        \
    libc_##name = LOAD(real_##name);                  \
    __atomic_store_n(&real_##name, gate_##name, __ATOMIC_RELEASE);
    REAL_LIB_FUNCS(SWAP)
    REAL_SYS_FUNCS(SWAP)
    REAL_IO_FUNCS(SWAP)
    REAL_THR_FUNCS(SWAP)
    REAL_PROC_FUNCS(SWAP)
#define SWAP_VOID(name, params, args) SWAP(void, name, params, args, NULL)
    REAL_THR_VOID_FUNCS(SWAP_VOID)
    SWAP(int, ioctl, , , )
    SWAP(int, open, , , )
    SWAP(int, openat, , , )
    SWAP(int, fcntl, , , )
}
