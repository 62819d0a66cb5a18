/* threads_basic: the pthread calls every threaded program makes.
 *
 * create/join with return values, pthread_exit from a nested call,
 * detach (attribute and call), a caller-provided stack, a small stack,
 * pthread_self/pthread_equal, joining oneself, errno kept per thread
 * across a sleep, and pthread_exit from main while a thread still runs
 * (the process then ends with status 0 when that thread ends). The
 * output is the same natively and under libgreen. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void *times_ten(void *arg)
{
    return (void *)((intptr_t)arg * 10);
}

__attribute__((noinline)) static void inner_exit(void)
{
    pthread_exit((void *)42);
}

__attribute__((noinline)) static void nested_exit(void)
{
    inner_exit();
}

static void *exits_deep(void *arg)
{
    (void)arg;
    nested_exit();
    return NULL;
}

static pthread_t seen_self;
static void *record_self(void *arg)
{
    (void)arg;
    seen_self = pthread_self();
    return NULL;
}

/* Detached threads report through a pipe: nothing else may wait on them. */
static int done_pipe[2];
static void *detached_worker(void *arg)
{
    char c = (char)(intptr_t)arg;
    if (write(done_pipe[1], &c, 1) != 1)
        exit(1);
    return NULL;
}

static char user_stack[256 * 1024] __attribute__((aligned(64)));
static void *on_stack(void *arg)
{
    int local;
    char *p = (char *)&local;
    (void)arg;
    return (void *)(intptr_t)(p >= user_stack && p < user_stack + sizeof user_stack);
}

static void *errno_keeper(void *arg)
{
    int mine = (int)(intptr_t)arg;
    errno = mine;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    usleep(10000);
    return (void *)(intptr_t)(errno == mine);
}

static void *outlives_main(void *arg)
{
    char c;
    (void)arg;
    /* EOF once main closed the write end just before pthread_exit. */
    ssize_t n = read(done_pipe[0], &c, 1);
    printf("after main's pthread_exit: read returned %zd\n", n);
    return NULL;
}

static void join_values(void)
{
    pthread_t t[8];
    for (intptr_t i = 0; i < 8; i++)
        CHECK(pthread_create(&t[i], NULL, times_ten, (void *)i));
    printf("join values:");
    for (int i = 0; i < 8; i++) {
        void *v;
        CHECK(pthread_join(t[i], &v));
        printf(" %ld", (long)(intptr_t)v);
    }
    printf("\n");
}

static void exit_and_self(void)
{
    pthread_t t;
    void *v;
    CHECK(pthread_create(&t, NULL, exits_deep, NULL));
    CHECK(pthread_join(t, &v));
    printf("pthread_exit value: %ld\n", (long)(intptr_t)v);
    CHECK(pthread_create(&t, NULL, record_self, NULL));
    CHECK(pthread_join(t, NULL));
    printf("self seen by thread equals id: %d\n", pthread_equal(seen_self, t) != 0);
    printf("main self equals itself: %d\n", pthread_equal(pthread_self(), pthread_self()) != 0);
    printf("main self differs from thread: %d\n", pthread_equal(pthread_self(), t) == 0);
    printf("join self: %s\n", strerrorname_np(pthread_join(pthread_self(), NULL)));
}

static void detach_cases(void)
{
    pthread_attr_t a;
    pthread_t t;
    char got[2];
    CHECK(pthread_attr_init(&a));
    CHECK(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
    CHECK(pthread_create(&t, &a, detached_worker, (void *)'a'));
    CHECK(pthread_attr_destroy(&a));
    CHECK(pthread_create(&t, NULL, detached_worker, (void *)'b'));
    CHECK(pthread_detach(t));
    if (read(done_pipe[0], &got[0], 1) != 1 || read(done_pipe[0], &got[1], 1) != 1)
        exit(1);
    printf("detached threads ran: %d\n", (got[0] == 'a' || got[0] == 'b') && got[0] != got[1]);
}

static void stack_cases(void)
{
    pthread_attr_t a;
    pthread_t t;
    void *v;
    CHECK(pthread_attr_init(&a));
    CHECK(pthread_attr_setstack(&a, user_stack, sizeof user_stack));
    CHECK(pthread_create(&t, &a, on_stack, NULL));
    CHECK(pthread_join(t, &v));
    printf("runs on the given stack: %ld\n", (long)(intptr_t)v);
    CHECK(pthread_attr_destroy(&a));
    CHECK(pthread_attr_init(&a));
    CHECK(pthread_attr_setstacksize(&a, 64 * 1024));
    CHECK(pthread_attr_setguardsize(&a, 8192));
    CHECK(pthread_create(&t, &a, times_ten, (void *)7));
    CHECK(pthread_join(t, &v));
    printf("64 KiB stack thread returned: %ld\n", (long)(intptr_t)v);
    CHECK(pthread_attr_destroy(&a));
}

static void errno_cases(void)
{
    pthread_t t[2];
    void *v[2];
    CHECK(pthread_create(&t[0], NULL, errno_keeper, (void *)(intptr_t)1111));
    CHECK(pthread_create(&t[1], NULL, errno_keeper, (void *)(intptr_t)2222));
    errno = 3333;
    usleep(5000);
    int main_kept = errno == 3333;
    CHECK(pthread_join(t[0], &v[0]));
    CHECK(pthread_join(t[1], &v[1]));
    printf("errno kept across sleeps: %d %d %d\n", (int)(intptr_t)v[0], (int)(intptr_t)v[1],
           main_kept);
}

int main(void)
{
    pthread_t t;
    if (pipe(done_pipe))
        return 1;
    join_values();
    exit_and_self();
    detach_cases();
    stack_cases();
    errno_cases();
    CHECK(pthread_create(&t, NULL, outlives_main, NULL));
    printf("main: pthread_exit\n");
    close(done_pipe[1]);
    pthread_exit(NULL);
}
