/* threads_shared.c: objects shared with another process, and a thread
 * that cannot be made for lack of memory.
 *
 *   threads_shared
 *
 * A named semaphore (sem_open), a process-shared semaphore and a
 * process-shared mutex in MAP_SHARED memory, each used by a forked
 * child and by the parent; then pthread_create under an address-space
 * limit too small for the stack asked for. The parent keeps a second
 * thread alive so that, under libgreen, its waits are green ones. Prints
 * what each call returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int idle_pipe[2];

/* Alive until main writes to idle_pipe: someone else to switch to. */
static void *idle(void *x)
{
    char c;
    if (read(idle_pipe[0], &c, 1) < 0)
        return x;
    return x;
}

static const char *err(int e)
{
    return e == 0           ? "0"
           : e == EAGAIN    ? "EAGAIN"
           : e == ETIMEDOUT ? "ETIMEDOUT"
           : e == EBUSY     ? "EBUSY"
                            : strerrorname_np(e);
}

static void reap(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    printf("  child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void named(void)
{
    char name[64];
    snprintf(name, sizeof name, "/libgreen-test-%d", (int)getpid());
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (s == SEM_FAILED)
        exit(3);
    int r = sem_trywait(s);
    printf("named: trywait on 0: %d %s\n", r, err(r ? errno : 0));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    r = sem_timedwait(s, &ts);
    printf("named: timedwait on 0: %d %s\n", r, err(r ? errno : 0));
    pid_t pid = fork();
    if (pid == 0) {
        sem_t *c = sem_open(name, 0);
        for (int i = 0; i < 3; i++)
            sem_post(c);
        _exit(0);
    }
    int got = 0;
    for (int i = 0; i < 3; i++)
        got += sem_wait(s) == 0;
    int v = -1;
    sem_getvalue(s, &v);
    printf("named: waited %d posts of the child, value now %d\n", got, v);
    reap(pid);
    sem_close(s);
    printf("named: unlink %d\n", sem_unlink(name));
}

struct shared {
    sem_t sem;
    pthread_mutex_t mutex;
    int value;
};

static void pshared(struct shared *sh)
{
    sem_init(&sh->sem, 1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->mutex, &a);
    int go[2];
    if (pipe(go) < 0)
        exit(3);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&sh->mutex);
        sh->value = 7;
        sem_post(&sh->sem); /* "I hold the mutex" */
        char c;
        if (read(go[0], &c, 1) != 1) /* until the parent has tried it */
            _exit(1);
        sh->value = 8;
        pthread_mutex_unlock(&sh->mutex);
        _exit(0);
    }
    int w = sem_wait(&sh->sem);
    printf("pshared sem: wait %d, value seen %d\n", w, sh->value);
    printf("pshared mutex: trylock while the child holds it: %s\n",
           err(pthread_mutex_trylock(&sh->mutex)));
    if (write(go[1], "g", 1) != 1)
        exit(3);
    int r = pthread_mutex_lock(&sh->mutex); /* waits for the child's unlock */
    printf("pshared mutex: lock %s, value %d\n", err(r), sh->value);
    pthread_mutex_unlock(&sh->mutex);
    reap(pid);
}

static void *nothing(void *x)
{
    return x;
}

/* In a child: a stack far above the address-space limit. */
static void no_memory(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {.rlim_cur = (rlim_t)512 << 20, .rlim_max = (rlim_t)512 << 20};
        setrlimit(RLIMIT_AS, &rl);
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, (size_t)1 << 30);
        pthread_t t;
        int r = pthread_create(&t, &a, nothing, NULL);
        printf("create with a 1 GiB stack under a 512 MiB limit: %s\n", err(r));
        fflush(stdout);
        _exit(0);
    }
    reap(pid);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t;
    if (pipe(idle_pipe) < 0 || pthread_create(&t, NULL, idle, NULL) != 0)
        return 3;
    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return 3;
    named();
    pshared(sh);
    no_memory();
    if (write(idle_pipe[1], "x", 1) != 1)
        return 3;
    pthread_join(t, NULL);
    return 0;
}
