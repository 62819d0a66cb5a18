/* offload.c: run a blocking call on a real helper OS thread while the
 * calling green thread waits green.
 *
 * Name lookups (whose NSS modules take glibc's internal locks and may
 * run for seconds), fsync and reads that miss the page cache cannot be
 * turned into fd waits. The caller puts a job on a queue and blocks;
 * one of up to POOL_MAX helper threads runs it and posts the job back
 * to the scheduler (foreign.c), which wakes the caller. Helpers are
 * made lazily, when a job finds no idle one, and then stay: an idle
 * helper costs a sleeping thread, and helpers that come and go would
 * make the deadlock check (which counts OS threads) racy.
 *
 * The queue is guarded by a spinlock held for a few instructions and
 * idle helpers sleep on a futex, with raw system calls: no pthread
 * mutex or condition variable, which the layer above may interpose.
 * Helpers block every signal, so that signals meant for the program
 * reach the scheduler's thread, where its green threads run.
 *
 * The job lives on the caller's stack. The helper's last touch of it is
 * the post; the caller returns only once the scheduler has run the
 * posted node (job->finished), so no node outlives its frame.
 *
 * fork: the child has no helpers whatever the parent had; it must not
 * inherit a queue or a lock held by a helper at the time of the fork.
 * green__offload_fork_child forgets them all; helpers are made again
 * when the child offloads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define POOL_MAX 16

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
    struct job *head, *tail;
    _Atomic unsigned int queued; /* jobs no helper has taken yet */
    _Atomic unsigned int wake; /* futex word: bumped for each job queued */
    unsigned int helpers;      /* helpers made (scheduler's thread only) */
    _Atomic unsigned int idle; /* helpers waiting for a job */
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

static struct job *take(void)
{
    lock();
    struct job *j = pool.head;
    if (j && !(pool.head = j->next))
        pool.tail = NULL;
    if (j)
        atomic_fetch_sub(&pool.queued, 1);
    unlock();
    return j;
}

static void *helper(void *unused)
{
    (void)unused;
    for (;;) {
        unsigned int seen = atomic_load(&pool.wake);
        struct job *j = take();
        if (!j) {
            atomic_fetch_add(&pool.idle, 1);
            syscall(SYS_futex, &pool.wake, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
            atomic_fetch_sub(&pool.idle, 1);
            continue;
        }
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
    if (r)
        return -r;
    pool.helpers++;
    green__s.helpers++;
    return 0;
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
    /* Each queued job needs an idle helper of its own to run at once. */
    if (atomic_load(&pool.idle) <= atomic_load(&pool.queued) && pool.helpers < POOL_MAX &&
        add_helper() < 0 && pool.helpers == 0) {
        fn(arg); /* no helper at all can be had: block this OS thread */
        return 0;
    }
    struct job j = {.fn = fn, .arg = arg, .t = green__current, .done = {.fn = job_done}};
    green__stats.offloaded++;
    lock();
    if (pool.tail)
        pool.tail->next = &j;
    else
        pool.head = &j;
    pool.tail = &j;
    atomic_fetch_add(&pool.queued, 1);
    unlock();
    atomic_fetch_add(&pool.wake, 1);
    syscall(SYS_futex, &pool.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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
    atomic_store(&pool.queued, 0);
    atomic_store(&pool.idle, 0);
    green__s.helpers -= pool.helpers;
    pool.helpers = 0;
}
