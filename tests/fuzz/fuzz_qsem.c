/* SPDX-License-Identifier: MIT */
/*
 * fuzz_qsem.c: a libFuzzer target for the C core.
 *
 * The input is a schedule: a header (mode, number of worker threads, initial
 * count, maximum) and a list of operations, each addressed to one worker
 * thread or to the controller.  The controller runs the schedule one step
 * at a time and, after every step, compares what the semaphore did with a
 * reference model of the contract:
 *
 *   - the exact result of every call, including hostile counts (negative,
 *     0, QSEM_VALUE_MAX, INT64_MIN, INT64_MAX, max + 1);
 *   - which queued waiters a release, a timeout, an interruption or a
 *     cancel served, against every outcome the dispatcher is allowed (in
 *     the default mode the liveness window opens and ends by the clock,
 *     also between steps, so the model keeps the set of worlds the clock
 *     allows and accepts only what one of them does: see "The reference
 *     model" for exactly what became tolerant);
 *   - token conservation: available() == initial + released - acquired;
 *   - no lost wake-up: a queued head whose request fits never stays asleep
 *     (a served waiter that does not return within seconds is a crash);
 *   - lifetime: the last unref closes, waiters return ECANCELED, ASan sees
 *     no use after free, and once every handle and waiter is gone the core
 *     has freed everything it allocated (counted through its allocator
 *     hook: a semaphore stays reachable from the fork registry until freed,
 *     so LeakSanitizer alone would not notice one kept alive);
 *   - asynchronous waiters (qsem_waiter_*): new, start, result, claim,
 *     cancel and free, in any order, before and after close and the last
 *     unref, queued among the blocked threads.  Their results follow the
 *     model; a cancel gives back tokens granted but not claimed; notify
 *     runs once for each start that queued and was resolved, never for one
 *     cancelled first, and never after free.
 *
 * Steps are sequential so that the model stays exact, but the served
 * threads wake and return concurrently with the controller, and a "burst"
 * step lets every idle worker race try, timed and release calls against
 * each other and the queue; after it only conservation and the no-lost-
 * wake-up invariant are checked, and the model is resynchronised.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined with the csrc sources
 * (tests/fuzz/CMakeLists.txt).  Any contract violation aborts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qsem.h"
#include "qsem_internal.h"   /* qsem__set_allocator: count the core's memory */

#define MAXT 4
/* Asynchronous waiter slots; in the model's queue a waiter is MAXT + slot. */
#define MAXW 4
#define MAXTAGS (MAXOPS + MAXW)
#define MAXOPS 96
#define MS INT64_C(1000000)
/* A served thread, or one whose short timeout expired, must return within
 * this; much longer than any scheduling delay on a loaded CI machine. */
#define HANG_NS (10000 * MS)

/* Not SIGUSR1/SIGUSR2: libFuzzer reserves those for its own use. */
#define INTR_SIG (SIGRTMIN + 1)

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "fuzz_qsem:%d: ", __LINE__);                           \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

#define CHECK_EQ(got, want, what)                                              \
    do {                                                                       \
        int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);                     \
        if (g_ != w_)                                                          \
            FAIL("%s: got %" PRId64 ", model says %" PRId64, what, g_, w_);    \
    } while (0)

/* Blocks the core holds right now (semaphores, waiters, parkers). */
static atomic_long live_blocks;

static void *counting_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p != NULL)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

static void counting_free(void *p)
{
    if (p != NULL)
        atomic_fetch_sub(&live_blocks, 1);
    free(p);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* {======================================================================
** Input decoding
** ======================================================================= */

struct input {
    const uint8_t *p;
    size_t n, i;
};

static uint8_t next(struct input *in)
{
    return in->i < in->n ? in->p[in->i++] : 0;
}

/* A count for a semaphore whose maximum is `max`: mostly small, often one
 * of the values that break careless arithmetic.  `max` may itself be one
 * of those (a hostile maximum for qsem_new), so the neighbours of max are
 * computed without overflowing here. */
static int64_t decode_count(uint8_t b, int64_t max)
{
    switch (b % 16) {
    case 0:  return -1;
    case 1:  return INT64_MIN;
    case 2:  return INT64_MAX;
    case 3:  return QSEM_VALUE_MAX;
    case 4:  return 0;
    case 5:  return max;
    case 6:  return max < INT64_MAX ? max + 1 : INT64_MAX;
    case 7:  return QSEM_VALUE_MAX + 1;
    case 8:  return max > INT64_MIN ? max - 1 : INT64_MIN;
    default: return 1 + (b >> 4) % 4;
    }
}

/* }====================================================================== */

/* {======================================================================
** Worker threads
** ======================================================================= */

enum op_kind {
    OP_ACQUIRE,      /* qsem_acquire: may queue */
    OP_ACQUIRE_INTR, /* qsem_acquire_until(FOREVER, QSEM_INTR): may queue */
    OP_ACQUIRE_LONG, /* qsem_acquire_for(60 s) or (-1): may queue */
    OP_ACQUIRE_SHORT,/* qsem_acquire_for(0.2..1 ms): returns by itself */
    OP_BURST,        /* a few racing calls, see burst_main */
    OP_QUIT,
};

/* What notify may do for one waiter object; a new object gets a new tag,
 * so a late notify of a freed waiter is never counted for its successor.
 * Tags live until the end of the input. */
struct tag {
    // notifies that ran
    atomic_int notified;
    // notifies allowed so far: one per start that queued, less the ones
    // cancelled while still queued
    atomic_int allowed;
    // set once qsem_waiter_free() has returned
    atomic_int freed;
};

struct worker {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    // the posted operation, under mu
    int posted;
    enum op_kind kind;
    int64_t n, arg;
    uint8_t burst[8];
    // set by the worker when the operation returned
    atomic_int done;
    int result;
    // a burst's accounting: tokens it took and gave back
    int64_t b_acq, b_rel;
    // notify tags of the asynchronous waiters a burst makes, one per call
    struct tag btag[8];
    // controller's view: queued in the model
    int queued;
    int busy;
};

enum wstate { W_NONE, W_IDLE, W_QUEUED, W_GRANTED, W_CLOSED };

struct wslot {
    qsem_waiter_t *w;
    struct tag *tag;
    int64_t n;
    // the model's view of the waiter
    enum wstate state;
};

struct fuzz {
    qsem_t *s;
    int64_t max;
    int fifo;
    int nthreads;
    struct worker w[MAXT];
    // the model: free tokens, the queue in arrival order, closed
    int64_t avail;
    int q[MAXT + MAXW];
    int qn;
    int closed;
    int handles;
    // whether a window may be open (default mode; see "The reference model")
    int win;
    // when the last step ended: no window's end lies more than
    // QSEM_WINDOW_NS after it
    int64_t t_step;
    // totals for conservation; unsigned, since they may wrap over a long
    // schedule of VALUE_MAX-sized calls and only their difference matters;
    // tokens granted to a waiter count as acquired until a cancel gives
    // them back
    uint64_t initial, acquired, released;
    // asynchronous waiters and their notify tags
    struct wslot ws[MAXW];
    struct tag tags[MAXTAGS];
    int ntags;
    // the last handle was dropped: only waiters may touch s now
    int gone;
};

static void on_notify(void *arg)
{
    struct tag *tag = arg;
    if (atomic_load(&tag->freed))
        FAIL("notify ran after qsem_waiter_free() returned");
    int k = atomic_fetch_add(&tag->notified, 1) + 1;
    if (k > atomic_load(&tag->allowed))
        FAIL("notify ran %d times for %d resolvable starts", k, atomic_load(&tag->allowed));
}

static int is_waiter(int id)
{
    return id >= MAXT;
}

/* The count a queued request (a thread or a waiter) asks for. */
static int64_t req_n(const struct fuzz *f, int id)
{
    return is_waiter(id) ? f->ws[id - MAXT].n : f->w[id].n;
}

/*
 * An asynchronous waiter made, started and settled by a burst's thread,
 * racing the other threads' releases: it waits up to `spins` short polls
 * for a grant, then cancels, so that cancel meets grants at every moment.
 * Returns the tokens it claimed (the caller holds them).  notify may run
 * at most once, and never once cancel or free has returned.
 */
static int64_t burst_waiter(struct fuzz *f, struct tag *tag, int64_t n, int spins)
{
    atomic_store(&tag->notified, 0);
    atomic_store(&tag->allowed, 1);
    atomic_store(&tag->freed, 0);
    qsem_waiter_t *aw = qsem_waiter_new(f->s, n, on_notify, tag);
    if (aw == NULL)
        FAIL("burst: qsem_waiter_new(%" PRId64 ") failed: %d", n, errno);
    int r = qsem_waiter_start(aw);
    if (r != EINPROGRESS)
        atomic_store(&tag->allowed, 0);   /* no notify for a start that did not queue */
    for (int k = 0; r == EINPROGRESS && k < spins; k++) {
        sched_yield();
        r = qsem_waiter_result(aw);
    }
    int64_t got = 0;
    if (r == ECANCELED && atomic_load(&tag->allowed) == 0) {
        /* Refused at start (closed): nothing started, nothing to claim. */
    } else if (r == EINPROGRESS) {
        /* Cancel may meet a grant: notify then ran once, and the tokens go
         * back with the cancel.  Either way no notify may follow. */
        CHECK_EQ(qsem_waiter_cancel(aw), 0, "burst: qsem_waiter_cancel");
        atomic_store(&tag->allowed, atomic_load(&tag->notified));
    } else {
        int c = qsem_waiter_claim(aw);
        if (c != r || (c != 0 && c != ECANCELED))
            FAIL("burst: waiter result %d, claim %d", r, c);
        if (c == 0)
            got = n;
    }
    qsem_waiter_free(aw);
    atomic_store(&tag->freed, 1);
    if (atomic_load(&tag->notified) > 1)
        FAIL("burst: notify ran %d times for one start", atomic_load(&tag->notified));
    return got;
}

static void run_burst(struct fuzz *f, struct worker *w)
{
    int64_t held = 0;
    w->b_acq = w->b_rel = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t b = w->burst[i];
        int64_t n = 1 + (b >> 2) % 3;
        int r;
        if (n > f->max) {
            /* A request that could never be met is refused, racing or not. */
            if (qsem_try_acquire(f->s, n) != EINVAL || qsem_acquire_for(f->s, n, MS) != EINVAL)
                FAIL("burst: acquire of %" PRId64 " > max accepted", n);
            continue;
        }
        /* 0: try, 1: timed, 2: release, 3 (one in eight): async waiter */
        switch ((b & 7) == 7 ? 3 : (b & 3) == 3 ? 2 : (b & 3)) {
        case 3: {
            int64_t got = burst_waiter(f, &w->btag[i], n, b >> 4);
            held += got, w->b_acq += got;
            break;
        }
        case 0:
            r = qsem_try_acquire(f->s, n);
            if (r != 0 && r != EAGAIN && r != ECANCELED)
                FAIL("burst try_acquire(%" PRId64 ") gave %d", n, r);
            if (r == 0)
                held += n, w->b_acq += n;
            break;
        case 1:
            r = qsem_acquire_for(f->s, n, 100000 + (b >> 4) * 50000);
            if (r != 0 && r != ETIMEDOUT && r != ECANCELED)
                FAIL("burst acquire_for(%" PRId64 ") gave %d", n, r);
            if (r == 0)
                held += n, w->b_acq += n;
            break;
        default:
            if (held > 0) {
                int64_t k = held > n ? n : held;
                r = qsem_release(f->s, k);
                /* Giving back what this burst took cannot pass the maximum. */
                if (r != 0)
                    FAIL("burst release(%" PRId64 ") of held tokens gave %d", k, r);
                held -= k, w->b_rel += k;
            }
            break;
        }
    }
    if (held > 0) {
        if (qsem_release(f->s, held) != 0)
            FAIL("burst final release(%" PRId64 ") failed", held);
        w->b_rel += held;
    }
}

struct worker_arg {
    struct fuzz *f;
    struct worker *w;
};

static void *worker_main(void *arg)
{
    struct fuzz *f = ((struct worker_arg *)arg)->f;
    struct worker *w = ((struct worker_arg *)arg)->w;
    free(arg);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->posted)
            pthread_cond_wait(&w->cv, &w->mu);
        w->posted = 0;
        enum op_kind kind = w->kind;
        pthread_mutex_unlock(&w->mu);
        int r = 0;
        switch (kind) {
        case OP_ACQUIRE:       r = qsem_acquire(f->s, w->n); break;
        case OP_ACQUIRE_INTR:  r = qsem_acquire_until(f->s, w->n, QSEM_FOREVER, QSEM_INTR); break;
        case OP_ACQUIRE_LONG:  r = qsem_acquire_for(f->s, w->n, w->arg); break;
        case OP_ACQUIRE_SHORT: r = qsem_acquire_for(f->s, w->n, w->arg); break;
        case OP_BURST:         run_burst(f, w); break;
        case OP_QUIT:          return NULL;
        }
        w->result = r;
        /* Release MO: the result is visible to whoever sees `done`. */
        atomic_store_explicit(&w->done, 1, memory_order_release);
    }
}

static void post(struct worker *w, enum op_kind kind, int64_t n, int64_t arg)
{
    atomic_store(&w->done, 0);
    pthread_mutex_lock(&w->mu);
    w->kind = kind;
    w->n = n;
    w->arg = arg;
    w->posted = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int is_done(struct worker *w)
{
    return atomic_load_explicit(&w->done, memory_order_acquire);
}

/* A queued request has been resolved: the thread returned, or the waiter
 * no longer reports EINPROGRESS. */
static int req_done(const struct fuzz *f, int id)
{
    if (!is_waiter(id))
        return is_done((struct worker *)&f->w[id]);
    return qsem_waiter_result(f->ws[id - MAXT].w) != EINPROGRESS;
}

/* A resolved waiter's notify has run exactly as often as allowed (it may
 * still be finishing on the resolving thread when the result shows). */
static void wait_notified(struct wslot *ws, const char *why)
{
    int64_t end = now_ns() + HANG_NS;
    while (atomic_load(&ws->tag->notified) != atomic_load(&ws->tag->allowed)) {
        if (now_ns() > end)
            FAIL("%s: waiter resolved, notify ran %d times of %d", why,
                 atomic_load(&ws->tag->notified), atomic_load(&ws->tag->allowed));
        sleep_ns(20000);
    }
}

/* Bring the model up to date with a queued request the core resolved with
 * a grant. */
static void served_one(struct fuzz *f, int id, const char *why)
{
    if (is_waiter(id)) {
        struct wslot *ws = &f->ws[id - MAXT];
        CHECK_EQ(qsem_waiter_result(ws->w), 0, why);
        wait_notified(ws, why);
        ws->state = W_GRANTED;
    } else {
        CHECK_EQ(f->w[id].result, 0, why);
        f->w[id].busy = 0;
    }
}

static void wait_done(struct worker *w, const char *why)
{
    int64_t end = now_ns() + HANG_NS;
    while (!is_done(w)) {
        if (now_ns() > end)
            FAIL("worker still blocked after %" PRId64 " ms: %s", HANG_NS / MS, why);
        sched_yield();
        sleep_ns(20000);
    }
}

/* }====================================================================== */

/* {======================================================================
** The reference model
** ======================================================================= */

static int valid_count(const struct fuzz *f, int64_t n)
{
    return n >= 0 && n <= f->max;
}

/*
 * The liveness window (docs/design.md, "Fairness and liveness") is where
 * time decides.  A window opens at a dispatch that finds the head queued
 * for QSEM_STARVE_NS, and it ends at a dispatch that finds its time up,
 * which a queued thread runs on its own when it wakes at the window's end
 * (between the schedule's steps, or during one), or a try-acquire or a
 * newcomer's last try runs.  The model cannot see the clock, so it keeps a
 * set of possible worlds for each step and accepts an outcome only if one
 * of them produces it.  What became tolerant, and only where a window may
 * be open (`win`):
 *
 *   - a step's own dispatch may be strict (the head alone, while the window
 *     holds) or not (the window ended first);
 *   - a newcomer whose tokens are free may queue or be refused;
 *   - once, at any moment, the window's end may run a dispatch that serves
 *     every queued request that fits, oldest first (WIN_EXPIRED keeps only
 *     this), if a queued thread is there to run it.
 *
 * Everything else stays exact: the result of every call, which requests a
 * dispatch serves in each world, conservation, waiting(), the head never
 * fitting, and no queued request fitting when no window can be open.  A
 * window is known to be over once QSEM_WINDOW_NS has passed since the
 * last step that could open or extend one (the core sets its end at most
 * that far after such a dispatch): then a dispatch, a try-acquire and a
 * blocking newcomer must end it.  A pause step waits for that.
 */
enum { WIN_CLOSED, WIN_MAYBE, WIN_EXPIRED };

struct world {
    int q[MAXT + MAXW];
    int qn;
    int64_t avail;
    // tokens given back to the count during the step (a cancel's clamp)
    int64_t added;
    // requests served from the queue, by id
    unsigned served;
    int win;
    // the newcomer took its tokens without being served from the queue
    int got;
};

#define MAXWORLDS 64
struct worlds {
    int n;
    struct world w[MAXWORLDS];
};

static void ws_push(struct worlds *set, const struct world *w)
{
    for (int i = 0; i < set->n; i++)
        if (memcmp(&set->w[i], w, sizeof *w) == 0)
            return;
    if (set->n == MAXWORLDS)
        FAIL("model: more than %d possible worlds", MAXWORLDS);
    set->w[set->n++] = *w;
}

static void world_serve(const struct fuzz *f, struct world *w, int i)
{
    w->avail -= req_n(f, w->q[i]);
    w->served |= 1u << w->q[i];
    for (int j = i + 1; j < w->qn; j++)
        w->q[j - 1] = w->q[j];
    w->q[--w->qn] = 0;
}

static int world_find(const struct world *w, int id)
{
    for (int i = 0; i < w->qn; i++)
        if (w->q[i] == id)
            return i;
    return -1;
}

static void world_remove(struct world *w, int id)
{
    int i = world_find(w, id);
    if (i < 0)
        return;
    for (int j = i + 1; j < w->qn; j++)
        w->q[j - 1] = w->q[j];
    w->q[--w->qn] = 0;
}

/* The dispatcher with no window holding it: every request that fits,
 * oldest first; in FIFO mode, from the head only. */
static void world_walk(const struct fuzz *f, struct world *w)
{
    for (int i = 0; i < w->qn && w->avail != 0;) {
        if (req_n(f, w->q[i]) <= w->avail)
            world_serve(f, w, i);
        else if (f->fifo)
            break;
        else
            i++;
    }
}

static void model_dequeue(struct fuzz *f, int t)
{
    int j = 0;
    for (int i = 0; i < f->qn; i++)
        if (f->q[i] != t)
            f->q[j++] = f->q[i];
    if (j != f->qn - 1)
        FAIL("model: request %d was not queued", t);
    f->qn = j;
    if (!is_waiter(t))
        f->w[t].queued = 0;
}

static struct world world_of(const struct fuzz *f)
{
    struct world w;
    memset(&w, 0, sizeof w);
    memcpy(w.q, f->q, sizeof f->q[0] * (size_t)f->qn);
    w.qn = f->qn;
    w.avail = f->avail;
    w.win = f->win;
    w.got = 0;
    return w;
}

/* A window's end may run a dispatch that serves whatever fits: a queued
 * thread that wakes at the window's end runs it (async waiters have no
 * thread), or, if `any`, the step's own try or last try. */
static void ws_spont(const struct fuzz *f, struct worlds *set, int any)
{
    if (f->fifo)
        return;
    int n = set->n;
    for (int i = 0; i < n; i++) {
        struct world w = set->w[i];
        int thread = 0;
        for (int j = 0; j < w.qn; j++)
            thread |= !is_waiter(w.q[j]);
        if (w.win == WIN_CLOSED || !(thread || any))
            continue;
        world_walk(f, &w);
        w.win = WIN_CLOSED;   /* closed by time: barging has its turn */
        ws_push(set, &w);
    }
}

/* A step's own dispatch (release, withdraw, cancel). */
static void ws_dispatch(const struct fuzz *f, struct worlds *set)
{
    struct worlds out = { 0 };
    for (int i = 0; i < set->n; i++) {
        struct world w = set->w[i];
        if (!f->fifo && w.win == WIN_MAYBE && w.qn > 0 && req_n(f, w.q[0]) > w.avail) {
            struct world held = w;   /* strict: the window keeps the tokens */
            ws_push(&out, &held);
        }
        world_walk(f, &w);
        /* A window may open for the head that is left. */
        w.win = (!f->fifo && w.qn > 0) ? WIN_MAYBE : WIN_CLOSED;
        ws_push(&out, &w);
    }
    *set = out;
}

static void ws_add(const struct fuzz *f, struct worlds *set, int64_t n, int clamp)
{
    for (int i = 0; i < set->n; i++) {
        struct world *w = &set->w[i];
        int64_t back = clamp && n > f->max - w->avail ? f->max - w->avail : n;
        w->avail += back;
        w->added += back;
    }
}

enum newcomer { NC_TRY, NC_NO_LAST_TRY, NC_QUEUE, NC_QUEUE_TIMED };

/*
 * A newcomer for n tokens.  NC_TRY: try_acquire, which ends a window whose
 * time is up; NC_NO_LAST_TRY: a call whose deadline may pass before the
 * last try; NC_QUEUE: queues if it does not take; NC_QUEUE_TIMED: the
 * same, but a short deadline may pass before the last try (the caller
 * then drops it from the queue).  Where the window ends
 * first, ws_spont before this gives that world.
 */
static void ws_newcomer(const struct fuzz *f, struct worlds *set, int id, int64_t n, enum newcomer kind)
{
    struct worlds out = { 0 };
    for (int i = 0; i < set->n; i++) {
        struct world d = set->w[i];
        const struct world *w = &d;
        if (!f->fifo && d.win == WIN_EXPIRED && (kind == NC_TRY || kind == NC_QUEUE)) {
            /* Kept off by NOBARGE, it ends the window itself first. */
            world_walk(f, &d);
            d.win = WIN_CLOSED;
        }
        int fits = n <= w->avail;
        int must_queue = f->fifo && w->qn > 0;
        int held = w->win == WIN_MAYBE ||
                   (w->win == WIN_EXPIRED && (kind == NC_NO_LAST_TRY || kind == NC_QUEUE_TIMED));
        if (fits && !must_queue) {
            struct world c = *w;
            c.avail -= n;
            c.got = 1;
            if (c.qn > 0)
                c.win = WIN_CLOSED;   /* it passed NOBARGE: no window, and no dispatch since */
            ws_push(&out, &c);
        }
        if (!fits || must_queue || held) {
            struct world c = *w;
            if (kind == NC_QUEUE || kind == NC_QUEUE_TIMED)
                c.q[c.qn++] = id;
            ws_push(&out, &c);
        }
    }
    *set = out;
}

/* Queued requests (the model's queue less `skip`, plus `extra`) that the
 * core resolved, once waiting() agrees with the threads that returned. */
static unsigned observe(struct fuzz *f, int extra, int skip, const char *why)
{
    int ids[MAXT + MAXW + 1], n = 0;
    for (int i = 0; i < f->qn; i++)
        if (f->q[i] != skip)
            ids[n++] = f->q[i];
    if (extra >= 0)
        ids[n++] = extra;
    int64_t end = now_ns() + HANG_NS;
    for (;;) {
        unsigned done = 0;
        int nd = 0;
        for (int i = 0; i < n; i++)
            if (req_done(f, ids[i]))
                done |= 1u << ids[i], nd++;
        /* Read after the results: a resolved request was dequeued first. */
        int64_t still = qsem_waiting(f->s);
        if (nd == n - still)
            return done;
        if (nd > n - still)
            FAIL("%s: %d waiters returned but waiting() is %" PRId64 " of %d", why, nd, still, n);
        if (now_ns() > end)
            FAIL("%s: %" PRId64 " waiters dequeued but only %d returned (lost wake-up)",
                 why, n - still, nd);
        sleep_ns(20000);
    }
}

static void dump_worlds(const struct fuzz *f, const struct worlds *set)
{
    fprintf(stderr, "queue (oldest first), avail %" PRId64 ", fifo %d, window %d:", f->avail,
            f->fifo, f->win);
    for (int i = 0; i < f->qn; i++)
        fprintf(stderr, " %s%d:n=%" PRId64, is_waiter(f->q[i]) ? "a" : "w", f->q[i] % MAXT,
                req_n(f, f->q[i]));
    fprintf(stderr, "\nallowed:");
    for (int i = 0; i < set->n; i++)
        fprintf(stderr, " {served 0x%x got %d avail %" PRId64 "}", set->w[i].served,
                set->w[i].got, set->w[i].avail);
    fputc('\n', stderr);
}

enum { NEW_NONE, NEW_TOOK, NEW_QUEUED, NEW_REFUSED };

/*
 * The core did one of the worlds in `set`: `served` are the resolved
 * requests (the newcomer `nid`'s bit included if it was served from the
 * queue), `got` whether the newcomer returned with its tokens.  Check that
 * and bring the model up to date; returns what became of the newcomer.
 */
static int ws_apply(struct fuzz *f, const struct worlds *set, unsigned served, int nid, int got,
                    int quiet, const char *why)
{
    unsigned nbit = nid >= 0 ? 1u << nid : 0;
    const struct world *m = NULL;
    int win = WIN_CLOSED;
    for (int i = 0; i < set->n; i++) {
        const struct world *w = &set->w[i];
        int wgot = w->got || (w->served & nbit) != 0;
        if ((w->served & ~nbit) != (served & ~nbit) || (nid >= 0 && wgot != got))
            continue;
        if (m == NULL)
            m = w;
        else if (m->avail != w->avail || m->qn != w->qn)
            FAIL("model: %s: two worlds with one outcome", why);
        /* Union: a window that may still hold wins over one known over. */
        if (w->win == WIN_MAYBE || (w->win == WIN_EXPIRED && win == WIN_CLOSED))
            win = w->win;
    }
    if (m == NULL) {
        dump_worlds(f, set);
        FAIL("%s: served set 0x%x, newcomer got %d: no outcome the dispatcher allows",
             why, served & ~nbit, got);
    }
    for (int t = 0; t < MAXT + MAXW; t++)
        if ((m->served >> t & 1) && !(quiet && t == nid))
            served_one(f, t, why);
    f->acquired += (uint64_t)(f->avail + m->added - m->avail);
    f->released += (uint64_t)m->added;
    f->avail = m->avail;
    memcpy(f->q, m->q, sizeof f->q);
    f->qn = m->qn;
    for (int t = 0; t < MAXT; t++)
        f->w[t].queued = world_find(m, t) >= 0;
    f->win = f->qn == 0 ? WIN_CLOSED : win;
    if (nid < 0)
        return NEW_NONE;
    if (got)
        return NEW_TOOK;
    return world_find(m, nid) >= 0 ? NEW_QUEUED : NEW_REFUSED;
}

/* A window's end may have served requests since the last step. */
static void absorb(struct fuzz *f, const char *why)
{
    if (f->fifo || f->win == WIN_CLOSED || f->gone || f->qn == 0)
        return;
    struct worlds set = { 0 };
    struct world w = world_of(f);
    ws_push(&set, &w);
    ws_spont(f, &set, 0);
    ws_apply(f, &set, observe(f, -1, -1, why), -1, 0, 0, why);
}

/* Before a step: a window, if open, has surely ended by time once
 * QSEM_WINDOW_NS has passed since the last step that could set its end. */
static void window_age(struct fuzz *f)
{
    if (f->win == WIN_MAYBE && now_ns() - f->t_step > QSEM_WINDOW_NS)
        f->win = WIN_EXPIRED;
}

static int expected_result(enum wstate st)
{
    switch (st) {
    case W_QUEUED:  return EINPROGRESS;
    case W_GRANTED: return 0;
    case W_CLOSED:  return ECANCELED;
    default:        return EINVAL;
    }
}

/* Every waiter reports what the model says, and no notify is missing or
 * extra: all resolving calls have returned by the end of a step. */
static void check_waiters(struct fuzz *f, const char *why)
{
    for (int i = 0; i < MAXW; i++) {
        struct wslot *ws = &f->ws[i];
        if (ws->state == W_NONE)
            continue;
        CHECK_EQ(qsem_waiter_result(ws->w), expected_result(ws->state), why);
        int got = atomic_load(&ws->tag->notified), may = atomic_load(&ws->tag->allowed);
        if (ws->state == W_QUEUED ? got != may - 1 : got != may)
            FAIL("%s: waiter %d (state %d) had %d notifies of %d allowed", why, i,
                 (int)ws->state, got, may);
    }
}

static void check_state(struct fuzz *f, const char *why)
{
    if (f->gone) {
        check_waiters(f, why);
        return;
    }
    /* A window's end may serve requests at any moment: take those in
     * until the counts hold still. */
    int64_t end = now_ns() + HANG_NS;
    for (;;) {
        absorb(f, why);
        if (qsem_available(f->s) == f->avail && qsem_waiting(f->s) == f->qn)
            break;
        if (f->fifo || f->win == WIN_CLOSED || now_ns() > end)
            break;
        sleep_ns(20000);
    }
    CHECK_EQ(qsem_available(f->s), f->avail, why);
    CHECK_EQ(qsem_waiting(f->s), f->qn, why);
    CHECK_EQ(qsem_is_closed(f->s), f->closed, why);
    /* Token conservation (docs/contract.md, "Conservation"). */
    if ((uint64_t)f->avail != f->initial + f->released - f->acquired)
        FAIL("%s: conservation: available %" PRId64 " != initial + released - acquired", why, f->avail);
    /* No lost wake-up: the head is served whenever its request fits, and
     * with no window any queued request that fits. */
    if (f->qn > 0 && req_n(f, f->q[0]) <= f->avail)
        FAIL("%s: head waiter wants %" PRId64 " and %" PRId64 " are free", why,
             req_n(f, f->q[0]), f->avail);
    for (int i = 0; !f->fifo && f->win == WIN_CLOSED && i < f->qn; i++)
        if (req_n(f, f->q[i]) <= f->avail)
            FAIL("%s: queued request for %" PRId64 " with %" PRId64 " free and no window", why,
                 req_n(f, f->q[i]), f->avail);
    check_waiters(f, why);
}

/* }====================================================================== */

/* {======================================================================
** Steps
** ======================================================================= */

/* Expected result of an acquire that returns without queueing, or -1 if
 * the request is valid and may queue. */
static int quick_result(struct fuzz *f, int64_t n)
{
    if (!valid_count(f, n))
        return EINVAL;
    if (n == 0 || f->closed)
        return f->closed ? ECANCELED : 0;
    return -1;
}

static struct worker *idle_worker(struct fuzz *f, int t)
{
    for (int i = 0; i < f->nthreads; i++) {
        struct worker *w = &f->w[(t + i) % f->nthreads];
        if (!w->busy)
            return w;
    }
    return NULL;
}

/* The worlds of a newcomer: a window's end before it, the newcomer, and a
 * window's end after it. */
static void newcomer_worlds(struct fuzz *f, struct worlds *set, int id, int64_t n, enum newcomer kind)
{
    struct world w = world_of(f);
    set->n = 0;
    ws_push(set, &w);
    ws_spont(f, set, kind != NC_NO_LAST_TRY);
    ws_newcomer(f, set, id, n, kind);
    ws_spont(f, set, 0);
}

/* Start a wait that may queue on an idle worker; return once it either
 * returned or is in the queue. */
static void step_blocking(struct fuzz *f, int t, enum op_kind kind, int64_t n, int64_t arg)
{
    struct worker *w = idle_worker(f, t);
    if (w == NULL)
        return;
    int id = (int)(w - f->w);
    int quick = quick_result(f, n);
    post(w, kind, n, arg);
    if (quick >= 0) {
        wait_done(w, "acquire that needs no wait");
        CHECK_EQ(w->result, quick, "acquire that needs no wait");
        return;
    }
    int64_t end = now_ns() + HANG_NS;
    for (;;) {
        if (is_done(w))
            break;
        /* Queued: waiting() counts it beside the model's queue, less the
         * requests a window's end has served meanwhile. */
        int nd = 0;
        for (int i = 0; i < f->qn; i++)
            nd += req_done(f, f->q[i]);
        if (qsem_waiting(f->s) == f->qn - nd + 1)
            break;
        if (now_ns() > end)
            FAIL("worker %d neither returned nor queued", id);
        sleep_ns(10000);
    }
    int took = is_done(w);
    if (took)
        CHECK_EQ(w->result, 0, "acquire that did not queue");
    struct worlds set;
    newcomer_worlds(f, &set, id, n, NC_QUEUE);
    unsigned served = observe(f, took ? -1 : id, -1, "newcomer");
    int got = took || (served >> id & 1);
    if (ws_apply(f, &set, served, id, got, 0, "newcomer acquire") == NEW_QUEUED) {
        w->busy = 1;
        w->queued = 1;
    }
}

/* A wait with a short timeout: it returns by itself, taking the tokens or
 * timing out; a timed-out waiter that had queued ran the dispatcher. */
static void step_short(struct fuzz *f, int t, int64_t n, int64_t timeout)
{
    struct worker *w = idle_worker(f, t);
    if (w == NULL)
        return;
    int id = (int)(w - f->w);
    int quick = quick_result(f, n);
    post(w, OP_ACQUIRE_SHORT, n, timeout);
    wait_done(w, "short timed wait");
    if (quick >= 0) {
        CHECK_EQ(w->result, quick, "short wait that needs no wait");
        return;
    }
    if (w->result != 0)
        CHECK_EQ(w->result, ETIMEDOUT, "short wait");
    /* It may time out before it queues, or queue, be served by a window's
     * end, or withdraw, which runs the dispatcher. */
    struct worlds set, out = { 0 };
    newcomer_worlds(f, &set, id, n, NC_QUEUE_TIMED);
    for (int i = 0; i < set.n; i++) {
        struct world c = set.w[i];
        if (world_find(&c, id) < 0) {
            ws_push(&out, &c);
            continue;
        }
        world_remove(&c, id);
        ws_push(&out, &c);
        struct worlds one = { 0 };
        ws_push(&one, &c);
        ws_dispatch(f, &one);
        for (int j = 0; j < one.n; j++)
            ws_push(&out, &one.w[j]);
    }
    ws_spont(f, &out, 0);
    unsigned served = observe(f, -1, -1, "withdraw after timeout");
    if (w->result == 0)
        served |= 1u << id;   /* served from the queue or at once: the same tokens */
    /* served_one() looks at the newcomer's result too; it is 0 if served. */
    ws_apply(f, &out, served, id, w->result == 0, 0, "short timed wait");
}

static void step_try(struct fuzz *f, int64_t n, int via_until)
{
    int quick = quick_result(f, n);
    int r = via_until ? qsem_acquire_until(f->s, n, via_until == 1 ? 0 : INT64_MIN, 0)
                      : qsem_try_acquire(f->s, n);
    if (quick >= 0) {
        CHECK_EQ(r, quick, "try with a count that needs no wait");
        return;
    }
    if (r != 0)
        CHECK_EQ(r, via_until ? ETIMEDOUT : EAGAIN, "failed try");
    struct worlds set;
    newcomer_worlds(f, &set, -1, n, via_until ? NC_NO_LAST_TRY : NC_TRY);
    ws_apply(f, &set, observe(f, -1, -1, "try"), MAXT + MAXW, r == 0, 0, "try");
}

static void step_release(struct fuzz *f, int64_t n)
{
    if (n < 0) {
        CHECK_EQ(qsem_release(f->s, n), EINVAL, "release");
        return;
    }
    int r = qsem_release(f->s, n);
    if (n == 0) {
        CHECK_EQ(r, 0, "release of 0");
        return;
    }
    /* A window's end before the release may have made room for it. */
    struct worlds set = { 0 }, ok = { 0 };
    struct world w0 = world_of(f);
    ws_push(&set, &w0);
    ws_spont(f, &set, 0);
    for (int i = 0; i < set.n; i++)
        if ((n > f->max - set.w[i].avail ? EOVERFLOW : 0) == r)
            ws_push(&ok, &set.w[i]);
    if (ok.n == 0)
        CHECK_EQ(r, n > f->max - f->avail ? EOVERFLOW : 0, "release");
    if (r == 0) {
        ws_add(f, &ok, n, 0);
        ws_dispatch(f, &ok);
    }
    ws_spont(f, &ok, 0);
    ws_apply(f, &ok, observe(f, -1, -1, "release"), -1, 0, 0, "release");
}

static void step_interrupt(struct fuzz *f, int t)
{
    struct worker *w = &f->w[t % f->nthreads];
    if (!w->queued)
        return;
    int id = (int)(w - f->w);
    if (w->kind != OP_ACQUIRE_INTR) {
        /* A handler that runs in an ordinary wait is a spurious wake-up:
         * the wait goes on (unless a window's end served it). */
        pthread_kill(w->tid, INTR_SIG);
        sleep_ns(300000);
        if (is_done(w) && w->result != 0)
            FAIL("worker %d left its wait after a signal (result %d)", id, w->result);
        struct worlds set = { 0 };
        struct world w0 = world_of(f);
        ws_push(&set, &w0);
        ws_spont(f, &set, 0);
        ws_apply(f, &set, observe(f, -1, -1, "signal"), -1, 0, 0, "a spurious wake-up");
        return;
    }
    /* A signal that lands before the thread sleeps is not seen by the
     * wait; keep sending until the wait ends. */
    int64_t end = now_ns() + HANG_NS;
    while (!is_done(w)) {
        pthread_kill(w->tid, INTR_SIG);
        if (now_ns() > end)
            FAIL("worker %d ignores signals in a QSEM_INTR wait", id);
        sleep_ns(200000);
    }
    struct worlds set = { 0 }, out = { 0 };
    struct world w0 = world_of(f);
    ws_push(&set, &w0);
    ws_spont(f, &set, 0);
    if (w->result == 0) {
        /* Served by a window's end before the signal was seen. */
        ws_apply(f, &set, observe(f, -1, -1, "signal"), -1, 0, 0, "served before EINTR");
        return;
    }
    CHECK_EQ(w->result, EINTR, "interrupted wait");
    for (int i = 0; i < set.n; i++)
        if (world_find(&set.w[i], id) >= 0) {
            world_remove(&set.w[i], id);
            ws_push(&out, &set.w[i]);
        }
    ws_dispatch(f, &out);
    ws_spont(f, &out, 0);
    w->busy = 0;
    ws_apply(f, &out, observe(f, -1, id, "withdraw after EINTR"), -1, 0, 0, "withdraw after EINTR");
    w->queued = 0;
}

/* After close: every queued request was resolved with ECANCELED, except
 * those a window's end served just before. */
static void close_all(struct fuzz *f, const char *why)
{
    unsigned served = 0;
    for (int i = 0; i < f->qn; i++) {
        int id = f->q[i];
        if (is_waiter(id)) {
            if (qsem_waiter_result(f->ws[id - MAXT].w) == 0)
                served |= 1u << id;
        } else {
            wait_done(&f->w[id], why);
            if (f->w[id].result == 0)
                served |= 1u << id;
        }
    }
    if (served != 0) {
        struct worlds set = { 0 };
        struct world w0 = world_of(f);
        ws_push(&set, &w0);
        ws_spont(f, &set, 0);
        ws_apply(f, &set, served, -1, 0, 0, why);
    }
    for (int i = 0; i < f->qn; i++) {
        if (is_waiter(f->q[i])) {
            struct wslot *ws = &f->ws[f->q[i] - MAXT];
            CHECK_EQ(qsem_waiter_result(ws->w), ECANCELED, "async waiter resolved by close");
            wait_notified(ws, why);
            ws->state = W_CLOSED;
            continue;
        }
        struct worker *w = &f->w[f->q[i]];
        CHECK_EQ(w->result, ECANCELED, "waiter woken by close");
        w->busy = 0;
        w->queued = 0;
    }
    f->qn = 0;
    f->closed = 1;
    f->win = WIN_CLOSED;
}

/* Every idle worker runs a few racing calls at once. */
static void step_burst(struct fuzz *f, struct input *in)
{
    int used[MAXT] = {0};
    for (int t = 0; t < f->nthreads; t++) {
        struct worker *w = &f->w[t];
        if (w->busy)
            continue;
        for (int i = 0; i < 8; i++)
            w->burst[i] = next(in);
        used[t] = 1;
        post(w, OP_BURST, 0, 0);
    }
    int64_t acq = 0, rel = 0;
    for (int t = 0; t < f->nthreads; t++) {
        if (!used[t])
            continue;
        wait_done(&f->w[t], "burst");
        acq += f->w[t].b_acq;
        rel += f->w[t].b_rel;
    }
    f->acquired += (uint64_t)acq;
    f->released += (uint64_t)rel;
    f->avail += rel - acq;
    /* Queued waiters that the burst's releases served. */
    unsigned served = observe(f, -1, -1, "burst");
    for (int t = 0; t < MAXT + MAXW; t++) {
        if (!(served >> t & 1))
            continue;
        served_one(f, t, "waiter served during a burst");
        f->acquired += req_n(f, t);
        f->avail -= req_n(f, t);
        model_dequeue(f, t);
    }
    /* Whether a window is open now depends on timing the model does not see. */
    f->win = (f->fifo || f->qn == 0) ? WIN_CLOSED : WIN_MAYBE;
}

/* }====================================================================== */

/* {======================================================================
** Asynchronous waiters
** ======================================================================= */

enum waiter_op {
    WOP_NEW,         /* qsem_waiter_new (an occupied slot is freed first) */
    WOP_START,
    WOP_RESULT,
    WOP_CLAIM,
    WOP_CANCEL,
    WOP_FREE,
    WOP_NEW_START,   /* new, then start at once */
    WOP_CLAIM_RELEASE, /* claim, and give granted tokens back by release */
};

static void waiter_free(struct fuzz *f, int i);

static void waiter_new(struct fuzz *f, int i, int64_t n)
{
    struct wslot *ws = &f->ws[i];
    if (f->gone)
        return;   /* no handle left to make a waiter on */
    if (ws->state != W_NONE)
        waiter_free(f, i);
    if (f->ntags == MAXTAGS)
        return;
    struct tag *tag = &f->tags[f->ntags];
    errno = 0;
    qsem_waiter_t *w = qsem_waiter_new(f->s, n, on_notify, tag);
    if (!valid_count(f, n)) {
        if (w != NULL)
            FAIL("qsem_waiter_new(%" PRId64 ") with max %" PRId64 " accepted", n, f->max);
        CHECK_EQ(errno, EINVAL, "qsem_waiter_new errno");
        return;
    }
    if (w == NULL)
        FAIL("qsem_waiter_new(%" PRId64 ") failed: %d", n, errno);
    f->ntags++;
    ws->w = w;
    ws->tag = tag;
    ws->n = n;
    ws->state = W_IDLE;
}

static void waiter_start(struct fuzz *f, int i)
{
    struct wslot *ws = &f->ws[i];
    if (ws->state == W_NONE)
        return;
    int64_t n = ws->n;
    /* Allowed before the call: a racing resolution may notify at once. */
    atomic_fetch_add(&ws->tag->allowed, 1);
    int r = qsem_waiter_start(ws->w);
    if (r != EINPROGRESS)
        atomic_fetch_sub(&ws->tag->allowed, 1);
    if (ws->state != W_IDLE) {
        CHECK_EQ(r, EBUSY, "qsem_waiter_start of a started waiter");
        return;
    }
    if (f->closed) {
        CHECK_EQ(r, ECANCELED, "qsem_waiter_start on a closed semaphore");
        return;
    }
    if (n == 0) {
        CHECK_EQ(r, 0, "qsem_waiter_start for 0 tokens");
        ws->state = W_GRANTED;
        return;
    }
    if (r != 0)
        CHECK_EQ(r, EINPROGRESS, "qsem_waiter_start");
    int id = MAXT + i;
    struct worlds set;
    newcomer_worlds(f, &set, id, n, NC_QUEUE);
    if (r != 0)
        ws->state = W_QUEUED;   /* for observe() and served_one() */
    unsigned served = observe(f, r == 0 ? -1 : id, -1, "waiter start");
    int got = r == 0 || (served >> id & 1);
    int what = ws_apply(f, &set, served, id, got, 0, "qsem_waiter_start");
    if (what == NEW_QUEUED)
        ws->state = W_QUEUED;
    else if (r == 0)
        ws->state = W_GRANTED;   /* served from the queue: served_one() set it */
}

/* claim, cancel and free report what the model says and leave it idle. */
static void waiter_claim(struct fuzz *f, int i, int give_back)
{
    struct wslot *ws = &f->ws[i];
    if (ws->state == W_NONE)
        return;
    int r = qsem_waiter_claim(ws->w);
    CHECK_EQ(r, expected_result(ws->state), "qsem_waiter_claim");
    if (ws->state == W_GRANTED || ws->state == W_CLOSED)
        ws->state = W_IDLE;
    if (r == 0 && give_back && !f->gone && ws->n > 0)
        step_release(f, ws->n);   /* the caller's tokens now, released as any */
}

/*
 * Cancel and free: a queued waiter leaves the queue, a granted one gives
 * its tokens back (clamped to max: qsem.h, the bound wins over an
 * over-release made while the tokens were granted), and the dispatcher
 * runs.  A window's end may grant a queued waiter until the cancel takes
 * the lock: then notify ran once and the tokens go back.
 */
static void waiter_leave(struct fuzz *f, int i, int do_free)
{
    struct wslot *ws = &f->ws[i];
    enum wstate was = ws->state;
    int id = MAXT + i;
    int racy = was == W_QUEUED && !f->fifo && f->win != WIN_CLOSED;
    struct worlds set = { 0 };
    struct world w0 = world_of(f);
    ws_push(&set, &w0);
    ws_spont(f, &set, 0);
    /* Notifies of earlier starts of this waiter object: a queued start
     * has had none yet. */
    int base = atomic_load(&ws->tag->allowed) - (was == W_QUEUED);
    if (was == W_QUEUED && !racy)
        atomic_fetch_sub(&ws->tag->allowed, 1);   /* withdrawn before resolution */
    if (do_free) {
        qsem_waiter_free(ws->w);
        atomic_store(&ws->tag->freed, 1);
    } else {
        CHECK_EQ(qsem_waiter_cancel(ws->w), 0, "qsem_waiter_cancel");
    }
    int total = atomic_load(&ws->tag->notified);
    /* Whether this start was granted before the cancel took the lock. */
    int notified = was == W_QUEUED ? total - base : 0;
    if (racy) {
        if (notified < 0 || notified > 1)
            FAIL("waiter %d: notify ran %d times for one start", i, notified);
        atomic_store(&ws->tag->allowed, total);
    }
    if (do_free) {
        int may = atomic_load(&ws->tag->allowed);
        if (total != may)
            FAIL("waiter %d freed after %d notifies of %d allowed", i, total, may);
        ws->w = NULL;
        ws->state = W_NONE;
    } else {
        ws->state = W_IDLE;
    }
    if (was != W_QUEUED && was != W_GRANTED)
        return;
    if (f->gone) {
        /* Nobody may look at the semaphore now; close left no queue. */
        if (was == W_GRANTED) {
            int64_t back = ws->n > f->max - f->avail ? f->max - f->avail : ws->n;
            f->avail += back;
            f->released += (uint64_t)back;
        }
        return;
    }
    struct worlds out = { 0 };
    for (int k = 0; k < set.n; k++) {
        struct world c = set.w[k];
        int queued = world_find(&c, id) >= 0;
        if (was == W_QUEUED && queued != !notified)
            continue;
        if (queued) {
            world_remove(&c, id);
        } else {
            struct worlds one = { 0 };
            ws_push(&one, &c);
            ws_add(f, &one, ws->n, 1);
            c = one.w[0];
        }
        struct worlds one = { 0 };
        ws_push(&one, &c);
        ws_dispatch(f, &one);
        for (int j = 0; j < one.n; j++)
            ws_push(&out, &one.w[j]);
    }
    ws_spont(f, &out, 0);
    unsigned served = observe(f, -1, id, "dispatch after a waiter's cancel or free");
    if (was == W_QUEUED && notified)
        served |= 1u << id;
    ws_apply(f, &out, served, was == W_QUEUED ? id : -1, was == W_QUEUED && notified, 1,
             "dispatch after a waiter's cancel or free");
}

static void waiter_cancel(struct fuzz *f, int i)
{
    if (f->ws[i].state != W_NONE)
        waiter_leave(f, i, 0);
}

static void waiter_free(struct fuzz *f, int i)
{
    if (f->ws[i].state != W_NONE)
        waiter_leave(f, i, 1);
}

static void step_waiter(struct fuzz *f, int slot, enum waiter_op op, int64_t n)
{
    switch (op) {
    case WOP_NEW:           waiter_new(f, slot, n); break;
    case WOP_START:         waiter_start(f, slot); break;
    case WOP_RESULT:
        if (f->ws[slot].state != W_NONE)
            CHECK_EQ(qsem_waiter_result(f->ws[slot].w), expected_result(f->ws[slot].state),
                     "qsem_waiter_result");
        break;
    case WOP_CLAIM:         waiter_claim(f, slot, 0); break;
    case WOP_CANCEL:        waiter_cancel(f, slot); break;
    case WOP_FREE:          waiter_free(f, slot); break;
    case WOP_NEW_START:     waiter_new(f, slot, n); waiter_start(f, slot); break;
    case WOP_CLAIM_RELEASE: waiter_claim(f, slot, 1); break;
    }
}

/* }====================================================================== */

static void on_signal(int sig)
{
    (void)sig;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the harder case for the futex wait (see qsem_futex.c). */
    sigaction(INTR_SIG, &sa, NULL);
    qsem__set_allocator(counting_calloc, counting_free);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size, 0 };
    static struct fuzz f;   /* large; one input at a time */
    memset(&f, 0, sizeof f);

    uint8_t h = next(&in);
    f.fifo = h & 1;
    f.nthreads = 2 + (h >> 1) % (MAXT - 1);
    uint8_t bmax = next(&in), binit = next(&in);
    int64_t max = (bmax & 0x80) ? decode_count(bmax, QSEM_VALUE_MAX) : bmax % 9;
    int64_t initial = (binit & 0x80) ? decode_count(binit, max) : binit % 9;
    unsigned flags = (h & 0xF0) == 0xF0 ? 0x2u : (f.fifo ? QSEM_FIFO : 0);

    errno = 0;
    f.s = qsem_new(initial, max, flags);
    int bad = initial < 0 || max < initial || max > QSEM_VALUE_MAX || (flags & ~QSEM_FIFO);
    if (bad) {
        if (f.s != NULL)
            FAIL("qsem_new(%" PRId64 ", %" PRId64 ", %u) accepted bad arguments", initial, max, flags);
        CHECK_EQ(errno, EINVAL, "qsem_new errno");
        return 0;
    }
    if (f.s == NULL)
        FAIL("qsem_new(%" PRId64 ", %" PRId64 ", %u) failed: %d", initial, max, flags, errno);
    CHECK_EQ(qsem_max(f.s), max, "qsem_max");
    f.max = max;
    f.avail = initial;
    f.initial = (uint64_t)initial;
    f.handles = 1;
    f.win = WIN_CLOSED;

    for (int t = 0; t < f.nthreads; t++) {
        struct worker *w = &f.w[t];
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        struct worker_arg *a = malloc(sizeof *a);
        a->f = &f;
        a->w = w;
        if (pthread_create(&w->tid, NULL, worker_main, a) != 0)
            FAIL("pthread_create");
    }

    /* After the last unref only the waiters, which pin s, may touch it. */
    for (int step = 0; step < MAXOPS && in.i < in.n; step++) {
        uint8_t op = next(&in);
        int t = op >> 4;
        int64_t n = decode_count(next(&in), f.max);
        window_age(&f);
        if ((op & 15) >= 14) {
            /* 14: waiter ops 0-3, 15: waiter ops 4-7; slot from t. */
            step_waiter(&f, t & 3, (enum waiter_op)(((op & 15) - 14) * 4 + (t >> 2)), n);
            check_state(&f, "after a waiter step");
            f.t_step = now_ns();
            continue;
        }
        if (f.gone)
            continue;
        switch (op & 15) {
        case 0:  step_blocking(&f, t, OP_ACQUIRE, n, 0); break;
        case 1:  step_blocking(&f, t, OP_ACQUIRE_INTR, n, 0); break;
        case 2:  step_blocking(&f, t, OP_ACQUIRE_LONG, n, (t & 1) ? -1 : 60000 * MS); break;
        case 3:  step_short(&f, t, n, (t & 1) ? 0 : 200000 + (t >> 1) * 400000); break;
        case 4:  step_try(&f, n, 0); break;
        case 5:  step_try(&f, n, 1 + (t & 1)); break;
        case 6:
        case 7:  step_release(&f, n); break;
        case 8:  step_interrupt(&f, t); break;
        case 9:
            if ((t & 3) == 0) {
                CHECK_EQ(qsem_close(f.s), 0, "close");
                close_all(&f, "close");
            } else if ((t & 3) == 1) {
                /* Pause: a window, if open, ends by time, and a queued
                 * head may pass QSEM_STARVE_NS. */
                sleep_ns(QSEM_WINDOW_NS + QSEM_STARVE_NS);
                window_age(&f);
            }
            break;
        case 10:
            CHECK_EQ((intptr_t)qsem_ref(f.s), (intptr_t)f.s, "qsem_ref");
            f.handles++;
            break;
        case 11:
            if (f.handles == 1) {
                /* The last handle: closes; memory stays until the waiters return. */
                qsem_unref(f.s);
                close_all(&f, "last unref");
                f.gone = 1;
            } else {
                qsem_unref(f.s);
                f.handles--;
            }
            break;
        case 12: {
            /* Flags nobody defined are refused before anything else. */
            int r = qsem_acquire_until(f.s, n, QSEM_FOREVER, 0x2u << (t & 3));
            CHECK_EQ(r, EINVAL, "acquire_until with unknown flags");
            break;
        }
        case 13: step_burst(&f, &in); break;
        }
        check_state(&f, "after a step");
        f.t_step = now_ns();
    }

    if (!f.gone) {
        check_state(&f, "end of schedule");
        while (f.handles-- > 1)
            qsem_unref(f.s);
        qsem_unref(f.s);
        close_all(&f, "final unref");
        f.gone = 1;
    }
    for (int t = 0; t < f.nthreads; t++) {
        post(&f.w[t], OP_QUIT, 0, 0);
        pthread_join(f.w[t].tid, NULL);
        pthread_mutex_destroy(&f.w[t].mu);
        pthread_cond_destroy(&f.w[t].cv);
    }
    /* The waiters hold the last pins: freeing them frees s (LeakSanitizer
     * reports it if not). */
    for (int i = 0; i < MAXW; i++)
        waiter_free(&f, i);
    long live = atomic_load(&live_blocks);
    if (live != 0)
        FAIL("%ld blocks of the core still allocated after the last handle and waiter", live);
    return 0;
}
