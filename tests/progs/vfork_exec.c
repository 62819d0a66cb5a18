/* vfork_exec: vfork from a thread while another thread is blocked.
 *
 * The child of vfork shares the parent's memory: what it stores the
 * parent sees (a fork would not show it). From a thread, with a reader
 * thread blocked on a pipe: vfork+execve of /bin/true and of a missing
 * path (the child's errno reaches the parent through memory), vfork
 * +_exit, and a child that closes the reader's fd, dup2s onto it and
 * resets the SIGUSR1 handler before _exit; the child has the calling
 * thread's signal mask: the parent's reader keeps
 * waiting and then reads, and the parent's handler still runs. The
 * output is the same natively and under libgreen. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 100

extern char **environ;

static int p[2];
static volatile int child_errno, child_ran;
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void *reader(void *arg)
{
    (void)arg;
    char buf[16] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    if (n < 0)
        printf("reader: %s\n", strerror(errno));
    else
        printf("reader: %zd '%s'\n", n, buf);
    return NULL;
}

/* vfork+execve of path; returns the exit status, the child's errno in
 * child_errno (stored by the child itself). */
static int spawn(const char *path)
{
    char *argv[] = {(char *)path, NULL};
    child_errno = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        execve(path, argv, environ);
        child_errno = errno;
        _exit(127);
    }
    int st = -1;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
}

static void *spawner(void *arg)
{
    (void)arg;
    int ok = 0, missing = 0;
    for (int i = 0; i < ROUNDS; i++) {
        ok += spawn("/bin/true") == 0 && child_errno == 0;
        missing += spawn("/nonexistent/prog") == 127 && child_errno == ENOENT;
    }
    printf("execve /bin/true: %d of %d\n", ok, ROUNDS);
    printf("execve missing: %d of %d (ENOENT seen by the parent)\n", missing, ROUNDS);

    int st = -1;
    pid_t pid = vfork();
    if (pid == 0) {
        child_ran = 1;
        _exit(3);
    }
    printf("vfork+_exit: %s, exit %d, child's store seen %d\n", pid > 0 ? "pid" : "fail",
           waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1, child_ran);

    /* The child has the calling thread's mask (the reader's differs). */
    sigset_t usr2, cur;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr2, NULL));
    child_ran = -1;
    pid = vfork();
    if (pid == 0) {
        child_ran = sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGUSR2) == 1;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &usr2, NULL));
    printf("child has the caller's mask: %d\n", child_ran);

    /* The child closes the reader's fd, dup2s onto it and drops the
     * handler: all the child's own, the parent keeps its fd and handler. */
    pid = vfork();
    if (pid == 0) {
        int a = close(p[0]);
        int fd = open("/dev/null", O_RDONLY);
        int b = dup2(fd, p[0]);
        int c = dup2(fd, p[1]);
        struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
        int d = sigaction(SIGUSR1, &dfl, &old);
        child_ran =
            10 + (a == 0) + (b == p[0]) + (c == p[1]) + (d == 0) + (old.sa_handler == on_usr1);
        _exit(4);
    }
    printf("child closing fds: exit %d, child's calls ok %d of 5\n",
           waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1, child_ran - 10);
    raise(SIGUSR1);
    printf("parent's handler after the child's sigaction: %d\n", (int)usr1);
    fflush(stdout);
    if (write(p[1], "hello", 5) != 5)
        printf("write: %s\n", strerror(errno));
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    if (pipe(p) < 0 || sigaction(SIGUSR1, &sa, NULL) < 0) {
        perror("setup");
        return 1;
    }
    pthread_t r, s;
    CHECK(pthread_create(&r, NULL, reader, NULL));
    CHECK(pthread_create(&s, NULL, spawner, NULL));
    CHECK(pthread_join(s, NULL));
    CHECK(pthread_join(r, NULL));
    return 0;
}
