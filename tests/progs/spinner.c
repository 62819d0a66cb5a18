/* spinner.c: a thread that keeps the CPU for a while without blocking.
 *
 *   spinner MS
 *
 * "spinner" busy-waits MS milliseconds on the clock while another thread
 * sleeps 10 ms; prints "done" when both are back. Under libgreen the
 * sleeper cannot run before the spinner ends: what the watchdog is for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long ms;

static void *spin(void *x)
{
    long end = now_ms() + ms;
    while (now_ms() < end)
        ;
    return x;
}

static void *nap(void *x)
{
    usleep(10000);
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (ms = atol(argv[1])) <= 0)
        return 2;
    pthread_t a, b;
    if (pthread_create(&b, NULL, nap, NULL) || pthread_create(&a, NULL, spin, NULL))
        return 3;
    pthread_setname_np(a, "spinner");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    puts("done");
    return 0;
}
