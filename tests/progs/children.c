/* children: child processes from a threaded program.
 *
 * waitpid while another thread serves (ticks), WNOHANG, ECHILD, wait,
 * wait3, wait4, waitid, the program's own SIGCHLD handler, system,
 * popen/pclose, posix_spawn, vfork+exec, fork with pthread_atfork
 * handlers from a threaded program (the child has the calling thread
 * only), and N threads each running system("sleep 0.3") at once. The
 * output is the same natively and under libgreen. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

static struct ticker tick;
static volatile sig_atomic_t sigchld_seen;

static pid_t child_exiting(int code, int ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        _exit(code);
    }
    return pid;
}

static void on_sigchld(int sig)
{
    (void)sig;
    sigchld_seen = 1;
}

static void *system_sleep(void *arg)
{
    (void)arg;
    return (void *)(long)system("sleep 0.3");
}

static int atfork_prepare, atfork_parent, atfork_child;
static void prep(void)
{
    atfork_prepare++;
}
static void par(void)
{
    atfork_parent++;
}
static void chi(void)
{
    atfork_child++;
}

static int pipefd[2];
static void *reader(void *arg)
{
    (void)arg;
    char c;
    if (read(pipefd[0], &c, 1) == 1)
        printf("reader got %c in process %s\n", c, getpid() == *(pid_t *)arg ? "parent" : "child");
    fflush(stdout);
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    int st;
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART};
    sigaction(SIGCHLD, &sa, NULL);
    ticker_start(&tick, 20);

    pid_t pid = child_exiting(7, 300);
    printf("WNOHANG while running: %d\n", (int)waitpid(pid, &st, WNOHANG));
    int before = tick.ticks;
    pid_t r = waitpid(pid, &st, 0);
    printf("waitpid: %s, exit %d, others ran: %s\n", r == pid ? "pid" : "other", WEXITSTATUS(st),
           tick.ticks > before + 3 ? "yes" : "no");
    printf("SIGCHLD handler ran: %s\n", sigchld_seen ? "yes" : "no");
    r = waitpid(-1, &st, 0);
    printf("waitpid no child: %d %s\n", (int)r, strerror(errno));
    r = waitpid(-1, &st, 0x4000000);
    printf("waitpid bad options: %d %s\n", (int)r, strerror(errno));

    pid = child_exiting(3, 100);
    r = wait(&st);
    printf("wait: %s exit %d\n", r == pid ? "pid" : "other", WEXITSTATUS(st));
    pid = child_exiting(4, 100);
    struct rusage ru;
    r = wait3(&st, 0, &ru);
    printf("wait3: %s exit %d\n", r == pid ? "pid" : "other", WEXITSTATUS(st));
    pid = child_exiting(5, 100);
    r = wait4(pid, &st, 0, &ru);
    printf("wait4: %s exit %d\n", r == pid ? "pid" : "other", WEXITSTATUS(st));
    pid = child_exiting(6, 100);
    r = waitpid(0, &st, 0);
    printf("waitpid(0): %s exit %d\n", r == pid ? "pid" : "other", WEXITSTATUS(st));
    pid = child_exiting(8, 100);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    printf("waitid WNOHANG: %d pid %d\n", waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG),
           (int)si.si_pid);
    int w = waitid(P_PID, (id_t)pid, &si, WEXITED);
    printf("waitid: %d %s status %d code %s\n", w, si.si_pid == pid ? "pid" : "other", si.si_status,
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other");
    pid = child_exiting(9, 100);
    w = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid P_ALL: %d %s status %d\n", w, si.si_pid == pid ? "pid" : "other", si.si_status);

    printf("system exit 3: %#x\n", system("exit 3"));
    printf("system(NULL): %s\n", system(NULL) ? "shell" : "none");
    FILE *f = popen("echo hello from popen", "r");
    char line[128] = "";
    if (f && fgets(line, sizeof line, f))
        printf("popen: %s", line);
    printf("pclose: %#x\n", f ? pclose(f) : -1);
    f = popen("exit 5", "r");
    printf("pclose exit 5: %#x\n", f ? pclose(f) : -1);

    char *sargv[] = {"sh", "-c", "exit 4", NULL};
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, sargv, environ) == 0 &&
        waitpid(pid, &st, 0) == pid)
        printf("posix_spawn: exit %d\n", WEXITSTATUS(st));
    pid = vfork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "exit 2", (char *)NULL);
        _exit(127);
    }
    printf("vfork: exit %d\n", waitpid(pid, &st, 0) == pid ? WEXITSTATUS(st) : -1);

    /* fork with a thread blocked in read: in the child that thread does
     * not exist, so the byte the child writes stays for the parent's. */
    pthread_atfork(prep, par, chi);
    pid_t parent = getpid();
    pthread_t rd;
    if (pipe(pipefd) < 0)
        return 1;
    pthread_create(&rd, NULL, reader, &parent);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pthread_t t;
        void *v = NULL;
        if (write(pipefd[1], "x", 1) != 1)
            _exit(1);
        pthread_create(&t, NULL, nothing, (void *)42);
        pthread_join(t, &v);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        printf("child: atfork child %d, new thread gave %ld\n", atfork_child, (long)v);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    pthread_join(rd, NULL);
    printf("parent: atfork prepare %d parent %d, child exit %d\n", atfork_prepare, atfork_parent,
           WEXITSTATUS(st));

    /* Concurrent system() calls overlap: as many as libgreen has helper
     * threads by default (further ones would queue), in less time than
     * one after the other. */
    enum { N = 3 };
    pthread_t th[N];
    double t0 = now_s();
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, system_sleep, NULL);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        void *v;
        pthread_join(th[i], &v);
        ok += v == 0;
    }
    double el = now_s() - t0;
    printf("%d concurrent system(sleep 0.3): %d ok, overlapped: %s\n", N, ok,
           el < 0.3 * (N - 1) ? "yes" : "no");
    ticker_stop(&tick);
    return 0;
}
