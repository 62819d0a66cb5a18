/* threads_cancel: deferred cancellation of threads waiting on a
 * condition variable (the mutex is relocked for the cleanup handler) and
 * on a semaphore, cancellation held back while disabled, and
 * pthread_testcancel acting on it afterwards. */
#include <pthread.h>
#include <stdio.h>
#include <semaphore.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t s;
static void unlock(void *a){ printf("cleanup %s\n", (char*)a); pthread_mutex_unlock(&m); }
static void note(void *a){ printf("cleanup %s\n", (char*)a); }
static void *waiter(void *a){ (void)a; pthread_mutex_lock(&m); pthread_cleanup_push(unlock, "cond"); for(;;) pthread_cond_wait(&c,&m); pthread_cleanup_pop(1); return 0; }
static void *semw(void *a){ (void)a; pthread_cleanup_push(note, "sem"); sem_wait(&s); pthread_cleanup_pop(0); return 0; }
static void *disabled(void *a){ (void)a; int o; pthread_setcancelstate(PTHREAD_CANCEL_DISABLE,&o); sem_wait(&s); pthread_setcancelstate(o,&o); pthread_testcancel(); return (void*)5; }
int main(void){ pthread_t t; void *v; sem_init(&s,0,0);
 pthread_create(&t,0,waiter,0); pthread_cancel(t); pthread_join(t,&v); printf("cond: canceled %d\n", v==PTHREAD_CANCELED);
 printf("mutex free after: %d\n", pthread_mutex_trylock(&m)); pthread_mutex_unlock(&m);
 pthread_create(&t,0,semw,0); pthread_cancel(t); pthread_join(t,&v); printf("sem: canceled %d\n", v==PTHREAD_CANCELED);
 pthread_create(&t,0,disabled,0); pthread_cancel(t); sem_post(&s); pthread_join(t,&v); printf("disabled then testcancel: canceled %d\n", v==PTHREAD_CANCELED);
}
