/* diag.c: what libgreen tells an operator without a debugger: where each
 * green thread waits, statistics, a trace of suspensions, the dump on a
 * signal and the watchdog.
 *
 * "Where" costs nothing while threads run: a blocked thread's frames are
 * intact on its stack, and libgreen is built with frame pointers, so the
 * frame chain from the rbp saved in its fcontext leads out of libgreen.
 * The last return address inside libgreen names the interposed call
 * (read, pthread_mutex_lock...), the first one outside it is the
 * program's call site. The walk never follows a frame outside libgreen,
 * whose code may have no frame pointers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
/* After ev.h: elf.h defines EV_NONE and EV_CURRENT as macros. */
#include <link.h>

extern void *__libc_stack_end;

static uintptr_t text_lo, text_hi; /* libgreen's executable segment */
static int stats_fd = -1, trace_fd = -1;
static ev_async dump_async;
static volatile sig_atomic_t dump_requested;
static int64_t started;

/* ---- where a thread is ------------------------------------------------ */

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    uintptr_t me = (uintptr_t)find_text;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && me >= lo && me < lo + p->p_memsz) {
            text_lo = lo;
            text_hi = lo + p->p_memsz;
            return 1;
        }
    }
    return 0;
}

static bool ours(const void *pc)
{
    return (uintptr_t)pc >= text_lo && (uintptr_t)pc < text_hi;
}

int green_owns_pc(const void *pc)
{
    if (!text_hi)
        dl_iterate_phdr(find_text, NULL);
    return ours(pc);
}

void green_text_range(uintptr_t *lo, uintptr_t *hi)
{
    if (!text_hi)
        dl_iterate_phdr(find_text, NULL);
    *lo = text_lo;
    *hi = text_hi;
}

static char *stack_top(const green_thread *t)
{
    if (t->stack.base)
        return t->stack.base + t->stack.guard + t->stack.size;
    return __libc_stack_end;
}

/* Walk the frames from fp: *call gets the last return address inside
 * libgreen, *site the first outside it (NULL when not found). Every frame
 * read must lie on t's stack: a thread that never ran has no chain. */
static void walk(const green_thread *t, void **fp, void **call, void **site)
{
    char *top = stack_top(t), *lo = t->stack.base ? t->stack.base + t->stack.guard : NULL;
    *call = *site = NULL;
    for (int depth = 0; fp && depth < 64; depth++) {
        if ((char *)fp >= top - 2 * sizeof(void *) || (lo && (char *)fp < lo) ||
            ((uintptr_t)fp & 7))
            return;
        void *ret = fp[1];
        if (!ours(ret)) {
            *site = ret;
            return;
        }
        *call = ret;
        void **next = fp[0];
        if (next <= fp || (char *)next >= top)
            return;
        fp = next;
    }
}

void green__where(const green_thread *t, void **call, void **site)
{
    void **fp;
    if (t == green__current)
        fp = green__s.in_loop ? green__s.loop_fp : __builtin_frame_address(0);
    else if (t->state == T_BLOCKED || t->state == T_READY)
        fp = ((void ***)t->ctx)[6]; /* rbp as jump_fcontext saved it */
    else
        fp = NULL;
    void **ctx = t->ctx;
    if (fp && t != green__current && ctx[7] == (void *)green__yield_resume) {
        /* Suspended in green_yield, which has no frame: its caller's
         * return address lies above jump_fcontext's. */
        if (!ours(ctx[8])) {
            *call = ctx[7];
            *site = ctx[8];
            return;
        }
    }
    walk(t, fp, call, site);
}

/* "read", "handle_client+0x4c (./server)" */
static void name_call(void *pc, char *buf, size_t len)
{
    Dl_info di;
    if (pc && dladdr(pc, &di) && di.dli_sname)
        snprintf(buf, len, "%s", di.dli_sname);
    else
        snprintf(buf, len, "?");
}

void green__name_site(void *pc, char *buf, size_t len)
{
    Dl_info di;
    if (!pc || !dladdr(pc, &di)) {
        snprintf(buf, len, "%p", pc);
        return;
    }
    const char *obj = di.dli_fname && *di.dli_fname ? di.dli_fname : "?";
    if (di.dli_sname)
        snprintf(buf, len, "%s+0x%lx (%s)", di.dli_sname,
                 (unsigned long)((char *)pc - (char *)di.dli_saddr), obj);
    else
        snprintf(buf, len, "0x%lx (%s)", (unsigned long)((char *)pc - (char *)di.dli_fbase), obj);
}

void green__describe_where(const green_thread *t, char *buf, size_t len)
{
    void *call, *site;
    char c[64], s[192];
    green__where(t, &call, &site);
    if (!call && !site) {
        buf[0] = '\0';
        return;
    }
    name_call(call, c, sizeof c);
    green__name_site(site, s, sizeof s);
    snprintf(buf, len, "in %s, called from %s", c, s);
}

/* ---- statistics --------------------------------------------------------- */

struct green_stats green__stats;

static const char *const kind_names[W_KINDS] = {
    [W_NONE] = "other",
    [W_SLEEP] = "sleep",
    [W_FD] = "fd",
    [W_POLL] = "poll",
    [W_MUTEX] = "mutex",
    [W_COND] = "condition",
    [W_SEM] = "semaphore",
    [W_JOIN] = "join",
    [W_RWLOCK_RD] = "rwlock read",
    [W_RWLOCK_WR] = "rwlock write",
    [W_BARRIER] = "barrier",
    [W_ONCE] = "once",
    [W_OFFLOAD] = "helper thread",
    [W_SIGNAL] = "signal",
    [W_FUTEX] = "futex",
};

static const char *kind_name(int kind)
{
    return kind >= 0 && kind < W_KINDS && kind_names[kind] ? kind_names[kind] : "other";
}

/* Deepest use of a stack, from the lowest page the kernel has resident. */
size_t green__stack_depth(const struct green_stack *st)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = st->size / page;
    unsigned char *vec = malloc(n);
    if (!vec)
        return 0;
    size_t depth = 0;
    if (mincore(st->base + st->guard, st->size, vec) == 0)
        for (size_t i = 0; i < n; i++)
            if (vec[i] & 1) {
                depth = st->size - i * page;
                break;
            }
    free(vec);
    return depth;
}

static void out(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(int fd, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = sizeof buf - 1;
    for (int off = 0; n > off;) {
        long w = syscall(SYS_write, fd, buf + off, n - off);
        if (w <= 0)
            return;
        off += (int)w;
    }
}

void green_stats_print(int fd)
{
    const struct green_stats *s = &green__stats;
    out(fd, "libgreen: stats after %.3f s\n", (double)(green_now() - started) / 1e9);
    out(fd, "libgreen:   green threads  %lu created, %lu at peak, %lu live\n", green__s.next_id,
        s->peak, green__s.live);
    out(fd, "libgreen:   switches       %llu\n", (unsigned long long)s->switches);
    out(fd, "libgreen:   preemptions    %llu\n", (unsigned long long)s->preempted);
    out(fd, "libgreen:   deepest stack  %zu KiB used (of %zu KiB)\n", s->deepest / 1024,
        green__s.cfg.stack_size / 1024);
    out(fd, "libgreen:   offloaded      %llu calls\n", (unsigned long long)s->offloaded);
    if (s->net_on)
        out(fd, "libgreen:   syscall net    on: %llu calls caught, %llu waited green\n",
            s->net_caught, s->net_waited);
    else
        out(fd, "libgreen:   syscall net    off: %s\n", s->net_why ? s->net_why : "not started");
    out(fd, "libgreen:   %-22s %12s %14s\n", "suspended on", "count", "time blocked");
    for (int k = 0; k < W_KINDS; k++)
        if (s->suspended[k])
            out(fd, "libgreen:     %-20s %12llu %12.3f s\n", kind_name(k),
                (unsigned long long)s->suspended[k], (double)s->blocked_ns[k] / 1e9);
    if (s->ncalls)
        out(fd, "libgreen:   %-22s %12s %14s\n", "suspended in", "count", "time blocked");
    for (size_t i = 0; i < s->ncalls; i++)
        out(fd, "libgreen:     %-20s %12llu %12.3f s\n", s->calls[i].name,
            (unsigned long long)s->calls[i].count, (double)s->calls[i].blocked_ns / 1e9);
}

unsigned char green__net_sel;

unsigned char *green_net_selector(void)
{
    return &green__net_sel;
}

void green_net_state(int on, const char *why)
{
    green__stats.net_on = on;
    green__stats.net_why = why;
}

void green_net_count(int waited)
{
    green__stats.net_caught++;
    green__stats.net_waited += waited != 0;
}

/* Count a suspension under the interposed call that made it. */
static void count_call(void *call, int64_t ns)
{
    struct green_stats *s = &green__stats;
    Dl_info di;
    void *fn = call && dladdr(call, &di) && di.dli_saddr ? di.dli_saddr : NULL;
    if (!fn)
        return;
    for (size_t i = 0; i < s->ncalls; i++)
        if (s->calls[i].fn == fn) {
            s->calls[i].count++;
            s->calls[i].blocked_ns += ns;
            return;
        }
    if (s->ncalls < sizeof s->calls / sizeof s->calls[0])
        s->calls[s->ncalls++] = (struct green_call_stats){
            .fn = fn, .name = di.dli_sname ? di.dli_sname : "?", .count = 1, .blocked_ns = ns};
}

/* After each suspension (from green__block, on the thread's own stack,
 * with its frames intact). */
void green__diag_resumed(green_thread *t, int64_t since)
{
    int64_t now = green_now(), ns = now - since;
    struct green_stats *s = &green__stats;
    int kind = t->wait_kind < W_KINDS ? t->wait_kind : W_NONE;
    s->suspended[kind]++;
    s->blocked_ns[kind] += ns;
    void *call, *site;
    walk(t, __builtin_frame_address(0), &call, &site);
    count_call(call, ns);
    if (trace_fd >= 0) {
        char c[64], what[160];
        name_call(call, c, sizeof c);
        green__describe_wait(t, what, sizeof what);
        out(trace_fd, "%.6f thread %lu %s %s %.6f\n", (double)(now - started) / 1e9, t->id, c, what,
            (double)ns / 1e9);
    }
}

/* ---- files, dump signal, exit ------------------------------------------ */

/* Opened through libc while the core makes its own fds (green_init): the
 * layer above may move them out of the program's way. */
static int open_log(const char *path)
{
    int fd = green__libc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static void dump_now(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    dump_requested = 0;
    green__say("libgreen: dump of %lu green threads (signal %d):", green__s.live,
               green__s.cfg.dump_signal);
    green_dump(2);
    if (green__s.cfg.stats)
        green_stats_print(stats_fd >= 0 ? stats_fd : 2);
}

/* Runs where a spinning thread was interrupted (see on_dump_signal). */
static void dump_diverted(struct green_regs *regs, void *arg)
{
    (void)regs, (void)arg;
    if (!dump_requested)
        return; /* the loop has printed it meanwhile */
    bool was = green__in_core;
    green__in_core = true; /* no preemption, interposers pass through */
    dump_now(green__s.loop, &dump_async, 0);
    green__in_core = was;
}

/* Async-signal-safe: the dump runs in the loop, between threads, or,
 * when the signal interrupts a thread at a safe point (one that spins,
 * say), right there once the handler has returned. */
static void on_dump_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    int e = errno;
    if (!dump_requested) {
        dump_requested = 1;
        ev_async_send(green__s.loop, &dump_async);
        if (green__safe_point(uc))
            green_divert(uc, dump_diverted, NULL);
    }
    errno = e;
}

static void stats_at_exit(void)
{
    if (green__s.main)
        green_stats_print(stats_fd >= 0 ? stats_fd : 2);
}

int green__diag_init(void)
{
    const struct green_config *c = &green__s.cfg;
    started = green_now();
    dl_iterate_phdr(find_text, NULL);
    if (c->stats_path && (stats_fd = open_log(c->stats_path)) < 0)
        return stats_fd;
    if (c->trace_path && (trace_fd = open_log(c->trace_path)) < 0)
        return trace_fd;
    if (c->stats)
        atexit(stats_at_exit);
    if (c->dump_signal) {
        ev_async_init(&dump_async, dump_now);
        ev_async_start(green__s.loop, &dump_async);
        ev_unref(green__s.loop);
        struct sigaction sa = {.sa_sigaction = on_dump_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
        sigemptyset(&sa.sa_mask);
        int r = green__sigaction(c->dump_signal, &sa);
        if (r < 0)
            return r;
    }
    int r = green__slice_init();
    if (r < 0)
        return r;
    return c->watchdog_ms ? green__watchdog_start(c->watchdog_ms) : 0;
}
