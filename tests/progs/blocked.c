/* blocked.c: threads blocked in known places, then a dump signal.
 *
 *   blocked SIGNAL
 *   blocked hang
 *
 * A "reader" waits on a pipe, a "locker" on a mutex main holds, a
 * "sleeper" in sleep(5), main joins "joiner", which joins "reader". Once
 * all of them are blocked, main raises SIGNAL (libgreen's dump signal
 * under the shim), then releases everything and exits 0. Prints nothing
 * but "done": the dump goes to stderr. Run it only under libgreen with
 * GREEN_DUMP_SIGNAL set, or the signal's default action ends it.
 * With "hang", main prints "ready" once all are blocked and then waits
 * in its join for ever (for a debugger to look at; kill it).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int p[2];
static pthread_t reader_t;

static void *reader(void *x)
{
    char c;
    if (read(p[0], &c, 1) != 1)
        exit(3);
    return x;
}

static void *locker(void *x)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return x;
}

static void *sleeper(void *x)
{
    sleep(5);
    return x;
}

static void *joiner(void *x)
{
    pthread_join(reader_t, NULL);
    return x;
}

static pthread_t start(void *(*fn)(void *), const char *name)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0)
        exit(3);
    pthread_setname_np(t, name);
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 2 || pipe(p) < 0)
        return 2;
    int hang = !strcmp(argv[1], "hang"), sig = atoi(argv[1]);
    pthread_mutex_lock(&m);
    reader_t = start(reader, "reader");
    pthread_t l = start(locker, "locker");
    start(sleeper, "sleeper");
    pthread_t j = start(joiner, "joiner");
    sched_yield(); /* under libgreen: every thread runs until it blocks */
    if (hang) {
        puts("ready");
        fflush(stdout);
        pthread_join(j, NULL);
    }
    raise(sig);
    /* The dump runs in libgreen's loop, which runs as soon as main
     * blocks: the signal is already pending there, so it comes before
     * this sleep's timer. */
    usleep(1000);
    pthread_mutex_unlock(&m);
    if (write(p[1], "x", 1) != 1)
        return 3;
    pthread_join(l, NULL);
    pthread_join(j, NULL);
    puts("done");
    return 0; /* the sleeper is still asleep: exit ends it */
}
