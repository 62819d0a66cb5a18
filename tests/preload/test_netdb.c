/* test_netdb.c: name lookups give the same answers under libgreen.so as
 * natively, overlap instead of queueing, and use a bounded number of
 * helper threads.
 *
 * The concurrent lookups need a slow DNS server the test controls: the
 * test process moves into private mount and network namespaces (root
 * only), brings up lo, bind-mounts its own resolv.conf over
 * /etc/resolv.conf and starts tests/progs/dns_slow on 127.0.0.1:53.
 * Where that is not permitted the test is skipped, saying why. */
#include <criterion/criterion.h>
#include <errno.h>
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

Test(netdb, lookups_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"lookups", NULL});
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
    const char *const argv[] = {"lookups",   "-p",         "a.test",      "bb.test", "ccc.test",
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
    const char *const argv[] = {"lookups",     "-pt",      "10.1.2.3", "127.0.0.1",
                                "192.168.7.9", "10.0.0.1", NULL};
    struct run_result nat, shim;
    run_ok(&nat, 0, argv, NULL);
    run_ok(&shim, 1, argv, NULL);
    cr_expect_str_eq(shim.out, nat.out, "--- native:\n%s--- libgreen:\n%s", nat.out, shim.out);
    cr_expect_eq(threads_line(shim.out), 1, "%s", shim.out);
    run_free(&nat);
    run_free(&shim);
}
