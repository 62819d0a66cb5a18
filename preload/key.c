/* key.c: pthread keys per green thread.
 *
 * Keys are numbered slots of one process-wide table; each carries a
 * sequence number that pthread_key_delete advances, so a value stored
 * under a deleted key reads as NULL when the number is reused (as in
 * glibc). Values live in the caller's struct pthr: the first 32 inline
 * (an allocator sets them while it starts, and must not be re-entered),
 * the others in blocks of 32 allocated on first use. An OS thread that
 * is not green keeps its values in thread-local storage and gets its
 * destructors run by one real key of glibc's whose own destructor walks
 * them. */
#include "pthr.h"

#include <stdlib.h>
#include <string.h>

static struct {
    unsigned long seq; /* odd: in use */
    void (*dtor)(void *);
} keys[PTHREAD_KEYS_MAX];

static pthread_key_t os_key;
static int os_key_state; /* 0 none, 1 made */

static unsigned long key_seq(pthread_key_t k)
{
    return __atomic_load_n(&keys[k].seq, __ATOMIC_ACQUIRE);
}

PRELOAD_EXPORT int pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
    for (pthread_key_t i = 0; i < PTHREAD_KEYS_MAX; i++) {
        unsigned long s = key_seq(i);
        if (s & 1)
            continue;
        keys[i].dtor = dtor;
        if (__atomic_compare_exchange_n(&keys[i].seq, &s, s + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            *k = i;
            return 0;
        }
    }
    return EAGAIN;
}

PRELOAD_EXPORT int pthread_key_delete(pthread_key_t k)
{
    if (k >= PTHREAD_KEYS_MAX)
        return EINVAL;
    unsigned long s = key_seq(k);
    if (!(s & 1) || !__atomic_compare_exchange_n(&keys[k].seq, &s, s + 1, 0, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_RELAXED))
        return EINVAL;
    return 0;
}

/* The block of p holding key k; NULL when not allocated yet. */
static struct key_slot *block_of(struct pthr *p, pthread_key_t k)
{
    return k < KEY_BLOCK ? p->first : p->keys[k / KEY_BLOCK];
}

PRELOAD_EXPORT void *pthread_getspecific(pthread_key_t k)
{
    if (k >= PTHREAD_KEYS_MAX)
        return NULL;
    struct key_slot *b = block_of(pthr_self(), k);
    if (!b || b[k % KEY_BLOCK].seq != key_seq(k))
        return NULL;
    return b[k % KEY_BLOCK].value;
}

static void os_thread_ends(void *arg)
{
    pthr_run_destructors(arg);
    pthr_free_keys(arg);
}

/* An OS thread that is not green has its destructors run at its end. */
static void watch_os_thread(struct pthr *p)
{
    if (!__atomic_load_n(&os_key_state, __ATOMIC_ACQUIRE)) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        green_mutex_lock((green_mutex *)(void *)&lock, GREEN_NEVER);
        if (!os_key_state && real_pthread_key_create(&os_key, os_thread_ends) == 0)
            __atomic_store_n(&os_key_state, 1, __ATOMIC_RELEASE);
        green_mutex_unlock((green_mutex *)(void *)&lock);
    }
    if (os_key_state && !real_pthread_getspecific(os_key))
        real_pthread_setspecific(os_key, p);
}

PRELOAD_EXPORT int pthread_setspecific(pthread_key_t k, const void *value)
{
    unsigned long s = k < PTHREAD_KEYS_MAX ? key_seq(k) : 0;
    if (!(s & 1))
        return EINVAL;
    struct pthr *p = pthr_self();
    struct key_slot *b = block_of(p, k);
    if (!b && !(b = p->keys[k / KEY_BLOCK] = calloc(KEY_BLOCK, sizeof *b)))
        return ENOMEM;
    b[k % KEY_BLOCK] = (struct key_slot){s, (void *)value};
    if (!green_self())
        watch_os_thread(p);
    return 0;
}

/* As glibc: up to PTHREAD_DESTRUCTOR_ITERATIONS rounds while destructors
 * leave values behind; each value is cleared before its destructor runs. */
void pthr_run_destructors(struct pthr *p)
{
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        int again = 0;
        for (pthread_key_t k = 0; k < PTHREAD_KEYS_MAX; k++) {
            struct key_slot *b = block_of(p, k);
            if (!b) {
                k += KEY_BLOCK - 1;
                continue;
            }
            struct key_slot *sl = &b[k % KEY_BLOCK];
            void (*dtor)(void *) = keys[k].dtor;
            if (!sl->value || sl->seq != key_seq(k) || !dtor)
                continue;
            void *v = sl->value;
            sl->value = NULL;
            dtor(v);
            again = 1;
        }
        if (!again)
            break;
    }
}

void pthr_free_keys(struct pthr *p)
{
    memset(p->first, 0, sizeof p->first);
    for (int i = 1; i < KEY_BLOCKS; i++) {
        free(p->keys[i]);
        p->keys[i] = NULL;
    }
}
