/* stack.c: green thread stacks and the stack overflow report.
 *
 * A stack is reserved at full size (MAP_NORESERVE) and committed page by
 * page as it is touched, so a parked thread costs the few pages it used.
 * The guard page below it is installed with MADV_GUARD_INSTALL where the
 * kernel has it (Linux 6.13+): the mapping is not split, so neighbouring
 * stacks merge into few VMAs and vm.max_map_count does not cap the thread
 * count. Older kernels get an mprotect guard (two VMAs per stack).
 *
 * Stacks of the default size come from slabs: runs of 2 MiB (what one
 * page-table page maps) or more, cut into slots, carved from regions (1
 * GiB, or 512 slabs of large stacks) that merge into one VMA. A parked thread touches the top
 * of its stack, so each 8 MiB stack costs a page-table page (4 KiB) of
 * its own. Natively the kernel stops a process near 32,768 threads
 * (vm.max_map_count: glibc's stacks take two mappings each, and often
 * pid_max); up to there default stacks have the native size, past it
 * (threads no native program could have) they are compact: 1 MiB with
 * the guard, two sharing a page-table page.
 *
 * The most recently freed stacks of each kind keep their pages (hot,
 * HOT_MAX); the others give their pages back, and a slab with no stack
 * in use gives back its page tables too: guards removed, the whole slab
 * MADV_DONTNEED (with CONFIG_PT_RECLAIM, Linux 6.14+, the kernel then
 * frees the emptied page-table pages). No VMA is split on the way.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
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
#define MADV_GUARD_REMOVE 103
#endif
#define HOT_MAX 64
#define ALTSTACK_SIZE (64 * 1024)
#define PMD_SIZE ((size_t)2 << 20) /* mapped by one page-table page */
#define REGION_SIZE ((size_t)1 << 30)
#define REGION_MAX ((size_t)64 << 30)
#define SLAB_SLOTS 64    /* at most, one bit each in a slab's mask */
#define NATIVE_MAX 32768 /* default stacks of the native size in use, at most */
#define COMPACT_SLOT ((size_t)1 << 20)

struct slab {
    char *base;
    struct kind *kind;
    struct region *region;
    unsigned live; /* slots in use, hot ones included */
    uint64_t used; /* bit i: slot i is in use */
    bool guarded;  /* the guard of every slot is installed */
    bool listed;   /* in its kind's `partial` */
};

struct region {
    struct region *next;
    size_t n, carved; /* slabs, and how many have been handed out */
    struct slab slab[];
};

/* Default stacks of one size. */
struct kind {
    size_t stack, slot, slab, slots; /* bytes, and slots per slab */
    size_t in_use;
    struct green_stack hot[HOT_MAX];
    size_t hot_n;
    struct region *regions;
    struct slab **partial; /* slabs with a free slot, the latest on top */
    size_t partial_n, partial_cap;
};

static size_t page, native_default;
static bool guard_madvise = true;
static struct kind full, compact;
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
    native_default = round_page(size < GREEN_STACK_MIN ? GREEN_STACK_MIN : size);
    return native_default;
}

static void say_overflow(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    green_thread *t = green__current;
    char *a = si->si_addr;
    /* A frame larger than the guard may skip it: accept faults a little
     * below it too. */
    if (t && t->stack.base && a >= t->stack.base - 65536 && a < t->stack.base + t->stack.guard) {
        /* The dump's format, on one line. */
        green__say("libgreen:   thread %lu%s%s%s: overflowed its stack of %zu KiB; "
                   "raise GREEN_STACK_SIZE (greenrun --stack-size)",
                   t->id, t->name[0] ? " \"" : "", t->name, t->name[0] ? "\"" : "",
                   t->stack.size / 1024);
    }
    /* Returning re-runs the faulting access under the previous action:
     * the process dies by SIGSEGV as natively (or the program's handler
     * runs). */
    green__libc.sigaction(sig, &old_segv, NULL);
}

int green__stack_setup(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    stack_t ss = {.ss_size = ALTSTACK_SIZE};
    ss.ss_sp =
        mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
    return green__libc.sigaction(SIGSEGV, &sa, &old_segv) < 0 ? -errno : 0;
}

/* madvise marked as the core: a time slice's signal often arrives as it
 * returns, and where the core is linked into the program (tests) the
 * allocator would be preempted halfway. The system call net is open
 * meanwhile (green_spawn, green__thread_reap). 0 or -errno. */
static int advise(void *addr, size_t len, int advice)
{
    bool was = green__in_core;
    green__in_core = true;
    int r = madvise(addr, len, advice) < 0 ? -errno : 0;
    green__in_core = was;
    return r;
}

static int guard(char *base, size_t len)
{
    if (guard_madvise) {
        int r = advise(base, len, MADV_GUARD_INSTALL);
        if (r != -EINVAL)
            return r;
        guard_madvise = false; /* older kernel */
    }
    return mprotect(base, len, PROT_NONE) < 0 ? -errno : 0;
}

static void unguard(char *base, size_t len)
{
    if (guard_madvise)
        advise(base, len, MADV_GUARD_REMOVE);
    else
        mprotect(base, len, PROT_READ | PROT_WRITE);
}

/* Under valgrind, a switch to an unregistered stack looks like a huge
 * stack pointer change; registered, it is a stack switch. */
static void register_stack(struct green_stack *st)
{
    char *lo = st->base + st->guard;
    st->vg_id = VALGRIND_STACK_REGISTER(lo, lo + st->size);
}

/* ---- slabs of default stacks ---------------------------------------------- */

static void kind_init(struct kind *k, size_t stack)
{
    k->stack = stack;
    k->slot = stack + page;
    /* Small slots fill 2 MiB-aligned slabs; a large one is a slab by
     * itself, its guard beside the previous stack's top (one page-table
     * page for both). */
    k->slab = k->slot > PMD_SIZE ? k->slot : PMD_SIZE;
    k->slots = k->slab / k->slot < SLAB_SLOTS ? k->slab / k->slot : SLAB_SLOTS;
}

static int list_partial(struct slab *s)
{
    struct kind *k = s->kind;
    if (s->listed)
        return 0;
    if (k->partial_n == k->partial_cap) {
        size_t cap = k->partial_cap ? 2 * k->partial_cap : 64;
        struct slab **v = realloc(k->partial, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        k->partial = v;
        k->partial_cap = cap;
    }
    k->partial[k->partial_n++] = s;
    s->listed = true;
    return 0;
}

/* len bytes of address space, at a 2 MiB boundary if aligned, or NULL.
 * The kernel places a mapping just below the previous one, so the exact
 * size is aligned already after the first region and the regions merge
 * into one VMA; otherwise map more and trim. */
static char *map_aligned(size_t len, bool aligned)
{
    int prot = PROT_READ | PROT_WRITE,
        flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK;
    char *p = mmap(NULL, len, prot, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (!aligned || ((uintptr_t)p & (PMD_SIZE - 1)) == 0)
        return p;
    munmap(p, len);
    if ((p = mmap(NULL, len + PMD_SIZE, prot, flags, -1, 0)) == MAP_FAILED)
        return NULL;
    char *base = (char *)(((uintptr_t)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
    if (base > p)
        munmap(p, (size_t)(base - p));
    munmap(base + len, (size_t)(p + PMD_SIZE - base));
    return base;
}

/* A new region of slabs of kind k; NULL when none can be had. */
static struct region *region_new(struct kind *k)
{
    /* 512 slabs of whole pages make whole 2 MiB ranges: no page-table
     * page is shared with the next region. */
    size_t n = k->slab == PMD_SIZE ? REGION_SIZE / PMD_SIZE : 512;
    if (n * k->slab > REGION_MAX)
        n = REGION_SIZE / k->slab ? REGION_SIZE / k->slab : 1;
    struct region *r = calloc(1, sizeof *r + n * sizeof r->slab[0]);
    char *base = NULL;
    /* Fewer slabs where the address space or the commit limit (strict
     * overcommit ignores MAP_NORESERVE) cannot take so many at once. */
    while (r && !(base = map_aligned(n * k->slab, n * k->slab % PMD_SIZE == 0)) && n > 1)
        n /= 2;
    if (!base) {
        free(r);
        return NULL;
    }
    size_t len = n * k->slab;
    /* A huge page would make a parked thread cost 2 MiB. */
    madvise(base, len, MADV_NOHUGEPAGE);
    r->n = n;
    for (size_t i = 0; i < n; i++)
        r->slab[i] = (struct slab){.base = base + i * k->slab, .kind = k, .region = r};
    r->next = k->regions;
    k->regions = r;
    return r;
}

/* A slab of kind k with a free slot, guards installed. */
static struct slab *slab_with_room(struct kind *k)
{
    struct slab *s = NULL;
    while (k->partial_n && !s) {
        s = k->partial[k->partial_n - 1];
        if (s->live == k->slots) { /* filled since it was listed */
            s->listed = false;
            k->partial_n--;
            s = NULL;
        }
    }
    if (!s) {
        struct region *r = k->regions;
        if ((!r || r->carved == r->n) && !(r = region_new(k)))
            return NULL;
        s = &r->slab[r->carved++];
        if (list_partial(s) < 0) {
            r->carved--;
            return NULL;
        }
    }
    for (size_t i = 0; i < k->slots && !s->guarded; i++)
        if (guard(s->base + i * k->slot, page) < 0)
            return NULL;
    s->guarded = true;
    return s;
}

static int slab_alloc(struct kind *k, struct green_stack *st)
{
    if (k->hot_n) {
        *st = k->hot[--k->hot_n];
        return 0;
    }
    struct slab *s = slab_with_room(k);
    if (!s)
        return -EAGAIN;
    unsigned i = (unsigned)__builtin_ctzll(~s->used);
    s->used |= (uint64_t)1 << i;
    s->live++;
    *st = (struct green_stack){
        .base = s->base + i * k->slot, .size = k->stack, .guard = page, .owned = true, .slab = s};
    return 0;
}

/* No stack in use or guard in slab i of r (or none carved there). */
static bool idle(const struct region *r, size_t i)
{
    return i >= r->carved || !r->slab[i].guarded;
}

/* The pages and page tables of a slab without stacks: MADV_DONTNEED
 * over whole 2 MiB ranges, taking in the ends of idle neighbours that
 * share them with it. */
static void release(const struct slab *s)
{
    const struct region *r = s->region;
    size_t i = (size_t)(s - r->slab), len = s->kind->slab;
    char *lo = s->base, *hi = s->base + len;
    char *plo = (char *)((uintptr_t)lo & ~(PMD_SIZE - 1));
    char *phi = (char *)(((uintptr_t)hi + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
    if (plo < lo && i > 0 && idle(r, i - 1))
        lo = plo;
    if (phi > hi && i + 1 < r->n && idle(r, i + 1))
        hi = phi;
    advise(lo, (size_t)(hi - lo), MADV_DONTNEED);
}

/* The pages go back; with the slab's last stack, its page tables too. */
static void slab_free(const struct green_stack *st)
{
    struct slab *s = st->slab;
    struct kind *k = s->kind;
    if (k->hot_n < HOT_MAX) {
        k->hot[k->hot_n++] = *st;
        return;
    }
    unsigned i = (unsigned)((size_t)(st->base - s->base) / k->slot);
    s->used &= ~((uint64_t)1 << i);
    if (--s->live == 0 && s->guarded) {
        for (size_t j = 0; j < k->slots; j++)
            unguard(s->base + j * k->slot, page);
        s->guarded = false;
        release(s);
    } else {
        /* The guard survives MADV_DONTNEED. */
        advise(st->base + st->guard, st->size, MADV_DONTNEED);
    }
    list_partial(s); /* without memory for the list, the slot stays unused */
}

/* Native-size default stacks up to NATIVE_MAX in use, compact ones past
 * it (when the default is native's and larger than those). */
static struct kind *kind_for_default(void)
{
    size_t size = green__s.cfg.stack_size;
    if (!full.stack) {
        kind_init(&full, size);
        if (size == native_default && size + page > COMPACT_SLOT)
            kind_init(&compact, COMPACT_SLOT - page);
    }
    return full.in_use < NATIVE_MAX || !compact.stack ? &full : &compact;
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
    if (size == green__s.cfg.stack_size && guard_size == page) {
        struct kind *k = kind_for_default();
        int r = slab_alloc(k, st);
        if (r == 0) {
            k->in_use++;
            register_stack(st);
        }
        return r;
    }
    /* A size the program chose is charged as glibc's stack would be, so
     * one the kernel cannot commit (64 GiB on a small machine) fails
     * with EAGAIN as natively. */
    char *base = mmap(NULL, size + guard_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
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
    if (st->slab) {
        st->slab->kind->in_use--;
        slab_free(st);
        return;
    }
    munmap(st->base, st->size + st->guard);
}
