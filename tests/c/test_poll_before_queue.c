/* SPDX-License-Identifier: MIT */
/*
 * Who queues (qsem.c: qsem__poll, qsem__acquire_slow).  A thread that cannot
 * have a single token at once yields the CPU a few times before it queues:
 * when the releaser shares its CPU it then runs, and the token passes on the
 * fast path, with no lock, queue or dispatcher on either side.  A request
 * for several tokens queues before it yields, because barging can starve
 * only it and its starvation clock starts when it queues.
 *
 * Both threads are pinned to one CPU, so the releaser runs only when the
 * waiter yields (or, rarely, when the tick preempts it: the thresholds allow
 * for that).  Each round the releaser looks at qsem_waiting() the first time
 * it runs after the waiter has started its acquire, then releases.
 *
 * On a loaded machine other processes share that CPU, and a yield may give
 * them a whole time slice; the core then stops yielding for a while
 * (qsem_yield) and the waiter queues at once, as it should.  Such rounds
 * prove that instead and are counted apart; the yield hint is reset before
 * each round.
 */
#include <sched.h>
#include <stdatomic.h>

#include "qsem_test.h"
#include "qsem_internal.h"

#define ROUNDS 400

static qsem_t *sem;
static int64_t want;                 /* tokens per acquire this phase */
static atomic_int armed;             /* round the waiter has started */
static int queued_rounds;            /* rounds in which the releaser saw a queued waiter */
static int loaded_rounds;            /* rounds in which yielding was off: not counted above */

static void
pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (err != 0)
        TEST_FAIL("pthread_setaffinity_np(CPU %d): %s", cpu, strerror(err));
}

static int cpu;

static void *
waiter_main(void *arg)
{
    (void)arg;
    pin_to(cpu);
    for (int r = 1; r <= ROUNDS; r++) {
        qsem__yield_hint_reset();
        atomic_store(&armed, r);
        ASSERT_OK(qsem_acquire(sem, want));
    }
    atomic_store(&armed, ROUNDS + 1);
    return NULL;
}

static void *
releaser_main(void *arg)
{
    (void)arg;
    pin_to(cpu);
    for (int r = 1; r <= ROUNDS; r++) {
        while (atomic_load(&armed) < r)
            sched_yield();
        if (qsem__yield_is_off())
            loaded_rounds++;
        else if (qsem_waiting(sem) > 0)
            queued_rounds++;
        ASSERT_OK(qsem_release(sem, want));
        /* Let the waiter take it and start the next round. */
        while (atomic_load(&armed) == r)
            sched_yield();
    }
    return NULL;
}

static int
run(int64_t n, unsigned flags)
{
    sem = test_new(0, 8, flags);
    want = n;
    atomic_store(&armed, 0);
    queued_rounds = 0;
    loaded_rounds = 0;
    pthread_t w = test_thread(waiter_main, NULL);
    pthread_t r = test_thread(releaser_main, NULL);
    test_join(w);
    test_join(r);
    ASSERT_EQ(qsem_available(sem), 0);
    ASSERT_EQ(qsem_waiting(sem), 0);
    qsem_unref(sem);
    if (loaded_rounds > 0)
        printf("  (%d of %d rounds had a slow yield: the waiter stopped yielding)\n",
               loaded_rounds, ROUNDS);
    return queued_rounds;
}

int
main(void)
{
    test_watchdog(60);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        TEST_FAIL("sched_getaffinity: %s", strerror(errno));
    for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
        ;

    /* One token: the waiter yields unqueued, the releaser finds nobody queued. */
    int q1 = run(1, 0);
    printf("acquire(1): queued in %d of %d rounds\n", q1, ROUNDS);
    ASSERT_LE(q1, ROUNDS / 10);

    /* Several tokens: queued before the first yield. */
    int q2 = run(2, 0);
    printf("acquire(2): queued in %d of %d rounds\n", q2, ROUNDS);
    ASSERT_GE(q2 + loaded_rounds, ROUNDS - ROUNDS / 10);

    /* FIFO mode: a single token still polls, but only while nobody queues
     * (the fast path's own rule), which on one CPU is every round. */
    int q3 = run(1, QSEM_FIFO);
    printf("acquire(1), FIFO: queued in %d of %d rounds\n", q3, ROUNDS);
    ASSERT_LE(q3, ROUNDS / 10);

    puts("test_poll_before_queue: ok");
    return 0;
}
