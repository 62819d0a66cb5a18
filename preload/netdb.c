/* netdb.c: name, address, user and group lookups on helper threads.
 *
 * A lookup may take seconds (a DNS server, LDAP, sssd) inside NSS
 * modules that run under glibc's internal locks and call socket, poll
 * and recv themselves. None of that may run on a green thread: another
 * green thread taking the same lock would block the OS thread for good,
 * and the modules' own calls would switch inside them. So the whole
 * call runs on one of the core's helper threads (green_offload), where
 * every interposer passes through, while the caller waits green. The
 * results are glibc's own: nsswitch.conf, /etc/hosts and resolv.conf
 * are honoured as natively, and several lookups run in parallel.
 *
 * errno and h_errno are per OS thread: each job carries the helper's
 * values back to the caller. The non-reentrant functions (gethostbyname,
 * getpwnam, ...) return glibc's static storage, as natively: a green
 * thread that calls one while another's result is still in use
 * overwrites it, as concurrent native threads would. res_query and
 * res_search use the helper thread's resolver state (_res), initialised
 * from resolv.conf: changes a program makes to its own _res are not
 * seen. */
#include "preload.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <resolv.h>

struct job {
    const void *a, *b, *c;
    long x, y, z;
    void *buf;
    size_t n;
    void *out, *out2;
    union {
        void *p;
        int i;
    } r;
    int err, herr;
};

/* Run fn(j) on a helper thread; the caller gets its errno and h_errno. */
GREEN_YIELDS static void run(void (*fn)(void *), struct job *j)
{
    green_offload(fn, j);
    h_errno = j->herr;
    errno = j->err;
}

static void done(struct job *j)
{
    j->err = errno;
    j->herr = h_errno;
}

/* ---- addresses -------------------------------------------------------------- */

static void do_getaddrinfo(void *p)
{
    struct job *j = p;
    j->r.i = real_getaddrinfo(j->a, j->b, j->c, j->out);
    done(j);
}

/* A host and service glibc parses without asking anyone: no helper. */
static bool numeric_host(const char *node, int flags)
{
    unsigned char a[16];
    return !node || (flags & AI_NUMERICHOST) || inet_pton(AF_INET, node, a) == 1 ||
           inet_pton(AF_INET6, node, a) == 1;
}

static bool numeric_serv(const char *serv, int flags)
{
    if (!serv || (flags & AI_NUMERICSERV))
        return true;
    const char *s = serv;
    while (*s >= '0' && *s <= '9')
        s++;
    return s != serv && !*s;
}

/* Runs on a helper thread; the caller waits green. Numeric hosts and
 * services (no name to look up) and AI_CANONNAME aside, which may ask
 * for a name, run here. */
PRELOAD_EXPORT int getaddrinfo(const char *node, const char *serv, const struct addrinfo *hints,
                               struct addrinfo **res)
{
    int fl = hints ? hints->ai_flags : 0;
    if (!preload_should_wait() ||
        (!(fl & AI_CANONNAME) && numeric_host(node, fl) && numeric_serv(serv, fl)))
        return real_getaddrinfo(node, serv, hints, res);
    struct job j = {.a = node, .b = serv, .c = hints, .out = res};
    run(do_getaddrinfo, &j);
    return j.r.i;
}

static void do_getnameinfo(void *p)
{
    struct job *j = p;
    j->r.i = real_getnameinfo(j->a, (socklen_t)j->x, j->buf, (socklen_t)j->n, j->out,
                              (socklen_t)j->y, (int)j->z);
    done(j);
}

/* Runs on a helper thread; the caller waits green. With NI_NUMERICHOST
 * and NI_NUMERICSERV (or no host or service asked) it runs here. */
PRELOAD_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                               socklen_t hlen, char *serv, socklen_t slen, int fl)
{
    bool numeric = (!host || (fl & NI_NUMERICHOST)) && (!serv || (fl & NI_NUMERICSERV));
    if (!preload_should_wait() || numeric)
        return real_getnameinfo(sa, salen, host, hlen, serv, slen, fl);
    struct job j = {.a = sa, .x = salen, .buf = host, .n = hlen, .out = serv, .y = slen, .z = fl};
    run(do_getnameinfo, &j);
    return j.r.i;
}

/* ---- hosts --------------------------------------------------------------------- */

static void do_gethostbyname(void *p)
{
    struct job *j = p;
    j->r.p = j->x ? real_gethostbyname2(j->a, (int)j->y) : real_gethostbyname(j->a);
    done(j);
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyname(const char *name)
{
    if (!preload_should_wait())
        return real_gethostbyname(name);
    struct job j = {.a = name};
    run(do_gethostbyname, &j);
    return j.r.p;
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    if (!preload_should_wait())
        return real_gethostbyname2(name, af);
    struct job j = {.a = name, .x = 1, .y = af};
    run(do_gethostbyname, &j);
    return j.r.p;
}

static void do_gethostbyaddr(void *p)
{
    struct job *j = p;
    j->r.p = real_gethostbyaddr(j->a, (socklen_t)j->x, (int)j->y);
    done(j);
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    if (!preload_should_wait())
        return real_gethostbyaddr(addr, len, type);
    struct job j = {.a = addr, .x = len, .y = type};
    run(do_gethostbyaddr, &j);
    return j.r.p;
}

/* The reentrant host lookups: c is the hostent, out the result, out2
 * the error number; z says which call (0 byname, 1 byname2, 2 byaddr). */
static void do_gethost_r(void *p)
{
    struct job *j = p;
    struct hostent *h = (struct hostent *)j->c;
    if (j->z == 0)
        j->r.i = real_gethostbyname_r(j->a, h, j->buf, j->n, j->out, j->out2);
    else if (j->z == 1)
        j->r.i = real_gethostbyname2_r(j->a, (int)j->y, h, j->buf, j->n, j->out, j->out2);
    else
        j->r.i = real_gethostbyaddr_r(j->a, (socklen_t)j->x, (int)j->y, h, j->buf, j->n,
                                      j->out, j->out2);
    done(j);
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyname_r(const char *name, struct hostent *h, char *buf, size_t n,
                                   struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyname_r(name, h, buf, n, res, e);
    struct job j = {.a = name, .c = h, .buf = buf, .n = n, .out = res, .out2 = e, .z = 0};
    run(do_gethost_r, &j);
    return j.r.i;
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *h, char *buf,
                                    size_t n, struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyname2_r(name, af, h, buf, n, res, e);
    struct job j = {.a = name, .y = af, .c = h, .buf = buf, .n = n, .out = res, .out2 = e, .z = 1};
    run(do_gethost_r, &j);
    return j.r.i;
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *h,
                                   char *buf, size_t n, struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyaddr_r(addr, len, type, h, buf, n, res, e);
    struct job j = {.a = addr, .x = len, .y = type, .c = h, .buf = buf, .n = n, .out = res,
                    .out2 = e, .z = 2};
    run(do_gethost_r, &j);
    return j.r.i;
}

/* ---- users and groups ------------------------------------------------------------ */

/* z: 0 getpwnam, 1 getpwuid, 2 getgrnam, 3 getgrgid (a name, x an id). */
static void do_getent(void *p)
{
    struct job *j = p;
    switch (j->z) {
    case 0: j->r.p = real_getpwnam(j->a); break;
    case 1: j->r.p = real_getpwuid((uid_t)j->x); break;
    case 2: j->r.p = real_getgrnam(j->a); break;
    default: j->r.p = real_getgrgid((gid_t)j->x); break;
    }
    done(j);
}

/* The reentrant ones: c the record, out the result pointer. */
static void do_getent_r(void *p)
{
    struct job *j = p;
    void *rec = (void *)j->c;
    switch (j->z) {
    case 0: j->r.i = real_getpwnam_r(j->a, rec, j->buf, j->n, j->out); break;
    case 1: j->r.i = real_getpwuid_r((uid_t)j->x, rec, j->buf, j->n, j->out); break;
    case 2: j->r.i = real_getgrnam_r(j->a, rec, j->buf, j->n, j->out); break;
    default: j->r.i = real_getgrgid_r((gid_t)j->x, rec, j->buf, j->n, j->out); break;
    }
    done(j);
}

GREEN_YIELDS static void *getent(int which, const char *name, long id)
{
    struct job j = {.a = name, .x = id, .z = which};
    run(do_getent, &j);
    return j.r.p;
}

GREEN_YIELDS static int getent_r(int which, const char *name, long id, void *rec, char *buf,
                                 size_t n, void *res)
{
    struct job j = {.a = name, .x = id, .z = which, .c = rec, .buf = buf, .n = n, .out = res};
    run(do_getent_r, &j);
    return j.r.i;
}

/* Each runs on a helper thread; the non-reentrant ones return glibc's
 * static result, the reentrant ones fill the caller's buffers. */
PRELOAD_EXPORT struct passwd *getpwnam(const char *name)
{
    return preload_should_wait() ? getent(0, name, 0) : real_getpwnam(name);
}

PRELOAD_EXPORT struct passwd *getpwuid(uid_t uid)
{
    return preload_should_wait() ? getent(1, NULL, uid) : real_getpwuid(uid);
}

PRELOAD_EXPORT struct group *getgrnam(const char *name)
{
    return preload_should_wait() ? getent(2, name, 0) : real_getgrnam(name);
}

PRELOAD_EXPORT struct group *getgrgid(gid_t gid)
{
    return preload_should_wait() ? getent(3, NULL, gid) : real_getgrgid(gid);
}

PRELOAD_EXPORT int getpwnam_r(const char *name, struct passwd *p, char *buf, size_t n,
                              struct passwd **res)
{
    if (!preload_should_wait())
        return real_getpwnam_r(name, p, buf, n, res);
    return getent_r(0, name, 0, p, buf, n, res);
}

PRELOAD_EXPORT int getpwuid_r(uid_t uid, struct passwd *p, char *buf, size_t n,
                              struct passwd **res)
{
    if (!preload_should_wait())
        return real_getpwuid_r(uid, p, buf, n, res);
    return getent_r(1, NULL, uid, p, buf, n, res);
}

PRELOAD_EXPORT int getgrnam_r(const char *name, struct group *g, char *buf, size_t n,
                              struct group **res)
{
    if (!preload_should_wait())
        return real_getgrnam_r(name, g, buf, n, res);
    return getent_r(2, name, 0, g, buf, n, res);
}

PRELOAD_EXPORT int getgrgid_r(gid_t gid, struct group *g, char *buf, size_t n,
                              struct group **res)
{
    if (!preload_should_wait())
        return real_getgrgid_r(gid, g, buf, n, res);
    return getent_r(3, NULL, gid, g, buf, n, res);
}

/* ---- resolver -------------------------------------------------------------------- */

static void do_res(void *p)
{
    struct job *j = p;
    j->r.i = (j->z ? real_res_search : real_res_query)(j->a, (int)j->x, (int)j->y, j->buf,
                                                        (int)j->n);
    done(j);
}

GREEN_YIELDS static int res_green(int search, const char *d, int cl, int type,
                                  unsigned char *ans, int len)
{
    struct job j = {.a = d, .x = cl, .y = type, .buf = ans, .n = (size_t)len, .z = search};
    run(do_res, &j);
    return j.r.i;
}

/* Each runs on a helper thread, with that thread's resolver state. The
 * __res_ names are the same functions under their older version. */
PRELOAD_EXPORT int res_query(const char *d, int cl, int type, unsigned char *ans, int len)
{
    if (!preload_should_wait())
        return real_res_query(d, cl, type, ans, len);
    return res_green(0, d, cl, type, ans, len);
}

PRELOAD_EXPORT int res_search(const char *d, int cl, int type, unsigned char *ans, int len)
{
    if (!preload_should_wait())
        return real_res_search(d, cl, type, ans, len);
    return res_green(1, d, cl, type, ans, len);
}

PRELOAD_EXPORT int __res_query(const char *d, int cl, int type, unsigned char *ans, int len)
{
    return res_query(d, cl, type, ans, len);
}

PRELOAD_EXPORT int __res_search(const char *d, int cl, int type, unsigned char *ans, int len)
{
    return res_search(d, cl, type, ans, len);
}
