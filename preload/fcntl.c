/* fcntl.c: the calls that make fds or change their flags keep the fd
 * records (fd.c) true; F_GETFL and FIONBIO hide the O_NONBLOCK libgreen
 * set on listening sockets (socket.c).
 *
 * None of these waits. The epoll fd libev makes for libgreen's own loop
 * (at start, and again after fork) is moved out of the program's way. */
#include "fd.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

/* The record of fd when this thread may touch it. Its kind may not be
 * known yet (open learns it at the first call that could wait): the
 * program's O_NONBLOCK is recorded all the same, adopt keeps it. */
static struct fd_rec *known(int fd)
{
    return green_self() ? fd_record(fd) : NULL;
}

/* F_SETFL keeps libgreen's hidden O_NONBLOCK and records the program's. */
static int setfl(int fd, int fl)
{
    struct fd_rec *fi = known(fd);
    int hide = fi && fi->hidden_nonblock ? O_NONBLOCK : 0;
    int r = real_fcntl(fd, F_SETFL, fl | hide);
    if (r == 0 && fi)
        fi->nonblock = (fl & O_NONBLOCK) != 0;
    return r;
}

static int do_fcntl(int fd, int cmd, void *arg)
{
    preload_ensure();
    struct fd_rec *fi;
    int r;
    if (fd_hidden(fd))
        return preload_fail(-EBADF); /* libgreen's own */
    switch (cmd) {
    case F_GETFL:
        r = real_fcntl(fd, cmd);
        if (r >= 0 && (fi = known(fd)) && fi->hidden_nonblock && !fi->nonblock)
            r &= ~O_NONBLOCK;
        return r;
    case F_SETFL:
        return setfl(fd, (int)(intptr_t)arg);
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if ((r = real_fcntl(fd, cmd, arg)) >= 0)
            fd_dup(fd, r);
        return r;
    default:
        return real_fcntl(fd, cmd, arg);
    }
}

/* Never waits. F_GETFL shows O_NONBLOCK only when the program set it;
 * F_SETFL records it; F_DUPFD and F_DUPFD_CLOEXEC record the copy; other
 * commands pass through (see LIMITS for F_SETLKW and F_OFD_SETLKW). */
PRELOAD_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return do_fcntl(fd, cmd, arg);
}

/* The same as fcntl (glibc's name for it with 64-bit offsets). */
PRELOAD_EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* Never waits. FIONBIO records the program's O_NONBLOCK and keeps
 * libgreen's hidden one; other requests pass through. */
PRELOAD_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    preload_ensure();
    int r = real_ioctl(fd, req, arg);
    struct fd_rec *fi;
    if (r == 0 && req == FIONBIO && (fi = known(fd))) {
        fi->nonblock = *(int *)arg != 0;
        int fl;
        if (fi->hidden_nonblock && !fi->nonblock && (fl = real_fcntl(fd, F_GETFL)) >= 0)
            real_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    return r;
}

/* ---- calls that make fds --------------------------------------------- */

static int made_as(int fd, int kind, int nonblock, int flags)
{
    fd_new(fd, kind, nonblock != 0, flags);
    return fd;
}

static int made(int fd, int kind, int nonblock)
{
    return made_as(fd, kind, nonblock, 0);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

/* Never waits; records the program's O_NONBLOCK (the kind is learnt at
 * the first call that could wait). */
PRELOAD_EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    preload_ensure();
    return made(real_open(path, flags, mode), FD_UNKNOWN, flags & O_NONBLOCK);
}

/* As open (the same call on 64-bit Linux). */
PRELOAD_EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

/* As open. */
PRELOAD_EXPORT int openat(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    preload_ensure();
    return made(real_openat(dir, path, flags, mode), FD_UNKNOWN, flags & O_NONBLOCK);
}

/* As openat. */
PRELOAD_EXPORT int openat64(int dir, const char *path, int flags, ...)
    __attribute__((alias("openat")));

/* As open. */
PRELOAD_EXPORT int creat(const char *path, mode_t mode)
{
    preload_ensure();
    return made(real_creat(path, mode), FD_UNKNOWN, 0);
}

/* As creat. */
PRELOAD_EXPORT int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

/* Never waits; records EFD_NONBLOCK. Reads and writes wait green. The
 * one libev makes for libgreen's loop goes high (see epoll_made). */
PRELOAD_EXPORT int eventfd(unsigned int v, int flags)
{
    preload_ensure();
    int fd = real_eventfd(v, flags);
    return fd >= 0 && preload_core_call() ? fd_shim_adopt(fd)
                                          : made(fd, FD_OTHER, flags & EFD_NONBLOCK);
}

/* Never waits; records TFD_NONBLOCK. Reads wait green. */
PRELOAD_EXPORT int timerfd_create(clockid_t c, int flags)
{
    preload_ensure();
    return made(real_timerfd_create(c, flags), FD_OTHER, flags & TFD_NONBLOCK);
}

/* Never waits; a new signalfd is recorded with SFD_NONBLOCK. */
PRELOAD_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
    preload_ensure();
    int r = real_signalfd(fd, mask, flags);
    return fd == -1 ? made(r, FD_OTHER, flags & SFD_NONBLOCK) : r;
}

/* Never waits; records the new fd. */
PRELOAD_EXPORT int inotify_init(void)
{
    preload_ensure();
    return made_as(real_inotify_init(), FD_OTHER, 0, FDI_EVQUEUE);
}

/* Never waits; records IN_NONBLOCK. */
PRELOAD_EXPORT int inotify_init1(int flags)
{
    preload_ensure();
    return made_as(real_inotify_init1(flags), FD_OTHER, flags & IN_NONBLOCK, FDI_EVQUEUE);
}

/* The core's own epoll fd goes high, out of the program's way. */
static int epoll_made(int fd)
{
    return fd >= 0 && preload_core_call() ? fd_shim_adopt(fd) : made(fd, FD_OTHER, 0);
}

/* Never waits; see epoll_made. */
PRELOAD_EXPORT int epoll_create(int size)
{
    preload_ensure();
    return epoll_made(real_epoll_create(size));
}

/* Never waits; see epoll_made. */
PRELOAD_EXPORT int epoll_create1(int flags)
{
    preload_ensure();
    return epoll_made(real_epoll_create1(flags));
}
