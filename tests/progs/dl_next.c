/* dl_next: threads started by a library loaded after libgreen through
 * the pthread_create it looked up with dlsym(RTLD_NEXT) (next_create.c).
 * They are the program's threads like any other: they block, are
 * joined, and compare equal to what pthread_self says in them. Other
 * lookups keep their meaning, relative to the library that makes them.
 *
 *   dl_next [-t]   -t: print the Threads: line of /proc/self/status
 *                  while the three threads are alive */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

int next_create(pthread_t *t, void *(*fn)(void *), void *arg);
int next_vcreate(pthread_t *t, void *(*fn)(void *), void *arg);
const char *next_lookups(void);

/* Also in next_create.c: RTLD_DEFAULT finds this one. */
__attribute__((visibility("default"))) int probe(void)
{
    return 1;
}

static int go[2], ready[2];
static pthread_t self_of[3];

static void *worker(void *arg)
{
    long i = (long)arg;
    char c;
    self_of[i] = pthread_self();
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
        return NULL;
    return (void *)(i + 10);
}

int main(int argc, char **argv)
{
    pthread_t t[3];
    char c;
    if (pipe(go) < 0 || pipe(ready) < 0)
        return 1;
    CHECK(next_create(&t[0], worker, (void *)0L));
    CHECK(next_create(&t[1], worker, (void *)1L));
    CHECK(next_vcreate(&t[2], worker, (void *)2L));
    for (int i = 0; i < 3; i++)
        if (read(ready[0], &c, 1) != 1)
            return 1;
    if (argc > 1 && !strcmp(argv[1], "-t"))
        print_os_threads();
    if (write(go[1], "ggg", 3) != 3)
        return 1;
    for (int i = 0; i < 3; i++) {
        void *ret;
        CHECK(pthread_join(t[i], &ret));
        printf("thread %d: joined, returned %ld, pthread_self in it %s\n", i, (long)ret,
               pthread_equal(self_of[i], t[i]) ? "matches" : "differs");
    }
    int (*p)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "probe");
    printf("RTLD_DEFAULT probe: %d\n", p ? p() : -1);
    printf("library's lookups: %s\n", next_lookups());
    return 0;
}
