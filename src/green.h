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

#include <stddef.h>
#include <stdint.h>

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
    size_t stack_size;  /* default stack of a green thread; 0: RLIMIT_STACK */
    int deadlock;       /* enum green_deadlock_mode */
};

/* Fill *cfg from the GREEN_* environment variables (GREEN_STACK_SIZE,
 * GREEN_DEADLOCK). Returns 0, or -EINVAL after writing into err (at most
 * errlen bytes, one line, no newline) which variable is wrong and why. */
GREEN_API int green_config_from_env(struct green_config *cfg, char *err, size_t errlen);

/* Adopt the calling OS thread as the scheduler's, and the code running on
 * it as green thread 1, named "main", on its own stack. cfg may be NULL for the
 * defaults. Returns 0, -EALREADY when already initialised, -ENOMEM, or
 * -EINVAL for a bad cfg. */
GREEN_API int green_init(const struct green_config *cfg);

/* True once green_init ran, on the scheduler's OS thread, on a green
 * thread, and not inside the event loop's own dispatch: the only places
 * where a GREEN_YIELDS function may be called. Cheap (a few loads). */
GREEN_API int green_can_block(void);

/* True when some other green thread is ready to run or waiting for an
 * event: when false, a blocking call may just be made for real. */
GREEN_API int green_others_exist(void);

/* ---- green threads --------------------------------------------------- */

struct green_attr {
    size_t stack_size;   /* 0: the configured default */
    void *stack_addr;    /* caller's stack (lowest address); NULL: allocate */
    size_t guard_size;   /* guard below the stack; 0 with stack_addr: none */
    int detached;        /* start detached: no join, reclaimed at exit */
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

/* Thread name for reports (copied, at most 15 bytes as pthread names). */
GREEN_API void green_thread_set_name(green_thread *t, const char *name);
GREEN_API const char *green_thread_name(const green_thread *t);

/* Per-thread pointer for the layer above (pthread keys, cancel state). */
GREEN_API void **green_thread_userdata(green_thread *t);

/* Wait until t exits and collect its value; frees t. Returns 0,
 * -EDEADLK when t is the caller, -EINVAL when t is detached or already
 * has a joiner, -ETIMEDOUT at deadline (t stays joinable), -EBUSY with
 * deadline 0 when t still runs (tryjoin). */
GREEN_YIELDS GREEN_API int green_join(green_thread *t, void **retval, int64_t deadline);

/* Let t's resources go when it exits. Returns 0 or -EINVAL when already
 * detached or joined. */
GREEN_API int green_detach(green_thread *t);

/* End the calling green thread with retval. When it is the last one, the
 * process exits with status 0 (as when the last pthread exits). */
GREEN_YIELDS GREEN_API _Noreturn void green_exit(void *retval);

/* Put the caller at the back of the run queue and run the others. Also
 * polls for events now and then, so a yield loop cannot starve I/O. */
GREEN_YIELDS GREEN_API void green_yield(void);

/* Wake t from whatever it waits on with -EINTR (for signals). Returns 0,
 * or -ESRCH when t does not wait. */
GREEN_API int green_interrupt(green_thread *t);

/* ---- time ------------------------------------------------------------ */

/* CLOCK_MONOTONIC now, in nanoseconds. */
GREEN_API int64_t green_now(void);

/* Sleep until deadline (CLOCK_MONOTONIC ns). Returns 0, or -EINTR when
 * interrupted. Never returns before deadline otherwise. */
GREEN_YIELDS GREEN_API int green_sleep_until(int64_t deadline);

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
 * Returns > 0 when one may be ready (at once for a regular file or a bad
 * fd, so that the caller's own check reports it), -ETIMEDOUT at deadline,
 * -EINTR, -ENOMEM. With no fd to watch it just sleeps to deadline. */
GREEN_YIELDS GREEN_API int green_fd_wait_many(const struct green_pollfd *fds, size_t n,
                                              int64_t deadline);

/* What the layer above knows of a fd, kept with the core's record so that
 * an interposer needs no system call to learn it. All zeros (unknown)
 * until filled; zeroed again by green_fd_close. */
enum green_fd_kind {
    GREEN_FD_UNKNOWN = 0,
    GREEN_FD_SOCKET,
    GREEN_FD_PIPE,  /* pipes and FIFOs */
    GREEN_FD_FILE,  /* regular files, directories, block devices */
    GREEN_FD_OTHER, /* ttys, eventfd, timerfd, signalfd, ... */
};
struct green_fdinfo {
    unsigned char kind;      /* enum green_fd_kind */
    unsigned char nonblock;  /* the program's own O_NONBLOCK */
    unsigned char hidden_nonblock; /* O_NONBLOCK set by libgreen, hidden */
    unsigned char flags;     /* free for the layer above */
    int64_t rcvtimeo;        /* SO_RCVTIMEO in ns; 0: none */
    int64_t sndtimeo;        /* SO_SNDTIMEO in ns; 0: none */
};

/* The record for fd; NULL when fd < 0 or out of memory. */
GREEN_API struct green_fdinfo *green_fd_info(int fd);

/* fd is about to be closed (or replaced by dup2): wake its waiters with
 * -EBADF and forget all state kept for it (watcher, green_fdinfo). Call
 * before the real close, and when a call returns a new fd (socket,
 * accept, open, pipe, dup...), whose number may have been closed where
 * no interposer saw it. Returns 0. */
GREEN_API int green_fd_close(int fd);

/* ---- mutex, condition variable, semaphore ---------------------------- *
 * Laid out to live inside pthread_mutex_t, pthread_cond_t and sem_t: all
 * zeros is a valid unlocked normal mutex / empty condition / semaphore at
 * 0, and the mutex kind sits where glibc's static initializers put it. */

enum green_mutex_kind {
    GREEN_MUTEX_NORMAL = 0,     /* PTHREAD_MUTEX_TIMED_NP */
    GREEN_MUTEX_RECURSIVE = 1,  /* PTHREAD_MUTEX_RECURSIVE_NP */
    GREEN_MUTEX_ERRORCHECK = 2, /* PTHREAD_MUTEX_ERRORCHECK_NP */
    GREEN_MUTEX_ADAPTIVE = 3,   /* PTHREAD_MUTEX_ADAPTIVE_NP: as normal */
};

struct green_waitq {
    struct green_waiter *head, *tail;
};

typedef struct green_mutex {
    unsigned int lock;    /* 0 free, 1 held */
    unsigned int count;   /* recursion depth */
    green_thread *owner;
    int kind;             /* enum green_mutex_kind; glibc's __kind slot */
    unsigned int flags;
    struct green_waitq waiters;
} green_mutex;

typedef struct green_cond {
    struct green_waitq waiters;
    int clock;            /* CLOCK_REALTIME (0) or CLOCK_MONOTONIC */
    unsigned int flags;
    uint64_t seq;
} green_cond;

typedef struct green_sem {
    unsigned int value;
    unsigned int flags;
    struct green_waitq waiters;
} green_sem;

GREEN_API void green_mutex_init(green_mutex *m, int kind);
/* Returns 0, -EDEADLK (errorcheck, caller owns it), -EAGAIN (recursion
 * count overflow), -ETIMEDOUT at deadline, -EBUSY with deadline 0 when
 * taken (trylock). Normal mutexes relocked by their owner deadlock, as
 * natively. Waiters get the mutex in FIFO order (hand-off on unlock). */
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
/* Returns 0 or -EBUSY when waited on. */
GREEN_API int green_cond_destroy(green_cond *c);

GREEN_API void green_sem_init(green_sem *s, unsigned int value);
/* Returns 0, -ETIMEDOUT at deadline, -EAGAIN with deadline 0 when the
 * value is 0 (trywait), -EINTR. FIFO hand-off on post. */
GREEN_YIELDS GREEN_API int green_sem_wait(green_sem *s, int64_t deadline);
/* Returns 0 or -EOVERFLOW at SEM_VALUE_MAX. */
GREEN_API int green_sem_post(green_sem *s);
GREEN_API unsigned int green_sem_value(const green_sem *s);

/* ---- reports ----------------------------------------------------------- */

/* Write every green thread, its state and what it waits on, to fd. */
GREEN_API void green_dump(int fd);

#ifdef __cplusplus
}
#endif
#endif
