/* SPDX-License-Identifier: MIT */
/*
 * Lifetime: dropping the last handle while threads wait closes the
 * semaphore and wakes them with ECANCELED, but its memory stays until the
 * last of them has returned (each waiter pins it).  Under AddressSanitizer
 * an early free shows as a use-after-free in the waking threads.
 */
#include <stdatomic.h>

#include "qsem_test.h"

struct waiter {
    qsem_t *s;
    int64_t n;
    int form;
    int result;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    switch (w->form % 3) {
    case 0: w->result = qsem_acquire(w->s, w->n); break;
    case 1: w->result = qsem_acquire_for(w->s, w->n, 30000 * MS); break;
    default: w->result = qsem_acquire_until(w->s, w->n, QSEM_FOREVER, QSEM_INTR); break;
    }
    return NULL;
}

static atomic_int notified;
#define NW 4

/* The last handle goes while NW threads and one async waiter wait. */
static void
last_unref_wakes(unsigned flags, int settle)
{
    qsem_t *s = test_new(1, 10, flags);
    struct waiter ws[NW];
    pthread_t ts[NW];
    for (int i = 0; i < NW; i++) {
        ws[i] = (struct waiter){ .s = s, .n = 2 + i, .form = i, .result = -1 };
        ts[i] = test_thread(waiter_main, &ws[i]);
    }
    atomic_store(&notified, 0);
    qsem_waiter_t *aw = qsem_waiter_new(s, 5, test_count_notify, &notified);
    ASSERT_TRUE(aw != NULL);
    ASSERT_ERR(qsem_waiter_start(aw), EINPROGRESS);
    /* Only once every thread is inside its call may the handle go. */
    test_wait_waiting(s, NW + 1);
    if (settle)
        test_sleep_ns(20 * MS);

    qsem_unref(s);
    /* From here on only the waiters may touch s. */
    for (int i = 0; i < NW; i++) {
        test_join(ts[i]);
        ASSERT_ERR(ws[i].result, ECANCELED);
    }
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_ERR(qsem_waiter_result(aw), ECANCELED);
    ASSERT_ERR(qsem_waiter_claim(aw), ECANCELED);
    /* The async waiter is the last pin: this frees the semaphore. */
    qsem_waiter_free(aw);
}

/* Dropping one of two handles closes nothing: the waiter is served later
 * through the other handle. */
static void
other_handle_keeps_open(void)
{
    qsem_t *s = test_new(0, 10, 0);
    qsem_t *s2 = qsem_ref(s);
    struct waiter w = { .s = s, .n = 2, .form = 0, .result = -1 };
    pthread_t t = test_thread(waiter_main, &w);
    test_wait_waiting(s2, 1);
    qsem_unref(s);
    test_sleep_ns(30 * MS);
    ASSERT_EQ(qsem_is_closed(s2), 0);
    ASSERT_EQ(qsem_waiting(s2), 1);
    ASSERT_OK(qsem_release(s2, 2));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(qsem_available(s2), 0);
    qsem_unref(s2);
}

/* A waiter holding its own handle still sees the close, and its handle
 * keeps the memory valid afterwards. */
static void *
own_handle_main(void *arg)
{
    struct waiter *w = arg;
    qsem_t *mine = w->s;
    w->result = qsem_acquire(mine, w->n);
    /* Closed but alive: every query still works on our own handle. */
    if (qsem_is_closed(mine) != 1 || qsem_available(mine) != 0)
        w->result = -2;
    qsem_unref(mine);
    return NULL;
}

static void
waiter_with_own_handle(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct waiter w = { .s = qsem_ref(s), .n = 1, .result = -1 };
    pthread_t t = test_thread(own_handle_main, &w);
    test_wait_waiting(s, 1);
    /* Not the last handle: close explicitly, then drop ours. */
    ASSERT_OK(qsem_close(s));
    qsem_unref(s);
    test_join(t);
    ASSERT_ERR(w.result, ECANCELED);
}

int
main(void)
{
    test_watchdog(50);
    last_unref_wakes(0, 1);
    last_unref_wakes(QSEM_FIFO, 1);
    /* Repeat without the pause, so the unref races the waiters going to
     * sleep: the window where an early free would bite. */
    int rounds = TEST_SANITIZED ? 100 : 300;
    for (int i = 0; i < rounds; i++)
        last_unref_wakes(i % 2 ? QSEM_FIFO : 0, 0);
    other_handle_keeps_open();
    waiter_with_own_handle();
    puts("test_unref_while_waiting: ok");
    return 0;
}
