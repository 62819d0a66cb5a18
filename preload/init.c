/* init.c: start libgreen in the process.
 *
 * The constructor runs on the main OS thread before main(): it resolves
 * the real libc functions, reads the GREEN_* configuration (refusing to
 * start on a bad value rather than guessing) and makes the code running
 * on this thread green thread "main". An interposer called earlier on
 * the main OS thread (another library's constructor) starts it lazily;
 * on any other OS thread nothing starts and every call passes through.
 */
#include "fd.h"
#include "preload.h"
#include "sys.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int preload_state = PRELOAD_NONE;
int preload_threaded;
int preload_core_fds;
pthread_t preload_main_ptid;
green_thread *preload_main_green;

__attribute__((noreturn, format(printf, 1, 2))) static void refuse(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "libgreen: %s\n", msg);
    exit(2);
}

/* Where a symbol the program will call comes from: another library
 * preloaded before us silently takes the calls (libco #158). */
static void check_interposer(const char *name)
{
    Dl_info mine, theirs;
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p || !dladdr((void *)check_interposer, &mine) || !dladdr(p, &theirs))
        return;
    if (mine.dli_fbase != theirs.dli_fbase)
        fprintf(stderr,
                "libgreen: warning: %s comes from %s, not libgreen.so; such calls will "
                "block every thread\n",
                name, theirs.dli_fname);
}

/* The core's own files (trace, stats) go high, out of the program's way. */
static int core_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return fd_shim_adopt(real_open(path, flags, mode));
}

static void start(void)
{
    struct green_config cfg;
    char err[256] = "";
    real_resolve();
    if (green_config_from_env(&cfg, err, sizeof err) < 0)
        refuse("%s", err);
    if (cfg.no_inherit)
        preload_uninherit();
    /* The core reaches libc past our interposers. */
    const struct green_libc libc = {.sigaction = real_sigaction,
                                    .open = core_open,
                                    .pthread_create = real_pthread_create,
                                    .nanosleep = real_nanosleep,
                                    .fstat = real_fstat,
                                    .readdir = real_readdir};
    cfg.libc = &libc;
    preload_main_ptid = real_pthread_self();
    preload_core_fds = 1;
    int r = green_init(&cfg);
    preload_core_fds = 0;
    if (r < 0 && r != -EALREADY)
        refuse("cannot start: %s", strerror(-r));
    preload_main_green = green_self();
    preload_sud_start();
    static const char *const names[] = {"read", "write", "nanosleep", "pthread_create"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !cfg.quiet; i++)
        check_interposer(names[i]);
}

void preload_init_lazy(void)
{
    int expected = PRELOAD_NONE;
    if (__atomic_load_n(&preload_state, __ATOMIC_ACQUIRE) != PRELOAD_NONE || gettid() != getpid())
        return;
    if (!__atomic_compare_exchange_n(&preload_state, &expected, PRELOAD_STARTING, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    start();
    __atomic_store_n(&preload_state, PRELOAD_READY, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void preload_constructor(void)
{
    real_resolve();
    if (gettid() != getpid() && preload_state == PRELOAD_NONE) {
        fprintf(stderr, "libgreen: loaded after start on another thread; not active "
                        "(use LD_PRELOAD or greenrun)\n");
        return;
    }
    preload_init_lazy();
}
