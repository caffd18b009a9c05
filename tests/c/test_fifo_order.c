/* SPDX-License-Identifier: MIT */
/*
 * QSEM_FIFO: requests are served strictly in arrival order.  A large
 * request at the head holds back smaller ones behind it even when they
 * would fit, and try-acquires fail while anyone queues.
 */
#include <stdatomic.h>

#include "qsem_test.h"

#define NW 6

static atomic_int served_seq;

struct waiter {
    qsem_t *s;
    int64_t n;
    int result;
    atomic_int order;   /* 1-based rank at which it was served, 0 while waiting */
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    w->result = qsem_acquire(w->s, w->n);
    atomic_store(&w->order, atomic_fetch_add(&served_seq, 1) + 1);
    return NULL;
}

static int
nserved(struct waiter *ws, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += atomic_load(&ws[i].order) != 0;
    return k;
}

static void
fifo_order(void)
{
    qsem_t *s = test_new(0, 100, QSEM_FIFO);
    int64_t wants[NW] = { 2, 1, 1, 3, 1, 2 };
    struct waiter ws[NW];
    pthread_t ts[NW];
    atomic_store(&served_seq, 0);
    /* Queue them one at a time, so that arrival order is known. */
    for (int i = 0; i < NW; i++) {
        ws[i] = (struct waiter){ .s = s, .n = wants[i] };
        ts[i] = test_thread(waiter_main, &ws[i]);
        test_wait_waiting(s, i + 1);
    }

    /* One token: the head wants two, and nobody may pass it. */
    ASSERT_OK(qsem_release(s, 1));
    test_sleep_ns(50 * MS);
    ASSERT_EQ(nserved(ws, NW), 0);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_ERR(qsem_acquire_for(s, 1, 0), ETIMEDOUT);
    ASSERT_ERR(qsem_acquire_for(s, 1, 20 * MS), ETIMEDOUT);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(qsem_waiting(s), NW);

    /* Release exactly what each head needs, one head at a time. */
    int64_t give[NW] = { 1, 1, 1, 3, 1, 2 };
    for (int i = 0; i < NW; i++) {
        ASSERT_OK(qsem_release(s, give[i]));
        test_join(ts[i]);
        ASSERT_OK(ws[i].result);
        ASSERT_EQ(atomic_load(&ws[i].order), i + 1);
        test_sleep_ns(10 * MS);
        /* Nobody behind the head was served with it. */
        ASSERT_EQ(nserved(ws, NW), i + 1);
        ASSERT_EQ(qsem_available(s), 0);
    }
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_OK(qsem_try_acquire(s, 0));
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_try_acquire(s, 1));
    qsem_unref(s);
}

/* One big release serves a prefix of the queue in order and stops at the
 * first request that does not fit, even if later ones would. */
static void
fifo_prefix(void)
{
    qsem_t *s = test_new(0, 100, QSEM_FIFO);
    int64_t wants[4] = { 1, 2, 5, 1 };
    struct waiter ws[4];
    pthread_t ts[4];
    atomic_store(&served_seq, 0);
    for (int i = 0; i < 4; i++) {
        ws[i] = (struct waiter){ .s = s, .n = wants[i] };
        ts[i] = test_thread(waiter_main, &ws[i]);
        test_wait_waiting(s, i + 1);
    }
    ASSERT_OK(qsem_release(s, 4));
    test_join(ts[0]);
    test_join(ts[1]);
    test_sleep_ns(50 * MS);
    ASSERT_EQ(nserved(ws, 4), 2);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(qsem_waiting(s), 2);
    ASSERT_OK(qsem_release(s, 5));
    /* Both served by one release: the order they wake in is the
     * scheduler's, so only that both were served is checked. */
    test_join(ts[2]);
    test_join(ts[3]);
    ASSERT_OK(ws[2].result);
    ASSERT_OK(ws[3].result);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    fifo_order();
    fifo_prefix();
    puts("test_fifo_order: ok");
    return 0;
}
