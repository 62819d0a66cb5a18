/* test_once.c: green_once runs its function once; the other callers
 * wait for it to finish. */
#include "util.h"

static int once_word, once_count;
static void once_body(void *arg)
{
    (void)arg;
    once_count++;
    green_yield(); /* the others arrive while it runs */
}
static void *once_thread(void *arg)
{
    (void)arg;
    green_once(&once_word, once_body, NULL);
    return (void *)(intptr_t)once_count;
}

Test(once, once_runs_once_and_callers_wait_for_it, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_ok(once_thread, NULL);
    for (int i = 0; i < 4; i++)
        cr_assert_eq((intptr_t)join_ok(t[i]), 1);
    cr_assert_eq(once_word, 2, "glibc's done value");
}
