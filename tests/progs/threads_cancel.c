/* threads_cancel: deferred cancellation of threads waiting on a
 * condition variable (the mutex is relocked for the cleanup handler) and
 * on a semaphore, cancellation held back while disabled, and
 * pthread_testcancel acting on it afterwards; threads blocked in read()
 * on a pipe, in sleep() and in poll(), cancelled once blocked and before
 * they ever ran, run their cleanup handlers. */
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t s;
static void unlock(void *a)
{
    printf("cleanup %s\n", (char *)a);
    pthread_mutex_unlock(&m);
}
static void note(void *a)
{
    printf("cleanup %s\n", (char *)a);
}
static void *waiter(void *a)
{
    (void)a;
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock, "cond");
    for (;;)
        pthread_cond_wait(&c, &m);
    pthread_cleanup_pop(1);
    return 0;
}
static void *semw(void *a)
{
    (void)a;
    pthread_cleanup_push(note, "sem");
    sem_wait(&s);
    pthread_cleanup_pop(0);
    return 0;
}
static void *disabled(void *a)
{
    (void)a;
    int o;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &o);
    sem_wait(&s);
    pthread_setcancelstate(o, &o);
    pthread_testcancel();
    return (void *)5;
}
static int pfd[2];
static void *reader(void *a)
{
    char b;
    pthread_cleanup_push(note, a);
    read(pfd[0], &b, 1);
    pthread_cleanup_pop(0);
    return 0;
}
static void *sleeper(void *a)
{
    pthread_cleanup_push(note, a);
    sleep(100);
    pthread_cleanup_pop(0);
    return 0;
}
static void *poller(void *a)
{
    struct pollfd p = {pfd[0], POLLIN, 0};
    pthread_cleanup_push(note, a);
    poll(&p, 1, -1);
    pthread_cleanup_pop(0);
    return 0;
}
static void cancel_in(void *(*f)(void *), char *what, int settle)
{
    pthread_t t;
    void *v;
    pthread_create(&t, 0, f, what);
    if (settle)
        usleep(20000);
    pthread_cancel(t);
    pthread_join(t, &v);
    printf("%s: canceled %d\n", what, v == PTHREAD_CANCELED);
}
int main(void)
{
    pthread_t t;
    void *v;
    sem_init(&s, 0, 0);
    pthread_create(&t, 0, waiter, 0);
    pthread_cancel(t);
    pthread_join(t, &v);
    printf("cond: canceled %d\n", v == PTHREAD_CANCELED);
    printf("mutex free after: %d\n", pthread_mutex_trylock(&m));
    pthread_mutex_unlock(&m);
    pthread_create(&t, 0, semw, 0);
    pthread_cancel(t);
    pthread_join(t, &v);
    printf("sem: canceled %d\n", v == PTHREAD_CANCELED);
    pthread_create(&t, 0, disabled, 0);
    pthread_cancel(t);
    sem_post(&s);
    pthread_join(t, &v);
    printf("disabled then testcancel: canceled %d\n", v == PTHREAD_CANCELED);
    if (pipe(pfd))
        return 1;
    for (int settle = 1; settle >= 0; settle--) {
        cancel_in(reader, settle ? "read blocked" : "read at entry", settle);
        cancel_in(sleeper, settle ? "sleep blocked" : "sleep at entry", settle);
        cancel_in(poller, settle ? "poll blocked" : "poll at entry", settle);
    }
}
