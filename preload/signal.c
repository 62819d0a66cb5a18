/* signal.c: handlers that interrupt green waits, per-thread masks, and
 * the waits for signals.
 *
 * Natively a handled signal makes the blocking call of the thread it
 * lands on fail with EINTR (or restart, with SA_RESTART). Here every
 * green thread blocks in the event loop of one OS thread, so the kernel
 * interrupts the loop, not the call. sigaction installs a wrapper
 * instead of the program's handler: it runs the program's handler,
 * exactly as natively, then tells the core (green_signal_note, a bit and
 * an async wake-up), which interrupts the right green wait from the
 * loop, never inside the handler. The program sees its own handler and
 * flags in every sigaction it reads back.
 *
 * Fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) are
 * raised by an instruction, never interrupt a call, and are installed
 * unwrapped. Handlers installed by glibc-internal calls (sigset,
 * sysv_signal, siginterrupt inside glibc) are not wrapped either.
 *
 * Masks are per green thread (core), sigwait and friends wait green on a
 * signalfd of their set, pause and sigsuspend wait green for a handler
 * to run. */
#include "fd.h"
#include "pthr.h"
#include "sys.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NSIGS 65
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000 /* the kernel's; glibc sets it on every action */
#endif

static struct sigaction prog[NSIGS]; /* the program's actions */
static volatile sig_atomic_t wrapped[NSIGS];

static int is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGSYS;
}

static int is_handler(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) || (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

static void wrapper(int sig, siginfo_t *si, void *uc)
{
    struct sigaction a = prog[sig];
    if (a.sa_flags & SA_RESETHAND) {
        wrapped[sig] = 0; /* the kernel has reset the disposition */
        prog[sig].sa_handler = SIG_DFL;
        prog[sig].sa_flags &= ~SA_SIGINFO;
    }
    preload_in_handler++; /* the safety net never waits green in a handler */
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, si, uc);
    else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
        a.sa_handler(sig);
    preload_in_handler--;
    int saved = errno;
    /* In a vfork child the parent's state is not ours to note in. */
    if (!preload_vforking || preload_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) == preload_vfork_pid)
        green_signal_note(sig, (a.sa_flags & SA_RESTART) != 0);
    errno = saved;
}

/* What sigaction reports as the old action: the program's own where
 * the kernel holds our wrapper. */
static void report_old(struct sigaction *old, const struct sigaction *prev,
                       const struct sigaction *was)
{
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction == wrapper) {
        *old = *was; /* with the restorer glibc added, as it reads back */
        old->sa_flags |= prev->sa_flags & SA_RESTORER;
        old->sa_restorer = prev->sa_restorer;
    } else {
        *old = *prev;
    }
}

/* The action the kernel gets for the program's act: the wrapper, with
 * the slice signal blocked (no preemption inside handlers). */
static struct sigaction wrapped_action(const struct sigaction *act)
{
    struct sigaction mine = *act;
    mine.sa_sigaction = wrapper;
    mine.sa_flags |= SA_SIGINFO;
    sigaddset(&mine.sa_mask, GREEN_SLICE_SIGNAL);
    return mine;
}

/* Installs a wrapper around the program's handler (see above); reports
 * the program's own action back. Fails and succeeds as natively. In a
 * vfork child the action goes to the kernel as is and prog[] (the
 * parent's) is only read. */
PRELOAD_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGSYS && preload_sud_active())
        return preload_sud_sigaction(act, old);
    if (sig < 1 || sig >= NSIGS || is_fault(sig))
        return real_sigaction(sig, act, old);
    struct sigaction mine, prev, was = prog[sig];
    bool ours = act && !preload_vforking;
    int wrap = ours && is_handler(act) && sig != SIGKILL && sig != SIGSTOP;
    if (wrap) {
        mine = wrapped_action(act);
        prog[sig] = *act;
    }
    if (real_sigaction(sig, wrap ? &mine : act, &prev) < 0) {
        if (wrap)
            prog[sig] = was;
        return -1;
    }
    if (old)
        report_old(old, &prev, &was);
    if (ours) {
        wrapped[sig] = wrap;
        prog[sig] = *act;
    }
    return 0;
}

/* BSD semantics, as glibc's: SA_RESTART, the signal blocked in its
 * handler. Goes through the sigaction above. */
PRELOAD_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
    struct sigaction act = {.sa_handler = h, .sa_flags = SA_RESTART}, old;
    sigemptyset(&act.sa_mask);
    if (sig > 0 && sig < NSIGS && sigaddset(&act.sa_mask, sig) < 0) {
        errno = EINVAL;
        return SIG_ERR;
    }
    return sigaction(sig, &act, &old) < 0 ? SIG_ERR : old.sa_handler;
}

/* As glibc's: sets or clears SA_RESTART of sig's current action. */
PRELOAD_EXPORT int siginterrupt(int sig, int flag)
{
    struct sigaction act;
    if (sigaction(sig, NULL, &act) < 0)
        return -1;
    if (flag)
        act.sa_flags &= ~SA_RESTART;
    else
        act.sa_flags |= SA_RESTART;
    return sigaction(sig, &act, NULL);
}

/* ---- masks ------------------------------------------------------------------- */

static uint64_t to_bits(const sigset_t *s)
{
    uint64_t b = 0;
    for (int i = 1; i < NSIGS; i++)
        if (sigismember(s, i) == 1)
            b |= (uint64_t)1 << (i - 1);
    return b;
}

static void from_bits(uint64_t b, sigset_t *s)
{
    sigemptyset(s);
    for (int i = 1; i < NSIGS; i++)
        if (b & ((uint64_t)1 << (i - 1)))
            sigaddset(s, i);
}

/* The calling green thread's own mask (see green_sigmask); returns the
 * error number. Off green threads: the real one. */
PRELOAD_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (!preload_green_thread())
        return real_pthread_sigmask(how, set, old);
    sigset_t s, o;
    if (set && fd_copyin(&s, set, sizeof s) < 0)
        return EFAULT;
    uint64_t b = set ? to_bits(&s) : 0, ob;
    int r = green_sigmask(how, set ? &b : NULL, &ob);
    if (r == 0 && old) {
        from_bits(ob, &o);
        if (fd_copyout(old, &o, sizeof o) < 0)
            return EFAULT; /* the mask changed all the same, as natively */
    }
    return -r;
}

/* pthread_sigmask with -1/errno, as glibc's in a threaded process. */
PRELOAD_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    if (!preload_green_thread())
        return real_sigprocmask(how, set, old);
    int r = pthread_sigmask(how, set, old);
    return r ? preload_fail(-r) : 0;
}

/* ---- sending ------------------------------------------------------------------- */

static green_thread *green_of(pthread_t t)
{
    return t == preload_main_ptid ? preload_main_green : (green_thread *)(uintptr_t)t;
}

/* Aims sig at the green thread t (it, not main, gets the EINTR), then
 * raises it on the OS thread; held pending for t while t blocks it;
 * nothing for a thread that has exited. sig 0 only checks sig. */
PRELOAD_EXPORT int pthread_kill(pthread_t t, int sig)
{
    green_yield_point();
    if (!preload_green_thread())
        return real_pthread_kill(t, sig);
    if (sig < 0 || sig >= NSIGS)
        return EINVAL;
    /* Exited (not joined): glibc sends nothing and says 0. Blocked by
     * t: held pending for t by the core, as the kernel would. */
    int r = green_signal_direct(green_of(t), sig);
    if (r != 0 || sig == 0)
        return r < 0 && r != -ESRCH ? -r : 0;
    return real_tgkill(getpid(), real_gettid(), sig) < 0 ? errno : 0;
}

/* A green thread's id (gettid) is not the kernel's: a signal sent to it
 * is pthread_kill of that thread, so it reaches that thread as natively.
 * Other ids go to the kernel (which has no thread above PID_MAX_LIMIT:
 * ESRCH). */
PRELOAD_EXPORT int tgkill(pid_t pid, pid_t tid, int sig)
{
    green_thread *g;
    if (!preload_green_thread() || pid != getpid() || !(g = green_thread_by_tid(tid)))
        return real_tgkill(pid, tid, sig);
    int r = pthread_kill(pthr_to_ptid(g), sig);
    return r ? preload_fail(-r) : 0;
}

/* As pthread_kill of the calling thread. */
PRELOAD_EXPORT int raise(int sig)
{
    if (!preload_green_thread())
        return real_raise(sig);
    int r = pthread_kill(pthread_self(), sig);
    return r ? preload_fail(-r) : 0;
}

/* ---- waiting -------------------------------------------------------------------- */

/* Waits green until a handler has run. */
PRELOAD_EXPORT int pause(void)
{
    if (!preload_should_wait())
        return real_pause();
    return preload_fail(green_signal_wait(NULL));
}

/* Waits green with the thread's mask set to *set until a handler ran. */
PRELOAD_EXPORT int sigsuspend(const sigset_t *set)
{
    sigset_t s;
    if (!preload_should_wait() || fd_copyin(&s, set, sizeof s) < 0)
        return real_sigsuspend(set); /* EFAULT at once for a bad set */
    uint64_t b = to_bits(&s);
    return preload_fail(green_signal_wait(&b));
}

static void fill_info(siginfo_t *info, const struct signalfd_siginfo *s)
{
    memset(info, 0, sizeof *info);
    info->si_signo = (int)s->ssi_signo;
    info->si_errno = s->ssi_errno;
    info->si_code = s->ssi_code;
    /* The fields share unions: set those of the signal's kind only. */
    if (is_fault(info->si_signo)) {
        info->si_addr = (void *)(uintptr_t)s->ssi_addr;
        return;
    }
    info->si_pid = (pid_t)s->ssi_pid;
    info->si_uid = (uid_t)s->ssi_uid;
    if (info->si_signo == SIGCHLD)
        info->si_status = s->ssi_status;
    else
        info->si_value.sival_ptr = (void *)(uintptr_t)s->ssi_ptr;
}

/* The end of a wait for signals, also when a cancellation ends it. */
static void end_wait(void *arg)
{
    int fd = *(int *)arg;
    green_signal_waiting(0);
    if (fd >= 0) {
        green_fd_close(fd);
        syscall(SYS_close, fd);
    }
}

/* One attempt: a pending signal of set from the signalfd, or without one
 * (no fd to be had) from the kernel's queue directly. */
static int take(int fd, const sigset_t *set, siginfo_t *info)
{
    static const struct timespec zero;
    struct signalfd_siginfo s;
    int held = green_signal_take(to_bits(set));
    if (held) {
        if (info) {
            memset(info, 0, sizeof *info);
            info->si_signo = held;
            info->si_code = SI_TKILL;
            info->si_pid = getpid();
            info->si_uid = getuid();
        }
        return held;
    }
    if (fd < 0) {
        siginfo_t local;
        long r = syscall(SYS_rt_sigtimedwait, set, info ? info : &local, &zero, (size_t)8);
        return (int)preload_neg_errno(r);
    }
    long n = syscall(SYS_read, fd, &s, sizeof s);
    if (n != (long)sizeof s)
        return n < 0 ? -errno : -EAGAIN;
    if (info)
        fill_info(info, &s);
    return (int)s.ssi_signo;
}

/* Take one pending signal of set, waiting green on a signalfd until one
 * comes, with call's wait policy; when the fd table is full (EMFILE,
 * ENFILE) the queue is asked every millisecond instead. Returns the
 * signal, -EAGAIN at deadline, -EINTR, -EFAULT for a set or info the
 * program gave and libgreen cannot read or write (the signal is taken
 * all the same, as natively). */
GREEN_YIELDS static int wait_set(const sigset_t *set, siginfo_t *info, int64_t deadline, int call)
{
    int fd = (int)syscall(SYS_signalfd4, -1, set, (size_t)8, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 && errno != EMFILE && errno != ENFILE && errno != ENOMEM)
        return -errno;
    struct green_wait w = {.call = call,
                           .on = fd < 0 ? GREEN_ON_RETRY : GREEN_ON_FD,
                           .fd = fd,
                           .events = GREEN_IN,
                           .deadline = deadline,
                           .since = green_call_seq(),
                           .release = end_wait,
                           .arg = &fd};
    int r;
    siginfo_t si;
    green_signal_waiting(to_bits(set));
    while ((r = take(fd, set, info ? &si : NULL)) == -EAGAIN && (r = green_wait(&w)) > 0)
        ;
    end_wait(&fd);
    return r > 0 && info && fd_copyout(info, &si, sizeof si) < 0 ? -EFAULT : r;
}

/* Each waits green for a signal of set (which the caller blocks, as
 * POSIX asks). sigwait returns the error number and never EINTR. */
PRELOAD_EXPORT int sigwait(const sigset_t *set, int *sig)
{
    if (!preload_should_wait())
        return real_sigwait(set, sig);
    int r = wait_set(set, NULL, GREEN_NEVER, GREEN_CALL_SIGWAIT_ANY);
    if (r < 0)
        return -r;
    *sig = r;
    return 0;
}

PRELOAD_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    if (!preload_should_wait())
        return real_sigwaitinfo(set, info);
    int r = wait_set(set, info, GREEN_NEVER, GREEN_CALL_SIGWAIT);
    return r < 0 ? preload_fail(r) : r;
}

PRELOAD_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
    struct timespec t;
    if (!preload_should_wait() ||
        (ts && (fd_copyin(&t, ts, sizeof t) < 0 || !preload_ts_valid(&t))))
        return real_sigtimedwait(set, info, ts); /* EFAULT or EINVAL at once */
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(&t)) : GREEN_NEVER;
    int r = wait_set(set, info, deadline, GREEN_CALL_SIGWAIT);
    return r < 0 ? preload_fail(r) : r;
}
