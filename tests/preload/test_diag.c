/* test_diag.c: what libgreen tells an operator: the dump on a signal,
 * statistics, the trace, the watchdog, the deadlock report's call sites,
 * and bad GREEN_* values refused in one line. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* The line of text that contains every needle, copied into line. */
static int find_line(const char *text, const char *const needles[], char *line, size_t len)
{
    for (const char *s = text; s && *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        snprintf(line, len, "%.*s", (int)n, s);
        int all = 1;
        for (int i = 0; needles[i] && all; i++)
            all = strstr(line, needles[i]) != NULL;
        if (all)
            return 1;
        s = e ? e + 1 : NULL;
    }
    return 0;
}

#define HAS_LINE(text, ...)                                                                       \
    do {                                                                                          \
        const char *const nd_[] = {__VA_ARGS__, NULL};                                            \
        char ln_[512];                                                                            \
        cr_assert(find_line(text, nd_, ln_, sizeof ln_), "no line with " #__VA_ARGS__ " in:\n%s", \
                  text);                                                                          \
    } while (0)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(diag, dump_names_each_thread_what_it_waits_on_and_where, .timeout = TIMEOUT)
{
    struct run_result r;
    char sig[8];
    snprintf(sig, sizeof sig, "%d", SIGUSR2);
    const char *argv[] = {"blocked", sig, NULL};
    const char *env[] = {"GREEN_DUMP_SIGNAL=USR2", NULL};
    run_ok(&r, 1, argv, env);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %d, stderr:\n%s", r.status,
              r.err);
    cr_assert_str_eq(r.out, "done\n");
    HAS_LINE(r.err, "dump of 5 green threads");
    /* main is in usleep: still waiting, or woken in the same loop turn */
    HAS_LINE(r.err, "\"main\"", "in usleep, called from");
    HAS_LINE(r.err, "\"reader\"", "blocked for", "on fd", "read", "in read, called from",
             "blocked");
    HAS_LINE(r.err, "\"locker\"", "on mutex 0x", "held by thread 1",
             "in pthread_mutex_lock, called from", "blocked");
    HAS_LINE(r.err, "\"sleeper\"", "on sleep", "s left", "in sleep, called from", "blocked");
    HAS_LINE(r.err, "\"joiner\"", "on join of thread 2", "in pthread_join, called from", "blocked");
    run_free(&r);
}

/* The dump signal, the watchdog's signal and the trace file are
 * libgreen's: a sleep goes on through them, and the program's first fd is
 * still the lowest (natively: no signal at all, no trace). */
Test(diag, libgreens_own_signals_and_files_stay_out_of_the_program, .timeout = TIMEOUT)
{
    char path[] = "/tmp/green-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char sig[8], trace[64];
    snprintf(sig, sizeof sig, "%d", SIGUSR2);
    snprintf(trace, sizeof trace, "GREEN_TRACE=%s", path);
    const char *nargv[] = {"core_calls", "0", "150", NULL};
    const char *gargv[] = {"core_calls", sig, "150", NULL};
    const char *env[] = {"GREEN_DUMP_SIGNAL=USR2", "GREEN_WATCHDOG=20", trace, NULL};
    struct run_result n, g;
    run_ok(&n, 0, nargv, NULL);
    run_ok(&g, 1, gargv, env);
    unlink(path);
    cr_assert_str_eq(n.out, "first fd 3\nnanosleep 0 \n", "natively:\n%s%s", n.out, n.err);
    cr_assert_str_eq(g.out, n.out, "under libgreen:\n%s%s", g.out, g.err);
    HAS_LINE(g.err, "\"main\"", "on sleep", "in nanosleep");
    HAS_LINE(g.err, "watchdog");
    run_free(&n);
    run_free(&g);
}

Test(diag, stats_at_exit_count_threads_and_suspensions_by_call, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *argv[] = {"sleepers", "-n", "20", NULL};
    const char *env[] = {"GREEN_STATS=1", NULL};
    run_ok(&r, 1, argv, env);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%s", r.err);
    HAS_LINE(r.err, "libgreen: stats after");
    HAS_LINE(r.err, "green threads", "21 created", "21 at peak");
    HAS_LINE(r.err, "switches");
    HAS_LINE(r.err, "deepest stack", "KiB used");
    HAS_LINE(r.err, "suspended on");
    HAS_LINE(r.err, "sleep", " 20 ");
    HAS_LINE(r.err, "suspended in");
    HAS_LINE(r.err, "pthread_join", " 1 ");
    run_free(&r);
}

Test(diag, stats_count_calls_run_on_helper_threads, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *argv[] = {"lookups", NULL};
    const char *env[] = {"GREEN_STATS=1", NULL};
    run_ok(&r, 1, argv, env);
    unsigned long n = 0;
    const char *line = strstr(r.err, "offloaded");
    cr_assert(line && sscanf(line, "offloaded %lu calls", &n) == 1 && n > 0,
              "no offloaded calls counted:\n%s", r.err);
    HAS_LINE(r.err, "helper thread");
    run_free(&r);
}

Test(diag, stats_go_to_the_file_named, .timeout = TIMEOUT)
{
    char path[] = "/tmp/green-stats-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char var[64];
    snprintf(var, sizeof var, "GREEN_STATS=%s", path);
    struct run_result r;
    const char *argv[] = {"sleepers", "-n", "5", NULL};
    const char *env[] = {var, NULL};
    run_ok(&r, 1, argv, env);
    cr_assert_null(strstr(r.err, "libgreen: stats"), "stats on stderr:\n%s", r.err);
    FILE *f = fopen(path, "r");
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    HAS_LINE(buf, "green threads", "6 created");
    run_free(&r);
}

Test(diag, trace_writes_one_line_per_suspension, .timeout = TIMEOUT)
{
    char path[] = "/tmp/green-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char var[64];
    snprintf(var, sizeof var, "GREEN_TRACE=%s", path);
    struct run_result r;
    const char *argv[] = {"sleepers", "-n", "7", NULL};
    const char *env[] = {var, NULL};
    run_ok(&r, 1, argv, env);
    FILE *f = fopen(path, "r");
    char buf[8192] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    /* 7 sleeps and main's joins (one per thread still running) at least */
    cr_assert_geq(lines(buf), 8, "trace:\n%s", buf);
    HAS_LINE(buf, "thread 1 pthread_join join of thread");
    double t, d;
    unsigned long id;
    char call[32];
    cr_assert_eq(sscanf(buf, "%lf thread %lu %31s", &t, &id, call), 3, "first line: %s", buf);
    const char *last = strrchr(buf, ' ');
    cr_assert(last && sscanf(last, "%lf", &d) == 1 && d >= 0, "duration last: %s", buf);
    run_free(&r);
}

Test(diag, watchdog_names_a_thread_that_spins, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *argv[] = {"spinner", "800", NULL};
    const char *env[] = {"GREEN_WATCHDOG=200", "GREEN_SLICE=0", NULL}; /* not preempted */
    run_ok(&r, 1, argv, env);
    cr_assert_str_eq(r.out, "done\n");
    HAS_LINE(r.err, "libgreen: watchdog: green thread", "\"spinner\"", "has held the OS thread for",
             "GREEN_WATCHDOG=200", "running in");
    run_free(&r);
}

Test(diag, watchdog_is_silent_when_threads_block, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *argv[] = {"sleepers", "-n", "50", NULL};
    const char *env[] = {"GREEN_WATCHDOG=100", NULL};
    run_ok(&r, 1, argv, env);
    cr_assert_null(strstr(r.err, "watchdog"), "%s", r.err);
    run_free(&r);
}

static void refused(const char *var, const char *name)
{
    struct run_result r;
    const char *argv[] = {"sleepers", "-n", "1", NULL};
    const char *env[] = {var, NULL};
    run_ok(&r, 1, argv, env);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "%s: status %d", var, r.status);
    cr_assert_eq(lines(r.err), 1, "%s: one line expected:\n%s", var, r.err);
    cr_assert(strstr(r.err, name), "%s: the line must name %s:\n%s", var, name, r.err);
    cr_assert_str_eq(r.out, "", "%s: the program must not run", var);
    run_free(&r);
}

Test(diag, bad_values_are_refused_in_one_line, .timeout = TIMEOUT)
{
    refused("GREEN_DUMP_SIGNAL=NOPE", "GREEN_DUMP_SIGNAL");
    refused("GREEN_DUMP_SIGNAL=KILL", "GREEN_DUMP_SIGNAL");
    refused("GREEN_WATCHDOG=abc", "GREEN_WATCHDOG");
    refused("GREEN_WATCHDOG=-5", "GREEN_WATCHDOG");
    refused("GREEN_TRACE=/nonexistent-dir/trace", "GREEN_TRACE");
    refused("GREEN_STATS=/nonexistent-dir/stats", "GREEN_STATS");
    refused("GREEN_QUIET=yes", "GREEN_QUIET");
    refused("GREEN_HELPERS=0", "GREEN_HELPERS");
    refused("GREEN_HELPERS=many", "GREEN_HELPERS");
    refused("GREEN_HELPERS=1025", "GREEN_HELPERS");
    refused("GREEN_STACK_SIZE=abc", "GREEN_STACK_SIZE");
    refused("GREEN_STACK_SIZE=1K", "GREEN_STACK_SIZE");
    refused("GREEN_DEADLOCK=maybe", "GREEN_DEADLOCK");
}

/* The gdb script lists green threads and their stacks in a live process. */
Test(diag, gdb_script_lists_green_threads_and_their_stacks, .timeout = 120)
{
    if (system("gdb --version >/dev/null 2>&1") != 0)
        cr_skip_test("gdb is not installed");
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        setenv("LD_PRELOAD", run_env("GREEN_LIB"), 1);
        execl(run_prog_path("blocked"), "blocked", "hang", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char ready[16] = "";
    ssize_t n = read(out[0], ready, sizeof ready - 1); /* blocks until "ready" */
    cr_assert(n > 0 && !strncmp(ready, "ready", 5), "the program did not start");
    char pidarg[16], script[512];
    snprintf(pidarg, sizeof pidarg, "%d", (int)pid);
    snprintf(script, sizeof script, "%s/scripts/green-gdb.py", run_env("GREEN_SRCDIR"));
    struct run_result r;
    const char *argv[] = {"/usr/bin/gdb", "-q",  "-batch",        "-p", pidarg, "-x",
                          script,         "-ex", "green-threads", NULL};
    run_prog(&r, 0, argv, NULL, 90);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(out[0]);
    HAS_LINE(r.out, "thread 2 \"reader\": blocked, waits on fd");
    HAS_LINE(r.out, " read+", "unistd.c");
    HAS_LINE(r.out, " reader+");
    HAS_LINE(r.out, "thread 3 \"locker\": blocked, waits on mutex");
    HAS_LINE(r.out, " pthread_mutex_lock+");
    HAS_LINE(r.out, "thread 5 \"joiner\": blocked, waits on join");
    run_free(&r);
}

/* Green stacks are registered with valgrind: a threaded program under
 * the shim runs clean under memcheck, with the output it has natively. */
Test(diag, valgrind_reports_no_errors_under_the_shim, .timeout = 240)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    /* (pipe_rw passes bad buffers on purpose: valgrind flags those) */
    const char *progs[] = {"threads_basic", "threads_sync"};
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        struct run_result native, vg;
        const char *argv[] = {progs[i], NULL};
        char path[512];
        snprintf(path, sizeof path, "%s", run_prog_path(progs[i]));
        const char *vargv[] = {"/usr/bin/valgrind", "-q", "--error-exitcode=9", path, NULL};
        cr_assert_eq(run_prog(&native, 0, argv, NULL, 60), 0);
        cr_assert_eq(run_prog(&vg, 1, vargv, NULL, 200), 0, "%s", vg.err);
        cr_assert(WIFEXITED(vg.status) && WEXITSTATUS(vg.status) == WEXITSTATUS(native.status),
                  "%s under valgrind: status %d, stderr:\n%s", progs[i], vg.status, vg.err);
        cr_assert_str_eq(vg.out, native.out, "%s: output differs under valgrind", progs[i]);
        cr_assert_null(strstr(vg.err, "=="), "%s: valgrind said:\n%s", progs[i], vg.err);
        run_free(&native);
        run_free(&vg);
    }
}
