/* config.c: GREEN_* environment variables. A bad value is an error, not
 * a guess: the caller refuses to start the program. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* "8M", "256K", "1G", "65536": bytes, or -1 when malformed/too large. */
static long long parse_size(const char *s)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    }
    if (shift && !strcmp(end, "iB"))
        end += 2; /* 8MiB */
    else if (shift && !strcmp(end, "B"))
        end += 1; /* 8MB, meaning the same */
    if (*end || v > (1ull << 40) >> shift)
        return -1;
    return (long long)(v << shift);
}

/* A whole number in [0, max], or -1. */
static long long parse_uint(const char *s, long long max)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end || v > max ? -1 : v;
}

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"WINCH", SIGWINCH}, {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

/* "USR1", "SIGUSR1", "usr1", "10", "RTMIN+3": a signal a handler can
 * catch, or -1. */
int green__parse_signal(const char *s)
{
    long long n = parse_uint(s, 64);
    if (n >= 0)
        return n >= 1 && n <= SIGRTMAX && n != SIGKILL && n != SIGSTOP ? (int)n : -1;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (!strcasecmp(s, signames[i].name))
            return signames[i].sig;
    if (!strncasecmp(s, "RTMIN", 5)) {
        long long k = s[5] ? (s[5] == '+' ? parse_uint(s + 6, 64) : -1) : 0;
        return k >= 0 && SIGRTMIN + k <= SIGRTMAX ? SIGRTMIN + (int)k : -1;
    }
    return -1;
}

static const char *var(const char *name)
{
    const char *s = getenv(name);
    return s && *s ? s : NULL; /* empty: unset */
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* A file the core will append to: say now, in the variable's name, when
 * it cannot be opened. Returns 0 or -errno. */
static int appendable(const char *path)
{
    int fd =
        (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    syscall(SYS_close, fd);
    return 0;
}

int green_config_from_env(struct green_config *cfg, char *err, size_t errlen)
{
    *cfg = (struct green_config){0};
    const char *s;
    if ((s = var("GREEN_STACK_SIZE"))) {
        long long v = parse_size(s);
        if (v < 0)
            return BAD("GREEN_STACK_SIZE=%.40s: not a size (e.g. 256K, 8M, 1G)", s);
        if ((size_t)v < GREEN_STACK_MIN)
            return BAD("GREEN_STACK_SIZE=%.40s: below the minimum of %zu bytes", s,
                       GREEN_STACK_MIN);
        cfg->stack_size = (size_t)v;
    }
    if ((s = var("GREEN_DEADLOCK"))) {
        if (!strcmp(s, "abort"))
            cfg->deadlock = GREEN_DEADLOCK_ABORT;
        else if (!strcmp(s, "hang"))
            cfg->deadlock = GREEN_DEADLOCK_HANG;
        else
            return BAD("GREEN_DEADLOCK=%.40s: expected abort or hang", s);
    }
    if ((s = var("GREEN_STATS")) && strcmp(s, "0")) {
        cfg->stats = 1;
        cfg->stats_path = strcmp(s, "1") ? s : NULL;
        int e = cfg->stats_path ? appendable(s) : 0;
        if (e < 0)
            return BAD("GREEN_STATS=%.80s: %s", s, strerror(-e));
    }
    if ((s = var("GREEN_DUMP_SIGNAL")) && (cfg->dump_signal = green__parse_signal(s)) < 0)
        return BAD("GREEN_DUMP_SIGNAL=%.40s: not a signal name or number that can be caught", s);
    if ((s = var("GREEN_WATCHDOG"))) {
        long long ms = parse_uint(s, 3600 * 1000);
        if (ms < 0)
            return BAD("GREEN_WATCHDOG=%.40s: expected milliseconds from 0 to 3600000", s);
        cfg->watchdog_ms = (unsigned)ms;
    }
    cfg->slice_ms = GREEN_SLICE_DEFAULT;
    if ((s = var("GREEN_SLICE"))) {
        long long ms = parse_uint(s, 1000);
        if (ms < 0)
            return BAD("GREEN_SLICE=%.40s: expected milliseconds from 0 (no preemption) to 1000",
                       s);
        cfg->slice_ms = (unsigned)ms;
    }
    if ((s = var("GREEN_TRACE"))) {
        int e = appendable(s);
        if (e < 0)
            return BAD("GREEN_TRACE=%.80s: %s", s, strerror(-e));
        cfg->trace_path = s;
    }
    if ((s = var("GREEN_HELPERS"))) {
        long long n = parse_uint(s, GREEN_HELPERS_MAX);
        if (n < 1)
            return BAD("GREEN_HELPERS=%.40s: expected a number of threads from 1 to %u", s,
                       GREEN_HELPERS_MAX);
        cfg->helpers = (unsigned)n;
    }
    if ((s = var("GREEN_QUIET"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return BAD("GREEN_QUIET=%.40s: expected 0 or 1", s);
        cfg->quiet = *s == '1';
    }
    if ((s = var("GREEN_INHERIT"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return BAD("GREEN_INHERIT=%.40s: expected 0 or 1", s);
        cfg->no_inherit = *s == '0';
    }
    if ((s = var("GREEN_TLS"))) {
        if (!strcmp(s, "own"))
            cfg->tls = GREEN_TLS_OWN;
        else if (!strcmp(s, "shared"))
            cfg->tls = GREEN_TLS_SHARED;
        else if (strcmp(s, "auto"))
            return BAD("GREEN_TLS=%.40s: expected auto, own or shared", s);
    }
    return 0;
}
