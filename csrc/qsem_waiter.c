/* SPDX-License-Identifier: MIT
 * qsem_waiter.c: asynchronous waits for event loops and coroutine hosts.
 *
 * An async waiter is a queue node that lives on the heap instead of a
 * thread's stack.  It joins the same queue as blocked threads and is served
 * by the same dispatcher, so fairness, FIFO order and close treat both
 * alike.  Instead of waking a thread, resolving it calls `notify`.
 *
 * Granted tokens belong to the waiter until its owner claims them; a
 * cancel (or free) before the claim gives them back and runs the
 * dispatcher, so a coroutine that is closed or collected at the wrong
 * moment neither leaks tokens nor leaves a satisfiable waiter asleep.
 *
 * A waiter is driven by one thread at a time; only the resolution comes
 * from another thread, through `pending` (release/acquire, as for threads).
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, pthreads, poll */

#include <errno.h>
#include <stdlib.h>

#include "qsem_internal.h"

enum { QSEM__IDLE, QSEM__STARTED };

struct qsem_waiter {
    // the queue node; first, but nothing relies on that
    struct qsem__node node;
    // pinned for the waiter's whole life
    qsem_t *s;
    // QSEM__IDLE or QSEM__STARTED; touched by the owner only
    int phase;
};

static void qsem__notify_nothing(void *arg)
{
    (void)arg;   /* a waiter that is only ever polled */
}

qsem_waiter_t *qsem_waiter_new(qsem_t *s, int64_t n, qsem_notify_fn *notify, void *arg)
{
    if (n < 0 || n > s->max) {
        errno = EINVAL;
        return NULL;
    }
    qsem_waiter_t *w = qsem__calloc(1, sizeof *w);
    if (w == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    w->node.n = n;
    w->node.notify = notify ? notify : qsem__notify_nothing;
    w->node.arg = arg;
    w->node.wake_fd = -1;
    w->node.park_fd = -1;
    w->s = s;
    w->phase = QSEM__IDLE;
    qsem__pin(s);
    return w;
}

/* A grant at start is a grant like any other: the tokens stay the
 * waiter's until claimed, so one code path serves both outcomes. */
static void qsem__granted_at_start(qsem_waiter_t *w)
{
    w->node.result = 0;
    atomic_store_explicit(&w->node.pending, 0, memory_order_relaxed);
    atomic_store_explicit(&w->node.notified, 1, memory_order_relaxed);
    w->phase = QSEM__STARTED;
}

int qsem_waiter_start(qsem_waiter_t *w)
{
    qsem_t *s = w->s;
    int64_t n = w->node.n;

    if (w->phase != QSEM__IDLE)
        return EBUSY;
    if (atomic_load_explicit(&s->closed, memory_order_relaxed))
        return ECANCELED;
    if (n == 0 || qsem__acquire_fast(s, n)) {
        qsem__granted_at_start(w);
        return 0;
    }

    int err = EINPROGRESS;
    qsem__lock(s);
    if (atomic_load_explicit(&s->closed, memory_order_relaxed)) {
        err = ECANCELED;
    } else if (qsem__last_try(s, n)) {
        qsem__granted_at_start(w);
        err = 0;
    } else {
        w->node.owner = pthread_self();
        atomic_store_explicit(&w->node.notified, 0, memory_order_relaxed);
        qsem__enqueue(s, &w->node);
        qsem__sync_flags(s);
        w->phase = QSEM__STARTED;
    }
    qsem__unlock(s);
    return err;
}

int qsem_waiter_result(const qsem_waiter_t *w)
{
    if (w->phase != QSEM__STARTED)
        return EINVAL;
    /* Acquire MO pairs with the dispatcher's release store (qsem.c). */
    if (atomic_load_explicit(&w->node.pending, memory_order_acquire))
        return EINPROGRESS;
    return w->node.result;
}

int qsem_waiter_claim(qsem_waiter_t *w)
{
    int r = qsem_waiter_result(w);
    if (r == 0 || r == ECANCELED) {
        /* notify may still be running on the resolving thread, which holds
         * the lock while it does: wait it out, so that once claim returns
         * the owner may free whatever notify's argument points to.  Mostly
         * it has returned already (always when the owner's own release
         * resolved it), and `notified` says so without the lock. */
        if (!atomic_load_explicit(&w->node.notified, memory_order_acquire)) {
            qsem__lock(w->s);
            qsem__unlock(w->s);
        }
        w->phase = QSEM__IDLE;
    }
    return r;
}

int qsem_waiter_cancel(qsem_waiter_t *w)
{
    qsem_t *s = w->s;

    if (w->phase == QSEM__IDLE)
        return 0;
    qsem__lock(s);
    if (atomic_load_explicit(&w->node.pending, memory_order_relaxed)) {
        qsem__dequeue(s, &w->node);
        qsem__dispatch(s);   /* it may have been the head holding others up */
    } else if (w->node.result == 0) {
        /* Granted but never claimed: the tokens go back to whoever fits. */
        qsem__give_back(s, w->node.n);
        qsem__dispatch(s);
    }
    qsem__unlock(s);
    w->phase = QSEM__IDLE;
    return 0;
}

void qsem_waiter_free(qsem_waiter_t *w)
{
    if (w == NULL)
        return;
    qsem_waiter_cancel(w);
    qsem__unpin(w->s);
    qsem__free(w);
}
