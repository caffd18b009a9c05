/* SPDX-License-Identifier: MIT
 * Internals shared by qsem.c, qsem_waiter.c and the wait back ends
 * (qsem_futex.c, qsem_pthread.c).  Never installed.  The core is compiled
 * as one unit (qsem_all.c, which defines QSEM__CORE), so its helpers are
 * all static; only the layout and the test hooks are visible to the C
 * tests.
 */
#ifndef QSEM_INTERNAL_H
#define QSEM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "qsem.h"

/*
 * The state word: the free count in the low 62 bits and two flags on top.
 * Fast paths work on this word alone with one CAS; everything else lives
 * under the lock.
 */
#define QSEM__VALUE_MASK ((uint64_t)QSEM_VALUE_MAX)
/* Somebody is queued: a release must take the lock and run the dispatcher. */
#define QSEM__WAITERS (UINT64_C(1) << 62)
/* Newcomers may not take tokens on the fast path: closed, or a window is
 * open for a starving head waiter (see qsem__dispatch). */
#define QSEM__NOBARGE (UINT64_C(1) << 63)

/* The longest spin before queueing, in polls a pause instruction apart
 * (some tens of nanoseconds each): about a microsecond, enough to catch a
 * release from another core.  Past that, yielding (qsem__poll) serves
 * better: the releaser is most likely waiting for our CPU. */
#if !defined(QSEM_SPIN_MAX)
#define QSEM_SPIN_MAX 32
#endif
/* The shortest: a failed spin still probes, so the budget can grow back. */
#define QSEM_SPIN_MIN 4
/* Pause instructions after a failed CAS on the state word before the
 * next try (qsem__backoff): some hundreds of ns. */
#if !defined(QSEM_CAS_BACKOFF)
#define QSEM_CAS_BACKOFF 8
#endif
/* sched_yield()s a single-token request polls with before it queues, and
 * any request once queued before it sleeps (qsem__poll, qsem__linger). */
#if !defined(QSEM_SPIN_YIELDS)
#define QSEM_SPIN_YIELDS 4
#endif
/* A sched_yield() that kept us off the CPU longer than this gave a whole
 * time slice away to a CPU-bound thread: the CPUs are oversubscribed, and
 * yielding only makes waits late.  Nor is a yield started when less than
 * this is left before the deadline.  About one CFS slice: a shorter bound
 * (200 us was tried) also trips when many threads of one program merely
 * take turns on few CPUs, and turns off the yields that make them fast
 * (8 producers and 8 consumers on 2 CPUs ran 3 to 4 times slower). */
#define QSEM_YIELD_SLOW_NS INT64_C(2000000)
/* After a slow yield, nobody yields for this long (qsem_yield). */
#define QSEM_YIELD_OFF_NS INT64_C(50000000)

/* A cache line, as far as layout goes: 64 bytes on the machines we run on. */
#define QSEM__LINE 64

/* A queued node's `pending`: its thread is still looking (or it is an async
 * waiter), or its thread has gone to sleep and must be woken. */
#define QSEM__AWAKE 1u
#define QSEM__ASLEEP 2u

/* Wake-ups a dispatcher may hold back until it has dropped the lock. */
#define QSEM__WAKE_BATCH 8

/* One queued request: a blocked thread (on its stack) or an async waiter. */
struct qsem__node {
    // queue links, under the lock
    struct qsem__node *prev, *next;
    // tokens wanted, > 0
    int64_t n;
    // qsem_now_ns() when its wait began to count for the starvation
    // bound, or QSEM__NOT_YET (qsem.c, qsem__enqueue)
    int64_t queued_at;
    // async waiters: called when resolved; NULL for a blocked thread
    qsem_notify_fn *notify;
    void *arg;
    // QSEM__AWAKE or QSEM__ASLEEP while queued, 0 once resolved; the futex
    // word of a blocked thread
    _Atomic uint32_t pending;
    // outcome, written before `pending` is cleared: 0 (granted) or ECANCELED
    int result;
    // async waiters: set once notify has returned, the resolver's last touch
    // of the node, so that a claim that sees it need not wait notify out
    _Atomic uint32_t notified;
    // pthread back end: where to wake the sleeping thread, and where it
    // sleeps (-1 on the futex back end)
    int wake_fd;
    int park_fd;
    // the thread that queued it (for an async waiter, the one that started
    // it): a forked child keeps only its own thread's nodes
    pthread_t owner;
};

/*
 * Laid out by cache line (the object is 64-byte aligned, see qsem_new): the
 * fast paths read the first line, which changes only once, at close, and
 * write only the second, which holds the state word alone, so that
 * nothing else written to the object takes that line away from them.
 */
struct qsem {
    // largest count release() may reach
    int64_t max;
    // QSEM_FIFO or 0
    unsigned flags;
    // set once by qsem_close(), under the lock
    _Atomic int closed;
    // what qsem__calloc() returned: s is aligned inside it
    void *mem;
    // free count | QSEM__WAITERS | QSEM__NOBARGE
    _Alignas(QSEM__LINE) _Atomic uint64_t state;
    // handles (qsem_ref/qsem_unref); reaching 0 closes
    _Alignas(QSEM__LINE) _Atomic int64_t handles;
    // handles + calls and waiters in flight; reaching 0 frees
    _Atomic int64_t pins;
    // length of the queue, for qsem_waiting()
    _Atomic int64_t nwaiting;
    // how long the next waiter spins before it queues (adaptive, a hint)
    _Atomic int spin;
    // protects the queue and the window
    _Alignas(QSEM__LINE) pthread_mutex_t lock;
    // the queue, oldest first
    struct qsem__node *head, *tail;
    // how many of its nodes are blocked threads (no notify): only those
    // can watch a window and end it on time (see qsem__window_try_open)
    int64_t nthreads;
    // default mode: while a window is open (window_end != 0, written under
    // the lock, read without it by sleepers that must wake when it ends),
    // tokens go to window_head alone and newcomers queue; no window opens
    // before barge_until (see qsem__dispatch)
    _Atomic int64_t window_end;
    int64_t window_opened;
    struct qsem__node *window_head;
    int64_t barge_until;
    // futex words to wake once the lock is dropped (see qsem__unlock)
    _Atomic uint32_t *wake[QSEM__WAKE_BATCH];
    int nwake;
    // every semaphore of the process, for the fork() handlers
    struct qsem *reg_prev, *reg_next;
};

/* Test hooks, for the C tests: every allocation goes through
 * qsem__calloc(), and qsem__set_allocator(NULL, NULL) restores
 * calloc/free. */
void qsem__set_allocator(void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *));

/* Test hooks of the yield hint (qsem.c, qsem_yield): forget that a yield
 * was slow; 1 while yielding is off. */
void qsem__yield_hint_reset(void);
int qsem__yield_is_off(void);

#if defined(QSEM__CORE)   /* the core's own unit, qsem_all.c */

/* Take and drop s->lock.  qsem__unlock() wakes the threads the dispatcher
 * served only after the lock is dropped, so that they do not wake up only
 * to find it still held. */
static void qsem__lock(qsem_t *s);
static void qsem__unlock(qsem_t *s);

/* Every allocation qsem makes goes through these, so that tests can make
 * each one fail (qsem__set_allocator). */
static void *qsem__calloc(size_t n, size_t size);
static void qsem__free(void *p);

/* Keep s's memory alive across a call that may outlive the caller's handle. */
static void qsem__pin(qsem_t *s);
static void qsem__unpin(qsem_t *s);

/* Take n tokens ignoring the flags: 1 if taken.  For the dispatcher and for
 * the slow paths that have already decided that barging is allowed. */
static int qsem__take(qsem_t *s, int64_t n);

/* Under the lock: queue `node` at the tail / take it out. */
static void qsem__enqueue(qsem_t *s, struct qsem__node *node);
static void qsem__dequeue(qsem_t *s, struct qsem__node *node);

/* Take n tokens without the lock if the request fits and no flag forbids
 * it: 1 if taken.  Never fails spuriously: a failure means the tokens were
 * not there, or a flag was up, at some instant during the call.  The fast
 * path of every acquire (as glibc's __new_sem_wait_fast). */
static int qsem__acquire_fast(qsem_t *s, int64_t n);

/* 1 if a window is open whose time is up, so that a newcomer kept off the
 * fast path should take the lock and run the dispatcher, which ends it. */
static int qsem__window_expired(const qsem_t *s);

/* Under the lock: 1 if a newcomer got its n tokens without queueing; 0 if
 * it must queue, in which case WAITERS is up and must stay up until it is
 * queued.  WAITERS goes up before the last attempt, so that a release
 * racing with it either leaves its tokens where the attempt sees them or
 * comes to the lock and dispatches. */
static int qsem__last_try(qsem_t *s, int64_t n);

/* Under the lock: 1 if a new request must queue behind the current waiters
 * instead of trying to take tokens (FIFO mode or an open window). */
static int qsem__must_queue(const qsem_t *s);

/* Under the lock: hand tokens to the queued requests they satisfy, in the
 * order the mode demands, then bring the state flags up to date. */
static void qsem__dispatch(qsem_t *s);

/* Under the lock: make QSEM__WAITERS and QSEM__NOBARGE match the queue. */
static void qsem__sync_flags(qsem_t *s);

/* Under the lock: add n tokens that had been granted but were not used,
 * clamped to max (see qsem_waiter_cancel). */
static void qsem__give_back(qsem_t *s, int64_t n);

/*
 * The wait back end.  qsem__park() sleeps while node->pending is
 * QSEM__ASLEEP, until
 * deadline_ns (QSEM_FOREVER: none).  It returns 0 when woken or for no
 * reason (the caller looks at `pending` again), ETIMEDOUT once the deadline
 * has passed, EINTR when a signal handler ran (reported only with
 * QSEM_INTR).  qsem__park_prepare() readies the calling thread to park
 * on node: 0, or ENOMEM (pthread back end: no wake-up channel could be
 * made).  qsem__unpark() wakes the thread parked on `pending`; it runs
 * under the lock after `pending` was cleared, so the node may already be
 * gone: it gets only what it needs, and a stale address can only cause a
 * spurious wake-up, which every sleeper tolerates.
 */
static int qsem__park_prepare(struct qsem__node *node);
static int qsem__park(struct qsem__node *node, int64_t deadline_ns, unsigned flags);
static void qsem__unpark(_Atomic uint32_t *pending, int wake_fd);

/* In a forked child, from the fork handler: give the forking thread a
 * wake-up channel of its own (the pthread back end's pipe was shared with
 * the parent).  self_queued: that thread is queued right now (fork() from
 * a signal handler that interrupted its wait), so the channel its node
 * names must keep working. */
static void qsem__park_atfork_child(int self_queued);

/* 1 if qsem__unpark() uses something that lives only as long as the woken
 * thread (a file descriptor): that thread must then take the lock once
 * before it returns, so that the waker is done with it. */
static const int qsem__unpark_needs_lock;

/* A bug, not a runtime condition: print and abort. */
static _Noreturn void qsem__fatal(const char *what, int err);

#endif /* QSEM__CORE */

#endif /* QSEM_INTERNAL_H */
