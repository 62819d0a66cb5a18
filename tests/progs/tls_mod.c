/* tls_mod.c: a shared library with thread-local storage, built twice:
 * linked into tls_threads (loaded at start) and dlopen'ed by it once its
 * threads exist (MOD names the functions). */
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static __thread int value = 5; /* from the library's TLS image */

int CAT(MOD, _get)(void)
{
    return value;
}

void CAT(MOD, _set)(int v)
{
    value = v;
}
