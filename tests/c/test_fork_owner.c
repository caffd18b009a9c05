/* SPDX-License-Identifier: MIT */
/*
 * What a forked child keeps of the queue (docs/design.md, "fork()"): only
 * what the forking thread itself queued.
 *
 *   - An async waiter that another thread started is dropped: nobody in the
 *     child could claim what it was given, so it must not swallow the
 *     child's tokens, and its notify must not run there.
 *   - fork() from a signal handler that interrupted a wait of the forking
 *     thread: that wait goes on in the child once the handler returns, so
 *     its node stays queued, and leaves the queue exactly once (a second
 *     removal would corrupt the queue and its count).
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "qsem_test.h"

static void
wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        TEST_FAIL("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        TEST_FAIL("child failed (status 0x%x)", status);
}

static atomic_int notified;

static void *
start_waiter(void *arg)
{
    ASSERT_ERR(qsem_waiter_start(arg), EINPROGRESS);
    return NULL;
}

static void
other_threads_waiter(void)
{
    qsem_t *s = test_new(0, 10, 0);
    qsem_waiter_t *aw = qsem_waiter_new(s, 1, test_count_notify, &notified);
    ASSERT_TRUE(aw != NULL);
    test_join(test_thread(start_waiter, aw));
    ASSERT_EQ(qsem_waiting(s), 1);

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        TEST_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        ASSERT_EQ(qsem_waiting(s), 0);
        ASSERT_OK(qsem_release(s, 1));
        ASSERT_EQ(qsem_available(s), 1);
        ASSERT_EQ(atomic_load(&notified), 0);
        ASSERT_OK(qsem_try_acquire(s, 1));
        _exit(0);
    }
    wait_child(pid);

    /* The parent's waiter is untouched. */
    ASSERT_EQ(qsem_waiting(s), 1);
    ASSERT_OK(qsem_release(s, 1));
    ASSERT_EQ(atomic_load(&notified), 1);
    ASSERT_OK(qsem_waiter_claim(aw));
    qsem_waiter_free(aw);
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

static qsem_t *hs;
static volatile sig_atomic_t in_child;
static atomic_int child_pid;

static void
fork_handler(int sig)
{
    (void)sig;
    pid_t pid = fork();
    if (pid == 0)
        in_child = 1;
    else
        atomic_store(&child_pid, pid);
}

struct kicker {
    pthread_t target;
};

static void *
kick_main(void *arg)
{
    struct kicker *k = arg;
    test_wait_waiting(hs, 1);
    test_sleep_ns(20 * MS);   /* asleep in its wait by now */
    pthread_kill(k->target, SIGUSR1);
    /* Serve the parent's wait (the child's copy is not affected). */
    while (atomic_load(&child_pid) == 0)
        test_sleep_ns(MS);
    ASSERT_OK(qsem_release(hs, 1));
    wait_child(atomic_load(&child_pid));
    return NULL;
}

static void
fork_in_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fork_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        TEST_FAIL("sigaction: %s", strerror(errno));

    hs = test_new(0, 10, 0);
    struct kicker k = { .target = pthread_self() };
    pthread_t t = test_thread(kick_main, &k);
    fflush(stdout);
    int r = qsem_acquire_for(hs, 1, 500 * MS);
    if (in_child) {
        /* The interrupted wait went on here and timed out: it left the
         * queue once, and the semaphore works. */
        if (r != ETIMEDOUT || qsem_waiting(hs) != 0) {
            fprintf(stderr, "child: wait gave %s, waiting() %lld\n",
                    test_errname(r), (long long)qsem_waiting(hs));
            _exit(1);
        }
        if (qsem_release(hs, 1) != 0 || qsem_try_acquire(hs, 1) != 0 ||
            qsem_available(hs) != 0)
            _exit(2);
        _exit(0);
    }
    ASSERT_OK(r);
    test_join(t);
    ASSERT_EQ(qsem_waiting(hs), 0);
    ASSERT_EQ(qsem_available(hs), 0);
    qsem_unref(hs);
}

int
main(void)
{
    test_watchdog(50);
    other_threads_waiter();
    fork_in_handler();
    puts("test_fork_owner: ok");
    return 0;
}
