/* SPDX-License-Identifier: MIT */
/* qsemgo.h: the C side of the Go package's waits (core.c). */
#ifndef QSEMGO_H
#define QSEMGO_H

#include <stdint.h>

#include "../../csrc/qsem.h"

/* One goroutine's wait: an async waiter plus what wakes the goroutine. */
struct qsemgo_wait {
    // the core's waiter; NULL once finished
    qsem_waiter_t *w;
    // runtime/cgo handle of the goroutine's channel
    uintptr_t handle;
    // next in the list of notified waits
    struct qsemgo_wait *next;
    // the goroutine's reference, plus the taker's once notified;
    // a plain int under __atomic builtins, so that Go can read the
    // other fields (cgo cannot translate _Atomic)
    int refs;
};

/* A wait for n tokens on s whose goroutine is woken through `handle`.
 * NULL with errno set, as qsem_waiter_new(). */
struct qsemgo_wait *qsemgo_wait_new(qsem_t *s, int64_t n, uintptr_t handle);

/* qsem_waiter_start() on the wait's waiter; *woken as qsemgo_release. */
int qsemgo_wait_start(struct qsemgo_wait *gw, struct qsemgo_wait **woken);

/* qsem_try_acquire(); *woken as qsemgo_release (a try may end a window). */
int qsemgo_try_acquire(qsem_t *s, int64_t n, struct qsemgo_wait **woken);

/* The calls of qsem.h that can notify waits, each also taking every wait
 * notified and not yet taken (into *woken, a list through `next`; NULL if
 * none), whose wake-up is then the Go caller's job.  The caller owns one
 * reference on each wait in the list. */
int qsemgo_release(qsem_t *s, int64_t n, struct qsemgo_wait **woken);
void qsemgo_close(qsem_t *s, struct qsemgo_wait **woken);
void qsemgo_unref(qsem_t *s, struct qsemgo_wait **woken);

/* Drop a reference; 1 if it was the last (gw is freed, and the caller
 * deletes its handle), else 0. */
int qsemgo_wait_unref(struct qsemgo_wait *gw);

/* End the wait and drop the goroutine's reference (*last as
 * qsemgo_wait_unref): with cancel, leave the queue and give back any
 * tokens granted meanwhile (returns ECANCELED); else claim the grant (0,
 * or ECANCELED if the semaphore was closed).  *woken as qsemgo_release:
 * tokens given back may grant other waits. */
int qsemgo_wait_finish(struct qsemgo_wait *gw, int cancel, int *last,
                       struct qsemgo_wait **woken);

#endif /* QSEMGO_H */
