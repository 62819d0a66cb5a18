/* run.h: run a test program natively or under libgreen.so and capture
 * what it did.
 *
 * The test harness (make check) sets these environment variables:
 *   GREEN_LIB       absolute path of libgreen.so (used for LD_PRELOAD)
 *   GREEN_PROGS     directory of the plain test programs (tests/progs)
 *   GREEN_GREENRUN  path of the greenrun script
 *   GREEN_SRCDIR    top source directory
 *
 * A run never uses sleeps: the child is forked into a process group of
 * its own, its stdout and stderr are read through pipes until both reach
 * EOF and the child is reaped, or until the timeout, when the whole
 * process group gets SIGKILL. Stdin is /dev/null. */
#ifndef GREEN_TEST_RUN_H
#define GREEN_TEST_RUN_H

#include <stddef.h>

/* Limits of the criterion tests: TIMEOUT for a whole test (.timeout),
 * RUN_LIMIT for one run of a program in it. Generous: they only end a
 * test that hangs, and the machine may be shared. */
#define TIMEOUT 120
#define RUN_LIMIT 60
/* Debian's python3, which scripts/setup installs. */
#define PYTHON "/usr/bin/python3"

struct run_result {
    int status;    /* wait status (use WIFEXITED/WEXITSTATUS/WTERMSIG);
                      -1 when the program could not be started */
    int timed_out; /* 1 when the timeout hit and the group was killed */
    char *out;     /* everything written to stdout, NUL-terminated */
    size_t out_len;
    char *err; /* everything written to stderr, NUL-terminated */
    size_t err_len;
    double elapsed; /* wall-clock seconds from fork to reap */
};

/* Run argv (NULL-terminated). An argv[0] without '/' names a program in
 * $GREEN_PROGS; otherwise it is used as the path. With preload != 0 the
 * environment gets LD_PRELOAD=$GREEN_LIB, with preload == 0 any
 * LD_PRELOAD is removed. extra_env (NULL-terminated "NAME=VALUE"
 * strings, or NULL) is added last and overrides variables of the same
 * name; "NAME" alone (no '=') removes NAME. timeout_s <= 0 means 30 s.
 * Returns 0 when the program ran to its end (whatever its status; a
 * program that cannot be executed ends with status 127 and says why on
 * r->err), -1 when it timed out or no process could be made (r->err then
 * says why). Always fills r; release it with run_free. The calling
 * process ignores SIGPIPE from then on (the child gets the default). */
int run_prog(struct run_result *r, int preload, const char *const argv[],
             const char *const extra_env[], int timeout_s);

/* Same, with data written to the program's stdin (closed after it; the
 * write side ignores EPIPE). in may be NULL for /dev/null. */
int run_prog_in(struct run_result *r, int preload, const char *const argv[],
                const char *const extra_env[], int timeout_s, const char *in, size_t in_len);

/* For criterion tests: run_prog, failing the current test when the
 * program could not be run to its end within limit_s. */
void run_must_finish(struct run_result *r, int preload, const char *const argv[],
                     const char *const extra_env[], int limit_s);
/* For criterion tests: run argv natively and under the shim and expect
 * the same status, stdout and stderr, and success natively. The test
 * programs print one claim a line ("call: result"), so a difference is
 * reported as the lines that differ, each with its number and the
 * section ("== name" line) it is in, not as two whole outputs. With
 * shim non-NULL, it gets the shim's run for more checks (run_free it). */
void run_expect_same(const char *const argv[], const char *const extra_env[], int limit_s,
                     struct run_result *shim);
/* run_must_finish with RUN_LIMIT. */
void run_ok(struct run_result *r, int preload, const char *const argv[],
            const char *const extra_env[]);
/* run_expect_same with RUN_LIMIT and no extra environment. */
void assert_same(const char *const argv[]);
/* The same, and the shim's output (the program prints the Threads: line
 * of /proc/self/status) shows one OS thread. */
void assert_same_one_thread(const char *const argv[]);
/* Skip the current test when PYTHON is not installed. */
void need_python(void);

/* How many OS threads process pid has (/proc), or -1. */
int run_os_threads(int pid);

/* Free the buffers of r (r itself is the caller's) and zero it. */
void run_free(struct run_result *r);

/* Value of a harness variable (GREEN_LIB, ...); aborts the test with a
 * message on stderr when it is unset, since nothing can run without it. */
const char *run_env(const char *name);

/* Path of a program in $GREEN_PROGS, in a static buffer (valid until the
 * next call). */
const char *run_prog_path(const char *name);

#endif
