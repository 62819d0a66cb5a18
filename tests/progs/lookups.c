/* lookups: name, address, user and group lookups from threads.
 *
 *   lookups            every lookup call once, from a thread, with a
 *                      second thread running: prints what glibc said
 *   lookups -p N NAME...  N... no: one thread per NAME, each resolving
 *                      it with getaddrinfo (AF_INET), while a ticker
 *                      thread counts 50 ms sleeps; prints each address
 *                      and whether the ticker ran during the lookups
 *   lookups -pt NAME...  the same, then the Threads: line of
 *                      /proc/self/status (natively 1: all joined; under
 *                      libgreen 1 plus its helper threads still alive)
 *
 * The output is the same natively and under libgreen. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void addrinfo_of(const char *node, const char *serv, int family, char *out, size_t len)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int r = getaddrinfo(node, serv, &hints, &res);
    if (r) {
        snprintf(out, len, "getaddrinfo(%s): %s", node ? node : "NULL", gai_strerror(r));
        return;
    }
    size_t n = (size_t)snprintf(out, len, "getaddrinfo(%s):", node ? node : "NULL");
    for (ai = res; ai && n < len; ai = ai->ai_next) {
        char host[NI_MAXHOST], port[NI_MAXSERV];
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        n += (size_t)snprintf(out + n, len - n, " %s/%s", host, port);
    }
    freeaddrinfo(res);
}

static void *all_calls(void *arg)
{
    (void)arg;
    char buf[1024], sbuf[8192];
    addrinfo_of("localhost", "80", AF_INET, buf, sizeof buf);
    printf("%s\n", buf);
    addrinfo_of("127.0.0.1", "ssh", AF_INET, buf, sizeof buf);
    printf("%s\n", buf);
    addrinfo_of(NULL, NULL, AF_INET, buf, sizeof buf);
    printf("%s\n", buf);
    addrinfo_of("localhost", "no-such-service-x", AF_INET, buf, sizeof buf);
    printf("%s\n", buf);

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(22)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    int r = getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv, sizeof serv,
                        NI_NUMERICSERV);
    printf("getnameinfo: %d %s %s\n", r, r ? "" : host, r ? "" : serv);
    r = getnameinfo((struct sockaddr *)&sin, 3, host, sizeof host, NULL, 0, 0);
    printf("getnameinfo short: %s\n", gai_strerror(r));

    struct hostent *h = gethostbyname("localhost");
    printf("gethostbyname: %s\n", h ? h->h_name : hstrerror(h_errno));
    h = gethostbyname2("localhost", AF_INET);
    printf("gethostbyname2: %s %d\n", h ? h->h_name : hstrerror(h_errno), h ? h->h_length : 0);
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    h = gethostbyaddr(&lo, sizeof lo, AF_INET);
    printf("gethostbyaddr: %s\n", h ? h->h_name : hstrerror(h_errno));
    struct hostent hb, *hr;
    int he = 0;
    r = gethostbyname_r("localhost", &hb, sbuf, sizeof sbuf, &hr, &he);
    printf("gethostbyname_r: %d %s\n", r, hr ? hr->h_name : "NULL");
    r = gethostbyname_r("localhost", &hb, sbuf, 4, &hr, &he);
    printf("gethostbyname_r small: %s\n", strerror(r));
    r = gethostbyname2_r("localhost", AF_INET, &hb, sbuf, sizeof sbuf, &hr, &he);
    printf("gethostbyname2_r: %d %s\n", r, hr ? hr->h_name : "NULL");
    r = gethostbyaddr_r(&lo, sizeof lo, AF_INET, &hb, sbuf, sizeof sbuf, &hr, &he);
    printf("gethostbyaddr_r: %d %s\n", r, hr ? hr->h_name : "NULL");

    struct passwd *pw = getpwnam("root"), pwb, *pwr;
    printf("getpwnam: %s %d\n", pw ? pw->pw_name : "NULL", pw ? (int)pw->pw_uid : -1);
    pw = getpwuid(0);
    printf("getpwuid: %s %s\n", pw ? pw->pw_name : "NULL", pw ? pw->pw_dir : "");
    errno = 0;
    pw = getpwnam("no-such-user-libgreen");
    printf("getpwnam missing: %s errno %d\n", pw ? "found" : "NULL", errno);
    r = getpwnam_r("root", &pwb, sbuf, sizeof sbuf, &pwr);
    printf("getpwnam_r: %d %s\n", r, pwr ? pwr->pw_shell : "NULL");
    r = getpwuid_r(0, &pwb, sbuf, 1, &pwr);
    printf("getpwuid_r small: %s %s\n", strerror(r), pwr ? "found" : "NULL");
    struct group *gr = getgrnam("root"), grb, *grr;
    printf("getgrnam: %s %d\n", gr ? gr->gr_name : "NULL", gr ? (int)gr->gr_gid : -1);
    gr = getgrgid(0);
    printf("getgrgid: %s\n", gr ? gr->gr_name : "NULL");
    r = getgrnam_r("root", &grb, sbuf, sizeof sbuf, &grr);
    printf("getgrnam_r: %d %s\n", r, grr ? grr->gr_name : "NULL");
    r = getgrgid_r(0, &grb, sbuf, sizeof sbuf, &grr);
    printf("getgrgid_r: %d %s\n", r, grr ? grr->gr_name : "NULL");
    return NULL;
}

static struct ticker tick;

static void *resolve(void *arg)
{
    char *out = malloc(1024);
    addrinfo_of(arg, NULL, AF_INET, out, 1024);
    return out;
}

int main(int argc, char **argv)
{
    pthread_t t;
    ticker_start(&tick, 50);
    if (argc > 2 && (!strcmp(argv[1], "-p") || !strcmp(argv[1], "-pt"))) {
        int n = argc - 2;
        pthread_t th[64];
        for (int i = 0; i < n && i < 64; i++)
            pthread_create(&th[i], NULL, resolve, argv[i + 2]);
        for (int i = 0; i < n && i < 64; i++) {
            void *out;
            pthread_join(th[i], &out);
            printf("%s\n", (char *)out);
            free(out);
        }
        printf("ticker ran during the lookups: %s\n", ticker_stop(&tick) >= 3 ? "yes" : "no");
        if (argv[1][2])
            print_os_threads();
        return 0;
    }
    pthread_create(&t, NULL, all_calls, NULL);
    pthread_join(t, NULL);
    ticker_stop(&tick);
    return 0;
}
