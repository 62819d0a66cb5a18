/* dl.c: dlsym and dlvsym, caller-relative as libc's, except that a
 * library loaded after libgreen that looks up a thread call with
 * RTLD_NEXT gets libgreen's.
 *
 * RTLD_NEXT means "the next object after the caller's": libc finds the
 * caller from the return address. A library loaded after libgreen (a
 * jemalloc starting its background threads) skips libgreen that way and
 * would make real OS threads whose pthread_t no libgreen call knows. So
 * for the calls that make, end or name a thread, RTLD_NEXT from outside
 * libgreen yields libgreen's own; every other lookup, and every lookup
 * libgreen makes itself (real.c), is libc's, with the caller unchanged:
 * the entry points are assembly stubs that ask dl_choose, then
 * tail-jump into libc's function with the caller's return address still
 * on the stack.
 *
 * libc's dlsym itself cannot be had through dlsym (libgreen's own calls
 * bind to these stubs): it is read from the symbol table of the first
 * object after libgreen that defines it, through dl_iterate_phdr. */
#include "preload.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#if !defined(__x86_64__)
#error "dl.c: the dlsym stubs are written for x86-64"
#endif

PRELOAD_HIDDEN void *dl_real_dlsym, *dl_real_dlvsym;
static uintptr_t self_lo, self_hi; /* libgreen's mapping */

/* ---- libc's dlsym and dlvsym ---------------------------------------------- */

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

/* The dynamic section's addresses; ld.so has usually relocated them. */
static uintptr_t dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) p)
{
    return p < info->dlpi_addr ? info->dlpi_addr + p : p;
}

/* The function name defines in the object of info, or NULL. */
static void *find_in(const struct dl_phdr_info *info, const char *name)
{
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    const uint32_t *gh = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            sym = (const void *)dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB)
            str = (const void *)dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_GNU_HASH)
            gh = (const void *)dyn_ptr(info, dyn->d_un.d_ptr);
    }
    if (!sym || !str || !gh)
        return NULL;
    uint32_t nbuckets = gh[0], symoff = gh[1], bloom = gh[2];
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(gh + 4) + bloom);
    const uint32_t *chain = buckets + nbuckets - symoff;
    uint32_t h = gnu_hash(name);
    for (uint32_t i = nbuckets ? buckets[h % nbuckets] : 0; i >= symoff && i; i++) {
        if ((chain[i] | 1) == (h | 1) && !strcmp(str + sym[i].st_name, name) &&
            sym[i].st_shndx != SHN_UNDEF && ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC)
            return (void *)(info->dlpi_addr + sym[i].st_value);
        if (chain[i] & 1)
            break;
    }
    return NULL;
}

struct found {
    int seen_self; /* libgreen's object came already */
    void *s, *v;   /* the first definer's, wherever it is */
};

static int scan(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct found *f = arg;
    (void)size;
    uintptr_t lo = UINTPTR_MAX, hi = 0, me = (uintptr_t)(void *)scan;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (info->dlpi_addr + ph->p_vaddr < lo)
            lo = info->dlpi_addr + ph->p_vaddr;
        if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
            hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    if (me >= lo && me < hi) {
        self_lo = lo, self_hi = hi;
        f->seen_self = 1;
        return 0;
    }
    void *s = find_in(info, "dlsym"), *v = find_in(info, "dlvsym");
    if (!s || !v || (f->s && !f->seen_self))
        return 0;
    f->s = s, f->v = v;
    return f->seen_self; /* the next after libgreen: what RTLD_NEXT finds */
}

/* Any OS thread may race here; each finds the same addresses. When
 * libgreen was loaded late (dlopen), libc comes before it. */
static void resolve(void)
{
    struct found f = {0};
    if (__atomic_load_n(&dl_real_dlsym, __ATOMIC_ACQUIRE))
        return;
    dl_iterate_phdr(scan, &f);
    if (f.s) {
        __atomic_store_n(&dl_real_dlvsym, f.v, __ATOMIC_RELEASE);
        __atomic_store_n(&dl_real_dlsym, f.s, __ATOMIC_RELEASE);
        return;
    }
    {
        static const char msg[] = "libgreen: cannot find dlsym in libc\n";
        real_write(2, msg, sizeof msg - 1);
        abort();
    }
}

/* ---- the choice -------------------------------------------------------------- */

/* The calls whose pthread_t (or thrd_t) only libgreen understands.
 * (clang-format 14 never settles on a layout for this list.) */
/* clang-format off */
#define SWAPPED(X)                                                                   \
    X(pthread_create) X(pthread_join) X(pthread_tryjoin_np) X(pthread_timedjoin_np) \
    X(pthread_clockjoin_np) X(pthread_detach) X(pthread_exit) X(pthread_self)       \
    X(pthread_kill) X(pthread_cancel) X(pthread_getattr_np) X(pthread_setname_np)   \
    X(pthread_getname_np) X(thrd_create) X(thrd_join) X(thrd_detach) X(thrd_exit)   \
    X(thrd_current) X(gettid)
/* clang-format on */

static const struct {
    const char *name;
    void *fn;
} swapped[] = {
#define ENTRY(f) {#f, (void *)f},
    SWAPPED(ENTRY)
#undef ENTRY
};

/* Called by the stubs with their arguments and the caller's return
 * address: libgreen's function to return instead of libc's answer, or
 * NULL to let libc answer. */
PRELOAD_HIDDEN void *dl_choose(void *handle, const char *name, const char *version, void *caller)
{
    resolve();
    uintptr_t c = (uintptr_t)caller;
    if (handle != RTLD_NEXT || !name || (c >= self_lo && c < self_hi))
        return NULL;
    if (version && strncmp(version, "GLIBC_", 6))
        return NULL;
    for (size_t i = 0; i < sizeof swapped / sizeof swapped[0]; i++)
        if (!strcmp(name, swapped[i].name))
            return swapped[i].fn;
    return NULL;
}

/* dlsym(handle, name) and dlvsym(handle, name, version): the three
 * argument registers are kept around dl_choose (dlsym passes no
 * version); libc's function is entered with the caller's frame. */
#define STUB(name, version_reg)                                                        \
    __asm__(".text\n"                                                                  \
            ".globl " #name "\n"                                                       \
            ".type " #name ",@function\n" #name ":\n"                                  \
            ".cfi_startproc\n"                                                         \
            "push %rdi\n.cfi_adjust_cfa_offset 8\n"                                    \
            "push %rsi\n.cfi_adjust_cfa_offset 8\n"                                    \
            "push %rdx\n.cfi_adjust_cfa_offset 8\n" version_reg "mov 24(%rsp), %rcx\n" \
            "call dl_choose\n"                                                         \
            "pop %rdx\n.cfi_adjust_cfa_offset -8\n"                                    \
            "pop %rsi\n.cfi_adjust_cfa_offset -8\n"                                    \
            "pop %rdi\n.cfi_adjust_cfa_offset -8\n"                                    \
            "test %rax, %rax\n"                                                        \
            "jz 1f\n"                                                                  \
            "ret\n"                                                                    \
            "1: jmp *dl_real_" #name "(%rip)\n"                                        \
            ".cfi_endproc\n"                                                           \
            ".size " #name ", .-" #name "\n");
STUB(dlsym, "xor %edx, %edx\n")
STUB(dlvsym, "")
