/* net_cost: what one non-blocking system call costs by each path. A
 * plain single-threaded program (no libgreen header) writing one byte to
 * /dev/null, best of 5 runs of ROUNDS calls:
 *   net_libc_write_ns    through libc's write (under libgreen: its
 *                        interposer, the fast path)
 *   net_inline_write_ns  an inline syscall instruction (under libgreen
 *                        with the safety net on: caught by it, SIGSYS)
 * Natively both are the bare system call (scripts/bench-io compares).
 *
 * Usage: net_cost [ROUNDS]   (default 200000) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long inline_write(int fd, const void *buf, size_t n)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)SYS_write), "D"((long)fd), "S"(buf), "d"(n)
                     : "rcx", "r11", "memory");
    return r;
}

static double best_of(long rounds, int fd, int inl)
{
    double best = 0;
    char c = 0;
    for (int run = 0; run < 5; run++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < rounds; i++)
            if ((inl ? inline_write(fd, &c, 1) : write(fd, &c, 1)) != 1)
                exit(1);
        double ns = (double)(now_ns() - t0) / (double)rounds;
        if (run == 0 || ns < best)
            best = ns;
    }
    return best;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || rounds <= 0)
        return 2;
    printf("net_libc_write_ns %.1f ns\n", best_of(rounds, fd, 0));
    printf("net_inline_write_ns %.1f ns\n", best_of(rounds, fd, 1));
    return 0;
}
