/* SPDX-License-Identifier: MIT */
/*
 * Once qsem_waiter_claim() (or cancel, or free) has returned, notify has
 * finished (qsem.h), so the owner may free whatever its argument points to.
 * Here the argument is heap memory freed right after claim and free, while
 * the grant comes from another thread: a notify still running then writes
 * freed memory, which ASan reports as a use-after-free, TSan as a race, and
 * the count check below as a missing call.  Every other notify is slow, so
 * that the owner often sees the grant while notify is still running (claim
 * must wait it out) as well as after it has returned (claim need not).
 */
#include <sched.h>
#include <stdatomic.h>

#include "qsem_test.h"

struct arg {
    atomic_int calls;
    int slow;
};

static void
on_notify(void *p)
{
    struct arg *a = p;
    if (a->slow) {
        for (int i = 0; i < 20; i++)
            sched_yield();
    }
    atomic_fetch_add(&a->calls, 1);
}

struct releaser {
    qsem_t *s;
    atomic_int go;
    int rounds;
};

static void *
releaser_main(void *p)
{
    struct releaser *r = p;
    for (int i = 0; i < r->rounds; i++) {
        /* Wait for round i's waiter to queue, then grant it. */
        while (atomic_load(&r->go) <= i)
            sched_yield();
        ASSERT_OK(qsem_release(r->s, 1));
    }
    return NULL;
}

int
main(void)
{
    test_watchdog(50);
    qsem_t *s = test_new(0, 10, 0);
    struct releaser r = { .s = s, .rounds = TEST_SANITIZED ? 3000 : 20000 };
    pthread_t t = test_thread(releaser_main, &r);
    for (int i = 0; i < r.rounds; i++) {
        struct arg *a = calloc(1, sizeof *a);
        ASSERT_TRUE(a != NULL);
        a->slow = i % 2;
        qsem_waiter_t *w = qsem_waiter_new(s, 1, on_notify, a);
        ASSERT_TRUE(w != NULL);
        ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
        atomic_store(&r.go, i + 1);
        int res;
        while ((res = qsem_waiter_result(w)) == EINPROGRESS)
            ;
        ASSERT_OK(res);
        ASSERT_OK(qsem_waiter_claim(w));
        qsem_waiter_free(w);
        /* Claimed and freed: notify has run, exactly once. */
        ASSERT_EQ(atomic_load(&a->calls), 1);
        free(a);
    }
    test_join(t);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
    puts("test_waiter_notify_race: ok");
    return 0;
}
