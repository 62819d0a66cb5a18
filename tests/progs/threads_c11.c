/* threads_c11: C11 <threads.h> as a program uses it: create/join with
 * results, detach, mutexes (plain, timed, recursive), condition
 * variables, thread-specific storage with destructors, call_once,
 * thrd_sleep and thrd_yield, and the C11 result codes. Threads: is
 * printed last, so the test can check the OS thread count under
 * libgreen (-t). */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

static mtx_t m, rm, tm;
static cnd_t c;
static int ready, counter;
static tss_t key;
static int dtor_calls;
static once_flag flag = ONCE_FLAG_INIT;
static int once_runs;

static void once_fn(void)
{
    once_runs++;
}

static void dtor(void *v)
{
    (void)v;
    dtor_calls++;
}

static int worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    call_once(&flag, once_fn);
    tss_set(key, arg);
    for (int i = 0; i < 1000; i++) {
        mtx_lock(&m);
        int v = counter;
        if (i % 100 == 0)
            thrd_yield();
        counter = v + 1;
        mtx_unlock(&m);
    }
    mtx_lock(&m);
    while (!ready)
        cnd_wait(&c, &m);
    mtx_unlock(&m);
    return tss_get(key) == arg ? id * 2 : -1;
}

static int detached(void *arg)
{
    (void)arg;
    thrd_exit(5);
}

static const char *code(int r)
{
    switch (r) {
    case thrd_success:
        return "success";
    case thrd_busy:
        return "busy";
    case thrd_error:
        return "error";
    case thrd_nomem:
        return "nomem";
    case thrd_timedout:
        return "timedout";
    default:
        return "?";
    }
}

static int other_trylock(void *arg)
{
    return mtx_trylock(arg);
}

int main(int argc, char **argv)
{
    thrd_t t[8], d;
    printf("init: %s %s %s %s\n", code(mtx_init(&m, mtx_plain)),
           code(mtx_init(&rm, mtx_plain | mtx_recursive)), code(mtx_init(&tm, mtx_timed)),
           code(cnd_init(&c)));
    printf("tss_create %s\n", code(tss_create(&key, dtor)));
    for (int i = 0; i < 8; i++)
        if (thrd_create(&t[i], worker, (void *)(intptr_t)(i + 1)) != thrd_success)
            return 1;
    struct timespec ts = {0, 10 * 1000 * 1000};
    printf("thrd_sleep %d\n", thrd_sleep(&ts, NULL));
    mtx_lock(&m);
    ready = 1;
    cnd_broadcast(&c);
    mtx_unlock(&m);
    printf("results:");
    for (int i = 0; i < 8; i++) {
        int r;
        thrd_join(t[i], &r);
        printf(" %d", r);
    }
    printf("\ncounter %d once %d destructors %d\n", counter, once_runs, dtor_calls);
    printf("current equals itself %d\n", thrd_equal(thrd_current(), thrd_current()) != 0);
    printf("detach %s\n",
           code(thrd_create(&d, detached, NULL) == thrd_success ? thrd_detach(d) : thrd_error));
    printf("recursive: %s %s", code(mtx_lock(&rm)), code(mtx_trylock(&rm)));
    thrd_t o;
    int r;
    thrd_create(&o, other_trylock, &rm);
    thrd_join(o, &r);
    printf(" other %s\n", code(r));
    mtx_unlock(&rm);
    mtx_unlock(&rm);
    mtx_lock(&tm);
    struct timespec abs;
    timespec_get(&abs, TIME_UTC);
    abs.tv_nsec += 20 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    thrd_create(&o, other_trylock, &tm);
    thrd_join(o, &r);
    printf("timed: other trylock %s", code(r));
    mtx_lock(&m);
    printf(", cnd_timedwait %s\n", code(cnd_timedwait(&c, &m, &abs)));
    mtx_unlock(&m);
    mtx_unlock(&tm);
    mtx_destroy(&m);
    mtx_destroy(&rm);
    mtx_destroy(&tm);
    cnd_destroy(&c);
    tss_delete(key);
    if (argc > 1 && !strcmp(argv[1], "-t")) {
        print_os_threads();
    }
    return 0;
}
