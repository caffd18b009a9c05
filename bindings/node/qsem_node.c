/* SPDX-License-Identifier: MIT */
/*
 * qsem.node: the native half of the Node.js front end (docs/node.md).
 *
 * index.js holds the public API (argument checks, errors, promises, timers);
 * this file holds what only C can do.  In JavaScript terms it exports:
 *
 *     init(dispatch, done, io)       // once per thread: dispatch(id, code),
 *                                    // done: Float64Array [count, id, code...]
 *                                    // io: Float64Array, the hot calls' args
 *     create(initial, max, fair) -> object;  open(id) -> object | null
 *     slot(object) -> slot           // what every other call takes
 *     share(slot) -> id
 *     tryAcquire()   io: slot, n    -> io[0] = code
 *     acquire()      io: slot, n, id, ms, guard
 *                                    -> io[0] = code (EINPROGRESS: queued as id)
 *     acquireForever()  io: slot, n, id  (acquire() with no timeout, no guard)
 *     expire(id) -> ms left (0: timed out and cancelled; -1: no such wait)
 *     cancel(id) -> bool;  release()  io: slot, n, guard -> io[0] = code
 *     close(slot); available/waiting/max/closed/held(slot)
 *
 * The object owns the handle (its finalizer drops it); the slot finds it
 * quickly.  Calls that can grant complete this thread's own waits before
 * they return, through `done`; grants from other threads come through the
 * thread-safe function and call dispatch.
 *
 * Codes are the core's errno values (0 is success), exported as constants.
 *
 * Threads.  A semaphore is shared between worker threads through a registry
 * that maps a never-reused id to the qsem_t; an entry lives while any thread
 * holds a handle on it, so an id can open only the semaphore it was made for
 * and only while that semaphore exists.  Each thread (each napi_env) owns
 * its handles and waits; both are used on that thread's loop alone.
 *
 * Waits.  A wait that cannot be served at once is a core async waiter.  Its
 * notify runs on the releasing or closing thread with the semaphore's lock
 * held, so it only posts the wait to its own thread through a thread-safe
 * function; the waiting thread claims the tokens there and resolves the
 * promise.  A wait cancelled (abort, timeout) gives granted tokens back
 * through qsem_waiter_free(), so nothing is lost or created.
 *
 * Teardown.  When a thread's environment goes away (worker exit or
 * terminate, main thread exit) the cleanup hook frees every waiter of that
 * thread, gives back what its guards hold, drops its handles, and only then
 * releases the thread-safe function: no notify can reach it afterwards.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "qsem.h"

/* {======================================================================
** Registry of shared semaphores (process-wide)
** ======================================================================= */

struct entry {
    // next entry in the registry list
    struct entry *next;
    // the id share() hands out; never reused
    int64_t id;
    // the semaphore; each handle holds its own reference
    qsem_t *sem;
    // handles on this entry, in every thread
    int64_t handles;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *registry;
static int64_t registry_last_id;

/* Names this registry among the copies of the addon loaded in the process
 * (two packages may each bring their own).  share() hands it out with the
 * id, and index.js refuses an id that another copy's registry made.  A
 * random number, drawn once: an address would do as well, but would tell
 * whoever receives a shared value where the addon is loaded.  Below 2^53,
 * so a double holds it exactly. */
static pthread_once_t registry_key_once = PTHREAD_ONCE_INIT;
static double registry_key_value;

static void
registry_key_init(void)
{
    uint64_t v = 0;

    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        // No entropy yet (early boot): copies loaded at different times
        // still draw different keys.
        v = (uint64_t)qsem_now_ns() * UINT64_C(0x9e3779b97f4a7c15);
    }
    v &= (UINT64_C(1) << 53) - 1;
    registry_key_value = (double)(v != 0 ? v : 1);
}

static double
registry_key(void)
{
    (void)pthread_once(&registry_key_once, registry_key_init);
    return registry_key_value;
}

/* Add a new semaphore with one handle.  NULL on allocation failure. */
static struct entry *
registry_add(qsem_t *sem)
{
    struct entry *e = malloc(sizeof *e);
    if (e == NULL) {
        return NULL;
    }
    e->sem = sem;
    e->handles = 1;
    pthread_mutex_lock(&registry_lock);
    e->id = ++registry_last_id;
    e->next = registry;
    registry = e;
    pthread_mutex_unlock(&registry_lock);
    return e;
}

/* One more handle on the semaphore `id`, or NULL if it no longer exists. */
static struct entry *
registry_open(int64_t id)
{
    pthread_mutex_lock(&registry_lock);
    struct entry *e = registry;
    while (e != NULL && e->id != id) {
        e = e->next;
    }
    if (e != NULL) {
        // Safe: handles > 0, so some handle holds a reference on e->sem.
        e->handles++;
        (void)qsem_ref(e->sem);
    }
    pthread_mutex_unlock(&registry_lock);
    return e;
}

/* Drop one handle; the entry goes with the last one. */
static void
registry_drop(struct entry *e)
{
    qsem_t *sem = e->sem;
    int last;

    pthread_mutex_lock(&registry_lock);
    last = --e->handles == 0;
    if (last) {
        struct entry **p = &registry;
        while (*p != e) {
            p = &(*p)->next;
        }
        *p = e->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (last) {
        free(e);
    }
    // Outside the registry lock: the last unref closes and wakes waiters.
    qsem_unref(sem);
}

/* }====================================================================== */

/* {======================================================================
** Per-thread state, handles and waits
** ======================================================================= */

struct handle;

struct op {
    // neighbours in the thread's list of queued waits
    struct op *prev, *next;
    // the thread that waits
    struct state *st;
    // the handle the wait was made through (kept alive by index.js)
    struct handle *h;
    // the core waiter; NULL once cancelled
    qsem_waiter_t *w;
    // the id index.js gave the wait
    int64_t id;
    // tokens asked for
    int64_t n;
    // qsem_now_ns() deadline, or QSEM_FOREVER
    int64_t deadline;
    // the grant counts toward h->held (hold())
    int guard;
    // notify posted the op to the thread-safe function or to the ready
    // list, and it has not been completed yet: only that may free the op.
    // Written by notify (any thread) before it posts; the waiting thread
    // reads it only after qsem_waiter_claim/free, which wait for notify
    // to finish under the semaphore's lock, or in the posted call, which
    // the tsfn's queue lock orders after the write.
    int posted;
    // next op in the thread's ready list
    struct op *ready_next;
};

struct handle {
    // the semaphore (e->sem, one load nearer for the hot calls), or NULL
    // once dropped
    qsem_t *sem;
    // neighbours in the thread's list of handles
    struct handle *prev, *next;
    // the thread that owns the handle; NULL after teardown
    struct state *st;
    // the registry entry, or NULL once dropped
    struct entry *e;
    // tokens taken by guards (hold()) and not yet given back
    int64_t held;
    // a finished wait's op whose core waiter is idle (unstarted, holding
    // nothing), kept for this handle's next wait of the same size: a
    // handoff then allocates nothing, in the core or here
    struct op *idle;
    // the index of this handle in its thread's slot table
    int32_t slot;
};

struct state {
    // the thread-safe function that carries grants to this thread's loop;
    // set by init() before any waiter exists, so notify on another thread
    // sees it (queuing a waiter takes the semaphore's lock)
    napi_threadsafe_function tsfn;
    // queued waits (a list with a dummy head)
    struct op ops;
    // number of queued waits; the tsfn keeps the loop alive while > 0
    int64_t nops;
    // live handles (a list with a dummy head)
    struct handle handles;
    // live handles by slot, the number index.js passes to every call: a
    // bounds check finds them, where unwrapping an object costs 5x more.
    // (Functions made per semaphore, the handle as their data, would need
    // no slot; but a call site that meets several of them no longer calls
    // native code directly, and one such call cost 27-55 ns against 8-14
    // for a shared function in a bare addon.)
    struct handle **slots;
    // size of slots[]
    int32_t nslots;
    // free slots, a stack
    int32_t *free_slots;
    // entries on free_slots
    int32_t nfree;
    // the environment of this thread
    napi_env env;
    // the thread itself: notify running here needs no tsfn
    pthread_t thread;
    // ops granted by this thread's own calls, completed before they return
    struct op *ready;
    // index.js's dispatch(id, code)
    napi_ref dispatch;
    // the exports of the index.js that called init(): another copy of
    // index.js loaded in this thread (a test runner's module registry per
    // file, a cleared require.cache) takes them as its own (served())
    napi_ref exports_ref;
    // index.js's completion buffer (a Float64Array): [count, id, code, ...];
    // same-thread completions go there, which is cheaper than calling
    // dispatch, and index.js reads it after each call that can grant
    napi_ref done_ref;
    // its elements, and how many
    double *done;
    size_t done_len;
    // index.js's argument buffer (a Float64Array, IO_LEN long): the hot
    // calls (tryAcquire, acquire, release) take their arguments from it and
    // leave their result code in io[0], since a call that reads no
    // napi_value and makes none costs a third of one that does
    napi_ref io_ref;
    double *io;
    // queued waits by id (index.js numbers them densely from 0), so that
    // expire() and cancel() find one in constant time; and its size
    struct op **by_id;
    int64_t nby_id;
    // freed ops kept for reuse (a list through ->next), and how many:
    // a queued wait then makes no allocation of ours
    struct op *spare_ops;
    int nspare_ops;
    // set once the environment is being torn down
    int dead;
};

/* Ops kept for reuse per thread, at most: enough for a few handoffs in
 * flight, little memory when a burst of waits has passed. */
#define SPARE_OPS 16

/* The most (id, code) pairs index.js's completion buffer may hold: what
 * settle_done() copies it into, on the stack. */
#define DONE_PAIRS_MAX 64

/* Thread-local storage in a dlopen()ed module costs a __tls_get_addr()
 * call per access in the default model; the initial-exec model reads it
 * straight from the thread pointer, out of the small reserve that glibc's
 * dynamic loader keeps for modules loaded late (16 bytes here).  Other C
 * libraries keep the default model: not every one keeps that reserve. */
#if defined(__GLIBC__) && defined(__GNUC__) && defined(__ELF__)
#define QSEM_NODE_TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define QSEM_NODE_TLS __thread
#endif

/* The state of the environment whose call runs on this thread, as last
 * found by get_state(): every call asks for it, and Node runs one environment per thread,
 * so this spares a Node-API call each time.  An embedder that runs several
 * on one thread still gets the right one (the env is compared), and
 * state_cleanup() forgets a state before it is freed, so that a new
 * environment at the same address cannot find it. */
static QSEM_NODE_TLS napi_env cached_env;
static QSEM_NODE_TLS struct state *cached_state;

/* io[]: slot, n, id, timeout (ms, Infinity for none), guard (0 or 1). */
enum { IO_SLOT, IO_N, IO_ID, IO_MS, IO_GUARD, IO_LEN };

static const napi_type_tag handle_tag = {
    0x7173656d2d6e6f64ULL, 0x652d68616e646c65ULL
};

#define CHECK(call)                                                  \
    do {                                                                  \
        if ((call) != napi_ok) {                                          \
            return NULL;                                                  \
        }                                                                 \
    } while (0)

static void
list_unlink_op(struct op *op)
{
    struct state *st = op->st;

    if (op->id >= 0 && op->id < st->nby_id && st->by_id[op->id] == op) {
        st->by_id[op->id] = NULL;
    }
    op->prev->next = op->next;
    op->next->prev = op->prev;
    op->prev = op->next = op;
}

static void
list_unlink_handle(struct handle *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
    h->prev = h->next = h;
}

/* Drop a handle's reference, giving back what its guards still hold. */
static void
handle_drop(struct handle *h)
{
    if (h->e == NULL) {
        return;
    }
    if (h->idle != NULL) {
        qsem_waiter_free(h->idle->w);  // idle: holds nothing
        free(h->idle);
        h->idle = NULL;
    }
    if (h->held > 0) {
        // Cannot fail: these tokens were taken from this semaphore.
        (void)qsem_release(h->sem, h->held);
        h->held = 0;
    }
    registry_drop(h->e);
    h->e = NULL;
    h->sem = NULL;
}

/* A zeroed op, or NULL. */
static struct op *
op_alloc(struct state *st)
{
    struct op *op = st->spare_ops;

    if (op == NULL) {
        return calloc(1, sizeof *op);
    }
    st->spare_ops = op->next;
    st->nspare_ops--;
    memset(op, 0, sizeof *op);
    return op;
}

/* Free an op of the thread `st`, or keep it for reuse. */
static void
op_free(struct state *st, struct op *op)
{
    if (st->dead || st->nspare_ops >= SPARE_OPS) {
        free(op);
        return;
    }
    op->next = st->spare_ops;
    st->spare_ops = op;
    st->nspare_ops++;
}

static void op_notify(void *arg);

/* An op for a wait of n tokens through h, with a core waiter bound to it:
 * the handle's idle one if it is for n tokens, else a new one.  NULL with
 * errno set (EINVAL: n above the semaphore's max; ENOMEM). */
static struct op *
op_get(struct state *st, struct handle *h, int64_t n)
{
    struct op *op = h->idle;
    int err;

    if (op != NULL && op->n == n) {
        h->idle = NULL;
        return op;
    }
    if ((op = op_alloc(st)) == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if ((op->w = qsem_waiter_new(h->sem, n, op_notify, op)) == NULL) {
        err = errno;
        op_free(st, op);
        errno = err;
        return NULL;
    }
    op->h = h;
    op->n = n;
    return op;
}

/* Done with an op that nothing else refers to, its waiter idle: keep both
 * for the handle's next wait, or free them. */
static void
op_put(struct state *st, struct op *op)
{
    struct handle *h = op->h;

    if (!st->dead && h->e != NULL && h->idle == NULL) {
        h->idle = op;
        return;
    }
    qsem_waiter_free(op->w);
    op->w = NULL;
    op_free(st, op);
}

/* Forget a queued wait: its waiter goes back to idle (giving back any
 * grant not claimed), and the op is kept or freed by op_put() unless a
 * posted call still refers to it. */
static void
op_finish(struct op *op)
{
    struct state *st = op->st;

    // Once it returns, notify has finished, so op->posted is final.
    (void)qsem_waiter_cancel(op->w);  // always 0
    list_unlink_op(op);
    if (--st->nops == 0 && !st->dead) {
        (void)napi_unref_threadsafe_function(st->env, st->tsfn);
    }
    if (op->posted) {
        // The posted call frees op, and must find no waiter to claim.
        qsem_waiter_free(op->w);
        op->w = NULL;
    } else {
        op_put(st, op);
    }
}

/* notify: on the releasing thread, the semaphore's lock held.  A grant
 * made by the waiting environment's own call (release() in the same loop)
 * goes to its ready list, completed before that call returns to
 * JavaScript; any other is posted to the tsfn, which takes only its own
 * lock and never blocks (unbounded queue).  The same thread is not
 * enough: a second instance of the addon in one thread (a cleared
 * require.cache loads it again) has an environment and a ready list of
 * its own, which the releasing call does not complete. */
static void
op_notify(void *arg)
{
    struct op *op = arg;
    struct state *st = op->st;
    op->posted = 1;
    if (pthread_equal(pthread_self(), st->thread) && st == cached_state) {
        op->ready_next = st->ready;
        st->ready = op;
        return;
    }
    if (napi_call_threadsafe_function(op->st->tsfn, op, napi_tsfn_nonblocking) != napi_ok) {
        // Closing: teardown frees the waiter; nothing refers to op.
        op->posted = 0;
    }
}

/* On the waiting thread's loop: claim the grant (or the close) of an op
 * that notify posted, and forget the op.  Returns 0 or ECANCELED for
 * index.js, or -1 if there is nothing to tell: the op was cancelled
 * meanwhile, or `forget` is set (teardown), which gives any grant back. */
static int
op_complete(struct op *op, int forget)
{
    int r;

    op->posted = 0;
    if (op->w == NULL) {
        // Cancelled meanwhile: the waiter and its grant are already gone.
        free(op);
        return -1;
    }
    if (forget) {
        op_finish(op);
        return -1;
    }
    r = qsem_waiter_claim(op->w);
    if (r == 0 && op->guard) {
        op->h->held += op->n;
    }
    op_finish(op);
    return r;
}

/* Tell index.js through dispatch(id, code). */
static void
call_dispatch(napi_env env, napi_value dispatch, int64_t id, int r)
{
    napi_value argv[2], undefined;

    if (napi_get_undefined(env, &undefined) != napi_ok ||
        napi_create_int64(env, id, &argv[0]) != napi_ok ||
        napi_create_int32(env, r, &argv[1]) != napi_ok) {
        return;
    }
    (void)napi_call_function(env, undefined, dispatch, 2, argv, NULL);
}

/* The tsfn's call: env is NULL when the tsfn is being torn down. */
static void
op_call_js(napi_env env, napi_value dispatch, void *context, void *data)
{
    struct op *op = data;
    int64_t id = op->id;
    int r;

    (void)context;
    r = op_complete(op, env == NULL);
    if (r >= 0) {
        call_dispatch(env, dispatch, id, r);
    }
}

/* Empty the ready list, returning it in the order of the grants. */
static struct op *
take_ready(struct state *st)
{
    struct op *in_order = NULL;
    while (st->ready != NULL) {
        struct op *op = st->ready;
        st->ready = op->ready_next;
        op->ready_next = in_order;
        in_order = op;
    }
    return in_order;
}

/* The pairs the completion buffer holds (index.js may only reset the
 * count to 0), and the most it can hold. */
static size_t
done_used(const struct state *st)
{
    double used = st->done[0];
    size_t cap = (st->done_len - 1) / 2;

    return used >= 0 && used <= (double)cap ? (size_t)used : cap;
}

/* Settle the k waits that the completion buffer holds, in order, having
 * emptied it first, as index.js's flush() does: settling runs JavaScript
 * (a signal's removeEventListener), which may release or queue, and so
 * use the buffer and the ids again; it must find there only what is new,
 * never these, which would settle a wait twice, or another wait that
 * reused an id.  -1 if dispatch cannot be called (teardown). */
static int
settle_done(napi_env env, struct state *st, size_t k)
{
    double copy[2 * DONE_PAIRS_MAX];
    napi_value dispatch;

    if (napi_get_reference_value(env, st->dispatch, &dispatch) != napi_ok) {
        return -1;
    }
    memcpy(copy, st->done + 1, 2 * k * sizeof copy[0]);
    st->done[0] = 0;
    for (size_t i = 0; i < k; i++) {
        call_dispatch(env, dispatch, (int64_t)copy[2 * i], (int)copy[2 * i + 1]);
    }
    return 0;
}

/* Complete, in grant order, the ops that this thread's own call granted.
 * Every exported function that can grant (release, close, cancel, expire)
 * calls this before it returns to JavaScript. */
static void
drain_ready(napi_env env, struct state *st)
{
    struct op *op, *next;

    for (op = take_ready(st); op != NULL; op = next) {
        int64_t id = op->id;
        size_t k;
        int r;

        next = op->ready_next;
        if ((r = op_complete(op, 0)) < 0) {
            continue;
        }
        // A full buffer: settle what it holds first, so that the waits
        // still settle in grant order.
        while (1 + 2 * ((k = done_used(st)) + 1) > st->done_len) {
            if (settle_done(env, st, k) != 0) {
                break;
            }
        }
        if (1 + 2 * (k + 1) > st->done_len) {
            continue;
        }
        st->done[1 + 2 * k] = (double)id;
        st->done[2 + 2 * k] = r;
        st->done[0] = (double)(k + 1);
    }
}

/* Where JavaScript cannot run (a finalizer), hand the ready ops to the
 * tsfn instead: they complete on a later turn of the loop. */
static void
defer_ready(struct state *st)
{
    struct op *op, *next;

    for (op = take_ready(st); op != NULL; op = next) {
        next = op->ready_next;
        if (napi_call_threadsafe_function(st->tsfn, op, napi_tsfn_nonblocking) != napi_ok) {
            (void)op_complete(op, 1);
        }
    }
}

/* Environment teardown: no waiter, guard or handle of this thread
 * survives it (docs/node.md, "Worker threads"). */
static void
state_cleanup(void *arg)
{
    struct state *st = arg;

    st->dead = 1;
    if (cached_state == st) {
        cached_env = NULL;
        cached_state = NULL;
    }
    // Ready ops are still queued, so op_finish() frees them; freeing one
    // waiter may give its grant to another of ours, hence the loop.
    do {
        for (struct op *op = take_ready(st); op != NULL; op = op->ready_next) {
            op->posted = 0;
        }
        if (st->ops.next != &st->ops) {
            op_finish(st->ops.next);
        }
    } while (st->ops.next != &st->ops || st->ready != NULL);
    while (st->handles.next != &st->handles) {
        struct handle *h = st->handles.next;
        handle_drop(h);
        h->st = NULL;
        st->slots[h->slot] = NULL;
        list_unlink_handle(h);
    }
    if (st->dispatch != NULL) {
        (void)napi_delete_reference(st->env, st->dispatch);
        st->dispatch = NULL;
    }
    if (st->exports_ref != NULL) {
        (void)napi_delete_reference(st->env, st->exports_ref);
        st->exports_ref = NULL;
    }
    if (st->io_ref != NULL) {
        (void)napi_delete_reference(st->env, st->io_ref);
        st->io_ref = NULL;
        st->io = NULL;
    }
    if (st->done_ref != NULL) {
        (void)napi_delete_reference(st->env, st->done_ref);
        st->done_ref = NULL;
    }
    if (st->tsfn != NULL) {
        // Posted ops left in its queue are freed by op_call_js(NULL, ...).
        (void)napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
        st->tsfn = NULL;
    }
}

static void
state_finalize(napi_env env, void *data, void *hint)
{
    struct state *st = data;
    (void)env;
    (void)hint;
    free(st->slots);
    free(st->free_slots);
    free(st->by_id);
    while (st->spare_ops != NULL) {
        struct op *op = st->spare_ops;
        st->spare_ops = op->next;
        free(op);
    }
    free(st);
}

/* }====================================================================== */

/* {======================================================================
** Helpers for the exported functions
** ======================================================================= */

/* This thread's state (see cached_state). */
static struct state *
get_state(napi_env env)
{
    void *data = NULL;

    if (env == cached_env) {
        return cached_state;
    }
    if (napi_get_instance_data(env, &data) != napi_ok || data == NULL) {
        return NULL;
    }
    cached_env = env;
    cached_state = data;
    return data;
}

/* Read argc arguments; missing ones are undefined. */
static int
get_args(napi_env env, napi_callback_info info, size_t argc, napi_value *argv)
{
    size_t n = argc;
    return napi_get_cb_info(env, info, &n, argv, NULL, NULL) == napi_ok;
}

/* The handle wrapped by the object `v`, or NULL with a TypeError thrown.
 * Slow (type tag, unwrap): for slot() only. */
static struct handle *
get_handle_object(napi_env env, napi_value v)
{
    bool ok = false;
    void *h = NULL;
    if (napi_check_object_type_tag(env, v, &handle_tag, &ok) != napi_ok || !ok ||
        napi_unwrap(env, v, &h) != napi_ok || h == NULL) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a qsem handle");
        return NULL;
    }
    if (((struct handle *)h)->e == NULL) {
        napi_throw_error(env, "ERR_QSEM_DEAD", "the qsem handle was dropped");
        return NULL;
    }
    return h;
}

/* The handle in slot `slot` of this thread, or NULL with an error thrown.
 * A double, so that a slot read from the io buffer is checked too. */
static inline struct handle *
slot_handle(napi_env env, struct state *st, double slot)
{
    struct handle *h = NULL;

    if (st != NULL && slot >= 0 && slot < st->nslots) {
        h = st->slots[(int32_t)slot];
    }
    if (h == NULL || h->sem == NULL || h->slot != slot) {
        napi_throw_error(env, "ERR_QSEM_DEAD", "no such qsem handle");
        return NULL;
    }
    return h;
}

/* The handle in slot `v` of this thread, or NULL with an error thrown. */
static struct handle *
get_handle(napi_env env, napi_value v)
{
    double slot;

    if (napi_get_value_double(env, v, &slot) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a qsem handle");
        return NULL;
    }
    return slot_handle(env, get_state(env), slot);
}

/* A count: an integer from 0 to 2^53 - 1, or -1 with an error thrown. */
static int64_t
count_of(napi_env env, double d)
{
    // In range first, so that the conversion is defined; then integral.
    if (!(d >= 0 && d <= 9007199254740991.0) || (double)(int64_t)d != d) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                               "a count must be an integer >= 0 && <= 2^53 - 1");
        return -1;
    }
    return (int64_t)d;
}

static int64_t
get_count(napi_env env, napi_value v)
{
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a count must be a number");
        return -1;
    }
    return count_of(env, d);
}

static int
get_bool(napi_env env, napi_value v)
{
    bool b = false;
    (void)napi_get_value_bool(env, v, &b);  // not a boolean: false
    return b;
}

static napi_value
make_int(napi_env env, int64_t v)
{
    napi_value r;
    CHECK(napi_create_int64(env, v, &r));
    return r;
}

static napi_value
make_bool(napi_env env, int v)
{
    napi_value r;
    CHECK(napi_get_boolean(env, v, &r));
    return r;
}

static void
handle_finalize(napi_env env, void *data, void *hint)
{
    struct handle *h = data;
    (void)env;
    (void)hint;
    if (h->st != NULL) {
        struct state *st = h->st;
        handle_drop(h);  // a guard's tokens may grant this thread's waits
        defer_ready(st);
        list_unlink_handle(h);
        st->slots[h->slot] = NULL;
        st->free_slots[st->nfree++] = h->slot;
    }
    free(h);
}

/* Make room for one more slot: 0, or -1 on allocation failure. */
static int
reserve_slot(struct state *st)
{
    int32_t n = st->nslots ? st->nslots * 2 : 16;
    struct handle **slots;
    int32_t *free_slots;

    if (st->nfree > 0) {
        return 0;
    }
    if (st->nslots > INT32_MAX / 2 ||
        (slots = realloc(st->slots, (size_t)n * sizeof *slots)) == NULL) {
        return -1;
    }
    st->slots = slots;
    if ((free_slots = realloc(st->free_slots, (size_t)n * sizeof *free_slots)) == NULL) {
        return -1;
    }
    st->free_slots = free_slots;
    for (int32_t i = n - 1; i >= st->nslots; i--) {
        st->slots[i] = NULL;
        st->free_slots[st->nfree++] = i;
    }
    st->nslots = n;
    return 0;
}

/* A JS object wrapping a new handle on e (whose reference it takes over). */
static napi_value
wrap_handle(napi_env env, struct state *st, struct entry *e)
{
    struct handle *h = calloc(1, sizeof *h);
    napi_value obj;

    if (h == NULL || reserve_slot(st) != 0) {
        free(h);
        registry_drop(e);
        napi_throw_error(env, "ERR_QSEM_NOMEM", "out of memory");
        return NULL;
    }
    h->e = e;
    h->sem = e->sem;
    h->st = st;
    h->prev = h->next = h;
    if (napi_create_object(env, &obj) != napi_ok ||
        napi_type_tag_object(env, obj, &handle_tag) != napi_ok ||
        napi_wrap(env, obj, h, handle_finalize, NULL, NULL) != napi_ok) {
        registry_drop(e);
        free(h);
        return NULL;
    }
    h->next = &st->handles;
    h->prev = st->handles.prev;
    st->handles.prev->next = h;
    st->handles.prev = h;
    h->slot = st->free_slots[--st->nfree];
    st->slots[h->slot] = h;
    return obj;
}

/* The op queued as `id` on this thread, or NULL. */
static struct op *
find_op(struct state *st, int64_t id)
{
    return id >= 0 && id < st->nby_id ? st->by_id[id] : NULL;
}

/* Room in by_id for `id`: 0, or ENOMEM with nothing changed. */
static int
by_id_room(struct state *st, int64_t id)
{
    int64_t n;
    struct op **p;

    if (id < st->nby_id) {
        return 0;
    }
    if (id >= INT32_MAX) {
        return ENOMEM;  // index.js reuses ids: this many waits at once cannot be
    }
    n = st->nby_id != 0 ? st->nby_id : 16;
    while (n <= id) {
        n *= 2;
    }
    if ((p = realloc(st->by_id, (size_t)n * sizeof *p)) == NULL) {
        return ENOMEM;
    }
    memset(p + st->nby_id, 0, (size_t)(n - st->nby_id) * sizeof *p);
    st->by_id = p;
    st->nby_id = n;
    return 0;
}

/* }====================================================================== */

/* {======================================================================
** Exported functions
** ======================================================================= */

static napi_value
Init(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[3], name;
    napi_typedarray_type type, io_type;
    void *data = NULL, *io = NULL;
    size_t len = 0, io_len = 0;

    if (!get_args(env, info, 3, argv) || st == NULL) {
        return NULL;
    }
    if (st->tsfn != NULL) {
        // A second index.js on the same addon in this thread: its waits
        // would complete through the first one's dispatch, never its own.
        napi_throw_error(env, "ERR_QSEM_LOADED_TWICE",
                         "qsem's addon is already in use by another copy of index.js "
                         "in this thread");
        return NULL;
    }
    // An ArrayBuffer's backing store never moves; the reference keeps it.
    if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok ||
        type != napi_float64_array || len < 3 || len > 1 + 2 * DONE_PAIRS_MAX) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "init() wants a Float64Array");
        return NULL;
    }
    if (napi_get_typedarray_info(env, argv[2], &io_type, &io_len, &io, NULL, NULL) != napi_ok ||
        io_type != napi_float64_array || io_len < IO_LEN) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "init() wants a Float64Array");
        return NULL;
    }
    CHECK(napi_create_reference(env, argv[2], 1, &st->io_ref));
    CHECK(napi_create_reference(env, argv[1], 1, &st->done_ref));
    st->done = data;
    st->done_len = len;
    st->done[0] = 0;
    CHECK(napi_create_reference(env, argv[0], 1, &st->dispatch));
    CHECK(napi_create_string_utf8(env, "qsem grant", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL,
                                               NULL, op_call_js, &st->tsfn));
    // A thread with no queued wait must be free to exit.
    CHECK(napi_unref_threadsafe_function(env, st->tsfn));
    // Added after the tsfn, so it runs before the tsfn's own teardown.
    CHECK(napi_add_env_cleanup_hook(env, state_cleanup, st));
    // Last: the io calls check it to know that init() has completed.
    st->io = io;
    return NULL;
}

/* serve(exports): index.js, once init() has run, leaves its exports here. */
static napi_value
Serve(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[1];
    napi_valuetype t;

    if (!get_args(env, info, 1, argv) || st == NULL) {
        return NULL;
    }
    if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "serve() wants an object");
        return NULL;
    }
    if (st->exports_ref == NULL) {
        CHECK(napi_create_reference(env, argv[0], 1, &st->exports_ref));
    }
    return NULL;
}

/* served(): the exports that serve() left in this thread, or undefined. */
static napi_value
Served(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value v = NULL;

    (void)info;
    if (st == NULL || st->exports_ref == NULL ||
        napi_get_reference_value(env, st->exports_ref, &v) != napi_ok || v == NULL) {
        CHECK(napi_get_undefined(env, &v));
    }
    return v;
}

static napi_value
Create(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[3];
    int64_t initial, max;
    qsem_t *sem;
    struct entry *e;

    if (!get_args(env, info, 3, argv) || st == NULL) {
        return NULL;
    }
    if ((initial = get_count(env, argv[0])) < 0 || (max = get_count(env, argv[1])) < 0) {
        return NULL;
    }
    sem = qsem_new(initial, max, get_bool(env, argv[2]) ? QSEM_FIFO : 0);
    if (sem == NULL) {
        if (errno == EINVAL) {
            napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "max must be >= initial");
        } else {
            napi_throw_error(env, "ERR_QSEM_NOMEM", "out of memory");
        }
        return NULL;
    }
    e = registry_add(sem);
    if (e == NULL) {
        qsem_unref(sem);
        napi_throw_error(env, "ERR_QSEM_NOMEM", "out of memory");
        return NULL;
    }
    return wrap_handle(env, st, e);
}

/* slot(object): the slot of the handle that create() or open() returned. */
static napi_value
Slot(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    struct handle *h;

    if (!get_args(env, info, 1, argv) || (h = get_handle_object(env, argv[0])) == NULL) {
        return NULL;
    }
    return make_int(env, h->slot);
}

static napi_value
Share(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    struct handle *h;

    if (!get_args(env, info, 1, argv) || (h = get_handle(env, argv[0])) == NULL) {
        return NULL;
    }
    return make_int(env, h->e->id);
}

static napi_value
Open(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[1], null;
    int64_t id;
    struct entry *e;

    if (!get_args(env, info, 1, argv) || st == NULL) {
        return NULL;
    }
    if ((id = get_count(env, argv[0])) < 0) {
        return NULL;
    }
    if ((e = registry_open(id)) == NULL) {
        CHECK(napi_get_null(env, &null));
        return null;
    }
    return wrap_handle(env, st, e);
}

/* The io calls' state and handle, or NULL with an error thrown. */
static inline struct handle *
io_handle(napi_env env, struct state **stp)
{
    struct state *st = get_state(env);

    *stp = st;
    if (st == NULL || st->io == NULL) {
        napi_throw_error(env, "ERR_QSEM_INIT", "init() was not called on this thread");
        return NULL;
    }
    return slot_handle(env, st, st->io[IO_SLOT]);
}

/* tryAcquire(): io[] = slot, n; io[0] := code (0 or EAGAIN, ECANCELED,
 * EINVAL). */
static napi_value
TryAcquire(napi_env env, napi_callback_info info)
{
    struct state *st;
    struct handle *h;
    int64_t n;

    (void)info;
    if ((h = io_handle(env, &st)) == NULL || (n = count_of(env, st->io[IO_N])) < 0) {
        return NULL;
    }
    st->io[0] = qsem_try_acquire(h->sem, n);
    return NULL;
}

static int queue_wait(napi_env env, struct state *st, struct handle *h, int64_t n,
                      int64_t id, int64_t deadline, int guard);

/* acquire(): io[] = slot, n, id, ms, guard; io[0] := 0 (taken),
 * EINPROGRESS (queued as id), ETIMEDOUT (ms == 0 and not free now),
 * ECANCELED, EINVAL or ENOMEM. */
static napi_value
Acquire(napi_env env, napi_callback_info info)
{
    struct state *st;
    struct handle *h;
    int64_t n, id, timeout_ns, deadline;
    int guard, r;

    (void)info;
    if ((h = io_handle(env, &st)) == NULL || (n = count_of(env, st->io[IO_N])) < 0 ||
        (id = count_of(env, st->io[IO_ID])) < 0) {
        return NULL;
    }
    if (qsem_timeout_from_sec(st->io[IO_MS] / 1e3, &timeout_ns) != 0) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "timeout must be a number >= 0");
        return NULL;
    }
    guard = st->io[IO_GUARD] != 0;
    // The deadline is fixed before anything else, so time spent here counts.
    deadline = qsem_deadline_after(timeout_ns);

    r = qsem_try_acquire(h->sem, n);
    if (r == EAGAIN) {
        r = timeout_ns == 0 ? ETIMEDOUT : EINPROGRESS;
    }
    if (r != EINPROGRESS) {
        if (r == 0 && guard) {
            h->held += n;
        }
        st->io[0] = r;
        return NULL;
    }
    st->io[0] = queue_wait(env, st, h, n, id, deadline, guard);
    return NULL;
}

/* Queue a wait for n tokens through h as `id`: EINPROGRESS, or 0 or
 * ECANCELED if served or closed at once, or EINVAL or ENOMEM. */
static int
queue_wait(napi_env env, struct state *st, struct handle *h, int64_t n, int64_t id,
           int64_t deadline, int guard)
{
    struct op *op;
    int r;

    if (by_id_room(st, id) != 0) {
        return ENOMEM;
    }
    if ((op = op_get(st, h, n)) == NULL) {
        return errno;
    }
    op->st = st;
    op->id = id;
    op->deadline = deadline;
    op->guard = guard;
    op->posted = 0;
    r = qsem_waiter_start(op->w);
    if (r != EINPROGRESS) {
        // Served (0) or closed at once; notify is not called.
        if (r == 0) {
            r = qsem_waiter_claim(op->w);
        }
        if (r == 0 && guard) {
            h->held += n;
        }
        op_put(st, op);  // its waiter is idle again
        return r;
    }
    op->next = &st->ops;
    op->prev = st->ops.prev;
    st->ops.prev->next = op;
    st->ops.prev = op;
    st->by_id[id] = op;
    if (st->nops++ == 0) {
        // A queued wait keeps the loop alive, as a pending timer does.
        (void)napi_ref_threadsafe_function(env, st->tsfn);
    }
    return EINPROGRESS;
}

/* acquireForever(): acquire() with no timeout and no guard, the common
 * call, which reads only io[] = slot, n, id; io[0] := 0, EINPROGRESS,
 * ECANCELED, EINVAL or ENOMEM.  With no timeout to check, nothing but
 * the try comes before the tokens are taken; the id, which only a queued
 * wait needs, is checked before the wait is queued. */
static napi_value
AcquireForever(napi_env env, napi_callback_info info)
{
    struct state *st;
    struct handle *h;
    int64_t n, id, timeout_ns;
    int r;

    (void)info;
    if ((h = io_handle(env, &st)) == NULL || (n = count_of(env, st->io[IO_N])) < 0) {
        return NULL;
    }
    r = qsem_try_acquire(h->sem, n);
    if (r == EAGAIN) {
        if ((id = count_of(env, st->io[IO_ID])) < 0) {
            return NULL;
        }
        (void)qsem_timeout_from_sec(INFINITY, &timeout_ns);  // forever: 0
        r = queue_wait(env, st, h, n, id, qsem_deadline_after(timeout_ns), 0);
    }
    st->io[0] = r;
    return NULL;
}

/* expire(id): the milliseconds left before the wait's deadline (Infinity
 * for none); 0 when it has passed, the wait then being cancelled with
 * nothing taken; -1 when no such wait is queued. */
static napi_value
Expire(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[1], r;
    struct op *op;
    int64_t id, now;

    if (!get_args(env, info, 1, argv) || st == NULL || (id = get_count(env, argv[0])) < 0) {
        return NULL;
    }
    if ((op = find_op(st, id)) == NULL) {
        return make_int(env, -1);
    }
    if (op->deadline == QSEM_FOREVER) {
        CHECK(napi_create_double(env, INFINITY, &r));
        return r;
    }
    now = qsem_now_ns();
    if (now >= op->deadline) {
        op_finish(op);  // a grant given back may serve another wait
        drain_ready(env, st);
        return make_int(env, 0);
    }
    // Round up, so that a timer never fires before the deadline.
    CHECK(napi_create_double(env, ceil((double)(op->deadline - now) / 1e6), &r));
    return r;
}

static napi_value
Cancel(napi_env env, napi_callback_info info)
{
    struct state *st = get_state(env);
    napi_value argv[1];
    struct op *op;
    int64_t id;

    if (!get_args(env, info, 1, argv) || st == NULL || (id = get_count(env, argv[0])) < 0) {
        return NULL;
    }
    if ((op = find_op(st, id)) == NULL) {
        return make_bool(env, 0);
    }
    op_finish(op);
    drain_ready(env, st);
    return make_bool(env, 1);
}

/* release(): io[] = slot, n, guard; io[0] := 0, EOVERFLOW or EINVAL (a
 * guard giving back more than its handle's guards hold: a bug in
 * index.js).  Written after the waits it granted are completed, since
 * completing one may call into JavaScript. */
static napi_value
Release(napi_env env, napi_callback_info info)
{
    struct state *st;
    struct handle *h;
    int64_t n;
    int guard, r;

    (void)info;
    if ((h = io_handle(env, &st)) == NULL || (n = count_of(env, st->io[IO_N])) < 0) {
        return NULL;
    }
    guard = st->io[IO_GUARD] != 0;
    if (guard && n > h->held) {
        st->io[0] = EINVAL;
        return NULL;
    }
    r = qsem_release(h->sem, n);
    if (r == 0 && guard) {
        h->held -= n;
    }
    if (st->ready != NULL) {
        drain_ready(env, st);
    }
    st->io[0] = r;
    return NULL;
}

static napi_value
Close(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    struct handle *h;

    if (!get_args(env, info, 1, argv) || (h = get_handle(env, argv[0])) == NULL) {
        return NULL;
    }
    (void)qsem_close(h->sem);  // idempotent; always 0
    drain_ready(env, h->st);
    return NULL;
}

#define GETTER(Name, expr)                                                \
    static napi_value                                                     \
    Name(napi_env env, napi_callback_info info)                           \
    {                                                                     \
        napi_value argv[1];                                               \
        struct handle *h;                                                 \
        if (!get_args(env, info, 1, argv) ||                              \
            (h = get_handle(env, argv[0])) == NULL) {                     \
            return NULL;                                                  \
        }                                                                 \
        return expr;                                                      \
    }

GETTER(Available, make_int(env, qsem_available(h->sem)))
GETTER(Waiting, make_int(env, qsem_waiting(h->sem)))
GETTER(Max, make_int(env, qsem_max(h->sem)))
GETTER(Closed, make_bool(env, qsem_is_closed(h->sem)))
GETTER(Held, make_int(env, h->held))

/* }====================================================================== */

/* {======================================================================
** Module initialisation (once per thread that loads the addon)
** ======================================================================= */

static napi_value
module_init(napi_env env, napi_value exports)
{
    struct state *st = calloc(1, sizeof *st);
    napi_value backend, key;

    if (st == NULL) {
        napi_throw_error(env, "ERR_QSEM_NOMEM", "out of memory");
        return NULL;
    }
    st->env = env;
    st->thread = pthread_self();
    st->ops.prev = st->ops.next = &st->ops;
    st->handles.prev = st->handles.next = &st->handles;
    if (napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok) {
        free(st);
        return NULL;
    }

#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
#define INT(name, v) {name, NULL, NULL, NULL, NULL, make_int(env, v), napi_enumerable, NULL}
    CHECK(napi_create_string_utf8(env, qsem_backend(), NAPI_AUTO_LENGTH, &backend));
    CHECK(napi_create_double(env, registry_key(), &key));
    napi_property_descriptor props[] = {
        FN("init", Init), FN("serve", Serve), FN("served", Served), FN("create", Create), FN("slot", Slot), FN("share", Share), FN("open", Open),
        FN("tryAcquire", TryAcquire), FN("acquire", Acquire), FN("acquireForever", AcquireForever), FN("expire", Expire),
        FN("cancel", Cancel), FN("release", Release), FN("close", Close),
        FN("available", Available), FN("waiting", Waiting), FN("max", Max),
        FN("closed", Closed), FN("held", Held),
        INT("EAGAIN", EAGAIN), INT("ETIMEDOUT", ETIMEDOUT), INT("ECANCELED", ECANCELED),
        INT("EINVAL", EINVAL), INT("EOVERFLOW", EOVERFLOW), INT("ENOMEM", ENOMEM),
        INT("EINPROGRESS", EINPROGRESS), INT("version", qsem_version()),
        {"registryKey", NULL, NULL, NULL, NULL, key, napi_enumerable, NULL},
        {"backend", NULL, NULL, NULL, NULL, backend, napi_enumerable, NULL},
    };
#undef FN
#undef INT
    CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
    return exports;
}

NAPI_MODULE(qsem, module_init)
