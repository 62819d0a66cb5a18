/* fd.c: what libgreen knows of each fd.
 *
 * Every interposer that makes a fd records its kind and the program's
 * O_NONBLOCK, so that the slow path of a call costs no fcntl or fstat.
 * A description the program may also reach through another fd or
 * process (a dup, an inherited fd) can change under us: its record is
 * FDI_SHARED and re-read from the kernel when a call would block, which
 * is the only moment its flags matter. libgreen's own fds are ownfd.c's;
 * the loop in which calls wait on a fd is iorun.c's. */
#include "fd.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t sock_timeo(int fd, int name)
{
    struct timeval tv = {0};
    socklen_t len = sizeof tv;
    if (real_getsockopt(fd, SOL_SOCKET, name, &tv, &len) < 0 || !preload_tv_valid(&tv))
        return 0;
    return preload_tv_ns(&tv);
}

/* Re-read what the program may have changed where we could not see it. */
void fd_refresh(int fd, struct fd_rec *fi)
{
    int fl = real_fcntl(fd, F_GETFL);
    if (fl >= 0 && !fi->hidden_nonblock)
        fi->nonblock = (fl & O_NONBLOCK) != 0;
    if (fi->kind == FD_SOCKET) {
        fi->rcvtimeo = sock_timeo(fd, SO_RCVTIMEO);
        fi->sndtimeo = sock_timeo(fd, SO_SNDTIMEO);
    }
}

static int kind_of(mode_t m)
{
    if (S_ISSOCK(m))
        return FD_SOCKET;
    if (S_ISFIFO(m))
        return FD_PIPE;
    if (S_ISREG(m) || S_ISDIR(m) || S_ISBLK(m))
        return FD_FILE;
    return FD_OTHER;
}

/* An event queue among the anonymous fds (their link reads
 * "anon_inode:inotify", "anon_inode:[fanotify]"). */
static bool is_evqueue(int fd)
{
    char path[40], link[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0)
        return false;
    link[n] = 0;
    return strstr(link, "notify") != NULL;
}

/* A fd no interposer saw made: learn it from the kernel, once. */
static int adopt(int fd, struct fd_rec *fi)
{
    struct stat st;
    if (real_fstat(fd, &st) < 0)
        return -1;
    fi->kind = (unsigned char)kind_of(st.st_mode);
    if (fi->kind == FD_OTHER && !(fi->flags & FDI_MADE) && is_evqueue(fd))
        fi->flags |= FDI_EVQUEUE;
    if (fi->kind == FD_SOCKET && !(fi->flags & FDI_MADE)) {
        int type = 0;
        socklen_t len = sizeof type;
        if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM)
            fi->flags |= FDI_STREAM;
    }
    if (!(fi->flags & FDI_MADE)) {
        fi->flags |= FDI_SHARED;
        fd_refresh(fd, fi);
    }
    return 0;
}

struct fd_rec *fd_get(int fd)
{
    struct fd_rec *fi = fd_record(fd);
    if (fi && fi->kind == FD_UNKNOWN && adopt(fd, fi) < 0)
        return NULL;
    return fi;
}

void fd_new(int fd, int kind, bool nonblock, int flags)
{
    if (fd < 0 || !green_self())
        return;
    green_fd_close(fd);
    struct fd_rec *fi = fd_record(fd);
    if (fi) {
        fi->kind = (unsigned char)kind;
        fi->nonblock = nonblock;
        fi->flags = (unsigned char)(flags | FDI_MADE);
    }
}

void fd_dup(int fd, int newfd)
{
    if (newfd < 0 || !green_self())
        return;
    green_fd_close(newfd);
    struct fd_rec *from = fd_record(fd), *to = fd_record(newfd);
    if (!from || !to || from->kind == FD_UNKNOWN)
        return;
    from->flags |= FDI_SHARED;
    *to = *from;
}

bool fd_nonblock(int fd, struct fd_rec *fi)
{
    if (fi->flags & FDI_SHARED)
        fd_refresh(fd, fi);
    return fi->nonblock;
}

void fd_closing(int fd)
{
    if (green_self())
        green_fd_close(fd);
}
