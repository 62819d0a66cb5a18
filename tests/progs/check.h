/* check.h: for the plain test programs (no libgreen header). */
#ifndef GREEN_TEST_CHECK_H
#define GREEN_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pthread call that must return 0: else say which and exit 1. */
#define CHECK(call)                                           \
    do {                                                      \
        int r_ = (call);                                      \
        if (r_) {                                             \
            fprintf(stderr, "%s: %s\n", #call, strerror(r_)); \
            exit(1);                                          \
        }                                                     \
    } while (0)

/* Print the process's "Threads:" line of /proc/self/status (how many OS
 * threads it has: 1 under libgreen). */
static inline void print_os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            fputs(line, stdout);
    if (f)
        fclose(f);
}

#endif
