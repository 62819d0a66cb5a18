/* config.c: GREEN_* environment variables. A bad value is an error, not
 * a guess: the caller refuses to start the program. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* "8M", "256K", "1G", "65536": bytes, or -1 when malformed/too large. */
static long long parse_size(const char *s)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    }
    if (shift && !strcmp(end, "iB"))
        end += 2; /* 8MiB */
    else if (shift && !strcmp(end, "B"))
        end += 1; /* 8MB, meaning the same */
    if (*end || v > (1ull << 40) >> shift)
        return -1;
    return (long long)(v << shift);
}

int green_config_from_env(struct green_config *cfg, char *err, size_t errlen)
{
    *cfg = (struct green_config){0};
    const char *s = getenv("GREEN_STACK_SIZE");
    if (s && *s) {
        long long v = parse_size(s);
        if (v < 0) {
            snprintf(err, errlen, "GREEN_STACK_SIZE=%.40s: not a size (e.g. 256K, 8M, 1G)", s);
            return -EINVAL;
        }
        if ((size_t)v < GREEN_STACK_MIN) {
            snprintf(err, errlen, "GREEN_STACK_SIZE=%.40s: below the minimum of %zu bytes", s,
                     GREEN_STACK_MIN);
            return -EINVAL;
        }
        cfg->stack_size = (size_t)v;
    }
    s = getenv("GREEN_DEADLOCK");
    if (s && *s) {
        if (!strcmp(s, "abort"))
            cfg->deadlock = GREEN_DEADLOCK_ABORT;
        else if (!strcmp(s, "hang"))
            cfg->deadlock = GREEN_DEADLOCK_HANG;
        else {
            snprintf(err, errlen, "GREEN_DEADLOCK=%.40s: expected abort or hang", s);
            return -EINVAL;
        }
    }
    return 0;
}
