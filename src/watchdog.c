/* watchdog.c: report a green thread that keeps the OS thread to itself.
 *
 * A green thread that spins where it cannot be preempted (inside libc,
 * with GREEN_SLICE=0, in a real blocking call libgreen does not see)
 * stops all the others. Preemptions count as progress. A
 * helper OS thread of ours samples the switch counter; when it has not
 * moved for the limit while the scheduler is out of its loop, it sends
 * the scheduler's OS thread a signal whose handler notes where it runs,
 * and reports that once per stall.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

static unsigned limit_ms;
static pid_t sched_tid;
static _Atomic(void *) sampled_pc;
static _Atomic int sampled;

static void note_pc(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    atomic_store(&sampled_pc, (void *)uc->uc_mcontext.gregs[REG_RIP]);
    atomic_store(&sampled, 1);
}

static void nap(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (green__libc.nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Where the scheduler's thread runs now (NULL when it does not answer). */
static void *sample(void)
{
    atomic_store(&sampled, 0);
    if (syscall(SYS_tgkill, getpid(), sched_tid, GREEN_WATCHDOG_SIGNAL) < 0)
        return NULL;
    for (int i = 0; i < 100 && !atomic_load(&sampled); i++)
        nap(1);
    return atomic_load(&sampled) ? atomic_load(&sampled_pc) : NULL;
}

static void report(int64_t held_ns)
{
    green_thread *t = __atomic_load_n(&green__s.running, __ATOMIC_RELAXED);
    void *pc = sample();
    char where[192] = "", name[24] = "";
    if (pc)
        green__name_site(pc, where, sizeof where);
    if (t && t->name[0])
        snprintf(name, sizeof name, " \"%s\"", t->name);
    green__say("libgreen: watchdog: green thread %lu%s has held the OS thread for %.3f s "
               "(GREEN_WATCHDOG=%u)%s%s",
               t ? t->id : 0, name, (double)held_ns / 1e9, limit_ms, pc ? ", running in " : "",
               where);
}

static void *watch(void *arg)
{
    (void)arg;
    unsigned long long last = ~0ull;
    int64_t since = green_now();
    bool reported = false;
    for (;;) {
        nap(limit_ms / 4 ? limit_ms / 4 : 1);
        /* A preempted thread is not stuck, even when nobody else was ready. */
        unsigned long long sw = __atomic_load_n(&green__stats.switches, __ATOMIC_RELAXED) +
                                __atomic_load_n(&green__stats.preempted, __ATOMIC_RELAXED);
        int64_t now = green_now();
        if (__atomic_load_n(&green__s.in_loop, __ATOMIC_RELAXED) || sw != last) {
            last = sw;
            since = now;
            reported = false;
        } else if (!reported && now - since >= (int64_t)limit_ms * 1000000) {
            report(now - since);
            reported = true;
        }
    }
    return NULL;
}

int green__watchdog_start(unsigned ms)
{
    limit_ms = ms;
    sched_tid = (pid_t)syscall(SYS_gettid);
    struct sigaction sa = {.sa_sigaction = note_pc, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    int e = green__sigaction(GREEN_WATCHDOG_SIGNAL, &sa);
    if (e < 0)
        return e;
    /* A real OS thread: libc's pthread_create, not the interposer. */
    pthread_t id;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int r = green__libc.pthread_create(&id, &attr, watch, NULL);
    pthread_attr_destroy(&attr);
    if (r == 0)
        __atomic_fetch_add(&green__s.helpers, 1, __ATOMIC_RELAXED);
    return -r;
}
