/* SPDX-License-Identifier: MIT */
/*
 * The yields of the poll and linger phases respect the deadline and the
 * load (qsem.c, qsem_yield).  Under CFS a sched_yield() beside CPU-bound
 * threads can give a whole time slice away: a timed wait then comes back
 * milliseconds late, and a waiter that a release served while it was
 * lingering stays off the CPU.  This program stands in its own
 * sched_yield() (the core is linked in statically) that takes as long as
 * such a yield, 20 ms, and counts the calls, so it checks the mechanism
 * without needing a loaded machine:
 *
 *   - no yield starts within QSEM_YIELD_SLOW_NS of the deadline;
 *   - after one slow yield nobody yields for a while: timed waits come
 *     back on time, and a blocked acquire sleeps and is woken by the
 *     release instead of lingering.
 */
#include <sched.h>
#include <stdatomic.h>

#include "qsem_test.h"
#include "qsem_internal.h"

#define SLOW_YIELD (20 * MS)

static atomic_int yields;

int
sched_yield(void)
{
    atomic_fetch_add(&yields, 1);
    test_sleep_ns(SLOW_YIELD);
    return 0;
}

static int
cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

#define TRIES 15

/*
 * The bounds leave room for the scheduler, which on a loaded machine can
 * keep a woken thread off the CPU for several ms: without the rule every
 * wait yields, several times, so the yields are at least TRIES and the
 * median wait includes at least one slow yield.  At most a third of the
 * waits yielding, and a median below one slow yield, say the rule works
 * without asking the machine to be idle.
 */
#define MAX_YIELDS (TRIES / 3)
#define MAX_MEDIAN (SLOW_YIELD * 3 / 4)

/* A wait whose deadline is too near for a yield makes none. */
static void
near_deadline(void)
{
    qsem_t *s = test_new(0, 10, 0);
    qsem__yield_hint_reset();
    atomic_store(&yields, 0);
    ASSERT_ERR(qsem_acquire_for(s, 1, QSEM_YIELD_SLOW_NS / 2), ETIMEDOUT);
    ASSERT_EQ(atomic_load(&yields), 0);
    qsem_unref(s);
}

/* Timed waits of 2 ms: one slow yield, rarely more, then on time. */
static void
timed_waits(void)
{
    qsem_t *s = test_new(0, 10, 0);
    int64_t late[TRIES];
    qsem__yield_hint_reset();
    atomic_store(&yields, 0);
    for (int i = 0; i < TRIES; i++) {
        int64_t t0 = test_now_ns();
        ASSERT_ERR(qsem_acquire_for(s, 1, 2 * MS), ETIMEDOUT);
        late[i] = test_now_ns() - t0 - 2 * MS;
    }
    int y = atomic_load(&yields);
    qsort(late, TRIES, sizeof late[0], cmp64);
    printf("test_yield_deadline: 2 ms timeouts: %d yields in %d waits, median "
           "%.3f ms late, worst %.3f ms\n", y, TRIES, late[TRIES / 2] / 1e6,
           late[TRIES - 1] / 1e6);
    ASSERT_LE(y, MAX_YIELDS);
    ASSERT_LE(late[TRIES / 2], MAX_MEDIAN);
    qsem_unref(s);
}

/* A blocked acquire: woken by the release, not returning after a yield. */
static void
wake_ups(void)
{
    qsem_t *s = test_new(0, 10, 0);
    int64_t lat[TRIES];
    qsem__yield_hint_reset();
    atomic_store(&yields, 0);
    for (int i = 0; i < TRIES; i++) {
        struct test_waiter w = { .s = s, .n = 1, .result = -1 };
        pthread_t t = test_thread(test_waiter_main, &w);
        test_wait_waiting(s, 1);
        int64_t t0 = test_now_ns();
        ASSERT_OK(qsem_release(s, 1));
        while (!atomic_load(&w.done))
            ;
        lat[i] = test_now_ns() - t0;
        test_join(t);
        ASSERT_OK(w.result);
    }
    int y = atomic_load(&yields);
    qsort(lat, TRIES, sizeof lat[0], cmp64);
    printf("test_yield_deadline: release to return: %d yields in %d waits, "
           "median %.3f ms, worst %.3f ms\n", y, TRIES, lat[TRIES / 2] / 1e6,
           lat[TRIES - 1] / 1e6);
    ASSERT_LE(y, MAX_YIELDS);
    ASSERT_LE(lat[TRIES / 2], MAX_MEDIAN);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    near_deadline();
    timed_waits();
    wake_ups();
    puts("test_yield_deadline: ok");
    return 0;
}
