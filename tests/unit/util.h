/* util.h: helpers shared by the unit tests of the core.
 *
 * Criterion runs every Test in a process of its own, so each test calls
 * GREEN_INIT() itself. Scenarios that must end their process (a crash, an
 * abort, the exit of the last green thread) run in a child made with
 * child_start(): its stderr is captured through a pipe and child_finish()
 * collects the text and the wait status.
 *
 * Inside green threads the tests use cr_expect (it records and goes on)
 * rather than cr_assert (it jumps off the green stack to end the test).
 */
#ifndef GREEN_TEST_UTIL_H
#define GREEN_TEST_UTIL_H

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "green.h"

/* Start the core in the test's process and insist that it worked. TLS
 * is shared: libcriterion's TLS would make AUTO switch the thread
 * pointer, a system call per switch where the kernel lacks FSGSBASE,
 * which the timing tests are not about (test_sched tests own TLS). */
#define GREEN_INIT()                                                             \
    cr_assert_eq(green_init(&(struct green_config){.tls = GREEN_TLS_SHARED}), 0, \
                 "green_init must succeed")

#define MS ((int64_t)1000000)
#define KIB ((size_t)1024)

/* An absolute deadline `ms` milliseconds from now. */
static inline int64_t in_ms(int64_t ms)
{
    return green_now() + ms * MS;
}

/* An ordered record of events, to show who ran when without sleeping. */
#define EVLOG_MAX 4096
struct evlog {
    int n;
    int ev[EVLOG_MAX];
};

static inline void evlog_add(struct evlog *l, int ev)
{
    if (l->n < EVLOG_MAX)
        l->ev[l->n++] = ev;
}

/* Index of the first occurrence of ev in l, or -1. */
static inline int evlog_find(const struct evlog *l, int ev)
{
    for (int i = 0; i < l->n; i++)
        if (l->ev[i] == ev)
            return i;
    return -1;
}

/* The log holds exactly the n events of want, in that order. */
static inline void evlog_expect(const struct evlog *l, const int *want, int n)
{
    cr_assert_eq(l->n, n, "%d events, want %d", l->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(l->ev[i], want[i], "event %d: got %d want %d", i, l->ev[i], want[i]);
}

/* Spawn with default attributes, asserting success. Only from main. */
static inline green_thread *spawn_ok(void *(*fn)(void *), void *arg)
{
    green_thread *t = NULL;
    int r = green_spawn(&t, fn, arg, NULL);
    cr_assert_eq(r, 0, "green_spawn: %d (%s)", r, strerror(-r));
    cr_assert_not_null(t, "green_spawn must set *out");
    return t;
}

/* Join, asserting success, and return the thread's value. */
static inline void *join_ok(green_thread *t)
{
    void *v = (void *)0xdead;
    int r = green_join(t, &v, GREEN_NEVER);
    cr_assert_eq(r, 0, "green_join: %d (%s)", r, strerror(-r));
    return v;
}

static inline void *trylock_result(void *m)
{
    int r = green_mutex_lock(m, 0);
    if (r == 0)
        green_mutex_unlock(m);
    return (void *)(intptr_t)r;
}

/* What another thread's trylock of m says right now. Only from main. */
static inline int trylock_elsewhere(green_mutex *m)
{
    return (int)(intptr_t)join_ok(spawn_ok(trylock_result, m));
}

/* ---- child processes -------------------------------------------------- */

#define CHILD_OUT_MAX (256 * 1024)
/* Exit status of a child whose scenario returned instead of ending the
 * process in the way the test expects. */
#define CHILD_FELL_THROUGH 99

struct child {
    pid_t pid;
    int errfd;  /* read end of the child's stderr */
    int status; /* from waitpid */
    size_t len;
    char out[CHILD_OUT_MAX + 1];
};

/* Fork a child that runs fn(arg) with stderr sent to a pipe; when fn
 * returns the child ends with _exit(CHILD_FELL_THROUGH). An alarm ends a
 * child that hangs, even when the test's own process has gone. */
static inline void child_start(struct child *c, void (*fn)(void *), void *arg)
{
    int p[2];
    cr_assert_eq(pipe(p), 0, "pipe: %s", strerror(errno));
    fflush(NULL);
    c->pid = fork();
    cr_assert_neq(c->pid, -1, "fork: %s", strerror(errno));
    if (c->pid == 0) {
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        close(p[1]);
        setvbuf(stderr, NULL, _IONBF, 0);
        alarm(60);
        fn(arg);
        _exit(CHILD_FELL_THROUGH);
    }
    close(p[1]);
    c->errfd = p[0];
    c->len = 0;
    c->out[0] = '\0';
}

/* Read the child's stderr until at least `until` appears or EOF; returns
 * whether it appeared. NULL reads to EOF. */
static inline int child_read(struct child *c, const char *until)
{
    for (;;) {
        if (until && strstr(c->out, until))
            return 1;
        if (c->len >= CHILD_OUT_MAX)
            return 0;
        ssize_t n = read(c->errfd, c->out + c->len, CHILD_OUT_MAX - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return until == NULL;
        c->len += (size_t)n;
        c->out[c->len] = '\0';
    }
}

/* Read the rest of the child's stderr and reap it. */
static inline void child_finish(struct child *c)
{
    child_read(c, NULL);
    close(c->errfd);
    while (waitpid(c->pid, &c->status, 0) < 0)
        cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
}

static inline void child_run(struct child *c, void (*fn)(void *), void *arg)
{
    child_start(c, fn, arg);
    child_finish(c);
}

/* Wait status in words, for failure messages. */
static inline const char *status_str(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited with %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}

/* In a child: fail loudly (the parent reads stderr and the exit code). */
#define CHILD_CHECK(cond)                                                           \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "CHILD CHECK FAILED: %s (line %d)\n", #cond, __LINE__); \
            _exit(CHILD_FELL_THROUGH + 1);                                          \
        }                                                                           \
    } while (0)

/* ---- text checks -------------------------------------------------------- */

/* Whether `n` occurs in s as a whole number: not preceded or followed by
 * a letter or digit (so the digits inside "0x7f12" do not count). */
static inline int has_number(const char *s, unsigned long n)
{
    char num[32];
    snprintf(num, sizeof num, "%lu", n);
    size_t k = strlen(num);
    for (const char *p = strstr(s, num); p; p = strstr(p + 1, num)) {
        int before = p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[k]) || p[k] == '_';
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* Copy into line the first line of text containing every string in
 * needles (NULL-terminated); returns whether there is one. */
static inline int find_line(const char *text, const char *const *needles, char *line,
                            size_t linelen)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= linelen)
            n = linelen - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        int all = 1;
        for (const char *const *q = needles; *q; q++)
            if (!strstr(line, *q))
                all = 0;
        if (all)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

#endif
