/* SPDX-License-Identifier: MIT */
/*
 * No lost wake-ups: when a waiter at the head of the queue leaves without
 * tokens (its timeout expires), the waiters behind it whose requests fit
 * the free tokens are served at once, in both modes.  Also the classic
 * race of a release landing just as a waiter goes to sleep, many times.
 */
#include <stdatomic.h>

#include "qsem_test.h"

struct waiter {
    qsem_t *s;
    int64_t n, timeout;
    int result;
    int64_t returned_at;
    atomic_int done;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    w->result = qsem_acquire_for(w->s, w->n, w->timeout);
    w->returned_at = test_now_ns();
    atomic_store(&w->done, 1);
    return NULL;
}

static void
timed_out_head(unsigned flags)
{
    qsem_t *s = test_new(0, 10, flags);
    struct waiter head = { .s = s, .n = 5, .timeout = 200 * MS };
    struct waiter next[2] = { { .s = s, .n = 1, .timeout = -1 },
                              { .s = s, .n = 2, .timeout = -1 } };
    pthread_t th = test_thread(waiter_main, &head);
    test_wait_waiting(s, 1);
    /* Let the head pass the starvation bound, so that the default mode
     * also holds the others back behind it. */
    test_sleep_ns(5 * MS);
    pthread_t tn[2];
    for (int i = 0; i < 2; i++) {
        tn[i] = test_thread(waiter_main, &next[i]);
        test_wait_waiting(s, 2 + i);
    }
    ASSERT_OK(qsem_release(s, 3));
    test_join(th);
    ASSERT_ERR(head.result, ETIMEDOUT);
    for (int i = 0; i < 2; i++) {
        test_await(&next[i].done, 5000 * MS, "waiter %d (n=%" PRId64 ") behind a timed-out "
                   "head not served with %" PRId64 " free: lost wake-up", i, next[i].n,
                   qsem_available(s));
        test_join(tn[i]);
        ASSERT_OK(next[i].result);
        /* Served by the head's departure at the latest, not by chance. */
        ASSERT_LE(next[i].returned_at - head.returned_at, 1000 * MS);
    }
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

struct pingpong {
    qsem_t *a, *b;
    int rounds;
};

/* Two semaphores passing one token back and forth: every handoff is a
 * release racing the other side's way to sleep; one lost wake-up hangs. */
static void *
pong_main(void *arg)
{
    struct pingpong *p = arg;
    for (int i = 0; i < p->rounds; i++) {
        ASSERT_OK(qsem_acquire(p->b, 1));
        ASSERT_OK(qsem_release(p->a, 1));
    }
    return NULL;
}

static void
handoff_race(unsigned flags)
{
    struct pingpong p = { .a = test_new(0, 1, flags), .b = test_new(0, 1, flags),
                          .rounds = TEST_SANITIZED ? 5000 : 50000 };
    pthread_t t = test_thread(pong_main, &p);
    for (int i = 0; i < p.rounds; i++) {
        ASSERT_OK(qsem_release(p.b, 1));
        ASSERT_OK(qsem_acquire(p.a, 1));
    }
    test_join(t);
    ASSERT_EQ(qsem_available(p.a), 0);
    ASSERT_EQ(qsem_available(p.b), 0);
    qsem_unref(p.a);
    qsem_unref(p.b);
}

/* Many short timed waits expiring while releases arrive: whatever times
 * out, a waiter that fits must still be served. */
struct churn {
    qsem_t *s;
    int iters;
    int64_t got;
};

static void *
timed_churn_main(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < c->iters; i++) {
        int r = qsem_acquire_for(c->s, 1 + i % 3, (i % 5) * 20000);
        if (r == 0) {
            c->got += 1 + i % 3;
            ASSERT_OK(qsem_release(c->s, 1 + i % 3));
        } else {
            ASSERT_ERR(r, ETIMEDOUT);
        }
    }
    return NULL;
}

static void *
blocking_churn_main(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < c->iters; i++) {
        ASSERT_OK(qsem_acquire(c->s, 2));
        c->got += 2;
        ASSERT_OK(qsem_release(c->s, 2));
    }
    return NULL;
}

static void
timeouts_around_blockers(unsigned flags)
{
    qsem_t *s = test_new(3, 3, flags);
    int iters = TEST_SANITIZED ? 2000 : 20000;
    struct churn c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){ .s = s, .iters = iters };
        t[i] = test_thread(i < 2 ? timed_churn_main : blocking_churn_main, &c[i]);
    }
    for (int i = 0; i < 4; i++)
        test_join(t[i]);
    ASSERT_EQ(c[2].got, 2 * iters);
    ASSERT_EQ(c[3].got, 2 * iters);
    ASSERT_EQ(qsem_available(s), 3);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    timed_out_head(0);
    timed_out_head(QSEM_FIFO);
    handoff_race(0);
    handoff_race(QSEM_FIFO);
    timeouts_around_blockers(0);
    timeouts_around_blockers(QSEM_FIFO);
    puts("test_no_lost_wakeup: ok");
    return 0;
}
