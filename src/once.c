/* once.c: run-once in glibc's pthread_once_t layout (0 not run, bit 0
 * running, 2 done; glibc adds a fork generation above bit 1 while
 * running). Waiters re-check every millisecond (green) or sleep on the
 * futex (other OS threads); both are woken when the runner finishes. */
#include <errno.h>
#include <limits.h>

#include "kick.h"

#define DONE 2
#define RUNNING 1
#define RECHECK_NS 1000000

int green_once(int *once, void (*fn)(void *), void *arg)
{
    unsigned int *w = (unsigned int *)once;
    for (;;) {
        unsigned int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (v & DONE)
            return 0;
        if (!(v & RUNNING)) {
            if (!__atomic_compare_exchange_n(w, &v, RUNNING, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE))
                continue;
            fn(arg);
            __atomic_store_n(w, DONE, __ATOMIC_RELEASE);
            green__futex_wake(w, INT_MAX);
            return 0;
        }
        if (green__on_green())
            green__block(W_ONCE, once, green_now() + RECHECK_NS, true);
        else
            green__futex_wait(w, v, GREEN_NEVER);
    }
}

void green_once_abandon(int *once)
{
    __atomic_store_n((unsigned int *)once, 0, __ATOMIC_RELEASE);
    green__futex_wake((unsigned int *)once, INT_MAX);
}
