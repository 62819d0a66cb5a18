/* test_syscall.c: blocking system calls no named interposer sees:
 * syscall(2) with futexes, reads and sleeps, C++20 atomic waits and Rust's
 * std threads (which wait with syscall(SYS_futex)), natively and under
 * the shim: the same output, on one OS thread. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

Test(syscall, futexes_reads_and_sleeps_through_syscall_same_as_native, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"raw_calls", "-t", NULL});
}

Test(syscall, cxx20_atomic_wait_same_as_native, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"atomic_wait", "-t", NULL});
}

Test(syscall, rust_std_threads_same_as_native, .timeout = TIMEOUT)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rust_threads", getenv("GREEN_PROGS"));
    if (access(path, X_OK) != 0)
        cr_skip_test("rust_threads was not built (no rustc found)");
    /* Rust's std keeps each thread's handle in TLS: one block per thread. */
    struct run_result shim;
    run_expect_same((const char *const[]){"rust_threads", "-t", NULL},
                    (const char *const[]){"GREEN_TLS=own", NULL}, RUN_LIMIT, &shim);
    cr_expect(strstr(shim.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", shim.out);
    run_free(&shim);
}

/* ---- the safety net: stdio's internal reads ------------------------------ */

Test(net, fgets_from_a_pipe_lets_a_ticker_tick, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"stdio_wait", "fgets", "-t", NULL});
}

Test(net, getline_on_a_socket_lets_a_ticker_tick, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"stdio_wait", "getline", "-t", NULL});
}

Test(net, fread_from_a_pty_lets_a_ticker_tick, .timeout = TIMEOUT)
{
    assert_same_one_thread((const char *const[]){"stdio_wait", "fread", "-t", NULL});
}

/* Two green threads writing lines to one FILE whose writes block: no
 * line torn, as natively. glibc's FILE lock has distinct owners only with
 * a TLS block per green thread (GREEN_TLS=own); a contended lock is then
 * glibc's internal futex wait, which the net makes green. */
Test(net, one_file_two_writers_same_as_native, .timeout = TIMEOUT)
{
    struct run_result shim;
    run_expect_same((const char *const[]){"stdio_wait", "locks", "-t", NULL},
                    (const char *const[]){"GREEN_TLS=own", NULL}, RUN_LIMIT, &shim);
    cr_expect(strstr(shim.out, "Threads:\t1\n") != NULL, "not one OS thread:\n%s", shim.out);
    run_free(&shim);
}

/* fdopen + fgets + fprintf, a thread per connection, 1000 clients
 * connected at once: natively 1000+ OS threads, under the shim one. */
Test(net, fdopen_fgets_server_serves_1000_clients_on_one_os_thread, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"stdio_wait", "server", "1000", NULL});
    struct run_result r;
    run_must_finish(&r, 1, (const char *const[]){"stdio_wait", "server", "1000", "-t", NULL}, NULL,
                    RUN_LIMIT);
    cr_expect(strstr(r.out, "server: 1000 clients, 0 failed\nThreads:\t1\n") != NULL,
              "under the shim:\n%s%s", r.out, r.err);
    run_free(&r);
}

/* With the net off (GREEN_SYSCALL_NET=0), stdio blocks the one OS
 * thread as before: the reader waits for a writer that cannot run. */
Test(net, off_means_stdio_blocks_the_process, .timeout = TIMEOUT)
{
    struct run_result r;
    int rc = run_prog(&r, 1, (const char *const[]){"stdio_wait", "fgets", NULL},
                      (const char *const[]){"GREEN_SYSCALL_NET=0", NULL}, 3);
    cr_expect(rc < 0 && r.timed_out, "net off, yet it finished:\n%s%s", r.out, r.err);
    run_free(&r);
}
