/* thread_ids: every thread has an id of its own.
 *
 * main's gettid() is the pid; four threads, all alive at once, each get
 * an id that differs from every other and from main's, and keep it
 * across a blocking call. tgkill with a thread's id interrupts that
 * thread's sigsuspend; tgkill with an id no thread has fails with ESRCH.
 * The child a thread forks has one thread, whose id is its pid.
 * The output is the same natively and under libgreen. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define N 4

static pid_t ids[N];
static int same_after_wait[N];
static int go[2], ready[2];
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled++;
}

static void *worker(void *arg)
{
    int i = (int)(long)arg;
    char c;
    ids[i] = gettid();
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1) /* blocks: all alive */
        return NULL;
    same_after_wait[i] = gettid() == ids[i];
    return NULL;
}

/* Forks: in the child, gettid() is the child's pid. */
static void *forker(void *arg)
{
    int status = -1;
    pid_t pid = fork();
    if (pid == 0)
        _exit(gettid() == getpid() ? 0 : 1);
    if (pid > 0)
        waitpid(pid, &status, 0);
    *(int *)arg = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return NULL;
}

/* Blocks SIGUSR1, says it is ready, then waits for it in sigsuspend. */
static void *waiter(void *arg)
{
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    CHECK(pthread_sigmask(SIG_BLOCK, &block, NULL));
    *(pid_t *)arg = gettid();
    if (write(ready[1], "w", 1) != 1)
        return NULL;
    int r = sigsuspend(&none);
    printf("waiter: sigsuspend %d %s, handler ran %d time(s)\n", r, strerror(errno), (int)handled);
    return NULL;
}

int main(void)
{
    pthread_t t[N], w;
    char c;
    if (pipe(go) < 0 || pipe(ready) < 0)
        return 1;
    printf("main: gettid is the pid: %s\n", gettid() == getpid() ? "yes" : "no");
    for (int i = 0; i < N; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(long)i));
    for (int i = 0; i < N; i++)
        if (read(ready[0], &c, 1) != 1)
            return 1;
    int distinct = 1;
    for (int i = 0; i < N; i++) {
        distinct &= ids[i] > 0 && ids[i] != getpid();
        for (int j = 0; j < i; j++)
            distinct &= ids[i] != ids[j];
    }
    printf("threads: ids distinct from each other and from main: %s\n", distinct ? "yes" : "no");
    if (write(go[1], "gggg", N) != N)
        return 1;
    int same = 1;
    for (int i = 0; i < N; i++) {
        CHECK(pthread_join(t[i], NULL));
        same &= same_after_wait[i];
    }
    printf("threads: id unchanged after a blocking call: %s\n", same ? "yes" : "no");

    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pid_t wid = 0;
    CHECK(pthread_create(&w, NULL, waiter, &wid));
    if (read(ready[0], &c, 1) != 1)
        return 1;
    int sent = tgkill(getpid(), wid, SIGUSR1);
    CHECK(pthread_join(w, NULL));
    printf("main: tgkill to the waiter: %d\n", sent);
    int child_ok = 0;
    CHECK(pthread_create(&w, NULL, forker, &child_ok));
    CHECK(pthread_join(w, NULL));
    printf("child of a thread: gettid is its pid: %s\n", child_ok ? "yes" : "no");
    errno = 0;
    int r = tgkill(getpid(), 4194304 + 999999, 0);
    printf("main: tgkill to an id nobody has: %d %s\n", r, strerror(errno));
    return 0;
}
