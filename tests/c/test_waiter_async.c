/* SPDX-License-Identifier: MIT */
/*
 * The asynchronous waiter API (qsem_waiter_*): start, result, claim,
 * cancel and free; notify runs once on the resolving thread; a cancel after
 * the grant gives the tokens back; close resolves with ECANCELED; async
 * waiters share the queue and its order with blocked threads.
 */
#include <stdatomic.h>

#include "qsem_test.h"

struct note {
    atomic_int calls;
    pthread_t by;
};

static void
on_notify(void *arg)
{
    struct note *nt = arg;
    nt->by = pthread_self();
    atomic_fetch_add(&nt->calls, 1);
}

static qsem_waiter_t *
new_waiter(qsem_t *s, int64_t n, struct note *nt)
{
    qsem_waiter_t *w = qsem_waiter_new(s, n, on_notify, nt);
    if (w == NULL)
        TEST_FAIL("qsem_waiter_new: %s", strerror(errno));
    return w;
}

static void
granted_at_start(void)
{
    qsem_t *s = test_new(3, 10, 0);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 2, &nt);
    ASSERT_EQ(qsem_available(s), 3);  /* creating takes nothing */
    ASSERT_OK(qsem_waiter_start(w));
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_OK(qsem_waiter_claim(w));
    /* Claimed: cancel and free keep the tokens with the caller. */
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_available(s), 1);
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    qsem_unref(s);
}

/*
 * A grant at start is a grant like any other (qsem.h): until it is claimed
 * or cancelled a second start is EBUSY and takes nothing, and free gives
 * unclaimed tokens back.
 */
static void
granted_at_start_unclaimed(void)
{
    qsem_t *s = test_new(4, 10, 0);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 2, &nt);
    ASSERT_OK(qsem_waiter_start(w));
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_ERR(qsem_waiter_start(w), EBUSY);
    ASSERT_EQ(qsem_available(s), 2);
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 4);
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    qsem_unref(s);
}

struct releaser {
    qsem_t *s;
    int64_t n;
    pthread_t self;
};

static void *
releaser_main(void *arg)
{
    struct releaser *r = arg;
    r->self = pthread_self();
    ASSERT_OK(qsem_release(r->s, r->n));
    return NULL;
}

static void
queued_then_granted(void)
{
    qsem_t *s = test_new(1, 10, 0);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 3, &nt);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_ERR(qsem_waiter_start(w), EBUSY);
    ASSERT_EQ(qsem_waiting(s), 1);
    ASSERT_ERR(qsem_waiter_result(w), EINPROGRESS);
    ASSERT_ERR(qsem_waiter_claim(w), EINPROGRESS);

    /* A partial release: still queued, no notify. */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    ASSERT_ERR(qsem_waiter_result(w), EINPROGRESS);
    ASSERT_EQ(qsem_available(s), 2);

    /* The completing release, from another thread, runs notify there,
     * before release returns, and the tokens are reserved for w. */
    struct releaser rel = { .s = s, .n = 1 };
    pthread_t t = test_thread(releaser_main, &rel);
    test_join(t);
    ASSERT_EQ(atomic_load(&nt.calls), 1);
    ASSERT_TRUE(pthread_equal(nt.by, rel.self));
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_ERR(qsem_waiter_start(w), EBUSY);
    ASSERT_OK(qsem_waiter_claim(w));
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(atomic_load(&nt.calls), 1);
    qsem_unref(s);
}

static void
cancel_after_grant(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 4, &nt);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_OK(qsem_release(s, 5));
    ASSERT_EQ(atomic_load(&nt.calls), 1);
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_EQ(qsem_available(s), 1);
    /* Not claimed: cancel returns the 4 tokens and resets the waiter. */
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_available(s), 5);
    ASSERT_ERR(qsem_waiter_result(w), EINVAL);
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_available(s), 5);

    /* Reusable after cancel. */
    ASSERT_OK(qsem_waiter_start(w));
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_waiter_claim(w));
    /* Claimed tokens survive a cancel. */
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_available(s), 1);
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 1);

    /* Cancel while queued: it leaves the queue, a later release is not
     * taken by it and notify never runs. */
    w = new_waiter(s, 3, &nt);
    atomic_store(&nt.calls, 0);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_OK(qsem_release(s, 3));
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    ASSERT_EQ(qsem_available(s), 4);
    /* Freed while queued: same. */
    ASSERT_OK(qsem_acquire(s, 4));
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_OK(qsem_release(s, 3));
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    ASSERT_EQ(qsem_available(s), 3);
    qsem_unref(s);
}

static void
close_resolves(void)
{
    qsem_t *s = test_new(1, 10, 0);
    struct note a = { 0 }, b = { 0 };
    qsem_waiter_t *wa = new_waiter(s, 2, &a);
    qsem_waiter_t *wb = new_waiter(s, 7, &b);
    ASSERT_ERR(qsem_waiter_start(wa), EINPROGRESS);
    ASSERT_ERR(qsem_waiter_start(wb), EINPROGRESS);
    ASSERT_EQ(qsem_waiting(s), 2);
    ASSERT_OK(qsem_close(s));
    ASSERT_EQ(atomic_load(&a.calls), 1);
    ASSERT_EQ(atomic_load(&b.calls), 1);
    ASSERT_ERR(qsem_waiter_result(wa), ECANCELED);
    ASSERT_ERR(qsem_waiter_result(wb), ECANCELED);
    ASSERT_ERR(qsem_waiter_claim(wa), ECANCELED);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), 1);
    /* Restarting a reset waiter on a closed semaphore fails at once. */
    ASSERT_OK(qsem_waiter_cancel(wa));
    ASSERT_ERR(qsem_waiter_start(wa), ECANCELED);
    ASSERT_EQ(atomic_load(&a.calls), 1);
    qsem_waiter_free(wa);
    qsem_waiter_free(wb);
    ASSERT_EQ(qsem_available(s), 1);
    qsem_unref(s);
}

struct blocked {
    qsem_t *s;
    int64_t n;
    int result;
    atomic_int done;
};

static void *
blocked_main(void *arg)
{
    struct blocked *b = arg;
    b->result = qsem_acquire(b->s, b->n);
    atomic_store(&b->done, 1);
    return NULL;
}

/* Async waiters and threads share one FIFO queue. */
static void
shared_queue_fifo(void)
{
    qsem_t *s = test_new(0, 10, QSEM_FIFO);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 2, &nt);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    struct blocked b = { .s = s, .n = 1 };
    pthread_t t = test_thread(blocked_main, &b);
    test_wait_waiting(s, 2);

    ASSERT_OK(qsem_release(s, 1));
    test_sleep_ns(30 * MS);
    ASSERT_EQ(atomic_load(&b.done), 0);   /* the async head comes first */
    ASSERT_EQ(atomic_load(&nt.calls), 0);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(atomic_load(&nt.calls), 1);
    ASSERT_OK(qsem_waiter_claim(w));
    test_sleep_ns(30 * MS);
    ASSERT_EQ(atomic_load(&b.done), 0);
    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(b.result);
    qsem_waiter_free(w);

    /* Cancelling the async head hands its turn to the thread behind it. */
    w = new_waiter(s, 3, &nt);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    b = (struct blocked){ .s = s, .n = 1 };
    t = test_thread(blocked_main, &b);
    test_wait_waiting(s, 2);
    ASSERT_OK(qsem_release(s, 1));
    test_sleep_ns(30 * MS);
    ASSERT_EQ(atomic_load(&b.done), 0);
    ASSERT_OK(qsem_waiter_cancel(w));
    test_join(t);
    ASSERT_OK(b.result);
    ASSERT_EQ(qsem_available(s), 0);

    /* Cancelling a granted, unclaimed head passes its tokens on too. */
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_OK(qsem_release(s, 3));
    ASSERT_OK(qsem_waiter_result(w));
    b = (struct blocked){ .s = s, .n = 2 };
    t = test_thread(blocked_main, &b);
    test_wait_waiting(s, 1);
    ASSERT_OK(qsem_waiter_cancel(w));
    test_join(t);
    ASSERT_OK(b.result);
    ASSERT_EQ(qsem_available(s), 1);
    qsem_waiter_free(w);
    qsem_unref(s);
}

/* try_acquire in FIFO mode fails while an async waiter queues. */
static void
fifo_try_behind_async(void)
{
    qsem_t *s = test_new(1, 10, QSEM_FIFO);
    struct note nt = { 0 };
    qsem_waiter_t *w = new_waiter(s, 2, &nt);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_EQ(qsem_available(s), 1);
    qsem_waiter_free(w);
    ASSERT_OK(qsem_try_acquire(s, 1));
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    granted_at_start();
    queued_then_granted();
    cancel_after_grant();
    close_resolves();
    shared_queue_fifo();
    fifo_try_behind_async();
    granted_at_start_unclaimed();
    puts("test_waiter_async: ok");
    return 0;
}
