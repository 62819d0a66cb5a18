/* test_barrier.c: a green barrier releases its rounds with one serial
 * thread each. */
#include "util.h"

static green_barrier gbar;
static _Atomic int serials;
static void *barrier_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        serials += green_barrier_wait(&gbar);
    return NULL;
}

Test(barrier, barrier_releases_rounds_with_one_serial_thread, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_barrier_init(&gbar, 0), -EINVAL);
    cr_assert_eq(green_barrier_init(&gbar, 4), 0);
    green_thread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_ok(barrier_thread, NULL);
    for (int i = 0; i < 4; i++)
        join_ok(t[i]);
    cr_assert_eq(serials, 10);
    cr_assert_eq(green_barrier_destroy(&gbar), 0);
}
