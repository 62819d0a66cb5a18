/* real.h: the libc functions libgreen.so interposes, as libc implements
 * them: one real_<name> pointer each, all listed in real.def.
 *
 * Every real_<name> pointer is callable at any time, from any OS thread:
 * it starts out at a trampoline that resolves all of them (dlsym or
 * dlvsym on RTLD_NEXT) and then calls the real function. While that
 * resolution runs on the calling thread (dlsym may allocate, and an
 * allocator may call back into read or write), the syscall-backed ones
 * fall back to the raw system call; the others abort with a message,
 * which cannot happen for the ones resolved first (see real.c).
 *
 * The constructor calls real_resolve() eagerly; wrappers need not. */
#ifndef GREEN_PRELOAD_REAL_H
#define GREEN_PRELOAD_REAL_H

#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>

struct statx;
struct __dirstream;
struct dirent;
struct dirent64;

#define REAL(ret, name, params, args, version, fallback) extern ret(*name) params;
#define REAL_VA(ret, name, params, last, args, version, fallback) extern ret(*name) params;
#define REAL_VOID(name, params, args, version) extern void(*name) params;
#define REAL_NORETURN(name, params, args, version) \
    extern void(*name) params __attribute__((noreturn));
#include "real.def"

/* Resolve every real_* pointer (idempotent; any OS thread). Returns 0,
 * or -EDEADLK when called again from inside a resolution on this thread
 * (the pointers then keep their fallbacks). */
int real_resolve(void);

/* Point every real_* at a gate that lets its system calls through the
 * safety net (sud.c); call once, on the thread that turns the net on,
 * before it does. */
void real_gate(void);

#endif
