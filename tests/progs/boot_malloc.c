/* boot_malloc: a malloc replacement that starts itself through pthread
 * keys, once and a mutex, as jemalloc does, for malloc_boot.
 *
 * Its first call initialises it: pthread_key_create, pthread_setspecific,
 * pthread_getspecific, pthread_once, a mutex, and fork handlers that
 * hold the mutex across fork. Were one of those calls to allocate, the
 * allocator would be re-entered before it is ready and initialise again
 * (counted), registering its fork handlers twice: the second prepare
 * handler then waits for ever on the mutex the first one took.
 *
 * Memory comes from a bump arena; free does nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA (256u << 20)
#define ALIGN 16

static char *arena;
static size_t used;
static int ready, inits;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void noop(void)
{
}

static void prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void after(void)
{
    pthread_mutex_unlock(&lock);
}

static void init(void)
{
    inits++;
    arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_once(&once, noop);
    pthread_key_create(&key, NULL);
    pthread_setspecific(key, &inits);
    pthread_getspecific(key);
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    pthread_atfork(prepare, after, after);
    ready = 1;
}

__attribute__((visibility("default"))) int boot_malloc_inits(void)
{
    return inits;
}

/* A block of n bytes aligned to align, its size kept just below it. */
static void *take(size_t n, size_t align)
{
    if (!ready)
        init();
    if (arena == MAP_FAILED || n > ARENA) {
        errno = ENOMEM;
        return NULL;
    }
    size_t need = (n + ALIGN - 1) / ALIGN * ALIGN + align + ALIGN;
    size_t at = __atomic_fetch_add(&used, need, __ATOMIC_RELAXED);
    if (at + need > ARENA) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t p = ((uintptr_t)arena + at + ALIGN + align - 1) / align * align;
    ((size_t *)p)[-1] = n;
    return (void *)p;
}

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    return take(n, ALIGN);
}

__attribute__((visibility("default"))) void free(void *p)
{
    (void)p;
}

__attribute__((visibility("default"))) void *calloc(size_t k, size_t n)
{
    if (n && k > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return take(k * n, ALIGN); /* the arena is fresh zeros */
}

__attribute__((visibility("default"))) void *realloc(void *old, size_t n)
{
    void *p = take(n, ALIGN);
    if (p && old) {
        size_t was = ((size_t *)old)[-1];
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}

__attribute__((visibility("default"))) size_t malloc_usable_size(void *p)
{
    return p ? ((size_t *)p)[-1] : 0;
}

__attribute__((visibility("default"))) void *memalign(size_t align, size_t n)
{
    return take(n, align < ALIGN ? ALIGN : align);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

__attribute__((visibility("default"))) void *valloc(size_t n)
{
    return memalign(4096, n);
}

__attribute__((visibility("default"))) void *pvalloc(size_t n)
{
    return memalign(4096, (n + 4095) & ~(size_t)4095);
}
