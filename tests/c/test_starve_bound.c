/*
 * Default mode barges, but only for a bounded time: once a waiter has
 * queued for QSEM_STARVE_NS, newcomers may no longer take tokens ahead of
 * it, even tokens it cannot use yet.  Otherwise a stream of small requests
 * could keep the count below its n forever.
 */
#include <stdatomic.h>

#include "qsem_test.h"

int
main(void)
{
    test_watchdog(50);
    qsem_t *s = test_new(0, 10, 0);
    struct test_waiter w = { .s = s, .n = 3 };
    pthread_t t = test_thread(test_waiter_main, &w);
    test_wait_waiting(s, 1);
    /* Far past the bound (1 ms), with slack for a slow machine. */
    test_sleep_ns(20 * QSEM_STARVE_NS);

    ASSERT_OK(qsem_release(s, 2));
    /* Two tokens free, the starving waiter wants three: newcomers of every
     * kind are held back instead of taking them. */
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_ERR(qsem_acquire_for(s, 1, 0), ETIMEDOUT);
    ASSERT_ERR(qsem_acquire_for(s, 2, 20 * MS), ETIMEDOUT);
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_EQ(atomic_load(&w.done), 0);
    ASSERT_OK(qsem_try_acquire(s, 0));

    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(qsem_available(s), 0);

    /* Served: barging is allowed again. */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_try_acquire(s, 1));
    qsem_unref(s);
    puts("test_starve_bound: ok");
    return 0;
}
