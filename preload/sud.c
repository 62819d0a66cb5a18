/* sud.c: the safety net for system calls no interposer sees.
 *
 * glibc's own read under fgets, an inline syscall instruction in the
 * program or a library, glibc's internal futex locks: none of them goes
 * through a public name. Syscall User Dispatch (Linux 5.11) catches
 * them: once on, a system call made outside one address range (here
 * libgreen's code) while the thread's selector byte says BLOCK is not
 * made but reported with SIGSYS (si_code SYS_USER_DISPATCH, the number
 * in si_syscall, the arguments in the saved registers; rax holds the
 * number again). The kernel clears it in every new thread and process
 * and at exec; only the scheduler's OS thread turns it on.
 *
 * The selector stays BLOCK on that thread, except while libgreen calls
 * into libc through real_* (the gate in real.c opens it: two byte
 * stores) and in this handler. So the interposers' own calls never
 * trap, and a trap is either the program's call or a libc call the core
 * made without real_* (libev's epoll_ctl, malloc's mmap): those run
 * here, as they would have.
 *
 * The handler makes non-blocking calls itself and stores the result in
 * the saved rax: a trap costs a signal delivery instead of an interposer
 * (see the README for figures). A call that may block, made where a
 * green wait is possible, is not made here: green_divert has the
 * interrupted context call diverted() once the handler has returned, on
 * the green thread's own stack, and that runs it as syscall(2) does
 * (preload_sys), so it waits green; no switch ever happens inside the
 * handler. The program's handlers return through __restore_rt in libc,
 * whose rt_sigreturn would trap: it resumes at our own copy instead,
 * inside the allowed range. clone, fork and vfork resume at a gadget
 * there too (a child cannot return through this handler's frame).
 * rt_sigprocmask is applied to the mask the handler's return restores,
 * and never blocks SIGSYS (a blocked SIGSYS would kill the process on
 * the next trap). The program's own SIGSYS handler (seccomp) still gets
 * every SIGSYS that is not ours. */
#include "preload.h"
#include "sys.h"

#include <dlfcn.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#define SEL_ALLOW 0
#define SEL_BLOCK 1

unsigned char *preload_sud_sel;
__thread int preload_in_handler __attribute__((tls_model("initial-exec")));
/* Where a clone, fork or vfork resumes after the gadget's system call.
 * Not thread-local: a clone with CLONE_SETTLS (a real thread made by
 * libc's pthread_create) starts its child on a fresh thread pointer,
 * where a thread-local copy would read 0. Only the scheduler's OS thread
 * has the net armed, so only it writes here. */
uintptr_t preload_sud_resume __attribute__((visibility("hidden")));

static int active, armed;
static uintptr_t text_lo, text_hi;
static struct sigaction prog_sigsys; /* the program's own SIGSYS action */

/* rt_sigreturn and the system call of a redirected clone, inside the
 * allowed range. After a system call rcx and r11 are the kernel's. */
void preload_sud_sigreturn(void);
void preload_sud_gadget(void);
__asm__(".text\n"
        ".globl preload_sud_sigreturn\n.hidden preload_sud_sigreturn\n"
        ".type preload_sud_sigreturn,@function\n"
        "preload_sud_sigreturn:\n"
        "  movl $15, %eax\n"
        "  syscall\n"
        "  hlt\n"
        ".globl preload_sud_gadget\n.hidden preload_sud_gadget\n"
        ".type preload_sud_gadget,@function\n"
        "preload_sud_gadget:\n"
        "  syscall\n"
        "  jmp *preload_sud_resume(%rip)\n");

static int ours(uintptr_t pc)
{
    return pc >= text_lo && pc < text_hi;
}

/* A trap right under a libgreen frame is libgreen's own call into libc
 * (not through real_*): it must not wait green in the middle of
 * libgreen. Looks at the few words on top of the stack, where a libc
 * system call wrapper keeps its return address. */
static int from_libgreen(const uintptr_t *sp)
{
    for (int i = 0; i < 8; i++)
        if (ours(sp[i]))
            return 1;
    return 0;
}

static int futex_waits(int op)
{
    int cmd = op & FUTEX_CMD_MASK;
    return cmd != FUTEX_WAKE && cmd != FUTEX_WAKE_BITSET && cmd != FUTEX_REQUEUE &&
           cmd != FUTEX_CMP_REQUEUE;
}

/* ---- calls the handler cannot simply make -------------------------------- */

/* rt_sigprocmask on the mask the handler's return restores. */
static long sigprocmask_on(ucontext_t *uc, int how, const uint64_t *set, uint64_t *old, size_t size)
{
    if (size != 8)
        return -EINVAL;
    uint64_t *cur = (uint64_t *)&uc->uc_sigmask, was = *cur, want;
    if (set) {
        struct iovec l = {&want, 8}, r = {(void *)set, 8};
        if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != 8)
            return -EFAULT;
        switch (how) {
        case SIG_BLOCK:
            want |= was;
            break;
        case SIG_UNBLOCK:
            want = was & ~want;
            break;
        case SIG_SETMASK:
            break;
        default:
            return -EINVAL;
        }
    }
    if (old) {
        struct iovec l = {&was, 8}, r = {old, 8};
        if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != 8)
            return -EFAULT;
    }
    if (set) {
        want &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)) | (1ull << (SIGSYS - 1)));
        *cur = want;
    }
    return 0;
}

struct ksigaction {
    void (*handler)(int, siginfo_t *, void *);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

/* ---- the divert ------------------------------------------------------------ */

static void diverted(struct green_regs *r, void *arg)
{
    (void)arg;
    int saved = errno;
    long a[6] = {(long)r->rdi, (long)r->rsi, (long)r->rdx, (long)r->r10, (long)r->r8, (long)r->r9};
    long nr = (long)r->rax;
    if (nr == SYS_futex) /* glibc's own locks: a raw wake on another OS thread is unseen */
        r->rax = (uint64_t)preload_futex_unseen((uint32_t *)a[0], (int)a[1], (uint32_t)a[2], a[3],
                                                (uint32_t *)a[4], (uint32_t)a[5]);
    else
        r->rax = (uint64_t)preload_sys(nr, a);
    errno = saved; /* a system call leaves errno alone */
}

static void chain(int sig, siginfo_t *si, void *ctx)
{
    struct sigaction *p = &prog_sigsys;
    if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction)
        p->sa_sigaction(sig, si, ctx);
    else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN)
        p->sa_handler(sig);
    else if (p->sa_handler == SIG_DFL) { /* die of it, as without us */
        struct ksigaction dfl = {.handler = NULL};
        preload_raw_syscall(SYS_rt_sigaction, SIGSYS, (long)&dfl, 0, 8, 0, 0);
        preload_raw_syscall(SYS_tgkill, getpid(), preload_raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0),
                            SIGSYS, 0, 0, 0);
    }
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    *preload_sud_sel = SEL_ALLOW;
    int saved = errno;
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    long nr = g[REG_RAX];
    if (si->si_code != SYS_USER_DISPATCH) {
        chain(sig, si, ctx);
    } else if (nr == SYS_rt_sigreturn) {
        g[REG_RIP] = (greg_t)preload_sud_sigreturn;
    } else if (nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork) {
        preload_sud_resume = (uintptr_t)g[REG_RIP];
        g[REG_RIP] = (greg_t)preload_sud_gadget;
    } else if (nr == SYS_rt_sigprocmask) {
        g[REG_RAX] = sigprocmask_on(uc, (int)g[REG_RDI], (const uint64_t *)g[REG_RSI],
                                    (uint64_t *)g[REG_RDX], (size_t)g[REG_R10]);
    } else if (nr == SYS_futex && !futex_waits((int)g[REG_RSI]) && green_can_block()) {
        green_net_count(0); /* a wake or requeue: never waits, done here */
        g[REG_RAX] = preload_futex((uint32_t *)g[REG_RDI], (int)g[REG_RSI], (uint32_t)g[REG_RDX],
                                   g[REG_R10], (uint32_t *)g[REG_R8], (uint32_t)g[REG_R9]);
    } else if (preload_sys_blocks(nr) > 0 && green_worth_waiting() && !preload_in_handler &&
               !from_libgreen((const uintptr_t *)g[REG_RSP])) {
        green_net_count(1);
        green_divert(ctx, diverted, NULL);
    } else {
        green_net_count(0);
        long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
        g[REG_RAX] = preload_sys_blocks(nr) < 0 && green_can_block()
                         ? preload_sys(nr, a)
                         : preload_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    errno = saved;
    *preload_sud_sel = SEL_BLOCK;
}

/* ---- turning it on ---------------------------------------------------------- */

static int arm(void)
{
    long r = preload_raw_syscall(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
                                 (long)text_lo, (long)(text_hi - text_lo),
                                 (long)green_net_selector(), 0);
    return r == 0;
}

static void fork_child(void)
{
    if (armed && !arm())
        armed = 0; /* cannot happen: the parent had it */
}

/* Why the net cannot go on, or NULL. */
static const char *refused(void)
{
    const char *env = getenv("GREEN_SYSCALL_NET");
    if (env && !strcmp(env, "0"))
        return "GREEN_SYSCALL_NET=0";
#ifdef HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND) /* it would pass the prctl to the kernel for itself */
        return "under valgrind";
#endif
    green_text_range(&text_lo, &text_hi);
    if (!text_hi)
        return "libgreen's code not found";
    /* Turning it off is a no-op where the kernel knows the call. */
    if (preload_raw_syscall(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0,
                            0) < 0)
        return "no Syscall User Dispatch in this kernel (Linux 5.11 or later)";
    return NULL;
}

int preload_sud_start(void)
{
    const char *why = refused();
    if (why) {
        green_net_state(0, why);
        return 0;
    }
    /* SA_NODEFER: SIGSYS must never be blocked, not even in the handler
     * (an execve made from it would pass the mask on). */
    struct ksigaction ka = {.handler = on_sigsys,
                            .flags = SA_SIGINFO | SA_RESTORER | SA_NODEFER | SA_RESTART,
                            .restorer = preload_sud_sigreturn};
    if (preload_raw_syscall(SYS_rt_sigaction, SIGSYS, (long)&ka, 0, 8, 0, 0) < 0) {
        green_net_state(0, "cannot handle SIGSYS");
        return 0;
    }
    prog_sigsys.sa_handler = SIG_DFL;
    active = 1;
    /* Inherited blocked (from a helper thread that spawned us, say). */
    uint64_t sys = 1ull << (SIGSYS - 1);
    preload_raw_syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&sys, 0, 8, 0, 0);
    green_signal_keep(SIGSYS);
    pthread_atfork(NULL, NULL, fork_child);
    green_net_state(0, "ready, armed when a second thread starts");
    return 1;
}

/* While one thread runs, nothing can wait green and the net would only
 * cost: the kernel takes its slow path for every system call of a
 * thread with Syscall User Dispatch on. So it is armed at the first
 * pthread_create, on the scheduler's OS thread, and stays armed. */
void preload_sud_arm(void)
{
    if (!active || armed || !green_self())
        return;
    real_gate(); /* only now: a single thread's calls skip the gates */
    if (!arm()) {
        green_net_state(0, "the kernel refused Syscall User Dispatch");
        return;
    }
    armed = 1;
    green_net_state(1, NULL);
    preload_sud_sel = green_net_selector();
    *preload_sud_sel = SEL_BLOCK;
}

int preload_sud_active(void)
{
    return active;
}

int preload_sud_sigaction(const struct sigaction *act, struct sigaction *old)
{
    if (old)
        *old = prog_sigsys;
    if (act)
        prog_sigsys = *act;
    return 0;
}
