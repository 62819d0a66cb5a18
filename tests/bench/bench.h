/* bench.h: small helpers shared by the benchmarks (header only: each
 * benchmark is a single program).
 *
 * Every benchmark prints machine-readable lines "name value unit" (three
 * fields, parsed by scripts/bench) and a human table whose lines start
 * with '#', so a parser can skip them. */
#ifndef GREEN_BENCH_H
#define GREEN_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fcontext.h"

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place; returns the median of its n > 0 values. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline double bench_min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

/* argv[i] as a positive number, def when absent; exits on garbage. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
    if (i >= argc)
        return def;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno || *end || v <= 0) {
        fprintf(stderr, "%s: '%s' is not a positive number\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

static inline void bench_emit(const char *name, double value, const char *unit)
{
    printf("%s %.2f %s\n", name, value, unit);
}

static inline void bench_emit_count(const char *name, long value, const char *unit)
{
    printf("%s %ld %s\n", name, value, unit);
}

/* Value in kB of a "Name:   123 kB" line of /proc/self/status, or -1. */
static inline long bench_status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(name);
    long v = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* The process's mappings (VMAs; vm.max_map_count caps them). */
static inline long bench_count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;

    if (!f)
        return -1;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Exit with a message naming what failed: a benchmark that cannot run
 * must not print figures that look like results. */
static inline void bench_die(const char *what, int neg_errno)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(-neg_errno));
    exit(1);
}

/* ---- the reference: a raw fcontext round trip ------------------------
 * Two bare fcontexts on their own stacks jump to each other: two
 * jump_fcontext calls per round trip and nothing else (boost's, declared
 * in fcontext.h: a benchmark that uses these links libboost_context.a). */

#define BENCH_RAW_STACK ((size_t)64 * 1024)

struct bench_raw {
    char *ping_stack, *pong_stack;
    fcontext_t pong; /* the partner context of a run */
    long n;          /* round trips to make */
};

/* The partner: jump back to whoever jumped here, forever. It is abandoned,
 * never returned from (an fcontext function must not return). */
static inline void bench_raw_pong(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

/* The pinger: n round trips with the partner, then back to main for good. */
static inline void bench_raw_ping(transfer_t t)
{
    fcontext_t caller = t.fctx;
    struct bench_raw *run = t.data;
    fcontext_t pong = run->pong;

    for (long i = 0; i < run->n; i++)
        pong = jump_fcontext(pong, NULL).fctx;
    jump_fcontext(caller, NULL);
    abort(); /* never resumed */
}

static inline char *bench_raw_stack(void)
{
    void *p = mmap(NULL, BENCH_RAW_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        bench_die("mmap", -errno);
    return p;
}

static inline void bench_raw_init(struct bench_raw *r)
{
    r->ping_stack = bench_raw_stack();
    r->pong_stack = bench_raw_stack();
}

static inline void bench_raw_free(struct bench_raw *r)
{
    munmap(r->ping_stack, BENCH_RAW_STACK);
    munmap(r->pong_stack, BENCH_RAW_STACK);
}

/* ns per round trip of n; fresh contexts each time on the same stacks
 * (the old ones are dead). Timed from main: the two extra jumps in and
 * out are noise at n. */
static inline double bench_raw_round_trip_ns(struct bench_raw *r, long n)
{
    fcontext_t ping =
        make_fcontext(r->ping_stack + BENCH_RAW_STACK, BENCH_RAW_STACK, bench_raw_ping);
    r->pong = make_fcontext(r->pong_stack + BENCH_RAW_STACK, BENCH_RAW_STACK, bench_raw_pong);
    r->n = n;
    int64_t t0 = bench_now();
    jump_fcontext(ping, r);
    int64_t t1 = bench_now();
    return (double)(t1 - t0) / (double)n;
}

#ifdef GREEN_H
/* green_init with the GREEN_* variables (GREEN_TLS=own measures the
 * switched thread pointer in a program whose only TLS is libgreen's).
 * No time slices unless GREEN_SLICE asks: linked into the program, the
 * core's own code is not kept from being preempted (libgreen.so's is),
 * and a tick in the middle of a spawn or a park breaks the scheduler
 * (bench_rss and bench_spawn crashed or hung with slices on, on main as
 * well); these benchmarks measure switches, not slices. */
static inline void bench_green_init(void)
{
    struct green_config c;
    char err[256];
    int r = green_config_from_env(&c, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    if (!getenv("GREEN_SLICE"))
        c.slice_ms = 0;
    if ((r = green_init(&c)) < 0)
        bench_die("green_init", r);
}
#endif

#endif
