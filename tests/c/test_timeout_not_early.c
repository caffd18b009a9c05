/* SPDX-License-Identifier: MIT */
/*
 * A timed wait never returns ETIMEDOUT before its deadline, returns soon
 * after it, and wake-ups that do not satisfy it (partial releases) neither
 * end it early nor push the deadline back: it resumes with the time left.
 * Style of glibc's nptl/tst-sem5.c ("timeout too short").
 */
#include <stdatomic.h>

#include "qsem_test.h"

/* Two noisy cores, maybe a sanitizer: lateness is allowed, earliness never. */
#define SLACK (3000 * MS)
#define TIMEOUT (200 * MS)

/* `quiet`: nobody else touches s meanwhile, so the count must not move. */
static void
check_for(qsem_t *s, int64_t n, int quiet)
{
    int64_t avail = qsem_available(s);
    int64_t t0 = test_now_ns();
    int r = qsem_acquire_for(s, n, TIMEOUT);
    int64_t took = test_now_ns() - t0;
    ASSERT_ERR(r, ETIMEDOUT);
    if (took < TIMEOUT)
        TEST_FAIL("acquire_for(%" PRId64 ", 200 ms) timed out after %" PRId64
                  " us: too early", n, took / 1000);
    ASSERT_LE(took, TIMEOUT + SLACK);
    if (quiet)
        ASSERT_EQ(qsem_available(s), avail);
    ASSERT_EQ(qsem_waiting(s), 0);
}

static void
check_until(qsem_t *s, int64_t n, unsigned flags)
{
    int64_t avail = qsem_available(s);
    int64_t deadline = qsem_now_ns() + TIMEOUT;
    int r = qsem_acquire_until(s, n, deadline, flags);
    int64_t now = qsem_now_ns();
    ASSERT_ERR(r, ETIMEDOUT);
    if (now < deadline)
        TEST_FAIL("acquire_until returned %" PRId64 " us before its deadline",
                  (deadline - now) / 1000);
    ASSERT_LE(now - deadline, SLACK);
    ASSERT_EQ(qsem_available(s), avail);
    ASSERT_EQ(qsem_waiting(s), 0);
}

struct dripper {
    qsem_t *s;
    atomic_int stop;
    int released;
};

/* Releases one token every 20 ms: each wakes the semaphore's dispatcher
 * but never satisfies a waiter for more than the total. */
static void *
dripper_main(void *arg)
{
    struct dripper *d = arg;
    while (!atomic_load(&d->stop)) {
        test_sleep_ns(20 * MS);
        if (atomic_load(&d->stop))
            break;
        ASSERT_OK(qsem_release(d->s, 1));
        d->released++;
    }
    return NULL;
}

struct releaser {
    qsem_t *s;
    int64_t after, n;
};

static void *
releaser_main(void *arg)
{
    struct releaser *r = arg;
    test_sleep_ns(r->after);
    ASSERT_OK(qsem_release(r->s, r->n));
    return NULL;
}

static void
timeouts(unsigned flags)
{
    qsem_t *s = test_new(0, QSEM_VALUE_MAX, flags);
    check_for(s, 1, 1);
    check_until(s, 1, 0);
    check_until(s, 1, QSEM_INTR);
    ASSERT_OK(qsem_release(s, 2));
    check_for(s, 3, 1);
    check_until(s, 3, 0);

    /* Partial releases while waiting for 1000: no early end, no late end. */
    struct dripper d = { .s = s };
    pthread_t t = test_thread(dripper_main, &d);
    check_for(s, 1000, 0);
    atomic_store(&d.stop, 1);
    test_join(t);
    ASSERT_GE(d.released, 3);
    ASSERT_EQ(qsem_available(s), 2 + d.released);
    ASSERT_OK(qsem_acquire(s, 2 + d.released));

    /* A wait that is satisfied before its deadline returns then, with 0. */
    struct releaser rel = { .s = s, .after = 50 * MS, .n = 2 };
    t = test_thread(releaser_main, &rel);
    int64_t t0 = test_now_ns();
    ASSERT_OK(qsem_acquire_for(s, 2, 10000 * MS));
    int64_t took = test_now_ns() - t0;
    ASSERT_GE(took, 40 * MS);
    ASSERT_LE(took, 5000 * MS);
    test_join(t);
    ASSERT_EQ(qsem_available(s), 0);

    /* Zero and past deadlines try once and never sleep. */
    t0 = test_now_ns();
    for (int i = 0; i < 100; i++) {
        ASSERT_ERR(qsem_acquire_for(s, 1, 0), ETIMEDOUT);
        ASSERT_ERR(qsem_acquire_until(s, 1, qsem_now_ns(), 0), ETIMEDOUT);
        ASSERT_ERR(qsem_acquire_until(s, 1, INT64_MIN, 0), ETIMEDOUT);
    }
    ASSERT_LE(test_now_ns() - t0, 1000 * MS);

    /* A negative timeout means forever, not "already expired"; the largest
     * finite timeout must not overflow into the past either. */
    int64_t forever[] = { -1, INT64_MIN, INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        rel = (struct releaser){ .s = s, .after = 100 * MS, .n = 1 };
        t = test_thread(releaser_main, &rel);
        t0 = test_now_ns();
        ASSERT_OK(qsem_acquire_for(s, 1, forever[i]));
        ASSERT_GE(test_now_ns() - t0, 90 * MS);
        test_join(t);
    }
    rel = (struct releaser){ .s = s, .after = 100 * MS, .n = 1 };
    t = test_thread(releaser_main, &rel);
    ASSERT_OK(qsem_acquire_until(s, 1, INT64_MAX - 1, 0));
    test_join(t);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    timeouts(0);
    timeouts(QSEM_FIFO);
    puts("test_timeout_not_early: ok");
    return 0;
}
