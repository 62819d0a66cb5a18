/* libc_plain.c: libc's own functions as the core's way to libc, for the
 * programs that link the core directly (unit tests, benchmarks). Never
 * linked into libgreen.so: there these names are its own interposers,
 * and the layer above hands green_init the real ones. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

const struct green_libc green__libc_plain = {
    .sigaction = sigaction,
    .open = open,
    .pthread_create = pthread_create,
    .nanosleep = nanosleep,
    .fstat = fstat,
    .readdir = readdir,
};
