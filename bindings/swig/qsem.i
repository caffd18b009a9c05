/* SPDX-License-Identifier: MIT */
/*
 * qsem.i: the one SWIG interface for the SWIG front ends (Java, Perl, Tcl,
 * Ruby, C#).
 *
 * The generated class is `Semaphore`.  Each proxy object owns one handle
 * (qsem_ref/qsem_unref) on a shared qsem_t, kept in a slot of the handle
 * table of qsem_handle.h; the proxy itself holds only the slot's handle.
 * Every call pins the slot for its duration, so deleting, disposing or
 * collecting a proxy on one thread while others call it is safe: their
 * calls finish on valid memory or fail with the language's error for a dead
 * object.  Dropping the last handle closes the semaphore (docs/contract.md,
 * "Lifetime").
 *
 * Results travel from the C helpers below to the single %exception block
 * through a thread-local slot, so that every language maps errno values to
 * its own exceptions in one place.  The wrappers are generated at build
 * time by bindings/swig/CMakeLists.txt and never committed.
 */
%module qsem

%begin %{
/* pthread_condattr_setclock and CLOCK_MONOTONIC, before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
%}

%{
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <pthread.h>
#include <time.h>

#include "qsem.h"
#include "qsem_handle.h"

#if defined(SWIGRUBY)
#include <ruby/thread.h>
#endif

#if defined(SWIGTCL)
/* The version `load` and `package require` provide (SWIG's default: 0.0). */
#undef SWIG_version
#define SWIG_version QSEM_VERSION_STRING
#endif

/*
 * What a proxy holds.  Semaphore is never defined: a `Semaphore *` is a
 * handle of the table in qsem_handle.h (slot index and generation, never a
 * real address), so a proxy deleted on one thread while another thread has
 * already read its pointer leaves that thread with a handle that fails
 * cleanly, never with freed memory.  Each proxy gets a slot of its own
 * (SWIG's Tcl runtime keys ownership by the pointer's value); a Perl object
 * is one slot for all its copies in every thread (see the Perl block).
 */
typedef struct Semaphore Semaphore;

/* Result of the last helper on this thread (0 or a qsem errno), read by %exception.
 * Thread-local because every target language may call in from many threads at once.
 * EBADF means the proxy's handle is dead (deleted, disposed, zero or forged). */
static _Thread_local int qsem_swig_err;

/* The semaphore behind a proxy, pinned for this call, or NULL with EBADF
 * recorded.  Every method pairs it with qsem_swig_leave(). */
static qsem_t *qsem_swig_enter(Semaphore *self, qsem_handle_slot **slot)
{
    qsem_t *s = qsem_handle_pin((uint64_t)(uintptr_t)self, slot);
    if (s == NULL) {
        qsem_swig_err = EBADF;
    }
    return s;
}

static void qsem_swig_leave(qsem_handle_slot *slot)
{
    qsem_handle_unpin(slot);
}

/*
 * Each language's rule for a negative timeout, in this one place; everything
 * else (NaN is EINVAL, +inf or too large is forever, a non-zero timeout never
 * rounds down to a try) is the core's, through qsem_timeout_from_sec and
 * qsem_deadline_after.  The table in docs/bindings.md lists the outcome.
 *   Java, Perl, Tcl: a timeout of zero or less tries once (java.util.concurrent
 *     and Tcl's `after` treat it as no wait; Thread::Semaphore's down_timed
 *     dies on it, which a port from it never relied on).
 *   Ruby, C#: a negative timeout is an argument error (Kernel#sleep raises
 *     ArgumentError; SemaphoreSlim.Wait throws ArgumentOutOfRangeException).
 */
#if defined(SWIGRUBY) || defined(SWIGCSHARP)
#define QSEM_SWIG_NEGATIVE_IS_ERROR 1
#else
#define QSEM_SWIG_NEGATIVE_IS_ERROR 0
#endif

/* The deadline for a timeout in seconds: 0 or EINVAL. */
static int qsem_swig_deadline_sec(double seconds, int64_t *deadline)
{
    int64_t ns;
    int rc;
    if (seconds < 0.0 && !QSEM_SWIG_NEGATIVE_IS_ERROR) {
        seconds = 0.0;
    }
    rc = qsem_timeout_from_sec(seconds, &ns);
    if (rc == 0) {
        *deadline = qsem_deadline_after(ns);
    }
    return rc;
}

/* The deadline for a timeout in nanoseconds: 0 or EINVAL. */
static int qsem_swig_deadline_ns(int64_t ns, int64_t *deadline)
{
    if (ns < 0) {
        if (QSEM_SWIG_NEGATIVE_IS_ERROR) {
            return EINVAL;
        }
        ns = 0;
    }
    *deadline = qsem_deadline_after(ns);
    return 0;
}

#if defined(SWIGRUBY)
struct qsem_swig_wait {
    qsem_t *s;
    int64_t n;
    int64_t deadline;
    int rc;
};

static void *qsem_swig_wait_nogvl(void *arg)
{
    struct qsem_swig_wait *w = arg;
    w->rc = qsem_acquire_until(w->s, w->n, w->deadline, QSEM_INTR);
    return NULL;
}
#endif

#if defined(SWIGPERL) || defined(SWIGCSHARP)
/*
 * Waits that the runtime interrupts without an OS signal.
 *   Perl: threads->kill only marks the signal pending in the target
 *   interpreter, which looks at it at its next safe point (real signals,
 *   alarm and kill, set the same flag: PL_sig_pending).
 *   C#: Thread.Interrupt() only marks the thread; the runtime throws when
 *   the thread next blocks in managed code (Thread.Sleep(0) finds it).
 * A wait therefore queues an async waiter (keeping its place in the queue)
 * and sleeps on a condition variable in slices, asking the runtime between
 * them whether it has something to run.
 */
#define QSEM_SWIG_SLICE_NS INT64_C(20000000)

#if defined(SWIGPERL)
static int qsem_swig_interrupt_pending(void)
{
    dTHX;
    return PL_sig_pending != 0;
}
#else
/* Sets the pending managed exception for a result: kinds as in
 * QsemRuntime.Make below.  Registered by the P/Invoke class's initialiser. */
typedef void (SWIGSTDCALL *qsem_swig_csharp_throw_fn)(int kind, const char *message);
static qsem_swig_csharp_throw_fn qsem_swig_csharp_throw;

SWIGEXPORT void SWIGSTDCALL qsem_swig_csharp_register(qsem_swig_csharp_throw_fn thrower)
{
    qsem_swig_csharp_throw = thrower;
}

static int qsem_swig_csharp_kind(int err)
{
    switch (err) {
    case EBADF: return 1;
    case EINTR: return 2;
    case ECANCELED: return 3;
    case EINVAL: return 4;
    case EOVERFLOW: return 5;
    case ENOMEM: return 6;
    default: return 7;
    }
}
#endif

/* One queued wait: an async waiter whose notify wakes a condition variable. */
struct qsem_swig_park {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;               /* notify ran: granted or closed */
    qsem_waiter_t *w;
};

/* Runs with the semaphore's lock held: just set the flag and wake. */
static void qsem_swig_park_notify(void *arg)
{
    struct qsem_swig_park *p = arg;
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Drop the park (claimed, cancelled or never started). */
static void qsem_swig_park_free(struct qsem_swig_park *p)
{
    qsem_waiter_free(p->w);  /* cancels: a grant not claimed goes back */
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Queue for n tokens of s.  0 (taken at once; *pp is NULL), EINPROGRESS
 * (queued: step and end *pp), or an error. */
static int qsem_swig_park_begin(qsem_t *s, int64_t n, struct qsem_swig_park **pp)
{
    struct qsem_swig_park *p = calloc(1, sizeof *p);
    pthread_condattr_t attr;
    int rc;

    *pp = NULL;
    if (p == NULL) {
        return ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    p->w = qsem_waiter_new(s, n, qsem_swig_park_notify, p);
    if (p->w == NULL) {
        rc = errno;
        qsem_swig_park_free(p);
        return rc;
    }
    rc = qsem_waiter_start(p->w);
    if (rc == 0) {
        rc = qsem_waiter_claim(p->w);  /* granted at once */
    }
    if (rc != EINPROGRESS) {
        qsem_swig_park_free(p);
        return rc;
    }
    *pp = p;
    return EINPROGRESS;
}

/* Sleep until the wait is resolved or qsem_now_ns() reaches until: 1 if
 * resolved (granted or closed), else 0. */
static int qsem_swig_park_step(struct qsem_swig_park *p, int64_t until)
{
    struct timespec ts;
    int done;

    ts.tv_sec = (time_t)(until / 1000000000);
    ts.tv_nsec = (long)(until % 1000000000);
    pthread_mutex_lock(&p->lock);
    while (!p->done) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    done = p->done;
    pthread_mutex_unlock(&p->lock);
    return done;
}

/* End the wait and free the park: 0 (tokens claimed), ECANCELED, or
 * EINPROGRESS (not resolved: cancelled, nothing taken).  claim == 0 gives
 * back even a grant (the caller is unwinding). */
static int qsem_swig_park_end(struct qsem_swig_park *p, int claim)
{
    int rc = qsem_waiter_result(p->w);
    if (claim && (rc == 0 || rc == ECANCELED)) {
        rc = qsem_waiter_claim(p->w);
    } else if (!claim) {
        rc = EINPROGRESS;
    }
    qsem_swig_park_free(p);
    return rc;
}

#if defined(SWIGPERL)
/* 0, ETIMEDOUT, ECANCELED, ENOMEM, or EINTR with no token taken and the
 * signal still pending for the caller to run. */
static int qsem_swig_sliced_wait(qsem_t *s, int64_t n, int64_t deadline)
{
    struct qsem_swig_park *p;
    int rc = qsem_swig_park_begin(s, n, &p);

    while (rc == EINPROGRESS) {
        int64_t now = qsem_now_ns();
        if (qsem_swig_interrupt_pending()) {
            qsem_swig_park_end(p, 0);
            return EINTR;
        }
        if (now >= deadline
            || qsem_swig_park_step(p, deadline - now > QSEM_SWIG_SLICE_NS
                                          ? now + QSEM_SWIG_SLICE_NS : deadline)) {
            rc = qsem_swig_park_end(p, 1);
            return rc == EINPROGRESS ? ETIMEDOUT : rc;
        }
    }
    return rc;
}
#else
/*
 * C#: the loop runs in managed code (Semaphore.Wait below), so that the
 * ThreadInterruptedException that Thread.Sleep(0) throws between slices
 * unwinds through a `finally` that ends the wait.  Results are kinds, as
 * for the exception callback, plus these two.
 */
#define QSEM_SWIG_CS_PENDING (-1)   /* still queued: step again */
#define QSEM_SWIG_CS_NOT_NOW (-2)   /* timed out or not free now */

static int qsem_swig_csharp_kind(int err);

/* The deadline for a timeout in ns, or QSEM_FOREVER if 'forever' (C# has
 * no seconds form: SemaphoreSlim's units are int ms and TimeSpan, which
 * the proxy turns into ns).  0 or an error kind. */
SWIGEXPORT int SWIGSTDCALL qsem_swig_csharp_deadline(int forever, int64_t ns, int64_t *deadline)
{
    int rc = 0;
    if (forever) {
        *deadline = QSEM_FOREVER;
    } else {
        rc = qsem_swig_deadline_ns(ns, deadline);
    }
    return rc == 0 ? 0 : qsem_swig_csharp_kind(rc);
}

/* Take n tokens now, or queue (PENDING, *park to step and end) unless the
 * deadline has passed (NOT_NOW). */
SWIGEXPORT int SWIGSTDCALL qsem_swig_csharp_begin(void *self, int64_t n, int64_t deadline,
                                                  void **park, int *result)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_handle_pin((uint64_t)(uintptr_t)self, &slot);
    int rc;

    *park = NULL;
    if (s == NULL) {
        return qsem_swig_csharp_kind(EBADF);
    }
    rc = qsem_try_acquire(s, n);
    if (rc == EAGAIN) {
        /* The waiter keeps s's memory; the slot's pin can go. */
        rc = qsem_now_ns() >= deadline ? EAGAIN
             : qsem_swig_park_begin(s, n, (struct qsem_swig_park **)park);
    }
    qsem_handle_unpin(slot);
    *result = rc == 0 ? 0 : rc == EAGAIN ? QSEM_SWIG_CS_NOT_NOW
              : rc == EINPROGRESS ? QSEM_SWIG_CS_PENDING : qsem_swig_csharp_kind(rc);
    return *result;
}

/* One slice of a queued wait: 0 when resolved, NOT_NOW past the deadline,
 * else PENDING.  Takes nothing: end does. */
SWIGEXPORT int SWIGSTDCALL qsem_swig_csharp_step(void *park, int64_t deadline)
{
    int64_t now = qsem_now_ns();
    if (now >= deadline) {
        return QSEM_SWIG_CS_NOT_NOW;
    }
    return qsem_swig_park_step(park, deadline - now > QSEM_SWIG_SLICE_NS
                                         ? now + QSEM_SWIG_SLICE_NS : deadline)
           ? 0 : QSEM_SWIG_CS_PENDING;
}

/* End a queued wait (always): 0 (tokens taken), NOT_NOW, or an error
 * kind; claim == 0 gives everything back.  begin and end also leave their
 * result in *result, which the managed side reads when the runtime throws
 * an interrupt on the way back from a call that took tokens. */
SWIGEXPORT int SWIGSTDCALL qsem_swig_csharp_end(void *park, int claim, int *result)
{
    int rc = qsem_swig_park_end(park, claim);
    *result = rc == 0 ? 0 : rc == EINPROGRESS ? QSEM_SWIG_CS_NOT_NOW : qsem_swig_csharp_kind(rc);
    return *result;
}

/* The message for an error kind, for exceptions made in managed code. */
static const char *qsem_swig_message(int err);
SWIGEXPORT const char *SWIGSTDCALL qsem_swig_csharp_message(int kind)
{
    static const int errs[] = { 0, EBADF, EINTR, ECANCELED, EINVAL, EOVERFLOW, ENOMEM };
    return qsem_swig_message(kind > 0 && kind < 7 ? errs[kind] : EIO);
}
#endif
#endif /* SWIGPERL || SWIGCSHARP */

/*
 * Take n tokens from s before deadline (QSEM_FOREVER: none).  Tries once
 * with the runtime's lock held, so the uncontended path costs no lock
 * hand-off.  Ruby and Perl get EINTR, with no token taken, when their
 * interpreter has something to run; qsem_swig_wait runs it.
 *
 * Ruby: the sleep runs without the GVL.  RUBY_UBF_IO interrupts it with a
 * signal, which ends a QSEM_INTR wait with EINTR.  RB_NOGVL_INTR_FAIL keeps
 * Ruby from raising on the way out of a wait that did take its tokens,
 * which would lose them.
 *
 * Java and Tcl hold no global lock across a native call and have no
 * interruption to look for, so there the plain blocking call is the right
 * thing.  C# waits through qsem_swig_csharp_begin/step/end instead.
 */
static int qsem_swig_acquire_until(qsem_t *s, int64_t n, int64_t deadline)
{
    int rc = qsem_try_acquire(s, n);
    if (rc != EAGAIN) {
        return rc;
    }
#if defined(SWIGRUBY)
    {
        struct qsem_swig_wait w = { s, n, deadline, EINTR };
        rb_nogvl(qsem_swig_wait_nogvl, &w, RUBY_UBF_IO, NULL, RB_NOGVL_INTR_FAIL);
        return w.rc;
    }
#elif defined(SWIGPERL)
    return qsem_swig_sliced_wait(s, n, deadline);
#else
    return qsem_acquire_until(s, n, deadline, 0);
#endif
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/*
 * A call into the interpreter that may unwind with longjmp (a Ruby
 * exception, a Perl die) past this module's frames.  ASan must hear of it
 * first, as it does before any noreturn call, or the redzones of the frames
 * skipped stay poisoned and a later call trips on them.
 */
static void qsem_swig_may_unwind(void)
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_handle_no_return();
#endif
}

/*
 * One wait on a proxy: pin, wait, unpin.  The interpreter's pending work
 * (Ruby: Thread#raise, Thread#kill, a trap; Perl: %SIG handlers, including
 * threads->kill) runs between waits with nothing pinned, since it may
 * unwind straight out of this function.
 *   Ruby: if it returns, the wait resumes against the same deadline.
 *   Perl: one that dies unwinds with its exception; one that returns ends
 *   the wait with EINTR ("interrupted"), as a system call under a handler.
 */
static int qsem_swig_wait(Semaphore *self, int64_t n, int64_t deadline)
{
    for (;;) {
        qsem_handle_slot *slot;
        qsem_t *s = qsem_swig_enter(self, &slot);
        int rc;
        if (s == NULL) {
            return EBADF;
        }
        rc = qsem_swig_acquire_until(s, n, deadline);
        qsem_swig_leave(slot);
        if (rc != EINTR) {
            return rc;
        }
        qsem_swig_may_unwind();
#if defined(SWIGRUBY)
        rb_thread_check_ints();
#elif defined(SWIGPERL)
        {
            dTHX;
            PERL_ASYNC_CHECK();
        }
        return EINTR;
#else
        return EINTR;
#endif
    }
}

/* A new proxy handle owning s, or NULL with the error recorded (s is then
 * dropped). */
static Semaphore *qsem_swig_wrap(qsem_t *s)
{
    uint64_t h;
    if (s == NULL) {
        qsem_swig_err = errno;
        return NULL;
    }
    h = qsem_handle_new(s);
    if (h == 0) {
        qsem_swig_err = ENOMEM;
        return NULL;
    }
    return (Semaphore *)(uintptr_t)h;
}

static Semaphore *new_Semaphore(int64_t initial, int64_t max, bool fair)
{
    return qsem_swig_wrap(qsem_new(initial, max, fair ? QSEM_FIFO : 0u));
}

/* Never fails: a dead, zero or forged handle is left alone. */
static void delete_Semaphore(Semaphore *self)
{
    qsem_handle_delete((uint64_t)(uintptr_t)self);
}

static inline void Semaphore_acquire(Semaphore *self, int64_t n)
{
    qsem_swig_err = qsem_swig_wait(self, n, QSEM_FOREVER);
}

/* true when taken; false on timeout or when the tokens are not free now
 * (a timeout is not an error); errors go to qsem_swig_err.  rc is the
 * timeout's conversion: a bad timeout on a dead handle reports the handle. */
static bool qsem_swig_try(Semaphore *self, int64_t n, int rc, int64_t deadline)
{
    if (rc == 0) {
        rc = qsem_swig_wait(self, n, deadline);
    } else {
        qsem_handle_slot *slot;
        if (qsem_swig_enter(self, &slot) == NULL) {
            return false;
        }
        qsem_swig_leave(slot);
    }
    if (rc == EAGAIN || rc == ETIMEDOUT) {
        return false;
    }
    qsem_swig_err = rc;
    return rc == 0;
}

static inline bool Semaphore_try_acquire(Semaphore *self, int64_t n, double timeout)
{
    int64_t deadline = 0;
    int rc = qsem_swig_deadline_sec(timeout, &deadline);
    return qsem_swig_try(self, n, rc, deadline);
}

static inline bool Semaphore_try_acquire_ns(Semaphore *self, int64_t n, int64_t timeout_ns)
{
    int64_t deadline = 0;
    int rc = qsem_swig_deadline_ns(timeout_ns, &deadline);
    return qsem_swig_try(self, n, rc, deadline);
}

static void Semaphore_release(Semaphore *self, int64_t n)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    if (s != NULL) {
        qsem_swig_err = qsem_release(s, n);
        qsem_swig_leave(slot);
    }
}

/* The queries: a snapshot of one int64 field, or 0 with EBADF. */
#define QSEM_SWIG_QUERY(name, type, expr)                       \
    static type Semaphore_##name(Semaphore *self)               \
    {                                                           \
        qsem_handle_slot *slot;                                 \
        qsem_t *s = qsem_swig_enter(self, &slot);               \
        type v = 0;                                             \
        if (s != NULL) {                                        \
            v = (expr);                                         \
            qsem_swig_leave(slot);                              \
        }                                                       \
        return v;                                               \
    }
QSEM_SWIG_QUERY(available, int64_t, qsem_available(s))
QSEM_SWIG_QUERY(waiting, int64_t, qsem_waiting(s))
QSEM_SWIG_QUERY(max, int64_t, qsem_max(s))
QSEM_SWIG_QUERY(closed, bool, qsem_is_closed(s) != 0)

static void Semaphore_close(Semaphore *self)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    if (s != NULL) {
        (void)qsem_close(s);
        qsem_swig_leave(slot);
    }
}

/* A second handle on the same semaphore, owned by the new proxy: the way to
 * give another thread's interpreter (Perl, Tcl) its own reference. */
static Semaphore *Semaphore_dup(Semaphore *self)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    Semaphore *copy = NULL;
    if (s != NULL) {
        copy = qsem_swig_wrap(qsem_ref(s));
        qsem_swig_leave(slot);
    }
    return copy;
}

static const char *qsem_swig_message(int err)
{
    switch (err) {
    case EINVAL:
#if QSEM_SWIG_NEGATIVE_IS_ERROR
        return "qsem: invalid argument (a count must be 0..max, a timeout a number of 0 or more)";
#else
        return "qsem: invalid argument (a count must be 0..max, the timeout a number)";
#endif
    case EOVERFLOW:
        return "qsem: release would pass the semaphore's maximum";
    case ECANCELED:
        return "qsem: semaphore is closed";
    case ENOMEM:
        return "qsem: out of memory";
    case EINTR:
        return "qsem: wait interrupted by a signal";
    case EBADF:
        return "qsem: Semaphore used after delete (or not a live handle)";
    default:
        return qsem_strerror(err);
    }
}
%}

%include <stdint.i>
%include <exception.i>

/*
 * Every errno becomes the target language's own exception here, and only
 * here.  A timeout is not an error: the try methods return false.  Java,
 * Ruby and C# get classes of their own where SWIG's generic codes have no
 * good match (C# through the managed callback above); the rest use
 * SWIG_exception's portable mapping: EINVAL -> ValueError, EOVERFLOW ->
 * OverflowError, ECANCELED -> RuntimeError ("closed"), EBADF ->
 * RuntimeError ("used after delete").
 */
%exception {
    qsem_swig_err = 0;
    $action
    if (qsem_swig_err != 0) {
        int qsem_swig_code_ = qsem_swig_err;
        qsem_swig_err = 0;
#if defined(SWIGJAVA)
        {
            const char *cls = qsem_swig_code_ == EINVAL ? "java/lang/IllegalArgumentException"
                            : qsem_swig_code_ == EOVERFLOW ? "java/lang/ArithmeticException"
                            : qsem_swig_code_ == ECANCELED ? "org/qsem/ClosedException"
                            : qsem_swig_code_ == ENOMEM ? "java/lang/OutOfMemoryError"
                            : "java/lang/IllegalStateException";
            jclass excep = (*jenv)->FindClass(jenv, cls);
            if (excep != NULL) {
                (*jenv)->ThrowNew(jenv, excep, qsem_swig_message(qsem_swig_code_));
            }
            return $null;
        }
#elif defined(SWIGRUBY)
        {
            VALUE qsem_swig_cls_ = rb_eRuntimeError;
            if (qsem_swig_code_ == EINVAL) {
                qsem_swig_cls_ = rb_eArgError;
            } else if (qsem_swig_code_ == EOVERFLOW) {
                qsem_swig_cls_ = rb_eRangeError;
            } else if (qsem_swig_code_ == ENOMEM) {
                qsem_swig_cls_ = rb_eNoMemError;
            } else if (qsem_swig_code_ == ECANCELED) {
                qsem_swig_cls_ = rb_const_get(rb_const_get(rb_cObject, rb_intern("Qsem")),
                                              rb_intern("ClosedError"));
            }
            rb_raise(qsem_swig_cls_, "%s", qsem_swig_message(qsem_swig_code_));
        }
#elif defined(SWIGCSHARP)
        if (qsem_swig_csharp_throw != NULL) {
            qsem_swig_csharp_throw(qsem_swig_csharp_kind(qsem_swig_code_),
                                   qsem_swig_message(qsem_swig_code_));
        } else {
            /* Only if the P/Invoke class was bypassed: still an exception. */
            SWIG_CSharpSetPendingException(SWIG_CSharpApplicationException,
                                           qsem_swig_message(qsem_swig_code_));
        }
        return $null;
#else
        SWIG_Error(qsem_swig_code_ == EINVAL ? SWIG_ValueError
                   : qsem_swig_code_ == EOVERFLOW ? SWIG_OverflowError
                   : qsem_swig_code_ == ENOMEM ? SWIG_MemoryError
                   : SWIG_RuntimeError,
                   qsem_swig_message(qsem_swig_code_));
#  if defined(SWIGTCL)
        /* After SWIG_Error, which sets its own {SWIG ...} code. */
        Tcl_SetErrorCode(interp, "QSEM",
                         qsem_swig_code_ == EINVAL ? "EINVAL"
                         : qsem_swig_code_ == EOVERFLOW ? "EOVERFLOW"
                         : qsem_swig_code_ == ECANCELED ? "CLOSED"
                         : qsem_swig_code_ == EBADF ? "DEAD" : "ERROR", NULL);
#  endif
        SWIG_fail;
#endif
    }
}

#if defined(SWIGRUBY)
/* Nanoseconds beyond int64_t (2**63, a Float such as 1e30 or Infinity)
 * saturate, so that a huge timeout waits and a hugely negative one is
 * negative (ArgumentError), as in the deadline table (docs/bindings.md). */
%typemap(in, fragment=SWIG_AsVal_frag(long long)) int64_t timeout_ns (long long val_, int ecode_, double d_) {
  ecode_ = SWIG_AsVal(long long)($input, &val_);
  if (SWIG_IsOK(ecode_)) {
    $1 = (int64_t)val_;
  } else if ((RB_INTEGER_TYPE_P($input) || RB_FLOAT_TYPE_P($input)) &&
             ((d_ = NUM2DBL($input)) >= 9223372036854775808.0 || d_ < -9223372036854775808.0)) {
    $1 = d_ < 0 ? INT64_MIN : INT64_MAX;
  } else {
    SWIG_exception_fail(SWIG_ArgError(ecode_), "in method '$symname', argument $argnum of type '$type'");
  }
}
#endif

/* Names each language expects: camelCase in Java, snake_case with a
 * predicate in Ruby, snake_case in Perl and Tcl. */
#if defined(SWIGJAVA)
%rename(tryAcquire) Semaphore::try_acquire;
%rename(tryAcquireNanos) Semaphore::try_acquire_ns;
%rename(isClosed) Semaphore::closed;
%rename(dup) Semaphore::dup;
#elif defined(SWIGRUBY)
%rename("closed?") Semaphore::closed;
%rename(dup_handle) Semaphore::dup;
#elif defined(SWIGCSHARP)
/* The waits are written in C# (Semaphore.Wait, below). */
%ignore Semaphore::acquire;
%ignore Semaphore::try_acquire;
%ignore Semaphore::try_acquire_ns;
%rename(Release) Semaphore::release;
%rename(Available) Semaphore::available;
%rename(Waiting) Semaphore::waiting;
%rename(Max) Semaphore::max;
%rename(IsClosed) Semaphore::closed;
%rename(Close) Semaphore::close;
%rename(Dup) Semaphore::dup;
%rename(Backend) qsem_backend;
#endif

#if defined(SWIGCSHARP)
/*
 * Results become managed exceptions through one callback, registered with
 * the interrupt check before the first call (the P/Invoke class's static
 * constructor): a dead handle is ObjectDisposedException, an interrupted
 * wait ThreadInterruptedException, a closed semaphore Qsem.ClosedException,
 * a bad argument ArgumentOutOfRangeException, a release past the maximum
 * SemaphoreFullException, as System.Threading.SemaphoreSlim does.
 */
%pragma(csharp) imclasscode=%{
  internal class QsemRuntime {
    public delegate void ThrowDelegate(int kind, string message);
    static readonly ThrowDelegate thrower = SetPending;

    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_register")]
    static extern void Register(ThrowDelegate thrower);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_message")]
    static extern global::System.IntPtr Message(int kind);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_deadline")]
    internal static extern int Deadline(int forever, long ns, out long deadline);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_begin")]
    internal static extern int Begin(global::System.Runtime.InteropServices.HandleRef self, long n, long deadline, out global::System.IntPtr park, ref int result);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_step")]
    internal static extern int Step(global::System.IntPtr park, long deadline);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="qsem_swig_csharp_end")]
    internal static extern int End(global::System.IntPtr park, int claim, ref int result);

    internal const int Pending = -1, NotNow = -2;

    internal static global::System.Exception Make(int kind, string message) {
      switch (kind) {
      case 1: return new global::System.ObjectDisposedException("Qsem.Semaphore", message);
      case 2: return new global::System.Threading.ThreadInterruptedException(message);
      case 3: return new ClosedException(message);
      case 4: return new global::System.ArgumentOutOfRangeException(null, message);
      case 5: return new global::System.Threading.SemaphoreFullException(message);
      case 6: return new global::System.OutOfMemoryException(message);
      default: return new global::System.InvalidOperationException(message);
      }
    }

    internal static global::System.Exception Make(int kind) {
      return Make(kind, global::System.Runtime.InteropServices.Marshal.PtrToStringAnsi(Message(kind)));
    }

    static void SetPending(int kind, string message) {
      SWIGPendingException.Set(Make(kind, message));
    }

    static QsemRuntime() { Register(thrower); }
  }
  // Initialised with the class, as SWIG's own exception helper is.
  internal static readonly QsemRuntime qsemRuntime = new QsemRuntime();
%}

/* C has no default arguments for SWIG's C# module: the overloads. */
%typemap(cscode) Semaphore %{
  /// <summary>A semaphore with no tokens and no bound beyond VALUE_MAX.</summary>
  public Semaphore() : this(0, qsem.VALUE_MAX, false) {}
  /// <summary>An unfair (fast) semaphore with <paramref name="initial"/> tokens.</summary>
  public Semaphore(long initial) : this(initial, qsem.VALUE_MAX, false) {}
  /// <summary>An unfair semaphore that never holds more than <paramref name="max"/> tokens.</summary>
  public Semaphore(long initial, long max) : this(initial, max, false) {}

  /*
   * Every wait: take the tokens now, or queue and sleep in short native
   * slices with Thread.Sleep(0) between them, which throws the
   * ThreadInterruptedException of a Thread.Interrupt(); the catch then
   * leaves the queue, giving back anything granted meanwhile.
   *
   * Mono may also throw a pending interrupt on the way back from a native
   * call (and at the end of a finally, so there is none here), after the
   * call took the tokens.  Begin and End therefore write their result
   * where it outlives the throw; Taken reads it, and a wait that took its
   * tokens keeps them and posts the interrupt again, for the thread's next
   * blocking call, as SemaphoreSlim leaves it when it acquires.
   */
  const int Unset = int.MinValue;

  static int Taken(int result, global::System.Threading.ThreadInterruptedException e) {
    if (result != 0) throw e;
    global::System.Threading.Thread.CurrentThread.Interrupt();
    return 0;
  }

  bool Wait(long n, bool forever, long ns, string timeoutName = "timeout") {
    long deadline;
    int rc = qsemPINVOKE.QsemRuntime.Deadline(forever ? 1 : 0, ns, out deadline);
    global::System.IntPtr park = global::System.IntPtr.Zero;
    int result = Unset;
    if (rc == 4) {  // the timeout, named as the caller named it
      if (qsemPINVOKE.QsemRuntime.Begin(swigCPtr, 0, long.MinValue, out park, ref result) == 1) {
        rc = 1;  // a dead handle outranks a bad timeout
      } else {
        throw new global::System.ArgumentOutOfRangeException(timeoutName,
            timeoutName == "timeoutNs" ? "The timeout must be 0 or more nanoseconds."
                                       : "The timeout must be Timeout.Infinite or a value of 0 or more.");
      }
    } else if (rc == 0) {
      try {
        rc = qsemPINVOKE.QsemRuntime.Begin(swigCPtr, n, deadline, out park, ref result);
      } catch (global::System.Threading.ThreadInterruptedException e) {
        if (result == qsemPINVOKE.QsemRuntime.Pending) {
          qsemPINVOKE.QsemRuntime.End(park, 0, ref result);
          throw;
        }
        rc = Taken(result, e);
      }
    } else if (qsemPINVOKE.QsemRuntime.Begin(swigCPtr, 0, long.MinValue, out park, ref result) == 1) {
      rc = 1;  // a dead handle outranks a bad timeout
    }
    if (rc == qsemPINVOKE.QsemRuntime.Pending) {
      try {
        do {
          global::System.Threading.Thread.Sleep(0);
          rc = qsemPINVOKE.QsemRuntime.Step(park, deadline);
        } while (rc == qsemPINVOKE.QsemRuntime.Pending);
      } catch {
        qsemPINVOKE.QsemRuntime.End(park, 0, ref result);
        throw;
      }
      result = Unset;
      try {
        rc = qsemPINVOKE.QsemRuntime.End(park, 1, ref result);
      } catch (global::System.Threading.ThreadInterruptedException e) {
        if (result == Unset) {  // thrown before End ran: end it now
          qsemPINVOKE.QsemRuntime.End(park, 0, ref result);
          throw;
        }
        rc = Taken(result, e);
      }
    }
    global::System.GC.KeepAlive(this);
    if (rc == 0) return true;
    if (rc == qsemPINVOKE.QsemRuntime.NotNow) return false;
    throw qsemPINVOKE.QsemRuntime.Make(rc);
  }

  /// <summary>Take n tokens, waiting as long as it takes.</summary>
  public void Acquire(long n) { Wait(n, true, 0); }
  public void Acquire() { Wait(1, true, 0); }
  /// <summary>As SemaphoreSlim.Wait(int): take n tokens within millisecondsTimeout ms
  /// (0: try once; Timeout.Infinite, -1: wait forever; another negative value is an
  /// ArgumentOutOfRangeException); false on timeout.</summary>
  public bool TryAcquire(long n, int millisecondsTimeout) {
    if (millisecondsTimeout == global::System.Threading.Timeout.Infinite) {
      return Wait(n, true, 0);
    }
    return Wait(n, false, millisecondsTimeout < 0 ? -1 : millisecondsTimeout * 1000000L,
                "millisecondsTimeout");
  }
  /// <summary>Take n tokens (default 1) if they are free now.</summary>
  public bool TryAcquire() { return Wait(1, false, 0); }
  public bool TryAcquire(long n) { return Wait(n, false, 0); }
  /// <summary>As TryAcquire, with the timeout in nanoseconds (negative: ArgumentOutOfRangeException).</summary>
  public bool TryAcquireNs(long n, long timeoutNs) { return Wait(n, false, timeoutNs, "timeoutNs"); }
  /// <summary>As SemaphoreSlim.Wait(TimeSpan): Timeout.InfiniteTimeSpan waits forever,
  /// another negative span is an ArgumentOutOfRangeException.</summary>
  public bool TryAcquire(long n, global::System.TimeSpan timeout) {
    if (timeout == global::System.Threading.Timeout.InfiniteTimeSpan) {
      return Wait(n, true, 0);
    }
    return Wait(n, false, timeout.Ticks < 0 ? -1
                          : timeout.Ticks > long.MaxValue / 100 ? long.MaxValue : timeout.Ticks * 100);
  }
  public void Release() { Release(1); }
%}
#endif

#if defined(SWIGPERL)
/* The object: its handle from the proxy's cache when it has one (see
 * qsem_swig_perl_cached, with the Perl code at the end), else SWIG's own
 * conversion, type check included. */
%{
static int qsem_swig_perl_cached(SV *sv, void **out);
static void qsem_swig_perl_cache(SV *sv, void *h);
%}
%typemap(in) Semaphore *self (void *argp_ = 0, int res_ = 0) {
  if (!qsem_swig_perl_cached($input, &argp_)) {
    res_ = SWIG_ConvertPtr($input, &argp_, $descriptor, 0);
    if (!SWIG_IsOK(res_)) {
      SWIG_exception_fail(SWIG_ArgError(res_), "in method '$symname', argument $argnum of type '$type'");
    }
    qsem_swig_perl_cache($input, argp_);
  }
  $1 = (Semaphore *)argp_;
}

/* SWIG's Perl converters read undef as 0, which made release(undef) a
 * silent no-op: a count or a timeout must be defined. */
%typemap(in, fragment=SWIG_AsVal_frag(long long)) int64_t n (long long val_, int ecode_) {
  if (!SvOK($input)) {
    SWIG_exception_fail(SWIG_ValueError, "qsem: invalid argument (a count must be a number, not undef)");
  }
  ecode_ = SWIG_AsVal(long long)($input, &val_);
  if (!SWIG_IsOK(ecode_)) {
    SWIG_exception_fail(SWIG_ArgError(ecode_), "in method '$symname', argument $argnum of type '$type'");
  }
  $1 = (int64_t)val_;
}
/* Nanoseconds: defined, as above; a number beyond int64_t (2**63, 9**9**9)
 * saturates, so that a huge timeout waits and a hugely negative one is
 * negative, as in the deadline table (docs/bindings.md). */
%typemap(in, fragment=SWIG_AsVal_frag(long long)) int64_t timeout_ns (long long val_, int ecode_, NV nv_) {
  if (!SvOK($input)) {
    SWIG_exception_fail(SWIG_ValueError, "qsem: invalid argument (a timeout must be a number, not undef)");
  }
  ecode_ = SWIG_AsVal(long long)($input, &val_);
  if (SWIG_IsOK(ecode_)) {
    $1 = (int64_t)val_;
  } else if (looks_like_number($input) &&
             ((nv_ = SvNV($input)) >= 9223372036854775808.0 || nv_ < -9223372036854775808.0)) {
    $1 = nv_ < 0 ? INT64_MIN : INT64_MAX;
  } else {
    SWIG_exception_fail(SWIG_ArgError(ecode_), "in method '$symname', argument $argnum of type '$type'");
  }
}
%typemap(in, fragment=SWIG_AsVal_frag(double)) double timeout (double val_, int ecode_) {
  if (!SvOK($input)) {
    SWIG_exception_fail(SWIG_ValueError, "qsem: invalid argument (a timeout must be a number, not undef)");
  }
  ecode_ = SWIG_AsVal(double)($input, &val_);
  if (!SWIG_IsOK(ecode_)) {
    SWIG_exception_fail(SWIG_ArgError(ecode_), "in method '$symname', argument $argnum of type '$type'");
  }
  $1 = val_;
}
#endif

#if defined(SWIGTCL)
/* Tcl_GetWideIntFromObj takes an integer of up to 64 bits of magnitude
 * modulo 2**64 (-18446744073709551615 would be 1).  An integer beyond
 * int64_t, which Tcl keeps as a bignum, saturates instead: a count is then
 * out of range (QSEM EINVAL), a huge timeout waits and a hugely negative
 * one is negative, as in the deadline table (docs/bindings.md). */
%{
static int qsem_tcl_isbig(Tcl_Obj *o)
{
    return o->typePtr != NULL && strcmp(o->typePtr->name, "bignum") == 0;
}
%}
%typemap(in) int64_t (Tcl_WideInt w_, double d_) {
  if (Tcl_GetWideIntFromObj(NULL, $input, &w_) == TCL_OK && !qsem_tcl_isbig($input)) {
    $1 = (int64_t)w_;
  } else if (qsem_tcl_isbig($input) && Tcl_GetDoubleFromObj(NULL, $input, &d_) == TCL_OK) {
    $1 = d_ < 0 ? INT64_MIN : INT64_MAX;
  } else {
    SWIG_exception_fail(SWIG_TypeError, "in method '$symname', argument $argnum of type '$type'");
  }
}

/* The script is taken as it is; the interpreter is the caller's own. */
%typemap(in) Tcl_Obj *script "$1 = $input;"
%typemap(in, numinputs=0) Tcl_Interp *interp "$1 = interp;"

%{
/*
 * acquire_async: an acquire for event-driven programs.  It queues one of
 * the core's async waiters and returns at once; when the waiter is granted
 * or the semaphore closes, its notify (on the releasing or closing thread,
 * under the semaphore's lock) only queues a Tcl event to the thread that
 * asked, and that thread's event loop claims the tokens and runs the
 * script with "granted" or "closed" appended.  The script then owns the
 * tokens and gives them back with `release`.  The event and the request
 * are allocated up front, so notify allocates nothing.
 *
 * A request that ends without its script running gives its tokens back,
 * since the waiter does so when freed unclaimed:
 *   - its interpreter is deleted: a deletion callback cancels the waiter
 *     at once, granted or not, so a dead interpreter holds no place in the
 *     semaphore's queue;
 *   - its thread exits: Tcl discards the thread's queued events unrun
 *     (after the thread's exit handlers), and drops any event queued to a
 *     thread that is gone.  So an exit handler cancels every waiter the
 *     thread still has (after which no notify can queue another event)
 *     and deletes their queued events itself.
 * Everything but notify runs on the request's own thread, which keeps its
 * requests in a list of its own: no lock is needed for the bookkeeping.
 * A request does not Tcl_Preserve its interpreter, which would put off the
 * deletion callbacks (and so the cancel) until it let go: the callback
 * itself is what keeps the request from touching a deleted interpreter.
 */
struct qsem_swig_tcl_event;

struct qsem_swig_tcl_req {
    qsem_waiter_t *w;               /* NULL once cancelled */
    Tcl_Interp *interp;             /* NULL once deleted */
    Tcl_Obj *script;
    Tcl_ThreadId thread;
    struct qsem_swig_tcl_event *ev;
    int queued;                     /* ev is in the thread's event queue (Tcl frees it) */
    struct qsem_swig_tcl_req *prev, *next;  /* the thread's unfinished requests */
};

struct qsem_swig_tcl_event {
    Tcl_Event header;               /* first: Tcl frees the event itself */
    struct qsem_swig_tcl_req *req;
};

typedef struct {
    struct qsem_swig_tcl_req *head;
    int exit_handler;               /* qsem_swig_tcl_thread_exit registered */
} qsem_swig_tcl_thread;

static Tcl_ThreadDataKey qsem_swig_tcl_key;

static qsem_swig_tcl_thread *qsem_swig_tcl_this_thread(void)
{
    return (qsem_swig_tcl_thread *)Tcl_GetThreadData(&qsem_swig_tcl_key,
                                                     sizeof(qsem_swig_tcl_thread));
}

static void qsem_swig_tcl_interp_gone(ClientData arg, Tcl_Interp *interp);

/* The request is done with: unlink it, give back what it was granted and
 * did not claim, and free it (not its event: Tcl's or the caller's). */
static void qsem_swig_tcl_free(struct qsem_swig_tcl_req *r)
{
    qsem_swig_tcl_thread *t = qsem_swig_tcl_this_thread();

    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        t->head = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    qsem_waiter_free(r->w);         /* NULL: already cancelled */
    Tcl_DecrRefCount(r->script);
    free(r);
}

/* Cancel the waiter: it leaves the semaphore's queue, a grant not claimed
 * goes back, and once this returns notify has run or never will. */
static void qsem_swig_tcl_cancel(struct qsem_swig_tcl_req *r)
{
    qsem_waiter_free(r->w);
    r->w = NULL;
}

static int qsem_swig_tcl_event_proc(Tcl_Event *e, int flags)
{
    struct qsem_swig_tcl_req *r = ((struct qsem_swig_tcl_event *)e)->req;
    Tcl_Obj *cmd;
    int rc;

    (void)flags;
    if (r->w == NULL) {
        qsem_swig_tcl_free(r);      /* cancelled: its interpreter is gone */
        return 1;
    }
    Tcl_DontCallWhenDeleted(r->interp, qsem_swig_tcl_interp_gone, r);
    if (Tcl_InterpDeleted(r->interp)) {
        qsem_swig_tcl_free(r);      /* nobody to hand the tokens to */
        return 1;
    }
    rc = qsem_waiter_claim(r->w);   /* 0 or ECANCELED: notify has run */
    cmd = Tcl_DuplicateObj(r->script);
    Tcl_IncrRefCount(cmd);
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj(rc == 0 ? "granted" : "closed", -1));
    Tcl_Preserve(r->interp);
    if (Tcl_EvalObjEx(r->interp, cmd, TCL_EVAL_GLOBAL) != TCL_OK) {
        Tcl_BackgroundException(r->interp, TCL_ERROR);
    }
    Tcl_Release(r->interp);
    Tcl_DecrRefCount(cmd);
    qsem_swig_tcl_free(r);
    return 1;
}

/* The interpreter is being deleted: no script will run, so cancel now. */
static void qsem_swig_tcl_interp_gone(ClientData arg, Tcl_Interp *interp)
{
    struct qsem_swig_tcl_req *r = arg;

    (void)interp;
    qsem_swig_tcl_cancel(r);
    r->interp = NULL;
    if (!r->queued) {
        ckfree((char *)r->ev);
        qsem_swig_tcl_free(r);
    }                               /* else the event proc frees r */
}

static int qsem_swig_tcl_is_ours(Tcl_Event *e, ClientData arg)
{
    (void)arg;
    return e->proc == qsem_swig_tcl_event_proc;
}

/* The thread is ending, its event queue about to be discarded unrun. */
static void qsem_swig_tcl_thread_exit(ClientData arg)
{
    qsem_swig_tcl_thread *t = qsem_swig_tcl_this_thread();
    struct qsem_swig_tcl_req *r;

    (void)arg;
    for (r = t->head; r != NULL; r = r->next) {
        qsem_swig_tcl_cancel(r);    /* after this, no notify queues an event */
        if (r->interp != NULL) {
            Tcl_DontCallWhenDeleted(r->interp, qsem_swig_tcl_interp_gone, r);
            r->interp = NULL;
        }
    }
    Tcl_DeleteEvents(qsem_swig_tcl_is_ours, NULL);   /* Tcl frees those */
    while (t->head != NULL) {
        r = t->head;
        if (!r->queued) {
            ckfree((char *)r->ev);
        }
        qsem_swig_tcl_free(r);
    }
    t->exit_handler = 0;
}

/* Under the semaphore's lock: queue, wake, nothing else. */
static void qsem_swig_tcl_notify(void *arg)
{
    struct qsem_swig_tcl_req *r = arg;
    r->queued = 1;
    Tcl_ThreadQueueEvent(r->thread, &r->ev->header, TCL_QUEUE_TAIL);
    Tcl_ThreadAlert(r->thread);
}

static void Semaphore_acquire_async(Semaphore *self, int64_t n, Tcl_Obj *script,
                                    Tcl_Interp *interp)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    qsem_swig_tcl_thread *t;
    struct qsem_swig_tcl_req *r;
    int rc;

    if (s == NULL) {
        return;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        qsem_swig_err = ENOMEM;
        goto out;
    }
    r->ev = (struct qsem_swig_tcl_event *)ckalloc(sizeof *r->ev);
    r->ev->header.proc = qsem_swig_tcl_event_proc;
    r->ev->header.nextPtr = NULL;
    r->ev->req = r;
    r->interp = interp;
    r->script = script;
    r->thread = Tcl_GetCurrentThread();
    r->w = qsem_waiter_new(s, n, qsem_swig_tcl_notify, r);
    if (r->w == NULL) {
        qsem_swig_err = errno;
        ckfree((char *)r->ev);
        free(r);
        goto out;
    }
    Tcl_IncrRefCount(script);
    t = qsem_swig_tcl_this_thread();
    if (!t->exit_handler) {
        Tcl_CreateThreadExitHandler(qsem_swig_tcl_thread_exit, NULL);
        t->exit_handler = 1;
    }
    r->next = t->head;
    if (t->head != NULL) {
        t->head->prev = r;
    }
    t->head = r;
    rc = qsem_waiter_start(r->w);
    if (rc == 0) {
        /* Granted at once (notify is not called): the script still runs
         * from the event loop, never inside this command. */
        r->queued = 1;
        Tcl_QueueEvent(&r->ev->header, TCL_QUEUE_TAIL);
    } else if (rc != EINPROGRESS) {
        qsem_swig_err = rc;         /* closed: nothing queued */
        ckfree((char *)r->ev);
        qsem_swig_tcl_free(r);
        goto out;
    }
    Tcl_CallWhenDeleted(interp, qsem_swig_tcl_interp_gone, r);
out:
    qsem_swig_leave(slot);
}
%}
#endif

#define QSEM_OPT(v) = v

#if defined(SWIGJAVA)
/*
 * Java: the generated class is the package-private NativeSemaphore, and the
 * public API is the hand-written org.qsem.Semaphore (bindings/java), shaped
 * as java.util.concurrent.Semaphore.  Semaphore owns the proxy and frees it
 * through a java.lang.ref.Cleaner, so the proxy has no finalizer.
 */
%rename(NativeSemaphore) Semaphore;
%typemap(javaclassmodifiers) Semaphore "final class"
%typemap(javafinalize) Semaphore ""
%pragma(java) moduleclassmodifiers="final class"
%pragma(java) jniclassclassmodifiers="final class"
%pragma(java) jniclasscode=%{
  static {
    NativeLibrary.load();
  }
%}

/* delete() zeroes the proxy's pointer but leaves the object callable: make
 * a later call an exception rather than a NULL dereference. */
%typemap(check) Semaphore *self %{
  if ($1 == NULL) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalStateException, "qsem: Semaphore used after delete()");
    return $null;
  }
%}

/* The calling thread, for the waits below: JNIEnv comes from the wrapper,
 * the Thread from Java. */
%typemap(in, numinputs=0) JNIEnv *qsem_jenv %{ $1 = jenv; %}
%typemap(jni) jobject qsem_thread "jobject"
%typemap(jtype) jobject qsem_thread "Thread"
%typemap(jstype) jobject qsem_thread "Thread"
%typemap(javain) jobject qsem_thread "$javainput"
%typemap(in) jobject qsem_thread %{ $1 = $input; %}

%{
#include <jni.h>

/*
 * A blocking wait in Java is an async waiter of the core (qsem_waiter_*)
 * and a LockSupport.park() loop in Semaphore.java.  The core's notify
 * unparks the thread; Thread.interrupt() unparks it too, so an interrupt
 * ends the wait at once, the waiter leaves the queue with
 * qsem_waiter_free(), and tokens granted but not claimed go back
 * (docs/contract.md, interruption).  The uncontended path never gets here:
 * Semaphore_wait_start() takes free tokens in one call.
 *
 * notify runs on the releasing or closing thread with the semaphore's lock
 * held.  Every such thread is a Java thread inside one of this library's
 * native methods (the core is linked into this library alone), so it has a
 * JNIEnv.  The calls that grant in bulk (release, close, the end of a wait)
 * defer the wake-up: notify only queues the wait on the calling thread, and
 * the call unparks the queued threads once the core has dropped its lock,
 * so that a woken thread does not find the lock still held by its waker.
 * Any other call, or a queue that is full, unparks from notify itself;
 * LockSupport.unpark() neither blocks nor calls back into qsem.
 */
struct qsem_java_wait {
    qsem_waiter_t *waiter;
    // global reference to the waiting Thread, for LockSupport.unpark()
    jobject thread;
    // qsem_deadline_after() of the timeout; QSEM_FOREVER for none
    int64_t deadline;
    // owners: the waiting thread, plus a waker that has queued it
    atomic_int refs;
};

/* Wake-ups deferred by this thread's current call (see above). */
#define QSEM_JAVA_WAKE_BATCH 16
static _Thread_local struct {
    // 1 inside a call that flushes the queue before returning
    int deferring;
    int n;
    struct qsem_java_wait *wait[QSEM_JAVA_WAKE_BATCH];
} qsem_java_wake;

static JavaVM *qsem_java_vm;
static jclass qsem_java_lock_support;
static jmethodID qsem_java_unpark;

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env;
    jclass cls;
    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    cls = (*env)->FindClass(env, "java/util/concurrent/locks/LockSupport");
    if (cls == NULL) {
        return JNI_ERR;
    }
    qsem_java_unpark = (*env)->GetStaticMethodID(env, cls, "unpark", "(Ljava/lang/Thread;)V");
    qsem_java_lock_support = (*env)->NewGlobalRef(env, cls);
    if (qsem_java_unpark == NULL || qsem_java_lock_support == NULL) {
        return JNI_ERR;
    }
    qsem_java_vm = vm;
    return JNI_VERSION_1_8;
}

/* LockSupport.unpark(thread).  An exception already pending on this
 * thread (none is, in this library's calls) is kept. */
static void qsem_java_unpark_thread(JNIEnv *env, jobject thread)
{
    jthrowable pending = (*env)->ExceptionOccurred(env);
    if (pending != NULL) {
        (*env)->ExceptionClear(env);
    }
    (*env)->CallStaticVoidMethod(env, qsem_java_lock_support, qsem_java_unpark, thread);
    if (pending != NULL) {
        (*env)->ExceptionClear(env);
        (*env)->Throw(env, pending);
        (*env)->DeleteLocalRef(env, pending);
    }
}

/* Drop one owner of jw; the last frees it.  acq_rel: the last owner must
 * see the other's use of the Thread reference finished. */
static void qsem_java_wait_unref(JNIEnv *env, struct qsem_java_wait *jw)
{
    if (atomic_fetch_sub_explicit(&jw->refs, 1, memory_order_acq_rel) == 1) {
        (*env)->DeleteGlobalRef(env, jw->thread);
        free(jw);
    }
}

/* The waiter was granted or closed: wake its thread, now or (deferring)
 * when the current call flushes.  Queuing takes a reference, under the
 * semaphore's lock, before the waiting thread can see its result and let
 * go of its own. */
static void qsem_java_notify(void *arg)
{
    struct qsem_java_wait *jw = arg;
    JNIEnv *env;
    if (qsem_java_wake.deferring && qsem_java_wake.n < QSEM_JAVA_WAKE_BATCH) {
        atomic_fetch_add_explicit(&jw->refs, 1, memory_order_relaxed);
        qsem_java_wake.wait[qsem_java_wake.n++] = jw;
        return;
    }
    if ((*qsem_java_vm)->GetEnv(qsem_java_vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK) {
        qsem_java_unpark_thread(env, jw->thread);
    }
}

/* Start deferring this thread's wake-ups, for one call. */
static void qsem_java_defer(void)
{
    qsem_java_wake.deferring = 1;
}

/* Unpark what the call deferred, with no lock of the core held. */
static void qsem_java_flush(JNIEnv *env)
{
    int i, n = qsem_java_wake.n;
    qsem_java_wake.deferring = 0;
    qsem_java_wake.n = 0;
    for (i = 0; i < n; i++) {
        qsem_java_unpark_thread(env, qsem_java_wake.wait[i]->thread);
        qsem_java_wait_unref(env, qsem_java_wake.wait[i]);
    }
}

static void qsem_java_wait_destroy(JNIEnv *env, struct qsem_java_wait *jw)
{
    /* Once qsem_waiter_free() returns notify has finished, so the only
     * other owner can be a waker that queued jw. */
    qsem_java_defer();
    qsem_waiter_free(jw->waiter);   /* a cancel may grant others */
    qsem_java_flush(env);
    qsem_java_wait_unref(env, jw);
}

/*
 * Take n tokens within timeout_ns (< 0: forever; 0: only if free now).
 * QSEM_JAVA_GRANTED: taken; QSEM_JAVA_NOT_NOW: not free and no time to
 * wait; otherwise a wait for qsem_java_wait_*(), owned by the calling
 * thread.  Errors (closed, bad count, no memory) go to %exception.
 */
#define QSEM_JAVA_GRANTED 0
#define QSEM_JAVA_NOT_NOW (-1)

static int64_t qsem_java_wait_start(qsem_t *s, JNIEnv *env, jobject thread,
                                   int64_t n, int64_t timeout_ns)
{
    struct qsem_java_wait *jw;
    int rc = qsem_try_acquire(s, n);
    if (rc == 0) {
        return QSEM_JAVA_GRANTED;
    }
    if (rc != EAGAIN || timeout_ns == 0) {
        qsem_swig_err = rc == EAGAIN ? 0 : rc;
        return QSEM_JAVA_NOT_NOW;
    }
    jw = malloc(sizeof *jw);
    if (jw == NULL) {
        qsem_swig_err = ENOMEM;
        return QSEM_JAVA_NOT_NOW;
    }
    jw->deadline = qsem_deadline_after(timeout_ns);
    atomic_init(&jw->refs, 1);
    jw->thread = (*env)->NewGlobalRef(env, thread);
    /* The waiter pins s's memory, so the wait outlives this call's pin
     * of the handle: a delete during the wait closes s, and the waiter
     * reports ECANCELED. */
    jw->waiter = jw->thread == NULL ? NULL : qsem_waiter_new(s, n, qsem_java_notify, jw);
    if (jw->waiter == NULL) {
        qsem_swig_err = jw->thread == NULL ? ENOMEM : errno;
        if (jw->thread != NULL) {
            (*env)->DeleteGlobalRef(env, jw->thread);
        }
        free(jw);
        return QSEM_JAVA_NOT_NOW;
    }
    rc = qsem_waiter_start(jw->waiter);
    if (rc == EINPROGRESS) {
        return (int64_t)(intptr_t)jw;
    }
    if (rc == 0) {
        (void)qsem_waiter_claim(jw->waiter);   /* granted at start: 0 */
    }
    qsem_java_wait_destroy(env, jw);
    qsem_swig_err = rc;
    return rc == 0 ? QSEM_JAVA_GRANTED : QSEM_JAVA_NOT_NOW;
}

static int64_t Semaphore_wait_start(Semaphore *self, JNIEnv *env, jobject thread,
                                    int64_t n, int64_t timeout_ns)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    int64_t r = QSEM_JAVA_NOT_NOW;
    if (s != NULL) {
        r = qsem_java_wait_start(s, env, thread, n, timeout_ns);
        qsem_swig_leave(slot);
    }
    return r;
}

/* How long the waiting thread may park: -1 once the waiter is resolved
 * (granted or closed), 0 once its deadline has passed, INT64_MAX for no
 * deadline, else the nanoseconds left. */
static int64_t qsem_java_wait_park_ns(int64_t wait)
{
    struct qsem_java_wait *jw = (struct qsem_java_wait *)(intptr_t)wait;
    int64_t now;
    if (qsem_waiter_result(jw->waiter) != EINPROGRESS) {
        return -1;
    }
    if (jw->deadline == QSEM_FOREVER) {
        return INT64_MAX;
    }
    now = qsem_now_ns();
    return jw->deadline > now ? jw->deadline - now : 0;
}

/* Claim a resolved waiter's tokens: true, or ClosedException. */
static bool qsem_java_wait_claim(int64_t wait)
{
    struct qsem_java_wait *jw = (struct qsem_java_wait *)(intptr_t)wait;
    int rc = qsem_waiter_claim(jw->waiter);
    qsem_swig_err = rc;
    return rc == 0;
}

/* End a wait: leave the queue, give back tokens granted but not claimed
 * (a wait that timed out or was interrupted takes nothing), free it. */
static void qsem_java_wait_free(JNIEnv *env, int64_t wait)
{
    qsem_java_wait_destroy(env, (struct qsem_java_wait *)(intptr_t)wait);
}

/* tryAcquire() for Semaphore.java: the tokens if free now, with no
 * deadline to compute (the shared try_acquire_ns reads the clock). */
static bool Semaphore_try_now(Semaphore *self, int64_t n)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    int rc;
    if (s == NULL) {
        return false;
    }
    rc = qsem_try_acquire(s, n);
    qsem_swig_leave(slot);
    if (rc != EAGAIN) {
        qsem_swig_err = rc;
    }
    return rc == 0;
}

/* release() and close() for Semaphore.java: as the shared ones, with the
 * wake-ups they cause deferred until the core has dropped its lock. */
static void Semaphore_release_waking(Semaphore *self, JNIEnv *env, int64_t n)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    if (s != NULL) {
        int rc;
        qsem_java_defer();
        rc = qsem_release(s, n);
        qsem_java_flush(env);
        qsem_swig_err = rc;
        qsem_swig_leave(slot);
    }
}

static void Semaphore_close_waking(Semaphore *self, JNIEnv *env)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    if (s != NULL) {
        qsem_java_defer();
        (void)qsem_close(s);
        qsem_java_flush(env);
        qsem_swig_leave(slot);
    }
}

/* Take every token that a newcomer could take now; 0 when the semaphore is
 * empty or (fair mode) its free tokens are held for queued waiters. */
static int64_t qsem_java_drain(qsem_t *s)
{
    for (;;) {
        int64_t n = qsem_available(s);
        int rc;
        if (n == 0) {
            return 0;
        }
        rc = qsem_try_acquire(s, n);
        if (rc == 0) {
            return n;
        }
        if (rc != EAGAIN) {
            qsem_swig_err = rc;
            return 0;
        }
        if (qsem_available(s) >= n) {
            return 0;
        }
    }
}

static int64_t Semaphore_drain(Semaphore *self)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_swig_enter(self, &slot);
    int64_t n = 0;
    if (s != NULL) {
        n = qsem_java_drain(s);
        qsem_swig_leave(slot);
    }
    return n;
}
%}

#endif

/* Queries and close fail only on a dead handle; delete never fails. */
%noexception ~Semaphore;

%newobject Semaphore::dup;
%nodefaultctor Semaphore;
%nodefaultdtor Semaphore;

/* Opaque to SWIG, as solv.i declares Pool: the real type is the core's. */
typedef struct {} Semaphore;

%extend Semaphore {
    Semaphore(int64_t initial QSEM_OPT(0), int64_t max QSEM_OPT(QSEM_VALUE_MAX), bool fair QSEM_OPT(false));
    ~Semaphore();
    void acquire(int64_t n QSEM_OPT(1));
    bool try_acquire(int64_t n QSEM_OPT(1), double timeout QSEM_OPT(0.0));
    bool try_acquire_ns(int64_t n, int64_t timeout_ns);
    void release(int64_t n QSEM_OPT(1));
    int64_t available();
    int64_t waiting();
    int64_t max();
    bool closed();
    void close();
    Semaphore *dup();
#if defined(SWIGTCL)
    void acquire_async(int64_t n, Tcl_Obj *script, Tcl_Interp *interp);
#endif
}

#if defined(SWIGJAVA)
%rename(waitStart) Semaphore::wait_start;
%rename(releaseWaking) Semaphore::release_waking;
%rename(tryNow) Semaphore::try_now;
%rename(closeWaking) Semaphore::close_waking;
%rename(waitParkNanos) qsem_java_wait_park_ns;
%rename(waitClaim) qsem_java_wait_claim;
%rename(waitFree) qsem_java_wait_free;
%noexception qsem_java_wait_park_ns;
%noexception qsem_java_wait_free;
%extend Semaphore {
    int64_t wait_start(JNIEnv *qsem_jenv, jobject qsem_thread, int64_t n, int64_t timeout_ns);
    int64_t drain();
    bool try_now(int64_t n);
    void release_waking(JNIEnv *qsem_jenv, int64_t n);
    void close_waking(JNIEnv *qsem_jenv);
}
int64_t qsem_java_wait_park_ns(int64_t wait);
bool qsem_java_wait_claim(int64_t wait);
void qsem_java_wait_free(JNIEnv *qsem_jenv, int64_t wait);
#endif


%constant int64_t VALUE_MAX = QSEM_VALUE_MAX;
#if defined(SWIGPERL)
/* $qsem::VERSION is Perl's own (see the Perl code at the end). */
%constant const char *VERSION_STRING = QSEM_VERSION_STRING;
#else
%constant const char *VERSION = QSEM_VERSION_STRING;
#endif
const char *qsem_backend(void);


#if defined(SWIGRUBY)
%init %{
    {
        /* Modelled on ClosedQueueError: a StopIteration, so `loop { sem.acquire }` ends on close. */
        VALUE qsem_mod = rb_const_get(rb_cObject, rb_intern("Qsem"));
        rb_define_class_under(qsem_mod, "ClosedError", rb_eStopIteration);
    }
%}
#endif

#if defined(SWIGPERL)
%{
/*
 * A Perl object is a blessed reference to a scalar holding its handle,
 * shared with threads::shared when the program uses threads, as
 * Thread::Semaphore's objects are.  Such an object survives every way Perl
 * moves data between ithreads: capture by a new thread, Thread::Queue,
 * shared_clone, a :shared container.  Each thread sees it through a proxy
 * of its own, but the shared scalar behind them all is one SV, freed once,
 * by threads::shared, when the last reference to it goes away in any
 * thread or container.  That scalar owns the handle: the magic below
 * drops it from the scalar's free hook.  (A proxy's DESTROY cannot do it:
 * perl calls DESTROY per proxy, and not at all when the last reference was
 * a shared container's.)
 *
 * Without threads::shared in use the referent is an ordinary scalar, and a
 * new thread copies it: the dup hook makes each copy an owner of its own.
 *
 * The free hook runs in whatever interpreter frees the scalar (for a shared
 * one, threads::shared's own, under its lock): it only drops the handle,
 * which at most closes the semaphore and wakes its waiters.
 */
static int qsem_swig_perl_owner_free(pTHX_ SV *sv, MAGIC *mg)
{
    (void)sv;
    qsem_handle_delete((uint64_t)(uintptr_t)mg->mg_ptr);
    return 0;
}

static int qsem_swig_perl_owner_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
    (void)param;
    /* The parent's copy still owns the slot while perl clones: live. */
    (void)qsem_handle_share((uint64_t)(uintptr_t)mg->mg_ptr, 1);
    return 0;
}

static const MGVTBL qsem_swig_perl_owner_vtbl = {
    .svt_free = qsem_swig_perl_owner_free,
    .svt_dup = qsem_swig_perl_owner_dup,
};

/* A new handle for new() and dup(): 0 with the error recorded. */
static uint64_t qsem_swig_perl_new(int64_t initial, int64_t max, bool fair)
{
    return (uint64_t)(uintptr_t)new_Semaphore(initial, max, fair);
}

static uint64_t qsem_swig_perl_dup(Semaphore *self)
{
    return (uint64_t)(uintptr_t)Semaphore_dup(self);
}

/*
 * Make obj's referent the owner of handle h: the shared scalar behind it
 * if threads::shared shares it, else the referent itself.  Called once,
 * by the constructor, before any other thread can see the object, so the
 * shared scalar's magic chain has no other writer.  threads::shared's
 * bless has made that scalar an object, so it needs no upgrade (which
 * would take memory from this interpreter's arenas for an SV of another).
 */
static void qsem_swig_perl_adopt(SV *obj, uint64_t h)
{
    dTHX;
    SV *target;
    MAGIC *mg;

    if (!SvROK(obj)) {
        qsem_handle_delete(h);
        croak("qsem: internal error: adopt needs a reference");
    }
    target = SvRV(obj);
    mg = SvTYPE(target) >= SVt_PVMG ? mg_find(target, PERL_MAGIC_shared_scalar) : NULL;
    if (mg != NULL && mg->mg_ptr != NULL) {
        target = (SV *)mg->mg_ptr;
        if (SvTYPE(target) < SVt_PVMG) {
            qsem_handle_delete(h);
            croak("qsem: internal error: the shared object is not blessed");
        }
    }
    mg = sv_magicext(target, NULL, PERL_MAGIC_ext, &qsem_swig_perl_owner_vtbl,
                     (const char *)(uintptr_t)h, 0);
    mg->mg_flags |= MGf_DUP;
}

/*
 * A call finds the handle without threads::shared's process-wide lock.
 * Reading the shared scalar (SvIV through its get magic) takes that lock,
 * which every thread's every call would then contend for.  Instead the
 * first call through a thread's proxy of a shared object reads it once
 * and caches the handle in magic on the proxy, which belongs to this
 * thread alone; later calls through the proxy read the cache.  The cached
 * handle is the one the shared scalar owns, valid (or cleanly dead) for
 * as long as the proxy, which keeps that scalar alive.  An object that is
 * not shared (threads::shared off) carries its owner magic itself.
 */
static const MGVTBL qsem_swig_perl_cache_vtbl = { 0 };

/* What the cache magic holds (a copy perl makes and frees with it): the
 * handle, and the shared scalar it was read from, which the proxy must
 * still stand for when the cache is used. */
struct qsem_swig_perl_cache {
    void *handle;
    const SV *shared;
};

static int qsem_swig_perl_cached(SV *sv, void **out)
{
    dTHX;
    SV *p;
    MAGIC *mg;

    if (!SvROK(sv)) {
        return 0;
    }
    p = SvRV(sv);
    if (SvTYPE(p) < SVt_PVMG || !SvOBJECT(p) || SvTYPE(p) == SVt_PVHV) {
        return 0;
    }
    mg = mg_findext(p, PERL_MAGIC_ext, &qsem_swig_perl_cache_vtbl);
    if (mg != NULL) {
        const struct qsem_swig_perl_cache *c = (const void *)mg->mg_ptr;
        MAGIC *shared = mg_find(p, PERL_MAGIC_shared_scalar);
        if (shared == NULL || (const SV *)shared->mg_ptr != c->shared) {
            return 0;
        }
        *out = c->handle;
        return 1;
    }
    mg = mg_findext(p, PERL_MAGIC_ext, &qsem_swig_perl_owner_vtbl);
    if (mg == NULL) {
        return 0;
    }
    *out = mg->mg_ptr;
    return 1;
}

/* After a full conversion of sv to handle h: cache h on a shared proxy
 * (replacing a cache made for another shared scalar). */
static void qsem_swig_perl_cache(SV *sv, void *h)
{
    dTHX;
    SV *p = SvRV(sv);
    MAGIC *shared;
    struct qsem_swig_perl_cache c;

    if (SvTYPE(p) < SVt_PVMG || !SvOBJECT(p)
        || (shared = mg_find(p, PERL_MAGIC_shared_scalar)) == NULL) {
        return;
    }
    c.handle = h;
    c.shared = (const SV *)shared->mg_ptr;
    (void)sv_unmagicext(p, PERL_MAGIC_ext, (MGVTBL *)&qsem_swig_perl_cache_vtbl);
    (void)sv_magicext(p, NULL, PERL_MAGIC_ext, &qsem_swig_perl_cache_vtbl,
                      (const char *)&c, (I32)sizeof c);
}
%}
%typemap(in) SV *qsem_obj "$1 = $input;"
%noexception qsem_swig_perl_adopt;
uint64_t qsem_swig_perl_new(int64_t initial = 0, int64_t max = QSEM_VALUE_MAX, bool fair = false);
uint64_t qsem_swig_perl_dup(Semaphore *self);
void qsem_swig_perl_adopt(SV *qsem_obj, uint64_t h);

%perlcode %{
package qsem::Semaphore;

# share() and the bless that reaches the shared copy: with them an object
# is a blessed reference to a shared scalar, as Thread::Semaphore's.  (As
# for any module, `use threads` must come first; without threads they are
# perl's plain ones.)
use threads::shared;

# An object for a new handle: the referent owns it (see qsem_swig_perl_adopt).
sub _adopt {
    my ($class, $handle) = @_;
    my $id = $handle;
    share($id);
    my $self = bless \$id, $class;
    qsem::qsem_swig_perl_adopt($self, $handle);
    return $self;
}

{
    no warnings 'redefine';
    *new = sub {
        my $class = shift;
        return _adopt(ref($class) || $class, qsem::qsem_swig_perl_new(@_));
    };
    *dup = sub {
        my $self = shift;
        return _adopt(ref($self), qsem::qsem_swig_perl_dup($self));
    };
    # The handle goes with the object's last reference, in whichever
    # thread or container that is (see above), never with one copy.
    *DESTROY = sub { };
}

# Thread::Semaphore's method names, for code written against it.  The
# count defaults to 1; an explicit undef is an error, as there.
sub down       { my $self = shift; $self->acquire(@_ ? shift : 1) }
sub down_nb    { my $self = shift; $self->try_acquire(@_ ? shift : 1) }
sub down_timed { my ($self, $timeout, @n) = @_; $self->try_acquire(@n ? $n[0] : 1, $timeout) }
sub up         { my $self = shift; $self->release(@_ ? shift : 1) }
# Thread::Semaphore's down_force may take the count below zero; a qsem
# count never goes below zero, so there is nothing to alias.
sub down_force {
    die "RuntimeError qsem: down_force is not supported (a qsem count never goes below zero)\n";
}

package qsem;

# The dotted version is $VERSION_STRING; $VERSION is its decimal form
# (0.1.0 reads 0.1000: one digit of minor, three of patch), so that
# `use qsem 0.1` compares as a Perl user expects.
our $VERSION = do {
    my ($major, $minor, $patch) = split /\./, $VERSION_STRING;
    sprintf '%d.%d%03d', $major, $minor, $patch;
};
%}
#endif
