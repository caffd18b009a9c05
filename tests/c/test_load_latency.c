/* SPDX-License-Identifier: MIT */
/*
 * Timed waits and wake-ups stay on time under CPU-bound load: 4 busy
 * threads share one CPU with a waiter.  A sched_yield() there can give each
 * busy thread a time slice before the waiter runs again, so a core that
 * yields regardless makes a 2 ms timeout come back tens of milliseconds
 * late and a served waiter return long after the release (qsem.c,
 * qsem_yield).  The bounds are generous (a median under 10 ms, where such
 * a core gives tens): the machine may be shared.
 */
#include <sched.h>
#include <stdatomic.h>

#include "qsem_test.h"

#define NBUSY 4
#define TRIES 21
#define BOUND (10 * MS)

static atomic_int stop;
static cpu_set_t one_cpu;

static void
pin(void)
{
    int err = pthread_setaffinity_np(pthread_self(), sizeof one_cpu, &one_cpu);
    if (err != 0)
        TEST_FAIL("pthread_setaffinity_np: %s", strerror(err));
}

static void *
busy_main(void *arg)
{
    (void)arg;
    pin();
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        ;
    return NULL;
}

static int
cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

struct waker {
    qsem_t *s;
    atomic_llong released_at;
};

static void *
releaser_main(void *arg)
{
    struct waker *wk = arg;
    pin();
    test_wait_waiting(wk->s, 1);
    /* Let it settle into its wait, then release. */
    test_sleep_ns(2 * MS);
    atomic_store(&wk->released_at, test_now_ns());
    ASSERT_OK(qsem_release(wk->s, 1));
    return NULL;
}

int
main(void)
{
    test_watchdog(50);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        TEST_FAIL("sched_getaffinity: %s", strerror(errno));
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
        cpu++;
    CPU_ZERO(&one_cpu);
    CPU_SET(cpu, &one_cpu);
    pin();

    pthread_t busy[NBUSY];
    for (int i = 0; i < NBUSY; i++)
        busy[i] = test_thread(busy_main, NULL);
    qsem_t *s = test_new(0, 10, 0);

    int64_t late[TRIES], wake[TRIES];
    for (int i = 0; i < TRIES; i++) {
        int64_t t0 = test_now_ns();
        ASSERT_ERR(qsem_acquire_for(s, 1, 2 * MS), ETIMEDOUT);
        late[i] = test_now_ns() - t0 - 2 * MS;
    }
    for (int i = 0; i < TRIES; i++) {
        struct waker wk = { .s = s };
        pthread_t r = test_thread(releaser_main, &wk);
        ASSERT_OK(qsem_acquire(s, 1));
        wake[i] = test_now_ns() - atomic_load(&wk.released_at);
        test_join(r);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NBUSY; i++)
        test_join(busy[i]);

    qsort(late, TRIES, sizeof late[0], cmp64);
    qsort(wake, TRIES, sizeof wake[0], cmp64);
    printf("test_load_latency: %d busy threads on one CPU: 2 ms timeouts %.3f ms "
           "late (median; worst %.3f), release to return %.3f ms (median; worst "
           "%.3f)\n", NBUSY, late[TRIES / 2] / 1e6, late[TRIES - 1] / 1e6,
           wake[TRIES / 2] / 1e6, wake[TRIES - 1] / 1e6);
    ASSERT_LE(late[TRIES / 2], BOUND);
    ASSERT_LE(wake[TRIES / 2], BOUND);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
    puts("test_load_latency: ok");
    return 0;
}
