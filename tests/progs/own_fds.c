/* own_fds: a thread lists the process's fds every way a program does
 * (readdir of /proc/self/fd, /dev/fd and /proc/<pid>/fd, getdents64,
 * fstat, fcntl and dup of every number) while another thread waits;
 * each way must find the same fds: stdin, stdout, stderr and the two
 * the program opened. The output is the same natively and under
 * libgreen, whose own fds are not the program's. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define MAXFD 4096

static int hold[2];

/* Numbers listed in dir, but the listing's own fd, as a string. */
static void by_readdir(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int seen[64], n = 0;
    size_t at = 0;
    if (!d) {
        snprintf(out, len, "cannot open");
        return;
    }
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            seen[n++] = atoi(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++) /* listing order is the kernel's: sort */
        for (int j = i + 1; j < n; j++)
            if (seen[j] < seen[i]) {
                int t = seen[i];
                seen[i] = seen[j], seen[j] = t;
            }
    out[0] = '\0';
    for (int i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(out + at, len - at, " %d", seen[i]);
}

static void by_getdents(char *out, size_t len)
{
    char buf[512]; /* small: several batches */
    int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY), count = 0;
    ssize_t n;
    while (fd >= 0 && (n = getdents64(fd, buf, sizeof buf)) > 0)
        for (ssize_t at = 0; at < n;) {
            struct dirent64 *e = (struct dirent64 *)(buf + at);
            if (e->d_name[0] != '.' && atoi(e->d_name) != fd)
                count++;
            at += e->d_reclen;
        }
    snprintf(out, len, " %d fds", count);
    close(fd);
}

/* fds below MAXFD that answer call. */
static void by_probe(int (*probe)(int), char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    for (int fd = 0; fd < MAXFD && at < len; fd++)
        if (probe(fd))
            at += (size_t)snprintf(out + at, len - at, " %d", fd);
}

static int by_fstat(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0;
}

static int by_fcntl(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static int by_dup(int fd)
{
    int d = dup(fd);
    if (d >= 0)
        close(d);
    return d >= 0;
}

static void *scan(void *arg)
{
    char out[1024], path[64];
    (void)arg;
    by_readdir("/proc/self/fd", out, sizeof out);
    printf("readdir /proc/self/fd:%s\n", out);
    by_readdir("/dev/fd", out, sizeof out);
    printf("readdir /dev/fd:%s\n", out);
    snprintf(path, sizeof path, "/proc/%d/fdinfo", (int)getpid());
    by_readdir(path, out, sizeof out);
    printf("readdir /proc/<pid>/fdinfo:%s\n", out);
    by_getdents(out, sizeof out);
    printf("getdents64 /proc/self/fd:%s\n", out);
    by_probe(by_fstat, out, sizeof out);
    printf("fstat:%s\n", out);
    by_probe(by_fcntl, out, sizeof out);
    printf("fcntl:%s\n", out);
    by_probe(by_dup, out, sizeof out);
    printf("dup:%s\n", out);
    return write(hold[1], "x", 1) == 1 ? NULL : arg;
}

/* Waits while the other thread scans. */
static void *wait_for_scan(void *arg)
{
    char c;
    return read(hold[0], &c, 1) == 1 ? NULL : arg;
}

int main(void)
{
    pthread_t t, waiter;
    for (int fd = 3; fd < MAXFD; fd++) /* only the standard fds to start with */
        close(fd);
    if (pipe(hold) < 0)
        return 1;
    CHECK(pthread_create(&waiter, NULL, wait_for_scan, NULL));
    CHECK(pthread_create(&t, NULL, scan, NULL));
    CHECK(pthread_join(t, NULL));
    CHECK(pthread_join(waiter, NULL));
    return 0;
}
