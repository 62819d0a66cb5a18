/* signal.c: signals as interruptions of green waits.
 *
 * The kernel sees one OS thread; the program sees many threads, each
 * with its own signal mask, and expects a handled signal to interrupt
 * the blocking call of one of them with EINTR. The layer above wraps
 * the program's handlers: the wrapper runs the handler, then calls
 * green_signal_note, which only sets a bit and sends an ev_async (both
 * async-signal-safe). The async callback runs in the loop, in normal
 * context, and wakes the chosen green thread with -EINTR: nothing ever
 * switches inside a signal handler. A signal that arrives while the
 * loop is about to block cannot be lost: ev_async_send wakes it.
 *
 * Which thread: one directed at a thread (pthread_kill) goes to it;
 * otherwise a thread waiting for signals (pause, sigsuspend) that does
 * not block it, then main when main does not block it (the kernel too
 * prefers the main thread), then the first other thread that does not
 * block it. Only a thread blocked in a green wait is interrupted: one
 * that runs or is ready to run was not in a system call, so natively
 * the handler would simply have run on it.
 *
 * Masks: each green thread has its own (a thread starts with its
 * creator's). The OS thread's real mask blocks a signal exactly when
 * every green thread blocks it, so a signal all threads block stays
 * pending in the kernel for sigwait (signalfd) as natively, and one any
 * thread accepts is delivered. glibc's internal signals (32, 33) and
 * SIGKILL/SIGSTOP are never touched. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define BIT(s) ((uint64_t)1 << ((s)-1))
/* Signals whose real blocking libgreen manages. */
#define MANAGED (~(BIT(SIGKILL) | BIT(SIGSTOP) | BIT(32) | BIT(33)))

_Atomic unsigned long green__sigseq = 1; /* 0: no since (green_wait) */
static _Atomic uint64_t pending, restarts;
/* green__sigseq as each signal was last noted: a wait that began later
 * was not interrupted by it (natively the handler ran while its thread
 * ran, or made a real call the kernel interrupted itself). */
static _Atomic unsigned long noted_seq[65];
static ev_async async;
static uint64_t os_blocked; /* the managed part of the real mask */
static uint64_t kept;       /* never blocked for real (green_signal_keep) */

void green_signal_keep(int sig)
{
    if (sig >= 1 && sig <= 64)
        kept |= BIT(sig);
}

static int set_os(int how, uint64_t set)
{
    if (how != SIG_UNBLOCK)
        set &= ~kept;
    sigset_t s;
    sigemptyset(&s);
    for (int i = 1; i <= 64; i++)
        if (set & BIT(i))
            sigaddset(&s, i);
    return (int)syscall(SYS_rt_sigprocmask, how, &s, NULL, (size_t)8);
}

/* Block for real what every green thread blocks; unblock the rest.
 * A signal some thread waits for in sigwait is blocked too when main
 * blocks it: the kernel offers a process-directed signal to the main
 * thread first, and natively a sigwait would then take it. */
static void sync_os(void)
{
    uint64_t all = MANAGED, waited = 0;
    for (green_thread *t = green__s.all; t; t = t->all_next) {
        if (t->state != T_EXITED)
            all &= t->sigmask;
        waited |= t->sigwaiting;
    }
    if (green__s.main)
        all |= waited & green__s.main->sigmask & MANAGED;
    all &= ~BIT(GREEN_SLICE_SIGNAL); /* the slice timer's */
    if (all & ~os_blocked)
        set_os(SIG_BLOCK, all & ~os_blocked);
    if (os_blocked & ~all)
        set_os(SIG_UNBLOCK, os_blocked & ~all);
    os_blocked = all;
}

static bool takes(const green_thread *t, int sig)
{
    return !(t->sigmask & BIT(sig)) && t->state != T_EXITED;
}

static green_thread *target(int sig)
{
    for (green_thread *t = green__s.all; t; t = t->all_next)
        if (t->sigdirected & BIT(sig)) {
            t->sigdirected &= ~BIT(sig);
            return t;
        }
    for (green_thread *t = green__s.all; t; t = t->all_next)
        if (t->state == T_BLOCKED && t->wait_kind == W_SIGNAL && takes(t, sig))
            return t;
    green_thread *m = green__s.main;
    if (m && takes(m, sig))
        return m;
    for (green_thread *t = green__s.all; t; t = t->all_next)
        if (t->state == T_BLOCKED && takes(t, sig))
            return t;
    return NULL;
}

static void deliver(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    uint64_t p = atomic_exchange(&pending, 0), r = atomic_load(&restarts);
    for (int sig = 1; sig <= 64; sig++) {
        green_thread *t = p & BIT(sig) ? target(sig) : NULL;
        if (t && t->state == T_BLOCKED && t->block_seq < atomic_load(&noted_seq[sig])) {
            green__wake(t, -EINTR);
            t->intr_restart = (r & BIT(sig)) != 0;
        }
    }
}

void green__signal_init(void)
{
    sigset_t s;
    ev_async_init(&async, deliver);
    ev_async_start(green__s.loop, &async);
    ev_unref(green__s.loop);
    if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &s, (size_t)8) == 0)
        for (int i = 1; i <= 64; i++)
            if (sigismember(&s, i) == 1)
                os_blocked |= BIT(i) & MANAGED;
    if (green__s.main)
        green__s.main->sigmask = os_blocked;
}

void green_signal_note(int sig, int restart)
{
    if (sig < 1 || sig > 64 || !green__s.loop)
        return;
    if (restart)
        atomic_fetch_or(&restarts, BIT(sig));
    else
        atomic_fetch_and(&restarts, ~BIT(sig));
    atomic_store(&noted_seq[sig], atomic_fetch_add(&green__sigseq, 1) + 1);
    atomic_fetch_or(&pending, BIT(sig));
    ev_async_send(green__s.loop, &async);
}

int green_intr_restart(void)
{
    return green__current && green__current->intr_restart;
}

unsigned long green_call_seq(void)
{
    return atomic_load(&green__sigseq);
}

/* Signals aimed at t while it blocked them and now unblocked are
 * raised for real, aimed at t: the handler runs before the call that
 * unblocked them returns, as the kernel does. */
static void fire_held(green_thread *t)
{
    uint64_t fire = t->sigpending & ~t->sigmask;
    t->sigpending &= ~fire;
    for (int sig = 1; sig <= 64 && fire; sig++)
        if (fire & BIT(sig)) {
            fire &= ~BIT(sig);
            t->sigdirected |= BIT(sig);
            syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
        }
}

int green_sigmask(int how, const uint64_t *set, uint64_t *old)
{
    green_thread *self = green__current;
    if (!self)
        return -EPERM;
    if (old)
        *old = self->sigmask;
    if (!set)
        return 0;
    uint64_t s = *set & MANAGED;
    switch (how) {
    case SIG_BLOCK:
        self->sigmask |= s;
        break;
    case SIG_UNBLOCK:
        self->sigmask &= ~s;
        break;
    case SIG_SETMASK:
        self->sigmask = s;
        break;
    default:
        return -EINVAL;
    }
    sync_os();
    fire_held(self);
    return 0;
}

int green_signal_direct(green_thread *t, int sig)
{
    if (sig < 0 || sig > 64)
        return -EINVAL;
    if (t->state == T_EXITED)
        return -ESRCH;
    if (sig == 0)
        return 0;
    if (t->sigmask & BIT(sig) & MANAGED) {
        t->sigpending |= BIT(sig);
        if (t->state == T_BLOCKED && (t->sigwaiting & BIT(sig)))
            green__wake(t, 1);
        return 1;
    }
    t->sigdirected |= BIT(sig);
    return 0;
}

int green_signal_take(uint64_t set)
{
    green_thread *self = green__current;
    uint64_t got = self ? self->sigpending & set : 0;
    for (int sig = 1; sig <= 64; sig++)
        if (got & BIT(sig)) {
            self->sigpending &= ~BIT(sig);
            return sig;
        }
    return 0;
}

void green_signal_waiting(uint64_t set)
{
    green__current->sigwaiting = set & MANAGED;
    sync_os();
}

int green_signal_wait(const uint64_t *mask)
{
    green_thread *self = green__current;
    green_cancel_point(NULL, NULL);
    uint64_t saved = self->sigmask;
    unsigned long seq = atomic_load(&green__sigseq);
    if (mask) {
        self->sigmask = *mask & MANAGED;
        sync_os(); /* a pending signal it unblocks is handled right here */
        fire_held(self);
    }
    int r = -EINTR;
    if (atomic_load(&green__sigseq) == seq) {
        /* Only the async watcher can end this wait: let it keep the
         * loop blocking in the kernel meanwhile. */
        ev_ref(green__s.loop);
        self->cancel_point = true;
        r = green__block(W_SIGNAL, NULL, GREEN_NEVER, true);
        self->cancel_point = false;
        ev_unref(green__s.loop);
    }
    if (mask) {
        self->sigmask = saved;
        sync_os();
    }
    return green__settle(GREEN_CALL_PAUSE, r, GREEN_NEVER, 0, NULL, NULL);
}

/* The child of a fork keeps one thread: its mask is the real one. */
void green__signal_fork_child(void)
{
    atomic_store(&pending, 0);
    sync_os();
}

/* libc's sigaction, not the interposer (green__libc): the layer above
 * wraps handlers as the program's, and a wrapped one would interrupt
 * green waits each time the core's own signal comes. */
int green__sigaction(int sig, const struct sigaction *act)
{
    return green__libc.sigaction(sig, act, NULL) < 0 ? -errno : 0;
}
