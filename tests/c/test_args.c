/* SPDX-License-Identifier: MIT */
/*
 * Every function against hostile counts and every error value it can give:
 * the exact result code, and that a failed call changed nothing (contract:
 * "every count is range-checked before any state changes").
 */
#include "qsem_test.h"

#define VMAX QSEM_VALUE_MAX

/* Counts no acquire may accept on a semaphore whose maximum is `max`. */
static void
check_bad_acquire_counts(qsem_t *s)
{
    int64_t before = qsem_available(s);
    int64_t max = qsem_max(s);
    int64_t bad[] = { -1, -2, INT64_MIN, INT64_MIN + 1, max + 1, INT64_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t n = bad[i];
        if (n >= 0 && n <= max)
            continue;
        ASSERT_ERR(qsem_acquire(s, n), EINVAL);
        ASSERT_ERR(qsem_try_acquire(s, n), EINVAL);
        ASSERT_ERR(qsem_acquire_for(s, n, 0), EINVAL);
        ASSERT_ERR(qsem_acquire_for(s, n, 10 * MS), EINVAL);
        ASSERT_ERR(qsem_acquire_for(s, n, -1), EINVAL);
        ASSERT_ERR(qsem_acquire_until(s, n, 0, 0), EINVAL);
        ASSERT_ERR(qsem_acquire_until(s, n, QSEM_FOREVER, 0), EINVAL);
        ASSERT_ERR(qsem_acquire_until(s, n, QSEM_FOREVER, QSEM_INTR), EINVAL);
        ASSERT_NULL_ERRNO(qsem_waiter_new(s, n, NULL, NULL), EINVAL);
        ASSERT_EQ(qsem_available(s), before);
        ASSERT_EQ(qsem_waiting(s), 0);
    }
}

static void
check_new(void)
{
    /* initial < 0 */
    ASSERT_NULL_ERRNO(qsem_new(-1, VMAX, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(INT64_MIN, VMAX, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(-1, -1, 0), EINVAL);
    /* max < initial */
    ASSERT_NULL_ERRNO(qsem_new(5, 4, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(0, -1, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(0, INT64_MIN, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(VMAX, VMAX - 1, 0), EINVAL);
    /* past QSEM_VALUE_MAX */
    ASSERT_NULL_ERRNO(qsem_new(0, VMAX + 1, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(0, INT64_MAX, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(VMAX + 1, VMAX + 1, 0), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(INT64_MAX, INT64_MAX, 0), EINVAL);
    /* unknown flags */
    ASSERT_NULL_ERRNO(qsem_new(0, VMAX, 0x2u), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(0, VMAX, ~0u), EINVAL);
    ASSERT_NULL_ERRNO(qsem_new(0, VMAX, QSEM_FIFO | 0x80000000u), EINVAL);

    /* The edges themselves are valid. */
    struct { int64_t initial, max; unsigned flags; } ok[] = {
        { 0, 0, 0 }, { 0, 1, 0 }, { 1, 1, QSEM_FIFO }, { 0, VMAX, 0 },
        { VMAX, VMAX, 0 }, { VMAX, VMAX, QSEM_FIFO }, { 7, 7, 0 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        qsem_t *s = test_new(ok[i].initial, ok[i].max, ok[i].flags);
        ASSERT_EQ(qsem_available(s), ok[i].initial);
        ASSERT_EQ(qsem_max(s), ok[i].max);
        ASSERT_EQ(qsem_waiting(s), 0);
        ASSERT_EQ(qsem_is_closed(s), 0);
        qsem_unref(s);
    }
}

static void
test_acquire_counts(void)
{
    unsigned modes[] = { 0, QSEM_FIFO };
    int64_t maxes[] = { 0, 1, 10, VMAX };
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
            int64_t max = maxes[i];
            int64_t initial = max < 3 ? max : 3;
            qsem_t *s = test_new(initial, max, modes[m]);
            check_bad_acquire_counts(s);

            /* n == 0 succeeds at once, even with nothing free. */
            ASSERT_OK(qsem_acquire(s, 0));
            ASSERT_OK(qsem_try_acquire(s, 0));
            ASSERT_OK(qsem_acquire_for(s, 0, 0));
            ASSERT_OK(qsem_acquire_until(s, 0, 0, 0));
            ASSERT_EQ(qsem_available(s), initial);

            /* n == max is a valid request: it fails only for lack of tokens. */
            if (max > initial) {
                ASSERT_ERR(qsem_try_acquire(s, max), EAGAIN);
                ASSERT_ERR(qsem_acquire_for(s, max, 0), ETIMEDOUT);
                ASSERT_ERR(qsem_acquire_until(s, max, 0, 0), ETIMEDOUT);
                ASSERT_ERR(qsem_acquire_until(s, max, INT64_MIN, 0), ETIMEDOUT);
                ASSERT_EQ(qsem_available(s), initial);
            }
            qsem_unref(s);
        }
    }

    /* With nothing free every zero-wait form gives its own "not now". */
    qsem_t *s = test_new(0, 10, 0);
    ASSERT_OK(qsem_acquire(s, 0));
    ASSERT_ERR(qsem_try_acquire(s, 1), EAGAIN);
    ASSERT_ERR(qsem_acquire_for(s, 1, 0), ETIMEDOUT);
    ASSERT_ERR(qsem_acquire_until(s, 1, 0, 0), ETIMEDOUT);
    ASSERT_ERR(qsem_acquire_until(s, 1, qsem_now_ns() - 1, QSEM_INTR), ETIMEDOUT);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

static void
test_acquire_until_flags(void)
{
    qsem_t *s = test_new(2, 10, 0);
    unsigned bad[] = { 0x2u, 0x4u, 0x80000000u, ~0u, QSEM_INTR | 0x100u };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Rejected even though the request could be met at once. */
        ASSERT_ERR(qsem_acquire_until(s, 1, QSEM_FOREVER, bad[i]), EINVAL);
        ASSERT_ERR(qsem_acquire_until(s, 1, 0, bad[i]), EINVAL);
        ASSERT_EQ(qsem_available(s), 2);
    }
    ASSERT_OK(qsem_acquire_until(s, 1, QSEM_FOREVER, QSEM_INTR));
    ASSERT_OK(qsem_acquire_until(s, 1, 0, 0));
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

static void
test_value_max(void)
{
    qsem_t *s = test_new(VMAX, VMAX, 0);
    ASSERT_ERR(qsem_release(s, 1), EOVERFLOW);
    ASSERT_ERR(qsem_release(s, VMAX), EOVERFLOW);
    ASSERT_ERR(qsem_release(s, INT64_MAX), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), VMAX);
    ASSERT_OK(qsem_acquire(s, VMAX));
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_OK(qsem_release(s, VMAX));
    ASSERT_EQ(qsem_available(s), VMAX);
    ASSERT_OK(qsem_try_acquire(s, VMAX - 1));
    ASSERT_EQ(qsem_available(s), 1);
    /* 1 + (VMAX - 1) + 1 would pass the maximum by one. */
    ASSERT_ERR(qsem_release(s, VMAX), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_release(s, VMAX - 1));
    ASSERT_EQ(qsem_available(s), VMAX);
    qsem_unref(s);
}

static void
test_release(void)
{
    /* Default maximum: QSEM_VALUE_MAX; the sum must not wrap int64. */
    qsem_t *s = test_new(0, VMAX, 0);
    ASSERT_ERR(qsem_release(s, -1), EINVAL);
    ASSERT_ERR(qsem_release(s, INT64_MIN), EINVAL);
    ASSERT_ERR(qsem_release(s, VMAX + 1), EOVERFLOW);
    ASSERT_ERR(qsem_release(s, INT64_MAX), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_OK(qsem_release(s, 0));
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_ERR(qsem_release(s, INT64_MAX), EOVERFLOW);
    ASSERT_ERR(qsem_release(s, VMAX), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_release(s, VMAX - 1));
    ASSERT_EQ(qsem_available(s), VMAX);
    ASSERT_ERR(qsem_release(s, 1), EOVERFLOW);
    ASSERT_OK(qsem_release(s, 0));
    ASSERT_EQ(qsem_available(s), VMAX);
    qsem_unref(s);

    /* A bounded semaphore: a release that would pass max is refused whole,
     * never applied in part. */
    s = test_new(2, 3, 0);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(qsem_available(s), 3);
    ASSERT_ERR(qsem_release(s, 1), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), 3);
    ASSERT_OK(qsem_acquire(s, 2));
    ASSERT_ERR(qsem_release(s, 3), EOVERFLOW);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_ERR(qsem_release(s, -1), EINVAL);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_OK(qsem_release(s, 2));
    ASSERT_EQ(qsem_available(s), 3);
    qsem_unref(s);

    /* max == 0: nothing can ever be released or acquired. */
    s = test_new(0, 0, 0);
    ASSERT_ERR(qsem_release(s, 1), EOVERFLOW);
    ASSERT_ERR(qsem_acquire(s, 1), EINVAL);
    ASSERT_OK(qsem_release(s, 0));
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

static void
test_closed(void)
{
    unsigned modes[] = { 0, QSEM_FIFO };
    for (size_t m = 0; m < 2; m++) {
        qsem_t *s = test_new(5, 10, modes[m]);
        ASSERT_EQ(qsem_is_closed(s), 0);
        ASSERT_OK(qsem_close(s));
        ASSERT_EQ(qsem_is_closed(s), 1);
        ASSERT_OK(qsem_close(s));
        ASSERT_EQ(qsem_is_closed(s), 1);

        /* Closed wins over free tokens, for every acquire form. */
        ASSERT_ERR(qsem_acquire(s, 1), ECANCELED);
        ASSERT_ERR(qsem_try_acquire(s, 1), ECANCELED);
        ASSERT_ERR(qsem_acquire_for(s, 1, 0), ECANCELED);
        ASSERT_ERR(qsem_acquire_for(s, 1, 100 * MS), ECANCELED);
        ASSERT_ERR(qsem_acquire_for(s, 1, -1), ECANCELED);
        ASSERT_ERR(qsem_acquire_until(s, 1, 0, 0), ECANCELED);
        ASSERT_ERR(qsem_acquire_until(s, 1, QSEM_FOREVER, QSEM_INTR), ECANCELED);
        ASSERT_ERR(qsem_acquire(s, 10), ECANCELED);
        ASSERT_EQ(qsem_available(s), 5);

        /* Bad counts stay bad arguments after close. */
        ASSERT_ERR(qsem_release(s, -1), EINVAL);
        ASSERT_ERR(qsem_release(s, 6), EOVERFLOW);

        /* Release keeps working so that holders can finish. */
        ASSERT_OK(qsem_release(s, 5));
        ASSERT_EQ(qsem_available(s), 10);
        ASSERT_EQ(qsem_waiting(s), 0);
        qsem_unref(s);
    }
}

static int notified;
static void
count_notify(void *arg)
{
    (void)arg;
    notified++;
}

static void
test_waiter_args(void)
{
    qsem_t *s = test_new(1, 4, 0);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, -1, count_notify, NULL), EINVAL);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, INT64_MIN, count_notify, NULL), EINVAL);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, 5, count_notify, NULL), EINVAL);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, INT64_MAX, count_notify, NULL), EINVAL);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, VMAX, count_notify, NULL), EINVAL);

    qsem_waiter_t *w = qsem_waiter_new(s, 2, count_notify, NULL);
    ASSERT_TRUE(w != NULL);
    /* Not started: no result, nothing to claim, cancel is harmless. */
    ASSERT_ERR(qsem_waiter_result(w), EINVAL);
    ASSERT_ERR(qsem_waiter_claim(w), EINVAL);
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_ERR(qsem_waiter_result(w), EINVAL);
    ASSERT_EQ(qsem_waiting(s), 0);

    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_ERR(qsem_waiter_start(w), EBUSY);
    ASSERT_EQ(qsem_waiting(s), 1);
    ASSERT_ERR(qsem_waiter_result(w), EINPROGRESS);
    ASSERT_ERR(qsem_waiter_claim(w), EINPROGRESS);
    ASSERT_OK(qsem_waiter_cancel(w));
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(notified, 0);
    qsem_waiter_free(w);
    qsem_waiter_free(NULL);

    /* A waiter for 0 tokens is granted at once. */
    w = qsem_waiter_new(s, 0, count_notify, NULL);
    ASSERT_TRUE(w != NULL);
    ASSERT_OK(qsem_waiter_start(w));
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_OK(qsem_waiter_claim(w));
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(notified, 0);

    /* Started after close: ECANCELED, and nothing queued. */
    w = qsem_waiter_new(s, 1, count_notify, NULL);
    ASSERT_TRUE(w != NULL);
    ASSERT_OK(qsem_close(s));
    ASSERT_ERR(qsem_waiter_start(w), ECANCELED);
    ASSERT_ERR(qsem_waiter_start(w), ECANCELED);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), 1);
    qsem_waiter_free(w);
    qsem_unref(s);
}

static void
test_misc(void)
{
    qsem_t *s = test_new(3, 9, QSEM_FIFO);
    ASSERT_TRUE(qsem_ref(s) == s);
    qsem_unref(s);
    ASSERT_EQ(qsem_is_closed(s), 0);
    ASSERT_EQ(qsem_max(s), 9);
    qsem_unref(s);
    qsem_unref(NULL);

    /* Every result code has its own non-empty text; unknown codes still get one. */
    int codes[] = { 0, EINVAL, EAGAIN, ETIMEDOUT, EINTR, EOVERFLOW, ECANCELED, ENOMEM };
    size_t ncodes = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < ncodes; i++) {
        const char *t = qsem_strerror(codes[i]);
        ASSERT_TRUE(t != NULL && t[0] != '\0');
        for (size_t j = 0; j < i; j++)
            if (strcmp(t, qsem_strerror(codes[j])) == 0)
                TEST_FAIL("qsem_strerror(%s) == qsem_strerror(%s) == \"%s\"",
                          test_errname(codes[i]), test_errname(codes[j]), t);
    }
    ASSERT_TRUE(qsem_strerror(-1) != NULL);
    ASSERT_TRUE(qsem_strerror(123456) != NULL);

    /* qsem_now_ns() is CLOCK_MONOTONIC, the clock deadlines are read on. */
    int64_t a = test_now_ns(), b = qsem_now_ns(), c = test_now_ns();
    ASSERT_LE(a, b);
    ASSERT_LE(b, c);
}

int
main(void)
{
    test_watchdog(50);
    check_new();
    test_acquire_counts();
    test_acquire_until_flags();
    test_value_max();
    test_release();
    test_closed();
    test_waiter_args();
    test_misc();
    puts("test_args: ok");
    return 0;
}
