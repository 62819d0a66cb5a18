/* poll.c: poll, select and epoll_wait of the program as green waits.
 *
 * The kernel stays the judge of readiness: each round asks it with a
 * zero timeout (so revents, counts and the sets are exactly its own);
 * only when nothing is ready does the green thread wait in the core on
 * the fds concerned (for epoll, the epoll fd itself, which is pollable)
 * until one may be ready or the deadline passes, and ask again.
 *
 * A signal mask (ppoll, pselect, epoll_pwait) is applied by the kernel
 * during each zero-timeout call only: while the green thread waits, the
 * other green threads run, and they must not run under it. */
#include "fd.h"
#include "pthr.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct timespec zero_ts;

/* One poll, select or epoll_wait of the program: its arguments, and
 * the fds the core waits on between two rounds. */
struct pw {
    int (*check)(struct pw *p); /* the real call, zero timeout */
    int (*build)(struct pw *p); /* fill fds once the first check passed */
    void (*drop)(struct pw *p); /* let go of what the call holds, or NULL */
    struct green_pollfd *fds, local[8];
    size_t n;
    const sigset_t *mask;
    union {
        struct {
            struct pollfd *fds;
            nfds_t n;
        } poll;
        struct {
            int nfds;
            fd_set *set[3];         /* the program's read, write, except sets */
            unsigned long *copy[3]; /* in own, or allocated beyond FD_SETSIZE */
            fd_set own[3];
        } select;
        struct {
            int ep; /* the epoll fd, or dup once made */
            struct epoll_event *ev;
            int max;
            bool has_dup; /* waits on dup, a copy of the epoll fd */
            int dup;
        } epoll;
    };
};

static int add(struct pw *p, size_t cap, int fd, int events)
{
    if (!p->fds) {
        p->fds = cap <= 8 ? p->local : malloc(cap * sizeof *p->fds);
        if (!p->fds)
            return -ENOMEM;
    }
    p->fds[p->n++] = (struct green_pollfd){.fd = fd, .events = events};
    return 0;
}

static void pw_free(struct pw *p)
{
    if (p->fds != p->local)
        free(p->fds);
    if (p->drop)
        p->drop(p);
}

/* A cancellation ends the thread: let go of the arrays first. */
static void release(void *arg)
{
    pw_free(arg);
}

/* Ask the kernel until something is ready or deadline passes, waiting
 * green in between. Returns its count, 0 at the deadline, or -errno. */
GREEN_YIELDS static int pw_run(struct pw *p, int64_t deadline)
{
    int r;
    unsigned long since = green_call_seq();
    for (;;) {
        if ((r = p->check(p)) != 0 || (deadline != GREEN_NEVER && green_now() >= deadline))
            break;
        if (!p->fds && (r = p->build(p)) < 0)
            break;
        struct green_wait w = {.call = GREEN_CALL_POLL,
                               .on = GREEN_ON_FDS,
                               .fds = p->fds,
                               .n = p->n,
                               .deadline = deadline,
                               .since = since,
                               .release = release,
                               .arg = p};
        if ((r = green_wait(&w)) < 0)
            break;
    }
    pw_free(p);
    return r;
}

/* ---- poll ------------------------------------------------------------- */

static int poll_check(struct pw *p)
{
    return (int)preload_neg_errno(real_ppoll(p->poll.fds, p->poll.n, &zero_ts, p->mask));
}

/* Input wanted waits for readable, output for writable; an entry that
 * asks for neither still hears of errors and hang-ups as readable. */
static int poll_build(struct pw *p)
{
    struct pollfd *f = p->poll.fds;
    size_t n = (size_t)p->poll.n;
    p->n = 0;
    for (size_t i = 0; i < n; i++) {
        int ev = (f[i].events & (POLLOUT | POLLWRNORM | POLLWRBAND)) ? GREEN_OUT : 0;
        if ((f[i].events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND)) || !ev)
            ev |= GREEN_IN;
        if (add(p, n, f[i].fd, ev) < 0)
            return -ENOMEM;
    }
    if (!p->fds)
        p->fds = p->local; /* no fd: just sleep */
    return 0;
}

GREEN_YIELDS static int do_ppoll(struct pollfd *f, nfds_t n, int64_t deadline, const sigset_t *mask)
{
    struct pw p = {.check = poll_check, .build = poll_build, .poll = {f, n}, .mask = mask};
    return pw_run(&p, deadline);
}

/* Passes through off green threads, when nobody else could run, with a
 * zero timeout, and for more fds than any limit allows; otherwise waits
 * green until the kernel reports something or the timeout passes. */
PRELOAD_EXPORT int poll(struct pollfd *f, nfds_t n, int ms)
{
    green_yield_point();
    if (ms == 0 || n > INT_MAX || !preload_should_wait())
        return real_poll(f, n, ms);
    int64_t deadline = preload_ms_deadline(ms);
    return (int)preload_ret(do_ppoll(f, n, deadline, NULL));
}

/* The fortified poll: the count is checked against the array first. */
PRELOAD_EXPORT int __poll_chk(struct pollfd *f, nfds_t n, int ms, size_t flen)
{
    if (flen / sizeof *f < n)
        __chk_fail();
    return poll(f, n, ms);
}

/* As poll, with a timespec and a signal mask (applied while the kernel
 * is asked). A timeout libgreen cannot read or that is invalid goes to
 * the C library as it is, for its error. */
PRELOAD_EXPORT int ppoll(struct pollfd *f, nfds_t n, const struct timespec *ts,
                         const sigset_t *mask)
{
    green_yield_point();
    struct timespec t;
    if (n > INT_MAX || !preload_should_wait() ||
        (ts && (fd_copyin(&t, ts, sizeof t) < 0 || !preload_ts_valid(&t) ||
                (t.tv_sec == 0 && t.tv_nsec == 0))))
        return real_ppoll(f, n, ts, mask);
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(&t)) : GREEN_NEVER;
    return (int)preload_ret(do_ppoll(f, n, deadline, mask));
}

/* The fortified ppoll. */
PRELOAD_EXPORT int __ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *ts,
                               const sigset_t *mask, size_t flen)
{
    if (flen / sizeof *f < n)
        __chk_fail();
    return ppoll(f, n, ts, mask);
}

/* ---- select ------------------------------------------------------------- */

/* The bytes of a set the kernel reads for nfds: whole longs. */
static size_t set_bytes(int nfds)
{
    return ((size_t)nfds + 63) / 64 * 8;
}

/* Ask with the program's sets, restored from the copies after the first
 * round (the kernel clears them when nothing is ready). */
static int select_check(struct pw *p)
{
    fd_set **set = p->select.set;
    for (int i = 0; i < 3 && p->fds; i++)
        if (set[i])
            memcpy(set[i], p->select.copy[i], set_bytes(p->select.nfds));
    int r = real_pselect(p->select.nfds, set[0], set[1], set[2], &zero_ts, p->mask);
    return (int)preload_neg_errno(r);
}

static int select_build(struct pw *p)
{
    static const int ev[3] = {GREEN_IN, GREEN_OUT, GREEN_IN};
    int nfds = p->select.nfds;
    for (int fd = 0; fd < nfds; fd++) {
        int e = 0;
        for (int i = 0; i < 3; i++)
            if (p->select.set[i] && (p->select.copy[i][fd / 64] >> (fd % 64) & 1))
                e |= ev[i];
        if (e && add(p, (size_t)nfds, fd, e) < 0)
            return -ENOMEM;
    }
    if (!p->fds)
        p->fds = p->local; /* no fd: just sleep */
    return 0;
}

static void select_drop(struct pw *p)
{
    if (p->select.copy[0] && p->select.copy[0] != (unsigned long *)p->select.own)
        free(p->select.copy[0]);
}

/* The sets copied before the first round (beyond FD_SETSIZE, which the
 * kernel allows up to the fd limit, into memory of their own), or
 * -EFAULT, -ENOMEM. */
GREEN_YIELDS static int do_select(int n, fd_set **sets, int64_t deadline, const sigset_t *mask)
{
    struct rlimit rl;
    if (n > FD_SETSIZE && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n)
        n = rl.rlim_cur > FD_SETSIZE ? (int)rl.rlim_cur : FD_SETSIZE; /* the kernel's clamp */
    struct pw p = {.check = select_check,
                   .build = select_build,
                   .drop = select_drop,
                   .select.nfds = n,
                   .mask = mask};
    size_t bytes = set_bytes(n);
    unsigned long *mem = (unsigned long *)p.select.own;
    if (n > FD_SETSIZE && !(mem = malloc(3 * bytes)))
        return -ENOMEM;
    for (int i = 0; i < 3; i++) {
        unsigned long *copy =
            (unsigned long *)((char *)mem + i * (n > FD_SETSIZE ? bytes : sizeof(fd_set)));
        p.select.set[i] = sets[i];
        p.select.copy[i] = copy;
        if (sets[i] && fd_copyin(copy, sets[i], bytes) < 0) {
            pw_free(&p);
            return -EFAULT;
        }
    }
    return pw_run(&p, deadline);
}

/* Passes through off green threads, when nobody else could run, with a
 * zero timeout, for nfds below 0, and for sets or a timeout libgreen
 * cannot read (all as natively); otherwise waits green, nfds beyond
 * FD_SETSIZE included (the kernel takes up to the fd limit).
 * The timeout is updated with the time left, as Linux does. */
PRELOAD_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    green_yield_point();
    struct timeval t;
    if (n < 0 || !preload_should_wait() ||
        (tv && (fd_copyin(&t, tv, sizeof t) < 0 || !preload_tv_valid(&t) ||
                (t.tv_sec == 0 && t.tv_usec == 0))))
        return real_select(n, r, w, e, tv);
    int64_t deadline = tv ? preload_deadline_after(preload_tv_ns(&t)) : GREEN_NEVER;
    int res = do_select(n, (fd_set *[]){r, w, e}, deadline, NULL);
    if (res == -EFAULT || res == -ENOMEM)
        return real_select(n, r, w, e, tv);
    if (tv && res >= 0) {
        int64_t left = deadline == GREEN_NEVER ? 0 : deadline - green_now();
        left = left > 0 ? left : 0;
        *tv = (struct timeval){.tv_sec = left / NS_PER_S, .tv_usec = left % NS_PER_S / 1000};
    }
    return (int)preload_ret(res);
}

/* As select, with a timespec left unchanged and a signal mask (applied
 * while the kernel is asked). */
PRELOAD_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
                           const sigset_t *mask)
{
    green_yield_point();
    struct timespec t;
    if (n < 0 || !preload_should_wait() ||
        (ts && (fd_copyin(&t, ts, sizeof t) < 0 || !preload_ts_valid(&t) ||
                (t.tv_sec == 0 && t.tv_nsec == 0))))
        return real_pselect(n, r, w, e, ts, mask);
    int64_t deadline = ts ? preload_deadline_after(preload_ts_ns(&t)) : GREEN_NEVER;
    int res = do_select(n, (fd_set *[]){r, w, e}, deadline, mask);
    if (res == -EFAULT || res == -ENOMEM)
        return real_pselect(n, r, w, e, ts, mask);
    return (int)preload_ret(res);
}

/* ---- epoll -------------------------------------------------------------- */

static int epoll_check(struct pw *p)
{
    int r = real_epoll_pwait(p->epoll.ep, p->epoll.ev, p->epoll.max, 0, p->mask);
    return (int)preload_neg_errno(r);
}

/* The epoll fd is readable while any of its fds is ready. The call
 * waits on a copy of it: natively a waiting epoll_wait holds the epoll
 * instance, and another thread closing the fd does not end the wait. */
static int epoll_build(struct pw *p)
{
    int d = real_fcntl(p->epoll.ep, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) {
        green_fd_close(d);
        p->epoll.dup = p->epoll.ep = d;
        p->epoll.has_dup = true;
    }
    return add(p, 1, p->epoll.ep, GREEN_IN);
}

static void epoll_drop(struct pw *p)
{
    if (p->epoll.has_dup) {
        green_fd_close(p->epoll.dup);
        real_close(p->epoll.dup);
    }
}

GREEN_YIELDS static int do_epoll(int ep, struct epoll_event *ev, int max, int64_t deadline,
                                 const sigset_t *mask)
{
    struct pw p = {.check = epoll_check,
                   .build = epoll_build,
                   .drop = epoll_drop,
                   .epoll = {.ep = ep, .ev = ev, .max = max},
                   .mask = mask};
    return (int)preload_ret(pw_run(&p, deadline));
}

/* Passes through off green threads, when nobody else could run and with
 * a zero timeout; otherwise waits green on the epoll fd until the kernel
 * reports events or the timeout passes. */
PRELOAD_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int ms)
{
    green_yield_point();
    if (ms == 0 || !preload_should_wait())
        return real_epoll_wait(ep, ev, max, ms);
    return do_epoll(ep, ev, max, preload_ms_deadline(ms), NULL);
}

/* As epoll_wait, with a signal mask (applied while the kernel is asked). */
PRELOAD_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int ms,
                               const sigset_t *mask)
{
    green_yield_point();
    if (ms == 0 || !preload_should_wait())
        return real_epoll_pwait(ep, ev, max, ms, mask);
    return do_epoll(ep, ev, max, preload_ms_deadline(ms), mask);
}

/* As epoll_pwait, with a timespec (one libgreen cannot read, or invalid,
 * goes to the C library as it is). */
PRELOAD_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *ts,
                                const sigset_t *mask)
{
    green_yield_point();
    struct timespec t;
    if (!preload_should_wait() ||
        (ts && (fd_copyin(&t, ts, sizeof t) < 0 || !preload_ts_valid(&t) ||
                (t.tv_sec == 0 && t.tv_nsec == 0))))
        return real_epoll_pwait2(ep, ev, max, ts, mask);
    return do_epoll(ep, ev, max, ts ? preload_deadline_after(preload_ts_ns(&t)) : GREEN_NEVER,
                    mask);
}
