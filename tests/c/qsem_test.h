/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the C test programs: assertion macros that print
 * file:line and both values, errno names, a monotonic clock, thread helpers
 * and a watchdog.  Each test is one scenario in its own program (as glibc's
 * nptl/tst-semN.c), so a failure aborts at once and ctest reports the file.
 */
#ifndef QSEM_TEST_H
#define QSEM_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qsem.h"

static inline const char *
test_errname(int64_t e)
{
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR: return "EINTR";
    case EOVERFLOW: return "EOVERFLOW";
    case ECANCELED: return "ECANCELED";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EINPROGRESS: return "EINPROGRESS";
    default: return "?";
    }
}

#define TEST_FAIL(...)                                                         \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

/* Integer equality; both sides are evaluated once and printed on failure. */
#define ASSERT_EQ(a, b)                                                        \
    do {                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                          \
        if (a_ != b_)                                                          \
            TEST_FAIL("%s == %s failed: %" PRId64 " != %" PRId64, #a, #b,     \
                      a_, b_);                                                 \
    } while (0)

#define ASSERT_NE(a, b)                                                        \
    do {                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                          \
        if (a_ == b_)                                                          \
            TEST_FAIL("%s != %s failed: both %" PRId64, #a, #b, a_);           \
    } while (0)

#define ASSERT_LE(a, b)                                                        \
    do {                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                          \
        if (!(a_ <= b_))                                                       \
            TEST_FAIL("%s <= %s failed: %" PRId64 " > %" PRId64, #a, #b,      \
                      a_, b_);                                                 \
    } while (0)

#define ASSERT_GE(a, b) ASSERT_LE(b, a)
#define ASSERT_TRUE(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            TEST_FAIL("%s is false", #c);                                      \
    } while (0)

/* A qsem result code: printed by name, since 110 means little in a log. */
#define ASSERT_ERR(expr, want)                                                 \
    do {                                                                       \
        int64_t got_ = (int64_t)(expr), want_ = (int64_t)(want);               \
        if (got_ != want_)                                                     \
            TEST_FAIL("%s returned %s (%" PRId64 "), expected %s", #expr,      \
                      test_errname(got_), got_, test_errname(want_));          \
    } while (0)

#define ASSERT_OK(expr) ASSERT_ERR(expr, 0)

/* qsem_new()/qsem_waiter_new() must fail with NULL and this errno. */
#define ASSERT_NULL_ERRNO(expr, want)                                          \
    do {                                                                       \
        errno = 0;                                                             \
        void *p_ = (void *)(expr);                                             \
        int e_ = errno;                                                        \
        if (p_ != NULL)                                                        \
            TEST_FAIL("%s succeeded, expected NULL with %s", #expr,            \
                      test_errname(want));                                     \
        if (e_ != (want))                                                      \
            TEST_FAIL("%s set errno %s (%d), expected %s", #expr,              \
                      test_errname(e_), e_, test_errname(want));               \
    } while (0)

/* The test's own clock, independent of the library under test. */
static inline int64_t
test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define MS INT64_C(1000000)

static inline void
test_sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline qsem_t *
test_new(int64_t initial, int64_t max, unsigned flags)
{
    qsem_t *s = qsem_new(initial, max, flags);
    if (s == NULL)
        TEST_FAIL("qsem_new(%" PRId64 ", %" PRId64 ", %u): %s", initial, max,
                  flags, strerror(errno));
    return s;
}

static inline pthread_t
test_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    if (r != 0)
        TEST_FAIL("pthread_create: %s", strerror(r));
    return t;
}

static inline void *
test_join(pthread_t t)
{
    void *ret;
    int r = pthread_join(t, &ret);
    if (r != 0)
        TEST_FAIL("pthread_join: %s", strerror(r));
    return ret;
}

/*
 * Wait until `want` requests queue on s.  Queued is not yet asleep, so
 * callers that need a sleeping waiter add a short pause.  20 s is far past
 * any scheduling delay, even on a loaded machine: beyond that the waiter is
 * stuck, and the test fails here with the counts.
 */
static inline void
test_wait_waiting(const qsem_t *s, int64_t want)
{
    int64_t end = test_now_ns() + 20000 * MS;
    while (qsem_waiting(s) != want) {
        if (test_now_ns() > end)
            TEST_FAIL("qsem_waiting() stayed %" PRId64 ", expected %" PRId64,
                      qsem_waiting(s), want);
        test_sleep_ns(MS / 2);
    }
}

/* Wait up to `ns` for a thread to set *flag; a waiter that stays asleep
 * fails here with `what`, not later as an anonymous watchdog abort. */
#define test_await(flag, ns, ...)                                              \
    do {                                                                       \
        int64_t end_ = test_now_ns() + (ns);                                   \
        while (!atomic_load(flag)) {                                           \
            if (test_now_ns() > end_)                                          \
                TEST_FAIL(__VA_ARGS__);                                        \
            test_sleep_ns(MS / 2);                                             \
        }                                                                      \
    } while (0)

static void *
test_watchdog_main(void *arg)
{
    int64_t secs = (int64_t)(intptr_t)arg;
    test_sleep_ns(secs * 1000 * MS);
    fprintf(stderr, "watchdog: test still running after %" PRId64 " s, a "
            "waiter is probably stuck\n", secs);
    abort();
}

/* Abort with a message, instead of a silent ctest timeout, if the test hangs. */
static inline void
test_watchdog(int secs)
{
    pthread_t t = test_thread(test_watchdog_main, (void *)(intptr_t)secs);
    pthread_detach(t);
}

/* Sanitizer builds run several times slower; stress loops scale down. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#  define TEST_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#    define TEST_SANITIZED 1
#  endif
#endif
#ifndef TEST_SANITIZED
#  define TEST_SANITIZED 0
#endif

/* Small deterministic PRNG (xorshift64*), one state per thread. */
static inline uint64_t
test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

/* A thread blocked in qsem_acquire(s, n): start it with test_thread(); it
 * stores the result, then sets `done`. */
struct test_waiter {
    qsem_t *s;
    int64_t n;
    int result;
    atomic_int done;
};

static inline void *
test_waiter_main(void *arg)
{
    struct test_waiter *w = arg;
    w->result = qsem_acquire(w->s, w->n);
    atomic_store(&w->done, 1);
    return NULL;
}

/* A qsem_notify_fn that counts its calls in the atomic_int it is given. */
static inline void
test_count_notify(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

#endif /* QSEM_TEST_H */
