/* foreign.c: work handed to the scheduler by OS threads that are not its
 * own (helper threads, a library's own thread, a signal-driven timer).
 *
 * Such a thread must not touch run queues or wait queues. It posts a
 * node instead: a lock-free stack and an ev_async get the node to the
 * scheduler's OS thread, where node->fn runs between green threads. A
 * node posted again before it ran runs once.
 *
 * Whether every green thread waits on something only another green
 * thread could give is decided here too: while OS threads other than
 * ours exist, one of them may still post, so the scheduler waits for
 * them instead of reporting a deadlock.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Atomic(struct green_foreign *) posted;
static ev_async async;

static void run_posted(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    struct green_foreign *n = atomic_exchange(&posted, NULL), *fifo = NULL;
    while (n) { /* the stack is newest first: reverse it */
        struct green_foreign *next = n->next;
        n->next = fifo;
        fifo = n;
        n = next;
    }
    for (n = fifo; n; n = fifo) {
        fifo = n->next;
        atomic_store(&n->queued, 0);
        n->fn(n);
    }
}

void green__foreign_init(void)
{
    ev_async_init(&async, run_posted);
    ev_async_start(green__s.loop, &async);
    ev_unref(green__s.loop); /* it alone must not keep the loop running */
}

bool green__foreign_pending(void)
{
    return atomic_load_explicit(&posted, memory_order_relaxed) != NULL;
}

void green__foreign_post(struct green_foreign *n)
{
    if (atomic_exchange(&n->queued, 1))
        return;
    struct green_foreign *head = atomic_load(&posted);
    do
        n->next = head;
    while (!atomic_compare_exchange_weak(&posted, &head, n));
    ev_async_send(green__s.loop, &async);
}

/* OS threads in the process besides the scheduler's and our helpers'. */
static long foreign_threads(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[128];
    long n = 1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8)) {
            n = strtol(line + 8, NULL, 10);
            break;
        }
    fclose(f);
    return n - 1 - (long)__atomic_load_n(&green__s.helpers, __ATOMIC_RELAXED);
}

void green__foreign_fork_child(void)
{
    atomic_store(&posted, NULL);
}

bool green__foreign_may_post(void)
{
    return foreign_threads() > 0;
}

/* Nothing green can end the waits, but a foreign thread still may:
 * block in the loop until it posts (the async watcher is unreferenced,
 * so take a reference for this one wait). */
void green__foreign_wait(void)
{
    ev_ref(green__s.loop);
    ev_run(green__s.loop, EVRUN_ONCE);
    ev_unref(green__s.loop);
}
