/* spawn_overlap: other threads run while a spawned child runs.
 *
 * A thread starts a child (vfork + execve, then posix_spawn) whose stdin
 * is a pipe and which exits only after reading a line from it; the line
 * comes from another thread, woken by the spawner once the spawn call
 * has returned. The parent's OS thread is stopped only until the child
 * has exec'd (as natively for the caller): were every thread held until
 * the child exits, the writer would never run and the program would
 * hang. Then a posix_spawned child shows its signal mask: the calling
 * thread's. Prints the same natively and under libgreen. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define SCRIPT "read line && echo \"child read: $line\""

extern char **environ;
static char *child_argv[] = {"sh", "-c", SCRIPT, NULL};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int spawned, quit;
static int p[2];

/* Writes one line to the child each time the spawner says it started. */
static void *writer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!spawned && !quit)
            pthread_cond_wait(&cv, &mu);
        if (quit)
            break;
        spawned = 0;
        if (write(p[1], "go\n", 3) != 3)
            printf("write: %s\n", strerror(errno));
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void wake_writer(int done)
{
    pthread_mutex_lock(&mu);
    spawned = !done;
    quit = done;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static void reap(const char *how, pid_t pid)
{
    int st = -1;
    if (pid < 0) {
        printf("%s: failed\n", how);
        return;
    }
    wake_writer(0);
    if (waitpid(pid, &st, 0) != pid)
        printf("%s: waitpid: %s\n", how, strerror(errno));
    else
        printf("%s: child exit %d\n", how, WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st));
}

static void *spawner(void *arg)
{
    (void)arg;
    pid_t pid = vfork();
    if (pid == 0) {
        if (dup2(p[0], 0) == 0)
            execve("/bin/sh", child_argv, environ);
        _exit(127);
    }
    reap("vfork", pid);

    posix_spawn_file_actions_t fa;
    CHECK(posix_spawn_file_actions_init(&fa));
    CHECK(posix_spawn_file_actions_adddup2(&fa, p[0], 0));
    int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, child_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    reap("posix_spawn", e ? -1 : pid);

    /* The child starts with the calling thread's signal mask. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr2, NULL));
    char *mask_argv[] = {"grep", "SigBlk", "/proc/self/status", NULL};
    int st = -1;
    if (posix_spawnp(&pid, "grep", NULL, NULL, mask_argv, environ) == 0)
        waitpid(pid, &st, 0);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &usr2, NULL));
    printf("mask child: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pipe(p) < 0) {
        perror("pipe");
        return 1;
    }
    pthread_t w, s;
    CHECK(pthread_create(&w, NULL, writer, NULL));
    CHECK(pthread_create(&s, NULL, spawner, NULL));
    CHECK(pthread_join(s, NULL));
    wake_writer(1);
    CHECK(pthread_join(w, NULL));
    return 0;
}
