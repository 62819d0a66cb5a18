/* test_syscall.c: blocking system calls no named interposer sees:
 * syscall(2) with futexes, reads and sleeps, C++20 atomic waits and Rust's
 * std threads (which wait with syscall(SYS_futex)), natively and under
 * the shim: the same output, on one OS thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define TIMEOUT 120
#define RUN_LIMIT 60

static void assert_same(const char *const argv[], int one_thread)
{
    struct run_result shim;
    run_expect_same(argv, NULL, RUN_LIMIT, &shim);
    if (one_thread)
        cr_expect(strstr(shim.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", shim.out);
    run_free(&shim);
}

Test(syscall, futexes_reads_and_sleeps_through_syscall_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"raw_calls", "-t", NULL}, 1);
}

Test(syscall, cxx20_atomic_wait_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"atomic_wait", "-t", NULL}, 1);
}

Test(syscall, rust_std_threads_same_as_native, .timeout = TIMEOUT)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rust_threads", getenv("GREEN_PROGS"));
    if (access(path, X_OK) != 0)
        cr_skip_test("rust_threads was not built (no rustc found)");
    assert_same((const char *const[]){"rust_threads", "-t", NULL}, 1);
}
