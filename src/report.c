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
    case T_READY: return "ready";
    case T_RUNNING: return "running";
    case T_BLOCKED: return "blocked";
    default: return "exited";
    }
}

/* "mutex 0x... held by thread 3", "fd 7 read", ... */
static void describe_wait(const green_thread *t, char *buf, size_t len)
{
    const green_mutex *m = t->wait_obj;
    switch (t->wait_kind) {
    case W_SLEEP:
        snprintf(buf, len, ev_is_active(&t->timer) ? "sleep" : "sleep without end");
        break;
    case W_FD:
        snprintf(buf, len, "fd %d%s%s", t->wait_fd, t->wait_obj == (void *)1 ? " read" : "",
                 t->wait_obj == (void *)2 ? " write" : t->wait_obj == (void *)3 ? " read/write" : "");
        break;
    case W_POLL: snprintf(buf, len, "poll of %d fds", t->wait_fd); break;
    case W_MUTEX:
        if (m->owner)
            snprintf(buf, len, "mutex %p held by thread %lu", (void *)m, m->owner->id);
        else
            snprintf(buf, len, "mutex %p", (void *)m);
        break;
    case W_COND: snprintf(buf, len, "condition %p", t->wait_obj); break;
    case W_SEM: snprintf(buf, len, "semaphore %p", t->wait_obj); break;
    case W_JOIN:
        snprintf(buf, len, "join of thread %lu", ((const green_thread *)t->wait_obj)->id);
        break;
    default: snprintf(buf, len, "nothing"); break;
    }
    if (t->state == T_BLOCKED && ev_is_active(&t->timer)) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, ", %.3f s left",
                 ev_timer_remaining(green__s.loop, (ev_timer *)&t->timer));
    }
}

void green_dump(int fd)
{
    ev_tstamp now = ev_now(green__s.loop);
    green_thread *oldest = green__s.all;
    while (oldest && oldest->all_next)
        oldest = oldest->all_next;
    for (green_thread *t = oldest; t; t = t->all_prev) {
        char what[192] = "";
        if (t->state == T_BLOCKED)
            describe_wait(t, what, sizeof what);
        char name[24] = "";
        if (t->name[0])
            snprintf(name, sizeof name, " \"%s\"", t->name);
        if (t->state == T_BLOCKED)
            sayfd(fd, "libgreen:   thread %lu%s: blocked for %.3f s on %s", t->id, name,
                  now - t->wait_since, what);
        else
            sayfd(fd, "libgreen:   thread %lu%s: %s", t->id, name, state_name(t));
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
