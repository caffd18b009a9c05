/* SPDX-License-Identifier: MIT */
/*
 * Small requests stay live beside a head waiter that cannot be served
 * (docs/design.md, "Fairness and liveness"), as Qt's
 * tst_qsemaphore::tryAcquireWithTimeoutStarvation checks: one token in
 * circulation, a thread looping acquire_for(1, 1 s) + release(1), and the
 * main thread asking for 2 tokens, which will never all be free.
 *
 * Default mode: the loop keeps succeeding for the whole 2 s that a timed
 * acquire(2) waits, and for 3 s beside an untimed acquire(2), which is
 * served once a second token comes.  FIFO mode keeps strict arrival order
 * instead: the loop waits behind the head (head-of-line blocking).
 */
#include <stdatomic.h>

#include "qsem_test.h"

struct loop {
    qsem_t *s;
    atomic_int stop;
    atomic_long ok;
    atomic_long failed;
    atomic_llong worst;   /* longest single acquire, ns */
};

static void *
loop_main(void *arg)
{
    struct loop *l = arg;
    while (!atomic_load(&l->stop)) {
        int64_t t0 = test_now_ns();
        int r = qsem_acquire_for(l->s, 1, 1000 * MS);
        int64_t took = test_now_ns() - t0;
        if (r != 0) {
            fprintf(stderr, "loop: acquire_for(1, 1 s) gave %s after %.3f ms\n",
                    test_errname(r), took / 1e6);
            atomic_fetch_add(&l->failed, 1);
            continue;
        }
        if (took > atomic_load(&l->worst))
            atomic_store(&l->worst, took);
        atomic_fetch_add(&l->ok, 1);
        ASSERT_OK(qsem_release(l->s, 1));
    }
    return NULL;
}

static void *
big_main(void *arg)
{
    struct test_waiter *w = arg;
    w->result = qsem_acquire(w->s, 2);
    atomic_store(&w->done, 1);
    return NULL;
}

/* The loop made progress over `ns` and never failed. */
static void
loop_keeps_going(struct loop *l, int64_t ns, const char *beside)
{
    long before = atomic_load(&l->ok);
    test_sleep_ns(ns);
    long done = atomic_load(&l->ok) - before;
    printf("test_liveness: beside %s the loop did %ld acquires in %.0f s, "
           "longest %.3f ms\n", beside, done, ns / 1e9,
           atomic_load(&l->worst) / 1e6);
    ASSERT_EQ(atomic_load(&l->failed), 0);
    /* Thousands on any machine; a stalled loop does at most a handful. */
    ASSERT_GE(done, 100);
}

static void
default_mode(void)
{
    struct loop l = { .s = test_new(1, QSEM_VALUE_MAX, 0) };
    pthread_t lt = test_thread(loop_main, &l);
    test_sleep_ns(10 * MS);

    /* A timed request for 2 waits its 2 s out while the loop runs on. */
    long before = atomic_load(&l.ok);
    int64_t t0 = test_now_ns();
    ASSERT_ERR(qsem_acquire_for(l.s, 2, 2000 * MS), ETIMEDOUT);
    int64_t waited = test_now_ns() - t0;
    ASSERT_GE(waited, 2000 * MS);
    ASSERT_EQ(atomic_load(&l.failed), 0);
    ASSERT_GE(atomic_load(&l.ok) - before, 100);
    printf("test_liveness: acquire_for(2, 2 s) timed out after %.3f ms; the "
           "loop did %ld acquires meanwhile, longest %.3f ms\n", waited / 1e6,
           atomic_load(&l.ok) - before, atomic_load(&l.worst) / 1e6);

    /* An untimed one: the loop still runs for 3 s beside it. */
    struct test_waiter big = { .s = l.s, .n = 2, .result = -1 };
    pthread_t bt = test_thread(big_main, &big);
    test_wait_waiting(l.s, 1);
    loop_keeps_going(&l, 3000 * MS, "an untimed acquire(2)");
    ASSERT_EQ(atomic_load(&big.done), 0);

    /* A second token: the big request is served, and nothing was lost. */
    atomic_store(&l.stop, 1);
    test_join(lt);
    ASSERT_OK(qsem_release(l.s, 1));
    test_join(bt);
    ASSERT_OK(big.result);
    ASSERT_EQ(qsem_available(l.s), 0);
    ASSERT_OK(qsem_release(l.s, 2));
    ASSERT_EQ(qsem_available(l.s), 2);
    ASSERT_EQ(qsem_waiting(l.s), 0);
    /* Nothing is held back any more. */
    ASSERT_OK(qsem_try_acquire(l.s, 2));
    qsem_unref(l.s);
}

/* FIFO: strict order, so the head blocks everybody behind it. */
static void
fifo_mode(void)
{
    qsem_t *s = test_new(1, QSEM_VALUE_MAX, QSEM_FIFO);
    struct test_waiter big = { .s = s, .n = 2, .result = -1 };
    pthread_t bt = test_thread(big_main, &big);
    test_wait_waiting(s, 1);
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_ERR(qsem_acquire_for(s, 1, 50 * MS), ETIMEDOUT);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_release(s, 1));
    test_join(bt);
    ASSERT_OK(big.result);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    default_mode();
    fifo_mode();
    puts("test_liveness: ok");
    return 0;
}
