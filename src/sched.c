/* sched.c: the run queue, the switch, and the event loop behind them.
 *
 * There is no scheduler context: a thread that stops running picks the
 * next ready thread and jumps straight to it (one jump per switch). When
 * nothing is ready, the stopping thread runs the libev loop on its own
 * stack until a callback makes some thread ready; callbacks only queue
 * threads, they never switch, so the loop is never re-entered.
 *
 * fcontext hands the suspended context to the resumed side, so every
 * resume point starts with resumed(): it stores the context of the thread
 * we came from and frees that thread's stack if it has exited.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "kick.h"
#include "san.h"

/* A thread that yields in a loop must not starve the threads waiting on
 * events: poll the loop without blocking once per this many switches. */
#define POLL_EVERY 256

struct green_sched green__s;
__thread green_thread *green__current __attribute__((tls_model("initial-exec")));
__thread bool green__in_core __attribute__((tls_model("initial-exec")));

struct green_libc green__libc;
/* libc_plain.c, linked only into programs that use the core directly. */
extern const struct green_libc green__libc_plain __attribute__((weak, visibility("hidden")));

static green_thread main_thread;

/* Each member from the caller's table, else libc's own when linked in. */
static int libc_setup(const struct green_libc *given)
{
    const struct green_libc *plain = &green__libc_plain, none = {0};
    const struct green_libc *l = given ? given : &none, *d = plain ? plain : &none;
    green__libc = (struct green_libc){
        .sigaction = l->sigaction ? l->sigaction : d->sigaction,
        .open = l->open ? l->open : d->open,
        .pthread_create = l->pthread_create ? l->pthread_create : d->pthread_create,
        .nanosleep = l->nanosleep ? l->nanosleep : d->nanosleep,
        .fstat = l->fstat ? l->fstat : d->fstat,
        .readdir = l->readdir ? l->readdir : d->readdir,
    };
    return green__libc.sigaction && green__libc.open && green__libc.pthread_create &&
                   green__libc.nanosleep && green__libc.fstat && green__libc.readdir
               ? 0
               : -EINVAL;
}

int green_init(const struct green_config *cfg)
{
    if (green__s.main)
        return -EALREADY;
    struct green_config c = cfg ? *cfg : (struct green_config){0};
    if (c.stack_size && c.stack_size < GREEN_STACK_MIN)
        return -EINVAL;
    if (c.deadlock != GREEN_DEADLOCK_ABORT && c.deadlock != GREEN_DEADLOCK_HANG)
        return -EINVAL;
    if (c.helpers > GREEN_HELPERS_MAX)
        return -EINVAL;
    if (c.tls < GREEN_TLS_AUTO || c.tls > GREEN_TLS_SHARED)
        return -EINVAL;
    int r = libc_setup(c.libc);
    if (r < 0)
        return r;
    r = green__stack_setup();
    if (r < 0)
        return r;
    /* Our own loop: the program may use libev's default loop itself. */
    unsigned flags = EVFLAG_NOENV | EVFLAG_NOSIGMASK;
    green__s.loop = ev_loop_new(flags | EVBACKEND_EPOLL);
    if (!green__s.loop)
        green__s.loop = ev_loop_new(flags);
    if (!green__s.loop)
        return -ENOMEM;
    green__in_core = true;
    green__foreign_init();
    green__in_core = false;
    green__s.cfg = c;
    if (!green__s.cfg.stack_size)
        green__s.cfg.stack_size = green__stack_default();

    green_thread *t = &main_thread;
    t->id = ++green__s.next_id;
    t->tid = green__tid();
    t->state = T_RUNNING;
    green_thread_set_name(t, "main");
    green__timer_init(t);
    green__s.main = t;
    green__tls_setup(t);
    green__s.all = t;
    green__s.live = 1;
    green__current = green__s.running = t;
    green__s.errno_at = &errno; /* shared TLS: one errno for all */
    green__signal_init();
    green__s.diag = c.stats || c.trace_path;
    green__stats.peak = 1;
    green__in_core = true;
    r = green__diag_init();
    green__in_core = false;
    return r;
}

int green_can_block(void)
{
    return green__current && !green__in_core;
}

int green_others_exist(void)
{
    return green__s.live > 1 || green__s.runq.head;
}

int green_worth_waiting(void)
{
    return green__current && !green__in_core && (green__s.live > 1 || green__s.runq.head);
}

green_thread *green_self(void)
{
    return green__current;
}

void green__ready(green_thread *t)
{
    t->state = T_READY;
    t->run_next = NULL;
    green__s.runq.len++;
    if (green__s.runq.tail)
        green__s.runq.tail->run_next = t;
    else
        green__s.runq.head = t;
    green__s.runq.tail = t;
}

static green_thread *runq_pop(void)
{
    green_thread *t = green__s.runq.head;
    if (t) {
        green__s.runq.len--;
        green__s.runq.head = t->run_next;
        if (!green__s.runq.head)
            green__s.runq.tail = NULL;
    }
    return t;
}

/* The loop runs on the stopping thread, in its TLS: keep its errno. */
static void poll_loop(int flags)
{
    int saved_errno = errno;
    unsigned char net = green__net_open();
    green__in_core = true;
    green__fd_prepare();
    green__s.in_loop = true;
    green__s.polling = flags & EVRUN_NOWAIT;
    green__s.loop_fp = __builtin_frame_address(0);
    ev_run(green__s.loop, flags);
    green__s.poll_round = green__s.runq.len;
    green__s.in_loop = false;
    green__in_core = false;
    green__net_close(net);
    errno = saved_errno;
}

/* Nothing is ready: wait for an event. When no blocked thread can be
 * woken from outside, only a foreign OS thread could still help; with
 * none, this is a deadlock. */
static void wait_for_events(void)
{
    int saved_errno = errno;
    green__s.polls_skipped = 0;
    if (green__slice_wall)
        green__slice_idle(); /* no slice to end while nothing runs */
    if (green__s.outside) {
        poll_loop(EVRUN_ONCE);
        errno = saved_errno;
        return;
    }
    unsigned char net = green__net_open();
    green__in_core = true;
    bool foreign = green__foreign_may_post();
    green__in_core = false;
    if (!foreign)
        green__deadlock();
    green__in_core = true;
    green__fd_prepare();
    green__foreign_wait();
    green__in_core = false;
    green__net_close(net);
    errno = saved_errno;
}

/* Is the switch about to be made the one that polls the loop? At most
 * once per round of the run queue: each poll reports again every fd
 * whose woken thread has not run yet, so polling more often than that
 * costs work quadratic in the ready threads. The round is the queue as
 * the last poll left it (the queue shrinks as it runs: its length now
 * would make the rounds halves). */
static inline bool round_over(unsigned schedules)
{
    return schedules >= green__s.poll_round;
}

static inline bool poll_due(void)
{
    unsigned n = green__s.polls_skipped + 1;
    return n >= POLL_EVERY && round_over(n);
}

/* The next thread to run; runs the loop until there is one. */
static green_thread *next_ready(void)
{
    /* Poll only when some thread waits on an event or a foreign thread
     * posted work: a run of yields costs no system call otherwise. */
    if (green__s.runq.head && !poll_due()) {
        green__s.polls_skipped++;
    } else if (green__s.runq.head) {
        green__s.polls_skipped = 0;
        if (green__s.outside || green__foreign_pending())
            poll_loop(EVRUN_NOWAIT);
    }
    while (!green__s.runq.head)
        wait_for_events();
    return runq_pop();
}

/* ---- the switch ------------------------------------------------------------
 * jump_fcontext saves the registers in the JUMP_FRAME bytes below the
 * return address it is entered with; that place is the context, and the
 * resumed side goes on at its saved return address by an indirect jump,
 * never a ret. Two things follow.
 *
 * - A switching thread knows its context before it jumps and stores it
 *   itself: the side resumed need not, so it may be anywhere, even
 *   straight back in the program (below).
 * - A call to jump_fcontext would leave on the processor's return stack
 *   an address that no ret takes off: every ret after a switch would be
 *   mispredicted (half of a green switch's cost, measured). So it is
 *   entered by a jump with the return address pushed by hand. And
 *   green_yield (the asm below) enters it with its own caller's return
 *   address on the stack: a yield then resumes the program with one
 *   indirect jump and no ret at all, since the program calls yield from
 *   places a return stack cannot predict across threads.
 *
 * An exited thread's stack can only go once nobody runs on it, and the
 * thread resumed may be in the program: it is reaped at the next switch
 * or join (green__reap_dead). */
#define JUMP_FRAME 0x38
#define STR_(x) #x
#define STR(x) STR_(x)

/* jump_fcontext's contract broken (another boost): say so, as the
 * contexts stored by hand would be wrong. */
static void frame_unknown(void)
{
    green__say("libgreen: jump_fcontext does not keep a %d-byte frame; cannot switch", JUMP_FRAME);
    abort();
}

/* In the running thread, maybe on its way back to the program: its
 * errno, already in place, must survive the stack's release. */
void green__reap_dead(void)
{
    green_thread *t = green__s.dead;
    if (t) {
        int saved_errno = errno;
        green__s.dead = NULL;
        green__thread_reap(t);
        errno = saved_errno;
    }
}

/* Every thread resumed by a switch made in C starts here: check that the
 * context stored by hand is the one jump_fcontext made. */
static void resumed(transfer_t from)
{
    green_thread *prev = from.data;
    san_switch_end(prev);
    if (__builtin_expect(prev->ctx != from.fctx, 0))
        frame_unknown();
    green__reap_dead();
}

void green__thread_started(transfer_t from)
{
    resumed(from);
}

/* Everything a switch changes but the stack: next runs from here on.
 * With shared TLS, errno is one place: swap the threads' values now.
 * From here until the jump, green__current is next, running, but the
 * processor is still on self's stack: the slice timer's safe point
 * tells by the stack pointer (preempt.c). */
static inline void switch_to(green_thread *self, green_thread *next)
{
    next->state = T_RUNNING;
    green__stats.switches++;
    green__slice_due = 0;
    green__s.running = next;
    if (green__tls.on) {
        green__tls_set(next->tp);
        return;
    }
    self->errno_saved = *green__s.errno_at;
    *green__s.errno_at = next->errno_saved;
    green__current = next;
}

/* Store self's context, resume `to` (it gets self as data). Below the
 * red zone, which the compiler may use; frames are found through rbp
 * (-fno-omit-frame-pointer), so the moved stack pointer needs no CFI. */
static inline __attribute__((always_inline)) transfer_t jump(fcontext_t to, green_thread *self)
{
    void *fctx, *data;
    fcontext_t *save = &self->ctx;
    /* clang-format off */
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "lea 1f(%%rip), %%rax\n\t"
                     "push %%rax\n\t"
                     "lea -" STR(JUMP_FRAME) "(%%rsp), %%rax\n\t"
                     "mov %%rax, (%%rcx)\n\t"
                     "jmp jump_fcontext\n"
                     "1:\n\t"
                     "add $128, %%rsp"
                     : "=a"(fctx), "=d"(data), "+D"(to), "+S"(self), "+c"(save)
                     :
                     : "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
                       "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                       "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)",
                       "st(4)", "st(5)", "st(6)", "st(7)");
    /* clang-format on */
    return (transfer_t){fctx, data};
}

void green__schedule(void)
{
    green_thread *self = green__current;
    green__reap_dead();
    green_thread *next = next_ready();
    if (next != self) {
        if (self->state == T_EXITED)
            green__s.dead = self;
        switch_to(self, next);
        san_switch_begin(next);
        resumed(jump(next->ctx, self));
    } else {
        self->state = T_RUNNING;
    }
}

/* The slow yield: nobody ready (an event may come), a poll or a reap due. */
static void yield_slowly(void)
{
    if (!green__s.runq.head && !green__s.outside && !green__foreign_pending())
        return; /* nobody to yield to */
    green__ready(green__current);
    green__schedule();
}

struct jump_to {
    fcontext_t to;
    green_thread *self;
};

/* ASan must hear of every switch on both sides (san.h), and the side a
 * short yield resumes runs no code first: sanitizer builds go the long way. */
#ifdef GREEN_SANITIZE
#define SHORT_YIELD 0
#else
#define SHORT_YIELD 1
#endif

/* green_yield's C part: store the caller's context (its jump_fcontext
 * frame will lie below sp) and say where to jump; {NULL} when there is
 * nobody to yield to, or the switch was made here, the long way. */
__attribute__((visibility("hidden"))) struct jump_to green__yield_next(char *sp);
struct jump_to green__yield_next(char *sp)
{
    green_thread *self = green__current, *next = green__s.runq.head;
    if (!SHORT_YIELD || !next || green__s.dead || poll_due()) {
        yield_slowly();
        return (struct jump_to){NULL, NULL};
    }
    green__s.polls_skipped++;
    runq_pop();
    green__ready(self);
    self->ctx = sp - JUMP_FRAME;
    switch_to(self, next);
    return (struct jump_to){next->ctx, self};
}

/* void green_yield(void), int green_sched_yield(void): returns 0. The
 * stub at green__yield_resume makes eax 0 and returns by a jump (see the
 * switch above); the stack then is as at entry, so the CFI is a plain
 * function's. */
__asm__(".text\n"
        ".globl green_yield\n"
        ".type green_yield, @function\n"
        ".globl green_sched_yield\n"
        ".type green_sched_yield, @function\n"
        ".globl green__yield_resume\n"
        ".hidden green__yield_resume\n"
        "green_yield:\n"
        "green_sched_yield:\n"
        "  .cfi_startproc\n"
        "  lea -8(%rsp), %rdi\n" /* where the stub's address will be */
        "  sub $8, %rsp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  call green__yield_next\n"
        "  add $8, %rsp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  test %rax, %rax\n"
        "  jz 1f\n"
        "  mov %rax, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  lea green__yield_resume(%rip), %rcx\n"
        "  push %rcx\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  jmp jump_fcontext\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "1:\n"
        "  ret\n"
        "green__yield_resume:\n"
        "  xor %eax, %eax\n"
        "  pop %rcx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  jmp *%rcx\n"
        "  .cfi_endproc\n"
        ".size green_yield, .-green_yield\n"
        ".size green_sched_yield, .-green_sched_yield\n");

/* The running thread has had its slice (preempt.c): poll the loop, so
 * that threads whose event came are ready too, and run after them. Not
 * before the threads the last poll found ready have run, as in
 * next_ready: a tick in a long round would report all of their fds
 * again; the thread goes behind them, and that round's end polls. */
void green__preempt(void)
{
    int saved_errno = errno;
    green__stats.preempted++;
    if (!green__s.runq.head || round_over(green__s.polls_skipped)) {
        green__s.polls_skipped = 0;
        poll_loop(EVRUN_NOWAIT);
    }
    if (green__s.runq.head) {
        green__ready(green__current);
        green__schedule();
    }
    errno = saved_errno;
}
