/* divert.c: make an interrupted context call a function once a signal
 * handler returns (preemption, trapped system calls).
 *
 * A signal handler may not switch green threads: it runs on top of the
 * interrupted code, maybe with a lock of libc held or an alternate stack
 * in use. green_divert instead edits the context the kernel restores:
 * after sigreturn the interrupted code resumes in the trampoline below
 * with every register and the vector state as they were, except rax,
 * rsp and rip. rax points at a stash of those three (and fn, arg). The
 * trampoline saves everything (xsave, or fxsave without it), calls
 * fn(regs, arg) as an ordinary function on the interrupted stack (so fn
 * may switch green threads), restores and returns to regs->rip.
 *
 * Nothing may be written below the handler's own frame while it runs,
 * and whatever lies below the trampoline's rsp may be overwritten by the
 * next signal as soon as sigreturn is done. So the stash goes where
 * nothing writes until the trampoline has read it: when the signal frame
 * is on the interrupted stack (the usual case), into the sigcontext's
 * reserved words, which the kernel does not read back, with the
 * trampoline's rsp below the whole (then dead) signal frame; when the
 * handler runs on an alternate stack, just below the interrupted red
 * zone. The red zone itself is never touched; the final `ret $128`
 * resumes from a slot just below it.
 */
#include <cpuid.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "internal.h"

#define RED_ZONE 128
/* The offsets the assembly below uses. */
_Static_assert(
    offsetof(struct green_regs, r15) == 0 && offsetof(struct green_regs, r14) == 8 &&
        offsetof(struct green_regs, r13) == 16 && offsetof(struct green_regs, r12) == 24 &&
        offsetof(struct green_regs, r11) == 32 && offsetof(struct green_regs, r10) == 40 &&
        offsetof(struct green_regs, r9) == 48 && offsetof(struct green_regs, r8) == 56 &&
        offsetof(struct green_regs, rdi) == 64 && offsetof(struct green_regs, rsi) == 72 &&
        offsetof(struct green_regs, rbp) == 80 && offsetof(struct green_regs, rbx) == 88 &&
        offsetof(struct green_regs, rdx) == 96 && offsetof(struct green_regs, rax) == 104 &&
        offsetof(struct green_regs, rcx) == 112 && offsetof(struct green_regs, rsp) == 120 &&
        offsetof(struct green_regs, rip) == 128 && offsetof(struct green_regs, rflags) == 136 &&
        sizeof(struct green_regs) == 144,
    "green_regs layout");

enum { S_RAX, S_RIP, S_RSP, S_FN, S_ARG, S_WORDS };

/* Set once by a constructor, before any handler can run. */
__attribute__((visibility("hidden"))) size_t green__divert_fpu_size = 512;
__attribute__((visibility("hidden")))
uint64_t green__divert_xsave; /* 1: xsave/xrstor; 0: fxsave/fxrstor */

/* Entered with rax at the stash, rsp 16-aligned below it, every other
 * register as interrupted. Frame: regs (144), fn, arg at rsp; the fpu
 * area below, 64-aligned; then a fake frame (interrupted rip, rbp) so
 * that frame-pointer walks and debuggers see the interrupted code as
 * fn's caller. rbx keeps the frame across the call. */
#define SAVE(r, o) "  movq %" #r ", " #o "(%rsp)\n"
#define LOAD(r, o) "  movq " #o "(%rsp), %" #r "\n"
#define STASH(i, o) "  movq " #i "*8(%rax), %rcx\n  movq %rcx, " #o "(%rsp)\n"
__asm__(
    ".text\n"
    ".globl green__divert_trampoline\n"
    ".hidden green__divert_trampoline\n"
    ".type green__divert_trampoline,@function\n"
    "green__divert_trampoline:\n"
    "  leaq -160(%rsp), %rsp\n" /* lea, mov, push, pop: flags intact */
    SAVE(r15, 0) SAVE(r14, 8) SAVE(r13, 16) SAVE(r12, 24) SAVE(r11, 32) SAVE(r10, 40) SAVE(r9, 48)
        SAVE(r8, 56) SAVE(rdi, 64) SAVE(rsi, 72) SAVE(rbp, 80) SAVE(rbx, 88) SAVE(rdx, 96)
            SAVE(rcx,
                 112) "  pushfq\n"
                      "  popq 136(%rsp)\n" /* address taken after the pop */
                      "  cld\n" STASH(0, 104) STASH(1, 128) STASH(2, 120) STASH(3, 144) STASH(
                          4,
                          152) "  movq %rsp, %rbx\n"
                               "  subq green__divert_fpu_size(%rip), %rsp\n"
                               "  andq $-64, %rsp\n"
                               "  movl $-1, %eax\n"
                               "  movl $-1, %edx\n"
                               "  cmpq $0, green__divert_xsave(%rip)\n"
                               "  je 1f\n"
                               "  xorl %ecx, %ecx\n" /* xrstor wants the header's reserved bytes
                                                        zero */
                               "  movq %rcx, 512(%rsp)\n  movq %rcx, 520(%rsp)\n  movq %rcx, "
                               "528(%rsp)\n"
                               "  movq %rcx, 536(%rsp)\n  movq %rcx, 544(%rsp)\n  movq %rcx, "
                               "552(%rsp)\n"
                               "  movq %rcx, 560(%rsp)\n  movq %rcx, 568(%rsp)\n"
                               "  xsave64 (%rsp)\n"
                               "  jmp 2f\n"
                               "1: fxsave64 (%rsp)\n"
                               "2: pushq 128(%rbx)\n"
                               "  pushq 80(%rbx)\n"
                               "  movq %rsp, %rbp\n"
                               "  movq %rbx, %rdi\n"
                               "  movq 152(%rbx), %rsi\n"
                               "  callq *144(%rbx)\n"
                               "  addq $16, %rsp\n"
                               "  movl $-1, %eax\n"
                               "  movl $-1, %edx\n"
                               "  cmpq $0, green__divert_xsave(%rip)\n"
                               "  je 3f\n"
                               "  xrstor64 (%rsp)\n"
                               "  jmp 4f\n"
                               "3: fxrstor64 (%rsp)\n"
                               "4: movq %rbx, %rsp\n"
                               "  movq 128(%rsp), %rax\n" /* the slot `ret $128` resumes from */
                               "  movq 120(%rsp), %rcx\n"
                               "  movq %rax, -136(%rcx)\n"
                               "  leaq -136(%rcx), %rcx\n"
                               "  movq %rcx, 120(%rsp)\n" LOAD(r15, 0) LOAD(r14, 8) LOAD(r13, 16)
                                   LOAD(r12, 24) LOAD(r11, 32) LOAD(r10, 40) LOAD(r9, 48)
                                       LOAD(r8, 56) LOAD(rdi, 64) LOAD(rsi, 72) LOAD(rbp, 80)
                                           LOAD(rbx, 88) LOAD(rdx, 96) LOAD(rax, 104)
                                               LOAD(rcx,
                                                    112) "  pushq 136(%rsp)\n" /* address taken
                                                                                  before the push */
                                                         "  popfq\n"
                                                         "  movq 120(%rsp), %rsp\n"
                                                         "  ret $128\n"
                                                         ".size green__divert_trampoline, "
                                                         ".-green__divert_trampoline\n");

extern char green__divert_trampoline[];

/* xsave when the OS enabled it, with the area size CPUID gives for the
 * features enabled in XCR0. */
__attribute__((constructor)) static void probe_fpu(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || __get_cpuid_max(0, NULL) < 0xd)
        return;
    __cpuid_count(0xd, 0, a, b, c, d);
    if (b < 576)
        return;
    green__divert_fpu_size = b;
    green__divert_xsave = 1;
}

void green_divert(void *ucontext, void (*fn)(struct green_regs *regs, void *arg), void *arg)
{
    ucontext_t *uc = ucontext;
    greg_t *g = uc->uc_mcontext.gregs;
    uintptr_t zone = (uintptr_t)g[REG_RSP] - RED_ZONE, frame = (uintptr_t)uc - 8, sp;
    uint64_t *stash;
    if (frame < zone && zone - frame < 65536) {
        /* The signal frame (pretcode, then uc) lies below the red zone. */
        stash = (uint64_t *)uc->uc_mcontext.__reserved1;
        sp = (frame - 64) & ~(uintptr_t)15;
    } else {
        stash = (uint64_t *)((zone - 8 * S_WORDS - 8) & ~(uintptr_t)15);
        sp = (uintptr_t)stash;
    }
    stash[S_RAX] = (uint64_t)g[REG_RAX];
    stash[S_RIP] = (uint64_t)g[REG_RIP];
    stash[S_RSP] = (uint64_t)g[REG_RSP];
    stash[S_FN] = (uint64_t)(uintptr_t)fn;
    stash[S_ARG] = (uint64_t)(uintptr_t)arg;
    g[REG_RAX] = (greg_t)(uintptr_t)stash;
    g[REG_RSP] = (greg_t)sp;
    g[REG_RIP] = (greg_t)(uintptr_t)green__divert_trampoline;
}
