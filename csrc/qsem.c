/* SPDX-License-Identifier: MIT
 * qsem.c: the portable core: state word, fast paths, the queue and its
 * dispatcher, close, and reference counting.  The back ends (qsem_futex.c,
 * qsem_pthread.c) only put a thread to sleep and wake it.
 *
 * The state word.  `state` holds the free count in its low 62 bits and two
 * flags: WAITERS (the queue is not empty) and NOBARGE (closed, or a window
 * is open for a starving waiter).  An acquire whose request fits and that
 * is not blocked by a flag takes its tokens with one CAS and never touches
 * the lock; in FIFO
 * mode WAITERS blocks it too.  A release adds its tokens with one CAS after
 * checking them against `max`, and takes the lock only if WAITERS was set.
 *
 * No lost wake-up.  A thread that must wait takes the lock, sets WAITERS
 * with an atomic RMW on `state`, and only then makes its last attempt to
 * take tokens, still under the lock, before it queues.  RMWs on one word are
 * totally ordered, so a concurrent release either comes before the flag
 * (and the last attempt sees its tokens) or after it (and the release sees
 * WAITERS, takes the lock, which it gets only once the waiter is queued,
 * and dispatches).  Every event that can let a queued request proceed runs
 * the dispatcher under the lock: a release, a waiter leaving by timeout,
 * interruption or cancellation (in strict order it may have blocked the
 * ones behind it), and close.
 *
 * Direct handoff.  The dispatcher takes the tokens on behalf of a queued
 * request and then resolves it: it writes the result, clears the node's
 * `pending` word with release order and wakes that thread only.  A woken
 * thread never competes again for what it was given, so a multi-token
 * waiter is woken once, when its whole request is met, and nobody else is
 * woken for it (no thundering herd).
 *
 * Fairness and liveness (docs/contract.md, "Fairness").  By default
 * newcomers may overtake the queue, and the dispatcher serves any queued
 * request that fits, oldest first.  Once the oldest waiter has been queued
 * for QSEM_STARVE_NS, the dispatcher opens a window of QSEM_WINDOW_NS for
 * it: NOBARGE goes up, newcomers queue behind, and every token released in
 * the window goes to the head.  Since every released token passes through
 * the dispatcher while anyone waits, a large request is normally served
 * within the bound plus the time for the tokens held by others to come
 * back.  A head that is not served in its window (it may ask for more than
 * will ever be free) must not stall everybody: the window ends, barging
 * resumes, and no window opens for QSEM_BARGE_NS.  Queued threads sleep no
 * later than the end of the window, so that one of them ends it even if
 * nothing else happens; async waiters cannot, so a window is open only
 * while a thread is queued.  QSEM_FIFO is the strict order all the time.
 *
 * Lifetime (docs/contract.md, "Lifetime").  `handles` counts qsem_ref()s; `pins` counts
 * handles plus calls that may sleep and async waiters.  Dropping the last
 * handle closes the semaphore, so nobody sleeps forever on an object that
 * no one can reach; the memory goes when `pins` reaches zero, i.e. after
 * the last sleeper has returned.  A thread that touches the semaphore holds
 * a pin for as long as it does: callers hold a handle, sleepers their own
 * pin, and the dispatcher runs only inside such calls.
 */
#if defined(__linux__)
#define _GNU_SOURCE                /* PTHREAD_MUTEX_ADAPTIVE_NP */
#else
#define _POSIX_C_SOURCE 200809L    /* clock_gettime, pthreads */
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <time.h>

#include "qsem_internal.h"

static void qsem__window_end(qsem_t *s);

/*
** {======================================================================
** Resolving a request, the mutex, errors, the clock and deadlines
** =======================================================================
*/

/* Ends the wait of a blocked thread, or tells an async waiter, that its
 * request is done.  Everything the wake-up needs is read before `pending`
 * is cleared: from then on the waiting thread may return and its node (on
 * its stack) may be gone. */
static void qsem__resolve(qsem_t *s, struct qsem__node *node, int result)
{
    qsem_notify_fn *notify = node->notify;
    void *arg = node->arg;
    int wake_fd = node->wake_fd;
    _Atomic uint32_t *pending = &node->pending;

    node->result = result;
    /* Release MO: the result, and the tokens taken for this request, must be
     * visible to whoever sees `pending` go to 0. */
    if (notify) {
        /* An async waiter never sleeps on `pending`, so there is no old
         * value to learn: a plain store, where an exchange would cost a
         * locked instruction on every event-loop handoff. */
        atomic_store_explicit(pending, 0, memory_order_release);
        notify(arg);
        /* Release MO, and nothing touches the node after it: the owner
         * that sees it may reuse or free the waiter without the lock. */
        atomic_store_explicit(&node->notified, 1, memory_order_release);
        return;
    }
    /* The old value says whether the thread went to sleep (QSEM__ASLEEP)
     * or is still looking (QSEM__AWAKE), in which case it needs no system
     * call to notice. */
    uint32_t was = atomic_exchange_explicit(pending, 0, memory_order_release);
    if (was != QSEM__ASLEEP)
        return;
    if (!qsem__unpark_needs_lock && s->nwake < QSEM__WAKE_BATCH)
        s->wake[s->nwake++] = pending;   /* woken by qsem__unlock() */
    else
        qsem__unpark(pending, wake_fd);
}

/* The semaphore's lock: adaptive where glibc has it, because it is held for
 * a few hundred nanoseconds at most and a sleeping waiter is costly. */
static void qsem__mutex_init(pthread_mutex_t *m)
{
#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) == 0) {
        if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP) == 0 &&
            pthread_mutex_init(m, &attr) == 0) {
            pthread_mutexattr_destroy(&attr);
            return;
        }
        pthread_mutexattr_destroy(&attr);
    }
#endif
    if (pthread_mutex_init(m, NULL) != 0)
        qsem__fatal("pthread_mutex_init", ENOMEM);
}

static _Noreturn void qsem__fatal(const char *what, int err)
{
    fprintf(stderr, "qsem: fatal: %s (errno %d)\n", what, err);
    abort();
}

int64_t qsem_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        qsem__fatal("clock_gettime(CLOCK_MONOTONIC)", errno);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The one home of the deadline rule (docs/contract.md, "Timeouts"): every
 * front end turns its language's timeout into a deadline through these two,
 * so that "forever", saturation and rounding mean the same everywhere. */
int64_t qsem_deadline_after(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return QSEM_FOREVER;
    int64_t now = qsem_now_ns();
    /* Saturate: a timeout too large to add is as good as forever. */
    return timeout_ns >= QSEM_FOREVER - now ? QSEM_FOREVER : now + timeout_ns;
}

/* The largest whole number of seconds whose nanoseconds fit in an int64_t
 * (INT64_MAX / 1e9 is 9223372036.85...): anything from here on is forever. */
#define QSEM__SEC_FOREVER 9223372036.0

int qsem_timeout_from_sec(double seconds, int64_t *timeout_ns)
{
    if (isnan(seconds) || seconds < 0)
        return EINVAL;
    if (seconds >= QSEM__SEC_FOREVER) {
        *timeout_ns = -1;
        return 0;
    }
    /* Round up (by hand: the core does not link libm), so that 1e-12 s
     * still waits rather than turning into a try. */
    double ns = seconds * 1e9;
    int64_t whole = (int64_t)ns;
    *timeout_ns = (double)whole < ns ? whole + 1 : whole;
    return 0;
}

/* }====================================================================== */

/*
** {======================================================================
** Allocation, fork() and the lock
** =======================================================================
*/

static void *(*qsem__calloc_fn)(size_t, size_t) = calloc;
static void (*qsem__free_fn)(void *) = free;

void qsem__set_allocator(void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *))
{
    qsem__calloc_fn = calloc_fn ? calloc_fn : calloc;
    qsem__free_fn = free_fn ? free_fn : free;
}

static void *qsem__calloc(size_t n, size_t size)
{
    return qsem__calloc_fn(n, size);
}

static void qsem__free(void *p)
{
    qsem__free_fn(p);
}

/*
 * fork().  The child has one thread, a copy of the forking one.  To give it
 * consistent semaphores, every semaphore is in a registry, and an atfork
 * handler takes the registry lock and then every semaphore's lock before
 * the fork, so no other thread is half-way through changing a queue when
 * the memory is copied.  (No thread holding a semaphore's lock ever waits
 * for another lock of ours, so this order cannot deadlock.)  The parent
 * then unlocks them all.  The child has only the forking thread: it drops
 * every queued request of the parent's other threads, blocked threads and
 * async waiters alike (nobody in the child could ever claim what they were
 * given, or run their notify), so that it never hands them tokens.  It
 * keeps what the forking thread itself queued: its async waiters, and its
 * own blocked wait if fork() was called from a signal handler that
 * interrupted that wait, which resumes once the handler returns.  Finally
 * the back end gives that thread a wake-up channel of its own.
 */
static pthread_mutex_t qsem__registry_lock = PTHREAD_MUTEX_INITIALIZER;
static qsem_t *qsem__registry;
static pthread_once_t qsem__fork_once = PTHREAD_ONCE_INIT;

static void qsem__fork_prepare(void)
{
    pthread_mutex_lock(&qsem__registry_lock);
    for (qsem_t *s = qsem__registry; s != NULL; s = s->reg_next)
        pthread_mutex_lock(&s->lock);
}

static void qsem__fork_parent(void)
{
    for (qsem_t *s = qsem__registry; s != NULL; s = s->reg_next)
        pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&qsem__registry_lock);
}

static void qsem__fork_child(void)
{
    pthread_t self = pthread_self();
    int self_queued = 0;

    for (qsem_t *s = qsem__registry; s != NULL; s = s->reg_next) {
        struct qsem__node *node = s->head;
        while (node != NULL) {
            struct qsem__node *next = node->next;
            if (!pthread_equal(node->owner, self))
                qsem__dequeue(s, node);   /* another thread of the parent */
            else if (node->notify == NULL)
                self_queued = 1;
            node = next;
        }
        qsem__window_end(s);
        s->barge_until = 0;
        qsem__dispatch(s);
        /* Nothing to wake: a thread of ours that was served is this one,
         * and it is running. */
        s->nwake = 0;
        /* Re-made rather than unlocked: its owner was the parent's thread. */
        qsem__mutex_init(&s->lock);
    }
    pthread_mutex_init(&qsem__registry_lock, NULL);
    qsem__park_atfork_child(self_queued);
}

static void qsem__fork_register(void)
{
    if (pthread_atfork(qsem__fork_prepare, qsem__fork_parent, qsem__fork_child) != 0)
        qsem__fatal("pthread_atfork", ENOMEM);
}

static void qsem__registry_add(qsem_t *s)
{
    pthread_once(&qsem__fork_once, qsem__fork_register);
    pthread_mutex_lock(&qsem__registry_lock);
    s->reg_prev = NULL;
    s->reg_next = qsem__registry;
    if (qsem__registry)
        qsem__registry->reg_prev = s;
    qsem__registry = s;
    pthread_mutex_unlock(&qsem__registry_lock);
}

static void qsem__registry_remove(qsem_t *s)
{
    pthread_mutex_lock(&qsem__registry_lock);
    if (s->reg_prev)
        s->reg_prev->reg_next = s->reg_next;
    else
        qsem__registry = s->reg_next;
    if (s->reg_next)
        s->reg_next->reg_prev = s->reg_prev;
    pthread_mutex_unlock(&qsem__registry_lock);
}

static void qsem__lock(qsem_t *s)
{
    pthread_mutex_lock(&s->lock);
}

static void qsem__unlock(qsem_t *s)
{
    _Atomic uint32_t *wake[QSEM__WAKE_BATCH];
    int n = s->nwake;

    for (int i = 0; i < n; i++)
        wake[i] = s->wake[i];
    s->nwake = 0;
    pthread_mutex_unlock(&s->lock);
    /* From here on s may be gone (a woken sleeper can drop the last pin),
     * and so may the nodes: only the saved addresses are used. */
    for (int i = 0; i < n; i++)
        qsem__unpark(wake[i], -1);
}

/* }====================================================================== */

/*
** {======================================================================
** Lifetime
** =======================================================================
*/

qsem_t *qsem_new(int64_t initial, int64_t max, unsigned flags)
{
    if (initial < 0 || max < initial || max > QSEM_VALUE_MAX || (flags & ~QSEM_FIFO)) {
        errno = EINVAL;
        return NULL;
    }
    /* calloc() aligns to 16 at most: ask for a line more and align by hand. */
    void *mem = qsem__calloc(1, sizeof(qsem_t) + QSEM__LINE - 1);
    if (mem == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    qsem_t *s = (qsem_t *)(((uintptr_t)mem + QSEM__LINE - 1) & ~(uintptr_t)(QSEM__LINE - 1));
    s->mem = mem;
    qsem__mutex_init(&s->lock);
    atomic_init(&s->state, (uint64_t)initial);
    s->max = max;
    s->flags = flags;
    atomic_init(&s->handles, 1);
    atomic_init(&s->pins, 1);
    atomic_init(&s->closed, 0);
    atomic_init(&s->nwaiting, 0);
    atomic_init(&s->spin, QSEM_SPIN_MIN);
    qsem__registry_add(s);
    return s;
}

qsem_t *qsem_ref(qsem_t *s)
{
    /* Relaxed MO: the caller already holds a handle, so the object is alive
     * and nothing is published by counting one more. */
    atomic_fetch_add_explicit(&s->handles, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->pins, 1, memory_order_relaxed);
    return s;
}

qsem_t *qsem_pin(qsem_t *s)
{
    qsem__pin(s);
    return s;
}

void qsem_unpin(qsem_t *s)
{
    qsem__unpin(s);
}

static void qsem__pin(qsem_t *s)
{
    atomic_fetch_add_explicit(&s->pins, 1, memory_order_relaxed);
}

static void qsem__unpin(qsem_t *s)
{
    /* Release MO so that everything this thread did to the object happens
     * before the free, and acquire MO for the thread that frees.  (Acq_rel
     * on every decrement rather than a fence on the last: ThreadSanitizer
     * does not model fences.) */
    if (atomic_fetch_sub_explicit(&s->pins, 1, memory_order_acq_rel) == 1) {
        qsem__registry_remove(s);
        pthread_mutex_destroy(&s->lock);
        qsem__free(s->mem);
    }
}

void qsem_unref(qsem_t *s)
{
    if (s == NULL)
        return;
    /* The last handle closes: whoever still sleeps here could never be
     * released by anyone, so they are woken with ECANCELED. */
    if (atomic_fetch_sub_explicit(&s->handles, 1, memory_order_acq_rel) == 1)
        qsem_close(s);
    qsem__unpin(s);
}

/* }====================================================================== */

/*
** {======================================================================
** The queue, the dispatcher and the window (all under s->lock)
** =======================================================================
*/

/* qsem__take_flagged(): the flags as they are. */
#define QSEM__KEEP_FLAGS UINT64_MAX

/* Take n tokens if there are that many (1), else change nothing (0); on
 * success the flags become `flags`, unless it is QSEM__KEEP_FLAGS. */
static int qsem__take_flagged(qsem_t *s, int64_t n, uint64_t flags)
{
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    uint64_t val;
    do {
        if ((int64_t)(old & QSEM__VALUE_MASK) < n)
            return 0;
        val = old - (uint64_t)n;
        if (flags != QSEM__KEEP_FLAGS)
            val = (val & QSEM__VALUE_MASK) | flags;
        /* Acquire MO on success: the tokens were published by the release
         * that added them, and what it wrote before must be visible to the
         * new owner. */
    } while (!atomic_compare_exchange_weak_explicit(&s->state, &old, val,
                                                    memory_order_acquire, memory_order_relaxed));
    return 1;
}

static int qsem__take(qsem_t *s, int64_t n)
{
    return qsem__take_flagged(s, n, QSEM__KEEP_FLAGS);
}

/* nwaiting changes only under the lock, so a load and a store do: a locked
 * add would cost each enqueue and dequeue a few nanoseconds more, for
 * readers (qsem_waiting) that only want a snapshot. */
static void qsem__count_waiting(qsem_t *s, int64_t delta)
{
    atomic_store_explicit(&s->nwaiting,
                          atomic_load_explicit(&s->nwaiting, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

/* The queued_at of an async waiter whose wait does not count yet. */
#define QSEM__NOT_YET INT64_MIN

/*
 * A wait counts for the starvation bound from its enqueue, except an async
 * waiter's queued while no blocked thread is: no window can open before
 * one queues (qsem__window_try_open), so its wait counts from the first
 * dispatch that finds it at the head with a thread queued.  That spares
 * every handoff of an event loop or coroutine host a clock read (about a
 * tenth of its cost); the price is that such a head, once a thread queues
 * behind it, waits its QSEM_STARVE_NS from then rather than from its own
 * enqueue before a window protects it.
 */
static void qsem__enqueue(qsem_t *s, struct qsem__node *node)
{
    if (s->flags & QSEM_FIFO)
        node->queued_at = 0;
    else if (node->notify != NULL && s->nthreads == 0)
        node->queued_at = QSEM__NOT_YET;
    else
        node->queued_at = qsem_now_ns();
    atomic_store_explicit(&node->pending, QSEM__AWAKE, memory_order_relaxed);
    node->next = NULL;
    node->prev = s->tail;
    if (s->tail)
        s->tail->next = node;
    else
        s->head = node;
    s->tail = node;
    if (node->notify == NULL)
        s->nthreads++;
    qsem__count_waiting(s, 1);
}

static void qsem__dequeue(qsem_t *s, struct qsem__node *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        s->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        s->tail = node->prev;
    node->prev = node->next = NULL;
    if (node->notify == NULL)
        s->nthreads--;
    qsem__count_waiting(s, -1);
}

static int qsem__window_open(const qsem_t *s)
{
    return atomic_load_explicit(&s->window_end, memory_order_relaxed) != 0;
}

static int qsem__must_queue(const qsem_t *s)
{
    return s->head != NULL && ((s->flags & QSEM_FIFO) || qsem__window_open(s));
}

static void qsem__sync_flags(qsem_t *s)
{
    uint64_t want = (s->head ? QSEM__WAITERS : 0) |
                    ((qsem__window_open(s) || atomic_load_explicit(&s->closed, memory_order_relaxed))
                         ? QSEM__NOBARGE : 0);
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    /* Relaxed MO: the flags publish nothing by themselves; what matters is
     * their place in the modification order of `state` (see the top). */
    while ((old & ~QSEM__VALUE_MASK) != want &&
           !atomic_compare_exchange_weak_explicit(&s->state, &old, (old & QSEM__VALUE_MASK) | want,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* The clock, read at most once per dispatch and only if needed. */
static int64_t qsem__lazy_now(int64_t *now)
{
    if (*now < 0)
        *now = qsem_now_ns();
    return *now;
}

/* The window closes: its head was served, or is gone, or its time is up. */
static void qsem__window_end(qsem_t *s)
{
    atomic_store_explicit(&s->window_end, 0, memory_order_relaxed);
    s->window_head = NULL;
}

static int qsem__window_expired(const qsem_t *s)
{
    int64_t end = atomic_load_explicit(&s->window_end, memory_order_relaxed);
    return end != 0 && qsem_now_ns() >= end;
}

/*
 * The liveness policy of the default mode, in three steps of the
 * dispatcher (see the top of this file and docs/design.md):
 *
 *   1. a window whose head has left unserved, or whose time is up, closes,
 *      and barging is allowed for QSEM_BARGE_NS before the next one opens;
 *   2. tokens are handed out: strictly to the head while a window is open
 *      (serving it closes the window; tokens it cannot use yet extend it,
 *      up to QSEM_WINDOW_MAX_NS), else to any request that fits;
 *   3. if the head has been queued for QSEM_STARVE_NS and is still not
 *      served, a window opens for it, unless barging has its turn.
 *
 * So a request for which the head leaves no tokens waits at most one
 * window, QSEM_WINDOW_MAX_NS at the very most (plus scheduling), before
 * the dispatcher may serve it again, and the head gets a window at least
 * every QSEM_WINDOW_MAX_NS + QSEM_BARGE_NS.
 */
static void qsem__window_check(qsem_t *s, int64_t *now)
{
    int64_t end = atomic_load_explicit(&s->window_end, memory_order_relaxed);
    if (end == 0 ||
        (s->head == s->window_head && s->nthreads > 0 && qsem__lazy_now(now) < end))
        return;
    qsem__window_end(s);
    s->barge_until = qsem__lazy_now(now) + QSEM_BARGE_NS;
}

/*
 * With a window open, someone must wake up by its end to close it, even if
 * nothing else happens: every queued thread reads window_end before it
 * sleeps and sleeps no later than that (qsem__acquire_slow).  A thread
 * that went to sleep before the window opened has not; the first queued
 * thread is woken here so that it looks again (async waiters have no
 * thread and cannot watch).  Seq_cst MO on window_end and on `pending`
 * (here and in qsem__going_to_sleep): either the thread's read sees the
 * window, or this read sees it still awake, in which case it goes to sleep
 * later and sees the window then.
 */
static void qsem__window_watch(qsem_t *s)
{
    for (struct qsem__node *node = s->head; node != NULL; node = node->next) {
        if (node->notify != NULL)
            continue;
        /* A spurious wake-up for that thread: it sleeps again, until the
         * window's end. */
        if (atomic_load(&node->pending) == QSEM__ASLEEP)
            qsem__unpark(&node->pending, node->wake_fd);
        return;
    }
}

/*
 * Under the lock, with a window open and tokens free that the head cannot
 * use yet: tokens are coming back for it, so the window lasts another
 * QSEM_WINDOW_NS from now, up to QSEM_WINDOW_MAX_NS in all.  A head whose
 * tokens come back slowly (their holders preempted on a busy machine) is
 * then served instead of starting over after a barge period, and a head
 * that cannot be served still holds others back for a bounded time.
 */
static void qsem__window_extend(qsem_t *s, int64_t *now)
{
    int64_t end = qsem__lazy_now(now) + QSEM_WINDOW_NS;
    int64_t cap = s->window_opened + QSEM_WINDOW_MAX_NS;
    if (end > cap)
        end = cap;
    if (end > atomic_load_explicit(&s->window_end, memory_order_relaxed))
        atomic_store(&s->window_end, end);   /* seq_cst: qsem__window_watch */
}

/*
 * A window needs a watcher: a blocked thread in the queue, which sleeps no
 * later than the window's end and then ends it (qsem__window_watch).  An
 * async waiter cannot watch: its owner is woken only by notify.  So no
 * window opens while only async waiters queue, and one that loses its last
 * thread closes at the dispatch that follows (qsem__window_check): else a
 * newcomer queued behind it would wait with tokens free until some other
 * event, possibly for ever.  Async-only queues keep the default mode's
 * barging (QSEM_FIFO gives them strict order).
 */
static void qsem__window_try_open(qsem_t *s, int64_t *now)
{
    if (s->head == NULL || s->nthreads == 0 || qsem__window_open(s))
        return;
    int64_t t = qsem__lazy_now(now);
    if (s->head->queued_at == QSEM__NOT_YET) {
        s->head->queued_at = t;   /* its wait counts from now (qsem__enqueue) */
        return;
    }
    if (t - s->head->queued_at >= QSEM_STARVE_NS && t >= s->barge_until) {
        s->window_head = s->head;
        s->window_opened = t;
        atomic_store(&s->window_end, t + QSEM_WINDOW_NS);
        qsem__window_watch(s);
    }
}

/*
 * The dispatcher's take for `node`.  Serving the only node queued leaves
 * the queue empty, and a window, if any, open only for another head
 * (qsem__window_check leaves none); so the same CAS can set the flags
 * that the dispatch ends with, and its qsem__sync_flags() finds nothing
 * to do.  That spares a locked instruction on every handoff to a single
 * waiter, an event loop's or coroutine host's above all.
 */
static int qsem__take_for(qsem_t *s, struct qsem__node *node)
{
    if (node != s->head || node->next != NULL)
        return qsem__take(s, node->n);
    int nobarge = atomic_load_explicit(&s->closed, memory_order_relaxed) ||
                  (qsem__window_open(s) && node != s->window_head);
    return qsem__take_flagged(s, node->n, nobarge ? QSEM__NOBARGE : 0);
}

static void qsem__dispatch(qsem_t *s)
{
    int fifo = (s->flags & QSEM_FIFO) != 0;
    int64_t now = -1;

    if (!fifo)
        qsem__window_check(s, &now);
    struct qsem__node *node = s->head;
    while (node != NULL && (atomic_load_explicit(&s->state, memory_order_relaxed) & QSEM__VALUE_MASK)) {
        struct qsem__node *next = node->next;
        if (qsem__take_for(s, node)) {
            if (node == s->window_head)
                qsem__window_end(s);   /* served in its window */
            qsem__dequeue(s, node);
            qsem__resolve(s, node, 0);
        } else if (fifo || qsem__window_open(s)) {
            /* Strict order: only the head may be served, and `node` is the
             * head, since in strict order we move past a node only by
             * serving it. */
            if (!fifo)
                qsem__window_extend(s, &now);
            break;
        }
        node = next;
    }
    if (!fifo)
        qsem__window_try_open(s, &now);
    qsem__sync_flags(s);
}

static void qsem__give_back(qsem_t *s, int64_t n)
{
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    uint64_t val;
    do {
        /* Clamped: tokens can exceed max here only if a bounded semaphore
         * was released more than it was acquired while these were granted;
         * the bound wins over the over-release. */
        val = old & QSEM__VALUE_MASK;
        val = (int64_t)val > s->max - n ? (uint64_t)s->max : val + (uint64_t)n;
    } while (!atomic_compare_exchange_weak_explicit(&s->state, &old,
                                                    (old & ~QSEM__VALUE_MASK) | val,
                                                    memory_order_release, memory_order_relaxed));
}

/* }====================================================================== */

/*
** {======================================================================
** Acquire and release
** =======================================================================
*/

static inline void qsem__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * A CAS on the state word failed: another core changed the word between
 * our read and our CAS, so it is working on that line right now.  Retrying
 * at once would take the line back from it in the middle of its run of
 * operations; under steady contention the line then moves on almost every
 * operation, and that transfer is what each one costs.  A short pause lets
 * the other core finish with the line first.  (Measured on 2 cores: half
 * the time per item for producer/consumer with 1 or 2 threads per side,
 * 0.75x to 0.9x with 4 to 8, and 0.3x for acquire(3)/release(3) among 4.)
 */
static inline void qsem__backoff(void)
{
    for (int i = 0; i < QSEM_CAS_BACKOFF; i++)
        qsem__cpu_relax();
}

static int qsem__acquire_fast(qsem_t *s, int64_t n)
{
    uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    for (;;) {
        if ((old & block) || (int64_t)(old & QSEM__VALUE_MASK) < n)
            return 0;
        /* Acquire MO on success, as in qsem__take(). */
        if (atomic_compare_exchange_strong_explicit(&s->state, &old, old - (uint64_t)n,
                                                    memory_order_acquire, memory_order_relaxed))
            return 1;
        qsem__backoff();
    }
}

/* Checks shared by every acquire: 0 (done, tokens taken or none wanted),
 * EINVAL, ECANCELED, or -1 when the caller must try the slow way.  Counts
 * are checked in every build (docs/contract.md, "Release arithmetic"). */
static inline int qsem__enter(qsem_t *s, int64_t n)
{
    if (n < 0 || n > s->max)
        return EINVAL;
    if (n == 0)
        return atomic_load_explicit(&s->closed, memory_order_relaxed) ? ECANCELED : 0;
    if (qsem__acquire_fast(s, n))
        return 0;
    return -1;
}

static int qsem__last_try(qsem_t *s, int64_t n)
{
    /* A window whose time is up ends here rather than at the next release,
     * and the dispatcher serves those queued first. */
    if (!(s->flags & QSEM_FIFO) && qsem__window_expired(s))
        qsem__dispatch(s);
    if (qsem__must_queue(s))
        return 0;
    atomic_fetch_or_explicit(&s->state, QSEM__WAITERS, memory_order_relaxed);
    if (!qsem__take(s, n))
        return 0;   /* WAITERS stays up: the caller queues before unlocking */
    qsem__sync_flags(s);
    return 1;
}

/* Under the lock, for a waiter whose wait ended without being resolved. */
static void qsem__withdraw(qsem_t *s, struct qsem__node *node)
{
    qsem__dequeue(s, node);
    /* In strict order it may have been the head that held everybody up. */
    qsem__dispatch(s);
    /* It may have been the thread watching the window. */
    if (!(s->flags & QSEM_FIFO) && qsem__window_open(s))
        qsem__window_watch(s);
}

/*
 * Spin briefly before queueing: a release from another core often comes
 * within a microsecond or two, sooner than it takes to queue.  The budget
 * adapts per semaphore: it doubles when a spin succeeds and halves when it
 * fails, so threads that keep missing soon stop burning cycles.  Spinners
 * barge like any newcomer in the default mode, so only NOBARGE stops them
 * (and a queue, in FIFO mode).
 */
static int qsem__spin(qsem_t *s, int64_t n)
{
    uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
    int budget = atomic_load_explicit(&s->spin, memory_order_relaxed);
    if (budget < QSEM_SPIN_MIN)
        budget = QSEM_SPIN_MIN;
    for (int i = 0; i < budget; i++) {
        qsem__cpu_relax();
        uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
        if (st & block)
            break;
        if ((int64_t)(st & QSEM__VALUE_MASK) >= n && qsem__acquire_fast(s, n)) {
            /* Relaxed MO: a hint; a lost update only skews the next spin. */
            atomic_store_explicit(&s->spin, budget * 2 > QSEM_SPIN_MAX ? QSEM_SPIN_MAX : budget * 2,
                                  memory_order_relaxed);
            return 1;
        }
    }
    atomic_store_explicit(&s->spin, budget / 2, memory_order_relaxed);
    return 0;
}

/* Until when nobody yields (qsem_now_ns(); 0: yielding is fine), and for
 * how long the last slow yield turned it off. */
static _Atomic int64_t qsem__yield_off_until;
static _Atomic int64_t qsem__yield_off_ns;

/*
 * Yield the CPU once, if that cannot make a wait late: 1 if it yielded.
 * Yielding pays while the thread we wait for shares our CPU and is about to
 * release, and when nobody else is runnable it is one short system call.
 * But when CPU-bound threads are runnable too, CFS may hand each of them a
 * whole time slice before we run again: milliseconds, which would make a
 * timed wait late and keep a thread that a release served (and found awake,
 * so did not wake) off the CPU.  So no yield starts within
 * QSEM_YIELD_SLOW_NS of the deadline, and a yield that took longer than
 * that turns yielding off for every thread, for QSEM_YIELD_OFF_NS at first
 * and twice as long after each slow probe, up to 64 times that (so that
 * under lasting load a probe costs one slice every few seconds); a quick
 * one turns it back on for good.  With yielding off, threads go to sleep
 * at once, and a release wakes them, which the scheduler favours.
 */
int qsem_yield(int64_t deadline_ns)
{
    int64_t now = qsem_now_ns();
    /* Relaxed MO throughout: hints, as the spin budget. */
    if (now < atomic_load_explicit(&qsem__yield_off_until, memory_order_relaxed))
        return 0;
    if (deadline_ns != QSEM_FOREVER && deadline_ns - now < QSEM_YIELD_SLOW_NS)
        return 0;
    sched_yield();
    int64_t after = qsem_now_ns();
    int64_t off = atomic_load_explicit(&qsem__yield_off_ns, memory_order_relaxed);
    if (after - now > QSEM_YIELD_SLOW_NS) {
        off = off == 0 ? QSEM_YIELD_OFF_NS : off < 64 * QSEM_YIELD_OFF_NS ? 2 * off : off;
        atomic_store_explicit(&qsem__yield_off_ns, off, memory_order_relaxed);
        atomic_store_explicit(&qsem__yield_off_until, after + off, memory_order_relaxed);
        return 0;
    }
    if (off != 0)
        atomic_store_explicit(&qsem__yield_off_ns, 0, memory_order_relaxed);
    return 1;
}

void qsem__yield_hint_reset(void)
{
    atomic_store(&qsem__yield_off_until, 0);
    atomic_store(&qsem__yield_off_ns, 0);
}

int qsem__yield_is_off(void)
{
    return qsem_now_ns() < atomic_load(&qsem__yield_off_until);
}

/*
 * A single-token request that the spin did not serve polls a few times more,
 * yielding the CPU in between, before it queues.  Most often the thread that
 * will release shares our core and the yield lets it run; meanwhile we stay
 * off the lock and the queue, so that the release stays one CAS, and when it
 * comes we take the token on the fast path.  Only single tokens do this: a
 * larger request is the one barging can starve, so it queues at once, and
 * its starvation clock starts then.  1 if taken.
 */
static int qsem__poll(qsem_t *s, int64_t n, int64_t deadline_ns)
{
    if (n != 1)
        return 0;
    for (int i = 0; i < QSEM_SPIN_YIELDS && qsem_yield(deadline_ns); i++) {
        if (qsem__acquire_fast(s, n))
            return 1;
    }
    return 0;
}

/*
 * Once queued, yield a few times before going to sleep.  The queue place is
 * already held, so this costs no fairness; when the releaser shares our
 * core (2 cores, more threads) it lets it run at once, and the dispatcher
 * then finds us awake and hands the tokens over without any system call on
 * either side.  1 if resolved meanwhile.
 */
static int qsem__linger(struct qsem__node *node, int64_t deadline_ns)
{
    for (int i = 0; i < QSEM_SPIN_YIELDS && qsem_yield(deadline_ns); i++) {
        if (atomic_load_explicit(&node->pending, memory_order_acquire) == 0)
            return 1;
    }
    return 0;
}

/*
 * A queued thread says it is going to sleep: `pending` from QSEM__AWAKE to
 * QSEM__ASLEEP, so that the dispatcher knows to wake it.  Returns what
 * `pending` is now: QSEM__ASLEEP, or 0 if the dispatcher resolved the node
 * first (it saw AWAKE, so it will not wake us).
 */
static uint32_t qsem__going_to_sleep(struct qsem__node *node)
{
    /* Acquire MO pairs with qsem__resolve(): the result and the tokens;
     * seq_cst on success for qsem__window_watch(). */
    uint32_t cur = atomic_load_explicit(&node->pending, memory_order_acquire);
    if (cur == QSEM__AWAKE)
        (void)atomic_compare_exchange_strong_explicit(&node->pending, &cur, QSEM__ASLEEP,
                                                      memory_order_seq_cst, memory_order_acquire);
    /* On success cur is still QSEM__AWAKE; the word is now QSEM__ASLEEP. */
    return cur == QSEM__AWAKE ? QSEM__ASLEEP : cur;
}

__attribute__((noinline))
static int qsem__acquire_slow(qsem_t *s, int64_t n, int64_t deadline_ns, unsigned flags)
{
    struct qsem__node node = {0};
    int err;

    if (qsem__spin(s, n))
        return 0;
    if (deadline_ns != QSEM_FOREVER && qsem_now_ns() >= deadline_ns)
        return atomic_load_explicit(&s->closed, memory_order_relaxed) ? ECANCELED : ETIMEDOUT;
    if (qsem__poll(s, n, deadline_ns))
        return 0;
    err = qsem__park_prepare(&node);
    if (err != 0)
        return err;
    node.n = n;
    node.owner = pthread_self();

    qsem__pin(s);
    qsem__lock(s);
    if (atomic_load_explicit(&s->closed, memory_order_relaxed)) {
        err = ECANCELED;
        goto out_unlock;
    }
    if (qsem__last_try(s, n)) {
        err = 0;
        goto out_unlock;
    }
    qsem__enqueue(s, &node);
    qsem__sync_flags(s);
    qsem__unlock(s);
    (void)qsem__linger(&node, deadline_ns);   /* the loop below looks at `pending` again */

    for (;;) {
        if (qsem__going_to_sleep(&node) == 0) {
            if (qsem__unpark_needs_lock) {
                /* The waker may still be touching this thread's wake-up
                 * channel; it does so only under the lock. */
                qsem__lock(s);
                qsem__unlock(s);
            }
            err = node.result;
            goto out;
        }
        /* While a window is open, sleep no later than its end: if nothing
         * else happens by then, this thread ends it (qsem__dispatch). */
        int64_t until = deadline_ns;
        int64_t window_end = atomic_load(&s->window_end);   /* seq_cst: qsem__window_watch */
        if (window_end != 0 && window_end < until)
            until = window_end;
        err = qsem__park(&node, until, flags);
        if (err == 0)
            continue;
        if (err == ETIMEDOUT && until != deadline_ns) {
            /* The window's end: close it unless someone else did (this
             * may also be the end of an earlier window, long closed). */
            qsem__lock(s);
            if (atomic_load_explicit(&node.pending, memory_order_relaxed) != 0 &&
                qsem__window_expired(s))
                qsem__dispatch(s);
            qsem__unlock(s);
            continue;
        }
        /* ETIMEDOUT or EINTR (only asked for with QSEM_INTR), or ENOMEM. */
        qsem__lock(s);
        if (atomic_load_explicit(&node.pending, memory_order_acquire) == 0) {
            /* Resolved at the same moment: the tokens are ours (docs/contract.md, "Interruption":
             * a grant that races with a timeout or a signal is kept). */
            err = node.result;
        } else {
            qsem__withdraw(s, &node);
        }
        goto out_unlock;
    }

out_unlock:
    qsem__unlock(s);
out:
    qsem__unpin(s);
    return err;
}

int qsem_acquire_until(qsem_t *s, int64_t n, int64_t deadline_ns, unsigned flags)
{
    if (flags & ~QSEM_INTR)
        return EINVAL;
    int err = qsem__enter(s, n);
    if (err >= 0)
        return err;
    return qsem__acquire_slow(s, n, deadline_ns, flags);
}

int qsem_acquire(qsem_t *s, int64_t n)
{
    int err = qsem__enter(s, n);
    if (err >= 0)
        return err;
    return qsem__acquire_slow(s, n, QSEM_FOREVER, 0);
}

int qsem_acquire_for(qsem_t *s, int64_t n, int64_t timeout_ns)
{
    int err = qsem__enter(s, n);
    if (err >= 0)
        return err;
    return qsem__acquire_slow(s, n, qsem_deadline_after(timeout_ns), 0);
}

int qsem_try_acquire(qsem_t *s, int64_t n)
{
    int err = qsem__enter(s, n);
    if (err >= 0)
        return err;
    if (atomic_load_explicit(&s->closed, memory_order_relaxed))
        return ECANCELED;
    if (!(s->flags & QSEM_FIFO) && qsem__window_expired(s)) {
        /* Kept off by a window whose time is up: end it, then look again. */
        qsem__lock(s);
        qsem__dispatch(s);
        qsem__unlock(s);
        if (qsem__acquire_fast(s, n))
            return 0;
    }
    return EAGAIN;
}

/* Out of line so that the uncontended release stays a leaf with no frame. */
__attribute__((noinline))
static void qsem__release_slow(qsem_t *s)
{
    qsem__lock(s);
    qsem__dispatch(s);
    qsem__unlock(s);
}

/* Whether n more tokens fit under max in the state word `old`.  Checked
 * before any change, in every build
 * (docs/contract.md, "Release arithmetic"); written so that it cannot
 * overflow itself. */
static inline int qsem__room_for(int64_t max, uint64_t old, int64_t n)
{
    return n <= max - (int64_t)(old & QSEM__VALUE_MASK);
}

/*
 * A release that finds waiters queued.  Under the lock, when the only node
 * queued has no window open (a closed semaphore has none queued), the
 * tokens go to it in one CAS that adds n, takes what it wants and clears
 * the flags, as the dispatcher would leave them: a CAS that adds and the
 * dispatcher's CAS that takes would cost one more locked instruction on
 * every handoff to a single waiter.  Otherwise the tokens are added and
 * the dispatcher runs, as in qsem__release_slow().
 */
__attribute__((noinline))
static int qsem__release_queued(qsem_t *s, int64_t n)
{
    qsem__lock(s);
    struct qsem__node *node = s->head;
    int only = node != NULL && node->next == NULL &&
               atomic_load_explicit(&s->window_end, memory_order_relaxed) == 0 &&
               !atomic_load_explicit(&s->closed, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    uint64_t val;
    int serve;
    for (;;) {
        if (!qsem__room_for(s->max, old, n)) {
            qsem__unlock(s);
            return EOVERFLOW;
        }
        int64_t have = (int64_t)(old & QSEM__VALUE_MASK);
        serve = only && have + n >= node->n;
        val = serve ? (uint64_t)(have + n - node->n) : old + (uint64_t)n;
        /* Release MO as in qsem_release(); acquire MO too when serving, as
         * in qsem__take(): the node may take tokens others released. */
        if (atomic_compare_exchange_strong_explicit(&s->state, &old, val,
                                                    memory_order_acq_rel, memory_order_relaxed))
            break;
        qsem__backoff();
    }
    if (serve) {
        qsem__dequeue(s, node);
        qsem__resolve(s, node, 0);
    } else {
        qsem__dispatch(s);
    }
    qsem__unlock(s);
    return 0;
}

int qsem_release(qsem_t *s, int64_t n)
{
    if (n < 0)
        return EINVAL;
    if (n == 0)
        return 0;
    int64_t max = s->max;
    uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    if (old & QSEM__WAITERS)
        return qsem__release_queued(s, n);
    for (;;) {
        if (!qsem__room_for(max, old, n))
            return EOVERFLOW;
        /* Release MO: publishes what the releaser did to whoever takes the
         * tokens (the acquire CAS, or the dispatcher's take). */
        if (atomic_compare_exchange_strong_explicit(&s->state, &old, old + (uint64_t)n,
                                                    memory_order_release, memory_order_relaxed))
            break;
        qsem__backoff();
    }
    if (old & QSEM__WAITERS)
        qsem__release_slow(s);
    return 0;
}

/* }====================================================================== */

/*
** {======================================================================
** Close and snapshots
** =======================================================================
*/

int qsem_close(qsem_t *s)
{
    qsem__lock(s);
    if (!atomic_load_explicit(&s->closed, memory_order_relaxed)) {
        atomic_store_explicit(&s->closed, 1, memory_order_relaxed);
        while (s->head != NULL) {
            struct qsem__node *node = s->head;
            qsem__dequeue(s, node);
            qsem__resolve(s, node, ECANCELED);
        }
        qsem__window_end(s);
        qsem__sync_flags(s);
    }
    qsem__unlock(s);
    return 0;
}

int qsem_is_closed(const qsem_t *s)
{
    return atomic_load_explicit(&s->closed, memory_order_relaxed);
}

int64_t qsem_available(const qsem_t *s)
{
    return (int64_t)(atomic_load_explicit(&s->state, memory_order_relaxed) & QSEM__VALUE_MASK);
}

int64_t qsem_waiting(const qsem_t *s)
{
    return atomic_load_explicit(&s->nwaiting, memory_order_relaxed);
}

int64_t qsem_max(const qsem_t *s)
{
    return s->max;
}

unsigned qsem_version(void)
{
    return QSEM_VERSION_HEX;
}

const char *qsem_strerror(int err)
{
    switch (err) {
    case 0:          return "success";
    case EINVAL:     return "invalid argument";
    case EAGAIN:     return "no tokens free now";
    case ETIMEDOUT:  return "timed out";
    case EINTR:      return "interrupted by a signal";
    case EOVERFLOW:  return "count would pass the maximum";
    case ECANCELED:  return "semaphore closed";
    case ENOMEM:     return "out of memory";
    case EINPROGRESS: return "waiting";
    case EBUSY:      return "waiter already started";
    default:         return "unknown error";
    }
}

/* }====================================================================== */
