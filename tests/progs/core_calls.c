/* core_calls.c: what libgreen does for itself must not reach the program.
 *
 *   core_calls SIG SPIN_MS
 *
 * Opens /dev/null and prints its number (libgreen's own files, such as a
 * trace, must not take the program's lowest fd). Then main sleeps 400 ms
 * in nanosleep while a second thread sends SIG to the process (0: only
 * checks that the process exists) and busy-waits SPIN_MS on the clock;
 * main prints nanosleep's result and joins. Run natively with "0", under
 * libgreen with its dump signal as SIG and a watchdog shorter than
 * SPIN_MS: neither the dump nor the watchdog's signal is the program's,
 * so neither may cut main's sleep short (EINTR).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int sig;
static long spin;

static void *signaller(void *x)
{
    if (kill(getpid(), sig) < 0)
        exit(3);
    for (long end = now_ms() + spin; now_ms() < end;)
        ;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    sig = atoi(argv[1]);
    spin = atol(argv[2]);
    int fd = open("/dev/null", O_RDONLY);
    printf("first fd %d\n", fd);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, signaller, NULL));
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 400 * 1000000L};
    int r = nanosleep(&ts, NULL);
    printf("nanosleep %d %s\n", r, r ? strerror(errno) : "");
    CHECK(pthread_join(t, NULL));
    return 0;
}
