/* spawn_cost: what starting a child costs, with a second thread alive.
 *
 *   spawn_cost [ITERATIONS=300]
 *
 * A plain pthread program (no libgreen header): scripts/bench-spawn runs
 * it natively and under LD_PRELOAD=libgreen.so. A second thread stays
 * parked on a condition variable throughout, as in a threaded program
 * (under libgreen that also arms the system call net). Prints, as
 * "name value unit" lines, for each kind of child (waited for with
 * waitpid) the median wall time of one (NAME_us, robust to the other
 * load of a shared machine) and the CPU time per child of this process
 * and its children (NAME_cpu_us), in microseconds:
 *   vfork_fail_us   vfork, an execve that fails (ENOENT), _exit(127);
 *   vfork_true_us   vfork, execve of /bin/true;
 *   spawn_fail_us   posix_spawn of a missing program (fails with ENOENT;
 *                   glibc's child reports the error, nothing to wait);
 *   spawn_true_us   posix_spawn of /bin/true. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MISSING "/nonexistent/spawn_cost"

extern char **environ;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *parked(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void reap(pid_t pid, int want)
{
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != want)
        die("waitpid");
}

static void vfork_run(const char *path, int want)
{
    char *argv[] = {(char *)path, NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve(path, argv, environ);
        _exit(127);
    }
    if (pid < 0)
        die("vfork");
    reap(pid, want);
}

static void vfork_fail(void)
{
    vfork_run(MISSING, 127);
}

static void vfork_true(void)
{
    vfork_run("/bin/true", 0);
}

static void spawn_fail(void)
{
    char *argv[] = {MISSING, NULL};
    pid_t pid;
    if (posix_spawn(&pid, MISSING, NULL, NULL, argv, environ) != ENOENT)
        die("posix_spawn of a missing program");
}

static void spawn_true(void)
{
    char *argv[] = {"/bin/true", NULL};
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (e) {
        errno = e;
        die("posix_spawn");
    }
    reap(pid, 0);
}

static double cpu_us(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                    kids.ru_stime.tv_sec) *
               1e6 +
           (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                    kids.ru_stime.tv_usec);
}

/* n calls: prints the median wall time of one and the CPU time per call
 * (this process and its children), in microseconds. */
static void measure(const char *name, void (*fn)(void), long n)
{
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        die("malloc");
    double c0 = cpu_us();
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now();
        fn();
        v[i] = (double)(bench_now() - t0) / 1e3;
    }
    double cpu = (cpu_us() - c0) / (double)n;
    printf("%s_us %.1f us\n", name, bench_median(v, (int)n));
    printf("%s_cpu_us %.1f us\n", name, cpu);
    free(v);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 300;
    pthread_t t;
    if (n <= 0)
        n = 300;
    if (pthread_create(&t, NULL, parked, NULL))
        die("pthread_create");
    measure("vfork_fail", vfork_fail, n);
    measure("vfork_true", vfork_true, n);
    measure("spawn_fail", spawn_fail, n);
    measure("spawn_true", spawn_true, n);
    pthread_mutex_lock(&mu);
    done = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    return 0;
}
