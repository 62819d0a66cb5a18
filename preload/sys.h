/* sys.h: raw system calls and the routing of blocking numbers to their
 * interposers (syscall.c), shared by syscall() and the safety net. */
#ifndef GREEN_PRELOAD_SYS_H
#define GREEN_PRELOAD_SYS_H

#include <stdint.h>

#include "green.h"

/* The system call nr, made here (inside libgreen's code, which the
 * safety net always lets through). Returns the kernel's result: >= 0 or
 * -errno. */
long preload_raw_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* System call nr with arguments a[0..5] as libgreen makes it: the
 * blocking ones wait green when they can (their interposers'), the rest
 * go to the kernel. Returns >= 0 or -errno. */
long preload_sys(long nr, const long *a);

/* The same, leaving errno as it was (as a system call does). */
long preload_sys_keep_errno(long nr, const long *a);

/* 1 when nr may block (preload_sys makes it wait green), -1 when
 * preload_sys takes it to an interposer that never waits (gettid, kill,
 * the calls that make or close fds), 0 when it goes to the kernel. */
int preload_sys_blocks(long nr);

/* futex(2) with green waiters. Returns >= 0 or -errno. */
long preload_futex(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2, uint32_t val3);
/* The same for a futex whose wakes may come as raw system calls from
 * other OS threads (glibc's own locks): green waits re-read the word. */
long preload_futex_unseen(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2,
                          uint32_t val3);

struct sigaction;
/* sigaction(SIGSYS) of the program while the net is on: its action is
 * kept and gets every SIGSYS that is not the net's. */
int preload_sud_sigaction(const struct sigaction *act, struct sigaction *old);

/* ---- the safety net (sud.c) ------------------------------------------------ */

/* The Syscall User Dispatch selector (green_net_selector, the core's):
 * 0 lets system calls through, 1 makes those outside libgreen's code trap
 * (SIGSYS). Only the scheduler's OS thread turns the net on, so one byte
 * serves (a thread-local one would move with each green thread's own
 * TLS, away from the address the kernel was given); other OS threads
 * never write it. NULL until the net is on. */
extern unsigned char *preload_sud_sel;

/* Open the selector on the scheduler's OS thread; returns whether it did. */
static inline unsigned char preload_gate_open(void)
{
    unsigned char *sel = preload_sud_sel;
    if (!sel || !*sel || !green_self())
        return 0;
    *sel = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return 1;
}

static inline void preload_gate_close(unsigned char *opened)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (*opened)
        *preload_sud_sel = 1;
}

/* Let system calls through until the end of the enclosing block. */
#define PRELOAD_GATE_OPEN \
    unsigned char gate_opened_ __attribute__((cleanup(preload_gate_close))) = preload_gate_open()

/* Depth of the program's signal handlers running on this thread
 * (signal.c): a call the net catches there is made for real, never a
 * green wait (which would switch inside the handler). */
extern __thread int preload_in_handler __attribute__((tls_model("initial-exec")));

/* Ready the net for the calling OS thread (the scheduler's, at the end
 * of initialisation) unless GREEN_SYSCALL_NET=0 or the kernel lacks it.
 * Returns 1 when ready. */
int preload_sud_start(void);
/* Arm it (a second green thread now exists); idempotent and cheap. */
void preload_sud_arm(void);
/* 1 when the net is on in this process (for reports). */
int preload_sud_active(void);

#endif
