/* ownfd.c: libgreen's own fds (its event loop's epoll fd and eventfd,
 * the first section) are invisible to the program.
 *
 * A program that scans its fds (closing every fd but a few before exec,
 * a test listing what a child inherited) must find only its own: for it
 * they look closed. fstat, fstatat and statx on them fail with EBADF, as
 * fcntl, dup, dup2 and dup3 do (fcntl.c, unistd.c), and listings of the
 * process's fd directory (/proc/self/fd, /dev/fd, /proc/<pid>/fd,
 * their fdinfo) skip their numbers, through readdir, readdir64 and
 * getdents64. The core, which uses them, still sees them. Opening
 * /proc/self/fd/<n> by its number is not hidden. */
#include "fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- which fds are libgreen's ------------------------------------------------
 * libev's epoll fd and eventfd are moved high and skipped by close,
 * close_range, closefrom, dup2 and dup3 of the program: daemons close
 * every fd at start and would take the event loop with them. */

#define SHIM_MAX 8
static int shim[SHIM_MAX];
static int nshim;

/* Below the usual fd limit, so select() and the like still reach it,
 * but far above what a program normally uses. */
static int shim_floor(void)
{
    struct rlimit rl;
    rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (lim > 1024)
        lim = 1024;
    return lim > 64 ? (int)lim - 16 : 3;
}

int fd_shim_adopt(int fd)
{
    if (fd < 0 || nshim == SHIM_MAX)
        return fd;
    int high = real_fcntl(fd, F_DUPFD_CLOEXEC, shim_floor());
    if (high >= 0) {
        real_close(fd);
        fd = high;
    }
    int i = nshim++;
    while (i > 0 && shim[i - 1] > fd) {
        shim[i] = shim[i - 1];
        i--;
    }
    shim[i] = fd;
    return fd;
}

bool fd_is_shim(int fd)
{
    for (int i = 0; i < nshim; i++)
        if (shim[i] == fd)
            return true;
    return false;
}

bool fd_hidden(int fd)
{
    return nshim && fd_is_shim(fd) && !preload_core_call();
}

void fd_shim_drop(int fd)
{
    for (int i = 0; i < nshim; i++)
        if (shim[i] == fd) {
            memmove(&shim[i], &shim[i + 1], (size_t)(nshim - i - 1) * sizeof shim[0]);
            nshim--;
            return;
        }
}

int fd_shim_in(unsigned int lo, unsigned int hi, int *out, int max)
{
    int n = 0;
    for (int i = 0; i < nshim && n < max; i++)
        if ((unsigned int)shim[i] >= lo && (unsigned int)shim[i] <= hi)
            out[n++] = shim[i];
    return n;
}

/* ---- what the program sees ------------------------------------------------- */

/* Never waits; EBADF for libgreen's own fds. */
PRELOAD_EXPORT int fstat(int fd, struct stat *st)
{
    if (fd_hidden(fd))
        return preload_fail(-EBADF);
    return real_fstat(fd, st);
}

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat");

/* As fstat (one layout on 64-bit). */
PRELOAD_EXPORT int fstat64(int fd, struct stat64 *st)
{
    return fstat(fd, (struct stat *)st);
}

/* A path resolved from dir, which is libgreen's: as from a closed fd. */
static bool from_hidden(int dir, const char *path)
{
    return path && *path != '/' && fd_hidden(dir);
}

/* Never waits; EBADF when dir is libgreen's and path is relative. */
PRELOAD_EXPORT int fstatat(int dir, const char *path, struct stat *st, int fl)
{
    if (from_hidden(dir, path))
        return preload_fail(-EBADF);
    return real_fstatat(dir, path, st, fl);
}

/* As fstatat. */
PRELOAD_EXPORT int fstatat64(int dir, const char *path, struct stat64 *st, int fl)
{
    return fstatat(dir, path, (struct stat *)st, fl);
}

/* Never waits; EBADF when dir is libgreen's and path is relative. */
PRELOAD_EXPORT int statx(int dir, const char *path, int fl, unsigned int mask, struct statx *st)
{
    if (from_hidden(dir, path))
        return preload_fail(-EBADF);
    return real_statx(dir, path, fl, mask, st);
}

/* ---- listings ---------------------------------------------------------------- */

/* name is the number of one of libgreen's fds. */
static bool own_name(const char *name)
{
    int n = 0;
    if (!*name)
        return false;
    for (; *name; name++) {
        if (*name < '0' || *name > '9' || n > 100000000)
            return false;
        n = n * 10 + (*name - '0');
    }
    return fd_hidden(n);
}

/* dirfd is open on this process's fd or fdinfo directory. */
static bool lists_own_fds(int dirfd)
{
    char link[32], target[96];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    int saved = errno;
    ssize_t n = readlink(link, target, sizeof target - 1);
    errno = saved;
    if (n <= 0)
        return false;
    target[n] = '\0';
    int pid, end = 0;
    if (sscanf(target, "/proc/%d/%n", &pid, &end) != 1 || !end || pid != getpid())
        return false;
    const char *rest = target + end;
    if (!strncmp(rest, "task/", 5) && (rest = strchr(rest + 5, '/')))
        rest++;
    return rest && (!strcmp(rest, "fd") || !strcmp(rest, "fdinfo"));
}

/* Never waits. In a listing of the process's fds, libgreen's are
 * skipped. */
PRELOAD_EXPORT struct dirent *readdir(DIR *d)
{
    struct dirent *e;
    while ((e = real_readdir(d)) && own_name(e->d_name) && lists_own_fds(dirfd(d)))
        ;
    return e;
}

/* Never waits; as readdir. */
PRELOAD_EXPORT struct dirent64 *readdir64(DIR *d)
{
    struct dirent64 *e;
    while ((e = real_readdir64(d)) && own_name(e->d_name) && lists_own_fds(dirfd(d)))
        ;
    return e;
}

/* Drop libgreen's fds from the n bytes of records getdents64 put in
 * buf; returns the bytes left. */
static ssize_t hide_dents(int fd, char *buf, ssize_t n)
{
    int listing = -1; /* unknown until a record needs it */
    ssize_t at = 0;
    while (at < n) {
        struct dirent64 *e = (struct dirent64 *)(buf + at);
        unsigned short len = e->d_reclen;
        if (!len || len > n - at)
            break;
        if (own_name(e->d_name) && (listing < 0 ? (listing = lists_own_fds(fd)) : listing)) {
            memmove(buf + at, buf + at + len, (size_t)(n - at - len));
            n -= len;
            continue;
        }
        at += len;
    }
    return n;
}

/* Never waits; as readdir. A batch made only of libgreen's fds is
 * followed by the next, so that 0 still means the end. */
PRELOAD_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
    ssize_t r;
    while ((r = real_getdents64(fd, buf, n)) > 0 && (r = hide_dents(fd, buf, r)) == 0)
        ;
    return r;
}
