/* wait_cancel: the cancellation points of the waits for threads,
 * children and signals. A thread blocked in pthread_join, sigwait,
 * waitpid, wait, sigwaitinfo, sigtimedwait, sigsuspend or pause is
 * cancelled once blocked: its cleanup handler runs and it ends with
 * PTHREAD_CANCELED (never a -1 EINTR return, never a plain return). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int gate[2];
static pid_t child;

static void note(void *what)
{
    printf("cleanup %s\n", (const char *)what);
}

static void *stays(void *arg)
{
    char c;
    (void)arg;
    if (read(gate[0], &c, 1) != 1)
        return NULL;
    return NULL;
}

static void *joiner(void *arg)
{
    pthread_t t = *(pthread_t *)arg;
    pthread_cleanup_push(note, "pthread_join");
    printf("pthread_join returned %d\n", pthread_join(t, NULL));
    pthread_cleanup_pop(0);
    return NULL;
}

static sigset_t usr2;

static void *in_sigwait(void *arg)
{
    int sig;
    (void)arg;
    pthread_cleanup_push(note, "sigwait");
    printf("sigwait returned %d\n", sigwait(&usr2, &sig));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_sigwaitinfo(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, "sigwaitinfo");
    printf("sigwaitinfo returned %d\n", sigwaitinfo(&usr2, NULL));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_sigtimedwait(void *arg)
{
    struct timespec ts = {100, 0};
    (void)arg;
    pthread_cleanup_push(note, "sigtimedwait");
    printf("sigtimedwait returned %d\n", sigtimedwait(&usr2, NULL, &ts));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_waitpid(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, "waitpid");
    printf("waitpid returned %d\n", (int)waitpid(child, NULL, 0));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_wait(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, "wait");
    printf("wait returned %d\n", (int)wait(NULL));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_sigsuspend(void *arg)
{
    sigset_t none;
    (void)arg;
    sigemptyset(&none);
    pthread_cleanup_push(note, "sigsuspend");
    printf("sigsuspend returned %d\n", sigsuspend(&none));
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_pause(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, "pause");
    printf("pause returned %d\n", pause());
    pthread_cleanup_pop(0);
    return NULL;
}

/* Start f, let it block (a wide margin), cancel it, join it. */
static void cancel_blocked(void *(*f)(void *), void *arg, const char *what)
{
    pthread_t t;
    void *v;
    CHECK(pthread_create(&t, NULL, f, arg));
    usleep(50000);
    CHECK(pthread_cancel(t));
    CHECK(pthread_join(t, &v));
    printf("%s: cancelled %s\n", what, v == PTHREAD_CANCELED ? "yes" : "no");
    fflush(stdout);
}

int main(void)
{
    pthread_t t;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pipe(gate))
        return 1;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr2, NULL));

    CHECK(pthread_create(&t, NULL, stays, NULL));
    cancel_blocked(joiner, &t, "pthread_join");
    cancel_blocked(in_sigwait, NULL, "sigwait");
    cancel_blocked(in_sigwaitinfo, NULL, "sigwaitinfo");
    cancel_blocked(in_sigtimedwait, NULL, "sigtimedwait");

    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    cancel_blocked(in_waitpid, NULL, "waitpid");
    cancel_blocked(in_wait, NULL, "wait");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    cancel_blocked(in_sigsuspend, NULL, "sigsuspend");
    cancel_blocked(in_pause, NULL, "pause");

    if (write(gate[1], "x", 1) != 1)
        return 1;
    CHECK(pthread_join(t, NULL));
    printf("done\n");
    return 0;
}
