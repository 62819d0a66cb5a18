/* test_fd.c: green_fd_wait and green_fd_close on pipes, socketpairs,
 * regular files and directories. */
#include "util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

static struct evlog lg;

struct fdwait {
    int fd;
    int events;
    int64_t deadline;
    int tag; /* logged before (tag) and after (tag + 1) the wait */
    int result;
};

static void *wait_fd(void *arg)
{
    struct fdwait *w = arg;
    evlog_add(&lg, w->tag);
    w->result = green_fd_wait(w->fd, w->events, w->deadline);
    evlog_add(&lg, w->tag + 1);
    return NULL;
}

static void make_pipe(int p[2])
{
    cr_assert_eq(pipe(p), 0, "pipe: %s", strerror(errno));
}

/* A new pipe p, and a thread waiting to read its read end (w says how). */
static green_thread *pipe_reader(int p[2], struct fdwait *w)
{
    make_pipe(p);
    *w = (struct fdwait){.fd = p[0], .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10};
    green_thread *t = spawn_ok(wait_fd, w);
    green_yield();
    return t;
}

static void make_socketpair(int s[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0, "socketpair: %s", strerror(errno));
}

static void close_fd(int fd)
{
    cr_assert_eq(green_fd_close(fd), 0);
    cr_assert_eq(close(fd), 0);
}

/* A thread waits for fd to be readable; main writes to wfd only once the
 * thread is parked, so a wait that returned early shows in the log. */
static void check_wakes_on_data(int fd, int wfd)
{
    struct fdwait w = {.fd = fd, .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10};
    green_thread *t = spawn_ok(wait_fd, &w);
    green_yield();
    evlog_add(&lg, 100);
    cr_assert_eq(write(wfd, "x", 1), 1);
    join_ok(t);
    cr_assert_eq(lg.n, 3);
    cr_assert_eq(lg.ev[0], 10);
    cr_assert_eq(lg.ev[1], 100, "the wait returned before the data was written");
    cr_assert_eq(lg.ev[2], 11);
    cr_assert_gt(w.result, 0, "wait returned %d", w.result);
    cr_assert(w.result & GREEN_IN, "readable, got %d", w.result);
}

Test(fd, pipe_reader_wakes_when_data_arrives, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    check_wakes_on_data(p[0], p[1]);
}

Test(fd, socketpair_reader_wakes_when_the_peer_writes, .timeout = 20)
{
    GREEN_INIT();
    int s[2];
    make_socketpair(s);
    check_wakes_on_data(s[0], s[1]);
}

Test(fd, a_ready_fd_returns_its_events_at_once, .timeout = 20)
{
    GREEN_INIT();
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    cr_assert_eq(write(p[1], "x", 1), 1);
    int r = green_fd_wait(p[0], GREEN_IN, GREEN_NEVER);
    cr_assert_eq(r, GREEN_IN, "pipe with data: %d", r);
    r = green_fd_wait(s[0], GREEN_OUT, GREEN_NEVER);
    cr_assert_eq(r, GREEN_OUT, "fresh socket is writable: %d", r);
    r = green_fd_wait(s[0], GREEN_IN | GREEN_OUT, GREEN_NEVER);
    cr_assert_eq(r, GREEN_OUT, "writable but not readable: %d", r);
    r = green_fd_wait(p[1], GREEN_OUT, in_ms(1000));
    cr_assert_eq(r, GREEN_OUT, "pipe write end: %d", r);
}

Test(fd, eof_counts_as_readable, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    struct fdwait w;
    green_thread *t = pipe_reader(p, &w);
    cr_assert_eq(lg.n, 1, "the reader waits");
    close_fd(p[1]);
    join_ok(t);
    cr_assert(w.result > 0 && (w.result & GREEN_IN), "EOF wakes the reader: %d", w.result);
}

static void check_deadline(int fd, int events)
{
    int64_t deadline = in_ms(50);
    int r = green_fd_wait(fd, events, deadline);
    cr_assert_eq(r, -ETIMEDOUT, "wait on an idle fd: %d", r);
    cr_assert_geq(green_now(), deadline, "the wait ended before its deadline");
}

Test(fd, wait_expires_at_its_deadline_with_etimedout, .timeout = 20)
{
    GREEN_INIT();
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    check_deadline(p[0], GREEN_IN);
    check_deadline(s[0], GREEN_IN);

    /* the same from a thread, while main waits for it */
    struct fdwait w = {.fd = s[1], .events = GREEN_IN, .deadline = in_ms(50), .tag = 10};
    green_thread *t = spawn_ok(wait_fd, &w);
    join_ok(t);
    cr_assert_eq(w.result, -ETIMEDOUT);
    cr_assert_geq(green_now(), w.deadline);

    /* the timed-out wait left nothing behind: the fd still works */
    cr_assert_eq(write(s[0], "y", 1), 1);
    cr_assert_eq(green_fd_wait(s[1], GREEN_IN, in_ms(5000)), GREEN_IN);
}

Test(fd, close_wakes_every_waiter_with_ebadf, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    struct fdwait w[3];
    green_thread *t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct fdwait){
            .fd = p[0], .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10 * (i + 1)};
        t[i] = spawn_ok(wait_fd, &w[i]);
    }
    green_yield();
    cr_assert_eq(lg.n, 3, "all three wait");
    cr_assert_eq(green_fd_close(p[0]), 0);
    for (int i = 0; i < 3; i++) {
        join_ok(t[i]);
        cr_assert_eq(w[i].result, -EBADF, "waiter %d: %d", i, w[i].result);
    }
    cr_assert_eq(close(p[0]), 0);
}

Test(fd, a_reused_fd_number_has_no_stale_waiters_or_readiness, .timeout = 20)
{
    GREEN_INIT();
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    make_pipe(p);
    int num = p[0];
    /* the old pipe is readable and has a waiter on it */
    cr_assert_eq(write(p[1], "old", 3), 3);
    cr_assert_eq(green_fd_wait(num, GREEN_IN, GREEN_NEVER), GREEN_IN);
    struct fdwait old = {.fd = num, .events = GREEN_OUT, .deadline = GREEN_NEVER, .tag = 10};
    green_thread *t = spawn_ok(wait_fd, &old);
    green_yield();
    cr_assert_eq(lg.n, 1, "the old waiter waits");
    close_fd(num);
    join_ok(t);
    cr_assert_eq(old.result, -EBADF);

    /* a new, empty pipe under the same number */
    int q[2];
    make_pipe(q);
    if (q[0] != num) {
        cr_assert_eq(dup2(q[0], num), num);
        close(q[0]);
        q[0] = num;
    }
    check_deadline(num, GREEN_IN);

    struct fdwait fresh = {.fd = num, .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 20};
    lg.n = 0;
    t = spawn_ok(wait_fd, &fresh);
    green_yield();
    cr_assert_eq(lg.n, 1, "the new waiter waits");
    cr_assert_eq(write(p[1], "x", 1), -1, "the old pipe has no reader any more");
    cr_assert_eq(write(q[1], "new", 3), 3);
    join_ok(t);
    cr_assert_eq(fresh.result, GREEN_IN, "new pipe: %d", fresh.result);
    char buf[8];
    cr_assert_eq(read(num, buf, sizeof buf), 3);
    cr_assert_eq(memcmp(buf, "new", 3), 0);
}

Test(fd, close_of_an_fd_nobody_waits_on_returns_0, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    cr_assert_eq(green_fd_close(p[0]), 0, "never seen by the core");
    cr_assert_eq(green_fd_wait(p[1], GREEN_OUT, GREEN_NEVER), GREEN_OUT);
    cr_assert_eq(green_fd_close(p[1]), 0, "seen, no waiter");
    close(p[0]);
    close(p[1]);
}

Test(fd, regular_files_and_directories_are_eperm, .timeout = 20)
{
    GREEN_INIT();
    char path[] = "/tmp/green-test-XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0, "mkstemp: %s", strerror(errno));
    unlink(path);
    cr_assert_eq(green_fd_wait(f, GREEN_IN, GREEN_NEVER), -EPERM, "regular file, read");
    cr_assert_eq(green_fd_wait(f, GREEN_OUT, GREEN_NEVER), -EPERM, "regular file, write");
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    cr_assert_geq(d, 0);
    cr_assert_eq(green_fd_wait(d, GREEN_IN, GREEN_NEVER), -EPERM, "directory");
    close_fd(f);
    close_fd(d);
}

/* Fill s so that it is no longer writable. */
static void fill(int s)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = send(s, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
            return;
        }
    }
}

Test(fd, a_reader_and_a_writer_wait_on_the_same_socket_end, .timeout = 20)
{
    GREEN_INIT();
    int s[2];
    make_socketpair(s);
    fill(s[0]);
    struct fdwait rd = {.fd = s[0], .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10};
    struct fdwait wr = {.fd = s[0], .events = GREEN_OUT, .deadline = GREEN_NEVER, .tag = 20};
    green_thread *tr = spawn_ok(wait_fd, &rd);
    green_thread *tw = spawn_ok(wait_fd, &wr);
    green_yield();
    cr_assert_eq(lg.n, 2, "both wait");

    cr_assert_eq(write(s[1], "x", 1), 1); /* s[0] becomes readable only */
    join_ok(tr);
    cr_assert_eq(rd.result, GREEN_IN, "reader: %d", rd.result);
    cr_assert_eq(evlog_find(&lg, 21), -1, "the writer woke though s[0] is not writable");

    static char buf[65536];
    while (recv(s[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
        ; /* s[0] becomes writable */
    join_ok(tw);
    cr_assert(wr.result > 0 && (wr.result & GREEN_OUT), "writer: %d", wr.result);
}

Test(fd, interrupt_wakes_an_fd_waiter_with_eintr, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    struct fdwait w;
    green_thread *t = pipe_reader(p, &w);
    cr_assert_eq(green_interrupt(t), 0);
    join_ok(t);
    cr_assert_eq(w.result, -EINTR);

    /* the fd is still usable after the interrupted wait */
    lg.n = 0;
    check_wakes_on_data(p[0], p[1]);
}

Test(fd, many_waiters_on_one_fd_all_wake, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 10 };
    int p[2];
    make_pipe(p);
    struct fdwait w[N];
    green_thread *t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct fdwait){
            .fd = p[0], .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10 * (i + 1)};
        t[i] = spawn_ok(wait_fd, &w[i]);
    }
    green_yield();
    cr_assert_eq(lg.n, N);
    cr_assert_eq(write(p[1], "x", 1), 1);
    for (int i = 0; i < N; i++) {
        join_ok(t[i]);
        cr_assert_eq(w[i].result, GREEN_IN, "waiter %d: %d", i, w[i].result);
    }
}

Test(fd, a_high_fd_number_can_be_waited_on, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    int hi = 15000;
    cr_assert_eq(dup2(p[0], hi), hi, "dup2: %s", strerror(errno));
    lg.n = 0;
    check_wakes_on_data(hi, p[1]);
    close_fd(hi);
}

/* A ring of N threads passing a token through N+1 pipes. */
enum { RING = 100, ROUNDS = 10 };
static int ring[RING + 1][2];

static void *ring_hop(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        int r = green_fd_wait(ring[i][0], GREEN_IN, GREEN_NEVER);
        if (r != GREEN_IN) {
            cr_expect_eq(r, GREEN_IN, "hop %d wait: %d", i, r);
            return NULL;
        }
        unsigned tok;
        cr_expect_eq(read(ring[i][0], &tok, sizeof tok), (ssize_t)sizeof tok);
        tok++;
        cr_expect_eq(write(ring[i + 1][1], &tok, sizeof tok), (ssize_t)sizeof tok);
    }
    return NULL;
}

Test(fd, a_token_passes_through_a_ring_of_hundred_threads, .timeout = 30)
{
    GREEN_INIT();
    for (int i = 0; i <= RING; i++)
        make_pipe(ring[i]);
    green_thread *t[RING];
    for (int i = 0; i < RING; i++)
        t[i] = spawn_ok(ring_hop, (void *)(intptr_t)i);
    for (int round = 0; round < ROUNDS; round++) {
        unsigned tok = (unsigned)round * 1000;
        cr_assert_eq(write(ring[0][1], &tok, sizeof tok), (ssize_t)sizeof tok);
        cr_assert_eq(green_fd_wait(ring[RING][0], GREEN_IN, GREEN_NEVER), GREEN_IN);
        cr_assert_eq(read(ring[RING][0], &tok, sizeof tok), (ssize_t)sizeof tok);
        cr_assert_eq(tok, (unsigned)round * 1000 + RING);
    }
    for (int i = 0; i < RING; i++)
        join_ok(t[i]);
}

/* ---- no waiter outlives its wait ------------------------------------------- */

static green_sem idle_sem;

/* Log, then wait 100 ms on a semaphore nobody posts: a waiter left on an
 * fd would end this wait early, with the fd's event. */
static void *log_then_idle(void)
{
    evlog_add(&lg, 1);
    return (void *)(intptr_t)green_sem_wait(&idle_sem, in_ms(100));
}

static void *fd_timeout_then_sem(void *arg)
{
    int fd = *(int *)arg;
    int r = green_fd_wait(fd, GREEN_IN, in_ms(20));
    cr_expect_eq(r, -ETIMEDOUT, "fd wait: %d", r);
    return log_then_idle();
}

Test(fd, a_timed_out_wait_leaves_no_waiter_behind, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    green_thread *t = spawn_ok(fd_timeout_then_sem, &p[0]);
    while (lg.n == 0)
        green_yield(); /* until t's fd wait has timed out */
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq((int)(intptr_t)join_ok(t), -ETIMEDOUT,
                 "the later semaphore wait was woken by the old fd");
}

Test(fd, a_reused_number_ignores_the_old_description_kept_open_by_a_dup, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    int num = p[0];
    int keep = dup(num); /* the old description outlives the number */
    cr_assert_geq(keep, 0);
    /* get the old pipe registered with the loop, then close the number */
    cr_assert_eq(green_fd_wait(num, GREEN_IN, in_ms(20)), -ETIMEDOUT);
    close_fd(num);
    int q[2];
    make_pipe(q);
    if (q[0] != num) {
        cr_assert_eq(dup2(q[0], num), num);
        close(q[0]);
    }
    cr_assert_eq(write(p[1], "old", 3), 3, "the old description becomes readable");
    check_deadline(num, GREEN_IN);
    cr_assert_eq(write(q[1], "n", 1), 1);
    cr_assert_eq(green_fd_wait(num, GREEN_IN, in_ms(5000)), GREEN_IN, "the new pipe works");
    char buf[4];
    cr_assert_eq(read(keep, buf, sizeof buf), 3, "the old pipe kept its data");
}

/* ---- green_fd_wait_many ----------------------------------------------------- */

struct manywait {
    struct green_pollfd *fds;
    size_t n;
    int64_t deadline;
    int result;
};

static void *wait_many(void *arg)
{
    struct manywait *w = arg;
    evlog_add(&lg, 10);
    w->result = green_fd_wait_many(w->fds, w->n, w->deadline);
    evlog_add(&lg, 11);
    return NULL;
}

Test(fd, wait_many_wakes_when_any_fd_is_ready, .timeout = 20)
{
    GREEN_INIT();
    enum { N = 40 }; /* more than fit on the waiter's own stack array */
    static int p[N][2];
    static struct green_pollfd fds[N];
    for (int i = 0; i < N; i++) {
        make_pipe(p[i]);
        fds[i] = (struct green_pollfd){.fd = p[i][0], .events = GREEN_IN};
    }
    for (int k = 0; k < 2; k++) {
        size_t n = k == 0 ? 3 : N;
        struct manywait w = {.fds = fds, .n = n, .deadline = GREEN_NEVER};
        lg.n = 0;
        green_thread *t = spawn_ok(wait_many, &w);
        green_yield();
        cr_assert_eq(lg.n, 1, "the poller waits");
        cr_assert_eq(write(p[n - 2][1], "x", 1), 1);
        join_ok(t);
        cr_assert_gt(w.result, 0, "n=%zu: %d", n, w.result);
        char ch;
        cr_assert_eq(read(p[n - 2][0], &ch, 1), 1);
    }
}

Test(fd, wait_many_expires_at_its_deadline, .timeout = 20)
{
    GREEN_INIT();
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    struct green_pollfd fds[] = {{p[0], GREEN_IN}, {s[0], GREEN_IN}, {-1, GREEN_IN}};
    int64_t d = in_ms(50);
    cr_assert_eq(green_fd_wait_many(fds, 3, d), -ETIMEDOUT);
    cr_assert_geq(green_now(), d, "not before the deadline");
}

Test(fd, wait_many_without_fds_sleeps_to_its_deadline, .timeout = 20)
{
    GREEN_INIT();
    struct green_pollfd ignored[] = {{-1, GREEN_IN}, {-5, GREEN_OUT}};
    int64_t d = in_ms(30);
    cr_assert_eq(green_fd_wait_many(ignored, 2, d), -ETIMEDOUT, "only negative fds");
    cr_assert_geq(green_now(), d);
    d = in_ms(30);
    cr_assert_eq(green_fd_wait_many(NULL, 0, d), -ETIMEDOUT, "no fds");
    cr_assert_geq(green_now(), d);
}

/* A regular file's readiness never changes: the caller's check already
 * saw it, so it is left out of the wait (a poll for POLLPRI on it must
 * sleep, not spin); a bad fd ends the wait at once for the caller's
 * check to report. */
Test(fd, wait_many_leaves_regular_files_out_and_returns_at_once_for_a_bad_fd, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    char path[] = "/tmp/green-test-XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0);
    unlink(path);
    struct green_pollfd with_file[] = {{p[0], GREEN_IN}, {f, GREEN_IN}};
    int64_t d = in_ms(30);
    cr_assert_eq(green_fd_wait_many(with_file, 2, d), -ETIMEDOUT, "regular file");
    cr_assert_geq(green_now(), d);
    struct green_pollfd only_file[] = {{f, GREEN_IN | GREEN_OUT}};
    d = in_ms(30);
    cr_assert_eq(green_fd_wait_many(only_file, 1, d), -ETIMEDOUT, "only a regular file");
    cr_assert_geq(green_now(), d);
    int bad = dup(p[0]);
    close(bad);
    struct green_pollfd with_bad[] = {{p[0], GREEN_IN}, {bad, GREEN_IN}};
    cr_assert_gt(green_fd_wait_many(with_bad, 2, in_ms(5000)), 0, "closed fd number");

    /* neither left a waiter on p[0]: a later wait is not woken by it */
    struct fdwait w = {.fd = p[1], .events = GREEN_IN, .deadline = in_ms(50), .tag = 10};
    green_thread *t = spawn_ok(wait_fd, &w);
    green_yield();
    cr_assert_eq(write(p[1], "x", 1), 1);
    join_ok(t);
    cr_assert_eq(w.result, -ETIMEDOUT, "the write end never gets readable: %d", w.result);
    close_fd(f);
}

Test(fd, wait_many_is_interruptible, .timeout = 20)
{
    GREEN_INIT();
    int p[2];
    make_pipe(p);
    struct green_pollfd fds[] = {{p[0], GREEN_IN}};
    struct manywait w = {.fds = fds, .n = 1, .deadline = GREEN_NEVER};
    green_thread *t = spawn_ok(wait_many, &w);
    green_yield();
    cr_assert_eq(green_interrupt(t), 0);
    join_ok(t);
    cr_assert_eq(w.result, -EINTR);
}

Test(fd, wait_many_on_a_fd_closed_meanwhile_returns_ready_for_the_callers_check, .timeout = 20)
{
    GREEN_INIT();
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    struct green_pollfd fds[] = {{s[0], GREEN_IN}, {p[0], GREEN_IN}};
    struct manywait w = {.fds = fds, .n = 2, .deadline = GREEN_NEVER};
    green_thread *t = spawn_ok(wait_many, &w);
    green_yield();
    cr_assert_eq(lg.n, 1, "the poller waits");
    close_fd(p[0]);
    join_ok(t);
    /* The contract lists only > 0, -ETIMEDOUT, -EINTR and -ENOMEM: the
     * caller (poll, select) reports the bad fd from its own check. */
    cr_assert_gt(w.result, 0, "poll of a fd closed meanwhile: %d", w.result);
}

static void *many_then_sem(void *arg)
{
    int *p = arg; /* two pipes: p[0], p[2] are read ends */
    struct green_pollfd fds[] = {{p[0], GREEN_IN}, {p[2], GREEN_IN}};
    int r = green_fd_wait_many(fds, 2, GREEN_NEVER);
    cr_expect_gt(r, 0);
    return log_then_idle();
}

Test(fd, wait_many_leaves_no_waiter_on_the_fds_that_were_not_ready, .timeout = 20)
{
    GREEN_INIT();
    int p[4];
    make_pipe(p);
    make_pipe(p + 2);
    green_thread *t = spawn_ok(many_then_sem, p);
    green_yield();
    cr_assert_eq(write(p[1], "a", 1), 1);
    while (lg.n == 0)
        green_yield(); /* until the poll has returned */
    cr_assert_eq(write(p[3], "b", 1), 1);
    cr_assert_eq((int)(intptr_t)join_ok(t), -ETIMEDOUT,
                 "the semaphore wait was woken by the other polled fd");
}

/* ---- fds libev cannot watch ------------------------------------------------ *
 * These run in a child: libev (Debian builds it with assertions) aborts
 * the process when epoll_ctl meets EBADF, so a crash is a finding to
 * report, not the end of the test run. */

static void closed_behind_back_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    int p[2];
    CHILD_CHECK(pipe(p) == 0);
    struct fdwait w = {.fd = p[0], .events = GREEN_IN, .deadline = GREEN_NEVER, .tag = 10};
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, wait_fd, &w, NULL) == 0);
    green_yield(); /* t waits; the loop has not registered the fd yet */
    close(p[0]);   /* without green_fd_close, as glibc's own fclose would */
    green_join(t, NULL, GREEN_NEVER);
    fprintf(stderr, "result %d\n", w.result);
    _exit(0);
}

Test(fd, a_fd_closed_without_green_fd_close_gives_its_waiter_both_events, .timeout = 20)
{
    static struct child c;
    child_run(&c, closed_behind_back_child, NULL);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
              "an error on the fd must reach the waiter as both events; the child %s:\n%s",
              status_str(c.status), c.out);
    int r = 0;
    cr_assert_eq(sscanf(c.out, "result %d", &r), 1, "%s", c.out);
    cr_assert_eq(r, GREEN_IN | GREEN_OUT, "result %d", r);
}

static void o_path_child(void *many)
{
    CHILD_CHECK(green_init(NULL) == 0);
    char dir[] = "/tmp/green-test-XXXXXX", path[64];
    CHILD_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHILD_CHECK(mkfifo(path, 0600) == 0);
    int fd = open(path, O_PATH); /* fstat says FIFO; epoll_ctl says EBADF */
    unlink(path);
    rmdir(dir);
    CHILD_CHECK(fd >= 0);
    int r;
    if (many) {
        struct green_pollfd pf = {fd, GREEN_IN};
        r = green_fd_wait_many(&pf, 1, green_now() + 1000 * MS);
    } else {
        r = green_fd_wait(fd, GREEN_IN, green_now() + 1000 * MS);
    }
    fprintf(stderr, "result %d\n", r);
    _exit(0);
}

static int o_path_result(void *many)
{
    static struct child c;
    child_run(&c, o_path_child, many);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
              "waiting on an O_PATH fd (poll says POLLNVAL) must not kill the process; "
              "the child %s:\n%s",
              status_str(c.status), c.out);
    int r = 0;
    cr_assert_eq(sscanf(c.out, "result %d", &r), 1, "%s", c.out);
    return r;
}

Test(fd, wait_on_an_o_path_fd_fails_instead_of_aborting, .timeout = 20)
{
    int r = o_path_result(NULL);
    cr_assert(r == -EPERM || r == -EBADF || r == (GREEN_IN | GREEN_OUT),
              "an fd that cannot be polled: %d", r);
}

Test(fd, wait_many_on_an_o_path_fd_returns_at_once_as_for_a_bad_fd, .timeout = 20)
{
    int r = o_path_result((void *)1);
    cr_assert_gt(r, 0, "poll reports POLLNVAL for it natively: %d", r);
}

Test(fd, a_device_without_poll_support_does_not_hang_a_wait, .timeout = 20)
{
    GREEN_INIT();
    int fd = open("/dev/null", O_RDWR);
    cr_assert_geq(fd, 0);
    int r = green_fd_wait(fd, GREEN_IN, in_ms(5000));
    cr_assert(r == -EPERM || (r > 0 && (r & GREEN_IN)), "/dev/null: %d", r);
    close_fd(fd);
}
