/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure on every allocation path.  The core allocates through
 * qsem__calloc() (csrc/qsem_internal.h); this test installs an allocator
 * that fails the k-th allocation, for k = 1, 2, ... until a call needs no
 * more, on each path that allocates: qsem_new(), qsem_waiter_new(), and the
 * first wait of a thread on the pthread back end (its wake-up pipe).  Each
 * failure must be ENOMEM, change nothing, and leak nothing: the allocator
 * counts live blocks, which must be back to zero once everything is freed.
 */
#include <stdatomic.h>

#include "qsem_internal.h"
#include "qsem_test.h"

static atomic_long live;        /* blocks handed out and not yet freed */
static atomic_long calls;       /* allocations attempted since reset */
static atomic_long fail_at;     /* fail the allocation with this number; 0: none */
static atomic_long failures;

static void *
counting_calloc(size_t n, size_t size)
{
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (k == atomic_load(&fail_at)) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    void *p = calloc(n, size);
    if (p != NULL)
        atomic_fetch_add(&live, 1);
    return p;
}

static void
counting_free(void *p)
{
    if (p != NULL)
        atomic_fetch_sub(&live, 1);
    free(p);
}

static void
arm(long k)
{
    atomic_store(&calls, 0);
    atomic_store(&fail_at, k);
}

static void
test_new_fails(void)
{
    int k;
    for (k = 1;; k++) {
        arm(k);
        errno = 0;
        qsem_t *s = qsem_new(3, 5, QSEM_FIFO);
        if (s != NULL) {
            /* No allocation left to fail. */
            ASSERT_LE(atomic_load(&calls), k - 1);
            ASSERT_EQ(qsem_available(s), 3);
            qsem_unref(s);
            break;
        }
        ASSERT_ERR(errno, ENOMEM);
        ASSERT_EQ(atomic_load(&live), 0);
    }
    ASSERT_GE(k, 2);    /* qsem_new allocates at least once */
    ASSERT_EQ(atomic_load(&live), 0);
}

static void
test_waiter_new_fails(void)
{
    arm(0);
    qsem_t *s = test_new(0, 5, 0);
    int k;
    for (k = 1;; k++) {
        arm(k);
        errno = 0;
        qsem_waiter_t *w = qsem_waiter_new(s, 2, NULL, NULL);
        if (w != NULL) {
            ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
            ASSERT_EQ(qsem_waiting(s), 1);
            qsem_waiter_free(w);
            break;
        }
        ASSERT_ERR(errno, ENOMEM);
        /* A failed waiter_new leaves no trace: nothing queued, nothing pinned. */
        ASSERT_EQ(qsem_waiting(s), 0);
        ASSERT_EQ(qsem_available(s), 0);
    }
    ASSERT_GE(k, 2);
    ASSERT_EQ(qsem_waiting(s), 0);
    arm(0);
    qsem_unref(s);
    /* The semaphore is freed only if a failed waiter_new dropped its pin. */
    ASSERT_EQ(atomic_load(&live), 0);
}

struct first_wait {
    qsem_t *s;
    long k;
    int result;
};

/* A thread's first wait: on the pthread back end this is where its
 * wake-up channel is made. */
static void *
first_wait_main(void *arg)
{
    struct first_wait *fw = arg;
    arm(fw->k);
    fw->result = qsem_acquire_for(fw->s, 1, 20 * MS);
    arm(0);
    return NULL;
}

static void
test_first_wait_fails(void)
{
    int pthread_backend = strcmp(qsem_backend(), "pthread") == 0;
    arm(0);
    qsem_t *s = test_new(0, 5, 0);
    long before = atomic_load(&failures);
    for (long k = 1; k <= 3; k++) {
        struct first_wait fw = { s, k, -1 };
        test_join(test_thread(first_wait_main, &fw));
        if (pthread_backend && k == 1) {
            /* No wake-up channel, so no wait: ENOMEM, nothing queued. */
            ASSERT_ERR(fw.result, ENOMEM);
        } else {
            /* The futex back end allocates nothing to wait; nor does a
             * later allocation number on the pthread one. */
            ASSERT_ERR(fw.result, ETIMEDOUT);
        }
        ASSERT_EQ(qsem_waiting(s), 0);
        ASSERT_EQ(qsem_available(s), 0);
    }
    ASSERT_EQ(atomic_load(&failures) - before, pthread_backend ? 1 : 0);
    /* A failed wait took nothing, and the semaphore still works. */
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_try_acquire(s, 1));
    qsem_unref(s);
    /* Each thread's channel was freed at its exit, through the hook. */
    ASSERT_EQ(atomic_load(&live), 0);
}

int
main(void)
{
    test_watchdog(50);
    qsem__set_allocator(counting_calloc, counting_free);
    test_new_fails();
    test_waiter_new_fails();
    test_first_wait_fails();
    qsem__set_allocator(NULL, NULL);
    printf("%ld allocation failures injected (%s back end), no leak\n",
           atomic_load(&failures), qsem_backend());
    return 0;
}
