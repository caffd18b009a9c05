/* SPDX-License-Identifier: MIT */
/*
 * The default mode's window (docs/design.md, "Fairness and liveness").
 * Once a waiter has queued for QSEM_STARVE_NS, a window opens for it:
 * newcomers may no longer take tokens ahead of it, even tokens it cannot
 * use yet, so that a stream of small requests cannot keep the count below
 * its n forever.  If the window ends and it is still not served, barging
 * resumes: nobody else is held back for more than one window.
 */
#include <stdatomic.h>

#include "qsem_test.h"

/* One round: a thread starves in acquire(3); two tokens come.  Returns 1 if
 * the checks ran inside the window (the machine may preempt us for longer
 * than a window between the release and the checks: such a round proves
 * nothing and is tried again). */
static int
window_round(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct test_waiter w = { .s = s, .n = 3 };
    pthread_t t = test_thread(test_waiter_main, &w);
    test_wait_waiting(s, 1);
    /* Far past the bound (1 ms), with slack for a slow machine. */
    test_sleep_ns(20 * QSEM_STARVE_NS);

    int64_t t0 = test_now_ns();
    ASSERT_OK(qsem_release(s, 2));
    /* Two tokens free, the starving waiter wants three: newcomers of every
     * kind are held back instead of taking them. */
    int try1 = qsem_try_acquire(s, 1);
    int try2 = qsem_acquire_for(s, 1, 0);
    int64_t avail = qsem_available(s);
    int64_t t1 = test_now_ns();
    int inside = t1 - t0 < QSEM_WINDOW_NS;
    if (inside) {
        ASSERT_ERR(try1, EAGAIN);
        ASSERT_ERR(try2, ETIMEDOUT);
        ASSERT_EQ(avail, 2);
        ASSERT_EQ(atomic_load(&w.done), 0);
        ASSERT_OK(qsem_try_acquire(s, 0));
    }
    /* Undo what an inconclusive round took, then serve the waiter. */
    if (try1 == 0)
        ASSERT_OK(qsem_release(s, 1));
    if (try2 == 0)
        ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(qsem_available(s), 0);

    /* Served: barging is allowed again. */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_try_acquire(s, 1));
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
    return inside;
}

/* A head that is not served in its window holds nobody for longer. */
static void
window_ends(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct test_waiter w = { .s = s, .n = 3 };
    pthread_t t = test_thread(test_waiter_main, &w);
    test_wait_waiting(s, 1);
    test_sleep_ns(20 * QSEM_STARVE_NS);
    ASSERT_OK(qsem_release(s, 2));   /* opens the window */

    /* Held back for one window at most, then served: 10 s is only there so
     * that the test ends if it is not. */
    int64_t t0 = test_now_ns();
    ASSERT_OK(qsem_acquire_for(s, 1, 10000 * MS));
    int64_t waited = test_now_ns() - t0;
    printf("test_starve_bound: a newcomer waited %.3f ms behind an unserved "
           "window of %.1f ms\n", waited / 1e6, QSEM_WINDOW_NS / 1e6);
    /* The window is over, and the next one can open only at a release:
     * the last free token goes to a try, past the waiter. */
    ASSERT_OK(qsem_try_acquire(s, 1));
    ASSERT_EQ(atomic_load(&w.done), 0);
    ASSERT_EQ(qsem_available(s), 0);

    ASSERT_OK(qsem_release(s, 3));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

struct timed {
    qsem_t *s;
    int result;
};

static void *
short_wait_main(void *arg)
{
    struct timed *tw = arg;
    tw->result = qsem_acquire_for(tw->s, 1, 30 * MS);
    return NULL;
}

static void *
long_wait_main(void *arg)
{
    struct test_waiter *w = arg;
    w->result = qsem_acquire_for(w->s, w->n, 10000 * MS);
    atomic_store(&w->done, 1);
    return NULL;
}

/* A window that opens while everybody sleeps still ends on time: the
 * waiters went to sleep before it opened, and a request for 1 queued
 * behind the head gets the token that the window held back for the head.
 * Returns 1 if the release came inside the window (else the round proves
 * nothing: the release would have ended the window itself). */
static int
window_watched(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct test_waiter head = { .s = s, .n = 2, .result = -1 };
    struct test_waiter one = { .s = s, .n = 1, .result = -1 };
    pthread_t ht = test_thread(test_waiter_main, &head);
    test_wait_waiting(s, 1);
    pthread_t ot = test_thread(long_wait_main, &one);
    test_wait_waiting(s, 2);
    /* A third waiter times out after 30 ms: leaving, it runs the
     * dispatcher, which finds the head starving and opens a window. */
    struct timed tw = { .s = s };
    test_join(test_thread(short_wait_main, &tw));
    ASSERT_ERR(tw.result, ETIMEDOUT);
    int64_t t0 = test_now_ns();
    ASSERT_OK(qsem_release(s, 1));
    int inside = test_now_ns() - t0 < QSEM_WINDOW_NS;
    test_await(&one.done, 5000 * MS, "acquire(1) behind the head was not "
               "served after the window");
    ASSERT_OK(one.result);
    test_join(ot);
    ASSERT_EQ(atomic_load(&head.done), 0);
    ASSERT_OK(qsem_release(s, 2));
    test_join(ht);
    ASSERT_OK(head.result);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
    return inside;
}

int
main(void)
{
    test_watchdog(50);
    int conclusive = 0;
    for (int i = 0; i < 50 && !conclusive; i++)
        conclusive = window_round();
    if (!conclusive)
        TEST_FAIL("no round ran inside a %.1f ms window in 50 tries",
                  QSEM_WINDOW_NS / 1e6);
    window_ends();
    conclusive = 0;
    for (int i = 0; i < 20 && !conclusive; i++)
        conclusive = window_watched();
    if (!conclusive)
        TEST_FAIL("no release came inside the window in 20 tries");
    puts("test_starve_bound: ok");
    return 0;
}
