/* malloc_boot: a program linked with an allocator that starts itself
 * through pthread keys (boot_malloc.c). Threads allocate while others
 * exist, then the program forks (the allocator's fork handlers run) and
 * says how many times the allocator initialised: once, natively and
 * under libgreen. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

int boot_malloc_inits(void);

static void *work(void *arg)
{
    for (int i = 0; i < 100; i++) {
        free(malloc(64 + (size_t)i));
        if (i % 10 == 0)
            sched_yield();
    }
    return arg;
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, work, NULL));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL));
    pid_t pid = fork();
    if (pid == 0)
        _exit(malloc(100) ? 7 : 1);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 1;
    printf("fork: child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("allocator initialised %d time(s)\n", boot_malloc_inits());
    return 0;
}
