/* run.c: fork/exec a test program with captured output and a timeout.
 *
 * The child leads a process group of its own so a timeout can kill it
 * together with anything it started. The parent waits in poll() on the
 * output pipes and a pidfd of the child: no sleeps, no SIGCHLD handler
 * (criterion owns the test process's signals). */
#include "run.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct buf {
    char *p;
    size_t len, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "run: out of memory\n");
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

const char *run_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "run: %s is not set (run the tests with make check)\n", name);
        abort();
    }
    return v;
}

const char *run_prog_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", run_env("GREEN_PROGS"), name);
    return path;
}

static size_t name_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* True when env entry e sets the variable named by kv (up to its '='). */
static int same_name(const char *e, const char *kv)
{
    size_t n = name_len(kv);
    return strncmp(e, kv, n) == 0 && e[n] == '=';
}

static int overridden(const char *e, const char *const extra[], size_t nextra)
{
    for (size_t i = 0; i < nextra; i++)
        if (same_name(e, extra[i]))
            return 1;
    return 0;
}

/* The child's environment: ours, minus LD_PRELOAD and overridden names,
 * plus LD_PRELOAD=$GREEN_LIB when preloading, plus extra_env. The
 * strings are shared with environ; only the array is allocated. */
static char **build_env(int preload, const char *const extra_env[], char **ld)
{
    size_t n = 0, nextra = 0;
    while (environ[n])
        n++;
    while (extra_env && extra_env[nextra])
        nextra++;
    char **env = calloc(n + nextra + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!same_name(environ[i], "LD_PRELOAD=") && !overridden(environ[i], extra_env, nextra))
            env[k++] = environ[i];
    *ld = NULL;
    if (preload && asprintf(ld, "LD_PRELOAD=%s", run_env("GREEN_LIB")) >= 0)
        env[k++] = *ld;
    for (size_t i = 0; i < nextra; i++)
        if (strchr(extra_env[i], '='))
            env[k++] = (char *)extra_env[i];
    env[k] = NULL;
    return env;
}

static void child(const char *path, const char *const argv[], char **env, int in, int out, int err)
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    execve(path, (char *const *)argv, env);
    dprintf(2, "run: cannot execute %s: %s\n", path, strerror(errno));
    _exit(127);
}

/* Read what is there from *fd into b; close it at EOF or error. */
static void drain(int *fd, struct buf *b)
{
    char tmp[8192];
    ssize_t n = read(*fd, tmp, sizeof tmp);
    if (n > 0) {
        buf_add(b, tmp, (size_t)n);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/* Feed the child's stdin without ever blocking on it. */
static void feed(int *fd, const char **in, size_t *left)
{
    ssize_t n = *left ? write(*fd, *in, *left) : 0;
    if (n > 0) {
        *in += n;
        *left -= (size_t)n;
    }
    if (*left == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

struct io {
    int out, err, in, pidfd;
    const char *data;
    size_t left;
    struct buf bo, be;
};

/* Poll until the child is reaped and its pipes are at EOF, or until the
 * deadline. Returns 1 on timeout. */
static int pump(struct io *io, pid_t pid, double deadline, int *status)
{
    int reaped = 0;
    while (!reaped || io->out >= 0 || io->err >= 0) {
        struct pollfd p[4] = {{io->out, POLLIN, 0},
                              {io->err, POLLIN, 0},
                              {io->in, POLLOUT, 0},
                              {reaped ? -1 : io->pidfd, POLLIN, 0}};
        double left = deadline - now_s();
        if (left <= 0)
            return 1;
        int r = poll(p, 4, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR)
            return 1;
        if (r <= 0)
            continue;
        if (p[0].revents)
            drain(&io->out, &io->bo);
        if (p[1].revents)
            drain(&io->err, &io->be);
        if (p[2].revents)
            feed(&io->in, &io->data, &io->left);
        if (p[3].revents && waitpid(pid, status, 0) == pid) {
            reaped = 1;
            /* Whatever the program left behind must not hold the pipes. */
            kill(-pid, SIGKILL);
        }
    }
    return 0;
}

static int fail(struct run_result *r, struct buf *be, const char *what)
{
    buf_printf(be, "run: %s: %s\n", what, strerror(errno));
    r->err = be->p;
    r->err_len = be->len;
    return -1;
}

int run_prog_in(struct run_result *r, int preload, const char *const argv[],
                const char *const extra_env[], int timeout_s, const char *in, size_t in_len)
{
    struct io io = {.out = -1, .err = -1, .in = -1, .pidfd = -1, .data = in, .left = in_len};
    memset(r, 0, sizeof *r);
    r->status = -1;
    const char *path = strchr(argv[0], '/') ? argv[0] : run_prog_path(argv[0]);
    char *ld = NULL;
    char **env = build_env(preload, extra_env, &ld);
    int po[2], pe[2], pi[2] = {-1, -1};
    if (!env || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
        return fail(r, &io.be, "setup");
    if (in ? pipe2(pi, O_CLOEXEC) : (pi[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return fail(r, &io.be, "stdin");
    signal(SIGPIPE, SIG_IGN);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0)
        child(path, argv, env, pi[0], po[1], pe[1]);
    free(env);
    free(ld);
    close(po[1]);
    close(pe[1]);
    close(pi[0]);
    if (pid < 0)
        return fail(r, &io.be, "fork");
    setpgid(pid, pid); /* also in the child: whichever runs first wins */
    io.out = po[0];
    io.err = pe[0];
    io.in = pi[1];
    if (io.in >= 0)
        fcntl(io.in, F_SETFL, O_NONBLOCK);
    io.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (io.pidfd < 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return fail(r, &io.be, "pidfd_open");
    }
    int timeout = timeout_s > 0 ? timeout_s : 30;
    r->timed_out = pump(&io, pid, t0 + timeout, &r->status);
    if (r->timed_out) {
        kill(-pid, SIGKILL);
        waitpid(pid, &r->status, 0);
        buf_printf(&io.be, "run: %s timed out after %d s (process group killed)\n", argv[0],
                   timeout);
    }
    r->elapsed = now_s() - t0;
    int fds[] = {io.out, io.err, io.in, io.pidfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    buf_add(&io.bo, "", 0);
    buf_add(&io.be, "", 0);
    r->out = io.bo.p;
    r->out_len = io.bo.len;
    r->err = io.be.p;
    r->err_len = io.be.len;
    return r->timed_out ? -1 : 0;
}

int run_prog(struct run_result *r, int preload, const char *const argv[],
             const char *const extra_env[], int timeout_s)
{
    return run_prog_in(r, preload, argv, extra_env, timeout_s, NULL, 0);
}

void run_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* ---- comparing a native and a shim run (criterion) --------------------- */

void run_must_finish(struct run_result *r, int preload, const char *const argv[],
                     const char *const extra_env[], int limit_s)
{
    int rc = run_prog(r, preload, argv, extra_env, limit_s);
    cr_assert_eq(rc, 0, "%s %s did not finish: %s", argv[1] ? argv[1] : argv[0],
                 preload ? "(preloaded)" : "(native)", r->err);
}

void run_ok(struct run_result *r, int preload, const char *const argv[],
            const char *const extra_env[])
{
    run_must_finish(r, preload, argv, extra_env, RUN_LIMIT);
}

/* Length of the line at s, without its newline. */
static size_t line_len(const char *s)
{
    const char *e = strchr(s, '\n');
    return e ? (size_t)(e - s) : strlen(s);
}

/* The line after the one at s, or NULL at the end of the text. */
static const char *next_line(const char *s)
{
    const char *e = strchr(s, '\n');
    return e && e[1] ? e + 1 : NULL;
}

#define DIFF_SHOWN 10 /* differing lines named in a failure */

/* Compare two outputs line by line and describe into b the lines that
 * differ: number, section (the last "== name" line above) and both
 * texts. Returns how many lines differ. */
static int describe_diff(struct buf *b, const char *nat, const char *shim)
{
    const char *n = *nat ? nat : NULL, *s = *shim ? shim : NULL;
    const char *section = NULL;
    size_t section_len = 0;
    int line = 0, differ = 0;
    while (n || s) {
        line++;
        size_t nl = n ? line_len(n) : 0, sl = s ? line_len(s) : 0;
        if (n && strncmp(n, "== ", 3) == 0) {
            section = n;
            section_len = nl;
        }
        if (!n || !s || nl != sl || memcmp(n, s, nl) != 0) {
            if (++differ <= DIFF_SHOWN) {
                buf_printf(b, "  line %d", line);
                if (section)
                    buf_printf(b, " (in %.*s)", (int)section_len, section);
                buf_printf(b, ":\n    native:   %.*s\n    libgreen: %.*s\n", n ? (int)nl : 5,
                           n ? n : "(end)", s ? (int)sl : 5, s ? s : "(end)");
            }
        }
        n = n ? next_line(n) : NULL;
        s = s ? next_line(s) : NULL;
    }
    if (differ > DIFF_SHOWN)
        buf_printf(b, "  (%d more lines differ)\n", differ - DIFF_SHOWN);
    return differ;
}

/* Expect the same text on a stream natively and under the shim; a
 * failure names the lines that differ. */
static void expect_same_text(const char *what, const char *stream, const char *nat,
                             const char *shim)
{
    if (strcmp(nat, shim) == 0)
        return;
    struct buf b = {0};
    int differ = describe_diff(&b, nat, shim);
    cr_expect_fail("%s: %s differs under libgreen (%d of its lines):\n%s", what, stream, differ,
                   b.p ? b.p : "  (only a final newline)\n");
    free(b.p);
}

void run_expect_same(const char *const argv[], const char *const extra_env[], int limit_s,
                     struct run_result *shim_out)
{
    struct run_result nat, shim;
    char what[256] = "";
    for (size_t i = 0, n = 0; argv[i] && n < sizeof what; i++)
        n += (size_t)snprintf(what + n, sizeof what - n, "%s%s", i ? " " : "", argv[i]);
    run_must_finish(&nat, 0, argv, extra_env, limit_s);
    run_must_finish(&shim, 1, argv, extra_env, limit_s);
    cr_expect_eq(shim.status, nat.status, "%s: status %#x under libgreen, %#x natively", what,
                 shim.status, nat.status);
    expect_same_text(what, "stdout", nat.out, shim.out);
    expect_same_text(what, "stderr", nat.err, shim.err);
    cr_expect(WIFEXITED(nat.status) && WEXITSTATUS(nat.status) == 0,
              "%s failed natively (status %#x): %s", what, nat.status, nat.err);
    run_free(&nat);
    if (shim_out)
        *shim_out = shim;
    else
        run_free(&shim);
}

void assert_same(const char *const argv[])
{
    run_expect_same(argv, NULL, RUN_LIMIT, NULL);
}

void assert_same_one_thread(const char *const argv[])
{
    struct run_result shim;
    run_expect_same(argv, NULL, RUN_LIMIT, &shim);
    cr_expect(strstr(shim.out, "Threads:\t1\n") != NULL, "%s: not one OS thread:\n%s", argv[0],
              shim.out);
    run_free(&shim);
}

int run_os_threads(int pid)
{
    char path[64], line[256];
    int n = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

void need_python(void)
{
    if (access(PYTHON, X_OK) != 0)
        cr_skip_test(PYTHON " is not installed (scripts/setup installs python3)");
}
