/* test_sched.c: green threads: spawn, yield, join, detach, exit, ids,
 * names, per-thread errno and interrupts. Ordering is shown with event
 * logs, semaphores and joins, never with sleeps. */
#include "util.h"

static struct evlog lg;

/* ---- initialisation ----------------------------------------------------- */

Test(sched, init_adopts_the_caller_as_thread_one_named_main, .timeout = 20)
{
    cr_assert_null(green_self(), "no green thread before green_init");
    cr_assert_not(green_can_block(), "nothing may block before green_init");
    GREEN_INIT();
    green_thread *self = green_self();
    cr_assert_not_null(self, "the caller is a green thread after green_init");
    cr_assert_eq(green_thread_id(self), 1ul, "main is thread 1");
    const char *name = green_thread_name(self);
    cr_assert_not_null(name);
    cr_expect_str_eq(name, "main", "thread 1 is called \"main\"");
    cr_assert(green_can_block(), "main may block after green_init");
    cr_assert_not(green_others_exist(), "only main exists");
    cr_assert_eq(green_init(NULL), -EALREADY, "a second green_init is -EALREADY");
}

Test(sched, init_rejects_a_bad_config, .timeout = 20)
{
    struct green_config small = {.stack_size = GREEN_STACK_MIN / 2, .deadlock = 0};
    cr_assert_eq(green_init(&small), -EINVAL, "stack below GREEN_STACK_MIN");
    struct green_config mode = {.stack_size = 0, .deadlock = 7};
    cr_assert_eq(green_init(&mode), -EINVAL, "unknown deadlock mode");
}

/* ---- spawn and yield ordering ------------------------------------------- */

static void *log_arg(void *arg)
{
    evlog_add(&lg, (int)(intptr_t)arg);
    return arg;
}

Test(sched, spawned_thread_starts_at_the_next_switch, .timeout = 20)
{
    GREEN_INIT();
    green_thread *a = spawn_ok(log_arg, (void *)1);
    evlog_add(&lg, 100);
    cr_assert_eq(lg.n, 1, "the spawner keeps running: the new thread has not run");
    cr_assert(green_others_exist(), "a ready thread counts as another");
    green_yield();
    cr_assert_eq(lg.n, 2, "the new thread ran at the yield");
    cr_assert_eq(lg.ev[0], 100);
    cr_assert_eq(lg.ev[1], 1);
    cr_assert_eq(join_ok(a), (void *)1);
    cr_assert_not(green_others_exist(), "nobody left after the join");
}

Test(sched, run_queue_is_fifo_and_the_yielder_goes_last, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(log_arg, (void *)(intptr_t)(i + 1));
    green_yield();
    evlog_add(&lg, 100);
    int want[] = {1, 2, 3, 100};
    cr_assert_eq(lg.n, 4, "all three ran before the yielder came back");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lg.ev[i], want[i], "event %d: got %d want %d", i, lg.ev[i], want[i]);
    for (int i = 0; i < 3; i++)
        join_ok(t[i]);
}

static void *yield_three_times(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < 3; round++) {
        evlog_add(&lg, id * 10 + round);
        green_yield();
    }
    return NULL;
}

Test(sched, yield_among_three_threads_is_round_robin, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(yield_three_times, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < 3; i++)
        join_ok(t[i]);
    int want[] = {10, 20, 30, 11, 21, 31, 12, 22, 32};
    evlog_expect(&lg, want, 9);
}

Test(sched, main_takes_its_turn_in_the_round_robin, .timeout = 20)
{
    GREEN_INIT();
    green_thread *a = spawn_ok(yield_three_times, (void *)1);
    green_thread *b = spawn_ok(yield_three_times, (void *)2);
    for (int round = 0; round < 3; round++) {
        evlog_add(&lg, 90 + round);
        green_yield();
    }
    join_ok(a);
    join_ok(b);
    int want[] = {90, 10, 20, 91, 11, 21, 92, 12, 22};
    evlog_expect(&lg, want, 9);
}

Test(sched, yield_with_nobody_else_returns_at_once, .timeout = 20)
{
    GREEN_INIT();
    for (int i = 0; i < 1000; i++)
        green_yield();
    cr_assert_eq(green_thread_id(green_self()), 1ul);
}

static void *spawn_child_and_join(void *arg)
{
    (void)arg;
    green_thread *t = NULL;
    int r = green_spawn(&t, log_arg, (void *)7, NULL);
    cr_expect_eq(r, 0, "spawn from a green thread: %d", r);
    if (r)
        return NULL;
    void *v = NULL;
    r = green_join(t, &v, GREEN_NEVER);
    cr_expect_eq(r, 0);
    return v;
}

Test(sched, a_green_thread_can_spawn_and_join_another, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(spawn_child_and_join, NULL);
    cr_assert_eq(join_ok(t), (void *)7);
    cr_assert_eq(lg.n, 1);
}

/* ---- exit values ---------------------------------------------------------- */

static int after_exit_ran;

static void leave_with(void *v)
{
    green_exit(v);
}

static void *exit_from_a_nested_call(void *arg)
{
    leave_with(arg);
    after_exit_ran = 1;
    return (void *)0xbad;
}

Test(sched, join_returns_what_the_function_returned, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(log_arg, (void *)0x1234);
    cr_assert_eq(join_ok(t), (void *)0x1234);
}

Test(sched, green_exit_value_reaches_the_joiner, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(exit_from_a_nested_call, (void *)42);
    cr_assert_eq(join_ok(t), (void *)42);
    cr_assert_not(after_exit_ran, "green_exit does not return");
}

Test(sched, join_of_a_finished_thread_returns_at_once, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(log_arg, (void *)5);
    green_yield();
    cr_assert_eq(lg.n, 1, "the thread has finished");
    void *v = NULL;
    cr_assert_eq(green_join(t, &v, 0), 0, "tryjoin of a finished thread succeeds");
    cr_assert_eq(v, (void *)5);
}

Test(sched, join_accepts_a_null_retval, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(log_arg, (void *)5);
    cr_assert_eq(green_join(t, NULL, GREEN_NEVER), 0);
}

/* ---- join errors ------------------------------------------------------------ */

static green_sem gate, done;

static void *wait_gate(void *arg)
{
    int r = green_sem_wait(&gate, GREEN_NEVER);
    cr_expect_eq(r, 0, "gate wait: %d", r);
    green_sem_post(&done);
    return arg;
}

static void *join_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_join(green_self(), NULL, GREEN_NEVER);
}

Test(sched, self_join_is_edeadlk, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_join(green_self(), NULL, GREEN_NEVER), -EDEADLK, "main joining itself");
    green_thread *t = spawn_ok(join_self, NULL);
    cr_assert_eq((int)(intptr_t)join_ok(t), -EDEADLK, "a spawned thread joining itself");
}

Test(sched, join_of_a_detached_thread_is_einval, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(wait_gate, NULL);
    green_yield(); /* t parks on the gate */
    cr_assert_eq(green_detach(t), 0);
    cr_assert_eq(green_join(t, NULL, GREEN_NEVER), -EINVAL, "join after detach");
    cr_assert_eq(green_detach(t), -EINVAL, "second detach");
    green_sem_post(&gate);
    cr_assert_eq(green_sem_wait(&done, GREEN_NEVER), 0, "the detached thread ran to its end");
}

Test(sched, thread_spawned_detached_runs_and_cannot_be_joined, .timeout = 20)
{
    GREEN_INIT();
    struct green_attr attr = {.detached = 1};
    green_thread *t = NULL;
    cr_assert_eq(green_spawn(&t, wait_gate, NULL, &attr), 0);
    cr_assert_eq(green_join(t, NULL, GREEN_NEVER), -EINVAL, "join of a thread spawned detached");
    cr_assert_eq(green_join(t, NULL, 0), -EBUSY, "tryjoin of it while it runs, as glibc");
    cr_assert_eq(green_detach(t), -EINVAL, "detach of a thread spawned detached");
    green_sem_post(&gate);
    cr_assert_eq(green_sem_wait(&done, GREEN_NEVER), 0);
}

static green_thread *joinee;

static void *join_joinee(void *arg)
{
    (void)arg;
    void *v = NULL;
    int r = green_join(joinee, &v, GREEN_NEVER);
    cr_expect_eq(r, 0, "first joiner: %d", r);
    return v;
}

Test(sched, second_joiner_and_detach_of_a_joined_thread_are_einval, .timeout = 20)
{
    GREEN_INIT();
    joinee = spawn_ok(wait_gate, (void *)3);
    green_thread *j = spawn_ok(join_joinee, NULL);
    green_yield(); /* joinee parks on the gate, j parks in join */
    cr_assert_eq(green_join(joinee, NULL, GREEN_NEVER), -EINVAL, "second joiner");
    cr_assert_eq(green_detach(joinee), -EINVAL, "detach of a thread with a joiner");
    green_sem_post(&gate);
    cr_assert_eq(join_ok(j), (void *)3, "the first joiner got the value");
}

Test(sched, tryjoin_of_a_running_thread_is_ebusy_and_keeps_it_joinable, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(wait_gate, (void *)9);
    cr_assert_eq(green_join(t, NULL, 0), -EBUSY, "tryjoin before it ran");
    green_yield();
    cr_assert_eq(green_join(t, NULL, 0), -EBUSY, "tryjoin while it waits");
    green_sem_post(&gate);
    cr_assert_eq(join_ok(t), (void *)9, "still joinable after -EBUSY");
}

Test(sched, timed_join_expires_with_etimedout_and_keeps_it_joinable, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(wait_gate, (void *)11);
    int64_t deadline = in_ms(50);
    cr_assert_eq(green_join(t, NULL, deadline), -ETIMEDOUT);
    cr_assert_geq(green_now(), deadline, "not before the deadline");
    green_sem_post(&gate);
    cr_assert_eq(join_ok(t), (void *)11);
}

/* ---- exit of the last thread --------------------------------------------- */

static void *say_and_exit(void *arg)
{
    for (int i = 0; i < 3; i++)
        green_yield();
    fprintf(stderr, "worker done\n");
    if (arg)
        green_exit(NULL);
    return NULL;
}

/* Run fn(arg) in a child that must exit with status 0 once the other
 * thread has said "worker done". */
static void expect_worker_done(void (*fn)(void *), void *arg)
{
    static struct child c;
    child_run(&c, fn, arg);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "child %s; stderr: %s",
              status_str(c.status), c.out);
    cr_assert(strstr(c.out, "worker done"), "the other thread did not run to its end: %s", c.out);
}

static void main_exits_first(void *use_green_exit)
{
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, say_and_exit, use_green_exit, NULL) == 0);
    green_exit((void *)1);
}

Test(sched, green_exit_of_the_last_thread_exits_the_process_with_status_0, .timeout = 20)
{
    expect_worker_done(main_exits_first, (void *)1);
}

Test(sched, return_of_the_last_thread_after_main_left_exits_with_status_0, .timeout = 20)
{
    expect_worker_done(main_exits_first, NULL);
}

static void main_exits_last(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *t;
    struct green_attr attr = {.detached = 1};
    CHILD_CHECK(green_spawn(&t, say_and_exit, NULL, &attr) == 0);
    while (green_others_exist())
        green_yield();
    green_exit(NULL);
}

Test(sched, green_exit_of_main_when_alone_exits_with_status_0, .timeout = 20)
{
    expect_worker_done(main_exits_last, NULL);
}

/* ---- ids, names, userdata ------------------------------------------------- */

static void *report_id(void *arg)
{
    (void)arg;
    cr_expect(green_can_block(), "a green thread may block");
    return (void *)(uintptr_t)green_thread_id(green_self());
}

Test(sched, thread_ids_are_small_distinct_and_main_is_one, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 50 };
    green_thread *t[N];
    unsigned long id[N];
    for (int i = 0; i < N; i++) {
        t[i] = spawn_ok(report_id, NULL);
        id[i] = green_thread_id(t[i]);
        cr_assert_gt(id[i], 1ul, "only main is 1");
        cr_assert_lt(id[i], 1000000ul, "ids are small numbers");
        for (int j = 0; j < i; j++)
            cr_assert_neq(id[i], id[j], "live threads %d and %d share id %lu", i, j, id[i]);
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq((unsigned long)(uintptr_t)join_ok(t[i]), id[i],
                     "a thread sees the id its spawner saw");
}

static void *check_own_name(void *arg)
{
    cr_expect_str_eq(green_thread_name(green_self()), (const char *)arg,
                     "the thread sees the name its spawner gave it");
    return NULL;
}

Test(sched, names_are_copied_and_kept_to_15_bytes, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(check_own_name, "worker-7");
    char name[32] = "worker-7";
    green_thread_set_name(t, name);
    strcpy(name, "changed");
    cr_assert_str_eq(green_thread_name(t), "worker-7", "the name is a copy");

    green_thread_set_name(green_self(), "a-name-that-is-far-too-long");
    const char *n = green_thread_name(green_self());
    cr_assert_leq(strlen(n), 15u, "at most 15 bytes: \"%s\"", n);
    cr_assert_gt(strlen(n), 0u);
    cr_assert_eq(strncmp(n, "a-name-that-is-far-too-long", strlen(n)), 0,
                 "a prefix of the name given: \"%s\"", n);
    join_ok(t);
}

static void *touch_userdata(void *arg)
{
    void **slot = green_thread_userdata(green_self());
    cr_expect_null(*slot, "a new thread's userdata is NULL");
    *slot = arg;
    green_yield();
    cr_expect_eq(*green_thread_userdata(green_self()), arg, "userdata survives a switch");
    return NULL;
}

Test(sched, userdata_is_a_slot_per_thread, .timeout = 20)
{
    GREEN_INIT();
    int x, y, z;
    *green_thread_userdata(green_self()) = &z;
    green_thread *a = spawn_ok(touch_userdata, &x);
    green_thread *b = spawn_ok(touch_userdata, &y);
    cr_assert_neq(green_thread_userdata(a), green_thread_userdata(b));
    join_ok(a);
    join_ok(b);
    cr_assert_eq(*green_thread_userdata(green_self()), &z);
}

/* ---- errno --------------------------------------------------------------------- */

static int errno_ok[3];

static void *keep_errno(void *arg)
{
    int mine = 1000 + (int)(intptr_t)arg;
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        errno = mine;
        green_yield();
        if (errno != mine)
            ok = 0;
        errno = mine;
        green_sleep_until(in_ms(1));
        if (errno != mine)
            ok = 0;
    }
    errno_ok[(intptr_t)arg] = ok;
    return NULL;
}

Test(sched, errno_is_kept_per_green_thread_across_switches, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(keep_errno, (void *)(intptr_t)i);
    errno = 77;
    green_yield();
    cr_assert_eq(errno, 77, "main's errno after a yield");
    for (int i = 0; i < 3; i++) {
        errno = 78;
        join_ok(t[i]);
        cr_assert_eq(errno, 78, "main's errno after a join");
    }
    for (int i = 0; i < 3; i++)
        cr_assert(errno_ok[i], "thread %d saw another thread's errno", i);
}

/* ---- interrupts ---------------------------------------------------------------- */

static void *sleep_then_again(void *arg)
{
    int64_t deadline = (intptr_t)arg ? in_ms(10000) : GREEN_NEVER;
    int r1 = green_sleep_until(deadline);
    evlog_add(&lg, r1);
    int64_t d2 = in_ms(20);
    int r2 = green_sleep_until(d2);
    evlog_add(&lg, r2);
    cr_expect_geq(green_now(), d2, "the second sleep ran to its deadline");
    return NULL;
}

Test(sched, interrupt_wakes_a_sleeper_with_eintr_once, .timeout = 20)
{
    GREEN_INIT();
    for (intptr_t finite = 0; finite < 2; finite++) {
        lg.n = 0;
        green_thread *t = spawn_ok(sleep_then_again, (void *)finite);
        green_yield();
        cr_assert_eq(lg.n, 0, "the thread sleeps");
        cr_assert_eq(green_interrupt(t), 0);
        join_ok(t);
        cr_assert_eq(lg.n, 2);
        cr_assert_eq(lg.ev[0], -EINTR, "interrupted sleep (finite=%d): %d", (int)finite, lg.ev[0]);
        cr_assert_eq(lg.ev[1], 0, "the interrupt does not stick to the next sleep: %d", lg.ev[1]);
    }
}

Test(sched, interrupt_of_a_thread_that_does_not_wait_is_esrch, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_interrupt(green_self()), -ESRCH, "the running thread");
    green_thread *t = spawn_ok(log_arg, (void *)1);
    cr_assert_eq(green_interrupt(t), -ESRCH, "a ready thread that never ran");
    green_yield();
    cr_assert_eq(lg.n, 1, "the interrupt did not stop it");
    cr_assert_eq(green_interrupt(t), -ESRCH, "a finished thread");
    join_ok(t);
}

static void *sem_wait_result(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_sem_wait(&gate, GREEN_NEVER);
}

Test(sched, interrupt_wakes_a_semaphore_waiter_with_eintr, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = spawn_ok(sem_wait_result, NULL);
    green_yield();
    cr_assert_eq(green_interrupt(t), 0);
    cr_assert_eq((int)(intptr_t)join_ok(t), -EINTR);
    cr_assert_eq(green_sem_post(&gate), 0);
    cr_assert_eq(green_sem_value(&gate), 1u, "the interrupted waiter left the queue");
}

/* ---- many threads ------------------------------------------------------------------ */

static int ran;

static void *count_and_post(void *arg)
{
    (void)arg;
    ran++;
    green_sem_post(&done);
    return NULL;
}

Test(sched, detached_threads_run_to_their_end_and_are_reclaimed, .timeout = 60)
{
    GREEN_INIT();
    struct green_attr attr = {.detached = 1};
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        green_thread *t;
        cr_assert_eq(green_spawn(&t, count_and_post, NULL, &attr), 0, "spawn %d", i);
        if (i % 100 == 99)
            for (int j = 0; j < 100; j++)
                cr_assert_eq(green_sem_wait(&done, GREEN_NEVER), 0);
    }
    cr_assert_eq(ran, N);
    cr_assert_not(green_others_exist(), "all detached threads are gone");
}

Test(sched, sequential_spawn_and_join_reuses_resources, .timeout = 60)
{
    GREEN_INIT();
    for (int i = 0; i < 20000; i++) {
        green_thread *t = NULL;
        int r = green_spawn(&t, log_arg, (void *)(intptr_t)i, NULL);
        cr_assert_eq(r, 0, "spawn %d: %d", i, r);
        void *v = NULL;
        cr_assert_eq(green_join(t, &v, GREEN_NEVER), 0);
        cr_assert_eq(v, (void *)(intptr_t)i);
        lg.n = 0;
    }
}

/* ---- thread-local storage --------------------------------------------------- */

static __thread int tls_value = 7; /* from the TLS image */
static int tls_seen[3];

static void *keep_tls(void *arg)
{
    int id = (int)(intptr_t)arg;
    int ok = tls_value == 7;
    tls_value = id * 10;
    for (int i = 0; i < 3; i++) {
        green_yield();
        ok &= tls_value == id * 10 && green_self() != NULL;
    }
    tls_seen[id] = ok;
    return NULL;
}

Test(sched, each_green_thread_has_its_own_tls, .timeout = 20)
{
    struct green_config cfg = {.tls = GREEN_TLS_OWN};
    cr_assert_eq(green_init(&cfg), 0);
    tls_value = 1;
    green_thread *a = spawn_ok(keep_tls, (void *)1), *b = spawn_ok(keep_tls, (void *)2);
    cr_assert_eq(green_join(a, NULL, GREEN_NEVER), 0);
    cr_assert_eq(green_join(b, NULL, GREEN_NEVER), 0);
    cr_expect(tls_seen[1] && tls_seen[2], "each thread starts from the image and keeps its own");
    cr_expect_eq(tls_value, 1, "main keeps its own");
}

Test(sched, shared_tls_on_request_is_one_copy_for_all, .timeout = 20)
{
    struct green_config cfg = {.tls = GREEN_TLS_SHARED};
    cr_assert_eq(green_init(&cfg), 0);
    tls_value = 3;
    green_thread *a = spawn_ok(keep_tls, (void *)1);
    green_yield();
    cr_expect_eq(tls_value, 10, "one copy: main sees what thread 1 wrote");
    cr_assert_eq(green_join(a, NULL, GREEN_NEVER), 0);
    cr_expect_not(tls_seen[1], "thread 1 did not start from the image");
}

Test(config, tls_accepts_auto_own_and_shared_only, .timeout = 20)
{
    struct green_config cfg;
    char err[256];
    setenv("GREEN_TLS", "shared", 1);
    cr_assert_eq(green_config_from_env(&cfg, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cfg.tls, GREEN_TLS_SHARED);
    setenv("GREEN_TLS", "own", 1);
    cr_assert_eq(green_config_from_env(&cfg, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cfg.tls, GREEN_TLS_OWN);
    setenv("GREEN_TLS", "auto", 1);
    cr_assert_eq(green_config_from_env(&cfg, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cfg.tls, GREEN_TLS_AUTO);
    setenv("GREEN_TLS", "mine", 1);
    cr_assert_eq(green_config_from_env(&cfg, err, sizeof err), -EINVAL);
    cr_expect(strstr(err, "GREEN_TLS"), "message names the variable: %s", err);
    unsetenv("GREEN_TLS");
}

/* ---- slices ending in the middle of a switch ------------------------------ */

#define TICKED_YIELDS 1000000

static void *yield_a_lot(void *arg)
{
    long *done = arg;
    for (long i = 0; i < TICKED_YIELDS; i++) {
        green_yield();
        ++*done;
    }
    return NULL;
}

/* Two threads yield two million times under 1 ms slices, so the slice
 * timer ticks everywhere, in the middle of switches too, where the core
 * already names the next thread while the stack is still the last one's:
 * no tick may preempt there (the switch would be saved on the wrong
 * thread's stack, and the program crash or hang). */
static void yield_under_ticks(enum green_tls_mode tls)
{
#ifdef __SANITIZE_ADDRESS__
    /* A tick between a jump and the resumed side's report to ASan
     * (san_switch_end) would start a second switch inside the first. */
    cr_skip_test("slices are not switch-safe for ASan's fiber annotations");
#endif
    cr_assert_eq(green_init(&(struct green_config){.tls = tls, .slice_ms = 1}), 0);
    long done[2] = {0, 0};
    green_thread *t = spawn_ok(yield_a_lot, &done[1]);
    yield_a_lot(&done[0]);
    cr_assert_eq(green_join(t, NULL, GREEN_NEVER), 0);
    cr_expect_eq(done[0], TICKED_YIELDS);
    cr_expect_eq(done[1], TICKED_YIELDS);
}

Test(sched, slices_never_end_halfway_through_a_switch_with_shared_tls, .timeout = 60)
{
    yield_under_ticks(GREEN_TLS_SHARED);
}

Test(sched, slices_never_end_halfway_through_a_switch_with_own_tls, .timeout = 60)
{
    yield_under_ticks(GREEN_TLS_OWN);
}
