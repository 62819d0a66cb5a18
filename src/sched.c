/* sched.c: the run queue, the switch, and the event loop behind them.
 *
 * There is no scheduler context: a thread that stops running picks the
 * next ready thread and jumps straight to it (one jump per switch). When
 * nothing is ready, the stopping thread runs the libev loop on its own
 * stack until a callback makes some thread ready; callbacks only queue
 * threads, they never switch, so the loop is never re-entered.
 *
 * fcontext hands the suspended context to the resumed side, so every
 * resume point starts with resumed(): it stores the context of the thread
 * we came from and frees that thread's stack if it has exited.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "kick.h"
#include "san.h"

/* A thread that yields in a loop must not starve the threads waiting on
 * events: poll the loop without blocking once per this many switches. */
#define POLL_EVERY 256

struct green_sched green__s;
__thread green_thread *green__current __attribute__((tls_model("initial-exec")));
__thread bool green__in_core __attribute__((tls_model("initial-exec")));

struct green_libc green__libc;
/* libc_plain.c, linked only into programs that use the core directly. */
extern const struct green_libc green__libc_plain __attribute__((weak, visibility("hidden")));

static green_thread main_thread;

/* Each member from the caller's table, else libc's own when linked in. */
static int libc_setup(const struct green_libc *given)
{
    const struct green_libc *plain = &green__libc_plain, none = {0};
    const struct green_libc *l = given ? given : &none, *d = plain ? plain : &none;
    green__libc = (struct green_libc){
        .sigaction = l->sigaction ? l->sigaction : d->sigaction,
        .open = l->open ? l->open : d->open,
        .pthread_create = l->pthread_create ? l->pthread_create : d->pthread_create,
        .nanosleep = l->nanosleep ? l->nanosleep : d->nanosleep,
        .fstat = l->fstat ? l->fstat : d->fstat,
        .readdir = l->readdir ? l->readdir : d->readdir,
    };
    return green__libc.sigaction && green__libc.open && green__libc.pthread_create &&
                   green__libc.nanosleep && green__libc.fstat && green__libc.readdir
               ? 0
               : -EINVAL;
}

int green_init(const struct green_config *cfg)
{
    if (green__s.main)
        return -EALREADY;
    struct green_config c = cfg ? *cfg : (struct green_config){0};
    if (c.stack_size && c.stack_size < GREEN_STACK_MIN)
        return -EINVAL;
    if (c.deadlock != GREEN_DEADLOCK_ABORT && c.deadlock != GREEN_DEADLOCK_HANG)
        return -EINVAL;
    if (c.helpers > GREEN_HELPERS_MAX)
        return -EINVAL;
    if (c.tls < GREEN_TLS_AUTO || c.tls > GREEN_TLS_SHARED)
        return -EINVAL;
    int r = libc_setup(c.libc);
    if (r < 0)
        return r;
    r = green__stack_setup();
    if (r < 0)
        return r;
    /* Our own loop: the program may use libev's default loop itself. */
    unsigned flags = EVFLAG_NOENV | EVFLAG_NOSIGMASK;
    green__s.loop = ev_loop_new(flags | EVBACKEND_EPOLL);
    if (!green__s.loop)
        green__s.loop = ev_loop_new(flags);
    if (!green__s.loop)
        return -ENOMEM;
    green__in_core = true;
    green__foreign_init();
    green__in_core = false;
    green__s.cfg = c;
    if (!green__s.cfg.stack_size)
        green__s.cfg.stack_size = green__stack_default();

    green_thread *t = &main_thread;
    t->id = ++green__s.next_id;
    t->tid = green__tid();
    t->state = T_RUNNING;
    green_thread_set_name(t, "main");
    green__timer_init(t);
    green__s.main = t;
    green__tls_setup(t);
    green__s.all = t;
    green__s.live = 1;
    green__current = green__s.running = t;
    green__signal_init();
    green__s.diag = c.stats || c.trace_path;
    green__stats.peak = 1;
    green__in_core = true;
    r = green__diag_init();
    green__in_core = false;
    return r;
}

int green_can_block(void)
{
    return green__current && !green__in_core;
}

int green_others_exist(void)
{
    return green__s.live > 1 || green__s.runq.head;
}

int green_worth_waiting(void)
{
    return green__current && !green__in_core && (green__s.live > 1 || green__s.runq.head);
}

green_thread *green_self(void)
{
    return green__current;
}

void green__ready(green_thread *t)
{
    t->state = T_READY;
    t->run_next = NULL;
    green__s.runq.len++;
    if (green__s.runq.tail)
        green__s.runq.tail->run_next = t;
    else
        green__s.runq.head = t;
    green__s.runq.tail = t;
}

static green_thread *runq_pop(void)
{
    green_thread *t = green__s.runq.head;
    if (t) {
        green__s.runq.len--;
        green__s.runq.head = t->run_next;
        if (!green__s.runq.head)
            green__s.runq.tail = NULL;
    }
    return t;
}

/* The loop runs on the stopping thread, in its TLS: keep its errno. */
static void poll_loop(int flags)
{
    int saved_errno = errno;
    unsigned char net = green__net_open();
    green__in_core = true;
    green__fd_prepare();
    green__s.in_loop = true;
    green__s.polling = flags & EVRUN_NOWAIT;
    green__s.loop_fp = __builtin_frame_address(0);
    ev_run(green__s.loop, flags);
    green__s.poll_round = green__s.runq.len;
    green__s.in_loop = false;
    green__in_core = false;
    green__net_close(net);
    errno = saved_errno;
}

/* Nothing is ready: wait for an event. When no blocked thread can be
 * woken from outside, only a foreign OS thread could still help; with
 * none, this is a deadlock. */
static void wait_for_events(void)
{
    int saved_errno = errno;
    green__s.polls_skipped = 0;
    if (green__slice_wall)
        green__slice_idle(); /* no slice to end while nothing runs */
    if (green__s.outside) {
        poll_loop(EVRUN_ONCE);
        errno = saved_errno;
        return;
    }
    unsigned char net = green__net_open();
    green__in_core = true;
    bool foreign = green__foreign_may_post();
    green__in_core = false;
    if (!foreign)
        green__deadlock();
    green__in_core = true;
    green__fd_prepare();
    green__foreign_wait();
    green__in_core = false;
    green__net_close(net);
    errno = saved_errno;
}

/* The next thread to run; runs the loop until there is one. */
static green_thread *next_ready(void)
{
    /* Poll only when some thread waits on an event or a foreign thread
     * posted work: a run of yields costs no system call otherwise. */
    /* At most once per round of the run queue, too: each poll reports
     * again every fd whose woken thread has not run yet, so polling more
     * often than that costs work quadratic in the ready threads. The
     * round is the queue as the last poll left it (the queue shrinks as
     * it runs: its length now would make the rounds halves). */
    if (green__s.runq.head && ++green__s.polls_skipped >= POLL_EVERY &&
        green__s.polls_skipped >= green__s.poll_round) {
        green__s.polls_skipped = 0;
        if (green__s.outside || green__foreign_pending())
            poll_loop(EVRUN_NOWAIT);
    }
    while (!green__s.runq.head)
        wait_for_events();
    return runq_pop();
}

/* Store the context of the thread that jumped here; an exited thread's
 * stack can only go now that nobody runs on it. */
static void resumed(transfer_t from)
{
    green_thread *prev = from.data;
    san_switch_end(prev);
    prev->ctx = from.fctx;
    if (prev->state == T_EXITED)
        green__thread_reap(prev);
    if (!green__tls.on)
        errno = green__current->errno_saved;
}

void green__thread_started(transfer_t from)
{
    resumed(from);
}

void green__schedule(void)
{
    green_thread *self = green__current;
    green_thread *next = next_ready();
    if (next != self) {
        green__stats.switches++;
        green__slice_due = 0;
        next->state = T_RUNNING;
        green__tls_switch(self, next);
        san_switch_begin(next);
        resumed(jump_fcontext(next->ctx, self));
    } else {
        self->state = T_RUNNING;
    }
}

void green_yield(void)
{
    if (!green__s.runq.head && !green__s.outside && !green__foreign_pending())
        return; /* nobody to yield to */
    green__ready(green__current);
    green__schedule();
}

/* The running thread has had its slice (preempt.c): poll the loop, so
 * that threads whose event came are ready too, and run after them. Not
 * before the threads the last poll found ready have run, as in
 * next_ready: a tick in a long round would report all of their fds
 * again; the thread goes behind them, and that round's end polls. */
void green__preempt(void)
{
    int saved_errno = errno;
    green__stats.preempted++;
    if (!green__s.runq.head || green__s.polls_skipped >= green__s.poll_round) {
        green__s.polls_skipped = 0;
        poll_loop(EVRUN_NOWAIT);
    }
    if (green__s.runq.head) {
        green__ready(green__current);
        green__schedule();
    }
    errno = saved_errno;
}
