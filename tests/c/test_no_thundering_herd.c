/* SPDX-License-Identifier: MIT */
/*
 * No thundering herd: a release wakes only the waiters whose requests it
 * can meet.  A thread asleep in the kernel makes no voluntary context
 * switch until it is woken, so each waiter's voluntary_ctxt_switches in
 * /proc/self/task/<tid>/status must not move while releases too small for
 * it, or served to someone else, go by.
 *
 * One exception, in the default mode: when a window opens for the starving
 * head (docs/design.md, "Fairness and liveness"), one queued thread is
 * woken to sleep again until the window's end, and then wakes to end it,
 * so that the window ends even if nothing else happens.  That is one
 * thread, whatever the number of waiters, and a few wake-ups per window:
 * a single waiter may move, by at most WATCH_WAKES per release.
 */
#include <stdatomic.h>
#include <sys/types.h>

#include "qsem_test.h"

#define NW 6
#define WATCH_WAKES 3

struct waiter {
    qsem_t *s;
    int64_t n;
    atomic_int tid;
    atomic_int done;
    int result;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->tid, (int)gettid());
    w->result = qsem_acquire(w->s, w->n);
    atomic_store(&w->done, 1);
    return NULL;
}

static long
voluntary_switches(int tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        TEST_FAIL("open %s: %s", path, strerror(errno));
    long v = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
            break;
    fclose(f);
    if (v < 0)
        TEST_FAIL("no voluntary_ctxt_switches in %s", path);
    return v;
}

static void
snapshot(struct waiter *ws, long *out)
{
    for (int i = 0; i < NW; i++)
        out[i] = atomic_load(&ws[i].done) ? -1 : voluntary_switches(atomic_load(&ws[i].tid));
}

/* Waiters still asleep must not have been woken since `before`, except
 * one watcher of the windows, by at most `watch` wake-ups. */
static void
check_unwoken(struct waiter *ws, const long *before, const char *after_what, long watch)
{
    long now[NW];
    int moved = 0;
    snapshot(ws, now);
    for (int i = 0; i < NW; i++) {
        if (before[i] < 0 || now[i] < 0 || now[i] == before[i])
            continue;
        if (moved++ == 0 && now[i] - before[i] <= watch)
            continue;
        TEST_FAIL("waiter %d (n=%" PRId64 ") was woken %ld time(s) by %s, "
                  "which it could not use", i, ws[i].n, now[i] - before[i],
                  after_what);
    }
}

static int
ndone(struct waiter *ws)
{
    int k = 0;
    for (int i = 0; i < NW; i++)
        k += atomic_load(&ws[i].done);
    return k;
}

static void
herd(unsigned flags)
{
    long watch = (flags & QSEM_FIFO) ? 0 : WATCH_WAKES;
    qsem_t *s = test_new(0, 100, flags);
    struct waiter ws[NW];
    pthread_t ts[NW];
    for (int i = 0; i < NW; i++) {
        ws[i] = (struct waiter){ .s = s, .n = 4 };
        ts[i] = test_thread(waiter_main, &ws[i]);
        test_wait_waiting(s, i + 1);
    }
    /* Past any adaptive spin, past the starvation bound: all asleep. */
    test_sleep_ns(100 * MS);
    long before[NW];
    snapshot(ws, before);

    /* Three single tokens fit nobody's request of 4. */
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(qsem_release(s, 1));
        test_sleep_ns(20 * MS);
    }
    test_sleep_ns(30 * MS);
    check_unwoken(ws, before, "release(1) x3", 3 * watch);
    ASSERT_EQ(ndone(ws), 0);

    /* The fourth completes one request: exactly one waiter runs. */
    ASSERT_OK(qsem_release(s, 1));
    int64_t end = test_now_ns() + 5000 * MS;
    while (ndone(ws) < 1 && test_now_ns() < end)
        test_sleep_ns(MS);
    test_sleep_ns(50 * MS);
    ASSERT_EQ(ndone(ws), 1);
    check_unwoken(ws, before, "a release(1) that served another waiter", 4 * watch);
    ASSERT_EQ(qsem_available(s), 0);

    /* release(8) serves exactly two more. */
    snapshot(ws, before);
    ASSERT_OK(qsem_release(s, 8));
    end = test_now_ns() + 5000 * MS;
    while (ndone(ws) < 3 && test_now_ns() < end)
        test_sleep_ns(MS);
    test_sleep_ns(50 * MS);
    ASSERT_EQ(ndone(ws), 3);
    check_unwoken(ws, before, "a release(8) that served two others", watch);

    ASSERT_OK(qsem_release(s, 12));
    for (int i = 0; i < NW; i++) {
        test_join(ts[i]);
        ASSERT_OK(ws[i].result);
    }
    ASSERT_EQ(qsem_available(s), 0);
    qsem_unref(s);
}

int
main(void)
{
    test_watchdog(50);
    herd(0);
    herd(QSEM_FIFO);
    puts("test_no_thundering_herd: ok");
    return 0;
}
