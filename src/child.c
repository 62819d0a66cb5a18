/* child.c: waiting for child processes, and the child side of fork.
 *
 * A pidfd (pidfd_open) becomes readable when its process exits, so a
 * wait for one child is a fd wait: no SIGCHLD handler of ours, and the
 * program's own keeps working. A wait for any child (pid -1, 0 or a
 * process group) watches a pidfd of each current child, listed in
 * /proc/self/task/<tid>/children, and looks again every RESCAN_NS for
 * children made meanwhile. Stops and continues (WUNTRACED, WCONTINUED)
 * make no pidfd readable: such waits also look again every RESCAN_NS.
 * The caller (waitpid and friends) retries its WNOHANG call after each
 * wake-up, so a spurious one costs a system call.
 *
 * fork: the child keeps the calling green thread only, as POSIX says;
 * the others are dropped as if they had never run (their wait records
 * unlinked, their stacks freed). The event loop is re-armed for the new
 * process (ev_loop_fork) and the helper pool forgotten. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define RESCAN_NS INT64_C(50000000)
#define MAX_WATCHED 1024

static int pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Whether child c matches the pid argument of waitpid. */
static bool matches(pid_t c, pid_t pid)
{
    if (pid == -1)
        return true;
    pid_t g = getpgid(c);
    return g >= 0 && g == (pid == 0 ? getpgrp() : -pid);
}

/* Append a pidfd of each matching child listed in one children file. */
static void scan_task(const char *task, pid_t pid, struct green_pollfd *fds, size_t *n)
{
    char path[320];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", task);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    long c;
    while (*n < MAX_WATCHED && fscanf(f, "%ld", &c) == 1) {
        int fd = matches((pid_t)c, pid) ? pidfd_open((pid_t)c) : -1;
        if (fd >= 0)
            fds[(*n)++] = (struct green_pollfd){.fd = fd, .events = GREEN_IN};
    }
    fclose(f);
}

static size_t scan(pid_t pid, struct green_pollfd *fds)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = green__libc.readdir(d)))
        if (e->d_name[0] != '.')
            scan_task(e->d_name, pid, fds, &n);
    closedir(d);
    return n;
}

static void close_all(struct green_pollfd *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        green_fd_close(fds[i].fd);
        syscall(SYS_close, fds[i].fd);
    }
}

int green_child_wait(int pid, int stops, int64_t deadline)
{
    int64_t until = deadline;
    if ((stops || pid <= 0) && (until == GREEN_NEVER || until > green_now() + RESCAN_NS))
        until = green_now() + RESCAN_NS;
    if (pid > 0) {
        int fd = pidfd_open(pid);
        if (fd < 0)
            return 1; /* gone or not ours: the caller's retry says which */
        int r = green_fd_wait(fd, GREEN_IN, until);
        close_all(&(struct green_pollfd){.fd = fd}, 1);
        return r == -ETIMEDOUT && until != deadline ? 1 : r;
    }
    struct green_pollfd *fds = malloc(MAX_WATCHED * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    size_t n = scan(pid, fds);
    int r = green_fd_wait_many(fds, n, until);
    close_all(fds, n);
    free(fds);
    return r == -ETIMEDOUT && until != deadline ? 1 : r;
}

/* The vfork child runs on the parent's TLS and memory: with no current
 * green thread every guard (green_self, green_can_block, ...) passes
 * through there, so the child touches none of the parent's records. */
static __thread green_thread *vfork_saved __attribute__((tls_model("initial-exec")));

void green_vfork_begin(void)
{
    vfork_saved = green__current;
    green__current = NULL;
}

void green_vfork_end(void)
{
    green__current = vfork_saved;
}

void green_fork_child(void)
{
    green__offload_fork_child();
    green__foreign_fork_child();
    if (!green__s.loop)
        return;
    ev_loop_fork(green__s.loop);
    if (!green__current)
        return; /* forked on an OS thread of no green thread: all pass through */
    green__threads_drop_others();
    green__current->tid = getpid(); /* the child's one thread has the pid as id */
    green__signal_fork_child();
    green__slice_fork_child();
}
