/* SPDX-License-Identifier: MIT */
/*
 * Closes in the middle of heavy contention.  Each round, threads hammer one
 * semaphore with every kind of acquire while it is closed (or its last
 * handle dropped) at a random moment.  Every thread must come back: a wait
 * that was queued returns ECANCELED, later acquires return ECANCELED at
 * once, releases keep working so holders can finish (docs/contract.md, "Close").
 * When they are done every token is back, whatever the close interrupted,
 * and the semaphore is freed only after its last waiter (ASan checks that).
 */
#include <stdatomic.h>

#include "qsem_test.h"

#define THREADS 6
#define TOKENS 4

static long total_ops;

struct worker {
    qsem_t *s;
    uint64_t rng;
    long ops, cancelled;
    int64_t held;
};

static void
give_back(struct worker *w)
{
    if (w->held > 0) {
        /* Works after close: holders must be able to finish. */
        ASSERT_OK(qsem_release(w->s, w->held));
        w->held = 0;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        int64_t n = 1 + (int64_t)(test_rand(&w->rng) % 3);
        int r;
        switch (test_rand(&w->rng) % 4) {
        case 0:  r = qsem_acquire(w->s, n); break;
        case 1:  r = qsem_acquire_for(w->s, n, (int64_t)(test_rand(&w->rng) % 300) * 1000); break;
        case 2:  r = qsem_acquire_until(w->s, n, QSEM_FOREVER, QSEM_INTR); break;
        default: r = qsem_try_acquire(w->s, n); break;
        }
        w->ops++;
        if (r == ECANCELED) {
            w->cancelled++;
            give_back(w);
            /* Closed stays closed: even a request that fits now fails. */
            ASSERT_ERR(qsem_try_acquire(w->s, 1), ECANCELED);
            ASSERT_ERR(qsem_acquire(w->s, 1), ECANCELED);
            return NULL;
        }
        if (r == 0) {
            w->held += n;
            /* Sometimes hold two grants at once, so that a close finds
             * tokens out; release the rest. */
            if (w->held > 3 || test_rand(&w->rng) % 2)
                give_back(w);
        } else if (r != EAGAIN && r != ETIMEDOUT) {
            TEST_FAIL("acquire(%" PRId64 ") returned %s", n, test_errname(r));
        }
    }
}

static void
round_(uint64_t seed)
{
    unsigned flags = seed % 3 == 0 ? QSEM_FIFO : 0;
    qsem_t *s = test_new(TOKENS, TOKENS, flags);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .s = s, .rng = seed * 7919 + (uint64_t)i + 1 };
        t[i] = test_thread(worker_main, &w[i]);
    }
    uint64_t rng = seed + 1;
    test_sleep_ns((int64_t)(test_rand(&rng) % 3000) * 1000);
    ASSERT_OK(qsem_close(s));
    if (seed % 2)
        ASSERT_OK(qsem_close(s));   /* twice is harmless */
    for (int i = 0; i < THREADS; i++) {
        test_join(t[i]);
        ASSERT_EQ(w[i].cancelled, 1);
        ASSERT_EQ(w[i].held, 0);
        total_ops += w[i].ops;
    }
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), TOKENS);
    ASSERT_EQ(qsem_is_closed(s), 1);
    qsem_unref(s);
}

/* The last handle dropped while threads sleep: they wake with ECANCELED and
 * the memory lives until the last of them has returned. */
static atomic_int unref_results[THREADS];

struct sleeper {
    qsem_t *s;
    int id;
};

static void *
sleeper_main(void *arg)
{
    struct sleeper *sl = arg;
    unref_results[sl->id] = qsem_acquire(sl->s, 1);
    return NULL;
}

static void
last_unref_round(void)
{
    qsem_t *s = test_new(0, TOKENS, 0);
    struct sleeper sl[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        sl[i] = (struct sleeper){ s, i };
        t[i] = test_thread(sleeper_main, &sl[i]);
    }
    test_wait_waiting(s, THREADS);
    qsem_unref(s);    /* s may be freed from here on, once they return */
    for (int i = 0; i < THREADS; i++) {
        test_join(t[i]);
        ASSERT_ERR(unref_results[i], ECANCELED);
    }
}

int
main(void)
{
    test_watchdog(100);
    int rounds = TEST_SANITIZED ? 60 : 300;
    int64_t t0 = test_now_ns();
    for (int r = 0; r < rounds; r++)
        round_((uint64_t)r);
    for (int r = 0; r < 50; r++)
        last_unref_round();
    printf("%d close rounds with %d threads (%ld operations), 50 last-unref rounds, %.1f s\n",
           rounds, THREADS, total_ops,
           (double)(test_now_ns() - t0) / 1e9);
    return 0;
}
