/* signals: handled signals interrupt blocking calls of threads.
 *
 * Each case runs with a second thread alive (so that under libgreen the
 * calls wait green): SIGALRM interrupting a blocking read (EINTR) and a
 * sleep (seconds left) and nanosleep (rem), SIGTERM ending a blocking
 * accept with EINTR, SA_RESTART restarting waitpid, pthread_kill
 * interrupting one chosen thread, sigwait/sigwaitinfo/sigtimedwait in a
 * thread, pause in a thread while main blocks the signal, sigsuspend,
 * and sigaction reading back the program's own handler. The output is
 * the same natively and under libgreen. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile int stop;

static void on_sig(int sig)
{
    handled = sig;
}

static void handle(int sig, int flags)
{
    struct sigaction sa = {.sa_handler = on_sig, .sa_flags = flags};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void ms_sleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Keeps a second thread alive; it blocks the signals of the test, so
 * that natively none of them lands on it. */
static void *idler(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGALRM, SIGTERM, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    while (!stop)
        ms_sleep(20);
    return NULL;
}

static void *term_later(void *arg)
{
    ms_sleep(200);
    kill(getpid(), *(int *)arg);
    return NULL;
}

static int fds[2];
static void *read_one(void *arg)
{
    (void)arg;
    char c;
    ssize_t r = read(fds[0], &c, 1);
    return (void *)(long)(r < 0 ? -errno : r);
}

static void *waiter(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    return (void *)(long)sig;
}

static void *pauser(void *arg)
{
    (void)arg;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    int r = pause();
    return (void *)(long)(r < 0 ? errno : 0);
}

int main(void)
{
    pthread_t idle;
    pthread_create(&idle, NULL, idler, NULL);
    ms_sleep(50); /* let it block its signals before any is sent */

    /* SIGALRM without SA_RESTART ends a blocking read with EINTR. */
    handle(SIGALRM, 0);
    if (pipe(fds) < 0)
        return 1;
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    ssize_t r = read(fds[0], &c, 1);
    printf("read: %zd %s, handler %s\n", r, r < 0 ? strerror(errno) : "",
           handled == SIGALRM ? "ran" : "did not run");

    handled = 0;
    alarm(1);
    unsigned left = sleep(5);
    /* sleep rounds the rest to whole seconds: 3 or 4 on a busy machine */
    printf("sleep interrupted, 3 or 4 s left: %s, errno %s\n",
           left >= 3 && left <= 4 ? "yes" : "no", strerror(errno));
    handled = 0;
    alarm(1);
    struct timespec req = {5, 0}, rem = {0, 0};
    int n = nanosleep(&req, &rem);
    printf("nanosleep: %d %s, rem %s\n", n, strerror(errno),
           rem.tv_sec >= 3 && rem.tv_sec <= 4 ? "3-4 s" : "wrong");

    /* SIGTERM ends a blocking accept with EINTR. */
    handle(SIGTERM, 0);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls, (struct sockaddr *)&sin, sizeof sin);
    listen(ls, 5);
    pthread_t t;
    int sig = SIGTERM;
    pthread_create(&t, NULL, term_later, &sig);
    int a = accept(ls, NULL, NULL);
    printf("accept: %d %s, handler %s\n", a, a < 0 ? strerror(errno) : "",
           handled == SIGTERM ? "ran" : "did not run");
    pthread_join(t, NULL);
    close(ls);

    /* SA_RESTART: waitpid goes on waiting after the handler. */
    handle(SIGUSR1, SA_RESTART);
    handled = 0;
    pid_t pid = fork();
    if (pid == 0) {
        ms_sleep(400);
        _exit(3);
    }
    sig = SIGUSR1;
    pthread_create(&t, NULL, term_later, &sig);
    int st;
    pid_t w = waitpid(pid, &st, 0);
    printf("waitpid with SA_RESTART: %s exit %d, handler %s\n", w == pid ? "pid" : strerror(errno),
           WEXITSTATUS(st), handled == SIGUSR1 ? "ran" : "did not run");
    pthread_join(t, NULL);

    /* pthread_kill interrupts the chosen thread's read. */
    handle(SIGUSR2, 0);
    pthread_t rd;
    pthread_create(&rd, NULL, read_one, NULL);
    ms_sleep(100);
    pthread_kill(rd, SIGUSR2);
    void *v;
    pthread_join(rd, &v);
    printf("pthread_kill: read in thread gave %s\n", (long)v == -EINTR ? "EINTR" : "other");

    /* sigwait in a thread for a signal every thread blocks. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_t wt;
    pthread_create(&wt, NULL, waiter, &set);
    ms_sleep(100);
    kill(getpid(), SIGUSR1);
    pthread_join(wt, &v);
    printf("sigwait: %s\n", (long)v == SIGUSR1 ? "SIGUSR1" : "other");
    siginfo_t si;
    struct timespec tmo = {0, 100000000};
    int s2 = sigtimedwait(&set, &si, &tmo);
    printf("sigtimedwait empty: %d %s\n", s2, strerror(errno));
    kill(getpid(), SIGUSR1);
    s2 = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: %s from %s\n", s2 == SIGUSR1 ? "SIGUSR1" : "other",
           si.si_pid == getpid() ? "self" : "other");

    /* pause in a thread that alone accepts SIGUSR2. */
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    handled = 0;
    pthread_t pt;
    pthread_create(&pt, NULL, pauser, NULL);
    ms_sleep(100);
    kill(getpid(), SIGUSR2);
    pthread_join(pt, &v);
    printf("pause: %s, handler %s\n", (long)v == EINTR ? "EINTR" : "other",
           handled == SIGUSR2 ? "ran" : "did not run");

    /* sigsuspend with SIGUSR2 pending-to-come from another thread. */
    handled = 0;
    sig = SIGUSR2;
    pthread_create(&t, NULL, term_later, &sig);
    sigset_t none;
    sigemptyset(&none);
    int ss = sigsuspend(&none);
    printf("sigsuspend: %d %s, handler %s\n", ss, strerror(errno),
           handled == SIGUSR2 ? "ran" : "did not run");
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    struct sigaction back;
    sigaction(SIGUSR2, NULL, &back);
    printf("sigaction reads back the handler: %s, flags %#x\n",
           back.sa_handler == on_sig ? "yes" : "no", (unsigned)back.sa_flags);
    printf("signal() returns the old handler: %s\n",
           signal(SIGUSR2, SIG_DFL) == on_sig ? "yes" : "no");

    stop = 1;
    pthread_join(idle, NULL);
    return 0;
}
