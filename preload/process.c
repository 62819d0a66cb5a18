/* process.c: children, fork and what exec'd programs inherit.
 *
 * The waits for children try the real call with WNOHANG and, when no
 * child is ready, wait green in the core (a pidfd per child: no SIGCHLD
 * handler of ours, the program's own keeps working) and try again.
 * EINTR, SA_RESTART and cancellation follow the wait policy
 * (GREEN_CALL_CHILD).
 *
 * fork: a pthread_atfork child handler registered at load resets the
 * core in the child (only the calling green thread survives, the loop
 * is re-armed, the helper pool is forgotten). It runs for every fork
 * glibc makes with its handlers, daemon() included, and before the
 * program's own child handlers.
 *
 * vfork (x86_64) is the system call: the child shares the parent's
 * memory and this OS thread's TLS, so around it the parent makes the
 * thread no green thread (green_vfork_begin) and sets preload_vforking:
 * the child's calls (close, dup2, sigaction, write, exec...) then go
 * straight to libc and change none of the parent's records, as on an OS
 * thread libgreen does not know. The parent's OS thread stops until the
 * child execs or exits, as natively for the caller. posix_spawn is
 * glibc's clone(CLONE_VM|CLONE_VFORK) and calls no interposer: it only
 * goes through real_* so that the system call net lets its calls
 * through (the child starts without the net, on a stack of its own).
 *
 * system() and pclose() wait inside glibc, out of any interposer's
 * reach: the whole call runs on a helper thread (glibc then blocks
 * SIGCHLD and ignores SIGINT and SIGQUIT as POSIX says, on that thread).
 * popen() does not wait (a spawn) and is glibc's own.
 *
 * GREEN_INHERIT=0: libgreen removes itself from LD_PRELOAD in the
 * environment at load, so exec'd children (exec*, posix_spawn, system,
 * popen) start without it while this process stays green. */
#include "fd.h"
#include "sys.h"

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- waits for children --------------------------------------------------- */

/* wait4 with WNOHANG until a child is there, waiting green in between.
 * Returns the pid, 0 (the caller's WNOHANG), or -errno. */
GREEN_YIELDS static pid_t wait4_green(pid_t pid, int *st, int opt, struct rusage *ru)
{
    unsigned long since = green_call_seq();
    for (;;) {
        pid_t r = real_wait4(pid, st, opt | WNOHANG, ru);
        if (r != 0)
            return preload_neg_errno(r);
        if (opt & WNOHANG)
            return 0;
        struct green_wait w = {.call = GREEN_CALL_CHILD,
                               .on = GREEN_ON_CHILD,
                               .fd = pid,
                               .events = (opt & (WUNTRACED | WCONTINUED)) != 0,
                               .deadline = GREEN_NEVER,
                               .since = since};
        int k = green_wait(&w);
        if (k < 0)
            return k;
    }
}

/* Waits green unless WNOHANG; passes through off green threads and when
 * no other green thread could run. */
PRELOAD_EXPORT pid_t wait4(pid_t pid, int *st, int opt, struct rusage *ru)
{
    green_yield_point();
    if ((opt & WNOHANG) || !preload_should_wait())
        return real_wait4(pid, st, opt, ru);
    return (pid_t)preload_ret(wait4_green(pid, st, opt, ru));
}

/* wait4 without resource usage. */
PRELOAD_EXPORT pid_t waitpid(pid_t pid, int *st, int opt)
{
    return wait4(pid, st, opt, NULL);
}

/* waitpid for any child. */
PRELOAD_EXPORT pid_t wait(int *st)
{
    return wait4(-1, st, 0, NULL);
}

/* wait4 for any child. */
PRELOAD_EXPORT pid_t wait3(int *st, int opt, struct rusage *ru)
{
    return wait4(-1, st, opt, ru);
}

/* The pid argument of waitpid that an idtype/id pair of waitid means. */
static pid_t waitid_pid(idtype_t type, id_t id)
{
    switch (type) {
    case P_PID:
        return (pid_t)id;
    case P_PGID:
        return id ? -(pid_t)id : 0;
    default:
        return -1;
    }
}

/* The child's siginfo goes to the program's info at the end: -EFAULT
 * when it cannot be written (the child is reaped all the same, as
 * natively). */
GREEN_YIELDS static int waitid_green(idtype_t type, id_t id, siginfo_t *info, int opt)
{
    unsigned long since = green_call_seq();
    for (;;) {
        siginfo_t si = {0};
        if (real_waitid(type, id, &si, opt | WNOHANG) < 0) {
            int e = errno; /* the kernel checks info even then */
            return fd_copyin(&si, info, sizeof si) < 0 ? -EFAULT : -e;
        }
        if (si.si_pid)
            return fd_copyout(info, &si, sizeof si);
        struct green_wait w = {.call = GREEN_CALL_CHILD, .deadline = GREEN_NEVER, .since = since};
        if (type == P_PIDFD)
            w.on = GREEN_ON_FD, w.fd = (int)id, w.events = GREEN_IN;
        else
            w.on = GREEN_ON_CHILD, w.fd = waitid_pid(type, id),
            w.events = (opt & (WSTOPPED | WCONTINUED)) != 0;
        int k = green_wait(&w);
        if (k < 0)
            return k;
    }
}

/* Waits green unless WNOHANG (P_PIDFD waits on the given pidfd); passes
 * through as wait4 does, and for a NULL info (the kernel decides). */
PRELOAD_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int opt)
{
    green_yield_point();
    if ((opt & WNOHANG) || !info || !preload_should_wait())
        return real_waitid(type, id, info, opt);
    return (int)preload_ret(waitid_green(type, id, info, opt));
}

/* ---- system, pclose ------------------------------------------------------- */

struct call {
    const char *cmd;
    FILE *f;
    int ret, err;
};

static void run_system(void *p)
{
    struct call *c = p;
    c->ret = real_system(c->cmd);
    c->err = errno;
}

static void run_pclose(void *p)
{
    struct call *c = p;
    c->ret = real_pclose(c->f);
    c->err = errno;
}

/* Runs glibc's system() on a helper thread while the caller waits
 * green; same status, same errno. system(NULL) does not wait. */
PRELOAD_EXPORT int system(const char *cmd)
{
    struct call c = {.cmd = cmd};
    if (!cmd || !preload_should_wait())
        return real_system(cmd);
    green_offload(run_system, &c);
    errno = c.err;
    return c.ret;
}

/* Runs glibc's pclose (which waits for the child) on a helper thread. */
PRELOAD_EXPORT int pclose(FILE *f)
{
    struct call c = {.f = f};
    if (!preload_should_wait())
        return real_pclose(f);
    green_offload(run_pclose, &c);
    errno = c.err;
    return c.ret;
}

/* ---- fork, vfork ------------------------------------------------------------ */

static void fork_child(void)
{
    if (preload_state == PRELOAD_READY)
        green_fork_child();
}

__thread int preload_vforking __attribute__((tls_model("initial-exec")));
pid_t preload_vfork_pid;
static __thread sigset_t vfork_os_mask __attribute__((tls_model("initial-exec")));
static __thread int vfork_masked __attribute__((tls_model("initial-exec")));

/* The child starts with the calling thread's mask, as natively: the OS
 * thread's real mask is only what every green thread blocks. Mostly the
 * two are the same (nothing blocked): then it is left alone, one system
 * call instead of two more. */
static void mask_as_caller(void)
{
    uint64_t b;
    sigset_t s;
    vfork_masked = 0;
    if (!green_self() || green_sigmask(SIG_BLOCK, NULL, &b) < 0 ||
        real_pthread_sigmask(SIG_BLOCK, NULL, &vfork_os_mask) != 0)
        return;
    bool same = true;
    sigemptyset(&s);
    for (int i = 1; i <= 64; i++) {
        bool on = b & ((uint64_t)1 << (i - 1));
        if (on)
            sigaddset(&s, i);
        same = same && on == (sigismember(&vfork_os_mask, i) == 1);
    }
    vfork_masked = !same && real_pthread_sigmask(SIG_SETMASK, &s, NULL) == 0;
}

/* The OS thread's own mask again. */
static void mask_back(void)
{
    if (vfork_masked)
        real_pthread_sigmask(SIG_SETMASK, &vfork_os_mask, NULL);
}

/* Parent, just before the vfork system call: from here the child's
 * interposers (on this OS thread's TLS) pass straight through. */
PRELOAD_HIDDEN void preload_vfork_enter(void)
{
    preload_vfork_pid = (pid_t)preload_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
    mask_as_caller();
    green_vfork_begin();
    preload_vforking = 1;
}

/* Parent, once the child has exec'd or exited: libgreen is back; r is
 * the system call's result (pid or -errno). */
PRELOAD_HIDDEN long preload_vfork_leave(long r)
{
    int e = errno;
    preload_vforking = 0;
    green_vfork_end();
    mask_back();
    errno = e;
    return preload_ret(r);
}

typedef int spawn_fn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                     const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);

/* glibc's, made with the caller's signal mask (the child starts with
 * it, as natively) and through the gate: caught by the net, its mmap,
 * masks, clone and munmap would cost a signal each. */
static int spawn_as_caller(spawn_fn *fn, pid_t *pid, const char *path,
                           const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                           char *const argv[], char *const envp[])
{
    mask_as_caller();
    int r = fn(pid, path, fa, attr, argv, envp);
    mask_back();
    return r;
}

/* glibc's posix_spawn, as the caller would make it natively. */
PRELOAD_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                               const posix_spawnattr_t *attr, char *const argv[],
                               char *const envp[])
{
    return spawn_as_caller(real_posix_spawn, pid, path, fa, attr, argv, envp);
}

/* posix_spawn searching PATH. */
PRELOAD_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                                const posix_spawnattr_t *attr, char *const argv[],
                                char *const envp[])
{
    return spawn_as_caller(real_posix_spawnp, pid, file, fa, attr, argv, envp);
}

#if defined(__x86_64__)
/* A real vfork: the parent's OS thread (every green thread) stops until
 * the child execs or exits. Not C: the child returns through this frame
 * first and its later calls overwrite it, so the return address is kept
 * in a register (rsi: not shared with the child, kept by the kernel
 * across syscall) and pushed back on each side. */
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork,@function\n"
        "vfork:\n"
        "    sub $8, %rsp\n"
        "    call preload_vfork_enter\n"
        "    add $8, %rsp\n"
        "    pop %rsi\n"
        "    mov $58, %eax\n" /* SYS_vfork */
        "    syscall\n"
        "    push %rsi\n"
        "    test %rax, %rax\n"
        "    jz 1f\n" /* the child: 0, libgreen untouched */
        "    mov %rax, %rdi\n"
        "    sub $8, %rsp\n"
        "    call preload_vfork_leave\n"
        "    add $8, %rsp\n"
        "1:  ret\n"
        ".size vfork, .-vfork\n");
#else
/* Elsewhere a fork without the pthread_atfork handlers, as vfork runs
 * none; the child resets libgreen as after fork. */
PRELOAD_EXPORT pid_t vfork(void)
{
    pid_t pid = real__Fork();
    if (pid == 0)
        fork_child();
    return pid;
}
#endif

/* ---- GREEN_INHERIT=0 -------------------------------------------------------- */

void preload_uninherit(void)
{
    const char *v = getenv("LD_PRELOAD");
    Dl_info me;
    if (!v || !dladdr((void *)preload_uninherit, &me) || !me.dli_fname)
        return;
    const char *base = strrchr(me.dli_fname, '/');
    base = base ? base + 1 : me.dli_fname;
    size_t n = strlen(v);
    char *out = malloc(n + 1), *copy = strdup(v);
    if (!out || !copy)
        goto done;
    out[0] = '\0';
    for (char *save, *e = strtok_r(copy, " :", &save); e; e = strtok_r(NULL, " :", &save)) {
        const char *eb = strrchr(e, '/');
        if (!strcmp(e, me.dli_fname) || !strcmp(eb ? eb + 1 : e, base))
            continue;
        if (out[0])
            strcat(out, ":");
        strcat(out, e);
    }
    if (out[0])
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
done:
    free(out);
    free(copy);
}

__attribute__((constructor)) static void process_init(void)
{
    pthread_atfork(NULL, NULL, fork_child);
}
