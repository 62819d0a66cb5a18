/* stack.c: green thread stacks and the stack overflow report.
 *
 * A stack is reserved at full size (MAP_NORESERVE) and committed page by
 * page as it is touched, so a parked thread costs the few pages it used.
 * The guard page below it is installed with MADV_GUARD_INSTALL where the
 * kernel has it (Linux 6.13+): the mapping is not split, so neighbouring
 * stacks merge into few VMAs and vm.max_map_count does not cap the thread
 * count. Older kernels get an mprotect guard (two VMAs per stack).
 *
 * Freed stacks of the default size go to a pool: the most recent ones
 * keep their pages (hot), the rest give them back (cold).
 */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#define HOT_MAX 64
#define ALTSTACK_SIZE (64 * 1024)

struct pool {
    struct green_stack *v;
    size_t n, cap;
};

static size_t page;
static bool guard_madvise = true;
static struct pool hot, cold;
static struct sigaction old_segv;

static size_t round_page(size_t n)
{
    return (n + page - 1) & ~(page - 1);
}

size_t green__stack_default(void)
{
    /* The native default: glibc derives it from RLIMIT_STACK. */
    pthread_attr_t a;
    size_t size = 8u << 20;
    if (pthread_getattr_default_np(&a) == 0) {
        pthread_attr_getstacksize(&a, &size);
        pthread_attr_destroy(&a);
    }
    return round_page(size < GREEN_STACK_MIN ? GREEN_STACK_MIN : size);
}

static void say_overflow(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    green_thread *t = green__current;
    char *a = si->si_addr;
    /* A frame larger than the guard may skip it: accept faults a little
     * below it too. */
    if (t && t->stack.base && a >= t->stack.base - 65536 &&
        a < t->stack.base + t->stack.guard) {
        /* The dump's format, on one line. */
        green__say("libgreen:   thread %lu%s%s%s: overflowed its stack of %zu KiB; "
                   "raise GREEN_STACK_SIZE (greenrun --stack-size)",
                   t->id, t->name[0] ? " \"" : "", t->name, t->name[0] ? "\"" : "",
                   t->stack.size / 1024);
    }
    /* Returning re-runs the faulting access under the previous action:
     * the process dies by SIGSEGV as natively (or the program's handler
     * runs). */
    sigaction(sig, &old_segv, NULL);
}

int green__stack_setup(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    stack_t ss = {.ss_size = ALTSTACK_SIZE};
    ss.ss_sp = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ss.ss_sp == MAP_FAILED)
        return -ENOMEM;
    stack_t old;
    /* Keep the program's alternate stack if it has one. */
    if (sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE))
        sigaltstack(&ss, NULL);
    else
        munmap(ss.ss_sp, ALTSTACK_SIZE);
    struct sigaction sa = {.sa_sigaction = say_overflow, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSEGV, &sa, &old_segv) < 0 ? -errno : 0;
}

static int guard(char *base, size_t len)
{
    if (guard_madvise) {
        if (madvise(base, len, MADV_GUARD_INSTALL) == 0)
            return 0;
        if (errno != EINVAL)
            return -errno;
        guard_madvise = false; /* older kernel */
    }
    return mprotect(base, len, PROT_NONE) < 0 ? -errno : 0;
}

/* Under valgrind, a switch to an unregistered stack looks like a huge
 * stack pointer change; registered, it is a stack switch. */
static void register_stack(struct green_stack *st)
{
    char *lo = st->base + st->guard;
    st->vg_id = VALGRIND_STACK_REGISTER(lo, lo + st->size);
}

static bool pool_push(struct pool *p, const struct green_stack *st)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct green_stack *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return false;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = *st;
    return true;
}

int green__stack_alloc(struct green_stack *st, size_t size, size_t guard_size)
{
    if (!guard_size)
        guard_size = page;
    /* Sizes near SIZE_MAX would wrap when rounded or added up. */
    if (size > SIZE_MAX / 2 || guard_size > SIZE_MAX / 2)
        return -EAGAIN;
    size = round_page(size);
    guard_size = round_page(guard_size);
    bool poolable = size == green__s.cfg.stack_size && guard_size == page;
    if (poolable && (hot.n || cold.n)) {
        *st = hot.n ? hot.v[--hot.n] : cold.v[--cold.n];
        register_stack(st);
        return 0;
    }
    /* A size the program chose is charged as glibc's stack would be, so
     * one the kernel cannot commit (64 GiB on a small machine) fails
     * with EAGAIN as natively; the default size is not charged, so
     * 100,000 threads fit even with strict overcommit. */
    int noreserve = poolable ? MAP_NORESERVE : 0;
    char *base = mmap(NULL, size + guard_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | noreserve | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return -EAGAIN;
    if (guard(base, guard_size) < 0) {
        munmap(base, size + guard_size);
        return -EAGAIN;
    }
    *st = (struct green_stack){.base = base, .size = size, .guard = guard_size, .owned = true};
    register_stack(st);
    return 0;
}

void green__stack_free(struct green_stack *st)
{
    VALGRIND_STACK_DEREGISTER(st->vg_id);
    if (st->size == green__s.cfg.stack_size && st->guard == page) {
        if (hot.n < HOT_MAX && pool_push(&hot, st))
            return;
        /* Give the touched pages back; the guard survives MADV_DONTNEED. */
        madvise(st->base + st->guard, st->size, MADV_DONTNEED);
        if (pool_push(&cold, st))
            return;
    }
    munmap(st->base, st->size + st->guard);
}
