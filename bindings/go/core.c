/* SPDX-License-Identifier: MIT */
/*
 * core.c: the qsem core, compiled by cgo as part of this package.
 *
 * The core is one translation unit, csrc/qsem_all.c, included here by a
 * path relative to this file, so `go build` needs no flags and no prebuilt
 * library.  This is also why the package is used from the repository (a
 * `replace` directive or a go.work), not from a module proxy.
 *
 * Below it, the wake-up path of waiting goroutines.  A waiter's notify runs
 * on the releasing thread with the semaphore's lock held, so it does not
 * call into Go: a callback there costs microseconds under the race
 * detector, and every goroutine that meanwhile blocks on the lock in a cgo
 * call takes an OS thread with it (a release to 10,000 waiters made 9,000
 * threads that way).  Instead notify pushes the wait on one lock-free list.
 * Every call of this package that can notify (release, close, the end of a
 * wait, the last unref) takes the list before returning to Go, and the Go
 * side then sends on each wait's channel, lock-free and on the caller's
 * own goroutine: every push is followed by a take on the pushing thread,
 * so no wake-up is left behind.  A try and the start of a wait count as
 * such calls: either may run the dispatcher (the end of a starvation
 * window), which can grant other waiters.
 *
 * A wait record is shared by its goroutine and, once notified, by the
 * goroutine that takes it off the list; a reference count says who frees
 * it (and who deletes the Go handle it carries) last.
 */
#include "../../csrc/qsem_all.c"

#include "qsemgo.h"

// waits notified and not yet taken, newest first
static _Atomic(struct qsemgo_wait *) qsemgo_woken;

/* notify: short, non-blocking, no qsem call and no Go (see above). */
static void qsemgo_notify(void *arg)
{
    struct qsemgo_wait *gw = arg;

    /* Relaxed MO: the taker's reference is dropped only after the list
     * exchange has handed gw over (release CAS, acquire exchange), and
     * the owner's after the semaphore's lock, held here, is released. */
    __atomic_fetch_add(&gw->refs, 1, __ATOMIC_RELAXED);
    struct qsemgo_wait *head = atomic_load_explicit(&qsemgo_woken, memory_order_relaxed);
    do {
        gw->next = head;
        /* Release MO: the taker's acquire exchange sees gw->next. */
    } while (!atomic_compare_exchange_weak_explicit(&qsemgo_woken, &head, gw,
                                                    memory_order_release,
                                                    memory_order_relaxed));
}

/* Take every notified wait (NULL, cheaply, when there is none). */
static struct qsemgo_wait *qsemgo_take_woken(void)
{
    /* Relaxed MO for the look: a push this misses was made by a thread
     * that takes the list itself before it returns.  Acquire MO on the
     * exchange pairs with the release CAS in qsemgo_notify. */
    if (atomic_load_explicit(&qsemgo_woken, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(&qsemgo_woken, NULL, memory_order_acquire);
}

int qsemgo_try_acquire(qsem_t *s, int64_t n, struct qsemgo_wait **woken)
{
    int r = qsem_try_acquire(s, n);
    *woken = qsemgo_take_woken();
    return r;
}

int qsemgo_release(qsem_t *s, int64_t n, struct qsemgo_wait **woken)
{
    int r = qsem_release(s, n);
    *woken = qsemgo_take_woken();
    return r;
}

void qsemgo_close(qsem_t *s, struct qsemgo_wait **woken)
{
    qsem_close(s);
    *woken = qsemgo_take_woken();
}

void qsemgo_unref(qsem_t *s, struct qsemgo_wait **woken)
{
    qsem_unref(s);
    *woken = qsemgo_take_woken();
}

struct qsemgo_wait *qsemgo_wait_new(qsem_t *s, int64_t n, uintptr_t handle)
{
    struct qsemgo_wait *gw = calloc(1, sizeof *gw);
    if (gw == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    gw->handle = handle;
    gw->refs = 1;
    gw->w = qsem_waiter_new(s, n, qsemgo_notify, gw);
    if (gw->w == NULL) {
        int err = errno;
        free(gw);
        errno = err;
        return NULL;
    }
    return gw;
}

int qsemgo_wait_start(struct qsemgo_wait *gw, struct qsemgo_wait **woken)
{
    int r = qsem_waiter_start(gw->w);
    *woken = qsemgo_take_woken();
    return r;
}

int qsemgo_wait_unref(struct qsemgo_wait *gw)
{
    /* Acq/rel MO: whoever frees gw sees every use of it by the other. */
    if (__atomic_fetch_sub(&gw->refs, 1, __ATOMIC_ACQ_REL) != 1)
        return 0;
    free(gw);
    return 1;
}

int qsemgo_wait_finish(struct qsemgo_wait *gw, int cancel, int *last,
                       struct qsemgo_wait **woken)
{
    int r = ECANCELED;

    if (!cancel)
        r = qsem_waiter_claim(gw->w);
    /* Cancels first, giving back unclaimed tokens; once it returns, notify
     * has run or never will. */
    qsem_waiter_free(gw->w);
    gw->w = NULL;
    *last = qsemgo_wait_unref(gw);
    *woken = qsemgo_take_woken();   /* a cancel may grant others */
    return r;
}
