/* SPDX-License-Identifier: MIT */
/*
 * qsem_close() wakes every waiter, whatever form its wait takes, with
 * ECANCELED and no token; later acquires fail at once; release still works.
 */
#include <stdatomic.h>

#include "qsem_test.h"

enum form { UNTIMED, FOR, UNTIL, UNTIL_INTR, NFORMS };

struct waiter {
    qsem_t *s;
    enum form form;
    int64_t n;
    int result;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    switch (w->form) {
    case UNTIMED: w->result = qsem_acquire(w->s, w->n); break;
    case FOR: w->result = qsem_acquire_for(w->s, w->n, 30000 * MS); break;
    case UNTIL:
        w->result = qsem_acquire_until(w->s, w->n, qsem_now_ns() + 30000 * MS, 0);
        break;
    case UNTIL_INTR:
        w->result = qsem_acquire_until(w->s, w->n, QSEM_FOREVER, QSEM_INTR);
        break;
    default: abort();
    }
    return NULL;
}

static atomic_int notified;
#define NWAITERS 8

static void
close_wakes(unsigned flags)
{
    /* 2 tokens free, every waiter wants more than that. */
    qsem_t *s = test_new(2, 100, flags);
    struct waiter ws[NWAITERS];
    pthread_t ts[NWAITERS];
    for (int i = 0; i < NWAITERS; i++) {
        ws[i] = (struct waiter){ .s = s, .form = (enum form)(i % NFORMS), .n = 3 + i };
        ts[i] = test_thread(waiter_main, &ws[i]);
    }
    atomic_store(&notified, 0);
    qsem_waiter_t *aw = qsem_waiter_new(s, 50, test_count_notify, &notified);
    ASSERT_TRUE(aw != NULL);
    ASSERT_ERR(qsem_waiter_start(aw), EINPROGRESS);
    test_wait_waiting(s, NWAITERS + 1);
    test_sleep_ns(50 * MS);

    int64_t t0 = test_now_ns();
    ASSERT_OK(qsem_close(s));
    for (int i = 0; i < NWAITERS; i++) {
        test_join(ts[i]);
        if (ws[i].result != ECANCELED)
            TEST_FAIL("waiter %d (form %d, n=%" PRId64 ") returned %s, expected ECANCELED",
                      i, ws[i].form, ws[i].n, test_errname(ws[i].result));
    }
    /* Prompt: woken by close, not by their 30 s timeouts. */
    ASSERT_LE(test_now_ns() - t0, 5000 * MS);
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_ERR(qsem_waiter_result(aw), ECANCELED);
    qsem_waiter_free(aw);

    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_EQ(qsem_is_closed(s), 1);

    /* Later acquires fail at once, even those that fit. */
    int64_t t1 = test_now_ns();
    ASSERT_ERR(qsem_acquire(s, 1), ECANCELED);
    ASSERT_ERR(qsem_acquire(s, 3), ECANCELED);
    ASSERT_ERR(qsem_acquire_for(s, 5, 10000 * MS), ECANCELED);
    ASSERT_ERR(qsem_acquire_until(s, 5, QSEM_FOREVER, 0), ECANCELED);
    ASSERT_ERR(qsem_try_acquire(s, 1), ECANCELED);
    ASSERT_LE(test_now_ns() - t1, 2000 * MS);

    /* Holders can still give back what they took; the maximum still holds. */
    ASSERT_OK(qsem_release(s, 98));
    ASSERT_EQ(qsem_available(s), 100);
    ASSERT_ERR(qsem_release(s, 1), EOVERFLOW);
    ASSERT_OK(qsem_close(s));
    ASSERT_EQ(qsem_available(s), 100);
    qsem_unref(s);
}

/* A thread that enters its wait just as another closes gets ECANCELED or
 * nothing at all: never stuck, never a token. */
static void *
racer_main(void *arg)
{
    struct waiter *w = arg;
    w->result = qsem_acquire(w->s, w->n);
    return NULL;
}

static void
close_races_entry(void)
{
    int rounds = TEST_SANITIZED ? 50 : 200;
    for (int r = 0; r < rounds; r++) {
        qsem_t *s = test_new(0, 10, r % 2 ? QSEM_FIFO : 0);
        struct waiter ws[3];
        pthread_t ts[3];
        for (int i = 0; i < 3; i++) {
            ws[i] = (struct waiter){ .s = s, .n = 1 + i };
            ts[i] = test_thread(racer_main, &ws[i]);
        }
        if (r % 3 == 0)
            test_sleep_ns(MS / 4);
        ASSERT_OK(qsem_close(s));
        for (int i = 0; i < 3; i++) {
            test_join(ts[i]);
            ASSERT_ERR(ws[i].result, ECANCELED);
        }
        ASSERT_EQ(qsem_waiting(s), 0);
        ASSERT_EQ(qsem_available(s), 0);
        qsem_unref(s);
    }
}

int
main(void)
{
    test_watchdog(50);
    close_wakes(0);
    close_wakes(QSEM_FIFO);
    close_races_entry();
    puts("test_close_wakes_waiters: ok");
    return 0;
}
