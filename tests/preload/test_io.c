/* test_io.c: blocking I/O, socket and polling calls under libgreen.so
 * give the same results as natively, never block the other green
 * threads, never leave O_NONBLOCK on a shared pipe, and carry a
 * thread-per-connection echo server through 1,000 concurrent clients
 * on one OS thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* One test per call family: each runs the same cases natively and under
 * the shim, while another thread exists (so the shim's waiting paths). */
#define SAME(name)                                                   \
    Test(io, name##_same_as_native, .timeout = TIMEOUT)              \
    {                                                                \
        assert_same((const char *const[]){"io_calls", #name, NULL}); \
    }
SAME(nonblock)
SAME(timeout)
SAME(accept)
SAME(stream)
SAME(bad)
SAME(poll)
SAME(stdio)
SAME(epoll_loops)
SAME(closeall)
/* sendfile, sendfile64, splice, tee: counts, offsets, errors; a sendfile
 * to a full socket waits while another thread runs. */
SAME(sendfile)
SAME(splice)
/* Alone after a green accept left the hidden O_NONBLOCK on the listening
 * socket, accept still blocks until a child process connects. */
SAME(accept_alone)
/* A read interrupted by a handler: resumed with SA_RESTART, EINTR
 * without. */
SAME(read_intr)
/* The same, and timeouts and EOF, on fds whose reads libgreen has
 * learned to wait for before the first attempt. */
SAME(learned)

/* Every read, write, recv, send, accept, connect, sendfile, splice, tee,
 * poll and select on every kind of fd, with zero lengths, the wrong
 * direction and bad pointers; FIFOs opened with open() read by two
 * threads and written 1 MiB at once; sleeps and signal waits with bad
 * pointers (tests/progs/edge_calls.c). */
Test(io, edge_calls_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"edge_calls", NULL});
}

/* Natively a read blocked in another thread ignores close; under
 * libgreen it wakes with EBADF, as the issue asks. */
/* libgreen's own fds are not the program's: every way of listing fds
 * finds only the program's. */
Test(io, own_fds_are_hidden_from_fd_scans, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"own_fds", NULL});
}

Test(io, close_wakes_a_waiting_reader_with_ebadf, .timeout = TIMEOUT)
{
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){"io_calls", "closewait", NULL}, NULL);
    cr_expect(strstr(r.out, "reader after close: -1 EBADF") != NULL, "%s%s", r.out, r.err);
    run_free(&r);
}

/* The program reads its standard input, a pipe the parent keeps open,
 * with green waits: the parent's description never has O_NONBLOCK. */
Test(io, a_shared_pipe_never_keeps_o_nonblock, .timeout = TIMEOUT)
{
    int p[2], out[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *env[] = {NULL, NULL};
        if (asprintf(&env[0], "LD_PRELOAD=%s", run_env("GREEN_LIB")) < 0)
            _exit(126);
        dup2(p[0], 0);
        dup2(out[1], 1);
        close(p[1]); /* else the program never sees the end of its input */
        close(out[0]);
        execle(run_prog_path("io_calls"), "io_calls", "stdin", (char *)NULL, env);
        _exit(127);
    }
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 100; i++) {
        cr_expect_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0, "O_NONBLOCK seen while it runs");
        cr_assert_eq(write(p[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }
    close(p[1]);
    char buf[256] = "";
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof buf - 1 && (r = read(out[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    cr_expect(strstr(buf, "stdin: 100000 bytes, O_NONBLOCK 0") != NULL, "%s", buf);
    cr_expect_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0, "O_NONBLOCK left on the shared pipe");
    close(p[0]);
    close(out[0]);
}

/* ---- the thread-per-connection echo server with 1,000 clients ---------- */

static pid_t server;

static void kill_server(void)
{
    if (server > 0) {
        kill(-server, SIGKILL);
        waitpid(server, NULL, 0);
        server = 0;
    }
}

/* Start echo_server under the shim; returns its port (first line). */
static int start_server(int *outfd)
{
    int o[2];
    cr_assert_eq(pipe(o), 0);
    server = fork();
    cr_assert_geq(server, 0);
    if (server == 0) {
        char *env[] = {NULL, NULL};
        setpgid(0, 0);
        if (asprintf(&env[0], "LD_PRELOAD=%s", run_env("GREEN_LIB")) < 0)
            _exit(126);
        dup2(o[1], 1);
        close(o[0]);
        execle(run_prog_path("echo_server"), "echo_server", "0", (char *)NULL, env);
        _exit(127);
    }
    setpgid(server, server);
    close(o[1]);
    char line[64] = "";
    size_t n = 0;
    struct pollfd p = {o[0], POLLIN, 0};
    while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 20000) == 1 &&
           read(o[0], line + n, 1) == 1)
        n++;
    *outfd = o[0];
    int port = 0;
    sscanf(line, "port %d", &port);
    return port;
}

Test(io, echo_server_carries_1000_clients_on_one_os_thread, .timeout = TIMEOUT, .fini = kill_server)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
    setrlimit(RLIMIT_NOFILE, &rl);
    cr_assert_geq(rl.rlim_cur, 1100, "need 1,100 fds, have %ld", (long)rl.rlim_cur);
    int outfd, port = start_server(&outfd);
    cr_assert_gt(port, 0, "echo_server did not say its port");
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int fleet[2];
    cr_assert_eq(pipe(fleet), 0);
    pid_t f = fork();
    if (f == 0) {
        dup2(fleet[1], 1);
        close(fleet[0]);
        execl(run_prog_path("echo_fleet"), "echo_fleet", "127.0.0.1", portstr, "1000", "3",
              (char *)NULL);
        _exit(127);
    }
    close(fleet[1]);
    /* Sample the server's threads while the load runs: the poll timeout
     * only picks the moment, nothing waits on it for ordering. */
    struct pollfd p = {fleet[0], POLLIN, 0};
    int most = 0, t;
    while (poll(&p, 1, 500) == 0)
        if ((t = run_os_threads(server)) > most)
            most = t;
    char buf[512] = "";
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof buf - 1 && (r = read(fleet[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    int status;
    waitpid(f, &status, 0);
    if ((t = run_os_threads(server)) > most)
        most = t;
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "echo_fleet: %#x %s", status, buf);
    cr_expect(strstr(buf, "conns 1000 ok 1000 failed 0 ") != NULL, "echo_fleet: %s", buf);
    cr_expect_eq(most, 1, "the server used %d OS threads", most);
    close(fleet[0]);
    close(outfd);
}

/* A read blocked on a FIFO, an eventfd, a timerfd, a signalfd, an
 * inotify fd or a pty waits green: under the shim the thread that makes
 * the event happen still runs (else the program hangs). */
Test(io, fd_kinds_wait_green_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"fd_kinds", NULL});
}
