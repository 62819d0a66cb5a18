/* test_process.c: children, name lookups, files and signals give the
 * same results under libgreen.so as natively, and under libgreen they
 * do not block the other green threads.
 *
 * The concurrent lookups need a slow DNS server the test controls: the
 * test process moves into private mount and network namespaces (root
 * only), brings up lo, bind-mounts its own resolv.conf over
 * /etc/resolv.conf and starts tests/progs/dns_slow on 127.0.0.1:53.
 * Where that is not permitted the test is skipped, saying why. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define TIMEOUT 90
#define RUN_LIMIT 40
#define PYTHON "/usr/bin/python3"

static void run_ok(struct run_result *r, int preload, const char *const argv[],
                   const char *const env[])
{
    run_must_finish(r, preload, argv, env, RUN_LIMIT);
}

/* Same stdout, stderr and status natively and under the shim. */
static void assert_same(const char *const argv[])
{
    run_expect_same(argv, NULL, RUN_LIMIT, NULL);
}

Test(netdb, lookups_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"lookups", NULL});
}

Test(process, children_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"children", NULL});
}

/* A real vfork: the child's stores reach the parent, its close, dup2
 * and sigaction leave the parent's records alone (see vfork_exec.c). */
Test(process, vfork_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"vfork_exec", NULL});
}

/* While a child started by vfork or posix_spawn runs, the other
 * threads run: the child waits for a line only another thread writes
 * (the program hangs otherwise); a posix_spawned child has the calling
 * thread's signal mask (see spawn_overlap.c). */
Test(process, threads_run_while_a_spawned_child_runs, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"spawn_overlap", NULL});
}

Test(signal, signals_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"signals", NULL});
}

Test(file, files_same_as_native, .timeout = TIMEOUT)
{
    char dir[] = "/tmp/green-files-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    assert_same((const char *const[]){"files", dir, NULL});
    rmdir(dir);
}

/* A forking daemon (double fork and setsid, or daemon(3)) answers 200
 * clients with a thread each, reloads on SIGHUP and exits on SIGTERM. */
static void daemon_same(const char *how)
{
    char dir[] = "/tmp/green-daemon-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    assert_same((const char *const[]){"daemon_svc", dir, how, NULL});
    rmdir(dir);
}

Test(process, forking_daemon_same_as_native, .timeout = TIMEOUT)
{
    daemon_same(NULL);
}

Test(process, daemon3_same_as_native, .timeout = TIMEOUT)
{
    daemon_same("-d");
}

/* ---- a slow resolver in private namespaces ---------------------------------- */

static pid_t dns_pid;

static void stop_dns(void)
{
    if (dns_pid > 0) {
        kill(dns_pid, SIGKILL);
        waitpid(dns_pid, NULL, 0);
    }
}

/* Namespaces, lo up, our resolv.conf; a reason to skip, or NULL. */
static const char *private_resolver(void)
{
    static char why[256];
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
        snprintf(why, sizeof why, "unshare(CLONE_NEWNS|CLONE_NEWNET): %s (needs root)",
                 strerror(errno));
        return why;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return "cannot make / private in the new mount namespace";
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
        return "cannot bring lo up in the new network namespace";
    close(s);
    char conf[] = "/tmp/green-resolv-XXXXXX";
    int fd = mkstemp(conf);
    const char text[] = "nameserver 127.0.0.1\noptions timeout:5 attempts:1\n";
    if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
        return "cannot write a resolv.conf";
    close(fd);
    int m = mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL);
    unlink(conf);
    return m < 0 ? "cannot bind-mount over /etc/resolv.conf" : NULL;
}

/* Start dns_slow; returns once it says it is ready. */
static void start_dns(int delay_ms)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    char delay[16];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    dns_pid = fork();
    if (dns_pid == 0) {
        dup2(p[1], 1);
        execl(run_prog_path("dns_slow"), "dns_slow", "127.0.0.1", "53", delay, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[16] = "";
    cr_assert_gt(read(p[0], buf, sizeof buf - 1), 0, "dns_slow did not start");
    cr_assert(strncmp(buf, "ready", 5) == 0, "dns_slow said %s", buf);
    close(p[0]);
}

/* Six lookups that each take 0.8 s overlap: about 0.8 s, not 4.8 s, and
 * the other thread runs meanwhile; the answers are the native ones. */
Test(netdb, concurrent_lookups_slow_resolver, .timeout = TIMEOUT, .fini = stop_dns)
{
    const char *why = private_resolver();
    if (why)
        cr_skip_test("no private resolver: %s", why);
    start_dns(800);
    const char *const argv[] = {"lookups",   "-p",         "a.test",     "bb.test", "ccc.test",
                                "dddd.test", "eeeee.test", "ffffff.test", NULL};
    struct run_result nat, shim;
    run_ok(&nat, 0, argv, NULL);
    run_ok(&shim, 1, argv, NULL);
    cr_expect_str_eq(shim.out, nat.out, "--- native:\n%s--- libgreen:\n%s", nat.out, shim.out);
    cr_expect(strstr(shim.out, "10.0.0.6") != NULL, "no answer from the slow server:\n%s%s",
              shim.out, shim.err);
    cr_expect(strstr(shim.out, "ticker ran during the lookups: yes") != NULL, "%s", shim.out);
    /* Three helpers by default: two rounds of 0.8 s. */
    cr_expect_lt(shim.elapsed, 2.0, "six 0.8 s lookups took %.2f s under libgreen", shim.elapsed);
    run_free(&nat);
    run_free(&shim);
}

/* The Threads: count lookups -pt printed. */
static long threads_line(const char *out)
{
    const char *t = strstr(out, "Threads:");
    return t ? strtol(t + 8, NULL, 10) : -1;
}

/* 50 threads resolving at once make at most three helper threads
 * (GREEN_HELPERS' default), which stay a while once made; all 50 get
 * their answers. */
Test(netdb, helper_threads_are_bounded, .timeout = TIMEOUT, .fini = stop_dns)
{
    const char *why = private_resolver();
    if (why)
        cr_skip_test("no private resolver: %s", why);
    start_dns(50);
    const char *argv[53] = {"lookups", "-pt"};
    char names[50][16];
    for (int i = 0; i < 50; i++) {
        snprintf(names[i], sizeof names[i], "%.*s.test", i % 9 + 1, "abcdefghi");
        argv[i + 2] = names[i];
    }
    struct run_result r;
    run_ok(&r, 1, argv, NULL);
    long n = threads_line(r.out);
    cr_expect(n >= 2 && n <= 4, "want main and 1 to 3 helpers, got %ld:\n%s%s", n, r.out, r.err);
    size_t answers = 0;
    for (const char *p = r.out; (p = strstr(p, "10.0.0.")); p++)
        answers++;
    cr_expect_eq(answers, 50, "%s%s", r.out, r.err);
    run_free(&r);
}

/* Numeric hosts and services need no lookup, so no helper thread. */
Test(netdb, numeric_lookups_need_no_helper, .timeout = TIMEOUT)
{
    const char *const argv[] = {"lookups", "-pt", "10.1.2.3", "127.0.0.1", "192.168.7.9",
                                "10.0.0.1", NULL};
    struct run_result nat, shim;
    run_ok(&nat, 0, argv, NULL);
    run_ok(&shim, 1, argv, NULL);
    cr_expect_str_eq(shim.out, nat.out, "--- native:\n%s--- libgreen:\n%s", nat.out, shim.out);
    cr_expect_eq(threads_line(shim.out), 1, "%s", shim.out);
    run_free(&nat);
    run_free(&shim);
}

/* ---- GREEN_INHERIT ------------------------------------------------------------ */

static char *shell_preload(const char *const env[])
{
    struct run_result r;
    const char *const argv[] = {"/bin/sh", "-c", "echo \"${LD_PRELOAD-unset}\"", NULL};
    run_ok(&r, 1, argv, env);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x: %s", r.status,
              r.err);
    char *out = strdup(r.out);
    run_free(&r);
    return out;
}

Test(process, exec_inherits_libgreen_by_default, .timeout = TIMEOUT)
{
    char *out = shell_preload(NULL);
    cr_expect(strstr(out, "libgreen.so") != NULL, "LD_PRELOAD seen: %s", out);
    free(out);
}

Test(process, green_inherit_0_drops_libgreen_from_children, .timeout = TIMEOUT)
{
    char *out = shell_preload((const char *const[]){"GREEN_INHERIT=0", NULL});
    cr_expect_str_eq(out, "unset\n");
    free(out);
}

Test(process, green_inherit_bad_value_refuses, .timeout = TIMEOUT)
{
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){"children", NULL},
           (const char *const[]){"GREEN_INHERIT=maybe", NULL});
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "status %#x", r.status);
    cr_expect(strstr(r.err, "GREEN_INHERIT") != NULL, "stderr: %s", r.err);
    run_free(&r);
}

/* ---- python3 -------------------------------------------------------------------- */

static void need_python(void)
{
    if (access(PYTHON, X_OK) != 0)
        cr_skip_test(PYTHON " is not installed (scripts/setup installs python3)");
}

/* 20 threads each run a 0.5 s child: about 0.5 s, not 10 s. */
Test(python, threads_running_subprocesses_overlap, .timeout = TIMEOUT)
{
    need_python();
    const char *code = "import subprocess, threading\n"
                       "def run(): subprocess.run(['sh', '-c', 'sleep 0.5'], check=True)\n"
                       "th = [threading.Thread(target=run) for _ in range(20)]\n"
                       "[t.start() for t in th]\n[t.join() for t in th]\nprint('done')\n";
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){PYTHON, "-c", code, NULL}, NULL);
    cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
    cr_expect_lt(r.elapsed, 3.0, "20 subprocesses of 0.5 s took %.2f s", r.elapsed);
    run_free(&r);
}

/* signal.alarm interrupts time.sleep after about 1 s, not 10. */
Test(python, alarm_interrupts_sleep, .timeout = TIMEOUT)
{
    need_python();
    const char *code = "import signal, threading, time\n"
                       "class Alarm(Exception): pass\n"
                       "def h(s, f): raise Alarm()\n"
                       "signal.signal(signal.SIGALRM, h)\n"
                       "stop = threading.Event()\n"
                       "other = threading.Thread(target=stop.wait); other.start()\n"
                       "signal.alarm(1)\n"
                       "try:\n    time.sleep(10); print('not interrupted')\n"
                       "except Alarm:\n    print('interrupted')\n"
                       "stop.set(); other.join()\n";
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){PYTHON, "-c", code, NULL}, NULL);
    cr_expect_str_eq(r.out, "interrupted\n", "stderr: %s", r.err);
    cr_expect_lt(r.elapsed, 5.0, "alarm(1) ended sleep(10) after %.2f s", r.elapsed);
    run_free(&r);
}
