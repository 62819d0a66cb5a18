/* test_process.c: children, vfork, forking daemons and GREEN_INHERIT
 * give the same results under libgreen.so as natively, and children
 * waited for by many threads overlap. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

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
/* ---- GREEN_INHERIT ------------------------------------------------------------ */

static char *shell_preload(const char *const env[])
{
    struct run_result r;
    const char *const argv[] = {"/bin/sh", "-c", "echo \"${LD_PRELOAD-unset}\"", NULL};
    run_ok(&r, 1, argv, env);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x: %s", r.status, r.err);
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

/* 20 threads each run a 0.5 s child: about 0.5 s, not 10 s. */
Test(process, python_threads_running_subprocesses_overlap, .timeout = TIMEOUT)
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
