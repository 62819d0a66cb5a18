/* tight_io: a plain single-threaded program (no libgreen header) timing
 * write+read round trips of 64 bytes on a pipe and on a socketpair. Run
 * natively and under LD_PRELOAD=libgreen.so (scripts/bench-io): with one
 * thread nothing can run meanwhile, so the shim should pass the calls
 * through and cost no more than a few percent.
 *
 * Usage: tight_io [ROUNDS [RUNS]]   (default 5000, best of 60 runs each)
 * Short runs, many of them: on a shared machine the best of them is the
 * one the other loads left alone, and a difference of a few percent
 * shows only there.
 * Prints "io_pipe_ns V ns" and "io_socketpair_ns V ns". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Best of `runs` runs of `rounds` round trips through w -> r, in ns each. */
static double round_trip(int w, int r, long rounds, long runs)
{
    char buf[64] = {0};
    double best = 0;
    for (long run = 0; run < runs; run++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < rounds; i++)
            if (write(w, buf, sizeof buf) != sizeof buf || read(r, buf, sizeof buf) != sizeof buf)
                exit(1);
        double ns = (double)(now_ns() - t0) / (double)rounds;
        if (run == 0 || ns < best)
            best = ns;
    }
    return best;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 5000;
    long runs = argc > 2 ? atol(argv[2]) : 60;
    int p[2], sv[2];
    if (rounds <= 0 || runs <= 0 || pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 2;
    printf("io_pipe_ns %.1f ns\n", round_trip(p[1], p[0], rounds, runs));
    printf("io_socketpair_ns %.1f ns\n", round_trip(sv[0], sv[1], rounds, runs));
    return 0;
}
