/* ucontext_switch: a program with its own user-level threads
 * (makecontext/swapcontext) beside a pthread. greenrun --check must say
 * that libgreen does not see those switches; run under the shim, a
 * context that sleeps suspends only the green thread that switched to
 * it, so the pthread keeps printing in between. */
#include <pthread.h>
#include <stdio.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

static ucontext_t main_ctx, co_ctx;
static char co_stack[64 * 1024];
static int pipe_fd[2];

static void coroutine(void)
{
    char c;
    /* Blocks until the pthread has written: natively only this OS
     * thread waits; under libgreen only this green thread. */
    if (read(pipe_fd[0], &c, 1) != 1)
        exit(1);
    printf("coroutine read %c\n", c);
    fflush(stdout);
    swapcontext(&co_ctx, &main_ctx);
}

static void *writer(void *arg)
{
    (void)arg;
    printf("writer runs while the coroutine waits\n");
    fflush(stdout);
    if (write(pipe_fd[1], "x", 1) != 1)
        exit(1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pipe(pipe_fd) < 0)
        return 1;
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = co_stack;
    co_ctx.uc_stack.ss_size = sizeof co_stack;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, coroutine, 0);
    CHECK(pthread_create(&t, NULL, writer, NULL));
    if (swapcontext(&main_ctx, &co_ctx) < 0)
        return 1;
    CHECK(pthread_join(t, NULL));
    printf("back in main\n");
    return 0;
}
