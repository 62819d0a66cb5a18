/* sys.h: raw system calls and the routing of blocking numbers to their
 * interposers (syscall.c), shared by syscall() and the safety net. */
#ifndef GREEN_PRELOAD_SYS_H
#define GREEN_PRELOAD_SYS_H

#include <stdint.h>

/* The system call nr, made here (inside libgreen's code, which the
 * safety net always lets through). Returns the kernel's result: >= 0 or
 * -errno. */
long preload_raw_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* System call nr with arguments a[0..5] as libgreen makes it: the
 * blocking ones wait green when they can (their interposers'), the rest
 * go to the kernel. Returns >= 0 or -errno. */
long preload_sys(long nr, const long *a);

/* futex(2) with green waiters. Returns >= 0 or -errno. */
long preload_futex(uint32_t *word, int op, uint32_t val, long arg4, uint32_t *word2,
                   uint32_t val3);

#endif
