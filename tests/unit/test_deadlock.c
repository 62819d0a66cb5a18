/* test_deadlock.c: when every green thread waits on something only
 * another green thread can give, the core says so on stderr (each thread
 * and what it waits on) and aborts, or hangs when asked to. A thread that
 * waits on a fd or a timer can still be woken from outside: no report.
 * Each scenario runs in a child process whose stderr is captured. */
#include "util.h"

#include <sched.h>
#include <time.h>

static green_mutex A, B, M;
static green_sem s1, s2, S;

static void fmt_ptr(char *buf, size_t n, const void *p)
{
    snprintf(buf, n, "%p", p);
}

/* Parse the "INFO" line the child writes before it blocks. */
static void read_ids(const struct child *c, unsigned long *a, unsigned long *b)
{
    const char *info = strstr(c->out, "INFO ");
    cr_assert_not_null(info, "the child did not get to the deadlock; stderr:\n%s", c->out);
    cr_assert_eq(sscanf(info, "INFO %lu %lu", a, b), 2);
}

/* The first line naming `who` and `what` must also hold the number `id`. */
static void check_waits_on(const struct child *c, const char *who, const void *what,
                           unsigned long holder)
{
    char addr[32], line[1024];
    fmt_ptr(addr, sizeof addr, what);
    const char *needles[] = {who, addr, NULL};
    cr_assert(find_line(c->out, needles, line, sizeof line),
              "no line names thread %s and what it waits on (%s); stderr:\n%s", who, addr, c->out);
    if (holder)
        cr_assert(has_number(line, holder), "the line does not name the holder, thread %lu: %s",
                  holder, line);
}

static void check_aborted(const struct child *c)
{
    cr_assert(WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT,
              "the child must die by SIGABRT; it %s; stderr:\n%s", status_str(c->status), c->out);
}

/* Run fn in a child that must abort with one thread reported waiting;
 * returns the child, for more checks. */
static const struct child *expect_reported(void (*fn)(void *), void *arg, const char *who,
                                           const void *what, unsigned long holder)
{
    static struct child c;
    child_run(&c, fn, arg);
    check_aborted(&c);
    check_waits_on(&c, who, what, holder);
    return &c;
}

static void check_clean(const struct child *c)
{
    cr_assert(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0, "child %s; stderr:\n%s",
              status_str(c->status), c->out);
    cr_assert_null(strcasestr(c->out, "deadlock"), "a report when there is no deadlock:\n%s",
                   c->out);
    cr_assert(strstr(c->out, "CLEAN"), "the child did not finish; stderr:\n%s", c->out);
}

/* Run fn in a child that must end cleanly, with no deadlock report. */
static void expect_clean(void (*fn)(void *))
{
    static struct child c;
    child_run(&c, fn, NULL);
    check_clean(&c);
}

/* ---- two mutexes taken in opposite orders --------------------------------- */

static void *alpha(void *arg)
{
    (void)arg;
    green_mutex_lock(&A, GREEN_NEVER);
    green_sem_post(&s2);
    green_sem_wait(&s1, GREEN_NEVER);
    green_mutex_lock(&B, GREEN_NEVER);
    fprintf(stderr, "alpha got B\n");
    return NULL;
}

static void *beta(void *arg)
{
    (void)arg;
    green_sem_wait(&s2, GREEN_NEVER);
    green_mutex_lock(&B, GREEN_NEVER);
    green_sem_post(&s1);
    green_mutex_lock(&A, GREEN_NEVER);
    fprintf(stderr, "beta got A\n");
    return NULL;
}

static void abba_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *ta, *tb;
    CHILD_CHECK(green_spawn(&ta, alpha, NULL, NULL) == 0);
    CHILD_CHECK(green_spawn(&tb, beta, NULL, NULL) == 0);
    green_thread_set_name(ta, "alpha");
    green_thread_set_name(tb, "beta");
    fprintf(stderr, "INFO %lu %lu\n", green_thread_id(ta), green_thread_id(tb));
    green_join(ta, NULL, GREEN_NEVER);
    fprintf(stderr, "main joined alpha\n");
}

Test(deadlock, opposite_lock_order_is_reported_with_waits_and_holders_then_aborts, .timeout = 30)
{
    static struct child c;
    child_run(&c, abba_child, NULL);
    check_aborted(&c);
    unsigned long ida, idb;
    read_ids(&c, &ida, &idb);
    check_waits_on(&c, "alpha", &B, idb);
    check_waits_on(&c, "beta", &A, ida);
    cr_assert(strstr(c.out, "main"), "main (waiting in a join) is listed:\n%s", c.out);
    cr_assert_null(strstr(c.out, "got"), "a deadlocked thread went on:\n%s", c.out);
}

/* ---- a join on a thread that waits forever ------------------------------------ */

static void *sit_on_sem(void *arg)
{
    (void)arg;
    green_sem_wait(&S, GREEN_NEVER);
    fprintf(stderr, "sitter woke\n");
    return NULL;
}

static void sem_child(void *mode)
{
    struct green_config cfg = {.stack_size = 0, .deadlock = (int)(intptr_t)mode};
    CHILD_CHECK(green_init(&cfg) == 0);
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, sit_on_sem, NULL, NULL) == 0);
    green_thread_set_name(t, "sem-sitter");
    fprintf(stderr, "INFO %lu %lu\n", green_thread_id(green_self()), green_thread_id(t));
    green_join(t, NULL, GREEN_NEVER);
    fprintf(stderr, "main joined\n");
}

Test(deadlock, joining_a_thread_that_waits_forever_on_a_semaphore_is_reported, .timeout = 30)
{
    const struct child *c =
        expect_reported(sem_child, (void *)(intptr_t)GREEN_DEADLOCK_ABORT, "sem-sitter", &S, 0);
    cr_assert_null(strstr(c->out, "joined"), "main went on:\n%s", c->out);
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

/* Poll (not sleep-as-synchronisation: the loop ends on a state change)
 * until the process sleeps in the kernel or has died. */
static char wait_blocked_or_dead(pid_t pid)
{
    for (;;) {
        char st = proc_state(pid);
        if (st == 'S' || st == 'Z' || st == 'X' || st == '?')
            return st;
        sched_yield();
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}

Test(deadlock, hang_mode_reports_then_waits_instead_of_aborting, .timeout = 30)
{
    static struct child c;
    child_start(&c, sem_child, (void *)(intptr_t)GREEN_DEADLOCK_HANG);
    char addr[32];
    fmt_ptr(addr, sizeof addr, &S);
    cr_assert(child_read(&c, addr), "no report naming the semaphore; stderr:\n%s", c.out);
    /* the report is out; a hanging child sleeps, an aborting one dies */
    char st = wait_blocked_or_dead(c.pid);
    kill(c.pid, SIGKILL);
    child_finish(&c);
    cr_assert_eq(st, 'S', "the child should hang after the report; state %c, %s; stderr:\n%s", st,
                 status_str(c.status), c.out);
    cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL,
              "the child ended by itself: %s", status_str(c.status));
    check_waits_on(&c, "sem-sitter", &S, 0);
}

static void lonely_main_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    green_sem_wait(&S, GREEN_NEVER);
    fprintf(stderr, "main woke\n");
}

Test(deadlock, main_alone_waiting_forever_is_reported, .timeout = 30)
{
    expect_reported(lonely_main_child, NULL, "main", &S, 0);
}

static void self_relock_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    CHILD_CHECK(green_mutex_lock(&M, GREEN_NEVER) == 0);
    green_mutex_lock(&M, GREEN_NEVER);
    fprintf(stderr, "main relocked\n");
}

Test(deadlock, relock_of_a_normal_mutex_by_its_only_thread_is_reported, .timeout = 30)
{
    expect_reported(self_relock_child, NULL, "main", &M, 1);
}

/* ---- waits that something outside can end are no deadlock ------------------- */

static int data[2], go[2];

static void *lock_M(void *arg)
{
    (void)arg;
    green_mutex_lock(&M, GREEN_NEVER);
    green_mutex_unlock(&M);
    return NULL;
}

static void *read_data(void *arg)
{
    (void)arg;
    int r = green_fd_wait(data[0], GREEN_IN, GREEN_NEVER);
    CHILD_CHECK(r == GREEN_IN);
    char ch;
    CHILD_CHECK(read(data[0], &ch, 1) == 1);
    return NULL;
}

static void fd_child(void *arg)
{
    (void)arg;
    close(data[1]);
    close(go[0]);
    CHILD_CHECK(green_init(NULL) == 0);
    CHILD_CHECK(green_mutex_lock(&M, GREEN_NEVER) == 0);
    green_thread *m1, *m2, *rd;
    CHILD_CHECK(green_spawn(&m1, lock_M, NULL, NULL) == 0);
    CHILD_CHECK(green_spawn(&m2, lock_M, NULL, NULL) == 0);
    CHILD_CHECK(green_spawn(&rd, read_data, NULL, NULL) == 0);
    green_yield(); /* m1 and m2 wait on M, rd waits on the pipe */
    CHILD_CHECK(write(go[1], "g", 1) == 1);
    /* Now every green thread waits; only the parent's write can help. */
    CHILD_CHECK(green_join(rd, NULL, GREEN_NEVER) == 0);
    green_mutex_unlock(&M);
    CHILD_CHECK(green_join(m1, NULL, GREEN_NEVER) == 0);
    CHILD_CHECK(green_join(m2, NULL, GREEN_NEVER) == 0);
    fprintf(stderr, "CLEAN\n");
    _exit(0);
}

Test(deadlock, a_thread_waiting_on_a_fd_is_not_a_deadlock, .timeout = 30)
{
    static struct child c;
    cr_assert_eq(pipe(data), 0);
    cr_assert_eq(pipe(go), 0);
    child_start(&c, fd_child, NULL);
    close(data[0]);
    close(go[1]);
    signal(SIGPIPE, SIG_IGN);
    char g;
    if (read(go[0], &g, 1) != 1) {
        child_finish(&c);
        cr_assert_fail("the child did not get ready: %s; stderr:\n%s", status_str(c.status), c.out);
    }
    /* Let the child reach its event wait (or its wrong report) first. */
    char st = wait_blocked_or_dead(c.pid);
    cr_assert_eq(write(data[1], "d", 1), 1);
    child_finish(&c);
    cr_assert_eq(st, 'S', "state %c before the write", st);
    check_clean(&c);
}

static void *hold_M_while_sleeping(void *arg)
{
    (void)arg;
    green_mutex_lock(&M, GREEN_NEVER);
    green_sleep_until(in_ms(50));
    green_mutex_unlock(&M);
    return NULL;
}

static void sleeper_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, hold_M_while_sleeping, NULL, NULL) == 0);
    green_yield(); /* t holds M and sleeps */
    CHILD_CHECK(green_mutex_lock(&M, GREEN_NEVER) == 0);
    green_mutex_unlock(&M);
    CHILD_CHECK(green_join(t, NULL, GREEN_NEVER) == 0);
    fprintf(stderr, "CLEAN\n");
    _exit(0);
}

Test(deadlock, a_sleeping_mutex_holder_is_not_a_deadlock, .timeout = 30)
{
    expect_clean(sleeper_child);
}

static void timed_wait_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    CHILD_CHECK(green_sem_wait(&S, in_ms(50)) == -ETIMEDOUT);
    CHILD_CHECK(green_mutex_lock(&M, GREEN_NEVER) == 0);
    CHILD_CHECK(green_mutex_lock(&M, in_ms(50)) == -ETIMEDOUT);
    fprintf(stderr, "CLEAN\n");
    _exit(0);
}

Test(deadlock, waits_with_a_deadline_are_not_a_deadlock, .timeout = 30)
{
    expect_clean(timed_wait_child);
}

/* ---- green_dump --------------------------------------------------------------- */

static void *dump_waiter(void *arg)
{
    (void)arg;
    green_sem_wait(&S, GREEN_NEVER);
    return NULL;
}

static void *dump_sleeper(void *arg)
{
    (void)arg;
    green_sleep_until(in_ms(10000));
    return NULL;
}

Test(deadlock, dump_lists_every_thread_and_what_it_waits_on, .timeout = 20)
{
    GREEN_INIT();
    green_thread *w = spawn_ok(dump_waiter, NULL);
    green_thread *s = spawn_ok(dump_sleeper, NULL);
    green_thread_set_name(w, "dump-waiter");
    green_thread_set_name(s, "dump-sleeper");
    green_yield();
    static struct child out; /* only its buffer and line helpers are used */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    green_dump(p[1]);
    close(p[1]);
    out.errfd = p[0];
    out.len = 0;
    out.out[0] = '\0';
    child_read(&out, NULL);
    close(p[0]);
    cr_assert(strstr(out.out, "main"), "dump:\n%s", out.out);
    cr_assert(strstr(out.out, "dump-sleeper"), "dump:\n%s", out.out);
    check_waits_on(&out, "dump-waiter", &S, 0);
    green_sem_post(&S);
    cr_assert_eq(green_interrupt(s), 0);
    join_ok(w);
    join_ok(s);
}

/* ---- GREEN_DEADLOCK ----------------------------------------------------------------- */

static int deadlock_env(const char *value, struct green_config *cfg, char *err, size_t errlen)
{
    unsetenv("GREEN_STACK_SIZE");
    setenv("GREEN_DEADLOCK", value, 1);
    memset(cfg, 0, sizeof *cfg);
    memset(err, 0, errlen);
    return green_config_from_env(cfg, err, errlen);
}

Test(config, deadlock_mode_parses_hang_and_abort, .timeout = 20)
{
    struct green_config cfg;
    char err[256];
    cr_assert_eq(deadlock_env("hang", &cfg, err, sizeof err), 0, "hang: %s", err);
    cr_assert_eq(cfg.deadlock, GREEN_DEADLOCK_HANG);
    cr_assert_eq(deadlock_env("abort", &cfg, err, sizeof err), 0, "abort: %s", err);
    cr_assert_eq(cfg.deadlock, GREEN_DEADLOCK_ABORT);
}

Test(config, deadlock_mode_garbage_is_einval_and_named, .timeout = 20)
{
    static const char *const bad[] = {"maybe", "hangs", "1", "abort now"};
    struct green_config cfg;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(deadlock_env(bad[i], &cfg, err, sizeof err), -EINVAL, "GREEN_DEADLOCK=%s",
                     bad[i]);
        cr_assert(strstr(err, "GREEN_DEADLOCK"), "GREEN_DEADLOCK=%s: message \"%s\"", bad[i], err);
        cr_assert_null(strchr(err, '\n'));
    }
}
