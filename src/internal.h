/* internal.h: what the core's files share. Never included outside src/. */
#ifndef GREEN_INTERNAL_H
#define GREEN_INTERNAL_H

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdbool.h>

#include "fcontext.h"
#include "green.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

enum thread_state { T_READY, T_RUNNING, T_BLOCKED, T_EXITED };

/* What a blocked thread waits on, for reports. */
enum wait_kind {
    W_NONE,
    W_SLEEP,
    W_FD,
    W_POLL,
    W_MUTEX,
    W_COND,
    W_SEM,
    W_JOIN,
    W_RWLOCK_RD,
    W_RWLOCK_WR,
    W_BARRIER,
    W_ONCE,
    W_OFFLOAD,
    W_SIGNAL /* offload.c, signal.c */,
    W_FUTEX
};

/* A place in a wait queue. Lives on the waiting thread's stack; every
 * waiter of a thread is unlinked when the thread is woken, so the frame
 * that owns it can return safely. */
struct green_waiter {
    struct green_waiter *prev, *next;
    struct green_waitq *q; /* NULL once unlinked */
    green_thread *t;
    struct green_waiter *chain; /* the thread's other waiters */
    int events;                 /* fd waits: GREEN_IN|GREEN_OUT wanted */
};

struct green_stack {
    char *base;        /* lowest address of the mapping, guard included */
    size_t size;       /* usable bytes above the guard */
    size_t guard;      /* bytes of guard at base */
    bool owned;        /* ours to unmap or pool (not a caller's stack) */
    struct slab *slab; /* the slab of a default-size stack (stack.c) */
    unsigned vg_id;    /* valgrind's id for it while registered */
};

struct green_thread {
    fcontext_t ctx;
    enum thread_state state;
    unsigned long id;
    int tid; /* what gettid() says on it: main's real one, else above
              * GREEN_TID_BASE */
    void *(*fn)(void *);
    void *arg;
    void *retval;
    bool detached;
    bool joining; /* someone waits in green_join */
    bool outside; /* counted in sched.outside while blocked */
    int wake_result;
    struct green_waiter *waiters; /* registered while blocked */
    struct green_waitq joinq;
    ev_timer timer;
    struct green_stack stack;
    /* what it waits on, for reports */
    enum wait_kind wait_kind;
    const void *wait_obj;
    int wait_fd;
    ev_tstamp wait_since;
    int64_t wait_deadline;             /* GREEN_NEVER: none */
    green_thread *run_next;            /* run queue */
    green_thread *all_prev, *all_next; /* every live thread */
    void *userdata;
    char name[16];
    /* signal.c: mask (bit s-1 for signal s), signals pthread_kill aimed
     * at it, and whether the signal that last interrupted it restarts. */
    uint64_t sigmask, sigdirected;
    uint64_t sigpending; /* aimed at it while it blocks them: held here */
    uint64_t sigwaiting; /* the set it waits for in sigwait and friends */
    bool intr_restart;
    bool cancel_point;        /* waits in a cancellation point (policy.c) */
    unsigned long block_seq;  /* green__sigseq when it last blocked */
    unsigned long call_since; /* green_wait's since while it waits, or 0 */
    /* tls.c: its thread pointer (NULL with shared TLS), whether the
     * block served an earlier thread, errno kept across a switch when
     * TLS is shared. */
    char *tp;
    bool tls_reused;
    int errno_saved;
};

/* Work posted to the scheduler by another OS thread (foreign.c). Embed it
 * in the object it concerns; fn runs on the scheduler's thread. */
struct green_foreign {
    struct green_foreign *next;
    void (*fn)(struct green_foreign *self);
    _Atomic int queued;
};

struct green_sched {
    struct ev_loop *loop;
    green_thread *main;
    green_thread *running; /* green__current, for other OS threads */
    struct {
        green_thread *head, *tail;
        unsigned long len;
    } runq;
    green_thread *all; /* live threads, newest first */
    unsigned long next_id;
    unsigned long live;       /* threads not yet exited */
    unsigned long outside;    /* blocked threads an outside event can wake */
    unsigned polls_skipped;   /* schedules since the loop was last polled */
    unsigned long poll_round; /* threads ready when it was: the round to run first */
    unsigned long helpers;    /* OS threads of our own (offload pool, watchdog) */
    bool in_loop;             /* the scheduler waits in the loop (watchdog) */
    void *loop_fp;            /* frame that entered the loop, for reports */
    bool polling;             /* the loop runs without blocking (threads ready) */
    bool diag;                /* statistics or trace: note every suspension */
    green_thread *dead;       /* exited, its stack not yet freed (sched.c) */
    int *errno_at;            /* errno of the scheduler's OS thread */
    struct green_config cfg;
};

extern struct green_sched green__s;
/* libc as green_init got it (green.h): the core's only way to the names
 * libgreen interposes. */
extern struct green_libc green__libc;
/* The running green thread of this OS thread; NULL on others. */
extern __thread green_thread *green__current __attribute__((tls_model("initial-exec")));
/* True while the core itself runs libc code that may land on interposers
 * (the libev loop, creating helper threads): they must pass through. */
extern __thread bool green__in_core __attribute__((tls_model("initial-exec")));

/* tls.c: per-thread TLS (on), or one shared by all green threads. */
struct green_tls {
    bool on;
    bool fsgsbase; /* wrfsbase, not arch_prctl */
};
extern struct green_tls green__tls;
int green__tls_setup(green_thread *main_thread);
int green__tls_alloc(green_thread *t);
void green__tls_free(green_thread *t);
void green__tls_started(green_thread *t);
void green__tls_set(char *tp);

/* diag.c: the safety net's selector (green_net_selector); the loop lets
 * its own system calls (libev's epoll_ctl, reading /proc) through. */
extern unsigned char green__net_sel;
static inline unsigned char green__net_open(void)
{
    unsigned char was = green__net_sel;
    green__net_sel = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return was;
}
static inline void green__net_close(unsigned char was)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    green__net_sel = was;
}

/* sched.c */
void green__ready(green_thread *t);
GREEN_YIELDS void green__schedule(void);
/* Free what the last exited thread left (a stack nobody runs on now). */
void green__reap_dead(void);
/* Where a thread suspended in green_yield resumes (the saved return
 * address of its context); its caller's return address lies above. */
extern const char green__yield_resume[];
void green__thread_started(transfer_t from);

/* The running thread had its slice: let the others run (preempt.c). */
GREEN_YIELDS void green__preempt(void);

/* preempt.c: set by the slice timer when the running thread has had a
 * whole slice; cleared by every switch. */
extern volatile int green__slice_due;
int green__slice_init(void);
void green__slice_arm(void);   /* a second thread exists: tick again */
extern bool green__slice_wall; /* the wall-clock slice timer runs */
void green__slice_idle(void);  /* the loop will block: stop it */
void green__slice_fork_child(void);
bool green__safe_pc(uintptr_t pc);
bool green__safe_point(void *ucontext);

/* wait.c: block the caller until green__wake; returns the wake result
 * (or -ETIMEDOUT when deadline passes first). Register waiters first. */
GREEN_YIELDS int green__block(enum wait_kind kind, const void *obj, int64_t deadline, bool outside);
void green__wake(green_thread *t, int result);
/* Unlink every waiter t registered (a wait given up before blocking). */
void green__unwait(green_thread *t);
void green__waiter_add(struct green_waitq *q, struct green_waiter *w, green_thread *t);
void green__timer_init(green_thread *t);

/* fdtab.c: check the fds whose watchers changed; call before ev_run. */
void green__fd_prepare(void);
/* fdguess.c's learning for a fd, kept with fdtab.c's record of it. */
struct green_fd_guess {
    unsigned char misses[2]; /* first attempts in a row that met EAGAIN,
                                reading and writing */
    unsigned char probes;    /* waits made first since the last attempt
                                made first anyway */
};
/* fd's; NULL for a negative fd or out of memory. */
struct green_fd_guess *green__fd_guess(int fd);

/* foreign.c */
void green__foreign_init(void);
/* From any OS thread: run n->fn on the scheduler's OS thread soon. */
void green__foreign_post(struct green_foreign *n);
/* True when posted work waits for the scheduler (cheap). */
bool green__foreign_pending(void);
/* True when an OS thread that is not ours exists and so may post. */
bool green__foreign_may_post(void);
/* Block in the loop until something (a foreign post) happens. */
void green__foreign_wait(void);
/* In the child of a fork: forget what the parent's threads posted. */
void green__foreign_fork_child(void);

/* offload.c: in the child of a fork, forget the parent's helpers. */
void green__offload_fork_child(void);

/* signal.c: green__sigseq counts the signals noted so far. */
extern _Atomic unsigned long green__sigseq;
void green__signal_init(void);

void green__signal_fork_child(void);
/* Install a handler of the core's own (never wrapped). Returns 0 or -errno. */
int green__sigaction(int sig, const struct sigaction *act);

/* policy.c: the policy of class call (enum green_call) applied to the
 * result r of a core wait: cancellation, restart, deadline result. */
bool green__cancels(int call);
int green__settle(int call, int r, int64_t deadline, int result, void (*release)(void *),
                  void *arg);

/* thread.c */
void green__thread_reap(green_thread *t);
/* In the child of a fork: every green thread but the caller is gone. */
void green__threads_drop_others(void);

/* stack.c */
int green__stack_setup(void);
size_t green__stack_default(void);
int green__stack_alloc(struct green_stack *st, size_t size, size_t guard);
void green__stack_free(struct green_stack *st);

/* report.c */
void green__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void green__deadlock(void);

/* diag.c, watchdog.c: what libgreen tells an operator. */
#define W_KINDS 32 /* bound of enum wait_kind */
#define GREEN_WATCHDOG_SIGNAL SIGRTMAX
struct green_call_stats {
    void *fn; /* the interposer that suspended */
    const char *name;
    unsigned long long count;
    int64_t blocked_ns;
};
struct green_stats {
    unsigned long long switches;  /* read by the watchdog thread */
    unsigned long long preempted; /* slices ended by the timer or a yield point */
    unsigned long peak;           /* most live threads at once */
    unsigned long long offloaded;
    size_t deepest; /* most stack used by an exited thread */
    unsigned long long suspended[W_KINDS];
    int64_t blocked_ns[W_KINDS];
    unsigned long long net_caught, net_waited; /* the safety net (green_net_count) */
    int net_on;
    const char *net_why;
    struct green_call_stats calls[48];
    size_t ncalls;
};
extern struct green_stats green__stats;
int green__diag_init(void);
/* After a suspension of t that began at since (frames still intact). */
void green__diag_resumed(green_thread *t, int64_t since);
/* The interposed call t waits in, and the program's call site. */
void green__where(const green_thread *t, void **call, void **site);
void green__describe_where(const green_thread *t, char *buf, size_t len);
void green__name_site(void *pc, char *buf, size_t len);
void green__describe_wait(const green_thread *t, char *buf, size_t len);
size_t green__stack_depth(const struct green_stack *st);
int green__watchdog_start(unsigned ms);
int green__parse_signal(const char *s);

#endif
