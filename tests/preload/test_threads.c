/* test_threads.c: pthreads, C11 threads, C++ std::thread and Python's
 * threading under libgreen: the same results as natively, on one OS
 * thread, with waits that overlap instead of serialising. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

Test(threads, sync_objects_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"threads_sync", NULL});
}

/* Named and process-shared semaphores and a process-shared mutex used
 * with a forked child; pthread_create's EAGAIN when the stack cannot be
 * had. */
Test(threads, shared_objects_and_no_memory_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"threads_shared", NULL});
}

Test(threads, c11_threads_same_as_native_on_one_os_thread, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"threads_c11", "-t", NULL});
}

Test(threads, cxx_std_thread_same_as_native_on_one_os_thread, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"threads_cxx", "-t", NULL});
}

/* Each thread its own gettid(), main's the pid; tgkill takes them. */
Test(threads, thread_ids_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"thread_ids", NULL});
}

/* An allocator that starts through pthread keys, once and a mutex is
 * not re-entered by them: it initialises once, and fork does not hang. */
Test(threads, allocator_booting_through_keys_inits_once, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"malloc_boot", NULL});
}

/* Threads a library loaded after libgreen starts through
 * dlsym(RTLD_NEXT, "pthread_create") are green: joined as natively, and
 * the process keeps one OS thread while they live. */
Test(threads, rtld_next_pthread_create_makes_green_threads, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"dl_next", NULL});
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){"dl_next", "-t", NULL}, NULL);
    cr_expect(strstr(r.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s%s", r.out, r.err);
    run_free(&r);
}

/* Each thread's own __thread, _Thread_local, errno and library TLS (one
 * library linked, one dlopen'ed once the threads exist), the stack
 * pthread_getattr_np names, a deep recursion. */
Test(threads, tls_per_thread_same_as_native_on_one_os_thread, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"tls_threads", "-t", NULL});
}

/* thread_local constructors and destructors, in order, before keys'. */
Test(threads, cxx_thread_local_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"tls_cxx", NULL});
}

/* ---- Python (Debian's python3; scripts/setup installs it) ---------------- */

static struct run_result py(int preload, const char *script)
{
    struct run_result r;
    const char *const argv[] = {PYTHON, "-c", script, NULL};
    run_ok(&r, preload, argv, NULL);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "python3 status %#x: %s", r.status,
              r.err);
    return r;
}

#define PY_THREADS "print([l for l in open('/proc/self/status') if l.startswith('Threads')][0])\n"

/* 500 threads sleeping 1 s each overlap: about 1 s, not 500. */
Test(threads, python_500_sleepers_overlap_on_one_os_thread, .timeout = TIMEOUT)
{
    need_python();
    struct run_result r = py(1, "import threading, time\n"
                                "ts = [threading.Thread(target=time.sleep, args=(1,))"
                                " for _ in range(500)]\n"
                                "for t in ts: t.start()\n"
                                "for t in ts: t.join()\n" PY_THREADS);
    cr_expect(strstr(r.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", r.out);
    cr_expect_lt(r.elapsed, 5.0, "500 sleeps of 1 s took %.1f s", r.elapsed);
    cr_expect_geq(r.elapsed, 1.0, "the sleeps ended early (%.2f s)", r.elapsed);
    run_free(&r);
}

/* queue.Queue: 50 producers and 50 consumers pass 100,000 items. */
Test(threads, python_queue_producers_consumers_sum_exactly, .timeout = TIMEOUT)
{
    need_python();
    struct run_result r =
        py(1, "import threading, queue\n"
              "q = queue.Queue(maxsize=1000); N = 100000; P = 50\n"
              "sums = []; lock = threading.Lock()\n"
              "def prod(i):\n"
              "    for v in range(i, N, P): q.put(v)\n"
              "def cons():\n"
              "    s = 0\n"
              "    while (v := q.get()) is not None: s += v\n"
              "    with lock: sums.append(s)\n"
              "ps = [threading.Thread(target=prod, args=(i,)) for i in range(P)]\n"
              "cs = [threading.Thread(target=cons) for _ in range(50)]\n"
              "for t in ps + cs: t.start()\n"
              "for t in ps: t.join()\n"
              "for _ in cs: q.put(None)\n"
              "for t in cs: t.join()\n"
              "print('sum', sum(sums), sum(sums) == N * (N - 1) // 2)\n" PY_THREADS);
    cr_expect(strstr(r.out, "sum 4999950000 True\n") != NULL, "wrong sum:\n%s", r.out);
    cr_expect(strstr(r.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", r.out);
    run_free(&r);
}

/* socketserver.ThreadingTCPServer under libgreen serves 1,000 clients
 * that connect at once (threads of a native python3 process); every
 * reply is checked. The server prints its port, serves, then prints its
 * OS thread count. */
static const char server_py[] = "import socketserver, sys, threading, time\n"
                                "class H(socketserver.BaseRequestHandler):\n"
                                "    def handle(self):\n"
                                "        data = b''\n"
                                "        while not data.endswith(b'\\n'):\n"
                                "            d = self.request.recv(4096)\n"
                                "            if not d: return\n"
                                "            data += d\n"
                                "        self.request.sendall(b'echo:' + data)\n"
                                "class S(socketserver.ThreadingTCPServer):\n"
                                "    daemon_threads = True\n"
                                "    request_queue_size = 2048\n"
                                "srv = S(('127.0.0.1', 0), H)\n"
                                "print(srv.server_address[1], flush=True)\n"
                                "for _ in range(1000): srv.handle_request()\n"
                                "while threading.active_count() > 1: time.sleep(0.01)\n" PY_THREADS;

static const char client_py[] =
    "import socket, sys, threading\n"
    "port = int(sys.stdin.readline()); n = 1000; bad = []\n"
    "go = threading.Barrier(n)\n"
    "def run(i):\n"
    "    s = socket.create_connection(('127.0.0.1', port)); go.wait()\n"
    "    msg = ('client %d\\n' % i).encode(); s.sendall(msg); got = b''\n"
    "    while not got.endswith(b'\\n'):\n"
    "        d = s.recv(4096)\n"
    "        if not d: break\n"
    "        got += d\n"
    "    if got != b'echo:' + msg: bad.append(i)\n"
    "    s.close()\n"
    "ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]\n"
    "for t in ts: t.start()\n"
    "for t in ts: t.join()\n"
    "print('bad', len(bad))\n";

Test(threads, python_threading_tcp_server_serves_1000_clients, .timeout = TIMEOUT)
{
    need_python();
    /* The server runs under the shim with its stdout on a pipe; the
     * client gets the port line on its stdin. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t srv = fork();
    cr_assert_neq(srv, -1);
    if (srv == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        setenv("LD_PRELOAD", run_env("GREEN_LIB"), 1);
        alarm(RUN_LIMIT);
        execl(PYTHON, PYTHON, "-c", server_py, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char port[32] = "", tail[256] = "";
    cr_assert(fgets(port, sizeof port, f) != NULL, "the server printed no port");
    struct run_result c;
    const char *const argv[] = {PYTHON, "-c", client_py, NULL};
    int rc = run_prog_in(&c, 0, argv, NULL, RUN_LIMIT, port, strlen(port));
    cr_expect_eq(rc, 0, "client did not finish: %s", c.err);
    cr_expect_str_eq(c.out, "bad 0\n", "clients: %s %s", c.out, c.err);
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    tail[n] = '\0';
    fclose(f);
    int st;
    cr_assert_eq(waitpid(srv, &st, 0), srv);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server status %#x", st);
    cr_expect(strstr(tail, "Threads:\t1\n") != NULL, "server not on one OS thread: %s", tail);
    run_free(&c);
}

Test(threads, deferred_cancellation_and_cleanup_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"threads_cancel", NULL});
}

/* ---- a real program with 43 KB of TLS: haproxy, nbthread 4 -------------- */

#define HAPROXY "/usr/sbin/haproxy"

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    return ntohs(a.sin_port);
}

static int dial(int port)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
        return s;
    if (s >= 0)
        close(s);
    return -1;
}

/* Start haproxy (under the shim with preload) and wait until it accepts. */
static pid_t start_haproxy(int preload, const char *cfg, int port)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *env[] = {NULL, NULL};
        setpgid(0, 0);
        if (preload && asprintf(&env[0], "LD_PRELOAD=%s", run_env("GREEN_LIB")) < 0)
            _exit(126);
        execle(HAPROXY, "haproxy", "-f", cfg, "-db", "-q", (char *)NULL, env);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) { /* up to 10 s to start */
        int s = dial(port);
        if (s >= 0) {
            close(s);
            return pid;
        }
        struct timespec ten_ms = {0, 10000000};
        nanosleep(&ten_ms, NULL);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_fail("haproxy did not listen on port %d", port);
    return -1; /* not reached */
}

/* 8 requests open at once; returns how many got the configured answer. */
static int requests(int port)
{
    int s[8], ok = 0;
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    for (int i = 0; i < 8; i++)
        s[i] = dial(port);
    for (int i = 0; i < 8; i++)
        if (s[i] >= 0 && write(s[i], req, sizeof req - 1) != (ssize_t)sizeof req - 1)
            close(s[i]), s[i] = -1;
    for (int i = 0; i < 8; i++) {
        char buf[1024] = "";
        ssize_t n = 0, r;
        while (s[i] >= 0 && n < (ssize_t)sizeof buf - 1 &&
               (r = read(s[i], buf + n, sizeof buf - 1 - n)) > 0)
            n += r;
        ok += strstr(buf, "200") && strstr(buf, "hello from haproxy");
        if (s[i] >= 0)
            close(s[i]);
    }
    return ok;
}

/* Its thread id and per-thread state live in TLS: before each green
 * thread had its own, its workers never answered under libgreen. */
Test(real, haproxy_with_4_threads_answers_on_one_os_thread, .timeout = TIMEOUT)
{
    if (access(HAPROXY, X_OK) != 0)
        cr_skip_test(HAPROXY " is not installed (scripts/setup installs haproxy)");
    int port = free_port();
    char cfg[] = "/tmp/green-haproxy-XXXXXX";
    int fd = mkstemp(cfg);
    cr_assert_geq(fd, 0);
    dprintf(fd,
            "global\n  nbthread 4\ndefaults\n  mode http\n  timeout connect 1s\n"
            "  timeout client 5s\n  timeout server 5s\nfrontend fe\n"
            "  bind 127.0.0.1:%d\n  http-request return status 200 content-type "
            "text/plain string \"hello from haproxy\"\n",
            port);
    close(fd);
    for (int preload = 0; preload <= 1; preload++) {
        pid_t pid = start_haproxy(preload, cfg, port);
        int ok = 0;
        for (int round = 0; round < 5; round++)
            ok += requests(port);
        int threads = run_os_threads(pid);
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_expect_eq(ok, 40, "%s: %d of 40 requests answered", preload ? "libgreen" : "native", ok);
        if (preload)
            cr_expect_eq(threads, 1, "haproxy under libgreen runs %d OS threads", threads);
        else
            cr_expect_geq(threads, 4, "native haproxy runs %d OS threads", threads);
    }
    unlink(cfg);
}

/* pthread_join, sigwait, the wait family, sigwaitinfo, sigtimedwait,
 * sigsuspend and pause are cancellation points. */
Test(threads, waits_are_cancellation_points_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"wait_cancel", NULL});
}

/* Edge semantics of blocking calls: restarts after SA_RESTART, connect
 * after a timeout, signals held for a thread that blocks them, epoll fd
 * closed meanwhile, a reset during a write, sigwait with the fd table
 * full, a listening socket passed on, huge stacks, tryjoin. */
Test(threads, wait_edges_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"wait_edges", NULL});
}
