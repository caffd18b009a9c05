/* SPDX-License-Identifier: MIT */
/*
 * fork() and the wake-up channel (docs/design.md, "fork()").  On the
 * pthread back end each thread sleeps on a pipe of its own, kept in
 * thread-local storage; a forked child that kept the forking thread's pipe
 * would share it with the parent: each could read the other's wake-ups (a
 * granted waiter then sleeps to its timeout), and a child that closes the
 * descriptors it inherited and opens files would poll and read them through
 * the stale numbers.  On the futex back end there is nothing to share; the
 * same checks run there too.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "qsem_test.h"

#define ROUNDS 5

#if defined(__SANITIZE_THREAD__)
/* The children start a thread, which ThreadSanitizer refuses after a fork
 * of a threaded process unless told that it may (its own state in the
 * child is then only as consistent as ours: that is what is tested). */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
    return "die_after_fork=0";
}
#endif

struct delayed {
    qsem_t *s;
    int64_t after;
};

static void *
release_later(void *arg)
{
    struct delayed *d = arg;
    test_sleep_ns(d->after);
    ASSERT_OK(qsem_release(d->s, 1));
    return NULL;
}

static pid_t
fork_or_die(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        TEST_FAIL("fork: %s", strerror(errno));
    return pid;
}

static void
wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        TEST_FAIL("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        TEST_FAIL("child failed (status 0x%x)", status);
}

/* Parent and child both wait at once; each is woken by its own release. */
static void
both_wait(void)
{
    qsem_t *warm = test_new(0, 1, 0);
    /* The forking thread has slept once, so it has a wake-up channel. */
    ASSERT_ERR(qsem_acquire_for(warm, 1, 2 * MS), ETIMEDOUT);
    qsem_unref(warm);

    for (int r = 0; r < ROUNDS; r++) {
        qsem_t *s = test_new(0, 1, 0);
        pid_t pid = fork_or_die();
        /* In each process a thread releases after 100 ms while the forking
         * thread waits up to 5 s; a stolen wake-up makes it sleep 5 s. */
        struct delayed d = { .s = s, .after = 100 * MS };
        pthread_t t = test_thread(release_later, &d);
        int64_t t0 = test_now_ns();
        ASSERT_OK(qsem_acquire_for(s, 1, 5000 * MS));
        int64_t took = test_now_ns() - t0;
        test_join(t);
        if (took > 2000 * MS)
            TEST_FAIL("%s: woken %.0f ms after a release at 100 ms",
                      pid == 0 ? "child" : "parent", took / 1e6);
        qsem_unref(s);
        if (pid == 0)
            _exit(0);
        wait_child(pid);
    }
}

/* A child that closes what it inherited: qsem must not use the numbers. */
static void
child_closes_fds(void)
{
    qsem_t *s = test_new(0, 1, 0);
    ASSERT_ERR(qsem_acquire_for(s, 1, 2 * MS), ETIMEDOUT);
    pid_t pid = fork_or_die();
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        /* New descriptors take the lowest numbers: those of the pipe. */
        int p[2];
        if (pipe(p) != 0)
            _exit(10);
        char data[16] = "not for qsem";
        if (write(p[1], data, sizeof data) != (ssize_t)sizeof data)
            _exit(11);
        if (qsem_acquire_for(s, 1, 100 * MS) != ETIMEDOUT)
            _exit(12);
        int left = -1;
        if (ioctl(p[0], FIONREAD, &left) != 0 || left != (int)sizeof data) {
            fprintf(stderr, "child: %d of %d bytes left in its own pipe\n",
                    left, (int)sizeof data);
            _exit(13);
        }
        /* And a wait that is served still works. */
        struct delayed d = { .s = s, .after = 20 * MS };
        pthread_t t = test_thread(release_later, &d);
        if (qsem_acquire_for(s, 1, 5000 * MS) != 0)
            _exit(14);
        test_join(t);
        _exit(0);
    }
    wait_child(pid);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    both_wait();
    child_closes_fds();
    puts("test_fork_wake: ok");
    return 0;
}
