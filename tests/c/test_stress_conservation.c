/* SPDX-License-Identifier: MIT */
/*
 * Token conservation under a random mix of blocking, timed, zero-wait and
 * asynchronous acquires, releases of held and of new tokens, and a close
 * near the end.  Afterwards available() == initial + released - acquired
 * exactly, and no thread is left asleep while its request fits.
 */
#include <sched.h>
#include <stdatomic.h>

#include "qsem_test.h"

#define NTHREADS 6
#define INITIAL 4
#define MAXREQ 4

struct worker {
    qsem_t *s;
    atomic_int *stop;
    uint64_t rng;
    int64_t acquired, released, held;
    long ops, timeouts, cancels;
    // request in flight, 0 when none: read by the main thread on failure
    atomic_llong want;
    atomic_int done;
    int saw_close;
};

/* A global, not per call: the notify-versus-free ordering has its own
 * test (test_waiter_notify_race.c); here only the counts matter. */
static atomic_long notifications;

static void
async_notify(void *arg)
{
    (void)arg;
    atomic_fetch_add(&notifications, 1);
}

/* Queue an async waiter, poll it for a short while, then claim or cancel. */
static int
async_acquire(struct worker *w, int64_t n, int64_t poll_ns)
{
    qsem_waiter_t *aw = qsem_waiter_new(w->s, n, async_notify, NULL);
    if (aw == NULL)
        TEST_FAIL("qsem_waiter_new: %s", strerror(errno));
    int r = qsem_waiter_start(aw);
    if (r == EINPROGRESS) {
        int64_t end = test_now_ns() + poll_ns;
        while ((r = qsem_waiter_result(aw)) == EINPROGRESS && test_now_ns() < end)
            sched_yield();
    }
    if (r == 0 && test_rand(&w->rng) % 4 == 0) {
        /* Granted, then changed our mind: the tokens go back unclaimed. */
        w->cancels++;
        ASSERT_OK(qsem_waiter_cancel(aw));
        r = EAGAIN;
    } else if (r == 0) {
        ASSERT_OK(qsem_waiter_claim(aw));
    } else if (r == EINPROGRESS) {
        /* Granted between the last look and here or not: either way the
         * tokens go back, and the count below must not move. */
        w->cancels++;
        ASSERT_OK(qsem_waiter_cancel(aw));
        r = ETIMEDOUT;
    }
    qsem_waiter_free(aw);
    return r;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        uint64_t x = test_rand(&w->rng);
        int64_t n = 1 + (int64_t)(x % MAXREQ);
        int op = (int)((x >> 8) % 8);
        int r;
        w->ops++;
        /* Holders never block forever, so someone always releases. */
        if (op == 0 && w->held > 0)
            op = 1;
        atomic_store(&w->want, n);
        switch (op) {
        case 0: r = qsem_acquire(w->s, n); break;
        case 1: r = qsem_acquire_for(w->s, n, (int64_t)((x >> 16) % 2000000)); break;
        case 2: r = qsem_try_acquire(w->s, n); break;
        case 3: r = qsem_acquire_until(w->s, n, qsem_now_ns() + (int64_t)((x >> 16) % 1000000), 0); break;
        case 4: r = async_acquire(w, n, (int64_t)((x >> 16) % 1000000)); break;
        default: r = -1; break;
        }
        atomic_store(&w->want, 0);
        if (op <= 4) {
            if (r == 0) {
                w->acquired += n;
                w->held += n;
                /* Hold on a while now and then, so that others must wait. */
                if ((x >> 40) % 4 == 0)
                    sched_yield();
            } else if (r == ECANCELED) {
                w->saw_close = 1;
                break;
            } else if (r == ETIMEDOUT || r == EAGAIN) {
                w->timeouts++;
            } else {
                TEST_FAIL("op %d n=%" PRId64 " returned %s", op, n, test_errname(r));
            }
        } else if (op == 5 || op == 6 || w->held > 2 * MAXREQ) {
            int64_t k = w->held ? 1 + (int64_t)((x >> 20) % (uint64_t)w->held) : 0;
            ASSERT_OK(qsem_release(w->s, k));
            w->released += k;
            w->held -= k;
        } else if (qsem_available(w->s) < MAXREQ) {
            /* New tokens: the total is not fixed, only accounted for.  Only
             * while tokens are scarce, so that contention does not fade. */
            ASSERT_OK(qsem_release(w->s, 1));
            w->released += 1;
        }
    }
    /* Release works after close too; holders always finish. */
    if (w->held > 0)
        ASSERT_OK(qsem_release(w->s, w->held));
    w->released += w->held;
    w->held = 0;
    atomic_store(&w->done, 1);
    return NULL;
}

static void
run(unsigned flags, int with_close, int64_t duration)
{
    qsem_t *s = test_new(INITIAL, QSEM_VALUE_MAX, flags);
    atomic_int stop = 0;
    struct worker ws[NTHREADS];
    pthread_t ts[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        ws[i] = (struct worker){ .s = s, .stop = &stop,
                                 .rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1) };
        ts[i] = test_thread(worker_main, &ws[i]);
    }
    test_sleep_ns(duration);
    if (with_close)
        ASSERT_OK(qsem_close(s));
    atomic_store(&stop, 1);

    /* Every worker gives back what it holds once stopped; one still asleep
     * after all the others are gone, with its request fitting, is a lost
     * wake-up. */
    int64_t end = test_now_ns() + 10000 * MS;
    for (int i = 0; i < NTHREADS; i++) {
        while (!atomic_load(&ws[i].done)) {
            int64_t want = atomic_load(&ws[i].want);
            if (test_now_ns() > end)
                TEST_FAIL("worker %d still waits for %" PRId64 " with %" PRId64
                          " free and %" PRId64 " waiting: lost wake-up",
                          i, (int64_t)want, qsem_available(s), qsem_waiting(s));
            test_sleep_ns(MS);
        }
        test_join(ts[i]);
    }

    int64_t acquired = 0, released = 0;
    long ops = 0, timeouts = 0, cancels = 0;
    int closed_seen = 0;
    for (int i = 0; i < NTHREADS; i++) {
        acquired += ws[i].acquired;
        released += ws[i].released;
        ops += ws[i].ops;
        timeouts += ws[i].timeouts;
        cancels += ws[i].cancels;
        closed_seen += ws[i].saw_close;
    }
    printf("stress (%s%s): %ld ops, acquired %" PRId64 ", released %" PRId64
           ", %ld timed out, %ld async cancels, %d saw close\n",
           flags & QSEM_FIFO ? "FIFO" : "default", with_close ? ", close" : "",
           ops, acquired, released, timeouts, cancels, closed_seen);
    ASSERT_EQ(qsem_available(s), INITIAL + released - acquired);
    ASSERT_EQ(qsem_waiting(s), 0);
    /* The mix must have exercised both outcomes to mean anything. */
    ASSERT_GE(acquired, 1000);
    ASSERT_GE(timeouts, 10);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(80);
    int64_t d = 700 * MS;
    run(0, 0, d);
    run(QSEM_FIFO, 0, d);
    run(0, 1, d);
    run(QSEM_FIFO, 1, d);
    puts("test_stress_conservation: ok");
    return 0;
}
