/* futex.c: futex waits of the program as green waits.
 *
 * A green thread waiting on a futex word parks in a hash table keyed by
 * the word's address (with the bitset it waits for); a wake from another
 * green thread unlinks and readies up to n of them, a requeue moves them
 * to another word's queue. The kernel still judges the word: the caller
 * first asks it for a wait with a zero timeout, so a changed word (EAGAIN),
 * a bad address (EFAULT) or alignment (EINVAL) are its own answers, and
 * nothing can change the word between that check and the green park but
 * another OS thread.
 *
 * Wakes that do not come from a green thread:
 *  - another OS thread of the process calls green_futex_wake (the syscall
 *    interposer does): it cannot touch the queues, so it posts the wake to
 *    the scheduler (foreign.c), which runs it before anything else;
 *  - another process (a shared futex) wakes only kernel waiters, and so
 *    does a raw system call of another OS thread (glibc's internal locks,
 *    whose waits the safety net makes green): such a green waiter
 *    re-reads its word every millisecond and returns 0 once it changed,
 *    which futex(2) allows (a spurious wake).
 * A wake from a green thread also makes the real FUTEX_WAKE for what it
 * did not wake green, for waiters on other OS threads or processes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "list.h"

#define BUCKETS 256
#define SHARED_POLL_NS 1000000

struct fwaiter {
    struct green_waiter w;
    const uint32_t *word;
    uint32_t bitset;
};

static struct green_waitq buckets[BUCKETS];
/* Green threads parked on a futex, read by other OS threads to skip the
 * post when nobody could be woken. */
static _Atomic unsigned long parked;

static struct green_waitq *bucket(const uint32_t *word)
{
    uintptr_t a = (uintptr_t)word >> 2;
    return &buckets[(a ^ (a >> 8) ^ (a >> 16)) % BUCKETS];
}

/* Ready up to n green waiters of word whose bitset meets bitset; then
 * move up to nmove more to word2's queue (word2 NULL: none). Returns how
 * many were woken plus moved. Scheduler's OS thread only. */
static int wake_move(const uint32_t *word, int n, uint32_t bitset, const uint32_t *word2, int nmove)
{
    struct green_waitq *q = bucket(word);
    int done = 0, moved = 0;
    for (struct green_waiter *w = q->head, *next; w && (done < n || moved < nmove); w = next) {
        next = w->next;
        struct fwaiter *f = container_of(w, struct fwaiter, w);
        if (f->word != word || !(f->bitset & bitset))
            continue;
        if (done < n) {
            green__wake(w->t, 0);
            done++;
        } else if (word2) {
            waitq_remove(w);
            f->word = word2;
            waitq_push(bucket(word2), w);
            moved++;
        }
    }
    return done + moved;
}

struct posted_wake {
    struct green_foreign node;
    const uint32_t *word;
    int n;
    uint32_t bitset;
};

static void run_posted_wake(struct green_foreign *node)
{
    struct posted_wake *p = container_of(node, struct posted_wake, node);
    wake_move(p->word, p->n, p->bitset, NULL, 0);
    free(p);
}

int green_futex_wake(const uint32_t *word, int n, uint32_t bitset)
{
    if (n <= 0 || !bitset)
        return 0;
    if (green__current) /* the scheduler's OS thread */
        return wake_move(word, n, bitset, NULL, 0);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the word's change before reading parked */
    if (!atomic_load(&parked))
        return 0;
    struct posted_wake *p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    *p = (struct posted_wake){
        .node = {.fn = run_posted_wake}, .word = word, .n = n, .bitset = bitset};
    green__foreign_post(&p->node);
    return 0;
}

int green_futex_requeue(const uint32_t *word, int n, const uint32_t *word2, int nmove)
{
    if (!green__current)
        return green_futex_wake(word, n, FUTEX_BITSET_MATCH_ANY);
    return wake_move(word, n < 0 ? 0 : n, FUTEX_BITSET_MATCH_ANY, word2, nmove < 0 ? 0 : nmove);
}

/* The kernel's verdict on waiting: -ETIMEDOUT when *word == val (a zero
 * timeout), else -EAGAIN, -EFAULT, -EINVAL... */
static int kernel_check(const uint32_t *word, uint32_t val, int shared)
{
    static const struct timespec zero;
    int op = FUTEX_WAIT | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    int saved = errno;
    long r = syscall(SYS_futex, word, op, val, &zero, NULL, 0);
    int e = r < 0 ? -errno : 0;
    errno = saved;
    return e;
}

/* One park of the caller until woken, the deadline, or (shared) the
 * next re-read of the word. */
GREEN_YIELDS static int park(const uint32_t *word, uint32_t bitset, int64_t deadline, bool poll)
{
    struct fwaiter f = {.word = word, .bitset = bitset};
    green__waiter_add(bucket(word), &f.w, green__current);
    int64_t until = deadline;
    if (poll) {
        int64_t tick = green_now() + SHARED_POLL_NS;
        until = deadline == GREEN_NEVER || tick < deadline ? tick : deadline;
    }
    atomic_fetch_add(&parked, 1);
    int r = green__block(W_FUTEX, word, until, poll);
    atomic_fetch_sub(&parked, 1);
    if (r == -ETIMEDOUT && until != deadline)
        return -EBUSY; /* a re-read is due */
    return r;
}

int green_futex_wait(const uint32_t *word, uint32_t val, uint32_t bitset, int flags,
                     int64_t deadline)
{
    if (!bitset)
        return -EINVAL;
    atomic_fetch_add(&parked, 1); /* before the check: see green_futex_wake */
    int r = kernel_check(word, val, flags & GREEN_FUTEX_SHARED);
    atomic_fetch_sub(&parked, 1);
    if (r != -ETIMEDOUT)
        return r;
    if (deadline != GREEN_NEVER && green_now() >= deadline)
        return -ETIMEDOUT;
    for (;;) {
        r = park(word, bitset, deadline, flags != 0);
        if (r != -EBUSY)
            return r;
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != val)
            return 0;
    }
}
