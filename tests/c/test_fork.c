/* SPDX-License-Identifier: MIT */
/*
 * fork() while threads wait (docs/design.md, "fork()"): in the child the
 * blocked threads do not exist, so they are dropped from the queue and a
 * release never hands them tokens; async waiters belong to the forking
 * thread and keep their place; count and closed state are kept.  The
 * parent is untouched by what the child does.
 */
#include <stdatomic.h>
#include <sys/wait.h>

#include "qsem_test.h"

static atomic_int notified;

static void
child(qsem_t *s, qsem_t *closed, qsem_waiter_t *aw)
{
    /* Repaired at the fork: the thread blocked in acquire(2) is gone from
     * the queue, the async waiter for 1 is still there and is next. */
    ASSERT_EQ(qsem_waiting(s), 1);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_OK(qsem_waiter_result(aw));
    ASSERT_OK(qsem_waiter_claim(aw));
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_EQ(qsem_waiting(s), 0);
    /* Two tokens, and no ghost of the parent's thread to take them. */
    ASSERT_OK(qsem_release(s, 2));
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_OK(qsem_try_acquire(s, 2));
    /* Blocking still works in the child: a timed wait times out. */
    ASSERT_ERR(qsem_acquire_for(s, 1, 20 * MS), ETIMEDOUT);

    ASSERT_EQ(qsem_is_closed(closed), 1);
    ASSERT_EQ(qsem_available(closed), 3);
    ASSERT_ERR(qsem_try_acquire(closed, 1), ECANCELED);
    _exit(0);
}

int
main(void)
{
    test_watchdog(50);
    qsem_t *s = test_new(0, 10, 0);
    qsem_t *closed = test_new(3, 10, 0);
    ASSERT_OK(qsem_close(closed));

    struct test_waiter w = { .s = s, .n = 2, .result = -1 };
    pthread_t t = test_thread(test_waiter_main, &w);
    test_wait_waiting(s, 1);
    qsem_waiter_t *aw = qsem_waiter_new(s, 1, test_count_notify, &notified);
    ASSERT_TRUE(aw != NULL);
    ASSERT_ERR(qsem_waiter_start(aw), EINPROGRESS);
    ASSERT_EQ(qsem_waiting(s), 2);

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        TEST_FAIL("fork: %s", strerror(errno));
    if (pid == 0)
        child(s, closed, aw);

    int status;
    if (waitpid(pid, &status, 0) != pid)
        TEST_FAIL("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        TEST_FAIL("child failed (status 0x%x)", status);

    /* The parent's queue is as it was: the thread first, then the waiter. */
    ASSERT_EQ(qsem_waiting(s), 2);
    ASSERT_EQ(atomic_load(&notified), 0);
    ASSERT_OK(qsem_release(s, 2));
    test_join(t);
    ASSERT_OK(w.result);
    ASSERT_EQ(atomic_load(&notified), 0);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_OK(qsem_waiter_claim(aw));
    qsem_waiter_free(aw);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
    qsem_unref(closed);
    puts("test_fork: ok");
    return 0;
}
