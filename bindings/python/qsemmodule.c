/* SPDX-License-Identifier: MIT */
/*
 * qsem._qsem: the CPython front end of qsem (docs/contract.md, "Python").
 *
 * In Python terms the module is:
 *
 *     class ClosedError(RuntimeError): ...
 *
 *     class Semaphore:
 *         def __init__(self, value=1, *, fair=False): ...
 *         def acquire(self, blocking=True, timeout=None, *, n=1) -> bool: ...
 *         def release(self, n=1) -> None: ...   # n >= 1, as threading
 *         def hold(self, n=1, timeout=None) -> Hold: ...   # `with sem.hold(3):`
 *         def available(self) -> int: ...
 *         def waiting(self) -> int: ...
 *         def close(self) -> None: ...
 *         closed: bool
 *         max: int
 *         async def async_acquire(self, n=1, timeout=None) -> bool: ...
 *         # and `async with sem:`, `async with sem.hold(n, timeout):`
 *
 *     class BoundedSemaphore(Semaphore): ...   # max == value; over-release is ValueError
 *
 * Every object owns one handle on a qsem_t and drops it in dealloc.  The
 * uncontended path is one CAS with the GIL held; only a call that is about
 * to sleep releases the GIL, and it sleeps interruptibly (QSEM_INTR) so that
 * a Python signal handler that raises ends the wait with nothing taken.
 * Coroutines wait on the same queue through the core's async waiters:
 * qsem_async.c, included below, and qsem/_async.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#  include <structmember.h>
#  define Py_T_PYSSIZET T_PYSSIZET
#  define Py_T_OBJECT_EX T_OBJECT_EX
#  define Py_T_LONGLONG T_LONGLONG
#  define Py_READONLY READONLY
#endif

#include <errno.h>
#include <string.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>     /* offsetof: Python.h no longer brings it in 3.12 */
#include <stdint.h>
#include <sched.h>
#include <time.h>

#include "qsem.h"

/* {======================================================================
** Module state
** ======================================================================= */

typedef struct {
    // qsem.Semaphore
    PyTypeObject *Semaphore_type;
    // qsem.BoundedSemaphore, a subclass of Semaphore
    PyTypeObject *BoundedSemaphore_type;
    // qsem.Hold, the context manager returned by Semaphore.hold()
    PyTypeObject *Hold_type;
    // qsem.ClosedError, a RuntimeError
    PyObject *ClosedError;
    // qsem._qsem.Waiter: one async acquire in flight
    PyTypeObject *Waiter_type;
    // qsem._qsem.Ready: the awaitable of a call that needed no wait
    PyTypeObject *Ready_type;
    // qsem._async.acquire and .hold, imported on the first wait of a coroutine
    PyObject *async_acquire;
    PyObject *async_hold;
} module_state;

static struct PyModuleDef qsem_module;

static inline module_state *
get_module_state(PyObject *module)
{
    void *state = PyModule_GetState(module);
    assert(state != NULL);
    return (module_state *)state;
}

/* The state of the module that defined `tp` (or one of its bases).  Used on
 * error paths only: walking the MRO is too slow for the fast path.  Returns
 * NULL with an exception set if `tp` is not one of ours. */
static module_state *
find_module_state(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *module = PyType_GetModuleByDef(tp, &qsem_module);
#else
    /* 3.10 has no PyType_GetModuleByDef: walk the MRO as it does.  Every
     * type in it is one of ours or a subclass, both heap types. */
    PyObject *module = NULL;
    PyObject *mro = tp->tp_mro;
    for (Py_ssize_t i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (!(base->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
            continue;
        }
        PyObject *m = ((PyHeapTypeObject *)base)->ht_module;
        if (m != NULL && PyModule_GetDef(m) == &qsem_module) {
            module = m;
            break;
        }
    }
    if (module == NULL) {
        PyErr_Format(PyExc_TypeError, "%s is not a qsem type", tp->tp_name);
    }
#endif
    if (module == NULL) {
        return NULL;
    }
    return get_module_state(module);
}

/* }====================================================================== */

/* {======================================================================
** Argument conversion
** ======================================================================= */

/* How long a call may wait, decided before it starts. */
#define WAIT_FOREVER QSEM_FOREVER
#define WAIT_NONE INT64_C(0)

/*
 * Convert a token count.  Counts are whole numbers (anything with
 * __index__); a negative one is a ValueError in every build (docs/contract.md
 * CWE-707) and one past int64 an OverflowError.  Returns -1 with an
 * exception set, or 0.
 */
static int
convert_count(PyObject *obj, const char *what, int64_t *out)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow > 0) {
        PyErr_Format(PyExc_OverflowError, "%s is too large (VALUE_MAX is %lld)",
                     what, (long long)QSEM_VALUE_MAX);
        return -1;
    }
    if (overflow < 0 || v < 0) {
        PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/*
 * Convert a timeout in seconds to nanoseconds from now: WAIT_FOREVER for
 * None, inf and anything too large to add to the clock (docs/contract.md: huge
 * finite values wait forever rather than overflow), WAIT_NONE for zero and
 * negative values (threading's Semaphore does not wait then), ValueError
 * for NaN, TypeError for non-numbers.  Returns -1 with an exception set, or 0.
 */
static int
convert_timeout(PyObject *obj, int64_t *out)
{
    double secs;

    if (obj == Py_None) {
        *out = WAIT_FOREVER;
        return 0;
    }
    if (PyFloat_Check(obj)) {
        secs = PyFloat_AS_DOUBLE(obj);
    }
    else {
        secs = PyLong_Check(obj) ? PyLong_AsDouble(obj) : PyFloat_AsDouble(obj);
        if (secs == -1.0 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                // A number too large for a double (an int, a Fraction) is
                // still just a very long time, or a very negative one.
                PyErr_Clear();
                PyObject *zero = PyLong_FromLong(0);
                if (zero == NULL) {
                    return -1;
                }
                int negative = PyObject_RichCompareBool(obj, zero, Py_LT);
                Py_DECREF(zero);
                if (negative < 0) {
                    return -1;
                }
                *out = negative ? WAIT_NONE : WAIT_FOREVER;
                return 0;
            }
            if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Format(PyExc_TypeError,
                             "timeout must be a number or None, not %.200s",
                             Py_TYPE(obj)->tp_name);
            }
            return -1;
        }
    }
    if (isnan(secs)) {
        PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
        return -1;
    }
    // Python's convention, and the one place it is written: zero or less
    // means "do not wait", as with threading.Semaphore.
    if (!(secs > 0.0)) {
        *out = WAIT_NONE;
        return 0;
    }
    int64_t ns;
    (void)qsem_timeout_from_sec(secs, &ns);   // cannot fail: secs > 0
    *out = ns < 0 ? WAIT_FOREVER : ns;
    return 0;
}

/*
 * A minimal vectorcall argument parser: fill out[0..nnames) from positional
 * arguments (at most maxpos of them) and keywords, leaving NULL for absent
 * ones.  The arguments are borrowed.  Returns -1 with a TypeError set, or 0.
 */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           const char *const *names, Py_ssize_t nnames, Py_ssize_t maxpos, PyObject **out)
{
    for (Py_ssize_t i = 0; i < nnames; i++) {
        out[i] = NULL;
    }
    if (nargs > maxpos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd positional argument%s (%zd given)",
                     fname, maxpos, maxpos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    if (kwnames == NULL) {
        return 0;
    }
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t i = 0;
        while (i < nnames && PyUnicode_CompareWithASCIIString(key, names[i]) != 0) {
            i++;
        }
        if (i == nnames) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, key);
            return -1;
        }
        if (out[i] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         fname, names[i]);
            return -1;
        }
        out[i] = args[nargs + k];
    }
    return 0;
}

/* }====================================================================== */

/* {======================================================================
** Semaphore
** ======================================================================= */

typedef struct {
    PyObject_HEAD
    // the one handle this object owns; dropped in dealloc
    qsem_t *sem;
    // BoundedSemaphore: releasing past the maximum is threading's ValueError
    int bounded;
    // 1 if the type is a subclass made elsewhere, whose own release() the
    // exit of `with` calls (exit_release)
    int subclassed;
    // weak references to this object
    PyObject *weakreflist;
    // async waiters resolved by the core and not yet handed to their loops
    // (a stack pushed by waiter_notify(), emptied by wake_async())
    _Atomic(struct WaiterObject *) pending;
    // 1 while drain_pending() runs (GIL-protected): a wake-up that cancels
    // and so resolves others leaves them to the running drain, not to a
    // nested one, however many there are
    int draining;
    // gil_drops as the last release() saw it, with the GIL held (a hint
    // for gil_handback(); relaxed atomics, as it is read without the GIL)
    _Atomic uint64_t release_stamp;
    // how long gil_handback() waits, and how long an async wait polls
    // before it queues (ns; adaptive hints, read and written without the GIL)
    _Atomic int64_t handback_ns;
    _Atomic int64_t poll_ns;
    // waits that must pass, once polling turned itself off, before
    // poll_learn() may turn it on again; and how many the next rest will
    // be (doubled each time polling turns off without a win in between)
    _Atomic int poll_rest;
    _Atomic int poll_rest_len;
} SemaphoreObject;

static int drain_pending(SemaphoreObject *self);

/*
 * Hand resolved async waiters to their event loops.  The core resolves a
 * waiter inside a qsem call on this semaphore, with its lock held and
 * perhaps without the GIL, so waiter_notify() only records it; the thread
 * that made the call runs this right after, with the GIL, and every qsem
 * call here that can resolve a waiter (release, close, a blocking acquire
 * that gives back or hands on, a waiter's cancel) is followed by it.  The
 * common case is one load.  Returns -1 with an exception set if a
 * hand-off was interrupted (Ctrl-C): the waiters were served all the same,
 * and the caller raises it (see drain_pending()); else 0.
 */
static inline int
wake_async(SemaphoreObject *self)
{
    if (atomic_load_explicit(&self->pending, memory_order_relaxed) != NULL) {
        return drain_pending(self);
    }
    return 0;
}

/* {======================================================================
** Handing the GIL back, and polling for tokens without it
** ======================================================================= */

/*
 * A thread that a release wakes (or that catches the release while it
 * spins) has its tokens, but it cannot return before it has the GIL, and
 * the releasing thread usually still holds it: release() returns, a few
 * bytecodes run, and only its own next wait drops the GIL.  Asking for
 * the GIL at once would put the woken thread to sleep on CPython's GIL
 * condition variable and make the releaser pay a wake-up for it when it
 * drops the GIL, so every handoff of a ping-pong would cost two sleeps
 * instead of none.  So the woken thread first waits, awake, without the
 * GIL, for the next time a qsem call drops it: gil_drops counts those
 * (bumped just after the GIL is released), and release() records it in
 * release_stamp with the GIL held.  While gil_drops still equals the stamp
 * the releaser (or whoever took the GIL from it) holds the GIL.
 *
 * The wait is bounded, HANDBACK_MAX_NS at most, and adapts per semaphore
 * like the core's spin: it doubles when the GIL came back in time and
 * halves when it did not (the releaser went on computing, or dropped the
 * GIL in some other way, which gil_drops does not see), down to
 * HANDBACK_MIN_NS.  Then the thread takes the GIL the usual way.  The
 * counter is a process-wide hint: with per-interpreter GILs a drop in
 * another interpreter only ends a wait early, which costs nothing but the
 * sleep this tries to save.
 */
#define HANDBACK_MIN_NS INT64_C(4000)
#define HANDBACK_INIT_NS INT64_C(20000)
#define HANDBACK_MAX_NS INT64_C(50000)

/* An async wait polls for tokens for this long before it queues, when its
 * event loop has nothing else to run (see Waiter_poll and docs/python.md,
 * "Decisions"): adaptive in the same way, between these bounds. */
#define POLL_MIN_NS INT64_C(10000)
#define POLL_INIT_NS INT64_C(20000)
#define POLL_MAX_NS INT64_C(50000)
#define POLL_REST 16
#define POLL_REST_MAX 1024

static _Atomic uint64_t gil_drops;

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Right after this thread dropped the GIL for a qsem wait. */
static inline void
gil_dropped(void)
{
    atomic_fetch_add_explicit(&gil_drops, 1, memory_order_relaxed);
}

/* Halve or double an adaptive budget, within [lo, hi]. */
static inline void
adapt(_Atomic int64_t *budget, int64_t used, int success, int64_t lo, int64_t hi)
{
    // Relaxed MO: a hint; a lost update only skews the next wait.
    int64_t next = success ? (used >= hi / 2 ? hi : used * 2) : (used / 2 < lo ? lo : used / 2);
    atomic_store_explicit(budget, next, memory_order_relaxed);
}

/* Without the GIL, after this thread took tokens of `self`: wait (bounded)
 * for the holder of the GIL to drop it, so that taking it does not sleep. */
static void
gil_handback(SemaphoreObject *self)
{
    uint64_t stamp = atomic_load_explicit(&self->release_stamp, memory_order_relaxed);
    if (atomic_load_explicit(&gil_drops, memory_order_relaxed) != stamp) {
        return;
    }
    int64_t budget = atomic_load_explicit(&self->handback_ns, memory_order_relaxed);
    int64_t end = qsem_now_ns() + budget;
    while (atomic_load_explicit(&gil_drops, memory_order_relaxed) == stamp) {
        for (int i = 0; i < 16; i++) {
            cpu_relax();
        }
        if (qsem_now_ns() >= end) {
            adapt(&self->handback_ns, budget, 0, HANDBACK_MIN_NS, HANDBACK_MAX_NS);
            return;
        }
    }
    adapt(&self->handback_ns, budget, 1, HANDBACK_MIN_NS, HANDBACK_MAX_NS);
}

/* How long the next poll for tokens may last (ns), or 0: do not poll.
 * A poll that fails halves the budget, and one that fails at POLL_MIN_NS
 * turns polling off for the semaphore; one that succeeds doubles it, up
 * to POLL_MAX_NS.  Polling comes back on from what the waits that did not
 * poll (or polled too briefly) show: poll_learn(). */
static inline int64_t
poll_budget(SemaphoreObject *self)
{
    return atomic_load_explicit(&self->poll_ns, memory_order_relaxed);
}

/* An async wait of one token was granted `latency` ns after it began (it
 * polled in vain, or did not poll).  Had a poll lasted that long it would
 * have caught the token, and saved the loop's wake-up: if that is within
 * the bound, poll for twice as long from now on.  Tokens that come back
 * rarely, or late because the releasing thread was off the CPU, leave
 * polling off, so that it costs nothing where it cannot win. */
static void
poll_learn(SemaphoreObject *self, int64_t latency)
{
    if (latency < 0 || latency > POLL_MAX_NS / 2) {
        return;
    }
    // Polling turned itself off a moment ago: those polls missed although
    // the tokens came soon (a releaser that needs the CPU the poll spins
    // on, as on a loaded machine).  Rest a while before trying again.
    int rest = atomic_load_explicit(&self->poll_rest, memory_order_relaxed);
    if (rest > 0) {
        atomic_store_explicit(&self->poll_rest, rest - 1, memory_order_relaxed);
        return;
    }
    int64_t want = latency * 2 < POLL_MIN_NS ? POLL_MIN_NS : latency * 2;
    if (want > atomic_load_explicit(&self->poll_ns, memory_order_relaxed)) {
        // Relaxed MO: a hint, as in adapt().
        atomic_store_explicit(&self->poll_ns, want, memory_order_relaxed);
    }
}

/*
 * Between looks at the count, a poll yields its CPU (qsem_yield): when the
 * thread that will release is runnable on this CPU it runs at once, instead
 * of after the poll has spun its budget away; the core turns yielding off
 * for a while after a slow yield, and then the poll only spins.
 */
/* Without the GIL: try for n tokens for `budget` ns (from poll_budget(),
 * not 0), or until the deadline.  0 (taken), EAGAIN, or ECANCELED/EINVAL
 * from the core.  Like the core's spin it barges only where a newcomer
 * may: the core refuses it in a starvation window and, in FIFO mode,
 * while anyone queues. */
static int
poll_tokens_nogil(SemaphoreObject *self, int64_t n, int64_t budget, int64_t deadline)
{
    int64_t end = qsem_now_ns() + budget;
    if (end > deadline) {
        end = deadline;
    }
    int err = EAGAIN;
    do {
        for (int i = 0; i < 16 && err == EAGAIN; i++) {
            cpu_relax();
            if (qsem_available(self->sem) >= n) {
                err = qsem_try_acquire(self->sem, n);
            }
        }
        if (err == EAGAIN && !qsem_yield(QSEM_FOREVER)) {
            break;
        }
    } while (err == EAGAIN && qsem_now_ns() < end);
    int64_t next;
    if (err == 0) {
        next = budget >= POLL_MAX_NS / 2 ? POLL_MAX_NS : 2 * budget;
        atomic_store_explicit(&self->poll_rest_len, POLL_REST, memory_order_relaxed);
    }
    else {
        next = budget / 2 < POLL_MIN_NS ? 0 : budget / 2;
        if (next == 0) {
            int rest = atomic_load_explicit(&self->poll_rest_len, memory_order_relaxed);
            atomic_store_explicit(&self->poll_rest, rest, memory_order_relaxed);
            atomic_store_explicit(&self->poll_rest_len,
                                  rest >= POLL_REST_MAX / 2 ? POLL_REST_MAX : 2 * rest,
                                  memory_order_relaxed);
        }
    }
    // Relaxed MO: a hint, as in adapt().
    atomic_store_explicit(&self->poll_ns, next, memory_order_relaxed);
    return err;
}

/* }====================================================================== */

/* Nonzero, with RuntimeError set, if __init__ has not made the semaphore
 * (a subclass whose __init__ never called ours). */
static inline int
not_ready(SemaphoreObject *self)
{
    if (self->sem != NULL) {
        return 0;
    }
    PyErr_Format(PyExc_RuntimeError, "%s.__init__() was not called",
                 Py_TYPE(self)->tp_name);
    return 1;
}


/*
 * The one place where a qsem result becomes a Python exception.  `n` is the
 * count of the call that failed, for the message.  Always returns -1 with
 * an exception set.  EAGAIN and ETIMEDOUT are outcomes, not errors, and
 * never come here; EINTR is handled by the wait loop.
 */
static int
set_error(SemaphoreObject *self, int err, int64_t n)
{
    switch (err) {
    case ECANCELED: {
        module_state *state = find_module_state(Py_TYPE(self));
        if (state != NULL) {
            PyErr_SetString(state->ClosedError, "semaphore is closed");
        }
        return -1;
    }
    case EINVAL:
        // The count was checked for sign already: this is n > max.
        PyErr_Format(PyExc_ValueError,
                     "cannot acquire %lld tokens from a semaphore whose maximum is %lld",
                     (long long)n, (long long)qsem_max(self->sem));
        return -1;
    case EOVERFLOW:
        // threading.BoundedSemaphore says ValueError; past VALUE_MAX it is
        // an arithmetic overflow (docs/contract.md, "Release arithmetic").
        if (self->bounded) {
            PyErr_SetString(PyExc_ValueError, "Semaphore released too many times");
        }
        else {
            PyErr_Format(PyExc_OverflowError,
                         "releasing %lld tokens would pass VALUE_MAX (%lld)",
                         (long long)n, (long long)QSEM_VALUE_MAX);
        }
        return -1;
    case ENOMEM:
        // The pthread back end also says so when it cannot make this
        // thread's wake-up channel, a pipe: out of file descriptors too.
        if (strcmp(qsem_backend(), "pthread") == 0) {
            PyErr_SetString(PyExc_MemoryError,
                            "cannot wait: no wake-up channel for this thread "
                            "(out of memory or of file descriptors)");
        }
        else {
            PyErr_NoMemory();
        }
        return -1;
    default:
        PyErr_Format(PyExc_SystemError, "qsem: unexpected result %d (%s)",
                     err, qsem_strerror(err));
        return -1;
    }
}

/*
 * Take n tokens within rel_ns nanoseconds.  Returns 1 (taken), 0 (not
 * taken: the try failed or the time ran out), or -1 with an exception set
 * and nothing taken.
 */
static int
take_tokens(SemaphoreObject *self, int64_t n, int64_t rel_ns)
{
    if (not_ready(self)) {
        return -1;
    }
    /* BEGIN GIL-protected fast path: one CAS, no syscall, GIL kept
     * (docs/contract.md: the uncontended path never drops it). */
    int err = qsem_try_acquire(self->sem, n);
    if (err == 0) {
        return 1;
    }
    if (err != EAGAIN) {
        return set_error(self, err, n);
    }
    if (rel_ns == WAIT_NONE) {
        return 0;
    }
    /* END GIL-protected fast path. */

    // The deadline is fixed once: a handler that does not raise resumes the
    // wait with the time that is left, not a fresh timeout.
    int64_t deadline = qsem_deadline_after(rel_ns);
    for (;;) {
        // qsem takes no Python object and never calls back, so no internal
        // lock can be held when the GIL is taken again.  The core spins and
        // lingers before it sleeps; that is where a handoff is caught.
        Py_BEGIN_ALLOW_THREADS
        gil_dropped();
        err = qsem_acquire_until(self->sem, n, deadline, QSEM_INTR);
        if (err == 0) {
            gil_handback(self);
        }
        Py_END_ALLOW_THREADS
        if (wake_async(self) < 0) {
            // Interrupted while it handed tokens to tasks: the exception
            // goes up, and nothing is taken.
            if (err == 0) {
                // Cannot fail: these tokens were taken from it.
                (void)qsem_release(self->sem, n);
                (void)wake_async(self);   // a second exception is reported
            }
            return -1;
        }
        switch (err) {
        case 0:
            // Granted, even if a signal came at the same moment: its handler
            // runs at the next bytecode, as with CPython's own locks.
            return 1;
        case ETIMEDOUT:
            return 0;
        case EINTR:
            // Nothing was taken; run the handlers, whose exception (Ctrl-C)
            // ends the call (docs/contract.md CWE-691).
            if (PyErr_CheckSignals() < 0) {
                return -1;
            }
            continue;
        default:
            return set_error(self, err, n);
        }
    }
}

/* threading's ValueError for a release of less than one token. */
#define RELEASE_BELOW_ONE "n must be one or more"

/* Release n tokens.  Returns -1 with an exception set, or 0. */
static int
give_tokens(SemaphoreObject *self, int64_t n)
{
    if (not_ready(self)) {
        return -1;
    }
    if (n == 0) {
        // threading's rule: releasing nothing is a mistake, not a no-op.
        PyErr_SetString(PyExc_ValueError, RELEASE_BELOW_ONE);
        return -1;
    }
    // Before the release, so that whoever it serves sees it (gil_handback).
    atomic_store_explicit(&self->release_stamp,
                          atomic_load_explicit(&gil_drops, memory_order_relaxed),
                          memory_order_relaxed);
    int err = qsem_release(self->sem, n);
    if (err != 0) {
        return set_error(self, err, n);
    }
    // An exception here (Ctrl-C while a task was handed its tokens) is the
    // caller's: the release has happened, and every task was served.
    return wake_async(self);
}

/*
 * __new__ only allocates; __init__ makes the semaphore, as threading's
 * classes do, so that a subclass may have an __init__ of its own with other
 * arguments and call super().__init__(value) from it.  Until __init__ has
 * run, every method raises (see not_ready()).
 */
static PyObject *
semaphore_alloc(PyTypeObject *type, int bounded)
{
    module_state *state = find_module_state(type);
    if (state == NULL) {
        return NULL;
    }
    SemaphoreObject *self = (SemaphoreObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->bounded = bounded;
    self->subclassed = type != state->Semaphore_type && type != state->BoundedSemaphore_type;
    self->sem = NULL;
    atomic_init(&self->release_stamp, 0);
    atomic_init(&self->handback_ns, HANDBACK_INIT_NS);
    atomic_init(&self->poll_ns, POLL_INIT_NS);
    atomic_init(&self->poll_rest, 0);
    atomic_init(&self->poll_rest_len, POLL_REST);
    return (PyObject *)self;
}

static PyObject *
Semaphore_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kwargs))
{
    return semaphore_alloc(type, 0);
}

static PyObject *
BoundedSemaphore_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kwargs))
{
    return semaphore_alloc(type, 1);
}

static int
Semaphore_init(SemaphoreObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"value", "fair", NULL};
    PyObject *value_obj = NULL;
    int fair = 0;
    int64_t value = 1;

    // The format's name is the one errors show: "Semaphore() takes ...".
    if (!PyArg_ParseTupleAndKeywords(args, kwargs,
                                     self->bounded ? "|O$p:BoundedSemaphore" : "|O$p:Semaphore",
                                     kwlist, &value_obj, &fair)) {
        return -1;
    }
    if (value_obj != NULL) {
        if (convert_count(value_obj, "semaphore initial value", &value) < 0) {
            return -1;
        }
        if (value > QSEM_VALUE_MAX) {
            PyErr_Format(PyExc_OverflowError,
                         "semaphore initial value is too large (VALUE_MAX is %lld)",
                         (long long)QSEM_VALUE_MAX);
            return -1;
        }
    }
    if (self->sem != NULL) {
        // Replacing the semaphore would strand whoever waits on the old one.
        PyErr_Format(PyExc_RuntimeError, "%s.__init__() may run only once",
                     Py_TYPE(self)->tp_name);
        return -1;
    }
    self->sem = qsem_new(value, self->bounded ? value : QSEM_VALUE_MAX, fair ? QSEM_FIFO : 0);
    if (self->sem == NULL) {
        // Arguments were checked above, so this is ENOMEM (or EAGAIN from
        // pthread_mutex_init, which is a resource shortage too).
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
Semaphore_dealloc(SemaphoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    // Dropping the last handle closes the semaphore; nobody can be waiting
    // on it, since a waiting call keeps this object alive.
    qsem_unref(self->sem);
    self->sem = NULL;
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

PyDoc_STRVAR(Semaphore_acquire__doc__,
"acquire($self, /, blocking=True, timeout=None, *, n=1)\n"
"--\n"
"\n"
"Take n tokens; return True if taken, False if not.\n"
"\n"
"With blocking=False, or a timeout of zero or less, try once and never\n"
"sleep.  timeout=None or inf waits as long as it takes.  Raises\n"
"ClosedError if the semaphore is or becomes closed, and whatever a signal\n"
"handler raises while the call sleeps; either way nothing is taken.");

static PyObject *
Semaphore_acquire(SemaphoreObject *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    static const char *const names[] = {"blocking", "timeout", "n"};
    PyObject *argv[3];
    int64_t n = 1;
    int64_t rel_ns = WAIT_FOREVER;

    // The common call, acquire(), skips parsing altogether.
    if (nargs != 0 || kwnames != NULL) {
        if (parse_args("acquire", args, nargs, kwnames, names, 3, 2, argv) < 0) {
            return NULL;
        }
        PyObject *blocking = argv[0], *timeout = argv[1];
        if (blocking != NULL && blocking != Py_True) {
            // acquire(3) reads like "take 3 tokens" but threading would take
            // one: refuse anything but a bool, 0 or 1 (docs/contract.md "Python").
            int ok = PyBool_Check(blocking);
            if (!ok && PyLong_Check(blocking)) {
                int overflow;
                long long v = PyLong_AsLongLongAndOverflow(blocking, &overflow);
                ok = overflow == 0 && (v == 0 || v == 1);
            }
            if (!ok) {
                PyErr_Format(PyExc_TypeError,
                             "acquire() argument 'blocking' must be a bool, not %R; "
                             "to take several tokens, pass n=, as in acquire(n=3)",
                             blocking);
                return NULL;
            }
            if (!PyObject_IsTrue(blocking)) {
                if (timeout != NULL && timeout != Py_None) {
                    PyErr_SetString(PyExc_ValueError,
                                    "can't specify timeout for non-blocking acquire");
                    return NULL;
                }
                rel_ns = WAIT_NONE;
            }
        }
        if (rel_ns != WAIT_NONE && timeout != NULL && convert_timeout(timeout, &rel_ns) < 0) {
            return NULL;
        }
        if (argv[2] != NULL && convert_count(argv[2], "n", &n) < 0) {
            return NULL;
        }
    }

    int r = take_tokens(self, n, rel_ns);
    if (r < 0) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

PyDoc_STRVAR(Semaphore_release__doc__,
"release($self, /, n=1)\n"
"--\n"
"\n"
"Give back n tokens and wake the waiters they satisfy; never blocks.\n"
"\n"
"n must be one or more (ValueError otherwise, as with threading).\n"
"Works after close().  A release that would pass the maximum changes\n"
"nothing and raises ValueError (BoundedSemaphore) or OverflowError.");

static PyObject *
Semaphore_release(SemaphoreObject *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    static const char *const names[] = {"n"};
    PyObject *argv[1];
    int64_t n = 1;

    if (nargs != 0 || kwnames != NULL) {
        if (parse_args("release", args, nargs, kwnames, names, 1, 1, argv) < 0) {
            return NULL;
        }
        if (argv[0] != NULL && convert_count(argv[0], "n", &n) < 0) {
            // threading's wording for any n below 1 (give_tokens says it for 0)
            if (PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_SetString(PyExc_ValueError, RELEASE_BELOW_ONE);
            }
            return NULL;
        }
    }
    if (give_tokens(self, n) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Semaphore_enter__doc__,
"__enter__($self, /)\n"
"--\n"
"\n"
"Take one token, waiting as long as it takes; return True.");

static PyObject *
Semaphore_enter(SemaphoreObject *self, PyObject *Py_UNUSED(ignored))
{
    if (take_tokens(self, 1, WAIT_FOREVER) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(Semaphore_exit__doc__,
"__exit__($self, /, *exc_info)\n"
"--\n"
"\n"
"Give back the token taken by __enter__.");

/* What `with sem:` and `async with sem:` give back on exit: threading's
 * __exit__ calls self.release(), which a subclass may override; this
 * module's own types give back directly.  -1 with an exception set, or 0. */
static int
exit_release(SemaphoreObject *self)
{
    if (!self->subclassed) {
        return give_tokens(self, 1);
    }
    PyObject *r = PyObject_CallMethod((PyObject *)self, "release", NULL);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static PyObject *
Semaphore_exit(SemaphoreObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    if (exit_release(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Semaphore_available__doc__,
"available($self, /)\n"
"--\n"
"\n"
"Return the number of tokens free right now (a snapshot).");

static PyObject *
Semaphore_available(SemaphoreObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self)) {
        return NULL;
    }
    return PyLong_FromLongLong(qsem_available(self->sem));
}

PyDoc_STRVAR(Semaphore_waiting__doc__,
"waiting($self, /)\n"
"--\n"
"\n"
"Return the number of threads and tasks waiting for tokens right now (a snapshot).");

static PyObject *
Semaphore_waiting(SemaphoreObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self)) {
        return NULL;
    }
    return PyLong_FromLongLong(qsem_waiting(self->sem));
}

PyDoc_STRVAR(Semaphore_close__doc__,
"close($self, /)\n"
"--\n"
"\n"
"Wake every waiter with ClosedError and make later acquires raise it.\n"
"\n"
"release() keeps working, so holders can finish.  Closing twice is harmless.");

static PyObject *
Semaphore_close(SemaphoreObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self)) {
        return NULL;
    }
    // Never sleeps: it only takes the internal lock for a short while.
    (void)qsem_close(self->sem);
    if (wake_async(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Semaphore_hold__doc__,
"hold($self, /, n=1, timeout=None)\n"
"--\n"
"\n"
"Return a context manager that takes n tokens on entry and gives back\n"
"exactly what it took on exit.\n"
"\n"
"Entry raises TimeoutError if the tokens cannot be had within timeout.");

static PyObject *hold_create(SemaphoreObject *self, int64_t n, int64_t rel_ns);
static PyObject *Semaphore_async_acquire(SemaphoreObject *self, PyObject *const *args,
                                         Py_ssize_t nargs, PyObject *kwnames);
static PyObject *Semaphore_aenter(SemaphoreObject *self, PyObject *Py_UNUSED(ignored));
static PyObject *Semaphore_aexit(SemaphoreObject *self, PyObject *const *args,
                                 Py_ssize_t nargs);

static PyObject *
Semaphore_hold(SemaphoreObject *self, PyObject *const *args, Py_ssize_t nargs,
               PyObject *kwnames)
{
    static const char *const names[] = {"n", "timeout"};
    PyObject *argv[2];
    int64_t n = 1;
    int64_t rel_ns = WAIT_FOREVER;

    if (not_ready(self) || parse_args("hold", args, nargs, kwnames, names, 2, 2, argv) < 0) {
        return NULL;
    }
    if (argv[0] != NULL && convert_count(argv[0], "n", &n) < 0) {
        return NULL;
    }
    if (argv[1] != NULL && convert_timeout(argv[1], &rel_ns) < 0) {
        return NULL;
    }
    // A request that could never be met is bad input now, not at entry.
    if (n > qsem_max(self->sem)) {
        set_error(self, EINVAL, n);
        return NULL;
    }
    return hold_create(self, n, rel_ns);
}

PyDoc_STRVAR(Semaphore_reduce__doc__,
"__reduce_ex__($self, protocol, /)\n"
"--\n"
"\n"
"Refuse: a semaphore is shared state of this process, not a value.");

static PyObject *
Semaphore_reduce_ex(SemaphoreObject *self, PyObject *Py_UNUSED(protocol))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.200s' object", Py_TYPE(self)->tp_name);
    return NULL;
}

static PyObject *
Semaphore_repr(SemaphoreObject *self)
{
    // threading's format, so that logs and doctests read the same.
    PyObject *tp = (PyObject *)Py_TYPE(self);
    PyObject *module = PyObject_GetAttrString(tp, "__module__");
    if (module == NULL) {
        return NULL;
    }
    PyObject *qualname = PyObject_GetAttrString(tp, "__qualname__");
    if (qualname == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    PyObject *r;
    if (self->sem == NULL) {
        r = PyUnicode_FromFormat("<%S.%S at %p: not initialized>", module, qualname, self);
        Py_DECREF(module);
        Py_DECREF(qualname);
        return r;
    }
    const char *closed = qsem_is_closed(self->sem) ? ", closed" : "";
    if (self->bounded) {
        r = PyUnicode_FromFormat("<%S.%S at %p: value=%lld/%lld%s>", module, qualname, self,
                                 (long long)qsem_available(self->sem),
                                 (long long)qsem_max(self->sem), closed);
    }
    else {
        r = PyUnicode_FromFormat("<%S.%S at %p: value=%lld%s>", module, qualname, self,
                                 (long long)qsem_available(self->sem), closed);
    }
    Py_DECREF(module);
    Py_DECREF(qualname);
    return r;
}

static PyObject *
Semaphore_get_closed(SemaphoreObject *self, void *Py_UNUSED(closure))
{
    if (not_ready(self)) {
        return NULL;
    }
    return PyBool_FromLong(qsem_is_closed(self->sem));
}

static PyObject *
Semaphore_get_max(SemaphoreObject *self, void *Py_UNUSED(closure))
{
    if (not_ready(self)) {
        return NULL;
    }
    return PyLong_FromLongLong(qsem_max(self->sem));
}

static PyMethodDef Semaphore_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))Semaphore_acquire, METH_FASTCALL | METH_KEYWORDS,
     Semaphore_acquire__doc__},
    {"release", (PyCFunction)(void (*)(void))Semaphore_release, METH_FASTCALL | METH_KEYWORDS,
     Semaphore_release__doc__},
    {"hold", (PyCFunction)(void (*)(void))Semaphore_hold, METH_FASTCALL | METH_KEYWORDS,
     Semaphore_hold__doc__},
    {"available", (PyCFunction)Semaphore_available, METH_NOARGS, Semaphore_available__doc__},
    {"waiting", (PyCFunction)Semaphore_waiting, METH_NOARGS, Semaphore_waiting__doc__},
    {"close", (PyCFunction)Semaphore_close, METH_NOARGS, Semaphore_close__doc__},
    {"__enter__", (PyCFunction)Semaphore_enter, METH_NOARGS, Semaphore_enter__doc__},
    {"__exit__", (PyCFunction)(void (*)(void))Semaphore_exit, METH_FASTCALL,
     Semaphore_exit__doc__},
    {"__reduce_ex__", (PyCFunction)Semaphore_reduce_ex, METH_O, Semaphore_reduce__doc__},
    {"async_acquire", (PyCFunction)(void (*)(void))Semaphore_async_acquire,
     METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR("async_acquire($self, /, n=1, timeout=None)\n--\n\n"
               "Take n tokens without blocking the event loop; await the result:\n"
               "True if taken, False if the time ran out.  Same arguments and\n"
               "errors as acquire(); ClosedError if closed while waiting.  When\n"
               "the tokens are free it completes without a trip through the loop.\n"
               "Works under asyncio (any loop, uvloop too) and trio.")},
    {"__aenter__", (PyCFunction)Semaphore_aenter, METH_NOARGS,
     PyDoc_STR("__aenter__($self, /)\n--\n\nAwait one token (async with sem:).")},
    {"__aexit__", (PyCFunction)(void (*)(void))Semaphore_aexit, METH_FASTCALL,
     PyDoc_STR("__aexit__($self, /, *exc_info)\n--\n\nGive back the token of __aenter__.")},
    {NULL, NULL}
};

static PyGetSetDef Semaphore_getset[] = {
    {"closed", (getter)Semaphore_get_closed, NULL,
     PyDoc_STR("True once close() has run."), NULL},
    {"max", (getter)Semaphore_get_max, NULL,
     PyDoc_STR("The largest count release() may reach: the initial value of a\n"
               "BoundedSemaphore, VALUE_MAX otherwise."), NULL},
    {NULL}
};

static PyMemberDef Semaphore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(SemaphoreObject, weakreflist), Py_READONLY},
    {NULL}
};

PyDoc_STRVAR(Semaphore__doc__,
"Semaphore(value=1, *, fair=False)\n"
"--\n"
"\n"
"A counting semaphore with threading.Semaphore's interface, plus\n"
"multi-token acquire and release, close() and introspection.\n"
"\n"
"fair=True serves waiters in strict arrival order; a non-blocking\n"
"acquire then fails while anyone queues.");

/* Not GC-tracked: a Semaphore refers to no Python object, so it cannot be
 * part of a cycle (subclasses with a __dict__ get tracking from the type
 * machinery). */
static PyType_Slot Semaphore_slots[] = {
    {Py_tp_new, Semaphore_new},
    {Py_tp_init, Semaphore_init},
    {Py_tp_dealloc, Semaphore_dealloc},
    {Py_tp_repr, Semaphore_repr},
    {Py_tp_methods, Semaphore_methods},
    {Py_tp_getset, Semaphore_getset},
    {Py_tp_members, Semaphore_members},
    {Py_tp_doc, (void *)Semaphore__doc__},
    {0, NULL}
};

static PyType_Spec Semaphore_spec = {
    .name = "qsem.Semaphore",
    .basicsize = sizeof(SemaphoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Semaphore_slots,
};

PyDoc_STRVAR(BoundedSemaphore__doc__,
"BoundedSemaphore(value=1, *, fair=False)\n"
"--\n"
"\n"
"A Semaphore whose count may never pass its initial value: a release that\n"
"would is a ValueError and changes nothing, as with\n"
"threading.BoundedSemaphore.");

static PyType_Slot BoundedSemaphore_slots[] = {
    {Py_tp_new, BoundedSemaphore_new},
    {Py_tp_doc, (void *)BoundedSemaphore__doc__},
    {0, NULL}
};

static PyType_Spec BoundedSemaphore_spec = {
    .name = "qsem.BoundedSemaphore",
    .basicsize = sizeof(SemaphoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = BoundedSemaphore_slots,
};

/* }====================================================================== */

/* {======================================================================
** Hold: the context manager for n tokens
** ======================================================================= */

typedef struct HoldObject {
    PyObject_HEAD
    // the semaphore the tokens come from (strong)
    SemaphoreObject *owner;
    // tokens to take on entry
    int64_t n;
    // how long entry may wait: WAIT_FOREVER, WAIT_NONE or nanoseconds
    int64_t rel_ns;
    // 1 from the start of __enter__ until __exit__: a guard is entered once at a time
    int busy;
    // tokens actually held, so that __exit__ gives back exactly those
    int64_t held;
    // entries so far, counted by __enter__ and __aenter__: an awaitable of
    // __aenter__ that was never run, or an async wait, ends only its own
    // entry (qsem_async.c, Ready and Waiter)
    uint64_t entries;
} HoldObject;

static PyObject *
hold_create(SemaphoreObject *owner, int64_t n, int64_t rel_ns)
{
    module_state *state = find_module_state(Py_TYPE(owner));
    if (state == NULL) {
        return NULL;
    }
    HoldObject *self = PyObject_GC_New(HoldObject, state->Hold_type);
    if (self == NULL) {
        return NULL;
    }
    self->owner = (SemaphoreObject *)Py_NewRef((PyObject *)owner);
    self->n = n;
    self->rel_ns = rel_ns;
    self->busy = 0;
    self->held = 0;
    self->entries = 0;
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}

static int
Hold_traverse(HoldObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->owner);
    return 0;
}

/* Give back what the guard holds, if anything: its `with` never exited. */
static void
hold_give_back(HoldObject *self)
{
    if (self->held > 0 && self->owner != NULL && self->owner->sem != NULL) {
        // Cannot fail: these tokens were taken from it.
        (void)qsem_release(self->owner->sem, self->held);
        self->held = 0;
        if (wake_async(self->owner) < 0) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
    }
}

static int
Hold_clear(HoldObject *self)
{
    // The cycle collector clears before it deallocates: the tokens must go
    // back while the semaphore is still at hand.
    hold_give_back(self);
    Py_CLEAR(self->owner);
    return 0;
}

static void
Hold_dealloc(HoldObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    // A guard dropped while held (its `with` never exited, e.g. a frame torn
    // down by a generator's close) still gives its tokens back.
    hold_give_back(self);
    (void)Hold_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
Hold_enter(HoldObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->owner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object is no longer usable");
        return NULL;
    }
    /* BEGIN GIL-protected critical section: `busy` and `held` change only
     * with the GIL held, and the GIL is dropped only inside take_tokens(),
     * after `busy` is set, so a second entry cannot slip in. */
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object is already entered");
        return NULL;
    }
    self->busy = 1;
    uint64_t entry = ++self->entries;
    /* END GIL-protected critical section. */
    int r = take_tokens(self->owner, self->n, self->rel_ns);
    if (r > 0 && (self->entries != entry || !self->busy)) {
        // Another thread called __exit__ (and perhaps entered again) while
        // this entry waited: its tokens are not this guard's to record.
        if (self->n > 0 && give_tokens(self->owner, self->n) < 0) {
            return NULL;
        }
        PyErr_SetString(PyExc_RuntimeError, "Hold object exited while its entry waited");
        return NULL;
    }
    if (r <= 0) {
        if (self->entries == entry) {
            self->busy = 0;
        }
        if (r == 0) {
            PyErr_Format(PyExc_TimeoutError, "could not take %lld tokens in time",
                         (long long)self->n);
        }
        return NULL;
    }
    // Recorded in the same C call that took the tokens: no bytecode, and so
    // no signal handler, can run in between (docs/contract.md: releases exactly
    // what it took, even when a KeyboardInterrupt lands).
    self->held = self->n;
    return Py_NewRef((PyObject *)self);
}

static PyObject *
Hold_exit(HoldObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    if (!self->busy || self->owner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object exited without being entered");
        return NULL;
    }
    int64_t n = self->held;
    self->held = 0;
    self->busy = 0;
    if (n > 0 && give_tokens(self->owner, n) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Hold_repr(HoldObject *self)
{
    return PyUnicode_FromFormat("<qsem.Hold at %p: n=%lld, held=%lld>", self,
                                (long long)self->n, (long long)self->held);
}

static PyObject *Hold_aenter(HoldObject *self, PyObject *Py_UNUSED(ignored));
static PyObject *Hold_aexit(HoldObject *self, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef Hold_methods[] = {
    {"__enter__", (PyCFunction)Hold_enter, METH_NOARGS,
     PyDoc_STR("__enter__($self, /)\n--\n\nTake the tokens; return this guard.")},
    {"__exit__", (PyCFunction)(void (*)(void))Hold_exit, METH_FASTCALL,
     PyDoc_STR("__exit__($self, /, *exc_info)\n--\n\nGive back exactly the tokens taken.")},
    {"__aenter__", (PyCFunction)Hold_aenter, METH_NOARGS,
     PyDoc_STR("__aenter__($self, /)\n--\n\nAwait the tokens; the guard is the result.")},
    {"__aexit__", (PyCFunction)(void (*)(void))Hold_aexit, METH_FASTCALL,
     PyDoc_STR("__aexit__($self, /, *exc_info)\n--\n\nGive back exactly the tokens taken.")},
    {NULL, NULL}
};

static PyMemberDef Hold_members[] = {
    {"n", Py_T_LONGLONG, offsetof(HoldObject, n), Py_READONLY,
     PyDoc_STR("Tokens taken on entry.")},
    {"held", Py_T_LONGLONG, offsetof(HoldObject, held), Py_READONLY,
     PyDoc_STR("Tokens held right now: n inside the block, 0 outside.")},
    {"semaphore", Py_T_OBJECT_EX, offsetof(HoldObject, owner), Py_READONLY,
     PyDoc_STR("The semaphore the tokens come from.")},
    {NULL}
};

static PyType_Slot Hold_slots[] = {
    {Py_tp_dealloc, Hold_dealloc},
    {Py_tp_traverse, Hold_traverse},
    {Py_tp_clear, Hold_clear},
    {Py_tp_repr, Hold_repr},
    {Py_tp_methods, Hold_methods},
    {Py_tp_members, Hold_members},
    {Py_tp_doc, (void *)PyDoc_STR("The context manager returned by Semaphore.hold().")},
    {0, NULL}
};

static PyType_Spec Hold_spec = {
    .name = "qsem.Hold",
    .basicsize = sizeof(HoldObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Hold_slots,
};

/* }====================================================================== */

#include "qsem_async.c"

/* {======================================================================
** Module
** ======================================================================= */

static int
module_exec(PyObject *module)
{
    module_state *state = get_module_state(module);

    state->Semaphore_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Semaphore_spec,
                                                                      NULL);
    if (state->Semaphore_type == NULL) {
        return -1;
    }
    if (PyModule_AddType(module, state->Semaphore_type) < 0) {
        return -1;
    }
    state->BoundedSemaphore_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &BoundedSemaphore_spec, (PyObject *)state->Semaphore_type);
    if (state->BoundedSemaphore_type == NULL) {
        return -1;
    }
    if (PyModule_AddType(module, state->BoundedSemaphore_type) < 0) {
        return -1;
    }
    state->Hold_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Hold_spec, NULL);
    if (state->Hold_type == NULL) {
        return -1;
    }
    if (PyModule_AddType(module, state->Hold_type) < 0) {
        return -1;
    }
    state->Waiter_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Waiter_spec, NULL);
    if (state->Waiter_type == NULL || PyModule_AddType(module, state->Waiter_type) < 0) {
        return -1;
    }
    state->Ready_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Ready_spec, NULL);
    if (state->Ready_type == NULL || PyModule_AddType(module, state->Ready_type) < 0) {
        return -1;
    }
    state->ClosedError = PyErr_NewExceptionWithDoc(
        "qsem.ClosedError",
        "Raised by acquire() on a semaphore that is closed, or closed while it waits.",
        PyExc_RuntimeError, NULL);
    if (state->ClosedError == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "ClosedError", state->ClosedError) < 0) {
        return -1;
    }
    // Not PyModule_AddIntConstant: it takes a C long, which is 32 bits on
    // some platforms.
    PyObject *value_max = PyLong_FromLongLong(QSEM_VALUE_MAX);
    if (value_max == NULL) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(module, "VALUE_MAX", value_max);
    Py_DECREF(value_max);
    if (rc < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(module, "__version__", QSEM_VERSION_STRING) < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(module, "BACKEND", qsem_backend()) < 0) {
        return -1;
    }
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *state = get_module_state(module);
    Py_VISIT(state->Semaphore_type);
    Py_VISIT(state->BoundedSemaphore_type);
    Py_VISIT(state->Hold_type);
    Py_VISIT(state->ClosedError);
    Py_VISIT(state->Waiter_type);
    Py_VISIT(state->Ready_type);
    Py_VISIT(state->async_acquire);
    Py_VISIT(state->async_hold);
    return 0;
}

static int
module_clear(PyObject *module)
{
    module_state *state = get_module_state(module);
    Py_CLEAR(state->Semaphore_type);
    Py_CLEAR(state->BoundedSemaphore_type);
    Py_CLEAR(state->Hold_type);
    Py_CLEAR(state->ClosedError);
    Py_CLEAR(state->Waiter_type);
    Py_CLEAR(state->Ready_type);
    Py_CLEAR(state->async_acquire);
    Py_CLEAR(state->async_hold);
    return 0;
}

static void
module_free(void *module)
{
    (void)module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_multiple_interpreters
    // All state is per module object and the C core keeps no global state
    // that Python can see, so each interpreter may have its own GIL.
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    // No Py_mod_gil (Py_MOD_GIL_NOT_USED) yet: Hold's entry check relies on
    // the GIL (see Hold_enter), so a free-threaded build must keep it.
    {0, NULL}
};

PyDoc_STRVAR(module__doc__,
"qsem: a hardened counting semaphore with Qt QSemaphore's semantics.\n"
"\n"
"Semaphore and BoundedSemaphore are drop-in replacements for threading's,\n"
"with multi-token acquire(n=) and release(n), hold(n) guards, close(),\n"
"and waits that Ctrl-C interrupts.");

static struct PyModuleDef qsem_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "qsem._qsem",
    .m_doc = module__doc__,
    .m_size = sizeof(module_state),
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__qsem(void)
{
    return PyModuleDef_Init(&qsem_module);
}

/* }====================================================================== */
