/* next_create: a library that starts threads through the pthread_create
 * it looks up with dlsym(RTLD_NEXT) or dlvsym, as jemalloc does, for
 * dl_next. It also defines probe(), as dl_next does: looked up with
 * RTLD_NEXT from here, nothing after this library defines it. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#define API __attribute__((visibility("default")))

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

API int next_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    create_fn *f = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    return f ? f(t, NULL, fn, arg) : ENOSYS;
}

API int next_vcreate(pthread_t *t, void *(*fn)(void *), void *arg)
{
    create_fn *f = (create_fn *)dlvsym(RTLD_NEXT, "pthread_create", "GLIBC_2.34");
    return f ? f(t, NULL, fn, arg) : ENOSYS;
}

API int probe(void)
{
    return 2;
}

/* What RTLD_NEXT finds from here for names only later objects have,
 * or none has: the caller's own meaning. */
API const char *next_lookups(void)
{
    if (dlsym(RTLD_NEXT, "probe"))
        return "probe found after the library (wrong)";
    if (!dlsym(RTLD_NEXT, "strlen") || dlvsym(RTLD_NEXT, "strlen", "NO_SUCH_1.0"))
        return "strlen not found as libc's (wrong)";
    return "probe not after the library, strlen in libc";
}
