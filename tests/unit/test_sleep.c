/* test_sleep.c: green_now and green_sleep_until. Timing checks only show
 * overlap (N sleepers take about one period, not N) with wide margins,
 * and that no sleep ends before its deadline. */
#include "util.h"

#include <time.h>

static int early;    /* sleeps that returned before their deadline */
static int failed;   /* sleeps that returned something other than 0 */
static int finished; /* sleepers that reached their end */

static void check_sleep(int64_t deadline)
{
    int r = green_sleep_until(deadline);
    if (r != 0)
        failed++;
    if (green_now() < deadline)
        early++;
    finished++;
}

Test(sleep, green_now_is_clock_monotonic_in_nanoseconds, .timeout = 20)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t g = green_now();
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t na = (int64_t)a.tv_sec * 1000000000 + a.tv_nsec;
    int64_t nb = (int64_t)b.tv_sec * 1000000000 + b.tv_nsec;
    cr_assert(na <= g && g <= nb, "%lld not within [%lld, %lld]", (long long)g, (long long)na,
              (long long)nb);
}

static void *sleep_100ms(void *arg)
{
    (void)arg;
    check_sleep(in_ms(100));
    return NULL;
}

Test(sleep, thousand_threads_sleeping_100ms_overlap, .timeout = 30)
{
    GREEN_INIT();
    enum { N = 1000 };
    static green_thread *t[N];
    int64_t start = green_now();
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(sleep_100ms, NULL);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    int64_t took = green_now() - start;
    cr_assert_eq(finished, N);
    cr_assert_eq(failed, 0, "%d sleeps did not return 0", failed);
    cr_assert_eq(early, 0, "%d sleeps ended before their deadline", early);
    cr_assert_geq(took, 100 * MS, "a 100 ms sleep took %lld ns", (long long)took);
    cr_assert_lt(took, 900 * MS, "1000 sleeps of 100 ms must overlap; took %lld ms",
                 (long long)(took / MS));
}

static int64_t common_deadline;

static void *sleep_common(void *arg)
{
    (void)arg;
    check_sleep(common_deadline);
    return NULL;
}

Test(sleep, thousand_threads_sleeping_until_one_deadline_all_wake_after_it, .timeout = 30)
{
    GREEN_INIT();
    enum { N = 1000 };
    static green_thread *t[N];
    common_deadline = in_ms(100);
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(sleep_common, NULL);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(finished, N);
    cr_assert_eq(failed, 0);
    cr_assert_eq(early, 0, "%d sleeps ended before the deadline", early);
    cr_assert_lt(green_now() - common_deadline, 800 * MS, "woken long after the deadline");
}

static void *sleep_arg_ns(void *arg)
{
    check_sleep(*(int64_t *)arg);
    return NULL;
}

Test(sleep, sleep_until_never_returns_before_its_deadline, .timeout = 30)
{
    GREEN_INIT();
    enum { N = 300 };
    static green_thread *t[N];
    static int64_t deadline[N];
    int64_t start = green_now();
    /* Deadlines 0..29 ms ahead, spawned in an order unrelated to them, so
     * that timers are inserted out of order and many share a millisecond. */
    for (int i = 0; i < N; i++) {
        deadline[i] = start + (int64_t)((i * 7) % 30) * MS + (i % 3) * 333333;
        t[i] = spawn_ok(sleep_arg_ns, &deadline[i]);
    }
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    cr_assert_eq(finished, N);
    cr_assert_eq(failed, 0);
    cr_assert_eq(early, 0, "%d sleeps ended before their deadline", early);

    /* main itself, with nobody else around */
    for (int i = 0; i < 20; i++) {
        int64_t d = green_now() + (i + 1) * 100000;
        cr_assert_eq(green_sleep_until(d), 0);
        cr_assert_geq(green_now(), d, "main woke before its deadline");
    }
}

static void *sleep_long(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_sleep_until(in_ms(10000));
}

Test(sleep, a_past_deadline_returns_at_once, .timeout = 20)
{
    GREEN_INIT();
    green_thread *bg = spawn_ok(sleep_long, NULL);
    green_yield(); /* bg sleeps 10 s: a wait there would show */
    int64_t start = green_now();
    cr_assert_eq(green_sleep_until(start - 1000 * MS), 0, "deadline a second ago");
    cr_assert_eq(green_sleep_until(0), 0, "deadline 0");
    cr_assert_eq(green_sleep_until(green_now()), 0, "deadline now");
    cr_assert_lt(green_now() - start, 2000 * MS, "past deadlines did not wait");
    cr_assert_eq(green_interrupt(bg), 0);
    cr_assert_eq((int)(intptr_t)join_ok(bg), -EINTR);
}

static void *sleep_short_and_log(void *arg)
{
    (void)arg;
    check_sleep(in_ms(20));
    return NULL;
}

Test(sleep, a_short_sleep_is_not_held_up_by_a_long_one, .timeout = 20)
{
    GREEN_INIT();
    green_thread *lng = spawn_ok(sleep_long, NULL);
    green_thread *shrt = spawn_ok(sleep_short_and_log, NULL);
    int64_t start = green_now();
    join_ok(shrt);
    cr_assert_eq(early, 0);
    cr_assert_lt(green_now() - start, 5000 * MS, "the 20 ms sleep waited for the 10 s one");
    cr_assert_eq(green_interrupt(lng), 0, "the long sleeper still sleeps");
    join_ok(lng);
}

static volatile int woke;

static void *sleep_then_flag(void *arg)
{
    (void)arg;
    check_sleep(in_ms(30));
    woke = 1;
    return NULL;
}

Test(sleep, a_sleeper_wakes_while_another_thread_yields_in_a_loop, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(sleep_then_flag, NULL);
    unsigned long spins = 0;
    while (!woke) {
        green_yield();
        spins++;
    }
    cr_assert_gt(spins, 0ul);
    cr_assert_eq(early, 0);
    join_ok(t);
}

Test(sleep, main_sleeps_alone, .timeout = 20)
{
    GREEN_INIT();
    int64_t d = in_ms(30);
    cr_assert_eq(green_sleep_until(d), 0);
    cr_assert_geq(green_now(), d);
    cr_assert_lt(green_now() - d, 2000 * MS, "woken long after the deadline");
}

static void *sleep_var(void *arg)
{
    int ms = (int)(intptr_t)arg;
    check_sleep(in_ms(ms));
    return NULL;
}

Test(sleep, sleeps_of_different_lengths_take_the_longest_not_the_sum, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 10 };
    green_thread *t[N];
    int64_t start = green_now();
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(sleep_var, (void *)(intptr_t)(100 - 10 * i));
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    int64_t took = green_now() - start;
    cr_assert_eq(early, 0);
    cr_assert_eq(failed, 0);
    cr_assert_geq(took, 100 * MS);
    cr_assert_lt(took, 500 * MS, "sleeps summing to 550 ms took %lld ms", (long long)(took / MS));
}

/* ---- green_poll_until ------------------------------------------------ */

static int busy_until_third(void *arg)
{
    int *calls = arg;
    return ++*calls < 3 ? -EBUSY : 42;
}

static int always_busy(void *arg)
{
    (void)arg;
    return -EBUSY;
}

Test(sleep, poll_until_retries_while_busy_and_returns_the_last_result, .timeout = 20)
{
    GREEN_INIT();
    int calls = 0;
    int64_t t0 = green_now();
    cr_assert_eq(green_poll_until(busy_until_third, &calls, GREEN_NEVER, 0), 42);
    cr_assert_eq(calls, 3);
    cr_assert_geq(green_now() - t0, 2 * 1000000, "two sleeps of a millisecond between attempts");
}

Test(sleep, poll_until_times_out_at_its_deadline, .timeout = 20)
{
    GREEN_INIT();
    int64_t deadline = in_ms(30);
    cr_assert_eq(green_poll_until(always_busy, NULL, deadline, 0), -ETIMEDOUT);
    cr_assert_geq(green_now(), deadline);
}

static green_thread *poller;

static void *interrupt_poller(void *arg)
{
    (void)arg;
    green_yield(); /* the poller sleeps by now */
    cr_assert_eq(green_interrupt(poller), 0);
    return NULL;
}

static void *poll_forever(void *interruptible)
{
    return (void *)(intptr_t)green_poll_until(always_busy, NULL, in_ms(200),
                                              (int)(intptr_t)interruptible);
}

Test(sleep, poll_until_returns_eintr_only_when_interruptible, .timeout = 20)
{
    GREEN_INIT();
    poller = spawn_ok(poll_forever, (void *)1);
    green_thread *i = spawn_ok(interrupt_poller, NULL);
    cr_assert_eq((int)(intptr_t)join_ok(poller), -EINTR);
    join_ok(i);
    poller = spawn_ok(poll_forever, (void *)0);
    i = spawn_ok(interrupt_poller, NULL);
    cr_assert_eq((int)(intptr_t)join_ok(poller), -ETIMEDOUT, "not interruptible: polls on");
    join_ok(i);
}

/* ---- green_wait: the wait policy -------------------------------------- */

static int timeout_of(int call)
{
    struct green_wait w = {
        .call = call, .on = GREEN_ON_TIME, .deadline = in_ms(1), .result = -EALREADY};
    return green_wait(&w);
}

Test(policy, each_class_reports_its_timeout_as_the_native_call, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(timeout_of(GREEN_CALL_IO), -EAGAIN, "SO_RCVTIMEO: EAGAIN");
    cr_assert_eq(timeout_of(GREEN_CALL_CONNECT), -EALREADY, "connect: its own answer");
    cr_assert_eq(timeout_of(GREEN_CALL_POLL), 0, "poll: 0");
    cr_assert_eq(timeout_of(GREEN_CALL_SLEEP), 0, "sleep: done");
    cr_assert_eq(timeout_of(GREEN_CALL_SIGWAIT), -EAGAIN, "sigtimedwait: EAGAIN");
    cr_assert_eq(timeout_of(GREEN_CALL_SEM), -ETIMEDOUT, "sem_timedwait: ETIMEDOUT");
    struct green_wait bad = {.call = 999, .on = GREEN_ON_TIME};
    cr_assert_eq(green_wait(&bad), -EINVAL);
}

static green_thread *waiter;

static void *interrupt_waiter(void *arg)
{
    (void)arg;
    green_yield();
    return (void *)(intptr_t)green_interrupt(waiter);
}

static void *wait_class(void *call)
{
    struct green_wait w = {
        .call = (int)(intptr_t)call, .on = GREEN_ON_TIME, .deadline = in_ms(5000)};
    return (void *)(intptr_t)green_wait(&w);
}

/* An interrupt that is no SA_RESTART handler's: EINTR for the calls that
 * can fail so, "try again" for those that never do. */
Test(policy, an_interrupt_is_eintr_or_ignored_by_class, .timeout = 20)
{
    GREEN_INIT();
    static const struct {
        int call, result;
    } cases[] = {{GREEN_CALL_IO, -EINTR},     {GREEN_CALL_POLL, -EINTR}, {GREEN_CALL_CHILD, -EINTR},
                 {GREEN_CALL_SIGWAIT_ANY, 1}, {GREEN_CALL_JOIN, 1},      {GREEN_CALL_LOCK, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        waiter = spawn_ok(wait_class, (void *)(intptr_t)cases[i].call);
        green_thread *k = spawn_ok(interrupt_waiter, NULL);
        cr_assert_eq((int)(intptr_t)join_ok(waiter), cases[i].result, "class %d", cases[i].call);
        cr_assert_eq((int)(intptr_t)join_ok(k), 0);
    }
}

static int empty_pipe[2];

/* A handler runs while the call is under way, before its wait (as after
 * a non-blocking attempt): noted since the call began, it interrupts. */
static void *note_then_wait(void *since_call_began)
{
    unsigned long since = green_call_seq();
    green_signal_note(SIGUSR1, 0);
    struct green_wait w = {.call = GREEN_CALL_IO,
                           .on = GREEN_ON_FD,
                           .fd = empty_pipe[0],
                           .events = GREEN_IN,
                           .deadline = in_ms(50),
                           .since = since_call_began ? since : 0};
    return (void *)(intptr_t)green_wait(&w);
}

static int wait_after_note(bool since_call_began)
{
    green_thread *t = spawn_ok(note_then_wait, (void *)(intptr_t)since_call_began);
    uint64_t usr1 = (uint64_t)1 << (SIGUSR1 - 1), old;
    cr_assert_eq(green_sigmask(SIG_BLOCK, &usr1, &old), 0); /* main would take it first */
    int r = (int)(intptr_t)join_ok(t);
    cr_assert_eq(green_sigmask(SIG_SETMASK, &old, NULL), 0);
    return r;
}

Test(policy, a_signal_since_the_call_began_interrupts_its_wait, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(pipe(empty_pipe), 0);
    cr_assert_neq(green_call_seq(), 0);
    cr_assert_eq(wait_after_note(true), -EINTR, "noted after the call began: EINTR");
    cr_assert_eq(wait_after_note(false), -EAGAIN, "since 0: only signals noted while it waits");
    close(empty_pipe[0]);
    close(empty_pipe[1]);
}

static int cancel_wanted, released;

static int due(void)
{
    return cancel_wanted;
}

static void act(void)
{
    cancel_wanted = 0;
    green_exit((void *)-1);
}

static void note_release(void *arg)
{
    (void)arg;
    released++;
}

static void *cancellable(void *call)
{
    struct green_wait w = {.call = (int)(intptr_t)call,
                           .on = GREEN_ON_TIME,
                           .deadline = in_ms(5000),
                           .release = note_release};
    return (void *)(intptr_t)green_wait(&w);
}

/* green_cancel interrupts only a cancellation point; there the release
 * runs, then the hook ends the thread. A lock wait is not disturbed. */
Test(policy, cancel_ends_a_cancellation_point_only, .timeout = 20)
{
    GREEN_INIT();
    green_cancel_hooks(due, act);
    green_thread *t = spawn_ok(cancellable, (void *)(intptr_t)GREEN_CALL_SLEEP);
    green_yield();
    cancel_wanted = 1;
    cr_assert_eq(green_cancel(t), 0);
    cr_assert_eq(join_ok(t), (void *)-1, "ended by the hook");
    cr_assert_eq(released, 1, "release ran first");

    struct green_wait lock = {.call = GREEN_CALL_LOCK, .on = GREEN_ON_TIME, .deadline = in_ms(30)};
    t = spawn_ok(cancellable, (void *)(intptr_t)GREEN_CALL_LOCK);
    green_yield();
    cr_assert_eq(green_cancel(t), -ESRCH, "a lock wait is no cancellation point");
    cancel_wanted = 0;
    cr_assert_eq(green_wait(&lock), -ETIMEDOUT);
    cr_assert_eq(green_interrupt(t), 0);
    cr_assert_eq((int)(intptr_t)join_ok(t), 1);
    green_cancel_hooks(NULL, NULL);
}
