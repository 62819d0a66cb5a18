/* test_divert.c: green_divert runs a function in the interrupted context
 * and resumes it with every register, the flags, the vector and x87
 * state and the red zone as they were (or as the function set them).
 *
 * spin_probe (assembly) loads known values into every register, fills
 * its red zone, sets CF and DF, and spins on a flag without touching the
 * flags; a helper OS thread sends SIGUSR1 until the handler finds the
 * main thread inside that loop and diverts it to a function that
 * clobbers the vector state, changes r12 and sets the flag. */
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>

#include "util.h"

struct probe {
    uint64_t in[16]; /* rax rbx rcx rdx rsi rdi rbp r8..r15 */
    uint64_t out[16];
    uint64_t flags;
    uint64_t redzone_ok;
    uint8_t xin[16][16], xout[16][16];
    uint32_t mxcsr_in, mxcsr_out;
    uint16_t fcw_in, fcw_out;
};
_Static_assert(offsetof(struct probe, out) == 128 && offsetof(struct probe, flags) == 256 &&
                   offsetof(struct probe, redzone_ok) == 264 &&
                   offsetof(struct probe, xin) == 272 && offsetof(struct probe, xout) == 528 &&
                   offsetof(struct probe, mxcsr_in) == 784 && offsetof(struct probe, fcw_in) == 792,
               "offsets used by spin_probe");
enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14, R15 };

void spin_probe(struct probe *p);
extern char spin_loop_start[], spin_loop_end[];
struct probe *probe_ptr;
volatile int spin_flag;

#define RZ(k) "  movabsq $0x5a5a5a5a00000000+" #k ", %rax\n  movq %rax, -" #k "(%rsp)\n"
#define RZCHK(k) \
    "  movabsq $0x5a5a5a5a00000000+" #k ", %rcx\n  cmpq %rcx, -" #k "(%rsp)\n  jne 9f\n"
#define LOADX(i, off) "  movdqu " #off "(%rdi), %xmm" #i "\n"
#define SAVEX(i, off) "  movdqu %xmm" #i ", " #off "(%rax)\n"
__asm__(
    ".text\n.globl spin_probe\n.type spin_probe,@function\nspin_probe:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rdi, probe_ptr(%rip)\n" LOADX(0, 272) LOADX(1, 288) LOADX(2, 304) LOADX(3, 320) LOADX(
        4, 336) LOADX(5, 352) LOADX(6, 368) LOADX(7, 384) LOADX(8, 400) LOADX(9, 416) LOADX(10, 432)
        LOADX(11, 448) LOADX(12, 464) LOADX(13, 480) LOADX(14, 496) LOADX(
            15,
            512) "  ldmxcsr 784(%rdi)\n  fldcw 792(%rdi)\n" RZ(8) RZ(16) RZ(24) RZ(32) RZ(40) RZ(48)
            RZ(56) RZ(64) RZ(72) RZ(
                80) RZ(88) RZ(96) RZ(104) RZ(112) RZ(120)
                RZ(128) "  movq 0(%rdi), %rax\n  movq 8(%rdi), %rbx\n  movq 24(%rdi), %rdx\n"
                        "  movq 32(%rdi), %rsi\n  movq 48(%rdi), %rbp\n  movq 56(%rdi), %r8\n"
                        "  movq 64(%rdi), %r9\n  movq 72(%rdi), %r10\n  movq 80(%rdi), %r11\n"
                        "  movq 88(%rdi), %r12\n  movq 96(%rdi), %r13\n  movq 104(%rdi), %r14\n"
                        "  movq 112(%rdi), %r15\n  movq 40(%rdi), %rdi\n"
                        "  stc\n  std\n"
                        ".globl spin_loop_start\nspin_loop_start:\n"
                        "  movl spin_flag(%rip), %ecx\n  jrcxz spin_loop_start\n"
                        ".globl spin_loop_end\nspin_loop_end:\n"
                        "  leaq -256(%rsp), %rsp\n" /* below the red zone, flags untouched */
                        "  pushfq\n  pushq %rax\n  movq probe_ptr(%rip), %rax\n"
                        "  movq %rbx, 136(%rax)\n  movq %rcx, 144(%rax)\n  movq %rdx, 152(%rax)\n"
                        "  movq %rsi, 160(%rax)\n  movq %rdi, 168(%rax)\n  movq %rbp, 176(%rax)\n"
                        "  movq %r8, 184(%rax)\n  movq %r9, 192(%rax)\n  movq %r10, 200(%rax)\n"
                        "  movq %r11, 208(%rax)\n  movq %r12, 216(%rax)\n  movq %r13, 224(%rax)\n"
                        "  movq %r14, 232(%rax)\n  movq %r15, 240(%rax)\n"
                        "  popq %rbx\n  movq %rbx, 128(%rax)\n  popq %rbx\n  movq %rbx, "
                        "256(%rax)\n  cld\n" SAVEX(0, 528) SAVEX(1, 544) SAVEX(
                            2, 560) SAVEX(3, 576) SAVEX(4, 592) SAVEX(5, 608) SAVEX(6, 624)
                            SAVEX(7, 640) SAVEX(8, 656) SAVEX(9, 672) SAVEX(10, 688) SAVEX(11, 704)
                                SAVEX(12, 720) SAVEX(13, 736) SAVEX(14, 752) SAVEX(
                                    15,
                                    768) "  stmxcsr 788(%rax)\n  fnstcw 794(%rax)\n"
                                         "  leaq 256(%rsp), %rsp\n" RZCHK(8) RZCHK(16) RZCHK(
                                             24) RZCHK(32) RZCHK(40)
                                             RZCHK(48) RZCHK(
                                                 56) RZCHK(64) RZCHK(72)
                                                 RZCHK(80) RZCHK(
                                                     88) RZCHK(96) RZCHK(104) RZCHK(112)
                                                     RZCHK(120)
                                                         RZCHK(
                                                             128) "  movq $1, 264(%rax)\n"
                                                                  "9:  popq %r15\n  popq %r14\n  "
                                                                  "popq %r13\n  popq %r12\n  popq "
                                                                  "%rbx\n  popq %rbp\n  ret\n"
                                                                  ".size spin_probe, "
                                                                  ".-spin_probe\n");

#define NEW_R12 0x1234abcd5678ef00ull

static void fill(struct probe *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 15; i++)
        p->in[i] = 0x0101010101010101ull * (uint64_t)(i + 1) ^ 0x8000000000000001ull;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            p->xin[i][j] = (uint8_t)(i * 16 + j + 7);
    p->mxcsr_in = 0x7f80; /* all exceptions masked, round toward zero */
    p->fcw_in = 0x0e7f;   /* x87: round toward zero, double precision */
}

static void check(const struct probe *p, uint64_t r12)
{
    static const char *names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    for (int i = 0; i < 15; i++) {
        uint64_t want = i == RCX ? 1 : i == R12 ? r12 : p->in[i];
        cr_expect_eq(p->out[i], want, "%s: %#llx, expected %#llx", names[i],
                     (unsigned long long)p->out[i], (unsigned long long)want);
    }
    cr_expect(p->flags & 1, "CF kept (flags %#llx)", (unsigned long long)p->flags);
    cr_expect(p->flags & 0x400, "DF kept (flags %#llx)", (unsigned long long)p->flags);
    cr_expect(p->redzone_ok, "the 128-byte red zone is untouched");
    for (int i = 0; i < 16; i++)
        cr_expect(!memcmp(p->xin[i], p->xout[i], 16), "xmm%d kept", i);
    cr_expect_eq(p->mxcsr_out, p->mxcsr_in, "mxcsr %#x, expected %#x", p->mxcsr_out, p->mxcsr_in);
    cr_expect_eq(p->fcw_out, p->fcw_in, "x87 control word %#x, expected %#x", p->fcw_out,
                 p->fcw_in);
}

/* ---- the signal side ------------------------------------------------------ */

static pid_t main_tid;
static volatile int stop_kicking, diverted, bad_rip;
static void (*divert_fn)(struct green_regs *, void *);
static int divert_arg = 42;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    uintptr_t pc = (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    if (pc >= (uintptr_t)spin_loop_start && pc < (uintptr_t)spin_loop_end && !spin_flag)
        green_divert(uc, divert_fn, &divert_arg);
}

static void *kicker(void *arg)
{
    (void)arg;
    struct timespec ms = {0, 1000000};
    while (!stop_kicking) {
        syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static void run_probe(struct probe *p, void (*fn)(struct green_regs *, void *), int flags)
{
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART | flags};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    divert_fn = fn;
    main_tid = (pid_t)syscall(SYS_gettid);
    pthread_t k;
    cr_assert_eq(pthread_create(&k, NULL, kicker, NULL), 0);
    spin_probe(p);
    unsigned mx = 0x1f80;
    unsigned short cw = 0x037f;
    __asm__ volatile("ldmxcsr %0\n fldcw %1" ::"m"(mx), "m"(cw)); /* the defaults again */
    stop_kicking = 1;
    pthread_join(k, NULL);
}

/* Runs on the interrupted stack, outside the handler. */
__attribute__((noinline)) void clobber(struct green_regs *r, void *arg)
{
    diverted++;
    if (r->rip < (uintptr_t)spin_loop_start || r->rip >= (uintptr_t)spin_loop_end ||
        arg != &divert_arg || (r->rflags & 0x401) != 0x401)
        bad_rip = 1;
    r->r12 = NEW_R12;
    char buf[64];
    snprintf(buf, sizeof buf, "%f", 1.0 / 3.0); /* uses the vector unit */
    __asm__ volatile("pxor %%xmm0, %%xmm0\n pcmpeqd %%xmm1, %%xmm1\n pxor %%xmm7, %%xmm7\n"
                     "pxor %%xmm8, %%xmm8\n pcmpeqd %%xmm15, %%xmm15\n" ::
                         : "xmm0", "xmm1", "xmm7", "xmm8", "xmm15");
    unsigned mx = 0x1f80;
    unsigned short cw = 0x037f;
    __asm__ volatile("ldmxcsr %0\n fldcw %1" ::"m"(mx), "m"(cw));
    spin_flag = 1;
}

Test(divert, resumes_with_every_register_flag_and_the_red_zone, .timeout = 20)
{
    static struct probe p;
    fill(&p);
    run_probe(&p, clobber, 0);
    cr_assert_geq(diverted, 1, "the diverted function ran");
    cr_expect_not(bad_rip, "it saw the interrupted rip, flags and its argument");
    check(&p, NEW_R12);
}

/* The signal frame is then on another stack than the diverted code. */
Test(divert, works_from_a_handler_on_an_alternate_stack, .timeout = 20)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    cr_assert_eq(sigaltstack(&ss, NULL), 0);
    static struct probe p;
    fill(&p);
    run_probe(&p, clobber, SA_ONSTACK);
    cr_assert_geq(diverted, 1, "the diverted function ran");
    cr_expect_not(bad_rip, "it saw the interrupted rip, flags and its argument");
    check(&p, NEW_R12);
}

/* ---- switching green threads from the diverted function ----------------- */

static void *set_flag(void *arg)
{
    (void)arg;
    __asm__ volatile("pcmpeqd %%xmm3, %%xmm3\n pxor %%xmm9, %%xmm9" ::: "xmm3", "xmm9");
    spin_flag = 1;
    return NULL;
}

static void yield_now(struct green_regs *r, void *arg)
{
    (void)r, (void)arg;
    diverted++;
    green_yield();
}

Test(divert, the_function_may_switch_green_threads, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(set_flag, NULL);
    static struct probe p;
    fill(&p);
    run_probe(&p, yield_now, 0);
    cr_assert_geq(diverted, 1, "the diverted function ran");
    check(&p, p.in[R12]);
    cr_expect_eq(join_ok(t), NULL);
}
