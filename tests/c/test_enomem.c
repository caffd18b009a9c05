/* SPDX-License-Identifier: MIT */
/*
 * ENOMEM: every allocation goes through the core's allocator hook
 * (qsem__set_allocator, internal, for tests), so each one can be made to
 * fail.  A failed allocation gives ENOMEM and changes nothing.
 */
#include <stdatomic.h>

#include "qsem_test.h"
#include "qsem_internal.h"

static atomic_int fail_allocs;
static atomic_int allocs;

static void *
failing_calloc(size_t n, size_t size)
{
    atomic_fetch_add(&allocs, 1);
    if (atomic_load(&fail_allocs))
        return NULL;
    return calloc(n, size);
}

struct waiter {
    qsem_t *s;
    int result;
};

static void *
timed_waiter_main(void *arg)
{
    struct waiter *w = arg;
    w->result = qsem_acquire_for(w->s, 1, 50 * MS);
    return NULL;
}

int
main(void)
{
    test_watchdog(50);
    qsem__set_allocator(failing_calloc, NULL);

    /* qsem_new */
    atomic_store(&fail_allocs, 1);
    ASSERT_NULL_ERRNO(qsem_new(1, 10, 0), ENOMEM);
    ASSERT_NULL_ERRNO(qsem_new(0, QSEM_VALUE_MAX, QSEM_FIFO), ENOMEM);
    /* Bad arguments are still reported as such, before any allocation. */
    ASSERT_NULL_ERRNO(qsem_new(-1, 10, 0), EINVAL);
    atomic_store(&fail_allocs, 0);

    qsem_t *s = test_new(1, 10, 0);
    ASSERT_GE(atomic_load(&allocs), 1);

    /* qsem_waiter_new */
    atomic_store(&fail_allocs, 1);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, 1, NULL, NULL), ENOMEM);
    ASSERT_NULL_ERRNO(qsem_waiter_new(s, 11, NULL, NULL), EINVAL);
    ASSERT_EQ(qsem_available(s), 1);
    ASSERT_EQ(qsem_waiting(s), 0);

    /* Paths that need no memory keep working while allocation fails. */
    ASSERT_OK(qsem_try_acquire(s, 1));
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_OK(qsem_acquire(s, 1));
    ASSERT_OK(qsem_release(s, 1));

    /* A blocking wait on a fresh thread: the pthread back end makes its
     * per-thread wake-up channel on first use and must report ENOMEM
     * without queueing; the futex back end allocates nothing and times out. */
    ASSERT_OK(qsem_acquire(s, 1));
    struct waiter w = { .s = s, .result = -1 };
    pthread_t t = test_thread(timed_waiter_main, &w);
    test_join(t);
    int want = strcmp(qsem_backend(), "pthread") == 0 ? ENOMEM : ETIMEDOUT;
    ASSERT_ERR(w.result, want);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    atomic_store(&fail_allocs, 0);

    /* And with memory back, the same wait works. */
    w.result = -1;
    t = test_thread(timed_waiter_main, &w);
    test_wait_waiting(s, 1);
    ASSERT_OK(qsem_release(s, 1));
    test_join(t);
    ASSERT_OK(w.result);

    qsem_waiter_t *aw = qsem_waiter_new(s, 1, NULL, NULL);
    ASSERT_TRUE(aw != NULL);
    qsem_waiter_free(aw);
    qsem_unref(s);
    qsem__set_allocator(NULL, NULL);
    puts("test_enomem: ok");
    return 0;
}
