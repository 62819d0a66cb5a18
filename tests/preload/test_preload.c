/* test_preload.c: plain blocking programs give the same results under
 * libgreen.so as natively, and under libgreen they run on one OS thread
 * without their blocking calls serialising each other.
 *
 * Every test runs its program twice (run.h: natively, then with
 * LD_PRELOAD) and compares stdout, stderr and the exit status. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>

#include "run.h"

Test(preload, threads_basic_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"threads_basic", NULL});
}

Test(preload, pipe_rw_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"pipe_rw", NULL});
}

Test(preload, sleep_edge_cases_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"sleepers", "-e", NULL});
}

Test(preload, sleepers_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"sleepers", "-n", "1000", NULL});
}

/* 1,000 threads each sleeping 1 s: one OS thread, and the sleeps overlap
 * (5 s is an overlap bound against 1,000 s serial, not a speed figure). */
Test(preload, sleepers_share_one_os_thread, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *const argv[] = {"sleepers", "-n", "1000", "-t", NULL};
    run_ok(&r, 1, argv, NULL);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x: %s", r.status, r.err);
    cr_expect(strstr(r.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", r.out);
    cr_expect(strstr(r.out, "early or failed: 0\n") != NULL, "sleeps ended early:\n%s", r.out);
    cr_expect_lt(r.elapsed, 5.0, "1,000 sleeps of 1 s took %.1f s", r.elapsed);
    run_free(&r);
}

/* The check above means something: natively each thread is an OS thread. */
Test(preload, sleepers_native_threads_counted, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *const argv[] = {"sleepers", "-n", "20", "-t", NULL};
    run_ok(&r, 0, argv, NULL);
    cr_expect(strstr(r.out, "Threads:\t21\n") != NULL, "expected 21 OS threads:\n%s", r.out);
    run_free(&r);
}

/* A bad GREEN_* value stops the program before it runs: status 2 and one
 * line naming libgreen and the variable. */
Test(preload, bad_config_refuses_to_start, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *const argv[] = {"threads_basic", NULL};
    const char *const env[] = {"GREEN_STACK_SIZE=lots", NULL};
    run_ok(&r, 1, argv, env);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "status %#x", r.status);
    cr_expect_eq(r.out_len, 0, "the program ran: %s", r.out);
    cr_expect_eq(strncmp(r.err, "libgreen: ", 10), 0, "stderr: %s", r.err);
    cr_expect(strstr(r.err, "GREEN_STACK_SIZE") != NULL, "stderr: %s", r.err);
    const char *nl = strchr(r.err, '\n');
    cr_expect(nl && nl[1] == '\0', "more than one line: %s", r.err);
    run_free(&r);
}
