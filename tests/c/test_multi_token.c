/* SPDX-License-Identifier: MIT */
/*
 * A request for n tokens is met only when n are free at once: partial
 * releases leave the waiter asleep and the tokens on the semaphore, and
 * the release that completes the request wakes it (Qt's acquire(n)).
 */
#include <stdatomic.h>

#include "qsem_test.h"

static void
multi_token(unsigned flags)
{
    qsem_t *s = test_new(0, QSEM_VALUE_MAX, flags);
    struct test_waiter w = { .s = s, .n = 3 };
    pthread_t t = test_thread(test_waiter_main, &w);
    test_wait_waiting(s, 1);

    for (int i = 1; i <= 2; i++) {
        ASSERT_OK(qsem_release(s, 1));
        test_sleep_ns(30 * MS);
        /* Not enough yet: the waiter sleeps on, the tokens stay free. */
        ASSERT_EQ(atomic_load(&w.done), 0);
        ASSERT_EQ(qsem_available(s), i);
        ASSERT_EQ(qsem_waiting(s), 1);
    }
    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);

    /* One release of many tokens serves several waiters at once and
     * leaves the rest free. */
    struct test_waiter ws[3] = { { .s = s, .n = 2 }, { .s = s, .n = 1 }, { .s = s, .n = 4 } };
    pthread_t ts[3];
    for (int i = 0; i < 3; i++) {
        ts[i] = test_thread(test_waiter_main, &ws[i]);
        test_wait_waiting(s, i + 1);
    }
    ASSERT_OK(qsem_release(s, 10));
    for (int i = 0; i < 3; i++) {
        test_join(ts[i]);
        ASSERT_OK(ws[i].result);
    }
    ASSERT_EQ(qsem_available(s), 3);
    ASSERT_EQ(qsem_waiting(s), 0);

    /* Plain bookkeeping without waiters. */
    ASSERT_OK(qsem_acquire(s, 2));
    ASSERT_OK(qsem_try_acquire(s, 1));
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_OK(qsem_release(s, 7));
    ASSERT_OK(qsem_acquire_for(s, 7, 0));
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    multi_token(0);
    multi_token(QSEM_FIFO);
    puts("test_multi_token: ok");
    return 0;
}
