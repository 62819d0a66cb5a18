/* tls_threads: 1,000 threads each keep their own __thread, _Thread_local
 * and errno values, and their own copy of a shared library's TLS (one
 * loaded at start, one dlopen'ed once the threads exist), across sleeps,
 * yields and condition waits. Then one thread's pthread_getattr_np names
 * the stack it runs on, and a deep recursion fits the default stack.
 * -t: print Threads: from /proc/self/status last. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

#define N 1000

int start_get(void);
void start_set(int v);

static __thread long counter = 1; /* initialised: each thread starts at 1 */
static _Thread_local int c11_id;
static int (*late_get)(void);
static void (*late_set)(int);
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int loaded, bad;

static int mine(long id, int late)
{
    return counter == id && c11_id == id * 3 && start_get() == id * 5 && errno == id &&
           (!late || late_get() == id * 7);
}

static void *worker(void *arg)
{
    long id = (long)arg;
    int ok = counter == 1 && c11_id == 0 && start_get() == 5 && errno == 0;
    char num[32]; /* the locale's tables, as a new thread sees them */
    snprintf(num, sizeof num, "%.2f %c", id / 4.0, toupper('q'));
    char want[32];
    sprintf(want, "%ld.%02ld Q", id / 4, id % 4 * 25);
    ok &= !strcmp(num, want);
    counter = id;
    c11_id = id * 3;
    start_set(id * 5);
    errno = id;
    for (int i = 0; i < 3; i++) {
        usleep(100 + id % 7);
        sched_yield();
        errno = id; /* usleep may set it natively too (EINTR) */
        ok &= mine(id, 0);
    }
    CHECK(pthread_mutex_lock(&m));
    while (!loaded)
        CHECK(pthread_cond_wait(&cv, &m));
    CHECK(pthread_mutex_unlock(&m));
    errno = id;
    ok &= mine(id, 0) && late_get() == 5; /* the image, in this thread */
    late_set(id * 7);
    for (int i = 0; i < 3; i++) {
        sched_yield();
        usleep(50);
        errno = id;
        ok &= mine(id, 1);
    }
    if (!ok)
        __atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void load_late(const char *self)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", self);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (slash ? slash + 1 - path : 0),
             "libtls_late.so");
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        exit(1);
    }
    late_get = (int (*)(void))dlsym(h, "late_get");
    late_set = (void (*)(int))dlsym(h, "late_set");
}

static uintptr_t deepest;

static int recurse(int n)
{
    volatile char pad[480];
    pad[0] = (char)n;
    if ((uintptr_t)pad < deepest || !deepest)
        deepest = (uintptr_t)pad;
    return n ? recurse(n - 1) + pad[0] : 0;
}

static void *stack_report(void *arg)
{
    (void)arg;
    /* Made after 1,000 threads ended: their TLS may serve it again. */
    printf("a new thread starts from the images: %s\n",
           counter == 1 && c11_id == 0 && start_get() == 5 && late_get() == 5 && errno == 0 ? "yes"
                                                                                            : "no");
    pthread_attr_t a;
    void *lo;
    size_t size;
    int here;
    CHECK(pthread_getattr_np(pthread_self(), &a));
    CHECK(pthread_attr_getstack(&a, &lo, &size));
    CHECK(pthread_attr_destroy(&a));
    uintptr_t b = (uintptr_t)lo, h = (uintptr_t)&here;
    printf("own stack: %s, at least 7 MiB: %s\n", h > b && h < b + size ? "yes" : "no",
           size >= 7u << 20 ? "yes" : "no");
    recurse(10000); /* about 5 MiB */
    printf("5 MiB recursion inside it: %s\n", deepest > b ? "yes" : "no");
    return NULL;
}

int main(int argc, char **argv)
{
    static pthread_t t[N];
    for (long i = 0; i < N; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)));
    load_late(argv[0]);
    CHECK(pthread_mutex_lock(&m));
    loaded = 1;
    CHECK(pthread_cond_broadcast(&cv));
    CHECK(pthread_mutex_unlock(&m));
    for (int i = 0; i < N; i++)
        CHECK(pthread_join(t[i], NULL));
    printf("%d threads with their own __thread, _Thread_local, errno and library TLS: "
           "%d wrong\n",
           N, bad);
    printf("main's own: %s\n", counter == 1 && c11_id == 0 && start_get() == 5 ? "yes" : "no");
    pthread_t s;
    CHECK(pthread_create(&s, NULL, stack_report, NULL));
    CHECK(pthread_join(s, NULL));
    if (argc > 1 && !strcmp(argv[1], "-t")) { /* the OS threads left: 1 */
        print_os_threads();
    }
    return bad != 0;
}
