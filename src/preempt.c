/* preempt.c: time slices, so that no green thread starves the others.
 *
 * A CPU-time timer of the scheduler's OS thread (it only runs while that
 * thread computes, so a blocked system call is never interrupted by it)
 * ticks every slice, as a kernel's scheduler tick (with a wall-clock one
 * while the OS thread stays busy, see below): a tick that finds the
 * same green thread running as that timer's tick before, with no switch in
 * between, ends its slice (so a thread computes one to two slices
 * before it is preempted; the timer's resolution is the kernel's tick
 * anyway). Then, when the interrupted instruction
 * is at a safe point, green_divert makes it yield at once, outside the
 * handler; when not, the next tick or the next yield point (an
 * interposed call that could have blocked but did not) does it.
 *
 * Safe point: not while the core runs (green__in_core, the loop), not
 * while more green threads than one cannot exist anyway, and never with
 * the interrupted instruction inside an object that may hold locks
 * libgreen cannot see or that is not re-entrant: libc (and its parts),
 * the dynamic loader, libgreen itself (every interposer), libev,
 * libstdc++ and libgcc_s. Their text ranges are read once at start and
 * again after an instruction is found outside every object known (a
 * library loaded later, or generated code: both count as safe). The
 * program's own handlers run with the tick signal blocked (the layer
 * above adds it to their masks), and code on the alternate signal stack
 * (a fault handler) is never preempted.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "internal.h"
/* After ev.h: elf.h defines EV_NONE and EV_CURRENT as macros. */
#include <link.h>

volatile int green__slice_due;

/* The CPU-time timer, and a wall-clock one that runs only from a tick
 * of the first until the loop has nothing to do: on a loaded machine the
 * OS thread gets little CPU, and CPU-time slices alone would last many
 * times longer in wall-clock time than the kernel's. */
enum { CPU, WALL };
static int timers[2];
static bool have_timer, armed[2];
bool green__slice_wall;

#define MAX_RANGES 96
struct range {
    uintptr_t lo, hi;
    bool safe;
};
static struct range ranges[MAX_RANGES];
static volatile int nranges;
static volatile int rescan_wanted;
/* Valgrind's own signal frames do not take an edited context well: under
 * it threads are switched at yield points only. */
static bool no_divert;
static int64_t last_scan;
/* The lowest address main's stack may reach (its rlimit, at most 1 GiB). */
extern void *__libc_stack_end;
static uintptr_t main_stack_lo;

/* Objects whose code may hold locks libgreen does not see, or is ours. */
static bool unsafe_object(const char *path, const struct dl_phdr_info *info)
{
    /* The vDSO too: libc and libgreen call its clock_gettime while the
     * core's state is half updated (green__block reads the clock after
     * marking the thread blocked). */
    static const char *const names[] = {"libc.so",     "ld-linux", "ld64.so",    "libpthread.so",
                                        "libdl.so",    "librt.so", "libev.so",   "libstdc++.so",
                                        "libgcc_s.so", "libgreen", "linux-vdso", "linux-gate"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(base, names[i], strlen(names[i])))
            return true;
    /* libgreen under another name, or linked into the program (tests). */
    uintptr_t me = (uintptr_t)unsafe_object;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && me >= lo && me < lo + p->p_memsz)
            return !!*path; /* the main program itself stays preemptible */
    }
    return false;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    int *n = data;
    bool safe = !unsafe_object(info->dlpi_name ? info->dlpi_name : "", info);
    for (int i = 0; i < info->dlpi_phnum && *n < MAX_RANGES; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_LOAD && (p->p_flags & PF_X)) {
            uintptr_t lo = info->dlpi_addr + p->p_vaddr;
            ranges[(*n)++] = (struct range){lo, lo + p->p_memsz, safe};
        }
    }
    return 0;
}

/* In normal context, with green__in_core set: the handler then reads
 * no range. */
static void scan(void)
{
    int n = 0;
    nranges = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    dl_iterate_phdr(add_object, &n);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    nranges = n;
    rescan_wanted = 0;
    last_scan = green_now();
}

bool green__safe_pc(uintptr_t pc)
{
    for (int i = 0; i < nranges; i++)
        if (pc >= ranges[i].lo && pc < ranges[i].hi)
            return ranges[i].safe;
    rescan_wanted = 1;
    return true;
}

/* Is sp on the running thread's stack? Not halfway through a switch:
 * green__current is the next thread already (sched.c, switch_to) while
 * the processor still runs on the last one's stack. (Code on a stack of
 * its own making, swapcontext's, then ends its slices at yield points.) */
static bool on_own_stack(uintptr_t sp)
{
    const green_thread *t = green__current;
    if (!t->stack.base) /* main, on the process's stack */
        return sp >= main_stack_lo && sp <= (uintptr_t)__libc_stack_end;
    uintptr_t lo = (uintptr_t)t->stack.base + t->stack.guard;
    return sp >= lo && sp < lo + t->stack.size;
}

/* May the code interrupted with uc switch to another green thread now? */
bool green__safe_point(void *ucv)
{
    ucontext_t *uc = ucv;
    /* On the alternate signal stack, a handler runs (a fault's, say):
     * another thread's signal would reuse that stack from its top. */
    return green__current && green__current->state == T_RUNNING && !green__in_core &&
           !green__s.in_loop && !no_divert && !(uc->uc_stack.ss_flags & SS_ONSTACK) &&
           on_own_stack((uintptr_t)uc->uc_mcontext.gregs[REG_RSP]) &&
           green__safe_pc((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]);
}

static void preempted(struct green_regs *regs, void *arg)
{
    (void)regs, (void)arg;
    green_yield_point();
}

static void set_timer(int which, unsigned ms)
{
    struct itimerspec its = {{ms / 1000, (long)(ms % 1000) * 1000000},
                             {ms / 1000, (long)(ms % 1000) * 1000000}};
    armed[which] = ms != 0;
    if (which == WALL)
        green__slice_wall = ms != 0;
    syscall(SYS_timer_settime, timers[which], 0, &its, NULL);
}

/* Has the running thread used a whole slice? Only when no switch came
 * between the last tick of this timer and this one (each timer ticks a
 * slice apart; the other's ticks fall anywhere in between): a thread
 * switched in since ran for less (the kernel too preempts only a task
 * that used its share).
 * Threads that run briefly and block are never preempted so, which
 * matters when they hold a lock others then queue for: CPython's GIL
 * holder preempted at every tick put 10,000 threads in a convoy. */
static bool slice_used(int which)
{
    static uint64_t seen[2];
    uint64_t now = green__stats.switches;
    bool used = now == seen[which];
    seen[which] = now;
    return used;
}

static void on_tick(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    if (si->si_code != SI_TIMER)
        return; /* not ours */
    int e = errno;
    if (green__s.live < 2 && !green__s.runq.head) {
        set_timer(CPU, 0); /* nobody to share with: rearmed by the next spawn */
        if (armed[WALL])
            set_timer(WALL, 0);
    } else if (green__current && !green__s.in_loop) {
        if (si->si_value.sival_int == CPU && !armed[WALL])
            set_timer(WALL, green__s.cfg.slice_ms);
        if (slice_used(si->si_value.sival_int == WALL ? WALL : CPU)) {
            green__slice_due = 1;
            if (green__safe_point(uc))
                green_divert(uc, preempted, NULL);
        }
    }
    errno = e;
}

void green__slice_arm(void)
{
    if (have_timer && !armed[CPU])
        set_timer(CPU, green__s.cfg.slice_ms);
}

void green__slice_idle(void)
{
    set_timer(WALL, 0);
}

static int make_timers(void)
{
    /* The kernel's timer ids, not glibc's timer_t wrappers: raw calls. */
    static const clockid_t clocks[2] = {CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC};
    for (int i = 0; i < 2; i++) {
        struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID,
                               .sigev_signo = GREEN_SLICE_SIGNAL,
                               .sigev_value.sival_int = i};
        sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (syscall(SYS_timer_create, clocks[i], &sev, &timers[i]) < 0) {
            if (i)
                syscall(SYS_timer_delete, timers[0]);
            return -errno;
        }
        armed[i] = false;
    }
    green__slice_wall = false;
    have_timer = true;
    return 0;
}

int green__slice_init(void)
{
    bool was = green__in_core;
    no_divert = RUNNING_ON_VALGRIND;
    struct rlimit rl;
    size_t max = (size_t)1 << 30;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur < max)
        max = rl.rlim_cur;
    main_stack_lo = (uintptr_t)__libc_stack_end - max;
    green__in_core = true;
    scan();
    green__in_core = was;
    if (!green__s.cfg.slice_ms)
        return 0;
    struct sigaction sa = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    int r = green__sigaction(GREEN_SLICE_SIGNAL, &sa);
    return r < 0 ? r : make_timers();
}

/* Timers are not inherited across fork. */
void green__slice_fork_child(void)
{
    if (have_timer) {
        have_timer = false;
        make_timers();
        if (green__s.live > 1)
            green__slice_arm();
    }
}

void green_yield_point(void)
{
    if (__builtin_expect(!green__slice_due, 1) || !green__current || green__in_core)
        return;
    green__slice_due = 0;
    if (rescan_wanted && green_now() - last_scan > 100 * 1000000) {
        green__in_core = true;
        scan();
        green__in_core = false;
    }
    green__preempt();
}
