/* SPDX-License-Identifier: MIT */
/*
 * Signals and waits.  With QSEM_INTR a handler that runs in the waiter ends
 * the wait with EINTR, no token taken and its place in the queue given up
 * (waiting() drops back).  Without it the wait goes on and succeeds later,
 * and a timed wait keeps its original deadline.  Both with a handler
 * installed with SA_RESTART and without: the kernel restarts an untimed
 * futex wait under SA_RESTART but not a timed one, and neither may show.
 */
#include <signal.h>
#include <stdatomic.h>

#include "qsem_test.h"

static volatile sig_atomic_t handled;

static void
on_signal(int sig)
{
    (void)sig;
    handled = handled + 1;
}

static void
install(int sa_flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = sa_flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        TEST_FAIL("sigaction: %s", strerror(errno));
}

struct waiter {
    qsem_t *s;
    int64_t n;
    int64_t deadline;   /* QSEM_FOREVER, or absolute */
    unsigned flags;
    int result;
    int64_t returned_at;
    atomic_int done;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    w->result = qsem_acquire_until(w->s, w->n, w->deadline, w->flags);
    w->returned_at = test_now_ns();
    atomic_store(&w->done, 1);
    return NULL;
}

static void
kill_waiter(pthread_t t)
{
    int r = pthread_kill(t, SIGUSR1);
    if (r != 0)
        TEST_FAIL("pthread_kill: %s", strerror(r));
}

static const char *
describe(int sa_flags, int timed)
{
    if (sa_flags & SA_RESTART)
        return timed ? "SA_RESTART, timed" : "SA_RESTART, untimed";
    return timed ? "no SA_RESTART, timed" : "no SA_RESTART, untimed";
}

/* QSEM_INTR: EINTR, with count and queue exactly as before the wait. */
static void
intr_ends_wait(unsigned mode, int sa_flags, int timed)
{
    install(sa_flags);
    handled = 0;
    qsem_t *s = test_new(1, 10, mode);
    struct waiter w = { .s = s, .n = 2, .flags = QSEM_INTR };
    w.deadline = timed ? qsem_now_ns() + 20000 * MS : QSEM_FOREVER;
    pthread_t t = test_thread(waiter_main, &w);
    test_wait_waiting(s, 1);
    test_sleep_ns(50 * MS);
    ASSERT_EQ(atomic_load(&w.done), 0);

    int64_t t0 = test_now_ns();
    kill_waiter(t);
    test_await(&w.done, 5000 * MS, "%s: QSEM_INTR wait still asleep 5 s after a signal",
               describe(sa_flags, timed));
    test_join(t);
    if (w.result != EINTR)
        TEST_FAIL("%s: QSEM_INTR wait returned %s, expected EINTR",
                  describe(sa_flags, timed), test_errname(w.result));
    ASSERT_LE(w.returned_at - t0, 5000 * MS);
    ASSERT_GE(handled, 1);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(qsem_waiting(s), 0);

    /* The bookkeeping is undone: a later release is not owed to the gone
     * waiter, and the semaphore still works normally. */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_OK(qsem_try_acquire(s, 2));
    qsem_unref(s);
}

/* No QSEM_INTR: the signal is absorbed and the wait succeeds later. */
static void
no_intr_continues(unsigned mode, int sa_flags, int timed)
{
    install(sa_flags);
    handled = 0;
    qsem_t *s = test_new(1, 10, mode);
    struct waiter w = { .s = s, .n = 2, .flags = 0 };
    w.deadline = timed ? qsem_now_ns() + 20000 * MS : QSEM_FOREVER;
    pthread_t t = test_thread(waiter_main, &w);
    test_wait_waiting(s, 1);
    test_sleep_ns(30 * MS);

    for (int i = 0; i < 5; i++) {
        kill_waiter(t);
        test_sleep_ns(10 * MS);
    }
    test_sleep_ns(50 * MS);
    if (atomic_load(&w.done))
        TEST_FAIL("%s: wait without QSEM_INTR ended on a signal with %s",
                  describe(sa_flags, timed), test_errname(w.result));
    ASSERT_EQ(qsem_waiting(s), 1);
    ASSERT_EQ(qsem_available(s), 1);

    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_GE(handled, 1);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

/* A timed wait hit by signals keeps its original deadline. */
static void
signals_keep_deadline(int sa_flags)
{
    install(sa_flags);
    qsem_t *s = test_new(0, 10, 0);
    struct waiter w = { .s = s, .n = 1, .flags = 0 };
    w.deadline = qsem_now_ns() + 300 * MS;
    pthread_t t = test_thread(waiter_main, &w);
    test_wait_waiting(s, 1);
    while (!atomic_load(&w.done)) {
        /* The waiter may end between the check and the kill. */
        int r = pthread_kill(t, SIGUSR1);
        if (r != 0 && r != ESRCH)
            TEST_FAIL("pthread_kill: %s", strerror(r));
        test_sleep_ns(15 * MS);
    }
    test_join(t);
    ASSERT_ERR(w.result, ETIMEDOUT);
    /* test_now_ns() and qsem_now_ns() read the same clock. */
    ASSERT_GE(w.returned_at, w.deadline);
    ASSERT_LE(w.returned_at - w.deadline, 3000 * MS);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

struct plain {
    qsem_t *s;
    int result;
};

static void *
plain_acquire_main(void *arg)
{
    struct plain *p = arg;
    p->result = qsem_acquire(p->s, 1);
    return NULL;
}

static void *
plain_for_main(void *arg)
{
    struct plain *p = arg;
    p->result = qsem_acquire_for(p->s, 1, 20000 * MS);
    return NULL;
}

/* qsem_acquire() and qsem_acquire_for() are never interruptible. */
static void
plain_forms_ignore_signals(int sa_flags)
{
    install(sa_flags);
    void *(*fns[])(void *) = { plain_acquire_main, plain_for_main };
    for (int i = 0; i < 2; i++) {
        qsem_t *s = test_new(0, 10, 0);
        struct plain p = { .s = s, .result = -1 };
        pthread_t t = test_thread(fns[i], &p);
        test_wait_waiting(s, 1);
        test_sleep_ns(30 * MS);
        kill_waiter(t);
        test_sleep_ns(50 * MS);
        ASSERT_EQ(qsem_waiting(s), 1);
        ASSERT_OK(qsem_release(s, 1));
        test_join(t);
        ASSERT_OK(p.result);
        ASSERT_EQ(qsem_available(s), 0);
        qsem_unref(s);
    }
}

/* An interrupted waiter at the head of the queue must pass the turn on: the
 * waiter behind it, whose request fits, is served (no lost wake-up). */
static void
intr_head_passes_turn(unsigned mode)
{
    install(0);
    qsem_t *s = test_new(0, 10, mode);
    struct waiter head = { .s = s, .n = 3, .deadline = QSEM_FOREVER, .flags = QSEM_INTR };
    struct waiter next = { .s = s, .n = 1, .deadline = QSEM_FOREVER, .flags = 0 };
    pthread_t th = test_thread(waiter_main, &head);
    test_wait_waiting(s, 1);
    test_sleep_ns(5 * MS);
    pthread_t tn = test_thread(waiter_main, &next);
    test_wait_waiting(s, 2);
    ASSERT_OK(qsem_release(s, 1));
    test_sleep_ns(30 * MS);
    if (mode & QSEM_FIFO)
        ASSERT_EQ(atomic_load(&next.done), 0);
    kill_waiter(th);
    test_await(&head.done, 5000 * MS, "QSEM_INTR head still asleep 5 s after a signal");
    test_join(th);
    ASSERT_ERR(head.result, EINTR);
    test_await(&next.done, 5000 * MS, "the waiter behind an interrupted head was not "
               "served although its request fits: lost wake-up");
    test_join(tn);
    ASSERT_OK(next.result);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    unsigned modes[] = { 0, QSEM_FIFO };
    int sa[] = { SA_RESTART, 0 };
    for (int m = 0; m < 2; m++)
        for (int f = 0; f < 2; f++)
            for (int timed = 0; timed < 2; timed++) {
                intr_ends_wait(modes[m], sa[f], timed);
                no_intr_continues(modes[m], sa[f], timed);
            }
    signals_keep_deadline(SA_RESTART);
    signals_keep_deadline(0);
    plain_forms_ignore_signals(SA_RESTART);
    plain_forms_ignore_signals(0);
    intr_head_passes_turn(0);
    intr_head_passes_turn(QSEM_FIFO);
    puts("test_eintr: ok");
    return 0;
}
