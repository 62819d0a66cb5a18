/* syscall.c: syscall(2) itself, and the one place that turns a system
 * call number into the interposer that makes it green.
 *
 * syscall(SYS_read, ...) from the program (Rust's std, libstdc++'s
 * atomic waits, a hand-rolled lock) and, through the safety net (sud.c),
 * a system call instruction no interposer saw land in preload_sys: the
 * numbers that can block go to the same code as their named calls, with
 * the raw call's conventions where they differ from libc's (select and
 * ppoll update their timeout, pselect6 packs its mask, clock_nanosleep
 * fails with -1/errno); everything else goes straight to the kernel.
 * libgreen's own calls to syscall() (the core uses it) go straight to the
 * kernel too. */
#include "preload.h"
#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

long preload_raw_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

/* ---- futex ------------------------------------------------------------- */

/* The CLOCK_MONOTONIC deadline of a futex timeout: relative for
 * FUTEX_WAIT, absolute on the chosen clock for FUTEX_WAIT_BITSET. */
static int futex_deadline(int cmd, int realtime, const struct timespec *ts, int64_t *deadline)
{
    *deadline = GREEN_NEVER;
    if (!ts)
        return 0;
    if (!preload_ts_valid(ts))
        return -EINVAL;
    if (cmd == FUTEX_WAIT) {
        *deadline = preload_deadline_after(preload_ts_ns(ts));
        return 0;
    }
    int64_t at = preload_ts_ns(ts);
    if (realtime) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t left = at - preload_ts_ns(&now);
        at = green_now() + (left > 0 ? left : 0);
    }
    *deadline = at;
    return 0;
}

GREEN_YIELDS static long futex_wait(uint32_t *word, int op, uint32_t val, const struct timespec *ts,
                                    uint32_t bitset, int unseen)
{
    int cmd = op & FUTEX_CMD_MASK;
    int64_t deadline;
    int r = futex_deadline(cmd, op & FUTEX_CLOCK_REALTIME, ts, &deadline);
    if (r < 0)
        return r;
    do
        r = green_futex_wait(word, val, bitset,
                             (op & FUTEX_PRIVATE_FLAG ? 0 : GREEN_FUTEX_SHARED) |
                                 (unseen ? GREEN_FUTEX_POLL : 0),
                             deadline);
    while (r == -EINTR && !ts && green_intr_restart()); /* the kernel restarts it too */
    return r;
}

/* A wake reaches green waiters first; the rest goes to the kernel, for
 * waiters on other OS threads or in other processes. */
static long futex_wake(uint32_t *word, int op, int n, uint32_t bitset)
{
    if (!bitset || (n > 0 && ((uintptr_t)word & 3)))
        return -EINVAL;
    int woken = green_futex_wake(word, n, bitset);
    if (woken < 0)
        woken = 0;
    if (n > 0 && woken >= n)
        return woken;
    long r = preload_raw_syscall(SYS_futex, (long)word, op, n - woken, 0, 0, (long)bitset);
    return r < 0 ? (woken ? woken : r) : r + woken;
}

static long futex_requeue(uint32_t *word, int op, int n, long nmove, uint32_t *word2, uint32_t val3)
{
    /* The kernel checks both words and, for CMP_REQUEUE, val3. */
    long r = preload_raw_syscall(SYS_futex, (long)word, op, 0, 0, (long)word2, val3);
    if (r < 0)
        return r;
    int wake = n < 0 ? 0 : n, move = nmove < 0 ? 0 : nmove > INT_MAX ? INT_MAX : (int)nmove;
    int done = green_futex_requeue(word, wake, word2, move); /* wakes first, then moves */
    int woken = done < wake ? done : wake;
    r = preload_raw_syscall(SYS_futex, (long)word, op, wake - woken, move - (done - woken),
                            (long)word2, val3);
    return done + (r > 0 ? r : 0);
}

static long futex(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2, uint32_t val3,
                  int unseen)
{
    int cmd = op & FUTEX_CMD_MASK;
    const struct timespec *ts = (const struct timespec *)arg4;
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if (preload_should_wait())
            return futex_wait(word, op, val, ts, cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3,
                              unseen);
        break;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        return futex_wake(word, op, (int)val, cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
        return futex_requeue(word, op, (int)val, arg4, word2, val3);
    }
    return preload_raw_syscall(SYS_futex, (long)word, op, val, arg4, (long)word2, val3);
}

long preload_futex(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2, uint32_t val3)
{
    return futex(word, op, val, arg4, word2, val3, 0);
}

long preload_futex_unseen(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2,
                          uint32_t val3)
{
    return futex(word, op, val, arg4, word2, val3, 1);
}

/* ---- the other blocking numbers ------------------------------------------ */

/* preload_neg_errno, short for the table below. */
static long libc_ret(long r)
{
    return preload_neg_errno(r);
}

/* The time left until deadline into *ts, as the kernel leaves it. */
static void left_ts(struct timespec *ts, int64_t deadline)
{
    int64_t left = deadline == GREEN_NEVER ? 0 : deadline - green_now();
    *ts = preload_ns_ts(left > 0 ? left : 0);
}

static long sys_ppoll(struct pollfd *f, nfds_t n, struct timespec *ts, const sigset_t *mask,
                      long setsize)
{
    if (setsize != 8 || (ts && !preload_ts_valid(ts)))
        return preload_raw_syscall(SYS_ppoll, (long)f, (long)n, (long)ts, (long)mask, setsize, 0);
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(ts)) : GREEN_NEVER;
    long r = libc_ret(ppoll(f, n, ts, mask));
    if (ts && r != -EFAULT)
        left_ts(ts, deadline);
    return r;
}

/* The sixth argument of pselect6: the mask and its size, packed. */
struct packed_mask {
    const sigset_t *set;
    size_t size;
};

static long sys_pselect6(int n, fd_set *r, fd_set *w, fd_set *e, struct timespec *ts,
                         const struct packed_mask *pm)
{
    if ((pm && pm->set && pm->size != 8) || (ts && !preload_ts_valid(ts)))
        return preload_raw_syscall(SYS_pselect6, n, (long)r, (long)w, (long)e, (long)ts, (long)pm);
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(ts)) : GREEN_NEVER;
    long res = libc_ret(pselect(n, r, w, e, ts, pm ? pm->set : NULL));
    if (ts && res != -EFAULT)
        left_ts(ts, deadline);
    return res;
}

static long sys_clock_nanosleep(clockid_t c, int fl, const struct timespec *req,
                                struct timespec *rem)
{
    return -clock_nanosleep(c, fl, req, rem);
}

static long sys_waitid(idtype_t type, id_t id, siginfo_t *info, int opt, struct rusage *ru)
{
    if (ru) /* libc's waitid has no rusage: the kernel's then */
        return preload_raw_syscall(SYS_waitid, type, id, (long)info, opt, (long)ru, 0);
    return libc_ret(waitid(type, id, info, opt));
}

#define I(x) ((int)(x))
#define P(x) ((void *)(x))

/* The named call behind a blocking number; NONE: the kernel's. */
#define NONE LONG_MIN
static long route_fd(long nr, const long *a);
static long route(long nr, const long *a)
{
    switch (nr) {
    case SYS_read:
        return libc_ret(read(I(a[0]), P(a[1]), (size_t)a[2]));
    case SYS_write:
        return libc_ret(write(I(a[0]), P(a[1]), (size_t)a[2]));
    case SYS_readv:
        return libc_ret(readv(I(a[0]), P(a[1]), I(a[2])));
    case SYS_writev:
        return libc_ret(writev(I(a[0]), P(a[1]), I(a[2])));
    case SYS_pread64:
        return libc_ret(pread(I(a[0]), P(a[1]), (size_t)a[2], a[3]));
    case SYS_pwrite64:
        return libc_ret(pwrite(I(a[0]), P(a[1]), (size_t)a[2], a[3]));
    case SYS_recvfrom:
        return libc_ret(recvfrom(I(a[0]), P(a[1]), (size_t)a[2], I(a[3]), P(a[4]), P(a[5])));
    case SYS_sendto:
        return libc_ret(sendto(I(a[0]), P(a[1]), (size_t)a[2], I(a[3]), P(a[4]), (socklen_t)a[5]));
    case SYS_recvmsg:
        return libc_ret(recvmsg(I(a[0]), P(a[1]), I(a[2])));
    case SYS_sendmsg:
        return libc_ret(sendmsg(I(a[0]), P(a[1]), I(a[2])));
    case SYS_recvmmsg:
        return libc_ret(recvmmsg(I(a[0]), P(a[1]), (unsigned)a[2], I(a[3]), P(a[4])));
    case SYS_sendmmsg:
        return libc_ret(sendmmsg(I(a[0]), P(a[1]), (unsigned)a[2], I(a[3])));
    case SYS_accept:
        return libc_ret(accept(I(a[0]), P(a[1]), P(a[2])));
    case SYS_accept4:
        return libc_ret(accept4(I(a[0]), P(a[1]), P(a[2]), I(a[3])));
    case SYS_connect:
        return libc_ret(connect(I(a[0]), P(a[1]), (socklen_t)a[2]));
    case SYS_poll:
        return libc_ret(poll(P(a[0]), (nfds_t)a[1], I(a[2])));
    case SYS_ppoll:
        return sys_ppoll(P(a[0]), (nfds_t)a[1], P(a[2]), P(a[3]), a[4]);
    case SYS_select:
        return libc_ret(select(I(a[0]), P(a[1]), P(a[2]), P(a[3]), P(a[4])));
    case SYS_pselect6:
        return sys_pselect6(I(a[0]), P(a[1]), P(a[2]), P(a[3]), P(a[4]), P(a[5]));
    case SYS_epoll_wait:
        return libc_ret(epoll_wait(I(a[0]), P(a[1]), I(a[2]), I(a[3])));
    case SYS_epoll_pwait:
        if (a[4] && a[5] != 8)
            return NONE;
        return libc_ret(epoll_pwait(I(a[0]), P(a[1]), I(a[2]), I(a[3]), P(a[4])));
    case SYS_nanosleep:
        return libc_ret(nanosleep(P(a[0]), P(a[1])));
    case SYS_clock_nanosleep:
        return sys_clock_nanosleep(I(a[0]), I(a[1]), P(a[2]), P(a[3]));
    case SYS_wait4:
        return libc_ret(wait4(I(a[0]), P(a[1]), I(a[2]), P(a[3])));
    case SYS_waitid:
        return sys_waitid((idtype_t)a[0], (id_t)a[1], P(a[2]), I(a[3]), P(a[4]));
    case SYS_gettid:
        return gettid();
    case SYS_tgkill:
        return libc_ret(tgkill(I(a[0]), I(a[1]), I(a[2])));
    case SYS_tkill:
        return libc_ret(tgkill(getpid(), I(a[0]), I(a[1])));
    case SYS_sched_yield:
        return libc_ret(sched_yield());
    case SYS_pause:
        return libc_ret(pause());
    }
    return route_fd(nr, a);
}

/* The calls that make, close or describe fds go to their interposers
 * too, which keep libgreen's record of each fd right (a number closed or
 * reused where libgreen did not see it would keep a stale one). */
static long route_fd(long nr, const long *a)
{
    switch (nr) {
    case SYS_close:
        return libc_ret(close(I(a[0])));
    case SYS_close_range:
        return libc_ret(close_range((unsigned)a[0], (unsigned)a[1], I(a[2])));
    case SYS_dup:
        return libc_ret(dup(I(a[0])));
    case SYS_dup2:
        return libc_ret(dup2(I(a[0]), I(a[1])));
    case SYS_dup3:
        return libc_ret(dup3(I(a[0]), I(a[1]), I(a[2])));
    case SYS_fcntl:
        return libc_ret(fcntl(I(a[0]), I(a[1]), a[2]));
    case SYS_ioctl:
        return libc_ret(ioctl(I(a[0]), (unsigned long)a[1], a[2]));
    case SYS_open:
        return libc_ret(open(P(a[0]), I(a[1]), (mode_t)a[2]));
    case SYS_openat:
        return libc_ret(openat(I(a[0]), P(a[1]), I(a[2]), (mode_t)a[3]));
    case SYS_creat:
        return libc_ret(creat(P(a[0]), (mode_t)a[1]));
    case SYS_socket:
        return libc_ret(socket(I(a[0]), I(a[1]), I(a[2])));
    case SYS_socketpair:
        return libc_ret(socketpair(I(a[0]), I(a[1]), I(a[2]), P(a[3])));
    case SYS_listen:
        return libc_ret(listen(I(a[0]), I(a[1])));
    case SYS_shutdown:
        return libc_ret(shutdown(I(a[0]), I(a[1])));
    case SYS_setsockopt:
        return libc_ret(setsockopt(I(a[0]), I(a[1]), I(a[2]), P(a[3]), (socklen_t)a[4]));
    case SYS_getsockopt:
        return libc_ret(getsockopt(I(a[0]), I(a[1]), I(a[2]), P(a[3]), P(a[4])));
    case SYS_pipe:
        return libc_ret(pipe(P(a[0])));
    case SYS_pipe2:
        return libc_ret(pipe2(P(a[0]), I(a[1])));
    case SYS_epoll_create:
        return libc_ret(epoll_create(I(a[0])));
    case SYS_epoll_create1:
        return libc_ret(epoll_create1(I(a[0])));
    case SYS_eventfd:
        return libc_ret(eventfd((unsigned)a[0], 0));
    case SYS_eventfd2:
        return libc_ret(eventfd((unsigned)a[0], I(a[1])));
    case SYS_timerfd_create:
        return libc_ret(timerfd_create(I(a[0]), I(a[1])));
    case SYS_signalfd:
        return a[2] == 8 ? libc_ret(signalfd(I(a[0]), P(a[1]), 0)) : NONE;
    case SYS_signalfd4:
        return a[2] == 8 ? libc_ret(signalfd(I(a[0]), P(a[1]), I(a[3]))) : NONE;
    case SYS_inotify_init:
        return libc_ret(inotify_init());
    case SYS_inotify_init1:
        return libc_ret(inotify_init1(I(a[0])));
    case SYS_getdents64:
        return libc_ret(getdents64(I(a[0]), P(a[1]), (size_t)a[2]));
    }
    return NONE;
}

int preload_sys_blocks(long nr)
{
    switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_recvfrom:
    case SYS_sendto:
    case SYS_recvmsg:
    case SYS_sendmsg:
    case SYS_recvmmsg:
    case SYS_sendmmsg:
    case SYS_accept:
    case SYS_accept4:
    case SYS_connect:
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_wait4:
    case SYS_waitid:
    case SYS_sched_yield:
    case SYS_pause:
    case SYS_futex:
        return 1;
    case SYS_gettid:
    case SYS_tgkill:
    case SYS_tkill:
    case SYS_close:
    case SYS_close_range:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_fcntl:
    case SYS_ioctl:
    case SYS_open:
    case SYS_openat:
    case SYS_creat:
    case SYS_socket:
    case SYS_socketpair:
    case SYS_listen:
    case SYS_shutdown:
    case SYS_setsockopt:
    case SYS_getsockopt:
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_epoll_create:
    case SYS_epoll_create1:
    case SYS_eventfd:
    case SYS_eventfd2:
    case SYS_timerfd_create:
    case SYS_signalfd:
    case SYS_signalfd4:
    case SYS_inotify_init:
    case SYS_inotify_init1:
    case SYS_getdents64:
        return -1;
    }
    return 0;
}

long preload_sys(long nr, const long *a)
{
    long r = NONE;
    if (nr == SYS_futex) /* from any OS thread: a wake may concern green waiters */
        r = preload_futex(P(a[0]), I(a[1]), (uint32_t)a[2], a[3], P(a[4]), (uint32_t)a[5]);
    else if (preload_green_thread())
        r = route(nr, a);
    if (r == NONE)
        r = preload_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    return r;
}

long preload_sys_keep_errno(long nr, const long *a)
{
    int saved = errno; /* a system call leaves errno alone */
    long r = preload_sys(nr, a);
    errno = saved;
    return r;
}

/* Blocking numbers wait green (see the top of the file); any other
 * number, and every call libgreen itself makes, goes to the kernel. */
PRELOAD_EXPORT long syscall(long nr, ...)
{
    long a[6];
    va_list ap;
    va_start(ap, nr);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    long r;
    if (green_owns_pc(__builtin_return_address(0)))
        r = preload_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    else
        r = preload_sys_keep_errno(nr, a);
    return preload_ret(r);
}
