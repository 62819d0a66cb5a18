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
#include <resolv.h>
#include <stdbool.h>

/* The helper's errno and h_errno, carried back to the caller. Each
 * family of calls below has a record of its arguments and result that
 * ends with one. */
struct errs {
    int err, herr;
};

/* Run fn(call) on a helper thread; the caller gets its errno and h_errno. */
GREEN_YIELDS static void run(void (*fn)(void *), void *call, const struct errs *e)
{
    green_offload(fn, call);
    h_errno = e->herr;
    errno = e->err;
}

static void done(struct errs *e)
{
    e->err = errno;
    e->herr = h_errno;
}

/* ---- addresses -------------------------------------------------------------- */

struct addrinfo_call {
    const char *node, *serv;
    const struct addrinfo *hints;
    struct addrinfo **res;
    int r;
    struct errs e;
};

static void do_getaddrinfo(void *p)
{
    struct addrinfo_call *c = p;
    c->r = real_getaddrinfo(c->node, c->serv, c->hints, c->res);
    done(&c->e);
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
    struct addrinfo_call c = {.node = node, .serv = serv, .hints = hints, .res = res};
    run(do_getaddrinfo, &c, &c.e);
    return c.r;
}

struct nameinfo_call {
    const struct sockaddr *sa;
    socklen_t salen, hlen, slen;
    char *host, *serv;
    int fl;
    int r;
    struct errs e;
};

static void do_getnameinfo(void *p)
{
    struct nameinfo_call *c = p;
    c->r = real_getnameinfo(c->sa, c->salen, c->host, c->hlen, c->serv, c->slen, c->fl);
    done(&c->e);
}

/* Runs on a helper thread; the caller waits green. With NI_NUMERICHOST
 * and NI_NUMERICSERV (or no host or service asked) it runs here. */
PRELOAD_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                               socklen_t hlen, char *serv, socklen_t slen, int fl)
{
    bool numeric = (!host || (fl & NI_NUMERICHOST)) && (!serv || (fl & NI_NUMERICSERV));
    if (!preload_should_wait() || numeric)
        return real_getnameinfo(sa, salen, host, hlen, serv, slen, fl);
    struct nameinfo_call c = {
        .sa = sa, .salen = salen, .host = host, .hlen = hlen, .serv = serv, .slen = slen, .fl = fl};
    run(do_getnameinfo, &c, &c.e);
    return c.r;
}

/* ---- hosts --------------------------------------------------------------------- */

enum host_how { BYNAME, BYNAME2, BYADDR, BYNAME_R, BYNAME2_R, BYADDR_R };

/* The six host lookups; the reentrant ones (_R) fill h, buf, res, err. */
struct host_call {
    enum host_how how;
    const char *name;
    const void *addr;
    socklen_t len;
    int af; /* gethostbyname2's family, gethostbyaddr's type */
    struct hostent *h;
    char *buf;
    size_t n;
    struct hostent **res;
    int *err;
    union {
        struct hostent *h; /* the non-reentrant ones */
        int i;             /* the reentrant ones */
    } r;
    struct errs e;
};

static void do_gethost(void *p)
{
    struct host_call *c = p;
    switch (c->how) {
    case BYNAME:
        c->r.h = real_gethostbyname(c->name);
        break;
    case BYNAME2:
        c->r.h = real_gethostbyname2(c->name, c->af);
        break;
    case BYADDR:
        c->r.h = real_gethostbyaddr(c->addr, c->len, c->af);
        break;
    case BYNAME_R:
        c->r.i = real_gethostbyname_r(c->name, c->h, c->buf, c->n, c->res, c->err);
        break;
    case BYNAME2_R:
        c->r.i = real_gethostbyname2_r(c->name, c->af, c->h, c->buf, c->n, c->res, c->err);
        break;
    case BYADDR_R:
        c->r.i = real_gethostbyaddr_r(c->addr, c->len, c->af, c->h, c->buf, c->n, c->res, c->err);
        break;
    }
    done(&c->e);
}

GREEN_YIELDS static struct host_call gethost(struct host_call c)
{
    run(do_gethost, &c, &c.e);
    return c;
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyname(const char *name)
{
    if (!preload_should_wait())
        return real_gethostbyname(name);
    return gethost((struct host_call){.how = BYNAME, .name = name}).r.h;
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    if (!preload_should_wait())
        return real_gethostbyname2(name, af);
    return gethost((struct host_call){.how = BYNAME2, .name = name, .af = af}).r.h;
}

/* Runs on a helper thread; returns glibc's static result. */
PRELOAD_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    if (!preload_should_wait())
        return real_gethostbyaddr(addr, len, type);
    return gethost((struct host_call){.how = BYADDR, .addr = addr, .len = len, .af = type}).r.h;
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyname_r(const char *name, struct hostent *h, char *buf, size_t n,
                                   struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyname_r(name, h, buf, n, res, e);
    return gethost(
               (struct host_call){
                   .how = BYNAME_R, .name = name, .h = h, .buf = buf, .n = n, .res = res, .err = e})
        .r.i;
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *h, char *buf,
                                    size_t n, struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyname2_r(name, af, h, buf, n, res, e);
    return gethost((struct host_call){.how = BYNAME2_R,
                                      .name = name,
                                      .af = af,
                                      .h = h,
                                      .buf = buf,
                                      .n = n,
                                      .res = res,
                                      .err = e})
        .r.i;
}

/* Runs on a helper thread; the caller waits green. */
PRELOAD_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *h,
                                   char *buf, size_t n, struct hostent **res, int *e)
{
    if (!preload_should_wait())
        return real_gethostbyaddr_r(addr, len, type, h, buf, n, res, e);
    return gethost((struct host_call){.how = BYADDR_R,
                                      .addr = addr,
                                      .len = len,
                                      .af = type,
                                      .h = h,
                                      .buf = buf,
                                      .n = n,
                                      .res = res,
                                      .err = e})
        .r.i;
}

/* ---- users and groups ------------------------------------------------------------ */

enum ent_how { PWNAM, PWUID, GRNAM, GRGID };

/* By name or by id; the reentrant ones (reentrant set) fill rec, buf
 * and res (a struct passwd or group, and a pointer to one). */
struct ent_call {
    enum ent_how how;
    bool reentrant;
    const char *name;
    id_t id;
    void *rec;
    char *buf;
    size_t n;
    void *res;
    union {
        void *p; /* the non-reentrant ones */
        int i;   /* the reentrant ones */
    } r;
    struct errs e;
};

static void do_getent(void *p)
{
    struct ent_call *c = p;
    if (!c->reentrant) {
        switch (c->how) {
        case PWNAM:
            c->r.p = real_getpwnam(c->name);
            break;
        case PWUID:
            c->r.p = real_getpwuid((uid_t)c->id);
            break;
        case GRNAM:
            c->r.p = real_getgrnam(c->name);
            break;
        case GRGID:
            c->r.p = real_getgrgid((gid_t)c->id);
            break;
        }
    } else {
        switch (c->how) {
        case PWNAM:
            c->r.i = real_getpwnam_r(c->name, c->rec, c->buf, c->n, c->res);
            break;
        case PWUID:
            c->r.i = real_getpwuid_r((uid_t)c->id, c->rec, c->buf, c->n, c->res);
            break;
        case GRNAM:
            c->r.i = real_getgrnam_r(c->name, c->rec, c->buf, c->n, c->res);
            break;
        case GRGID:
            c->r.i = real_getgrgid_r((gid_t)c->id, c->rec, c->buf, c->n, c->res);
            break;
        }
    }
    done(&c->e);
}

GREEN_YIELDS static void *getent(enum ent_how how, const char *name, id_t id)
{
    struct ent_call c = {.how = how, .name = name, .id = id};
    run(do_getent, &c, &c.e);
    return c.r.p;
}

GREEN_YIELDS static int getent_r(enum ent_how how, const char *name, id_t id, void *rec, char *buf,
                                 size_t n, void *res)
{
    struct ent_call c = {.how = how,
                         .reentrant = true,
                         .name = name,
                         .id = id,
                         .rec = rec,
                         .buf = buf,
                         .n = n,
                         .res = res};
    run(do_getent, &c, &c.e);
    return c.r.i;
}

/* Each runs on a helper thread; the non-reentrant ones return glibc's
 * static result, the reentrant ones fill the caller's buffers. */
PRELOAD_EXPORT struct passwd *getpwnam(const char *name)
{
    return preload_should_wait() ? getent(PWNAM, name, 0) : real_getpwnam(name);
}

PRELOAD_EXPORT struct passwd *getpwuid(uid_t uid)
{
    return preload_should_wait() ? getent(PWUID, NULL, uid) : real_getpwuid(uid);
}

PRELOAD_EXPORT struct group *getgrnam(const char *name)
{
    return preload_should_wait() ? getent(GRNAM, name, 0) : real_getgrnam(name);
}

PRELOAD_EXPORT struct group *getgrgid(gid_t gid)
{
    return preload_should_wait() ? getent(GRGID, NULL, gid) : real_getgrgid(gid);
}

PRELOAD_EXPORT int getpwnam_r(const char *name, struct passwd *p, char *buf, size_t n,
                              struct passwd **res)
{
    if (!preload_should_wait())
        return real_getpwnam_r(name, p, buf, n, res);
    return getent_r(PWNAM, name, 0, p, buf, n, res);
}

PRELOAD_EXPORT int getpwuid_r(uid_t uid, struct passwd *p, char *buf, size_t n, struct passwd **res)
{
    if (!preload_should_wait())
        return real_getpwuid_r(uid, p, buf, n, res);
    return getent_r(PWUID, NULL, uid, p, buf, n, res);
}

PRELOAD_EXPORT int getgrnam_r(const char *name, struct group *g, char *buf, size_t n,
                              struct group **res)
{
    if (!preload_should_wait())
        return real_getgrnam_r(name, g, buf, n, res);
    return getent_r(GRNAM, name, 0, g, buf, n, res);
}

PRELOAD_EXPORT int getgrgid_r(gid_t gid, struct group *g, char *buf, size_t n, struct group **res)
{
    if (!preload_should_wait())
        return real_getgrgid_r(gid, g, buf, n, res);
    return getent_r(GRGID, NULL, gid, g, buf, n, res);
}

/* ---- resolver -------------------------------------------------------------------- */

struct res_call {
    bool search; /* res_search, else res_query */
    const char *dname;
    int cl, type;
    unsigned char *ans;
    int len;
    int r;
    struct errs e;
};

static void do_res(void *p)
{
    struct res_call *c = p;
    c->r = (c->search ? real_res_search : real_res_query)(c->dname, c->cl, c->type, c->ans, c->len);
    done(&c->e);
}

GREEN_YIELDS static int res_green(bool search, const char *d, int cl, int type, unsigned char *ans,
                                  int len)
{
    struct res_call c = {
        .search = search, .dname = d, .cl = cl, .type = type, .ans = ans, .len = len};
    run(do_res, &c, &c.e);
    return c.r;
}

/* Each runs on a helper thread, with that thread's resolver state. The
 * __res_ names are the same functions under their older version. */
PRELOAD_EXPORT int res_query(const char *d, int cl, int type, unsigned char *ans, int len)
{
    if (!preload_should_wait())
        return real_res_query(d, cl, type, ans, len);
    return res_green(false, d, cl, type, ans, len);
}

PRELOAD_EXPORT int res_search(const char *d, int cl, int type, unsigned char *ans, int len)
{
    if (!preload_should_wait())
        return real_res_search(d, cl, type, ans, len);
    return res_green(true, d, cl, type, ans, len);
}

PRELOAD_EXPORT int __res_query(const char *d, int cl, int type, unsigned char *ans, int len)
{
    return res_query(d, cl, type, ans, len);
}

PRELOAD_EXPORT int __res_search(const char *d, int cl, int type, unsigned char *ans, int len)
{
    return res_search(d, cl, type, ans, len);
}
