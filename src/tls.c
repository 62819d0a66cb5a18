/* tls.c: each green thread's own thread-local storage.
 *
 * glibc on x86_64 keeps a thread's static TLS just below its thread
 * pointer (the %fs base) and its descriptor, struct pthread (tcbhead_t
 * first), at it. ld.so's private _dl_allocate_tls(NULL) builds both as
 * pthread_create does: every module's static TLS from its image, and a
 * dtv whose generation makes __tls_get_addr allocate the blocks of
 * modules loaded later. We fill the descriptor fields glibc reads through
 * the thread pointer; the switch moves %fs to the next thread's block
 * (wrfsbase where the kernel enables FSGSBASE, arch_prctl otherwise).
 * main keeps its own block.
 *
 * Offsets come from glibc's tables for libthread_db (_thread_db_*) and
 * the fields between them are checked against the layout we know; any
 * other libc gets one TLS shared by all green threads, said once.
 *
 * Blocks of exited threads are pooled and reused with libc's own static
 * TLS kept: glibc frees a thread's malloc cache (tcache) only from a
 * function it does not export, so the cache stays with the block and
 * serves its next thread instead of leaking. The pool is as large as the
 * most threads alive at once; the pages of a pooled block outside libc's
 * part go back to the kernel, as reuse rewrites them anyway.
 */
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
/* After ev.h: elf.h defines EV_NONE, an enumerator there. */
#include <link.h>
#include <sys/auxv.h>

#define ARCH_SET_FS 0x1002
#define HWCAP2_FSGSBASE (1u << 1)
#define HDR_MULTIPLE_THREADS 0x18
#define HDR_STACK_GUARD 0x28 /* and the pointer guard after it */
#define HDR_FEATURE_1 0x48
#define KEY_BLOCK 32 /* pthread_key_data entries in the first block */
#define RSEQ_CPU_ID 4
#define RSEQ_REGISTRATION_FAILED ((uint32_t)-2)

typedef union {
    size_t counter;
    struct {
        void *val, *to_free;
    } p;
} dtv_t;

/* glibc's, weak: a libc without them leaves these NULL and TLS shared.
 * _thread_db_* describe a field as {bits, count, offset}. */
#define WEAK __attribute__((weak))
extern void *_dl_allocate_tls(void *mem) WEAK;
extern void *_dl_allocate_tls_init(void *tcb, bool init) WEAK;
extern void __call_tls_dtors(void) WEAK;
extern void _dl_get_tls_static_info(size_t *size, size_t *align) WEAK;
extern const uint32_t _thread_db_sizeof_pthread WEAK;
extern const uint32_t _thread_db_pthread_dtvp[3] WEAK, _thread_db_pthread_list[3] WEAK,
    _thread_db_pthread_tid[3] WEAK, _thread_db_pthread_specific[3] WEAK,
    _thread_db_pthread_cancelhandling[3] WEAK;
extern const ptrdiff_t __rseq_offset WEAK;

struct green_tls green__tls;

static struct {
    size_t list, tid, specific; /* offsets in struct pthread */
    ptrdiff_t rseq;             /* -1: none */
    ptrdiff_t libc_at;          /* libc's static block, from the pointer */
    ptrdiff_t current_at;       /* green__current, from the pointer */
    size_t below;               /* static TLS below the pointer */
    size_t libc_len;
    char hdr[HDR_FEATURE_1 + 4 - HDR_MULTIPLE_THREADS]; /* main's, copied */
    void *pool;                                         /* free blocks, linked through list */
} L;

static size_t field(const uint32_t *d)
{
    return d ? d[2] : 0;
}

/* robust_prev and the 24-byte robust_head after tid, then cleanup,
 * cleanup_jmp_buf; flags and the first key block before specific. */
static const char *check_layout(void)
{
#ifndef __x86_64__
    return "only x86_64 is known";
#endif
    if (!_dl_allocate_tls || !_dl_allocate_tls_init)
        return "ld.so has no _dl_allocate_tls";
    const uint32_t *size = &_thread_db_sizeof_pthread;
    L.list = field(_thread_db_pthread_list);
    L.tid = field(_thread_db_pthread_tid);
    L.specific = field(_thread_db_pthread_specific);
    size_t cancel = field(_thread_db_pthread_cancelhandling);
    if (!size || field(_thread_db_pthread_dtvp) != 8 || L.list < HDR_FEATURE_1 + 4 ||
        L.tid != L.list + 16 || cancel != L.tid + 56 || L.specific != cancel + 8 + KEY_BLOCK * 16 ||
        *size < L.specific) {
        L.list = 0;
        return "struct pthread is not laid out as in glibc 2.36";
    }
    size_t all = 0, align;
    if (_dl_get_tls_static_info)
        _dl_get_tls_static_info(&all, &align);
    L.below = all > *size ? all - *size : 0;
    const ptrdiff_t *rseq = &__rseq_offset;
    L.rseq = rseq && *rseq > 0 && (size_t)*rseq + 8 <= *size ? *rseq : -1;
    return NULL;
}

static char *self_tp(void)
{
    char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

static int find_libc(struct dl_phdr_info *i, size_t sz, void *addr)
{
    (void)sz;
    Dl_info d;
    if (!dladdr(addr, &d) || (uintptr_t)d.dli_fbase != i->dlpi_addr || !i->dlpi_tls_data)
        return 0;
    for (int k = 0; k < i->dlpi_phnum; k++)
        if (i->dlpi_phdr[k].p_type == PT_TLS) {
            L.libc_at = (char *)i->dlpi_tls_data - self_tp();
            L.libc_len = i->dlpi_phdr[k].p_memsz;
        }
    return 1;
}

/* Does a module other than glibc's (libc, ld.so) and the one holding
 * libgreen's own TLS carry TLS? Then AUTO gives each thread its own. */
static int other_tls(struct dl_phdr_info *i, size_t sz, void *data)
{
    (void)sz;
    (void)data;
    const char *name = strrchr(i->dlpi_name, '/');
    name = name ? name + 1 : i->dlpi_name;
    if (!i->dlpi_tls_modid || !strncmp(name, "libc.so", 7) || !strncmp(name, "ld-linux", 8))
        return 0;
    for (int k = 0; k < i->dlpi_phnum; k++) {
        const ElfW(Phdr) *ph = &i->dlpi_phdr[k];
        char *lo = (char *)i->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (char *)(uintptr_t)other_tls >= lo &&
            (char *)(uintptr_t)other_tls < lo + ph->p_memsz)
            return 0; /* libgreen's module */
    }
    return 1;
}

int green__tls_setup(green_thread *main_thread)
{
    int mode = green__s.cfg.tls;
    if (mode == GREEN_TLS_AUTO)
        mode = dl_iterate_phdr(other_tls, NULL) ? GREEN_TLS_OWN : GREEN_TLS_SHARED;
    if (mode == GREEN_TLS_SHARED)
        return 0;
    const char *why = check_layout();
    if (why) {
        if (!green__s.cfg.quiet)
            green__say("libgreen: thread-local storage is shared by all green threads: %s", why);
        return 0;
    }
    dl_iterate_phdr(find_libc, (void *)malloc);
    char *tp = self_tp();
    L.current_at = (char *)&green__current - tp;
    memcpy(L.hdr, tp + HDR_MULTIPLE_THREADS, sizeof L.hdr);
    L.hdr[0] = 1; /* multiple_threads: glibc takes its atomic paths */
    green__tls.fsgsbase = getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE;
    green__tls.on = true;
    main_thread->tp = tp;
    return 0;
}

/* The descriptor fields glibc reads through the thread pointer, as
 * pthread_create sets them; tid is the OS thread's, as all run on it. */
static void fill(char *tcb)
{
    char *me = self_tp();
    memcpy(tcb, &tcb, sizeof tcb);      /* header.tcb */
    memcpy(tcb + 16, &tcb, sizeof tcb); /* header.self */
    memcpy(tcb + HDR_MULTIPLE_THREADS, L.hdr, sizeof L.hdr);
    void **list = (void **)(tcb + L.list);
    list[0] = list[1] = list; /* glibc's fork unlinks it in the child */
    memcpy(tcb + L.tid, me + L.tid, sizeof(int));
    char *robust = tcb + L.tid + 16;
    memcpy(tcb + L.tid + 8, &robust, sizeof robust); /* robust_prev */
    memcpy(robust, &robust, sizeof robust);          /* empty list */
    memcpy(robust + 8, me + L.tid + 24, 16);         /* futex_offset, pending */
    memset(robust + 16, 0, 8);
    char *first = tcb + L.specific - KEY_BLOCK * 16;
    memcpy(tcb + L.specific, &first, sizeof first);
    if (L.rseq >= 0) { /* not registered: sched_getcpu asks the kernel */
        uint32_t failed = RSEQ_REGISTRATION_FAILED;
        memcpy(tcb + L.rseq + RSEQ_CPU_ID, &failed, sizeof failed);
    }
}

/* A pooled block: drop its dynamic TLS, re-run the static images but
 * keep libc's (its malloc cache); the thread resets errno and locale. */
static void *reuse(char *tcb)
{
    dtv_t *dtv;
    memcpy(&dtv, tcb + 8, sizeof dtv);
    for (size_t i = 0; i < dtv[-1].counter; i++)
        free(dtv[1 + i].p.to_free);
    memset(dtv, 0, (dtv[-1].counter + 1) * sizeof *dtv);
    char keep[256];
    size_t n = L.libc_len <= sizeof keep ? L.libc_len : 0;
    memcpy(keep, tcb + L.libc_at, n);
    _dl_allocate_tls_init(tcb, true);
    memcpy(tcb + L.libc_at, keep, n);
    return tcb;
}

int green__tls_alloc(green_thread *t)
{
    if (!green__tls.on)
        return 0;
    char *tcb = L.pool;
    if (tcb) {
        memcpy(&L.pool, tcb + L.list, sizeof L.pool);
        t->tls_reused = true;
        reuse(tcb);
    } else {
        tcb = _dl_allocate_tls(NULL);
        if (!tcb)
            return -EAGAIN;
    }
    fill(tcb);
    /* Its own copy of green__current names it for good: the switch has
     * nothing to store. */
    memcpy(tcb + L.current_at, &t, sizeof t);
    t->tp = tcb;
    return 0;
}

static void zap(char *a, char *b)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)a + pg - 1) & ~(pg - 1), hi = (uintptr_t)b & ~(pg - 1);
    if (lo < hi)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void green__tls_free(green_thread *t)
{
    if (!t->tp || t == green__s.main)
        return;
    if (L.below && L.libc_len) {
        zap(t->tp - L.below, t->tp + L.libc_at);
        zap(t->tp + L.libc_at + L.libc_len, t->tp);
    }
    memcpy(t->tp + L.list, &L.pool, sizeof L.pool);
    L.pool = t->tp;
    t->tp = NULL;
}

void __ctype_init(void); /* glibc's, public: the ctype tables' TLS pointers */

/* A new thread starts with errno 0 and the global locale, as natively;
 * start_thread sets the ctype table pointers the same way. */
void green__tls_started(green_thread *t)
{
    if (t->tls_reused)
        uselocale(LC_GLOBAL_LOCALE);
    if (green__tls.on)
        __ctype_init();
    errno = 0;
}

/* C++ thread_local destructors and __cxa_thread_atexit_impl's: glibc
 * runs them first when a thread ends; a second call finds none. */
void green_tls_dtors(void)
{
    if (green__tls.on && green__current != green__s.main && __call_tls_dtors)
        __call_tls_dtors();
}

void green__tls_set(char *tp)
{
    if (green__tls.fsgsbase) {
        __asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
        return;
    }
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"(158L /* arch_prctl */), "D"((long)ARCH_SET_FS), "S"(tp)
                     : "rcx", "r11", "memory");
    (void)r;
}
