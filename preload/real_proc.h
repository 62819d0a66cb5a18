/* real_proc.h: the process, name lookup, file sync and signal functions
 * of libc that libgreen.so interposes beyond those of real.h (same
 * rules: every real_<name> pointer is callable at any time; real.c
 * resolves them). */
#ifndef GREEN_PRELOAD_REAL_PROC_H
#define GREEN_PRELOAD_REAL_PROC_H

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

/* X(return type, name, parameters, arguments, glibc version or NULL) */
#define REAL_PROC_FUNCS(X)                                                                        \
    X(pid_t, _Fork, (void), (), NULL)                                                             \
    X(pid_t, wait4, (pid_t pid, int *st, int opt, struct rusage *ru), (pid, st, opt, ru), NULL)   \
    X(int, waitid, (idtype_t type, id_t id, siginfo_t * info, int opt), (type, id, info, opt),    \
      NULL)                                                                                       \
    X(int, system, (const char *cmd), (cmd), NULL)                                                \
    X(int, posix_spawn,                                                                           \
      (pid_t * pid, const char *path, const posix_spawn_file_actions_t *fa,                       \
       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]),                    \
      (pid, path, fa, attr, argv, envp), NULL)                                                    \
    X(int, posix_spawnp,                                                                          \
      (pid_t * pid, const char *file, const posix_spawn_file_actions_t *fa,                       \
       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]),                    \
      (pid, file, fa, attr, argv, envp), NULL)                                                    \
    X(int, pclose, (FILE * fp), (fp), NULL)                                                           \
    X(int, getaddrinfo,                                                                           \
      (const char *node, const char *serv, const struct addrinfo *hints, struct addrinfo **res),  \
      (node, serv, hints, res), NULL)                                                             \
    X(int, getnameinfo,                                                                           \
      (const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hlen, char *serv,        \
       socklen_t slen, int fl),                                                                   \
      (sa, salen, host, hlen, serv, slen, fl), NULL)                                              \
    X(struct hostent *, gethostbyname, (const char *name), (name), NULL)                          \
    X(struct hostent *, gethostbyname2, (const char *name, int af), (name, af), NULL)             \
    X(struct hostent *, gethostbyaddr, (const void *addr, socklen_t len, int type),               \
      (addr, len, type), NULL)                                                                    \
    X(int, gethostbyname_r,                                                                       \
      (const char *name, struct hostent *h, char *buf, size_t n, struct hostent **res, int *e),   \
      (name, h, buf, n, res, e), NULL)                                                            \
    X(int, gethostbyname2_r,                                                                      \
      (const char *name, int af, struct hostent *h, char *buf, size_t n, struct hostent **res,    \
       int *e),                                                                                   \
      (name, af, h, buf, n, res, e), NULL)                                                        \
    X(int, gethostbyaddr_r,                                                                       \
      (const void *addr, socklen_t len, int type, struct hostent *h, char *buf, size_t n,         \
       struct hostent **res, int *e),                                                             \
      (addr, len, type, h, buf, n, res, e), NULL)                                                 \
    X(struct passwd *, getpwnam, (const char *name), (name), NULL)                                \
    X(struct passwd *, getpwuid, (uid_t uid), (uid), NULL)                                        \
    X(int, getpwnam_r,                                                                            \
      (const char *name, struct passwd *p, char *buf, size_t n, struct passwd **res),             \
      (name, p, buf, n, res), NULL)                                                               \
    X(int, getpwuid_r, (uid_t uid, struct passwd *p, char *buf, size_t n, struct passwd **res),   \
      (uid, p, buf, n, res), NULL)                                                                \
    X(struct group *, getgrnam, (const char *name), (name), NULL)                                 \
    X(struct group *, getgrgid, (gid_t gid), (gid), NULL)                                         \
    X(int, getgrnam_r,                                                                            \
      (const char *name, struct group *g, char *buf, size_t n, struct group **res),               \
      (name, g, buf, n, res), NULL)                                                               \
    X(int, getgrgid_r, (gid_t gid, struct group *g, char *buf, size_t n, struct group **res),     \
      (gid, g, buf, n, res), NULL)                                                                \
    X(int, res_query, (const char *dname, int cl, int type, unsigned char *ans, int len),         \
      (dname, cl, type, ans, len), NULL)                                                          \
    X(int, res_search, (const char *dname, int cl, int type, unsigned char *ans, int len),        \
      (dname, cl, type, ans, len), NULL)                                                          \
    X(int, fsync, (int fd), (fd), NULL)                                                           \
    X(int, fdatasync, (int fd), (fd), NULL)                                                       \
    X(int, syncfs, (int fd), (fd), NULL)                                                          \
    X(int, sync_file_range, (int fd, off_t off, off_t n, unsigned int fl), (fd, off, n, fl),      \
      NULL)                                                                                       \
    X(int, sigaction, (int sig, const struct sigaction *act, struct sigaction *old),             \
      (sig, act, old), NULL)                                                                      \
    X(int, pthread_sigmask, (int how, const sigset_t *set, sigset_t *old), (how, set, old),       \
      NULL)                                                                                       \
    X(int, sigprocmask, (int how, const sigset_t *set, sigset_t *old), (how, set, old), NULL)     \
    X(int, pause, (void), (), NULL)                                                               \
    X(int, sigsuspend, (const sigset_t *set), (set), NULL)                                        \
    X(int, sigwait, (const sigset_t *set, int *sig), (set, sig), NULL)                            \
    X(int, sigwaitinfo, (const sigset_t *set, siginfo_t *info), (set, info), NULL)                \
    X(int, sigtimedwait, (const sigset_t *set, siginfo_t *info, const struct timespec *ts),       \
      (set, info, ts), NULL)                                                                      \
    X(int, pthread_kill, (pthread_t t, int sig), (t, sig), "GLIBC_2.34")                          \
    X(int, raise, (int sig), (sig), NULL)

#define REAL_DECLARE_PROC(ret, name, params, args, version) extern ret(*real_##name) params;
REAL_PROC_FUNCS(REAL_DECLARE_PROC)
#undef REAL_DECLARE_PROC

#endif
