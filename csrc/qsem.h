/* SPDX-License-Identifier: MIT
 * qsem: a hardened counting semaphore with Qt QSemaphore's semantics.
 *
 * Every function that can fail returns 0 or a positive errno value (like
 * pthreads, unlike libuv's negated codes); none of them sets errno, except
 * qsem_new(), which returns NULL and sets errno.  A failed call changes
 * nothing.  The full contract is in docs/design.md.
 */
#ifndef QSEM_H
#define QSEM_H

#include <stdint.h>

#include "qsem_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#  define QSEM_EXTERN __attribute__((visibility("default")))
#else
#  define QSEM_EXTERN
#endif

/* The largest count a semaphore can hold: 2^62 - 1 (two bits of the state
 * word are flags).  Also the default maximum. */
#define QSEM_VALUE_MAX INT64_C(4611686018427387903)

/* qsem_new() flags. */
#define QSEM_FIFO 0x1u        /*!< strict arrival order; try-acquire fails while anyone queues */

/* qsem_acquire_until() flags. */
#define QSEM_INTR 0x1u        /*!< a signal handler running in the waiter ends the wait with EINTR */

/* A deadline that never comes. */
#define QSEM_FOREVER INT64_MAX

/* Default mode (not QSEM_FIFO): how long the oldest waiter may be
 * overtaken by newcomers before a window opens for it, in which newcomers
 * queue and released tokens go to it alone; how long that window lasts if
 * it is not served (then newcomers may take tokens again), from its start
 * or from the last token that came back for it, but never longer than
 * QSEM_WINDOW_MAX_NS; and how long newcomers may take tokens before the
 * next window.  So a request that does not fit beside an unservable head
 * (one that asks for more than will ever be free) waits at most one
 * window, and FIFO mode has no such bound: there, nobody passes the head.
 * See docs/design.md, "Fairness and liveness". */
#define QSEM_STARVE_NS     INT64_C(1000000)
#define QSEM_WINDOW_NS     INT64_C(4000000)
#define QSEM_WINDOW_MAX_NS INT64_C(16000000)
#define QSEM_BARGE_NS      INT64_C(2000000)

typedef struct qsem qsem_t;

/* Create a semaphore with `initial` tokens that never holds more than `max`
 * (QSEM_VALUE_MAX for no bound).  NULL with errno EINVAL (initial < 0,
 * max < initial, max > QSEM_VALUE_MAX, unknown flags) or ENOMEM. */
QSEM_EXTERN qsem_t *qsem_new(int64_t initial, int64_t max, unsigned flags);

/* Take one more handle on `s`; returns `s`. */
QSEM_EXTERN qsem_t *qsem_ref(qsem_t *s);

/* Drop a handle.  Dropping the last handle closes the semaphore (waiters get
 * ECANCELED); memory is freed once the last waiter has returned.  NULL is a
 * no-op.  "Waiter" means a queued one: a call pins s only once it queues,
 * and before that (while it spins or polls for tokens) it relies on its
 * caller's handle or pin, as every call does.  So a front end whose handle
 * may be dropped while its calls run must pin s around them (qsem_pin). */
QSEM_EXTERN void qsem_unref(qsem_t *s);

/* Keep s's memory valid without holding a handle, until qsem_unpin(): for a
 * front end whose handle can be dropped (closing s) while its own calls on
 * s are still running.  The caller must hold a handle or a pin.  Returns s. */
QSEM_EXTERN qsem_t *qsem_pin(qsem_t *s);

/* Drop a qsem_pin(); the memory goes once no handle, pin or waiter is left. */
QSEM_EXTERN void qsem_unpin(qsem_t *s);

/* Take n tokens, waiting as long as it takes.  0, ECANCELED or EINVAL
 * (n < 0 or n > max: a request that could never be met). */
QSEM_EXTERN int qsem_acquire(qsem_t *s, int64_t n);

/* Take n tokens if that is possible now; never sleeps.  0, EAGAIN, ECANCELED or EINVAL. */
QSEM_EXTERN int qsem_try_acquire(qsem_t *s, int64_t n);

/* Take n tokens within timeout_ns nanoseconds (< 0: forever; 0: try once).
 * 0, ETIMEDOUT, ECANCELED or EINVAL. */
QSEM_EXTERN int qsem_acquire_for(qsem_t *s, int64_t n, int64_t timeout_ns);

/* Take n tokens before qsem_now_ns() reaches deadline_ns (QSEM_FOREVER: no
 * deadline; a past deadline tries once).  With QSEM_INTR a signal handler
 * ends the wait with EINTR and no token taken.  0, ETIMEDOUT, EINTR,
 * ECANCELED or EINVAL (also for unknown flags).  Every call that may sleep
 * can also give ENOMEM on the pthread back end (no wake-up channel). */
QSEM_EXTERN int qsem_acquire_until(qsem_t *s, int64_t n, int64_t deadline_ns, unsigned flags);

/* Give back n tokens and wake the waiters they satisfy; never sleeps.
 * Works after qsem_close().  0, EINVAL (n < 0) or EOVERFLOW (count would pass max). */
QSEM_EXTERN int qsem_release(qsem_t *s, int64_t n);

/* Tokens free right now (a snapshot). */
QSEM_EXTERN int64_t qsem_available(const qsem_t *s);

/* Threads and async waiters queued right now (a snapshot). */
QSEM_EXTERN int64_t qsem_waiting(const qsem_t *s);

/* The maximum given to qsem_new(). */
QSEM_EXTERN int64_t qsem_max(const qsem_t *s);

/* Wake every waiter with ECANCELED and make later acquires fail with
 * ECANCELED; release keeps working.  Idempotent; returns 0. */
QSEM_EXTERN int qsem_close(qsem_t *s);

/* 1 once qsem_close() has run (or the last handle was dropped), else 0. */
QSEM_EXTERN int qsem_is_closed(const qsem_t *s);

/* Nanoseconds on CLOCK_MONOTONIC: the clock of every deadline. */
QSEM_EXTERN int64_t qsem_now_ns(void);

/* For a front end's own poll: yield the CPU once, as the core's waits do,
 * unless yields were found slow lately; 0 when the poll should stop. */
QSEM_EXTERN int qsem_yield(int64_t deadline_ns);

/* The deadline timeout_ns from now, for qsem_acquire_until(): QSEM_FOREVER
 * when timeout_ns < 0 or when now + timeout_ns would pass it. */
QSEM_EXTERN int64_t qsem_deadline_after(int64_t timeout_ns);

/* A timeout in seconds as nanoseconds for qsem_deadline_after(), rounded up
 * so that a non-zero timeout never becomes 0; +inf, or more than fits in an
 * int64_t of nanoseconds, gives -1 (forever).  0, or EINVAL for NaN or a
 * negative value (each front end maps its language's negatives first). */
QSEM_EXTERN int qsem_timeout_from_sec(double seconds, int64_t *timeout_ns);

/* Name of the wait back end compiled in: "futex" or "pthread". */
QSEM_EXTERN const char *qsem_backend(void);

/* QSEM_VERSION_HEX of the library actually loaded. */
QSEM_EXTERN unsigned qsem_version(void);

/* Short text for a result code of this API ("timed out", "closed", ...). */
QSEM_EXTERN const char *qsem_strerror(int err);

/*
 * Asynchronous waits, for event loops and coroutine schedulers that must not
 * block their thread.  A waiter joins the same queue as blocked threads and
 * is served by the same rules; when it is resolved (granted or closed) the
 * semaphore calls its notify function.  notify runs on the releasing or
 * closing thread with the semaphore's internal lock held: it must be short,
 * must not block and must not call any qsem function.  It may still be
 * running when qsem_waiter_result() first reports the outcome, but not once
 * claim, cancel or free has returned.  One thread drives a waiter at a time.
 */
typedef struct qsem_waiter qsem_waiter_t;
typedef void qsem_notify_fn(void *arg);

/* A waiter for n tokens on s.  It keeps s's memory alive until freed but is
 * not a handle: dropping the last handle still closes s.  NULL with errno
 * EINVAL (n < 0 or n > max) or ENOMEM. */
QSEM_EXTERN qsem_waiter_t *qsem_waiter_new(qsem_t *s, int64_t n, qsem_notify_fn *notify, void *arg);

/* Try to take the tokens now, else queue.  0 (granted at once: claim them as
 * any grant; notify is not called), EINPROGRESS (queued), ECANCELED, or
 * EBUSY (already started and not yet claimed or cancelled). */
QSEM_EXTERN int qsem_waiter_start(qsem_waiter_t *w);

/* EINPROGRESS while queued, then 0 (granted) or ECANCELED; EINVAL if idle
 * (never started, or already claimed or cancelled). */
QSEM_EXTERN int qsem_waiter_result(const qsem_waiter_t *w);

/* Leave the queue; tokens granted but not yet claimed are given back, so
 * nothing is lost.  Returns the waiter to its unstarted state: 0. */
QSEM_EXTERN int qsem_waiter_cancel(qsem_waiter_t *w);

/* Take granted tokens over, so cancel and free leave them alone, and make the
 * waiter idle again; once it returns, notify has finished.  0, or
 * EINPROGRESS/ECANCELED/EINVAL as qsem_waiter_result(). */
QSEM_EXTERN int qsem_waiter_claim(qsem_waiter_t *w);

/* Cancel (as qsem_waiter_cancel) and free; drops the handle.  NULL is a no-op. */
QSEM_EXTERN void qsem_waiter_free(qsem_waiter_t *w);

#ifdef __cplusplus
}
#endif

#endif /* QSEM_H */
