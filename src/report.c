/* report.c: what libgreen says on stderr: dumps and the deadlock report.
 * Written with the raw write system call: the interposed write could
 * wait green, and these run in signal handlers and dying processes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        long w = syscall(SYS_write, fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void vsay(int fd, const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    write_all(fd, buf, (size_t)n);
}

void green__say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(2, fmt, ap);
    va_end(ap);
}

static void sayfd(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fd, fmt, ap);
    va_end(ap);
}

static const char *state_name(const green_thread *t)
{
    switch (t->state) {
    case T_READY:
        return "ready";
    case T_RUNNING:
        return "running";
    case T_BLOCKED:
        return "blocked";
    default:
        return "exited";
    }
}

/* "mutex 0x... held by thread 3", "fd 7 read", ... */
void green__describe_wait(const green_thread *t, char *buf, size_t len)
{
    const green_mutex *m = t->wait_obj;
    switch (t->wait_kind) {
    case W_SLEEP:
        snprintf(buf, len, t->wait_deadline != GREEN_NEVER ? "sleep" : "sleep without end");
        break;
    case W_FD:
        snprintf(buf, len, "fd %d%s%s", t->wait_fd, t->wait_obj == (void *)1 ? " read" : "",
                 t->wait_obj == (void *)2   ? " write"
                 : t->wait_obj == (void *)3 ? " read/write"
                                            : "");
        break;
    case W_POLL:
        snprintf(buf, len, "poll of %d fds", t->wait_fd);
        break;
    case W_MUTEX:
        if (m->owner == (green_thread *)1)
            snprintf(buf, len, "mutex %p held by another OS thread", (void *)m);
        else if (m->owner)
            snprintf(buf, len, "mutex %p held by thread %lu", (void *)m, m->owner->id);
        else
            snprintf(buf, len, "mutex %p", (void *)m);
        break;
    case W_COND:
        snprintf(buf, len, "condition %p", t->wait_obj);
        break;
    case W_SEM:
        snprintf(buf, len, "semaphore %p", t->wait_obj);
        break;
    case W_RWLOCK_RD:
        snprintf(buf, len, "rwlock %p (read)", t->wait_obj);
        break;
    case W_RWLOCK_WR:
        snprintf(buf, len, "rwlock %p (write)", t->wait_obj);
        break;
    case W_BARRIER:
        snprintf(buf, len, "barrier %p", t->wait_obj);
        break;
    case W_ONCE:
        snprintf(buf, len, "once %p", t->wait_obj);
        break;
    case W_OFFLOAD:
        snprintf(buf, len, "a call on a helper thread");
        break;
    case W_SIGNAL:
        snprintf(buf, len, "a signal");
        break;
    case W_FUTEX:
        snprintf(buf, len, "futex %p", t->wait_obj);
        break;
    case W_JOIN:
        snprintf(buf, len, "join of thread %lu", ((const green_thread *)t->wait_obj)->id);
        break;
    default:
        snprintf(buf, len, "nothing");
        break;
    }
    if (t->state == T_BLOCKED && t->wait_deadline != GREEN_NEVER) {
        size_t n = strlen(buf);
        int64_t left = t->wait_deadline - green_now();
        snprintf(buf + n, len - n, ", %.3f s left", left > 0 ? (double)left / 1e9 : 0.);
    }
}

void green_dump(int fd)
{
    ev_tstamp now = ev_now(green__s.loop);
    green_thread *oldest = green__s.all;
    while (oldest && oldest->all_next)
        oldest = oldest->all_next;
    for (green_thread *t = oldest; t; t = t->all_prev) {
        char what[192] = "", where[256] = "", name[24] = "";
        if (t->state == T_BLOCKED)
            green__describe_wait(t, what, sizeof what);
        green__describe_where(t, where, sizeof where);
        if (t->name[0])
            snprintf(name, sizeof name, " \"%s\"", t->name);
        if (t->state == T_BLOCKED)
            sayfd(fd, "libgreen:   thread %lu%s: blocked for %.3f s on %s%s%s", t->id, name,
                  now - t->wait_since, what, where[0] ? ", " : "", where);
        else
            sayfd(fd, "libgreen:   thread %lu%s: %s%s%s", t->id, name, state_name(t),
                  where[0] ? ", " : "", where);
    }
}

void green__deadlock(void)
{
    green__say("libgreen: deadlock: %lu green threads wait and nothing outside can wake them:",
               green__s.live);
    green_dump(2);
    if (green__s.cfg.deadlock == GREEN_DEADLOCK_HANG) {
        green__say("libgreen: hanging as GREEN_DEADLOCK=hang asks");
        for (;;)
            syscall(SYS_pause);
    }
    green__say("libgreen: aborting (GREEN_DEADLOCK=hang waits instead)");
    abort();
}
