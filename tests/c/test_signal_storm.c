/* SPDX-License-Identifier: MIT */
/*
 * Signal storm.  setitimer() fires SIGALRM every 100 us at threads that
 * spend their time in acquire and release: plain waits (the kernel restarts
 * or the core loops), timed waits (a signal must not end one early, since
 * the deadline is absolute: docs/contract.md, "Timeouts") and QSEM_INTR waits (EINTR
 * with no token taken: CWE-691).  Afterwards every token is back: none was
 * taken by an interrupted wait or lost by a restarted one.
 *
 * QSEM_STORM_SECONDS sets the duration (default 10; 3 under sanitizers).
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#include "qsem_test.h"

#define THREADS 4
#define TOKENS 3

static atomic_long signals;
static atomic_int stop;

static void
on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&signals, 1, memory_order_relaxed);
}

struct worker {
    qsem_t *s;
    int id;
    long ops, eintr, timeouts, early;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = 0x9e3779b97f4a7c15u * (uint64_t)(w->id + 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t n = 1 + (int64_t)(test_rand(&rng) % 2);
        int r;
        switch (test_rand(&rng) % 3) {
        case 0:
            r = qsem_acquire(w->s, n);
            ASSERT_OK(r);
            break;
        case 1: {
            int64_t timeout = (int64_t)(test_rand(&rng) % 2000) * 1000;   /* 0..2 ms */
            int64_t t0 = test_now_ns();
            r = qsem_acquire_for(w->s, n, timeout);
            if (r == ETIMEDOUT) {
                /* An interrupted wait resumes with the time left, so it
                 * never gives up before its deadline. */
                if (test_now_ns() - t0 < timeout)
                    w->early++;
                w->timeouts++;
            } else {
                ASSERT_OK(r);
            }
            break;
        }
        default:
            r = qsem_acquire_until(w->s, n, QSEM_FOREVER, QSEM_INTR);
            if (r == EINTR)
                w->eintr++;
            else
                ASSERT_OK(r);
            break;
        }
        w->ops++;
        if (r == 0) {
            /* Hold the tokens across a few signals. */
            for (volatile int i = 0; i < (int)(test_rand(&rng) % 2000); i++)
                ;
            ASSERT_OK(qsem_release(w->s, n));
            w->ops++;
        }
    }
    return NULL;
}

static void
run(unsigned flags, double secs)
{
    qsem_t *s = test_new(TOKENS, TOKENS, flags);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    atomic_store(&stop, 0);
    long sig0 = atomic_load(&signals);

    /* Workers inherit an unblocked SIGALRM; the main thread blocks it, so
     * that the storm lands on threads inside the semaphore. */
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .s = s, .id = i };
        t[i] = test_thread(worker_main, &w[i]);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct itimerval it = { { 0, 100 }, { 0, 100 } };
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        TEST_FAIL("setitimer: %s", strerror(errno));
    test_sleep_ns((int64_t)(secs * 1e9));
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        test_join(t[i]);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    long ops = 0, eintr = 0, timeouts = 0, early = 0;
    for (int i = 0; i < THREADS; i++) {
        ops += w[i].ops;
        eintr += w[i].eintr;
        timeouts += w[i].timeouts;
        early += w[i].early;
    }
    long sigs = atomic_load(&signals) - sig0;
    printf("%s: %.1f s, %ld operations, %ld signals, %ld EINTR, %ld timeouts\n",
           flags & QSEM_FIFO ? "fifo" : "default", secs, ops, sigs, eintr, timeouts);
    ASSERT_EQ(early, 0);
    /* Conservation: every token came back, none is held by a lost waiter. */
    ASSERT_EQ(qsem_available(s), TOKENS);
    ASSERT_EQ(qsem_waiting(s), 0);
    /* The storm really happened, and reached the waits. */
    ASSERT_GE(sigs, 100);
    ASSERT_GE(ops, 100);
    qsem_unref(s);
}

int
main(void)
{
    double secs = TEST_SANITIZED ? 3 : 10;
    const char *env = getenv("QSEM_STORM_SECONDS");
    if (env != NULL && atof(env) > 0)
        secs = atof(env);
    test_watchdog((int)(secs * 2) + 60);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    /* Without SA_RESTART: every interrupted system call sees EINTR. */
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        TEST_FAIL("sigaction: %s", strerror(errno));

    run(0, secs / 2);
    run(QSEM_FIFO, secs / 2);
    return 0;
}
