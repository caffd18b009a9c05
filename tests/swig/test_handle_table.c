/* SPDX-License-Identifier: MIT */
/*
 * The handle table of bindings/swig/qsem_handle.h, on its own: what every
 * SWIG proxy holds instead of an address.  A dead, stale, zero or forged
 * handle fails to pin; delete by the last owner closes the semaphore at
 * once but keeps its memory for calls in flight; a stale handle never
 * reaches the semaphore that reuses its slot; and a storm of pins racing
 * deletes neither crashes, touches freed memory (run under ASan or TSan)
 * nor loses or makes a token.
 */
#include "qsem_test.h"
#include "qsem_handle.h"

#define MS INT64_C(1000000)

static void
expect_dead(uint64_t h)
{
    qsem_handle_slot *slot;
    ASSERT_TRUE(qsem_handle_pin(h, &slot) == NULL);
}

static void
test_lifecycle(void)
{
    uint64_t h = qsem_handle_new(test_new(2, 10, 0));
    qsem_handle_slot *slot;
    qsem_t *s;

    ASSERT_NE(h, 0);
    s = qsem_handle_pin(h, &slot);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(qsem_available(s), 2);
    qsem_handle_unpin(slot);

    qsem_handle_delete(h);
    expect_dead(h);
    qsem_handle_delete(h);  /* double delete: nothing happens */
    expect_dead(h);

    /* The slot is reused under a new generation: the old handle still fails
     * and never reaches the new semaphore. */
    uint64_t h2 = qsem_handle_new(test_new(7, 10, 0));
    ASSERT_NE(h2, h);
    ASSERT_EQ(h2 & 0xffffffffu, h & 0xffffffffu);
    expect_dead(h);
    qsem_handle_delete(h);  /* a stale delete leaves the new owner alone */
    s = qsem_handle_pin(h2, &slot);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(qsem_available(s), 7);
    qsem_handle_unpin(slot);
    qsem_handle_delete(h2);
}

static void
test_forged(void)
{
    uint64_t h = qsem_handle_new(test_new(1, 1, 0));
    static const uint64_t forged[] = {
        0, 1, 0xffffffffu, UINT64_MAX, UINT64_C(0xdeadbeefdeadbeef),
        UINT64_C(1) << 32,                      /* index part 0 */
        (UINT64_C(1) << 32) | 0xffffffffu,      /* index out of range */
        (UINT64_C(1) << 32) | 0x00400000u,      /* chunk never allocated */
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        expect_dead(forged[i]);
        qsem_handle_delete(forged[i]);
        ASSERT_EQ(qsem_handle_share(forged[i], 1), EBADF);
    }
    expect_dead(h ^ (UINT64_C(1) << 40));  /* right slot, wrong generation */
    expect_dead(h & 0xffffffffu);          /* generation 0 is never issued */
    qsem_handle_delete(h);
}

static void
test_share(void)
{
    uint64_t h = qsem_handle_new(test_new(0, 10, 0));
    qsem_handle_slot *slot;
    qsem_t *s;

    ASSERT_OK(qsem_handle_share(h, 2));  /* three owners */
    qsem_handle_delete(h);
    qsem_handle_delete(h);
    s = qsem_handle_pin(h, &slot);
    ASSERT_TRUE(s != NULL);  /* the third owner keeps it */
    ASSERT_EQ(qsem_is_closed(s), 0);
    qsem_handle_unpin(slot);
    qsem_handle_delete(h);
    expect_dead(h);
}

struct blocked {
    uint64_t h;
    atomic_int rc;
};

static void *
blocked_main(void *arg)
{
    struct blocked *b = arg;
    qsem_handle_slot *slot;
    qsem_t *s = qsem_handle_pin(b->h, &slot);
    ASSERT_TRUE(s != NULL);
    atomic_store(&b->rc, qsem_acquire(s, 1));
    /* The handle is dead now, but this call's pin keeps s readable. */
    ASSERT_EQ(qsem_is_closed(s), 1);
    ASSERT_OK(qsem_release(s, 3));
    ASSERT_EQ(qsem_available(s), 3);
    qsem_handle_unpin(slot);
    return NULL;
}

/* Delete closes the semaphore at once (the slot held the last handle), and
 * the waiter's call finishes on valid memory. */
static void
test_delete_wakes_waiter(void)
{
    struct blocked b = { .h = qsem_handle_new(test_new(0, 10, 0)), .rc = -1 };
    qsem_handle_slot *slot;
    qsem_t *s = qsem_handle_pin(b.h, &slot);
    pthread_t t = test_thread(blocked_main, &b);

    while (qsem_waiting(s) != 1)
        test_sleep_ns(MS);
    qsem_handle_unpin(slot);
    qsem_handle_delete(b.h);
    expect_dead(b.h);
    test_join(t);
    ASSERT_ERR(atomic_load(&b.rc), ECANCELED);
}

/*
 * The race: workers read the current handle and call through it while one
 * thread deletes it.  Each round's semaphore has TOKENS tokens; workers only
 * take and give back, so a count kept outside the table (a qsem_ref held by
 * the test) must read TOKENS once the round is over.
 */
#define WORKERS 4
#define ROUNDS 2000
#define TOKENS 3

static _Atomic uint64_t current;
static pthread_barrier_t start_round, end_round;
static atomic_long dead_calls, live_calls;

static void *
worker_main(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&start_round);
        uint64_t h = atomic_load(&current);
        for (int i = 0; i < 200; i++) {
            qsem_handle_slot *slot;
            qsem_t *s = qsem_handle_pin(h, &slot);
            if (s == NULL) {
                atomic_fetch_add(&dead_calls, 1);
                break;
            }
            atomic_fetch_add(&live_calls, 1);
            switch (i % 3) {
            case 0:
                if (qsem_try_acquire(s, 1) == 0)
                    ASSERT_OK(qsem_release(s, 1));
                break;
            case 1: {
                int rc = qsem_acquire_for(s, 1, 100000);
                if (rc == 0)
                    ASSERT_OK(qsem_release(s, 1));
                else
                    ASSERT_TRUE(rc == ETIMEDOUT || rc == ECANCELED);
                break;
            }
            default:
                ASSERT_LE(qsem_available(s), TOKENS);
            }
            qsem_handle_unpin(slot);
        }
        pthread_barrier_wait(&end_round);
    }
    return NULL;
}

static void
test_delete_race(void)
{
    pthread_t t[WORKERS];

    pthread_barrier_init(&start_round, NULL, WORKERS + 1);
    pthread_barrier_init(&end_round, NULL, WORKERS + 1);
    for (int i = 0; i < WORKERS; i++)
        t[i] = test_thread(worker_main, NULL);
    for (int r = 0; r < ROUNDS; r++) {
        qsem_t *s = test_new(TOKENS, TOKENS, r % 2 ? QSEM_FIFO : 0);
        qsem_t *watch = qsem_ref(s);
        uint64_t h = qsem_handle_new(s);
        atomic_store(&current, h);
        pthread_barrier_wait(&start_round);
        for (volatile int spin = 0; spin < (r * 37) % 5000; spin++)
            ;
        qsem_handle_delete(h);
        if (r % 4 == 0)
            qsem_handle_delete(h);  /* a second delete races too */
        pthread_barrier_wait(&end_round);
        expect_dead(h);
        ASSERT_EQ(qsem_available(watch), TOKENS);
        qsem_unref(watch);
    }
    for (int i = 0; i < WORKERS; i++)
        test_join(t[i]);
    pthread_barrier_destroy(&start_round);
    pthread_barrier_destroy(&end_round);
    printf("delete race: %d rounds, %ld calls pinned, %ld refused\n", ROUNDS,
           atomic_load(&live_calls), atomic_load(&dead_calls));
    ASSERT_TRUE(atomic_load(&dead_calls) > 0);
}

int
main(void)
{
    test_watchdog(120);
    test_lifecycle();
    test_forged();
    test_share();
    test_delete_wakes_waiter();
    test_delete_race();
    puts("test_handle_table: ok");
    return 0;
}
