/* daemon_svc: a classic forking daemon with a thread per connection,
 * and the client that checks it.
 *
 *   daemon_svc DIR [-d]
 *
 * The daemon: double fork with setsid (or daemon(3) with -d), chdir to
 * /, umask, every fd above 2 closed by a loop (but the readiness pipe),
 * /dev/null on 0-2, a pid file in DIR, privileges dropped to nobody
 * when root, SIGHUP reloads (a generation counter), SIGTERM ends the
 * accept loop with EINTR and the daemon exits. Each connection gets a
 * thread answering "gen G pong LINE", and a housekeeping thread ticks
 * once a second meanwhile, as daemons' timer threads do.
 *
 * The client (the process started): waits for the daemon's port on the
 * readiness pipe, runs 200 client threads, sends SIGHUP and waits for
 * generation 1, sends SIGTERM and waits for the daemon to exit (pidfd).
 * The output is the same natively and under libgreen. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 200

static volatile sig_atomic_t gen, quit;

static void on_hup(int sig)
{
    (void)sig;
    gen++;
}

static void on_term(int sig)
{
    (void)sig;
    quit = 1;
}

static void *serve(void *arg)
{
    int c = (int)(long)arg;
    char buf[128], out[192];
    ssize_t n = read(c, buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        int len = snprintf(out, sizeof out, "gen %d pong %s\n", (int)gen, buf);
        if (write(c, out, (size_t)len) != len)
            _exit(3);
    }
    close(c);
    return NULL;
}

static void *housekeeping(void *arg)
{
    (void)arg;
    while (!quit)
        sleep(1);
    return NULL;
}

static void daemon_main(const char *dir, int notify)
{
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", dir);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(ls, 256) < 0 ||
        getsockname(ls, (struct sockaddr *)&sin, &len) < 0)
        _exit(4);
    FILE *f = fopen(pidfile, "w");
    if (!f)
        _exit(5);
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
        _exit(6);
    struct sigaction hup = {.sa_handler = on_hup, .sa_flags = SA_RESTART};
    struct sigaction term = {.sa_handler = on_term};
    sigaction(SIGHUP, &hup, NULL);
    sigaction(SIGTERM, &term, NULL);
    pthread_t hk;
    pthread_create(&hk, NULL, housekeeping, NULL);
    dprintf(notify, "%d\n", ntohs(sin.sin_port));
    close(notify);
    while (!quit) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            _exit(7);
        }
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, serve, (void *)(long)c))
            close(c);
        pthread_attr_destroy(&a);
    }
    exit(0);
}

/* The classic way: fork, setsid, fork, chdir, umask, close, /dev/null. */
static void become_daemon(int use_daemon3, int notify)
{
    if (use_daemon3) {
        if (daemon(0, 0) < 0)
            _exit(8);
        return;
    }
    if (setsid() < 0)
        _exit(9);
    pid_t pid = fork();
    if (pid != 0)
        _exit(pid < 0 ? 10 : 0);
    if (chdir("/") < 0)
        _exit(11);
    umask(027);
    for (int fd = 3; fd < 4096; fd++)
        if (fd != notify)
            close(fd);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        _exit(12);
    if (null > 2)
        close(null);
}

static int port;
static int ask(const char *line, char *reply, size_t n)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof sin) < 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    ssize_t w = write(s, line, strlen(line)), got = 0, r;
    while (w > 0 && (size_t)got < n - 1 && (r = read(s, reply + got, n - 1 - (size_t)got)) > 0)
        got += r;
    reply[got] = '\0';
    close(s);
    return (int)got;
}

static void *client(void *arg)
{
    char line[64], want[96], reply[128];
    snprintf(line, sizeof line, "hello %ld\n", (long)arg);
    snprintf(want, sizeof want, "gen 0 pong hello %ld\n", (long)arg);
    return (void *)(long)(ask(line, reply, sizeof reply) > 0 && !strcmp(reply, want));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int use_daemon3 = argc > 2 && !strcmp(argv[2], "-d");
    int p[2];
    if (pipe(p) < 0)
        return 1;
    pid_t first = fork();
    if (first == 0) {
        close(p[0]);
        become_daemon(use_daemon3, p[1]);
        daemon_main(argv[1], p[1]);
    }
    close(p[1]);
    int st;
    waitpid(first, &st, 0);
    printf("first child exit %d\n", WEXITSTATUS(st));
    char buf[32] = "";
    ssize_t n = 0, r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += r;
    port = atoi(buf);
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", argv[1]);
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    if (!f || fscanf(f, "%d", &pid) != 1 || port <= 0) {
        printf("daemon did not start\n");
        return 1;
    }
    fclose(f);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    pthread_t th[CLIENTS];
    long ok = 0;
    for (long i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client, (void *)i);
    for (int i = 0; i < CLIENTS; i++) {
        void *v;
        pthread_join(th[i], &v);
        ok += (long)v;
    }
    printf("%ld of %d clients answered\n", ok, CLIENTS);

    char status[256], line[256];
    snprintf(status, sizeof status, "/proc/%d/status", pid);
    f = fopen(status, "r");
    const char *uid = "unknown";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4))
            uid = strstr(line, "65534") ? "nobody" : "unchanged";
    if (f)
        fclose(f);
    printf("daemon runs as: %s\n", getuid() == 0 ? uid : "nobody");

    kill(pid, SIGHUP);
    char reply[128] = "";
    int tries = 0;
    while (tries++ < 100000 &&
           (ask("again\n", reply, sizeof reply) <= 0 || strcmp(reply, "gen 1 pong again\n")))
        ;
    printf("after SIGHUP: %s", reply);
    kill(pid, SIGTERM);
    struct pollfd pf = {pidfd, POLLIN, 0};
    printf("daemon exited after SIGTERM: %s\n", poll(&pf, 1, 10000) == 1 ? "yes" : "no");
    unlink(pidfile);
    return 0;
}
