/* test_rwlock.c: a green rwlock: a writer holds readers back, then they
 * are granted together; errors. */
#include "util.h"

static green_rwlock rwl;
static int rw_readers_in;

static void *rw_reader_thread(void *arg)
{
    (void)arg;
    cr_assert_eq(green_rwlock_rdlock(&rwl, GREEN_NEVER), 0);
    rw_readers_in++;
    green_yield();
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    return NULL;
}

Test(rwlock, rwlock_writer_blocks_readers_then_grants_them_together, .timeout = 20)
{
    GREEN_INIT();
    cr_assert_eq(green_rwlock_wrlock(&rwl, GREEN_NEVER), 0, "zeros: an unlocked rwlock");
    cr_assert_eq(green_rwlock_rdlock(&rwl, 0), -EDEADLK);
    green_thread *r[3];
    for (int i = 0; i < 3; i++)
        r[i] = spawn_ok(rw_reader_thread, NULL);
    green_yield();
    cr_assert_eq(rw_readers_in, 0, "readers waited for the writer");
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    green_yield();
    cr_assert_eq(rw_readers_in, 3, "all readers granted at once");
    for (int i = 0; i < 3; i++)
        join_ok(r[i]);
    cr_assert_eq(green_rwlock_wrlock(&rwl, in_ms(5)), 0);
    cr_assert_eq(green_rwlock_unlock(&rwl), 0);
    cr_assert_eq(green_rwlock_unlock(&rwl), -EPERM);
    cr_assert_eq(green_rwlock_destroy(&rwl), 0);
}
