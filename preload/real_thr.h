/* real_thr.h: the thread and synchronisation functions of libc that
 * libgreen.so interposes beyond those of real.h (same rules: every
 * real_<name> pointer is callable at any time; real.c resolves them).
 * They serve the objects libgreen leaves to glibc (process-shared ones,
 * named semaphores) and calls made on OS threads that are not green. */
#ifndef GREEN_PRELOAD_REAL_THR_H
#define GREEN_PRELOAD_REAL_THR_H

#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>

#define REAL_MUTEX_FUNCS(X)                                                                   \
    X(int, pthread_mutex_init, (pthread_mutex_t * m, const pthread_mutexattr_t *a), (m, a),   \
      NULL)                                                                                   \
    X(int, pthread_mutex_destroy, (pthread_mutex_t * m), (m), NULL)                           \
    X(int, pthread_mutex_lock, (pthread_mutex_t * m), (m), NULL)                              \
    X(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m), NULL)                           \
    X(int, pthread_mutex_unlock, (pthread_mutex_t * m), (m), NULL)                            \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *t), (m, t),  \
      NULL)                                                                                   \
    X(int, pthread_mutex_clocklock,                                                           \
      (pthread_mutex_t * m, clockid_t c, const struct timespec *t), (m, c, t), NULL)          \
    X(int, pthread_mutex_consistent, (pthread_mutex_t * m), (m), NULL)                        \
    X(int, pthread_mutexattr_gettype, (const pthread_mutexattr_t *a, int *v), (a, v), NULL)   \
    X(int, pthread_mutexattr_getpshared, (const pthread_mutexattr_t *a, int *v), (a, v), NULL) \
    X(int, pthread_mutexattr_getrobust, (const pthread_mutexattr_t *a, int *v), (a, v), NULL) \
    X(int, pthread_cond_init, (pthread_cond_t * c, const pthread_condattr_t *a), (c, a),      \
      "GLIBC_2.3.2")                                                                          \
    X(int, pthread_cond_destroy, (pthread_cond_t * c), (c), "GLIBC_2.3.2")                    \
    X(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m), (c, m), "GLIBC_2.3.2") \
    X(int, pthread_cond_timedwait,                                                            \
      (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec *t), (c, m, t),          \
      "GLIBC_2.3.2")                                                                          \
    X(int, pthread_cond_clockwait,                                                            \
      (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const struct timespec *t),       \
      (c, m, k, t), NULL)                                                                     \
    X(int, pthread_cond_signal, (pthread_cond_t * c), (c), "GLIBC_2.3.2")                     \
    X(int, pthread_cond_broadcast, (pthread_cond_t * c), (c), "GLIBC_2.3.2")                  \
    X(int, pthread_condattr_getpshared, (const pthread_condattr_t *a, int *v), (a, v), NULL)  \
    X(int, pthread_condattr_getclock, (const pthread_condattr_t *a, clockid_t *v), (a, v),    \
      NULL)                                                                                   \
    X(int, sem_init, (sem_t * s, int pshared, unsigned int v), (s, pshared, v), NULL)        \
    X(int, sem_destroy, (sem_t * s), (s), NULL)                                               \
    X(int, sem_trywait, (sem_t * s), (s), NULL)                                               \
    X(int, sem_wait, (sem_t * s), (s), NULL)                                                  \
    X(int, sem_timedwait, (sem_t * s, const struct timespec *t), (s, t), NULL)                \
    X(int, sem_clockwait, (sem_t * s, clockid_t c, const struct timespec *t), (s, c, t), NULL) \
    X(int, sem_post, (sem_t * s), (s), NULL)                                                  \
    X(int, sem_getvalue, (sem_t * s, int *v), (s, v), NULL)                                   \
    X(int, pthread_rwlock_init, (pthread_rwlock_t * l, const pthread_rwlockattr_t *a), (l, a), \
      NULL)                                                                                   \
    X(int, pthread_rwlock_destroy, (pthread_rwlock_t * l), (l), NULL)                         \
    X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), NULL)                       \
    X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), NULL)                       \
    X(int, pthread_rwlock_unlock, (pthread_rwlock_t * l), (l), NULL)                          \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), NULL)                          \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), NULL)                          \
    X(int, pthread_rwlock_clockrdlock,                                                        \
      (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t), NULL)         \
    X(int, pthread_rwlock_clockwrlock,                                                        \
      (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t), NULL)         \
    X(int, pthread_rwlockattr_getpshared, (const pthread_rwlockattr_t *a, int *v), (a, v),    \
      NULL)                                                                                   \
    X(int, pthread_rwlockattr_getkind_np, (const pthread_rwlockattr_t *a, int *v), (a, v),    \
      NULL)                                                                                   \
    X(int, pthread_barrier_init,                                                              \
      (pthread_barrier_t * b, const pthread_barrierattr_t *a, unsigned int n), (b, a, n), NULL) \
    X(int, pthread_barrier_destroy, (pthread_barrier_t * b), (b), NULL)                       \
    X(int, pthread_barrier_wait, (pthread_barrier_t * b), (b), NULL)                          \
    X(int, pthread_barrierattr_getpshared, (const pthread_barrierattr_t *a, int *v), (a, v),  \
      NULL)

#define REAL_THREAD_FUNCS(X)                                                                  \
    X(int, pthread_tryjoin_np, (pthread_t t, void **r), (t, r), NULL)                         \
    X(int, pthread_timedjoin_np, (pthread_t t, void **r, const struct timespec *a), (t, r, a), \
      NULL)                                                                                   \
    X(int, pthread_clockjoin_np,                                                              \
      (pthread_t t, void **r, clockid_t c, const struct timespec *a), (t, r, c, a), NULL)     \
    X(int, sched_yield, (void), (), NULL)                                                     \
    X(int, pthread_once, (pthread_once_t * o, void (*fn)(void)), (o, fn), NULL)               \
    X(int, pthread_key_create, (pthread_key_t * k, void (*d)(void *)), (k, d), NULL)          \
    X(void *, pthread_getspecific, (pthread_key_t k), (k), NULL)                              \
    X(int, pthread_setspecific, (pthread_key_t k, const void *v), (k, v), NULL)               \
    X(int, pthread_setname_np, (pthread_t t, const char *n), (t, n), NULL)                    \
    X(int, pthread_getname_np, (pthread_t t, char *n, size_t len), (t, n, len), NULL)         \
    X(int, pthread_getattr_np, (pthread_t t, pthread_attr_t * a), (t, a), "GLIBC_2.32")       \
    X(int, pthread_attr_setstack, (pthread_attr_t * a, void *p, size_t s), (a, p, s), NULL)   \
    X(int, pthread_attr_setguardsize, (pthread_attr_t * a, size_t s), (a, s), NULL)           \
    X(int, pthread_attr_setdetachstate, (pthread_attr_t * a, int d), (a, d), NULL)            \
    X(int, pthread_cancel, (pthread_t t), (t), NULL)                                          \
    X(int, pthread_setcancelstate, (int s, int *old), (s, old), NULL)                         \
    X(int, pthread_setcanceltype, (int s, int *old), (s, old), NULL)                          \
    X(int, thrd_create, (thrd_t * t, thrd_start_t fn, void *arg), (t, fn, arg), NULL)         \
    X(int, thrd_join, (thrd_t t, int *r), (t, r), NULL)                                       \
    X(int, thrd_detach, (thrd_t t), (t), NULL)                                                \
    X(int, thrd_sleep, (const struct timespec *d, struct timespec *rem), (d, rem), NULL)      \
    X(int, mtx_init, (mtx_t * m, int type), (m, type), NULL)

#define REAL_THR_FUNCS(X) REAL_MUTEX_FUNCS(X) REAL_THREAD_FUNCS(X)

#define REAL_DECLARE_THR(ret, name, params, args, version) extern ret(*real_##name) params;
REAL_THR_FUNCS(REAL_DECLARE_THR)
#undef REAL_DECLARE_THR

/* Returning nothing, or never: resolved by hand in real.c. */
#define REAL_THR_VOID_FUNCS(X)                                      \
    X(pthread_testcancel, (void), ())                               \
    X(__pthread_register_cancel, (void *buf), (buf))                \
    X(__pthread_unregister_cancel, (void *buf), (buf))
#define REAL_DECLARE_THR_VOID(name, params, args) extern void(*real_##name) params;
REAL_THR_VOID_FUNCS(REAL_DECLARE_THR_VOID)
#undef REAL_DECLARE_THR_VOID
extern void (*real___pthread_unwind_next)(void *buf) __attribute__((noreturn));
extern void (*real_thrd_exit)(int r) __attribute__((noreturn));

#endif
