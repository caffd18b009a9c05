/* SPDX-License-Identifier: MIT */
/*
 * exit() while other threads wait.  exit() runs the destructors of the
 * program and its libraries while the other threads go on; the pthread
 * back end deletes its thread key in one of them (so that an unloaded
 * module leaves no destructor behind), and a waiter must not depend on that
 * key afterwards: it must neither crash nor fail with ENOMEM.  A late
 * destructor of this program keeps the process alive for a while after
 * that, as C++ static destructors or atexit handlers do, while the
 * threads keep waiting and waking each other.
 */
#include <stdatomic.h>

#include "qsem_test.h"

#define NTHREADS 4

static qsem_t *sem;
static atomic_long rounds;

static void *
churn_main(void *arg)
{
    (void)arg;
    for (;;) {
        int r = qsem_acquire_for(sem, 1, 50 * MS);
        if (r == ETIMEDOUT)
            continue;
        if (r != 0) {
            fprintf(stderr, "test_exit_race: acquire gave %s during exit\n",
                    test_errname(r));
            abort();
        }
        /* Hold it briefly so that the others queue and sleep. */
        test_sleep_ns(MS / 10);
        if (qsem_release(sem, 1) != 0)
            abort();
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

/* Runs after the library's destructors (a lower priority runs later). */
__attribute__((destructor(101)))
static void
late_destructor(void)
{
    if (sem == NULL)
        return;
    long before = atomic_load(&rounds);
    test_sleep_ns(300 * MS);
    long after = atomic_load(&rounds);
    /* The threads kept going through the destructors. */
    if (after - before < 10) {
        fprintf(stderr, "test_exit_race: only %ld rounds during exit\n",
                after - before);
        _exit(1);
    }
    printf("test_exit_race: %ld rounds while exiting\n", after - before);
    puts("test_exit_race: ok");
    fflush(stdout);
}

int
main(void)
{
    test_watchdog(50);
    sem = test_new(1, 1, 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_detach(test_thread(churn_main, NULL));
    test_sleep_ns(100 * MS);
    ASSERT_GE(atomic_load(&rounds), 10);
    exit(0);
}
