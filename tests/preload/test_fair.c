/* test_fair.c: no green thread starves the others (issue 9): yield points
 * in calls that return at once, time-slice preemption of threads that
 * compute, GREEN_SLICE, and diagnostics that need no switch. Each
 * program runs natively and under the shim with the same output. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

static void same(const char *scenario)
{
    assert_same((const char *const[]){"fair", scenario, NULL});
}

/* ---- C programs ------------------------------------------------------- */

/* 1 s of computing with no library call; a 10 ms ticker gets >= 40 ticks. */
Test(fair, a_computing_thread_lets_a_ticker_tick, .timeout = TIMEOUT)
{
    same("compute");
}

Test(fair, a_poll_loop_on_a_ready_fd_lets_another_thread_read_it, .timeout = TIMEOUT)
{
    same("poll");
}

Test(fair, a_waitpid_wnohang_loop_lets_the_others_run, .timeout = TIMEOUT)
{
    same("waitpid");
}

Test(fair, a_trylock_loop_lets_the_holder_run, .timeout = TIMEOUT)
{
    same("trylock");
}

/* The preemptions GREEN_STATS counted in a run of fair SCENARIO with a
 * 1 ms slice, or -1. */
static long preemptions(const char *scenario)
{
    struct run_result r;
    const char *const argv[] = {"fair", scenario, NULL};
    const char *const env[] = {"GREEN_SLICE=1", "GREEN_STATS=1", NULL};
    run_ok(&r, 1, argv, env);
    const char *p = strstr(r.err, "preemptions");
    long n = p ? strtol(p + strlen("preemptions"), NULL, 10) : -1;
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%s: %s", scenario, r.err);
    run_free(&r);
    return n;
}

/* Only a thread that used a whole slice is preempted: two threads taking
 * turns every 20 us never are, however many ticks come (about 400 CPU
 * time slices of 1 ms here), while a computing one is. */
Test(fair, a_thread_that_runs_briefly_and_waits_is_never_preempted, .timeout = TIMEOUT)
{
    same("pingpong");
    cr_expect_eq(preemptions("pingpong"), 0);
    cr_expect_gt(preemptions("compute"), 0);
}

/* GREEN_SLICE=0: the old behaviour, the poll loop keeps the OS thread. */
Test(fair, slice_0_turns_preemption_off, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *const argv[] = {"fair", "compute", NULL};
    const char *const env[] = {"GREEN_SLICE=0", NULL};
    cr_expect_eq(run_prog(&r, 1, argv, env, 4), -1, "GREEN_SLICE=0 must not preempt: %s", r.out);
    cr_expect(r.timed_out);
    run_free(&r);
}

static void refused(const char *var)
{
    struct run_result r;
    const char *const argv[] = {"fair", "poll", NULL};
    const char *const env[] = {var, NULL};
    run_ok(&r, 1, argv, env);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "%s: status %#x", var, r.status);
    cr_expect(strstr(r.err, "GREEN_SLICE") && strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "%s: one line naming GREEN_SLICE expected:\n%s", var, r.err);
    cr_expect_str_eq(r.out, "", "%s: the program must not run", var);
    run_free(&r);
}

Test(fair, bad_slices_are_refused_in_one_line, .timeout = TIMEOUT)
{
    refused("GREEN_SLICE=abc");
    refused("GREEN_SLICE=-1");
    refused("GREEN_SLICE=4ms");
    refused("GREEN_SLICE=1001");
}

Test(fair, greenrun_slice_option, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *gr = run_env("GREEN_GREENRUN");
    const char *const bad[] = {gr, "--slice", "x", run_prog_path("fair"), "poll", NULL};
    run_ok(&r, 0, bad, NULL);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "status %#x", r.status);
    cr_expect(strstr(r.err, "--slice") != NULL, "%s", r.err);
    run_free(&r);
    const char *const good[] = {gr, "--slice=2", run_prog_path("fair"), "poll", NULL};
    run_ok(&r, 0, good, NULL);
    cr_expect_str_eq(r.out, "poll: the other thread read 1 byte 'x'\n", "%s", r.err);
    run_free(&r);
}

/* ---- diagnostics -------------------------------------------------------- */

/* Without preemption, the dump still prints while a thread spins. */
Test(fair, the_dump_prints_while_a_thread_spins, .timeout = TIMEOUT)
{
    struct run_result r;
    char sig[8];
    snprintf(sig, sizeof sig, "%d", SIGUSR2);
    const char *const argv[] = {"fair", "spin", sig, NULL};
    const char *const env[] = {"GREEN_SLICE=0", "GREEN_DUMP_SIGNAL=USR2", NULL};
    run_ok(&r, 1, argv, env);
    cr_expect_str_eq(r.out, "spin: stopped by a signal\n");
    cr_expect(strstr(r.err, "libgreen: dump of 2 green threads") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, ": running") != NULL, "%s", r.err);
    run_free(&r);
}

/* With preemption a computing thread is not a hang for the watchdog. */
Test(fair, the_watchdog_is_silent_about_a_preempted_thread, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *const argv[] = {"fair", "compute", NULL};
    const char *const env[] = {"GREEN_WATCHDOG=100", NULL};
    run_ok(&r, 1, argv, env);
    cr_expect(strstr(r.err, "watchdog") == NULL, "%s", r.err);
    run_free(&r);
}

/* ---- Python (Debian's python3) ----------------------------------------- */

static void py_same(const char *script)
{
    need_python();
    run_expect_same((const char *const[]){PYTHON, "-c", script, NULL}, NULL, 90, NULL);
}

/* CPython's test_threading InterruptMainTests.test_can_interrupt_tight_loops, in
 * spirit: the main thread gets the interpreter lock from a pure-Python loop. */
Test(fair, python_tight_loop_is_interrupted_by_main, .timeout = TIMEOUT)
{
    py_same("import threading, time\n"
            "flag = False\n"
            "def spin():\n"
            "    while not flag: pass\n"
            "t = threading.Thread(target=spin); t.start()\n"
            "time.sleep(0.1); flag = True; t.join()\n"
            "print('interrupted')\n");
}

/* faulthandler's watchdog is a thread: it must fire during a busy loop. */
Test(fair, python_faulthandler_later_fires_during_a_busy_loop, .timeout = TIMEOUT)
{
    py_same("import faulthandler, sys, time, tempfile\n"
            "f = tempfile.TemporaryFile()\n"
            "faulthandler.dump_traceback_later(1, file=f)\n"
            "t0 = time.monotonic()\n"
            "while time.monotonic() - t0 < 4: pass\n"
            "f.seek(0); out = f.read().decode()\n"
            "print('fired' if 'Timeout (0:00:01)!' in out else 'silent: ' + out)\n");
}

/* test_signal StressTest.test_stress_modifying_handlers, in spirit (the
 * "ignored due to race condition" reports it tolerates are dropped). */
Test(fair, python_raise_signal_loop_while_main_changes_handlers, .timeout = TIMEOUT)
{
    py_same("import signal, sys, threading\n"
            "sys.unraisablehook = lambda u: None\n"
            "sent = got = 0; stop = False\n"
            "def handler(s, f):\n"
            "    global got; got += 1\n"
            "def raiser():\n"
            "    global sent\n"
            "    while not stop:\n"
            "        signal.raise_signal(signal.SIGUSR1); sent += 1\n"
            "old = signal.signal(signal.SIGUSR1, handler)\n"
            "t = threading.Thread(target=raiser); t.start()\n"
            "while sent < 100 or got < 1:\n"
            "    for _ in range(2000):\n"
            "        for h in (handler, signal.SIG_IGN): signal.signal(signal.SIGUSR1, h)\n"
            "stop = True; t.join()\n"
            "print('finished', sent >= 100, got >= 1)\n");
}

#define MP_HEAD                      \
    "import multiprocessing as mp\n" \
    "def sq(x): return x * x\n"

/* The multiprocessing scenarios in one program: Pool.map and
 * map_async (the pool's handler thread loops on zero-timeout poll and
 * WNOHANG waits), a Process + Queue ping-pong, a Value under a Lock. */
Test(fair, python_multiprocessing_pool_queue_and_value, .timeout = TIMEOUT)
{
    py_same(MP_HEAD "def ping(a, b):\n"
                    "    while (v := a.get()) is not None: b.put(v + 1)\n"
                    "def inc(v, lock):\n"
                    "    for _ in range(500):\n"
                    "        with lock: v.value += 1\n"
                    "if __name__ == '__main__':\n"
                    "    mp.set_start_method('fork')\n"
                    "    with mp.Pool(4) as p:\n"
                    "        print(sum(p.map(sq, range(1000))))\n"
                    "        print(sum(p.map_async(sq, range(1000)).get(timeout=60)))\n"
                    "    a, b = mp.Queue(), mp.Queue()\n"
                    "    p = mp.Process(target=ping, args=(a, b)); p.start()\n"
                    "    v = 0\n"
                    "    for _ in range(300):\n"
                    "        a.put(v); v = b.get()\n"
                    "    a.put(None); p.join()\n"
                    "    print('ping-pong', v, p.exitcode)\n"
                    "    v = mp.Value('i', 0); lock = mp.Lock()\n"
                    "    ps = [mp.Process(target=inc, args=(v, lock)) for _ in range(4)]\n"
                    "    for p in ps: p.start()\n"
                    "    for p in ps: p.join()\n"
                    "    print('value', v.value)\n");
}
