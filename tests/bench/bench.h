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
#include <time.h>

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

#ifdef GREEN_H
/* green_init with the GREEN_* variables (GREEN_TLS=own measures the
 * switched thread pointer in a program whose only TLS is libgreen's). */
static inline void bench_green_init(void)
{
    struct green_config c;
    char err[256];
    int r = green_config_from_env(&c, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    if ((r = green_init(&c)) < 0)
        bench_die("green_init", r);
}
#endif

#endif
