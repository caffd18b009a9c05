/* SPDX-License-Identifier: MIT */
/*
 * Random cancellations by timeout.  Many threads wait for one to three
 * tokens with short random timeouts (0 to 300 us, often expiring just as a
 * release arrives), while a feeder keeps taking and returning tokens.  A
 * wait that times out must leave the queue without taking anything and
 * without stranding the waiters behind it (in FIFO mode a head that leaves
 * lets the next one through: docs/contract.md, "Wake-ups"); a grant that
 * races with the timeout is kept, never lost.  Checked: no timeout before
 * its deadline, every token back at the end, and right after the churn a
 * waiter whose request fits is served at once.
 */
#include <stdatomic.h>

#include "qsem_test.h"

#define THREADS 6
#define TOKENS 3

static atomic_int stop;

struct churner {
    qsem_t *s;
    uint64_t rng;
    long ok, timedout, early;
};

static void *
churner_main(void *arg)
{
    struct churner *c = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t n = 1 + (int64_t)(test_rand(&c->rng) % TOKENS);
        int64_t timeout = (int64_t)(test_rand(&c->rng) % 300) * 1000;
        int64_t t0 = test_now_ns();
        int r = qsem_acquire_for(c->s, n, timeout);
        if (r == 0) {
            c->ok++;
            ASSERT_OK(qsem_release(c->s, n));
        } else {
            ASSERT_ERR(r, ETIMEDOUT);
            if (test_now_ns() - t0 < timeout)
                c->early++;
            c->timedout++;
        }
    }
    return NULL;
}

/* Takes tokens away for a moment and gives them back, so that waiters come
 * and go with the supply. */
static void *
feeder_main(void *arg)
{
    qsem_t *s = arg;
    uint64_t rng = 42;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t n = 1 + (int64_t)(test_rand(&rng) % TOKENS);
        if (qsem_acquire_for(s, n, 1000 * 1000) == 0) {
            test_sleep_ns((int64_t)(test_rand(&rng) % 200) * 1000);
            ASSERT_OK(qsem_release(s, n));
        }
    }
    return NULL;
}

static void
run(unsigned flags, double secs)
{
    qsem_t *s = test_new(TOKENS, TOKENS, flags);
    struct churner c[THREADS];
    pthread_t t[THREADS], feeder;
    atomic_store(&stop, 0);
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct churner){ .s = s, .rng = (uint64_t)(i + 1) * 0x2545F4914F6CDD1Du };
        t[i] = test_thread(churner_main, &c[i]);
    }
    feeder = test_thread(feeder_main, s);
    test_sleep_ns((int64_t)(secs * 1e9));
    atomic_store(&stop, 1);
    long ok = 0, timedout = 0, early = 0;
    for (int i = 0; i < THREADS; i++) {
        test_join(t[i]);
        ok += c[i].ok;
        timedout += c[i].timedout;
        early += c[i].early;
    }
    test_join(feeder);
    printf("%s: %.1f s, %ld granted, %ld timed out\n", flags & QSEM_FIFO ? "fifo" : "default",
           secs, ok, timedout);
    ASSERT_EQ(early, 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    ASSERT_EQ(qsem_available(s), TOKENS);
    /* Both outcomes happened many times: the churn was real. */
    ASSERT_GE(ok, 100);
    ASSERT_GE(timedout, 100);
    /* Nothing was left behind: the whole count is available to one waiter
     * without any wait. */
    ASSERT_OK(qsem_try_acquire(s, TOKENS));
    ASSERT_OK(qsem_release(s, TOKENS));
    qsem_unref(s);
}

int
main(void)
{
    double secs = TEST_SANITIZED ? 2 : 4;
    test_watchdog(90);
    run(0, secs);
    run(QSEM_FIFO, secs);
    return 0;
}
