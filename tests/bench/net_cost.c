/* net_cost: what one non-blocking system call costs by each path. A
 * plain single-threaded program (no libgreen header) writing one byte to
 * /dev/null, best of 5 runs of ROUNDS calls:
 *   net_libc_write_ns    through libc's write (under libgreen: its
 *                        interposer, the fast path)
 *   net_inline_write_ns  an inline syscall instruction (under libgreen
 *                        with the safety net on: caught by it, SIGSYS;
 *                        write may block, so it is made on the thread's
 *                        stack after the handler, through green_divert)
 *   net_getppid_ns       getppid, which no interposer takes and which
 *                        cannot block (the net makes it in its handler)
 * Natively both are the bare system call (scripts/bench-io compares).
 * A second thread waits on a pipe meanwhile: libgreen arms the net at
 * the first pthread_create (with one thread nothing could wait green).
 *
 * Usage: net_cost [ROUNDS]   (default 200000) */
#include <fcntl.h>
#include <pthread.h>
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

static double best_of(long rounds, int fd, int how)
{
    double best = 0;
    char c = 0;
    for (int run = 0; run < 5; run++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < rounds; i++)
            if (how == 2 ? getppid() <= 0 : (how ? inline_write(fd, &c, 1) : write(fd, &c, 1)) != 1)
                exit(1);
        double ns = (double)(now_ns() - t0) / (double)rounds;
        if (run == 0 || ns < best)
            best = ns;
    }
    return best;
}

static int idle_pipe[2];

static void *idle(void *arg)
{
    (void)arg;
    char c;
    return (void *)(intptr_t)read(idle_pipe[0], &c, 1);
}

int main(int argc, char **argv)
{
    pthread_t t;
    if (pipe(idle_pipe) < 0 || pthread_create(&t, NULL, idle, NULL))
        return 2;
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || rounds <= 0)
        return 2;
    printf("net_libc_write_ns %.1f ns\n", best_of(rounds, fd, 0));
    printf("net_inline_write_ns %.1f ns\n", best_of(rounds, fd, 1));
    printf("net_getppid_ns %.1f ns\n", best_of(rounds, fd, 2));
    close(idle_pipe[1]);
    pthread_join(t, NULL);
    return 0;
}
