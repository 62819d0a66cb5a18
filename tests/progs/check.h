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

#endif
