/* SPDX-License-Identifier: MIT */
/*
 * qsem_pin(): a front end's own pin keeps the memory valid after the last
 * handle is gone, so a call that raced with the handle's destruction reads
 * a closed semaphore, never freed memory (run under ASan to see the
 * difference).  The last handle still closes: a pin is not a handle.
 */
#include "qsem_test.h"

static void *
waiter(void *arg)
{
    qsem_t *s = arg;
    return (void *)(intptr_t)qsem_acquire(s, 1);
}

int
main(void)
{
    qsem_t *s = test_new(2, 10, 0);
    ASSERT_TRUE(qsem_pin(s) == s);
    ASSERT_OK(qsem_acquire(s, 2));

    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, waiter, s), 0);
    while (qsem_waiting(s) != 1)
        test_sleep_ns(1000000);

    qsem_unref(s); /* the last handle: closes, wakes the waiter */
    void *rc;
    ASSERT_EQ(pthread_join(t, &rc), 0);
    ASSERT_ERR((int)(intptr_t)rc, ECANCELED);

    /* Only the pin is left: every call still works on valid memory. */
    ASSERT_EQ(qsem_is_closed(s), 1);
    ASSERT_ERR(qsem_try_acquire(s, 1), ECANCELED);
    ASSERT_ERR(qsem_acquire_for(s, 1, 1000), ECANCELED);
    ASSERT_OK(qsem_release(s, 2));
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_EQ(qsem_max(s), 10);
    qsem_unpin(s); /* frees: ASan's leak check sees nothing left */
    puts("test_pin: ok");
    return 0;
}
