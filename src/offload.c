/* offload.c: run a blocking call on a real helper OS thread while the
 * calling green thread waits green.
 *
 * Name lookups (whose NSS modules take glibc's internal locks and may
 * run for seconds), fsync and reads that miss the page cache cannot be
 * turned into fd waits. The caller puts a job on a first-in first-out
 * queue and blocks; a helper thread runs it and posts the job back to
 * the scheduler (foreign.c), which wakes the caller. libgreen's own OS
 * threads, these helpers and the watchdog, are at most
 * green_config.helpers (GREEN_HELPERS, 3 by default): a job that finds
 * no idle helper starts one while the bound allows, else waits its turn.
 * A helper idle for IDLE_NS exits, so a burst of lookups leaves no
 * threads behind.
 *
 * Every decision (queue, idle count, helper count) is taken under one
 * spinlock held for a few instructions: a helper timing out decides to
 * exit only with the queue empty, and a job queued after that sees it
 * gone and starts another. Idle helpers sleep on a futex, with raw
 * system calls: no pthread mutex or condition variable, which the layer
 * above may interpose. Helpers block every signal, so that signals
 * meant for the program reach the scheduler's thread, where its green
 * threads run. The helper count also feeds the deadlock check
 * (foreign.c), which counts the process's OS threads: an exiting helper
 * is still counted there for an instant after it left the count, which
 * at worst delays a deadlock report.
 *
 * The job lives on the caller's stack. The helper's last touch of it is
 * the post; the caller returns only once the scheduler has run the
 * posted node (job->finished), so no node outlives its frame.
 *
 * fork: the child has no helpers whatever the parent had; it must not
 * inherit a queue or a lock held by a helper at the time of the fork.
 * green__offload_fork_child forgets them all; helpers are made again
 * when the child offloads. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define IDLE_NS (10 * 1000000000LL)

struct job {
    void (*fn)(void *);
    void *arg;
    struct job *next;
    green_thread *t;
    bool finished; /* read and written on the scheduler's thread only */
    struct green_foreign done;
};

static struct {
    atomic_flag lock;
    struct job *head, *tail;   /* under lock, as the counts below */
    unsigned int queued;       /* jobs no helper has taken yet */
    unsigned int idle;         /* helpers waiting for a job */
    unsigned int helpers;      /* helpers alive or being made */
    _Atomic unsigned int wake; /* futex word: bumped for each job queued */
} pool = {.lock = ATOMIC_FLAG_INIT};

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&pool.lock, memory_order_acquire))
        ;
}

static void unlock(void)
{
    atomic_flag_clear_explicit(&pool.lock, memory_order_release);
}

/* The oldest job (under lock), or NULL. */
static struct job *take(void)
{
    struct job *j = pool.head;
    if (j && !(pool.head = j->next))
        pool.tail = NULL;
    if (j)
        pool.queued--;
    return j;
}

static void helper_gone(void)
{
    pool.helpers--;
    __atomic_fetch_sub(&green__s.helpers, 1, __ATOMIC_RELAXED);
}

/* The next job; NULL once idle for IDLE_NS (the helper then ends, and
 * has left the count). */
static struct job *next_job(void)
{
    lock();
    struct job *j = take();
    while (!j) {
        unsigned int seen = atomic_load(&pool.wake);
        pool.idle++;
        unlock();
        struct timespec ts = {.tv_sec = IDLE_NS / 1000000000, .tv_nsec = IDLE_NS % 1000000000};
        long r = syscall(SYS_futex, &pool.wake, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
        bool timed_out = r < 0 && errno == ETIMEDOUT;
        lock();
        pool.idle--;
        if (!(j = take()) && timed_out) {
            helper_gone();
            break;
        }
    }
    unlock();
    return j;
}

static void *helper(void *unused)
{
    (void)unused;
    struct job *j;
    while ((j = next_job())) {
        j->fn(j->arg);
        green__foreign_post(&j->done);
    }
    return NULL;
}

/* Make one more helper: a real OS thread (libc's pthread_create). */
static int add_helper(void)
{
    pthread_attr_t attr;
    sigset_t all;
    pthread_t id;
    sigfillset(&all);
    if (pthread_attr_init(&attr))
        return -EAGAIN;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setsigmask_np(&attr, &all);
    int r = green__libc.pthread_create(&id, &attr, helper, NULL);
    pthread_attr_destroy(&attr);
    return -r;
}

/* How many helpers the pool may have: the bound less the watchdog. */
static unsigned int pool_max(void)
{
    unsigned int n = green__s.cfg.helpers ? green__s.cfg.helpers : GREEN_HELPERS_DEFAULT;
    return green__s.cfg.watchdog_ms ? n - 1 : n;
}

/* Queue j; start a helper when no idle one is left for it and the bound
 * allows. Returns false when j could not be queued: no helper exists
 * and none can be made. */
static bool enqueue(struct job *j)
{
    lock();
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    bool start = ++pool.queued > pool.idle && pool.helpers < pool_max();
    if (start) {
        pool.helpers++;
        __atomic_fetch_add(&green__s.helpers, 1, __ATOMIC_RELAXED);
    }
    unlock();
    if (start && add_helper() < 0) {
        lock();
        helper_gone();
        bool alone = pool.helpers == 0;
        if (alone) { /* nobody will take it: take it back */
            struct job **p = &pool.head, *prev = NULL;
            while (*p != j)
                prev = *p, p = &(*p)->next;
            *p = j->next;
            if (pool.tail == j)
                pool.tail = prev;
            pool.queued--;
        }
        unlock();
        if (alone)
            return false;
    }
    atomic_fetch_add(&pool.wake, 1);
    syscall(SYS_futex, &pool.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return true;
}

static void job_done(struct green_foreign *n)
{
    struct job *j = container_of(n, struct job, done);
    j->finished = true;
    green__wake(j->t, 0);
}

int green_offload(void (*fn)(void *), void *arg)
{
    if (!green_can_block()) {
        fn(arg);
        return 0;
    }
    struct job j = {.fn = fn, .arg = arg, .t = green__current, .done = {.fn = job_done}};
    if (pool_max() == 0 || !enqueue(&j)) {
        fn(arg); /* no helper at all can be had: block this OS thread */
        return 0;
    }
    green__stats.offloaded++;
    /* An interrupt (a signal) does not end the wait: the helper still
     * uses the job, and the calls offloaded are not interruptible. */
    ev_ref(green__s.loop); /* the posting async must keep the loop blocking */
    while (!j.finished)
        green__block(W_OFFLOAD, fn, GREEN_NEVER, true);
    ev_unref(green__s.loop);
    return 0;
}

void green__offload_fork_child(void)
{
    atomic_flag_clear(&pool.lock);
    pool.head = pool.tail = NULL;
    pool.queued = pool.idle = 0;
    green__s.helpers -= pool.helpers;
    pool.helpers = 0;
}
