/* SPDX-License-Identifier: MIT */
/*
 * A starvation window must be ended on time by someone (csrc/qsem.c,
 * qsem__window_try_open).  Only a blocked thread can watch one: the owner
 * of an async waiter (an event loop, a coroutine host, a binding's own
 * wait) is woken only by notify.  So with async waiters alone no window
 * opens, and a newcomer that finds tokens free takes them, however long
 * the head has waited; and a window whose last watching thread leaves
 * closes then.  Before, the window stayed open with nobody to end it, and
 * the newcomer waited with a token free until some unrelated event.
 */
#include <stdatomic.h>

#include "qsem_test.h"

static atomic_int notified;

static void
on_notify(void *arg)
{
    (void)arg;
    atomic_fetch_add(&notified, 1);
}

struct timed {
    qsem_t *s;
    int64_t n, timeout_ns;
    int result;
    atomic_int done;
};

static void *
timed_main(void *p)
{
    struct timed *t = p;
    t->result = qsem_acquire_for(t->s, t->n, t->timeout_ns);
    atomic_store(&t->done, 1);
    return NULL;
}

/* A head that can never be served, waiting long enough to be protected,
 * then one token released: the newcomer for one gets it at once. */
static void
async_only(void)
{
    qsem_t *s = test_new(0, 10, 0);
    qsem_waiter_t *head = qsem_waiter_new(s, 5, on_notify, NULL);
    ASSERT_TRUE(head != NULL);
    ASSERT_ERR(qsem_waiter_start(head), EINPROGRESS);
    test_sleep_ns(5 * MS);                 /* > QSEM_STARVE_NS */
    ASSERT_OK(qsem_release(s, 1));         /* the head cannot use it */
    qsem_waiter_t *b = qsem_waiter_new(s, 1, on_notify, NULL);
    ASSERT_TRUE(b != NULL);
    ASSERT_OK(qsem_waiter_start(b));       /* granted at start: no window */
    ASSERT_OK(qsem_waiter_claim(b));
    ASSERT_EQ(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_try_acquire(s, 1));     /* a plain newcomer too */
    ASSERT_EQ(atomic_load(&notified), 0);
    qsem_waiter_free(b);
    qsem_waiter_free(head);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

/* A window opened while a thread waited behind an async head; the thread
 * leaves (its timeout), and an async newcomer queued meanwhile is served
 * once the window is gone, not left behind it. */
static void
watcher_leaves(void)
{
    qsem_t *s = test_new(0, 10, 0);
    qsem_waiter_t *head = qsem_waiter_new(s, 5, on_notify, NULL);
    ASSERT_TRUE(head != NULL);
    ASSERT_ERR(qsem_waiter_start(head), EINPROGRESS);
    test_sleep_ns(5 * MS);
    struct timed t = { s, 2, 2 * MS, -1, 0 };
    pthread_t th = test_thread(timed_main, &t);
    /* On a loaded machine the thread may give up before it is seen queued:
     * then no window opens, and the newcomer below is served all the same. */
    while (qsem_waiting(s) != 2 && !atomic_load(&t.done))
        test_sleep_ns(MS / 4);
    ASSERT_OK(qsem_release(s, 1));         /* a window may open for the head */
    test_join(th);                         /* the thread gave up */
    ASSERT_EQ(t.result, ETIMEDOUT);
    atomic_store(&notified, 0);
    qsem_waiter_t *b = qsem_waiter_new(s, 1, on_notify, NULL);
    ASSERT_TRUE(b != NULL);
    int r = qsem_waiter_start(b);
    if (r == EINPROGRESS) {
        /* queued: only if the window was still on; nothing else will happen */
        int64_t end = test_now_ns() + 1000 * MS;
        while (qsem_waiter_result(b) == EINPROGRESS && test_now_ns() < end)
            test_sleep_ns(MS);
        r = qsem_waiter_result(b);
    }
    ASSERT_OK(r);
    ASSERT_OK(qsem_waiter_claim(b));
    qsem_waiter_free(b);
    qsem_waiter_free(head);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

static void *
acquire2_main(void *p)
{
    struct timed *t = p;
    t->result = qsem_acquire_for(t->s, 2, t->timeout_ns);
    return NULL;
}

/* An async head queued while no thread was: its wait counts from the first
 * dispatch that finds a thread queued behind it, not from its enqueue (no
 * clock read per async enqueue), so no window opens for it then, and the
 * thread takes tokens that fit.  Once it has waited QSEM_STARVE_NS from
 * that dispatch, a window protects it as any head. */
static void
late_watcher(void)
{
    qsem_t *s = test_new(0, 10, 0);
    atomic_store(&notified, 0);
    qsem_waiter_t *head = qsem_waiter_new(s, 5, on_notify, NULL);
    ASSERT_TRUE(head != NULL);
    ASSERT_ERR(qsem_waiter_start(head), EINPROGRESS);
    test_sleep_ns(5 * MS);                 /* > QSEM_STARVE_NS, with no thread queued */

    struct timed t1 = { s, 2, 5000 * MS, -1, 0 };
    pthread_t th = test_thread(acquire2_main, &t1);
    test_wait_waiting(s, 2);
    ASSERT_OK(qsem_release(s, 1));         /* nobody fits; the head's wait counts from here */
    ASSERT_OK(qsem_release(s, 1));         /* no window: the thread's 2 fit */
    ASSERT_EQ(qsem_waiting(s), 1);
    test_join(th);
    ASSERT_OK(t1.result);

    struct timed t2 = { s, 2, 5000 * MS, -1, 0 };
    th = test_thread(acquire2_main, &t2);
    test_wait_waiting(s, 2);
    test_sleep_ns(3 * MS);                 /* the head has waited QSEM_STARVE_NS since */
    ASSERT_OK(qsem_release(s, 1));         /* nobody fits: a window opens for the head */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(qsem_waiting(s), 2);         /* kept for the head */
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_OK(qsem_release(s, 3));         /* the head's 5 */
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_OK(qsem_waiter_claim(head));
    ASSERT_OK(qsem_release(s, 2));         /* the thread's */
    test_join(th);
    ASSERT_OK(t2.result);
    qsem_waiter_free(head);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
    atomic_store(&notified, 0);
}

int
main(void)
{
    test_watchdog(30);
    for (int i = 0; i < 20; i++) {
        async_only();
        watcher_leaves();
        late_watcher();
    }
    puts("test_window_async: ok");
    return 0;
}
