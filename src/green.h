/* green.h: the libgreen core API.
 *
 * Green threads on one OS thread: spawned, switched with fcontext and
 * scheduled by a libev loop of their own. This header is the only core
 * header preload/ and the tests use. Nothing here knows about
 * interposition.
 *
 * Conventions:
 *  - Functions return >= 0 on success or a negative errno; none of them
 *    touches errno (a switch saves and restores it per green thread).
 *  - Time is an absolute CLOCK_MONOTONIC deadline in int64_t nanoseconds
 *    (green_now() gives the clock); GREEN_NEVER waits without limit.
 *  - GREEN_YIELDS marks a function that may switch to another green
 *    thread. Call those only where green_can_block() is true.
 */
#ifndef GREEN_H
#define GREEN_H

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GREEN_YIELDS /* may switch green threads */
#define GREEN_NEVER ((int64_t)-1)

#if defined(__GNUC__)
#define GREEN_API __attribute__((visibility("default")))
#else
#define GREEN_API
#endif

typedef struct green_thread green_thread;

/* ---- lifecycle and configuration ------------------------------------ */

enum green_deadlock_mode {
    GREEN_DEADLOCK_ABORT = 0, /* report on stderr, then abort() */
    GREEN_DEADLOCK_HANG = 1,  /* report on stderr, then wait forever */
};

struct green_config {
    size_t stack_size;             /* default stack of a green thread; 0: RLIMIT_STACK */
    int deadlock;                  /* enum green_deadlock_mode */
    int stats;                     /* print statistics at exit and with each dump */
    const char *stats_path;        /* where to (appended); NULL: stderr */
    int dump_signal;               /* signal that dumps every green thread; 0: none */
    unsigned watchdog_ms;          /* report a thread holding the OS thread longer; 0: off */
    const char *trace_path;        /* one line per suspension; NULL: no trace */
    int quiet;                     /* no warnings (errors and reports still print) */
    unsigned slice_ms;             /* time slice before preemption; 0: never preempt */
    unsigned helpers;              /* libgreen's own OS threads at most (offload
                                    * helpers and the watchdog); 0: GREEN_HELPERS_DEFAULT */
    int tls;                       /* enum green_tls_mode */
    const struct green_libc *libc; /* how the core reaches libc; NULL: see below */
    int no_inherit;                /* programs exec'd later start without libgreen: the
                                    * layer above drops itself from LD_PRELOAD */
};
#define GREEN_HELPERS_DEFAULT 3u
#define GREEN_HELPERS_MAX 1024u

/* The libc functions the core calls that the layer above interposes. The
 * core never calls them by their plain names, which inside libgreen.so
 * bind to the interposers: those would take the core's own calls for
 * the program's (its dump handler wrapped as a program handler, its
 * helper threads made green). A NULL table or member means libc's own
 * function, for programs that link the core directly (tests); in
 * libgreen.so there is no such default and green_init returns -EINVAL.
 * open makes libgreen's own fds (trace and stats files): the layer above
 * may move them out of the program's way. */
struct green_libc {
    int (*sigaction)(int sig, const struct sigaction *act, struct sigaction *old);
    int (*open)(const char *path, int flags, ...);
    int (*pthread_create)(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
    int (*nanosleep)(const struct timespec *req, struct timespec *rem);
    int (*fstat)(int fd, struct stat *st);
    struct dirent *(*readdir)(DIR *d);
};
/* GREEN_SLICE when unset, in ms: twice CPython's switch interval, and a
 * thread is preempted only once it has run a whole slice (preempt.c).
 * At 4 ms a garbage collection of CPython's with 10,000 threads was
 * preempted holding the GIL, and the threads queued for it collapsed a
 * ThreadingTCPServer from 90,000 requests/s to 2,000. */
#define GREEN_SLICE_DEFAULT 10
/* The slice timer's signal (needs <signal.h>): never blocked for real
 * by green_sigmask; the layer above blocks it while a program's own
 * handler runs, so that handlers are never preempted. */
#define GREEN_SLICE_SIGNAL (SIGRTMAX - 1)

/* Thread-local storage: each green thread's own (its thread pointer is
 * switched with it), or the OS thread's shared by all (no cost per
 * switch). AUTO: own when a loaded module other than glibc's and
 * libgreen's has TLS. */
enum green_tls_mode { GREEN_TLS_AUTO, GREEN_TLS_OWN, GREEN_TLS_SHARED };

/* Fill *cfg from the GREEN_* environment variables: GREEN_STACK_SIZE,
 * GREEN_DEADLOCK, GREEN_STATS (1, or a file), GREEN_DUMP_SIGNAL (name
 * or number), GREEN_WATCHDOG (ms), GREEN_TRACE (file), GREEN_QUIET (0 or
 * 1), GREEN_HELPERS (1 to GREEN_HELPERS_MAX), GREEN_TLS (auto, own or
 * shared), GREEN_SLICE (ms, 0 to 1000; GREEN_SLICE_DEFAULT when unset),
 * GREEN_INHERIT (0 or 1: no_inherit when 0).
 * Strings point into the environment. Returns 0, or -EINVAL
 * after writing into err (at most errlen bytes, one line, no newline) which
 * variable is wrong and why. */
GREEN_API int green_config_from_env(struct green_config *cfg, char *err, size_t errlen);

/* Adopt the calling OS thread as the scheduler's, and the code running on
 * it as green thread 1, named "main", on its own stack. cfg may be NULL for the
 * defaults. Returns 0, -EALREADY when already initialised, -ENOMEM, or
 * -EINVAL for a bad cfg. */
GREEN_API int green_init(const struct green_config *cfg);

/* True once green_init ran, on the scheduler's OS thread, on a green
 * thread, and not while the core runs libc code for itself (its event
 * loop, making a helper thread): the only places where a GREEN_YIELDS
 * function may be called, and where an interposer may wait green. Cheap
 * (a few loads). */
GREEN_API int green_can_block(void);

/* True when some other green thread is ready to run or waiting for an
 * event: when false, a blocking call may just be made for real. */
GREEN_API int green_others_exist(void);

/* green_can_block() && green_others_exist(), in one call: the test on
 * the fast path of every interposer. */
GREEN_API int green_worth_waiting(void);

/* ---- green threads --------------------------------------------------- */

struct green_attr {
    size_t stack_size; /* 0: the configured default */
    void *stack_addr;  /* caller's stack (lowest address); NULL: allocate */
    size_t guard_size; /* guard below the stack; 0 with stack_addr: none */
    int detached;      /* start detached: no join, reclaimed at exit */
};

/* Create a green thread running fn(arg); it starts at the next switch
 * (the caller keeps running). attr may be NULL. *out gets the thread.
 * Returns 0, -EAGAIN when no stack or memory can be had, -EINVAL for a
 * stack size below GREEN_STACK_MIN or a misaligned stack_addr. */
#define GREEN_STACK_MIN ((size_t)16384)
GREEN_API int green_spawn(green_thread **out, void *(*fn)(void *), void *arg,
                          const struct green_attr *attr);

/* The calling green thread, or NULL when not on one (another OS thread,
 * before green_init). */
GREEN_API green_thread *green_self(void);

/* Small positive number naming the thread in reports: main is 1. */
GREEN_API unsigned long green_thread_id(const green_thread *t);

/* The thread id gettid() gives on t. main keeps its real one (the
 * process's pid, unless libgreen started on another OS thread); every
 * other green thread gets GREEN_TID_BASE + its number, above any real
 * id (PID_MAX_LIMIT), so it never names a real thread: no
 * /proc/self/task entry, and the kernel's tgkill refuses it with
 * ESRCH. In the child of a fork, the caller's is the child's pid. */
#define GREEN_TID_BASE 4194304L
GREEN_API int green_thread_tid(const green_thread *t);

/* The live (not exited) green thread whose tid is tid, or NULL. Walks
 * every live thread. */
GREEN_API green_thread *green_thread_by_tid(int tid);

/* Thread name for reports (copied, at most 15 bytes as pthread names). */
GREEN_API void green_thread_set_name(green_thread *t, const char *name);
GREEN_API const char *green_thread_name(const green_thread *t);

/* What t runs on: its usable stack (lowest address and size), the guard
 * below it and whether it is detached, as a green_attr. The main thread
 * runs on the process's stack: stack_addr NULL and size 0 for it. */
GREEN_API void green_thread_info(const green_thread *t, struct green_attr *out);

/* Per-thread pointer for the layer above (pthread keys, cancel state). */
GREEN_API void **green_thread_userdata(green_thread *t);

/* Wait until t exits and collect its value; frees t. Returns 0,
 * -EDEADLK when t is the caller, -EINVAL when t is detached or already
 * has a joiner, -ETIMEDOUT at deadline (t stays joinable), -EBUSY with
 * deadline 0 when t still runs (tryjoin; before any other check, as
 * glibc). A cancellation point (GREEN_CALL_JOIN) while it waits. */
GREEN_YIELDS GREEN_API int green_join(green_thread *t, void **retval, int64_t deadline);

/* Let t's resources go when it exits. Returns 0 or -EINVAL when already
 * detached or joined. */
GREEN_API int green_detach(green_thread *t);

/* Run the calling thread's thread_local destructors (C++, and
 * __cxa_thread_atexit_impl's), as a native thread does first when it
 * ends; green_exit runs those left. Not on main: exit runs them there. */
GREEN_API void green_tls_dtors(void);

/* End the calling green thread with retval. When it is the last one, the
 * process exits with status 0 (as when the last pthread exits). */
GREEN_YIELDS GREEN_API _Noreturn void green_exit(void *retval);

/* Put the caller at the back of the run queue and run the others. Also
 * polls for events now and then, so a yield loop cannot starve I/O. */
GREEN_YIELDS GREEN_API void green_yield(void);
/* green_yield returning 0, for sched_yield: an interposer that jumps to
 * it (a tail call) lets the switch resume the program directly. */
GREEN_YIELDS GREEN_API int green_sched_yield(void);

/* Wake t from whatever it waits on with -EINTR (for signals). Returns 0,
 * or -ESRCH when t does not wait. */
GREEN_API int green_interrupt(green_thread *t);

/* ---- time ------------------------------------------------------------ */

/* CLOCK_MONOTONIC now, in nanoseconds. */
GREEN_API int64_t green_now(void);

/* Sleep until deadline (CLOCK_MONOTONIC ns). Returns 0, or -EINTR when
 * interrupted. Never returns before deadline otherwise. */
GREEN_YIELDS GREEN_API int green_sleep_until(int64_t deadline);

/* For what no green wait can see (an object shared with another process):
 * call attempt(arg) until it returns anything but -EBUSY, sleeping green
 * a millisecond between attempts. Returns attempt's last result,
 * -ETIMEDOUT at deadline, or -EINTR when interrupted and interruptible
 * (else an interrupt only ends the current sleep). */
GREEN_YIELDS GREEN_API int green_poll_until(int (*attempt)(void *arg), void *arg, int64_t deadline,
                                            int interruptible);

/* ---- file descriptors ------------------------------------------------ */

#define GREEN_IN 1  /* readable (== EV_READ) */
#define GREEN_OUT 2 /* writable (== EV_WRITE) */

/* Wait until fd is ready for events (GREEN_IN|GREEN_OUT). Returns the
 * ready events (> 0; both when libev reports an error on fd, so the
 * caller's retry meets the real errno), -ETIMEDOUT at deadline, -EBADF
 * when fd is closed through green_fd_close meanwhile, -EPERM when fd
 * cannot be polled (regular file, directory), -EINTR, -ENOMEM. */
GREEN_YIELDS GREEN_API int green_fd_wait(int fd, int events, int64_t deadline);

struct green_pollfd {
    int fd;     /* negative: ignored, as poll does */
    int events; /* GREEN_IN|GREEN_OUT */
};

/* Wait until any of the n fds may be ready (poll, select, epoll_wait of
 * the program: the caller then asks the kernel which, without waiting).
 * Returns > 0 when one may be ready (at once for a bad fd, so that the
 * caller's own check reports it), -ETIMEDOUT at deadline, -EINTR,
 * -ENOMEM. Regular files and directories, whose readiness never changes,
 * are left out of the wait; with no fd to watch it just sleeps to
 * deadline. */
GREEN_YIELDS GREEN_API int green_fd_wait_many(const struct green_pollfd *fds, size_t n,
                                              int64_t deadline);

/* Room the core keeps with its record of each fd for the layer above
 * (what it knows of the fd, so that an interposer needs no system call
 * to learn it), as green_thread_userdata is per thread: the core never
 * reads it. All zeros until written; zeroed again by green_fd_close. */
#define GREEN_FD_SLOT_SIZE 24

/* fd's slot: GREEN_FD_SLOT_SIZE bytes aligned for any integer or
 * pointer; NULL when fd < 0 or out of memory. */
GREEN_API void *green_fd_slot(int fd);

/* Whether a blocking call on fd in the direction events (GREEN_IN or
 * GREEN_OUT) should wait for readiness before its first attempt: yes
 * when its first attempts have met EAGAIN lately (a thread-per-connection
 * server's read of the next request), which saves the failing system
 * call. Now and then it says no anyway, to notice a fd that has become
 * ready at every call: after 4 calls, then 8, ... up to 128 while those
 * attempts keep meeting EAGAIN. */
GREEN_API int green_fd_wait_first(int fd, int events);

/* What a first attempt on fd made without waiting found: would_block
 * when it met EAGAIN. green_fd_wait_first learns from it; green_fd_close
 * forgets it. */
GREEN_API void green_fd_tried(int fd, int events, int would_block);

/* fd is about to be closed (or replaced by dup2): wake its waiters with
 * -EBADF and forget all state kept for it (watcher, green_fd_slot). Call
 * before the real close, and when a call returns a new fd (socket,
 * accept, open, pipe, dup...), whose number may have been closed where
 * no interposer saw it. Returns 0. */
GREEN_API int green_fd_close(int fd);

/* green_fd_close for every fd from lo to hi (both included) the table
 * holds anything for (close_range, closefrom). Returns 0. */
GREEN_API int green_fd_close_range(int lo, int hi);

/* ---- mutex, condition variable, semaphore ---------------------------- *
 * Laid out to live inside pthread_mutex_t, pthread_cond_t and sem_t: all
 * zeros is a valid unlocked normal mutex / empty condition (sem_t needs
 * green_sem_init), and the mutex kind sits where glibc's static
 * initializers put it.
 *
 * Any OS thread may use them. On a green thread a contended call waits
 * green; on another OS thread (or before green_init) it waits on a futex.
 * A green thread that finds a mutex held by another OS thread re-checks
 * it every millisecond; a signal, broadcast or post from another OS
 * thread reaches the green waiters through the scheduler (a signal may
 * then wake them all: spurious wake-ups are allowed). The fields are the
 * core's: read them only as documented. */

enum green_mutex_kind {
    GREEN_MUTEX_NORMAL = 0,     /* PTHREAD_MUTEX_TIMED_NP */
    GREEN_MUTEX_RECURSIVE = 1,  /* PTHREAD_MUTEX_RECURSIVE_NP */
    GREEN_MUTEX_ERRORCHECK = 2, /* PTHREAD_MUTEX_ERRORCHECK_NP */
    GREEN_MUTEX_ADAPTIVE = 3,   /* PTHREAD_MUTEX_ADAPTIVE_NP: as normal */
};
/* Only the low two bits of kind choose the behaviour; the others are
 * glibc's (elision hints) and are kept as they are. */
#define GREEN_MUTEX_KIND_MASK 3

struct green_waitq {
    struct green_waiter *head, *tail;
};

typedef struct green_mutex {
    unsigned int lock;   /* atomic: 0 free, 1 held, 2 held and OS threads wait */
    unsigned int count;  /* recursion depth */
    green_thread *owner; /* green owner; 1: another OS thread; NULL: none */
    int kind;            /* enum green_mutex_kind; glibc's __kind slot */
    int owner_tid;       /* owning OS thread when owner is 1 */
    struct green_waitq waiters;
} green_mutex;

typedef struct green_cond {
    struct green_waitq waiters;
    int clock; /* CLOCK_REALTIME (0) or CLOCK_MONOTONIC */
    unsigned int flags;
    unsigned int seq;         /* futex word of waiters on other OS threads */
    unsigned int os_waiters;  /* how many of those wait */
    unsigned int reserved[2]; /* zero: glibc marks a process-shared
                               * condition at byte 36 (bit 0) */
    void *kick;               /* link for posts from other OS threads */
} green_cond;

typedef struct green_sem {
    unsigned int value;
    unsigned int flags; /* GREEN_SEM_MAGIC | bits: tells it from glibc's */
    struct green_waitq waiters;
    void *kick;
} green_sem;

/* In green_sem.flags, where glibc's sem_t keeps its count of waiters
 * (never that large): (flags & GREEN_SEM_MAGIC_MASK) == GREEN_SEM_MAGIC
 * for a semaphore made by green_sem_init. */
#define GREEN_SEM_MAGIC 0x47524e00u
#define GREEN_SEM_MAGIC_MASK 0xffffff00u

GREEN_API void green_mutex_init(green_mutex *m, int kind);
/* Returns 0, -EDEADLK (errorcheck, caller owns it; -EBUSY for a trylock,
 * as glibc), -EAGAIN (recursion
 * count overflow), -ETIMEDOUT at deadline, -EBUSY with deadline 0 when
 * taken (trylock). Normal mutexes relocked by their owner deadlock, as
 * natively. Green waiters get the mutex in FIFO order (hand-off on
 * unlock). */
GREEN_YIELDS GREEN_API int green_mutex_lock(green_mutex *m, int64_t deadline);
/* Returns 0, or -EPERM when the caller does not own an errorcheck or
 * recursive mutex. As in glibc, any thread may unlock a normal (or
 * adaptive) mutex, and unlocking a free one does nothing. */
GREEN_API int green_mutex_unlock(green_mutex *m);
/* Returns 0 or -EBUSY when locked or waited on. */
GREEN_API int green_mutex_destroy(green_mutex *m);

GREEN_API void green_cond_init(green_cond *c, int clock);
/* Unlock m, wait for a signal, relock m. Returns 0, -ETIMEDOUT at
 * deadline (m relocked all the same), -EPERM when m is not the
 * caller's. green_interrupt makes it return 0 (a spurious wake-up, as
 * POSIX allows: condition waits never fail with EINTR). */
GREEN_YIELDS GREEN_API int green_cond_wait(green_cond *c, green_mutex *m, int64_t deadline);
GREEN_API int green_cond_signal(green_cond *c);
GREEN_API int green_cond_broadcast(green_cond *c);
/* Returns 0 or -EBUSY when waited on. May yield until a wake-up posted
 * by another OS thread has been delivered. */
GREEN_YIELDS GREEN_API int green_cond_destroy(green_cond *c);

GREEN_API void green_sem_init(green_sem *s, unsigned int value);
/* Returns 0, -ETIMEDOUT at deadline, -EAGAIN with deadline 0 when the
 * value is 0 (trywait), -EINTR. FIFO hand-off on post. */
GREEN_YIELDS GREEN_API int green_sem_wait(green_sem *s, int64_t deadline);
/* Returns 0 or -EOVERFLOW at SEM_VALUE_MAX. */
GREEN_API int green_sem_post(green_sem *s);
GREEN_API unsigned int green_sem_value(const green_sem *s);
/* True when s was made by green_sem_init (not glibc's sem_init). */
GREEN_API int green_sem_is_green(const green_sem *s);
/* May yield until a post from another OS thread has been delivered.
 * Returns 0 or -EBUSY when waited on. */
GREEN_YIELDS GREEN_API int green_sem_destroy(green_sem *s);

/* ---- read-write lock, barrier, spin lock ------------------------------ *
 * green_rwlock fits pthread_rwlock_t (zeros: unlocked, readers
 * preferred, as PTHREAD_RWLOCK_INITIALIZER) and keeps zero the bytes
 * where glibc marks a process-shared one (28) and its kind (48).
 * Green waiters queue; once another OS thread has used the lock, green
 * waiters re-check it every millisecond instead (it cannot wake them). */

enum green_rwlock_kind {
    GREEN_RWLOCK_PREFER_READER = 0, /* glibc's default */
    GREEN_RWLOCK_PREFER_WRITER = 1, /* glibc's PREFER_WRITER_NP: as reader */
    GREEN_RWLOCK_PREFER_WRITER_NONRECURSIVE = 2,
};

typedef struct green_rwlock {
    unsigned int state;         /* atomic: readers, or GREEN_RWLOCK_WRITER */
    unsigned int wwait;         /* green writers waiting */
    struct green_waitq readers; /* waiting green readers */
    unsigned int writer;        /* green_thread_id of the writer; ~0u: another OS thread */
    unsigned int shared;        /* 28: zero; glibc's __shared */
    struct green_waitq writers; /* waiting green writers */
    int kind;                   /* 48: enum green_rwlock_kind; glibc's __flags */
    unsigned int flags;         /* 52 */
} green_rwlock;
#define GREEN_RWLOCK_WRITER 0x80000000u

GREEN_API void green_rwlock_init(green_rwlock *l, int kind);
/* Returns 0, -EDEADLK when the caller holds it for writing (rdlock,
 * wrlock) , -EAGAIN when the reader count would overflow, -ETIMEDOUT at
 * deadline, -EBUSY with deadline 0 (try). A green reader waits while a
 * writer waits only with PREFER_WRITER_NONRECURSIVE (as glibc). */
GREEN_YIELDS GREEN_API int green_rwlock_rdlock(green_rwlock *l, int64_t deadline);
GREEN_YIELDS GREEN_API int green_rwlock_wrlock(green_rwlock *l, int64_t deadline);
/* Returns 0, or -EPERM when it is not held. */
GREEN_API int green_rwlock_unlock(green_rwlock *l);
/* Returns 0 or -EBUSY when held or waited on. */
GREEN_API int green_rwlock_destroy(green_rwlock *l);

typedef struct green_barrier {
    unsigned int count; /* threads the barrier waits for */
    unsigned int arrived;
    unsigned int gen;    /* round; futex word of waiters on other OS threads */
    unsigned int shared; /* 12: zero; glibc marks a process-shared one here */
    struct green_waitq waiters;
} green_barrier;

/* Returns 0, or -EINVAL when count is 0. */
GREEN_API int green_barrier_init(green_barrier *b, unsigned int count);
/* Wait until count threads wait. Returns 1 in exactly one of them (the
 * last to arrive: PTHREAD_BARRIER_SERIAL_THREAD), 0 in the others.
 * Other OS threads may wait too (on a futex), but the last to arrive
 * must then be a green thread or the green waiters are not woken. */
GREEN_YIELDS GREEN_API int green_barrier_wait(green_barrier *b);
/* Returns 0 or -EBUSY when threads wait on it. */
GREEN_API int green_barrier_destroy(green_barrier *b);

/* A spin lock in glibc's own layout (an int: 0 free), so process-shared
 * ones work too. A contended green caller yields instead of spinning;
 * another OS thread spins then sched_yields. Returns 0 (-EBUSY with
 * deadline 0). */
GREEN_YIELDS GREEN_API int green_spin_lock(int *lock, int64_t deadline);
GREEN_API int green_spin_unlock(int *lock);

/* ---- once ------------------------------------------------------------- *
 * In glibc's pthread_once_t layout: 0 not run, 1 running, 2 done (glibc
 * uses the same values), so a once started by glibc is seen as done. */

/* Run fn(arg) once for *once: the first caller runs it, the others wait
 * (green) until it returns. Returns 0. If fn does not return (the thread
 * ends), green_once_abandon(once) lets another caller run it. */
GREEN_YIELDS GREEN_API int green_once(int *once, void (*fn)(void *), void *arg);
GREEN_API void green_once_abandon(int *once);

/* ---- futexes ----------------------------------------------------------- *
 * futex(2) waits of the program (its syscall(SYS_futex) or, through the
 * safety net, an inline one) as green waits. Any OS thread may wake; a
 * wake from another OS thread is posted to the scheduler and returns 0
 * at once. Not covered: PI futexes, futex_waitv, FUTEX_WAKE_OP. */

#define GREEN_FUTEX_SHARED 1 /* not FUTEX_PRIVATE_FLAG: other processes may wake */
#define GREEN_FUTEX_POLL 2   /* may be woken where libgreen does not see it */

/* Wait green while *word == val until a green_futex_wake with a bitset
 * meeting bitset, or deadline. The kernel checks word and val first.
 * With GREEN_FUTEX_SHARED or GREEN_FUTEX_POLL in flags the word is also
 * re-read every millisecond and a change ends the wait with 0 (a
 * spurious wake-up, which futex(2) allows). Returns 0 when woken,
 * -EAGAIN when *word != val, -ETIMEDOUT, -EINTR, -EINVAL (bitset 0 or
 * a misaligned word), -EFAULT. */
GREEN_YIELDS GREEN_API int green_futex_wait(const uint32_t *word, uint32_t val, uint32_t bitset,
                                            int flags, int64_t deadline);
/* Ready up to n green waiters of word whose bitset meets bitset. Returns
 * how many (0 from another OS thread, or -ENOMEM when it cannot post). */
GREEN_API int green_futex_wake(const uint32_t *word, int n, uint32_t bitset);
/* Wake up to n green waiters of word and move up to nmove more to wait
 * on word2. Returns how many were woken or moved. */
GREEN_API int green_futex_requeue(const uint32_t *word, int n, const uint32_t *word2, int nmove);

/* The safety net's Syscall User Dispatch selector byte (0: system calls
 * pass, 1: those outside libgreen's code trap), for the scheduler's OS
 * thread; the core lets its own calls through while its loop runs. */
GREEN_API unsigned char *green_net_selector(void);

/* For the statistics: whether the safety net for unseen system calls is
 * on, or off and why (a string that lives as long as the process). */
GREEN_API void green_net_state(int on, const char *why);
/* Count one system call the net caught; waited != 0 when it was made to
 * wait green. Scheduler's OS thread only. */
GREEN_API void green_net_count(int waited);

/* True when pc lies in libgreen's own code. */
GREEN_API int green_owns_pc(const void *pc);
/* The bounds of libgreen's own code; both 0 when not found. */
GREEN_API void green_text_range(uintptr_t *lo, uintptr_t *hi);

/* ---- offload, children, fork, signals ---------------------------------- */

/* Run fn(arg) on one of libgreen's helper OS threads while the calling
 * green thread waits green; other green threads run meanwhile. Helpers
 * are made on demand, when no idle one is left, up to green_config.helpers
 * (less one for the watchdog); further calls queue, first in first out.
 * A helper idle for 10 s ends. Helpers block every signal. For calls no fd wait can replace: name
 * lookups, fsync, reads of files not in the page cache. fn runs on a real thread with a real stack
 * and must not call GREEN_YIELDS functions; whatever it calls lands on interposers that pass
 * through there. The wait counts as one an outside event ends (never a deadlock) and a signal does
 * not end it. Off a green thread, or when no helper thread can be made at all, fn runs right here.
 * Returns 0 once fn has returned. */
GREEN_YIELDS GREEN_API int green_offload(void (*fn)(void *), void *arg);

/* Wait until a child process may have changed state, for waitpid and
 * friends, which then retry their call with WNOHANG. pid > 0: that
 * child (a pidfd wait); pid -1, 0 or -pgid: any matching child of the
 * process. stops != 0 when stopped or continued children are wanted
 * too (WUNTRACED, WCONTINUED), which no pidfd reports: the wait then
 * ends within 50 ms, as does any wait for pid <= 0 (to see children
 * made meanwhile). Returns > 0 to retry, -ETIMEDOUT at deadline,
 * -EINTR, -ENOMEM. Takes no SIGCHLD handler. */
GREEN_YIELDS GREEN_API int green_child_wait(int pid, int stops, int64_t deadline);

/* In the child of a fork (call it first thing there): every green
 * thread but the caller is dropped (POSIX: the child has one thread),
 * the event loop is re-armed for the new process and the helper pool
 * forgotten (made again when needed). From an OS thread that is not a
 * green thread, only the loop and pool are reset. */
GREEN_API void green_fork_child(void);

/* Around a vfork, in the parent: green_vfork_begin just before the
 * system call makes the calling OS thread no green thread (every
 * libgreen call passes through) until green_vfork_end, called by the
 * parent once the child has exec'd or exited. The child shares this
 * memory and must see libgreen's state untouched. */
GREEN_API void green_vfork_begin(void);
GREEN_API void green_vfork_end(void);

/* Signals. Masks are sets of signals 1..64, bit s-1 for signal s.
 *
 * green_signal_note: async-signal-safe; call from a signal handler after
 * the program's handler ran for sig. Soon after, from the event loop,
 * a green thread blocked in a green wait is interrupted (its wait
 * returns -EINTR): the one sig was aimed at by green_signal_direct,
 * else one in green_signal_wait, else main, else another thread, among
 * those whose mask does not block sig. restart != 0 when the handler
 * was installed with SA_RESTART (see green_intr_restart). */
GREEN_API void green_signal_note(int sig, int restart);

/* After a GREEN_YIELDS call of the caller returned -EINTR: 1 when the
 * signal behind it was handled with SA_RESTART, so a restartable call
 * should be made again; 0 otherwise (or for green_interrupt). */
GREEN_API int green_intr_restart(void);

/* Where the signals noted so far stand, for green_wait's since: read it
 * when a blocking call begins, before its first attempt, so a signal
 * handled while the call was under way (between the attempt and the
 * wait) still interrupts the wait. Never 0. */
GREEN_API unsigned long green_call_seq(void);

/* The calling green thread's mask: how is SIG_BLOCK, SIG_UNBLOCK or
 * SIG_SETMASK; set may be NULL (only read *old). The OS thread's real
 * mask blocks a signal exactly when every green thread blocks it. A new
 * green thread starts with its creator's mask. Returns 0, -EINVAL for
 * a bad how, -EPERM off a green thread. */
GREEN_API int green_sigmask(int how, const uint64_t *set, uint64_t *old);

/* Aim the next delivery of sig at t (pthread_kill). Returns 0 when the
 * caller should then raise sig for real; 1 when t blocks sig, which is
 * then held pending for t (delivered when t unblocks it, or taken by
 * its sigwait: green_signal_take); -ESRCH when t has exited; -EINVAL.
 * sig 0 only checks. */
GREEN_API int green_signal_direct(green_thread *t, int sig);

/* Never block sig in the scheduler's real mask, whatever the green
 * threads block (the safety net's SIGSYS: a trap while it is blocked
 * kills the process). */
GREEN_API void green_signal_keep(int sig);

/* Take one signal of set held pending for the caller (see
 * green_signal_direct). Returns it, or 0 when there is none. */
GREEN_API int green_signal_take(uint64_t set);

/* The caller waits for a signal of set in sigwait and friends (0: no
 * longer). While it does, a signal aimed at it wakes its wait, and one
 * sent to the process stays pending for it when main blocks it (the
 * kernel offers it to main first, and natively the sigwait takes it). */
GREEN_API void green_signal_waiting(uint64_t set);

/* Wait green until a signal interrupts the caller (pause, sigsuspend);
 * with mask non-NULL, the caller's mask is *mask during the wait and
 * restored after. Returns -EINTR. */
GREEN_YIELDS GREEN_API int green_signal_wait(const uint64_t *mask);

/* ---- preemption -------------------------------------------------------- */

/* For an interposer whose call could block natively but returns at once
 * (a poll with ready fds or no timeout, a WNOHANG wait, a trylock...):
 * when the caller has held the OS thread for a whole time slice, poll
 * the loop without blocking and let the ready threads run first. One
 * load when nothing is due. Does nothing off a green thread. */
GREEN_YIELDS GREEN_API void green_yield_point(void);

/* Every register of an interrupted context, for green_divert. */
struct green_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx;
    uint64_t rsp, rip, rflags;
};

/* From a signal handler, with its ucontext (the handler's third
 * argument): once the handler returns, the interrupted context calls
 * fn(regs, arg) as an ordinary function on its own stack, below its red
 * zone, with every register, the flags and the whole vector, x87 and
 * MXCSR state saved; when fn returns, the registers are restored from
 * *regs (fn may change them, rsp only upwards) and execution goes on at
 * regs->rip. fn runs outside the handler, with the interrupted signal
 * mask, and may switch green threads. Async-signal-safe; x86-64 only. */
GREEN_API void green_divert(void *ucontext, void (*fn)(struct green_regs *regs, void *arg),
                            void *arg);

/* ---- the wait policy -------------------------------------------------- *
 * Every blocking call that waits green names its class of call; the
 * class alone decides (policy.c, libgreen(7) WAIT POLICY) whether a
 * handler installed with SA_RESTART resumes the call (signal(7)),
 * whether the wait is a cancellation point, and what the deadline
 * returns. Interposers keep only their own non-blocking attempt. */

enum green_call {
    GREEN_CALL_IO,          /* read, write, recv, send, accept, splice...: restarts
                             * unless it has a deadline (socket timeout, recvmmsg's
                             * timeout); deadline: -EAGAIN */
    GREEN_CALL_CONNECT,     /* restarts unless SO_SNDTIMEO; deadline: result (its
                             * first attempt's: -EINPROGRESS, or -EALREADY) */
    GREEN_CALL_POLL,        /* poll, select, epoll_wait: never restarts; deadline: 0 */
    GREEN_CALL_SLEEP,       /* nanosleep and friends: never restarts; deadline: 0 */
    GREEN_CALL_CHILD,       /* wait, waitpid, waitid: restarts */
    GREEN_CALL_SIGWAIT,     /* sigwaitinfo, sigtimedwait: never restarts;
                             * deadline: -EAGAIN */
    GREEN_CALL_SIGWAIT_ANY, /* sigwait: never fails with EINTR */
    GREEN_CALL_SEM,         /* sem_wait, sem_timedwait: restarts; deadline -ETIMEDOUT */
    GREEN_CALL_PAUSE,       /* pause, sigsuspend: never restarts */
    GREEN_CALL_JOIN,        /* pthread_join: never fails with EINTR */
    GREEN_CALL_COND,        /* pthread_cond_wait: a signal is a spurious wake-up */
    GREEN_CALL_LOCK,        /* mutexes, rwlocks: never EINTR, no cancellation
                             * point; deadline -ETIMEDOUT */
};

/* What a wait waits on. */
enum green_wait_on {
    GREEN_ON_FD,    /* fd ready for events */
    GREEN_ON_FDS,   /* any of fds[0..n) (green_fd_wait_many) */
    GREEN_ON_CHILD, /* child pid (fd) changed state; events != 0: stops too */
    GREEN_ON_TIME,  /* the deadline only */
    GREEN_ON_RETRY, /* nothing the loop sees: ends within a millisecond */
};

struct green_wait {
    int call;                       /* enum green_call */
    int on;                         /* enum green_wait_on */
    int fd;                         /* GREEN_ON_FD: the fd; GREEN_ON_CHILD: the pid */
    int events;                     /* GREEN_ON_FD: GREEN_IN|GREEN_OUT; GREEN_ON_CHILD: stops */
    const struct green_pollfd *fds; /* GREEN_ON_FDS */
    size_t n;
    int64_t deadline; /* absolute, or GREEN_NEVER */
    int result;       /* GREEN_CALL_CONNECT: what its deadline returns */
    /* green_call_seq() when the blocking call began: a signal noted
     * since then interrupts the wait, as the kernel interrupts a system
     * call from its entry on. 0: from when the wait begins. */
    unsigned long since;
    /* Called before a cancellation ends the thread (frees what the
     * call holds); may be NULL. */
    void (*release)(void *arg);
    void *arg;
};

/* One wait of a blocking call, with its class's policy. Before waiting
 * and when interrupted, a cancellation point acts on a pending
 * cancellation (release, then the cancel hook: does not return).
 * Returns > 0 when the call should try again (ready, woken, or
 * interrupted by a handler that restarts it), the class's deadline
 * result, -EINTR when a handler interrupts a call that does not restart,
 * or the wait's own error (-EBADF, -EPERM, -ENOMEM; see green_fd_wait). */
GREEN_YIELDS GREEN_API int green_wait(const struct green_wait *w);

/* Deferred cancellation as the layer above keeps it: due() is 1 when the
 * calling thread has an enabled cancellation pending, act() ends the
 * thread (never returns). Unset: nothing is ever cancelled. */
GREEN_API void green_cancel_hooks(int (*due)(void), void (*act)(void));

/* At a cancellation point outside any wait: act on a pending
 * cancellation (release first, when given). */
GREEN_API void green_cancel_point(void (*release)(void *), void *arg);

/* A cancellation was requested for t: interrupt t when it waits in a
 * cancellation point (else it acts at its next one). Returns 0, or
 * -ESRCH when t does not wait in one. */
GREEN_API int green_cancel(green_thread *t);

/* ---- reports ----------------------------------------------------------- */

/* Write every green thread, its state, what it waits on, since when and
 * where it was called from, to fd. */
GREEN_API void green_dump(int fd);

/* Write the statistics (threads, switches, suspensions by kind and by
 * call, time blocked, deepest stack) to fd. */
GREEN_API void green_stats_print(int fd);

#ifdef __cplusplus
}
#endif
#endif
