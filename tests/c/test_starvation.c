/* SPDX-License-Identifier: MIT */
/*
 * Starvation freedom: 4 threads churn acquire(1)/release(1) on 4 tokens
 * while one thread waits in acquire(4).  The 4 tokens are rarely all free
 * at once, so a semaphore that lets newcomers overtake forever (Qt's) can
 * starve the big request for as long as the churn lasts; qsem must serve it
 * within 100 ms, in the default mode (after QSEM_STARVE_NS of waiting) as in
 * FIFO mode.
 */
#include <stdatomic.h>

#include "qsem_test.h"

#define NCHURN 4
#define BOUND (100 * MS)
/* Work done while holding a token: churners hold most of the time, so all
 * four tokens are rarely free at once unless the semaphore makes room. */
#ifndef HOLD_SPINS
#  define HOLD_SPINS 500
#endif

struct shared {
    qsem_t *s;
    atomic_int stop;
    atomic_long ops;
};

static void *
churn_main(void *arg)
{
    struct shared *sh = arg;
    long ops = 0;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        ASSERT_OK(qsem_acquire(sh->s, 1));
        /* Hold the token across a little work, as a real user would. */
        for (int i = 0; i < HOLD_SPINS; i++)
            __asm__ __volatile__("");
        ASSERT_OK(qsem_release(sh->s, 1));
        ops++;
    }
    atomic_fetch_add(&sh->ops, ops);
    return NULL;
}

static void
starvation(unsigned flags, const char *mode)
{
    struct shared sh = { .s = test_new(NCHURN, NCHURN, flags) };
    pthread_t ts[NCHURN];
    for (int i = 0; i < NCHURN; i++)
        ts[i] = test_thread(churn_main, &sh);
    test_sleep_ns(50 * MS);

    int rounds = 20;
    int64_t worst = 0, total = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t t0 = test_now_ns();
        ASSERT_OK(qsem_acquire(sh.s, NCHURN));
        int64_t waited = test_now_ns() - t0;
        /* Everything is ours: the churners are all blocked now. */
        ASSERT_EQ(qsem_available(sh.s), 0);
        ASSERT_OK(qsem_release(sh.s, NCHURN));
        if (waited > worst)
            worst = waited;
        total += waited;
        test_sleep_ns(20 * MS);
    }
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < NCHURN; i++)
        test_join(ts[i]);

    long ops = atomic_load(&sh.ops);
    printf("test_starvation (%s): acquire(4) worst %.3f ms, mean %.3f ms over %d "
           "rounds; churners did %ld ops\n", mode, worst / 1e6,
           total / 1e6 / rounds, rounds, ops);
    /* Without churn the measurement would prove nothing. */
    ASSERT_GE(ops, 1000);
    if (worst > BOUND)
        TEST_FAIL("%s: acquire(4) waited %.3f ms among 1-token churners "
                  "(bound %.0f ms)", mode, worst / 1e6, BOUND / 1e6);
    ASSERT_EQ(qsem_available(sh.s), NCHURN);
    ASSERT_EQ(qsem_waiting(sh.s), 0);
    qsem_unref(sh.s);
}

int
main(void)
{
    test_watchdog(50);
    starvation(0, "default");
    starvation(QSEM_FIFO, "FIFO");
    puts("test_starvation: ok");
    return 0;
}
