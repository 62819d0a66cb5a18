/* greenrun-check: what `greenrun --check PROGRAM` prints.
 *
 *   greenrun-check LIBGREEN PROGRAM [NAME]
 *
 * Reads PROGRAM without running it (for a #! script, its interpreter)
 * and says in plain sentences whether LD_PRELOAD of LIBGREEN reaches it
 * and what of it will be green, then which kernel features libgreen finds
 * here and what falls back without them. NAME is how the program is shown.
 * Exit status 0 when libgreen reaches the program, 2 when it cannot.
 *
 * A C helper rather than shell: the dynamic section and symbol table are
 * out of reach of od in reasonable time, readelf (binutils) is not on
 * every machine that runs programs, and the kernel probes need
 * madvise/prctl. Only the ELF class and byte order of the build are
 * parsed; anything else is another architecture than libgreen's. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif
#define NATIVE_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

/* What the headers of one ELF file say. */
struct elf {
    const unsigned char *p; /* the mapped file */
    size_t len;
    bool native;        /* class and byte order of this build */
    unsigned machine;   /* e_machine, when native */
    const char *interp; /* PT_INTERP, or NULL */
    bool go;            /* a Go build-info or build-id section */
    bool glibc, musl;   /* NEEDED libc.so.6 / libc.musl-* */
    bool uring;         /* NEEDED liburing or imports io_uring_* */
    bool ucontext;      /* imports makecontext or swapcontext */
    bool have_sections; /* section headers were there to read */
};

/* len bytes at off, or NULL when they are not all in the file. */
static const void *at(const struct elf *e, size_t off, size_t len)
{
    return off <= e->len && len <= e->len - off ? e->p + off : NULL;
}

/* The NUL-terminated string at off, or NULL. */
static const char *str_at(const struct elf *e, size_t off)
{
    if (off >= e->len || !memchr(e->p + off, 0, e->len - off))
        return NULL;
    return (const char *)e->p + off;
}

static bool starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void dynamic_needed(struct elf *e, const ElfW(Shdr) * sh, const ElfW(Shdr) * strtab)
{
    const ElfW(Dyn) *d = at(e, sh->sh_offset, sh->sh_size);
    for (size_t i = 0; d && i < sh->sh_size / sizeof *d && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag != DT_NEEDED)
            continue;
        const char *n = str_at(e, strtab->sh_offset + d[i].d_un.d_val);
        e->glibc |= n && strcmp(n, "libc.so.6") == 0;
        e->musl |= starts(n, "libc.musl-");
        e->uring |= starts(n, "liburing.so");
    }
}

static void dynsym_imports(struct elf *e, const ElfW(Shdr) * sh, const ElfW(Shdr) * strtab)
{
    const ElfW(Sym) *s = at(e, sh->sh_offset, sh->sh_size);
    for (size_t i = 0; s && i < sh->sh_size / sizeof *s; i++) {
        if (s[i].st_shndx != SHN_UNDEF || s[i].st_name == 0)
            continue;
        const char *n = str_at(e, strtab->sh_offset + s[i].st_name);
        e->uring |= starts(n, "io_uring_");
        e->ucontext |= n && (strcmp(n, "makecontext") == 0 || strcmp(n, "swapcontext") == 0);
    }
}

/* Section names (Go) and the dynamic section and symbols (libraries and
 * imports). */
static void read_sections(struct elf *e, const ElfW(Ehdr) * eh)
{
    const ElfW(Shdr) *sh = at(e, eh->e_shoff, (size_t)eh->e_shnum * sizeof *sh);
    if (!sh || eh->e_shnum == 0 || eh->e_shstrndx >= eh->e_shnum)
        return;
    e->have_sections = true;
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const char *name = str_at(e, sh[eh->e_shstrndx].sh_offset + sh[i].sh_name);
        e->go |=
            name && (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0);
        if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_type == SHT_NOBITS)
            continue;
        if (sh[i].sh_type == SHT_DYNAMIC)
            dynamic_needed(e, &sh[i], &sh[sh[i].sh_link]);
        else if (sh[i].sh_type == SHT_DYNSYM)
            dynsym_imports(e, &sh[i], &sh[sh[i].sh_link]);
    }
}

/* Maps and reads path; false (with errno) when it cannot be read, true
 * with e->p NULL when it is not ELF. */
static bool elf_read(struct elf *e, const char *path)
{
    memset(e, 0, sizeof *e);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    void *m = st.st_size >= EI_NIDENT
                  ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED || memcmp(m, ELFMAG, SELFMAG) != 0)
        return true;
    e->p = m;
    e->len = (size_t)st.st_size;
    const ElfW(Ehdr) *eh = at(e, 0, sizeof *eh);
    e->native = eh && e->p[EI_CLASS] == NATIVE_CLASS && e->p[EI_DATA] == NATIVE_DATA;
    if (!e->native)
        return true;
    e->machine = eh->e_machine;
    const ElfW(Phdr) *ph = at(e, eh->e_phoff, (size_t)eh->e_phnum * sizeof *ph);
    for (size_t i = 0; ph && i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_INTERP)
            e->interp = str_at(e, ph[i].p_offset);
    read_sections(e, eh);
    return true;
}

/* ---- what libgreen reaches ------------------------------------------------ */

/* Says why libgreen cannot reach the program; the exit status for it. */
__attribute__((format(printf, 1, 2))) static int no(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    return 2;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool is_loader_name(const char *name)
{
    return starts(name, "ld-linux") || starts(name, "ld64.so") || starts(name, "ld.so");
}

/* 2 with a sentence when libgreen cannot reach the program, else 0. */
static int refusal(const struct elf *e, const struct elf *lib, const char *name, const char *path)
{
    if (!e->native || e->machine != lib->machine)
        return no("%s is built for another architecture than libgreen: "
                  "libgreen cannot reach it.\n",
                  name);
    if (e->go)
        return no("%s is a Go program: the Go runtime makes its system calls itself "
                  "and runs goroutines on its own threads, so libgreen cannot reach it "
                  "(its goroutines are green threads already).\n",
                  name);
    if (!e->interp && is_loader_name(base(path)))
        return 0;
    if (!e->interp)
        return no("%s is statically linked: LD_PRELOAD needs the dynamic loader, "
                  "so libgreen cannot reach it.\n",
                  name);
    if (starts(base(e->interp), "ld-musl") || e->musl)
        return no("%s uses musl libc (loader %s): libgreen is built for glibc "
                  "and cannot reach it.\n",
                  name, e->interp);
    if (!is_loader_name(base(e->interp)))
        return no("%s is loaded by %s, not by glibc's loader: libgreen is built "
                  "for glibc and cannot reach it.\n",
                  name, e->interp);
    return 0;
}

static void say_reached(const struct elf *e, const char *name, const char *path)
{
    if (!e->interp) {
        printf("%s is the dynamic loader: run as a program it honours LD_PRELOAD, "
               "so libgreen reaches the program it loads.\n",
               name);
        return;
    }
    printf("%s is a dynamically linked program that uses glibc%s: libgreen reaches it.\n", name,
           e->glibc ? "" : " through its libraries");
    printf("Its threads become green threads on one OS thread, and its blocking calls "
           "through glibc suspend only the calling thread.\n");
    if (e->uring)
        printf("It uses io_uring (liburing): libgreen does not see the I/O it submits "
               "through its rings, and a wait for their completions blocks the OS thread "
               "and every green thread with it; its other calls stay green.\n");
    if (e->ucontext)
        printf("It switches stacks itself (makecontext, swapcontext): libgreen does not "
               "see those switches; a blocking call made on one of its contexts suspends "
               "the green thread that switched to it, as natively it would block that "
               "OS thread, and the other green threads keep running.\n");
    if (!e->have_sections)
        printf("%s has no section headers, so its libraries and imports were not "
               "read: io_uring and its own context switching could not be looked for.\n",
               path);
}

/* ---- the kernel -------------------------------------------------------------- */

static bool have_guard_install(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return false;
    bool ok = madvise(m, (size_t)pg, MADV_GUARD_INSTALL) == 0;
    munmap(m, 2 * (size_t)pg);
    return ok;
}

static bool have_pidfd(void)
{
    long fd = syscall(SYS_pidfd_open, getpid(), 0);
    if (fd >= 0)
        close((int)fd);
    return fd >= 0;
}

/* Turning dispatch off succeeds only where the kernel has it. */
static bool have_sud(void)
{
    return prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0) == 0;
}

static long max_map_count(void)
{
    long n = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = 65530;
        fclose(f);
    }
    return n;
}

static void say_kernel(void)
{
    struct utsname u;
    if (uname(&u) == 0)
        printf("The kernel is %s %s.\n", u.sysname, u.release);
    if (have_guard_install())
        printf("Green stacks get guard pages without extra kernel mappings "
               "(MADV_GUARD_INSTALL, Linux 6.13+), so many threads stay few mappings.\n");
    else
        printf("The kernel lacks MADV_GUARD_INSTALL (Linux 6.13+): each green stack gets an "
               "mprotect guard page instead, a second kernel mapping, so vm.max_map_count "
               "(%ld) allows about %ld green threads.\n",
               max_map_count(), max_map_count() / 2);
    if (have_pidfd())
        printf("Waits for child processes (waitpid, wait4, waitid) wait green on a pidfd "
               "(Linux 5.3+).\n");
    else
        printf("The kernel lacks pidfd_open (Linux 5.3+): waits for child processes cannot "
               "wait green and keep looking for the child instead.\n");
    const char *net = getenv("GREEN_SYSCALL_NET");
    if (have_sud() && net && strcmp(net, "0") == 0)
        printf("GREEN_SYSCALL_NET=0 turns the system-call safety net off: calls no "
               "interposer sees (glibc's internal reads, inline system calls) block the "
               "OS thread while they wait.\n");
    else if (have_sud())
        printf("The kernel has Syscall User Dispatch (Linux 5.11+), which libgreen's "
               "system-call safety net uses to catch calls no interposer sees.\n");
    else
        printf("The kernel lacks Syscall User Dispatch (Linux 5.11+): calls no interposer "
               "sees (glibc's internal reads, inline system calls) block the OS thread "
               "while they wait.\n");
}

/* ---- the program ------------------------------------------------------------- */

/* For a #! script, the path of its interpreter (through env(1) too) in
 * buf; NULL when path is not a script. */
static const char *script_interp(const char *path, char *buf, size_t size)
{
    char line[512];
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    bool script = fgets(line, sizeof line, f) && strncmp(line, "#!", 2) == 0;
    fclose(f);
    if (!script)
        return NULL;
    char *save, *interp = strtok_r(line + 2, " \t\n", &save);
    char *arg = interp ? strtok_r(NULL, " \t\n", &save) : NULL;
    snprintf(buf, size, "%s", interp ? interp : "");
    if (!interp || strcmp(base(interp), "env") != 0 || !arg || arg[0] == '-' || strchr(arg, '='))
        return buf;
    const char *rest = getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
    while (*rest) {
        size_t n = strcspn(rest, ":");
        snprintf(buf, size, "%.*s/%s", n ? (int)n : 1, n ? rest : ".", arg);
        if (access(buf, X_OK) == 0)
            return buf;
        rest += n + (rest[n] == ':');
    }
    snprintf(buf, size, "%s", interp);
    return buf;
}

static int check(const char *lib_path, const char *path, const char *name)
{
    struct elf lib, e;
    struct stat st;
    if (!elf_read(&lib, lib_path) || !lib.p || !lib.native)
        return no("%s is not a libgreen.so of this machine.\n", lib_path);
    if (stat(path, &st) < 0 || !elf_read(&e, path))
        return no("%s cannot be read: %s.\n", name, strerror(errno));
    if (st.st_mode & (S_ISUID | S_ISGID))
        return no("%s is a setuid or setgid program: the loader ignores LD_PRELOAD "
                  "for it, so libgreen cannot reach it.\n",
                  name);
    if (!e.p)
        return no("%s is neither an ELF program nor a script: libgreen cannot "
                  "reach it.\n",
                  name);
    int r = refusal(&e, &lib, name, path);
    if (r == 0) {
        say_reached(&e, name, path);
        say_kernel();
    }
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: greenrun-check LIBGREEN PROGRAM [NAME]\n");
        return 2;
    }
    const char *name = argc == 4 ? argv[3] : argv[2];
    char interp[4096];
    if (script_interp(argv[2], interp, sizeof interp)) {
        if (!interp[0])
            return no("%s is a script without an interpreter: libgreen cannot "
                      "reach it.\n",
                      name);
        printf("%s is a script: the kernel runs its interpreter %s, which gets the "
               "preload.\n",
               name, interp);
        if (script_interp(interp, (char[4096]){0}, 4096))
            return no("%s is itself a script: libgreen cannot tell what runs it.\n", interp);
        return check(argv[1], interp, interp);
    }
    return check(argv[1], argv[2], name);
}
