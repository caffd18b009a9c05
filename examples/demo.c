/* SPDX-License-Identifier: MIT */
/*
 * qsem in one page: a multi-token wait served by single releases, a timed
 * wait that times out, close waking a waiter, and the error values.
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep() in strict C11 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "qsem.h"

#define MS INT64_C(1000000)

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double
ms_since(int64_t t0)
{
    return (double)(qsem_now_ns() - t0) / 1e6;
}

static void *
wait_for_three(void *arg)
{
    qsem_t *s = arg;
    int64_t t0 = qsem_now_ns();
    int r = qsem_acquire(s, 3);
    printf("  waiter: acquire(3) -> %s after %.0f ms\n", qsem_strerror(r), ms_since(t0));
    return NULL;
}

static void *
wait_until_closed(void *arg)
{
    qsem_t *s = arg;
    int r = qsem_acquire(s, 1);
    printf("  waiter: acquire(1) -> %d (%s)\n", r, qsem_strerror(r));
    return NULL;
}

static void
wait_queued(qsem_t *s, int64_t n)
{
    while (qsem_waiting(s) < n)
        sleep_ms(1);
}

int
main(void)
{
    printf("qsem %s, %s back end, counts up to %" PRId64 "\n\n", QSEM_VERSION_STRING,
           qsem_backend(), QSEM_VALUE_MAX);

    qsem_t *s = qsem_new(0, QSEM_VALUE_MAX, 0);
    if (s == NULL) {
        perror("qsem_new");
        return 1;
    }
    pthread_t t;

    puts("1. A thread waits for 3 tokens; they come one at a time.");
    pthread_create(&t, NULL, wait_for_three, s);
    wait_queued(s, 1);
    for (int i = 1; i <= 3; i++) {
        sleep_ms(100);
        qsem_release(s, 1);
        printf("  main:   release(1), %d released so far\n", i);
    }
    pthread_join(t, NULL);
    printf("  available() = %" PRId64 "\n\n", qsem_available(s));

    puts("2. A timed wait with nothing to take.");
    int64_t t0 = qsem_now_ns();
    int r = qsem_acquire_for(s, 1, 250 * MS);
    printf("  acquire_for(1, 250 ms) -> %d (%s) after %.0f ms\n\n", r, qsem_strerror(r),
           ms_since(t0));

    puts("3. close() wakes a waiter, and later acquires fail at once.");
    pthread_create(&t, NULL, wait_until_closed, s);
    wait_queued(s, 1);
    sleep_ms(50);
    qsem_close(s);
    pthread_join(t, NULL);
    r = qsem_try_acquire(s, 1);
    printf("  try_acquire(1) after close -> %d (%s)\n", r, qsem_strerror(r));
    r = qsem_release(s, 2);
    printf("  release(2) after close -> %d, available() = %" PRId64 "\n\n", r,
           qsem_available(s));
    qsem_unref(s);

    puts("4. Bad input is refused and changes nothing.");
    qsem_t *b = qsem_new(2, 3, 0);
    if (b == NULL) {
        perror("qsem_new");
        return 1;
    }
    r = qsem_release(b, 2);
    printf("  release(2) on 2 of max 3  -> %-9s (%s), available() = %" PRId64 "\n",
           r == EOVERFLOW ? "EOVERFLOW" : "?", qsem_strerror(r), qsem_available(b));
    r = qsem_acquire(b, -1);
    printf("  acquire(-1)                -> %-9s (%s)\n", r == EINVAL ? "EINVAL" : "?",
           qsem_strerror(r));
    r = qsem_try_acquire(b, 3);
    printf("  try_acquire(3) with 2 free -> %-9s (%s)\n", r == EAGAIN ? "EAGAIN" : "?",
           qsem_strerror(r));
    errno = 0;
    qsem_t *bad = qsem_new(5, 4, 0);
    printf("  qsem_new(5, max 4)         -> %s, errno %s (%s)\n", bad ? "a semaphore" : "NULL",
           errno == EINVAL ? "EINVAL" : "?", qsem_strerror(errno));
    qsem_unref(bad);
    qsem_unref(b);

    puts("\nEvery result code:");
    static const struct { int code; const char *name; } codes[] = {
        { 0, "0" }, { EINVAL, "EINVAL" }, { EAGAIN, "EAGAIN" }, { ETIMEDOUT, "ETIMEDOUT" },
        { EINTR, "EINTR" }, { EOVERFLOW, "EOVERFLOW" }, { ECANCELED, "ECANCELED" },
        { ENOMEM, "ENOMEM" },
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        printf("  %-10s %s\n", codes[i].name, qsem_strerror(codes[i].code));
    return 0;
}
