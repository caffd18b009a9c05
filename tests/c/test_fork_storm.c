/* SPDX-License-Identifier: MIT */
/*
 * fork() while other threads wait, and while they hammer the lock.  What the
 * child sees (docs/reliability.md, "fork"): only the thread that forked, so
 * the blocked threads queued in the parent do not exist there.  On its first
 * use of the lock the child drops them from its copy of the queue, without
 * tokens, and repairs the lock, which another thread may have held at the
 * moment of the fork.  Async waiters belong to the forking thread and keep
 * their place.  The count is the one at the fork: no token is handed to a
 * thread that is not there, and the child can acquire and release as usual.
 * The parent is not affected.  (test_fork.c covers the basic case; this one
 * forks a hundred times under contention.)
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "qsem_test.h"

/* Child checks exit with a distinct code instead of aborting, so that the
 * parent reports which one failed. */
#define CHILD_CHECK(c, code)                                                   \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "child: %s failed\n", #c);                         \
            _exit(code);                                                       \
        }                                                                      \
    } while (0)

struct blocked {
    qsem_t *s;
    int64_t n;
    int result;
};

static void *
blocked_main(void *arg)
{
    struct blocked *b = arg;
    b->result = qsem_acquire(b->s, b->n);
    return NULL;
}

static void
wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        TEST_FAIL("waitpid: %s", strerror(errno));
    if (WIFSIGNALED(status))
        TEST_FAIL("child killed by signal %d (a deadlock ends with SIGALRM)", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        TEST_FAIL("child check %d failed", WEXITSTATUS(status));
}

/* Two threads and one async waiter queued at the fork. */
static void
test_queue_at_fork(void)
{
    qsem_t *s = test_new(0, 10, 0);
    struct blocked b1 = { s, 1, -1 }, b2 = { s, 2, -1 };
    pthread_t t1 = test_thread(blocked_main, &b1);
    test_wait_waiting(s, 1);
    pthread_t t2 = test_thread(blocked_main, &b2);
    test_wait_waiting(s, 2);
    qsem_waiter_t *w = qsem_waiter_new(s, 3, NULL, NULL);
    ASSERT_TRUE(w != NULL);
    ASSERT_ERR(qsem_waiter_start(w), EINPROGRESS);
    ASSERT_EQ(qsem_waiting(s), 3);

    pid_t pid = fork();
    if (pid < 0)
        TEST_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        alarm(10);
        /* One token: in the parent it would go to the thread that wants 1;
         * that thread is not here, so the token stays. */
        CHILD_CHECK(qsem_release(s, 1) == 0, 1);
        CHILD_CHECK(qsem_available(s) == 1, 2);
        CHILD_CHECK(qsem_waiting(s) == 1, 3);
        CHILD_CHECK(qsem_waiter_result(w) == EINPROGRESS, 4);
        /* Two more: the async waiter (3) of the forking thread is served. */
        CHILD_CHECK(qsem_release(s, 2) == 0, 5);
        CHILD_CHECK(qsem_waiter_result(w) == 0, 6);
        CHILD_CHECK(qsem_waiter_claim(w) == 0, 7);
        CHILD_CHECK(qsem_available(s) == 0, 8);
        CHILD_CHECK(qsem_waiting(s) == 0, 9);
        /* Ordinary use: a wait that queues and times out, then tokens. */
        CHILD_CHECK(qsem_acquire_for(s, 1, 5 * MS) == ETIMEDOUT, 10);
        CHILD_CHECK(qsem_release(s, 3) == 0, 11);
        CHILD_CHECK(qsem_try_acquire(s, 3) == 0, 12);
        CHILD_CHECK(qsem_release(s, 3) == 0, 13);
        CHILD_CHECK(qsem_available(s) == 3, 14);
        CHILD_CHECK(qsem_close(s) == 0, 15);
        CHILD_CHECK(qsem_acquire(s, 1) == ECANCELED, 16);
        _exit(0);
    }
    wait_child(pid);

    /* The parent's queue is untouched by what the child did. */
    ASSERT_EQ(qsem_waiting(s), 3);
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_OK(qsem_release(s, 3));     /* 1 and 2, oldest first */
    test_join(t1);
    test_join(t2);
    ASSERT_OK(b1.result);
    ASSERT_OK(b2.result);
    ASSERT_ERR(qsem_waiter_result(w), EINPROGRESS);
    ASSERT_OK(qsem_release(s, 3));
    ASSERT_OK(qsem_waiter_result(w));
    ASSERT_OK(qsem_waiter_claim(w));
    ASSERT_EQ(qsem_available(s), 0);
    ASSERT_OK(qsem_release(s, 6));
    qsem_waiter_free(w);
    ASSERT_EQ(qsem_available(s), 6);
    qsem_unref(s);
}

/* Fork while other threads take and drop the lock all the time: the child
 * may inherit a lock held by a thread it does not have, and must not hang
 * on it. */
static atomic_int stop;

static void *
hammer_main(void *arg)
{
    qsem_t *s = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t n = 1 + (int64_t)(test_rand(&rng) % 2);
        if (qsem_acquire_for(s, n, 200 * 1000) == 0)
            ASSERT_OK(qsem_release(s, n));
    }
    return NULL;
}

static void
test_fork_under_contention(int forks)
{
    qsem_t *s = test_new(2, 2, 0);
    pthread_t t[3];
    atomic_store(&stop, 0);
    for (int i = 0; i < 3; i++)
        t[i] = test_thread(hammer_main, s);
    for (int i = 0; i < forks; i++) {
        test_sleep_ns((int64_t)(i % 7) * 100 * 1000);
        pid_t pid = fork();
        if (pid < 0)
            TEST_FAIL("fork: %s", strerror(errno));
        if (pid == 0) {
            alarm(10);
            /* Tokens held by the parent's threads at the fork stay out:
             * their holders are not here to return them.  The child puts
             * the count back to full and uses it. */
            int64_t a = qsem_available(s);
            CHILD_CHECK(a >= 0 && a <= 2, 20);
            CHILD_CHECK(qsem_acquire_for(s, 3, 0) == EINVAL, 21);
            /* The parent's queued threads were dropped at the fork. */
            int64_t qw = qsem_waiting(s);
            CHILD_CHECK(qw == 0, 35);
            CHILD_CHECK(qsem_release(s, 2 - a) == 0, 22);
            if (qsem_available(s) != 2)
                fprintf(stderr, "child: available %" PRId64 " at fork, %" PRId64
                        " after release(%" PRId64 "); waiting %" PRId64 " then %" PRId64 "\n",
                        a, qsem_available(s), 2 - a, qw, qsem_waiting(s));
            CHILD_CHECK(qsem_available(s) == 2, 23);
            CHILD_CHECK(qsem_acquire(s, 2) == 0, 24);
            /* Only the child's own waiter is queued once it queues one. */
            qsem_waiter_t *w = qsem_waiter_new(s, 1, NULL, NULL);
            CHILD_CHECK(w != NULL, 25);
            CHILD_CHECK(qsem_waiter_start(w) == EINPROGRESS, 26);
            if (qsem_waiting(s) != 1)
                fprintf(stderr, "child: waiting() = %" PRId64 "\n", qsem_waiting(s));
            CHILD_CHECK(qsem_waiting(s) == 1, 27);
            CHILD_CHECK(qsem_acquire_for(s, 1, MS) == ETIMEDOUT, 29);
            CHILD_CHECK(qsem_release(s, 2) == 0, 30);
            CHILD_CHECK(qsem_waiter_result(w) == 0, 31);
            CHILD_CHECK(qsem_waiter_claim(w) == 0, 32);
            qsem_waiter_free(w);
            CHILD_CHECK(qsem_waiting(s) == 0, 33);
            CHILD_CHECK(qsem_release(s, 1) == 0, 34);
            CHILD_CHECK(qsem_available(s) == 2, 28);
            _exit(0);
        }
        wait_child(pid);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        test_join(t[i]);
    ASSERT_EQ(qsem_available(s), 2);
    ASSERT_EQ(qsem_waiting(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    test_queue_at_fork();
    int forks = TEST_SANITIZED ? 50 : 300;
    test_fork_under_contention(forks);
    printf("queue-at-fork child checked; %d forks under contention\n", forks);
    return 0;
}
