/* SPDX-License-Identifier: MIT */
/*
 * qsem_async.c: the coroutine half of qsem._qsem (Semaphore.async_acquire,
 * `async with`, the Waiter and Ready types).  Not compiled on its own:
 * qsemmodule.c includes it, after the Semaphore and Hold types it uses,
 * so that the extension stays one translation unit.
 */

/* {======================================================================
** Async: coroutines wait on the same queue as threads
** ======================================================================= */

/*
 * How a coroutine waits.  async_acquire() tries once, right here, and when
 * the tokens are free returns a Ready awaitable: no trip through the loop.
 * Otherwise it makes a Waiter (a core qsem_waiter_t) and returns the
 * coroutine qsem._async.acquire(waiter, timeout), which finds the running
 * library (asyncio, any loop; trio), polls briefly if an asyncio loop has
 * nothing else to run (Waiter_poll), starts the waiter with a `wake`
 * callable and sleeps in that library's own way.
 *
 * When the core grants or closes, it calls waiter_notify() on the thread
 * that made it happen, with its lock held and perhaps without the GIL: it
 * only pushes the waiter on its semaphore's `pending` stack.  That thread
 * then calls wake_async(), which, with the GIL, calls each waiter's `wake`:
 * that sets the future directly when the releaser is a task on the
 * waiter's loop, else hands over with call_soon_threadsafe (trio:
 * run_sync_soon).  A `wake` interrupted by a signal handler's exception
 * is called again, and the exception is raised by the call that released
 * (drain_pending()).  The
 * coroutine then claims the tokens, and always cancels the waiter on its
 * way out, so a task cancelled, timed out or dropped at any point gives
 * back what was granted and not claimed (the core's cancel does that).
 *
 * A started, unresolved waiter holds a reference to itself, so that the
 * pointer on the `pending` stack stays valid; whoever sees it last (drain,
 * or finish when the notify never came) drops it.
 */

typedef struct WaiterObject {
    PyObject_HEAD
    // the semaphore waited on (strong)
    SemaphoreObject *owner;
    // the guard to record the tokens in, for `async with sem.hold(n)` (strong), or NULL
    struct HoldObject *hold;
    // the guard's entry this wait is for (hold->entries when it began)
    uint64_t entry;
    // the core's waiter; freed in dealloc
    qsem_waiter_t *w;
    // tokens asked for
    int64_t n;
    // qsem_now_ns() when the wait began (poll or start), and when the core
    // granted it (set by waiter_notify()): for poll_learn()
    int64_t began_ns;
    _Atomic int64_t granted_ns;
    // 1 if poll() spun before start(): such a wait says nothing clean about
    // how soon the tokens come (the spin may have held the releaser up)
    int polled;
    // called with no arguments once the core resolves the waiter; set by start()
    PyObject *wake;
    // link on owner->pending
    struct WaiterObject *next;
    // set by waiter_notify() (any thread, lock held): the waiter is on `pending`
    atomic_int notified;
    // 1 while the waiter holds a reference to itself (started, not yet seen resolved)
    int queued;
    // 1 once started: a waiter serves one wait
    int started;
    // 1 once claimed or cancelled: nothing more to give back
    int done;
    // 1 if the tokens were claimed (they belong to the caller now)
    int claimed;
} WaiterObject;

/* Runs inside the core (see above): record, nothing else. */
static void
waiter_notify(void *arg)
{
    WaiterObject *wo = arg;
    SemaphoreObject *so = wo->owner;
    // When the tokens came, for poll_learn(): one vDSO clock read, the
    // clock of qsem_now_ns(), read directly as notify may call no qsem
    // function.
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    atomic_store_explicit(&wo->granted_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                          memory_order_relaxed);
    atomic_store_explicit(&wo->notified, 1, memory_order_relaxed);
    WaiterObject *head = atomic_load_explicit(&so->pending, memory_order_relaxed);
    do {
        wo->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&so->pending, &head, wo,
                                                    memory_order_release,
                                                    memory_order_relaxed));
}

/*
 * Call a resolved waiter's `wake`.  It can raise: a signal handler's
 * exception (Ctrl-C) surfaces at any bytecode of `wake` or of the loop's
 * call_soon_threadsafe.  That exception is the caller's to raise, but the
 * hand-off must still happen, or the task sleeps on tokens granted to it.
 * `wake` is idempotent (the future, or trio's `settled`, is checked), so it
 * is simply called again; the first exception is kept in *first (left as
 * is if already set), later ones are dropped.  Should it fail WAKE_TRIES
 * times in a row (the loop cannot be reached), the waiter is cancelled
 * instead, which gives its tokens back: the task then ends as a wait that
 * was not granted (its timeout, or its cancellation).
 */
#define WAKE_TRIES 8

/* An exception taken out of the interpreter's error indicator. */
typedef struct {
    PyObject *type, *value, *tb;
} saved_error;

static int waiter_finish(struct WaiterObject *self);

static void
wake_one(struct WaiterObject *wo, saved_error *first)
{
    for (int tries = 0; tries < WAKE_TRIES; tries++) {
        PyObject *r = PyObject_CallNoArgs(wo->wake);
        if (r != NULL) {
            Py_DECREF(r);
            return;
        }
        if (first->type == NULL) {
            PyErr_Fetch(&first->type, &first->value, &first->tb);
        }
        else {
            PyErr_Clear();
        }
    }
    (void)waiter_finish(wo);   // a nested drain: returns at once
}

static int
drain_pending(SemaphoreObject *self)
{
    if (self->draining) {
        return 0;
    }
    self->draining = 1;
    // A wake-up must not eat the exception of the call that caused it.
    saved_error caller;
    PyErr_Fetch(&caller.type, &caller.value, &caller.tb);
    // the first exception a `wake` raised
    saved_error failed = {NULL, NULL, NULL};
    WaiterObject *stack;
    while ((stack = atomic_exchange_explicit(&self->pending, NULL, memory_order_acquire))) {
        // The stack is newest first; wake in the order the core resolved.
        WaiterObject *fifo = NULL;
        while (stack != NULL) {
            WaiterObject *next = stack->next;
            stack->next = fifo;
            fifo = stack;
            stack = next;
        }
        while (fifo != NULL) {
            WaiterObject *wo = fifo;
            fifo = wo->next;
            wo->next = NULL;
            // The waiter's reference to itself is ours now.
            wo->queued = 0;
            if (!wo->done && wo->wake != NULL) {
                wake_one(wo, &failed);
            }
            Py_DECREF(wo);
        }
    }
    self->draining = 0;
    if (failed.type == NULL) {
        PyErr_Restore(caller.type, caller.value, caller.tb);
        return 0;
    }
    PyErr_Restore(failed.type, failed.value, failed.tb);
    if (caller.type != NULL) {
        // The caller is failing already: its exception goes on, ours is
        // reported.
        PyErr_WriteUnraisable((PyObject *)self);
        PyErr_Restore(caller.type, caller.value, caller.tb);
        return 0;
    }
    return -1;
}

static int hold_entered(struct HoldObject *hold, uint64_t entry);
static void hold_not_entered(struct HoldObject *hold, uint64_t entry);

static PyObject *
waiter_create(SemaphoreObject *owner, int64_t n, struct HoldObject *hold)
{
    module_state *state = find_module_state(Py_TYPE(owner));
    if (state == NULL) {
        return NULL;
    }
    WaiterObject *self = PyObject_GC_New(WaiterObject, state->Waiter_type);
    if (self == NULL) {
        return NULL;
    }
    self->owner = (SemaphoreObject *)Py_NewRef((PyObject *)owner);
    self->hold = (struct HoldObject *)Py_XNewRef((PyObject *)hold);
    self->entry = hold != NULL ? hold->entries : 0;
    self->wake = NULL;
    self->next = NULL;
    self->n = n;
    self->began_ns = 0;
    self->polled = 0;
    atomic_init(&self->granted_ns, 0);
    atomic_init(&self->notified, 0);
    self->queued = self->started = self->done = self->claimed = 0;
    self->w = qsem_waiter_new(owner->sem, n, waiter_notify, self);
    PyObject_GC_Track((PyObject *)self);
    if (self->w == NULL) {
        // n was checked against max already: this is ENOMEM.
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

/* The tokens are the caller's now: 0.  Or, for a guard's entry that
 * ended while it waited (its __exit__ was called by hand), they went back
 * at once: -1 with an exception set. */
static int
waiter_claimed(WaiterObject *self)
{
    self->done = 1;
    self->claimed = 1;
    if (self->hold != NULL && hold_entered(self->hold, self->entry) < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (self->n > 0 && give_tokens(self->owner, self->n) < 0) {
            PyErr_WriteUnraisable((PyObject *)self);   // the entry's error wins
        }
        PyErr_Restore(et, ev, tb);
        return -1;
    }
    return 0;
}

/* End the wait, whatever state it is in: leave the queue, give back what
 * was granted and not claimed, free a guard that was not entered.
 * Idempotent.  Returns -1 with an exception set if handing the tokens it
 * gave back to other tasks raised (they were handed over all the same;
 * see drain_pending()), else 0. */
static int
waiter_finish(WaiterObject *self)
{
    int r = 0, cancelled = 0;
    if (self->w != NULL && !self->done) {
        (void)qsem_waiter_cancel(self->w);
        self->done = 1;
        cancelled = 1;
    }
    if (self->hold != NULL && !self->claimed) {
        hold_not_entered(self->hold, self->entry);
    }
    // After the cancel, notify has run or never will: if it has not, the
    // waiter is on no stack and its reference to itself is ours to drop.
    int drop = self->queued && !atomic_load_explicit(&self->notified, memory_order_relaxed);
    if (drop) {
        self->queued = 0;
    }
    if (cancelled && self->owner != NULL) {
        // The cancel may have given tokens to other waiters.  (Only then:
        // a waiter whose tokens were claimed must not raise here, as the
        // coroutine that claimed them would lose them.)
        r = wake_async(self->owner);
    }
    if (drop) {
        Py_DECREF(self);
    }
    return r;
}

static PyObject *
Waiter_start(WaiterObject *self, PyObject *wake)
{
    if (self->started || self->w == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Waiter serves one wait");
        return NULL;
    }
    if (!PyCallable_Check(wake)) {
        PyErr_SetString(PyExc_TypeError, "wake must be callable");
        return NULL;
    }
    self->started = 1;
    if (self->began_ns == 0) {
        self->began_ns = qsem_now_ns();
    }
    Py_XSETREF(self->wake, Py_NewRef(wake));
    // Queued before the core can see it: a notify from another thread
    // needs the GIL to get any further than `pending`, and we hold it.
    self->queued = 1;
    Py_INCREF(self);
    int err = qsem_waiter_start(self->w);
    if (err == EINPROGRESS) {
        Py_RETURN_FALSE;
    }
    self->queued = 0;
    Py_DECREF(self);   // the caller's reference keeps it alive
    if (err == 0) {
        (void)qsem_waiter_claim(self->w);
        if (waiter_claimed(self) < 0) {
            return NULL;
        }
        Py_RETURN_TRUE;
    }
    self->done = 1;
    return (set_error(self->owner, err, 0), NULL);
}

/*
 * Poll for the tokens, with the GIL released, for a bounded and adaptive
 * time (poll_tokens_nogil), before the waiter is started.  qsem._async
 * calls it only when the task's event loop has nothing else ready to run,
 * so that a release from another thread, which usually comes within a few
 * microseconds in a handoff, is caught without a trip through the loop's
 * selector and its thread-safe wake-up.  Single tokens only, as the core
 * polls: a larger request queues at once, and its starvation clock starts
 * then.  The poll never runs past the wait's timeout.  True if the tokens
 * were taken (they are the caller's, as after a claim), else False.
 */
static PyObject *
Waiter_poll(WaiterObject *self, PyObject *timeout)
{
    if (self->started || self->w == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Waiter serves one wait");
        return NULL;
    }
    SemaphoreObject *owner = self->owner;
    int64_t rel_ns, budget;
    if (convert_timeout(timeout, &rel_ns) < 0) {
        return NULL;
    }
    self->began_ns = qsem_now_ns();
    if (rel_ns == WAIT_NONE || self->n != 1 || qsem_is_closed(owner->sem) ||
        (budget = poll_budget(owner)) == 0) {
        Py_RETURN_FALSE;
    }
    int err;
    self->polled = 1;
    Py_BEGIN_ALLOW_THREADS
    gil_dropped();
    err = poll_tokens_nogil(owner, self->n, budget, qsem_deadline_after(rel_ns));
    if (err == 0) {
        gil_handback(owner);
    }
    Py_END_ALLOW_THREADS
    if (err != 0) {
        // A close seen here is for start() to report.
        Py_RETURN_FALSE;
    }
    self->started = 1;
    if (waiter_claimed(self) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *
Waiter_claim(WaiterObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->claimed) {
        Py_RETURN_TRUE;
    }
    if (!self->started || self->done) {
        Py_RETURN_FALSE;
    }
    int err = qsem_waiter_claim(self->w);
    switch (err) {
    case 0:
        // notify has finished: granted_ns is set.
        if (self->n == 1 && !self->polled) {
            poll_learn(self->owner, atomic_load_explicit(&self->granted_ns, memory_order_relaxed) -
                                        self->began_ns);
        }
        if (waiter_claimed(self) < 0) {
            return NULL;
        }
        Py_RETURN_TRUE;
    case EINPROGRESS:
        Py_RETURN_FALSE;
    default:
        self->done = 1;
        return (set_error(self->owner, err, 0), NULL);
    }
}

static PyObject *
Waiter_cancel(WaiterObject *self, PyObject *Py_UNUSED(ignored))
{
    if (waiter_finish(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Waiter_get_hold(WaiterObject *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->hold != NULL ? (PyObject *)self->hold : Py_None);
}

static int
Waiter_traverse(WaiterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->owner);
    Py_VISIT(self->hold);
    Py_VISIT(self->wake);
    return 0;
}

static int
Waiter_clear(WaiterObject *self)
{
    // Only `wake` can close a cycle back to the waiter (its closure).
    Py_CLEAR(self->wake);
    return 0;
}

static void
Waiter_dealloc(WaiterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    // queued is 0 here: a queued waiter holds a reference to itself.
    if (waiter_finish(self) < 0) {
        PyErr_WriteUnraisable((PyObject *)self);
    }
    qsem_waiter_free(self->w);
    self->w = NULL;
    Py_CLEAR(self->wake);
    Py_CLEAR(self->hold);
    Py_CLEAR(self->owner);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef Waiter_methods[] = {
    {"start", (PyCFunction)Waiter_start, METH_O,
     PyDoc_STR("start($self, wake, /)\n--\n\n"
               "Take the tokens now (True) or queue (False); wake() is called once the\n"
               "waiter is resolved.  Raises ClosedError if closed.")},
    {"poll", (PyCFunction)Waiter_poll, METH_O,
     PyDoc_STR("poll($self, timeout, /)\n--\n\n"
               "Before start(): wait briefly (never past timeout, in seconds or None),\n"
               "without the GIL, for the tokens to come free and take them (True),\n"
               "else False.  For an event loop with nothing else to run.")},
    {"claim", (PyCFunction)Waiter_claim, METH_NOARGS,
     PyDoc_STR("claim($self, /)\n--\n\n"
               "Take granted tokens over: True; False if not granted (yet); ClosedError.")},
    {"cancel", (PyCFunction)Waiter_cancel, METH_NOARGS,
     PyDoc_STR("cancel($self, /)\n--\n\n"
               "Leave the queue, giving back anything granted and not claimed.")},
    {NULL, NULL}
};

static PyGetSetDef Waiter_getset[] = {
    {"hold", (getter)Waiter_get_hold, NULL, PyDoc_STR("The guard being entered, or None."), NULL},
    {NULL}
};

static PyType_Slot Waiter_slots[] = {
    {Py_tp_dealloc, Waiter_dealloc},
    {Py_tp_traverse, Waiter_traverse},
    {Py_tp_clear, Waiter_clear},
    {Py_tp_methods, Waiter_methods},
    {Py_tp_getset, Waiter_getset},
    {Py_tp_doc, (void *)PyDoc_STR("One async acquire in flight (internal to qsem._async).")},
    {0, NULL}
};

static PyType_Spec Waiter_spec = {
    .name = "qsem._qsem.Waiter",
    .basicsize = sizeof(WaiterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Waiter_slots,
};

/* Ready: an awaitable whose result is already known.  It is a
 * collections.abc.Coroutine (qsem/__init__.py registers it), so that
 * asyncio.create_task() takes it like the coroutine of the slow path.
 *
 * When the result is tokens taken at once (async_acquire, __aenter__),
 * the Ready owns them until its first step hands them over: a Ready that
 * is closed, thrown into (a task cancelled before it ran, wait_for with a
 * timeout of 0, a cancelled gather) or dropped unawaited gives them back,
 * as asyncio.Semaphore, which takes nothing until it runs, loses none. */

typedef struct {
    PyObject_HEAD
    PyObject *value;
    // the semaphore the tokens were taken from (strong), or NULL once the
    // first step handed them over or they went back
    SemaphoreObject *owner;
    int64_t n;
    // the guard they were taken for (strong), and its entry, or NULL
    struct HoldObject *hold;
    uint64_t entry;
    // finished (stepped, thrown into or closed): a coroutine that has
    // finished raises RuntimeError when awaited again, and so does this,
    // so that nobody is told twice that the tokens are theirs
    int finished;
} ReadyObject;

static PyObject *
ready_new(SemaphoreObject *owner, PyObject *value)
{
    module_state *state = find_module_state(Py_TYPE(owner));
    if (state == NULL) {
        return NULL;
    }
    ReadyObject *self = PyObject_New(ReadyObject, state->Ready_type);
    if (self == NULL) {
        return NULL;
    }
    self->value = Py_NewRef(value);
    self->owner = NULL;
    self->n = 0;
    self->hold = NULL;
    self->entry = 0;
    self->finished = 0;
    return (PyObject *)self;
}

/* A Ready for n tokens just taken from owner (for hold's entry, if not
 * NULL); on failure they go back before it returns NULL. */
static PyObject *
ready_owning(SemaphoreObject *owner, PyObject *value, int64_t n, struct HoldObject *hold)
{
    ReadyObject *self = (ReadyObject *)ready_new(owner, value);
    if (self == NULL) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (hold != NULL) {
            hold->held = 0;
            hold->busy = 0;
        }
        if (give_tokens(owner, n) < 0) {   // past max only if others gave back too much
            PyErr_WriteUnraisable((PyObject *)owner);
        }
        PyErr_Restore(et, ev, tb);
        return NULL;
    }
    self->owner = (SemaphoreObject *)Py_NewRef((PyObject *)owner);
    self->n = n;
    if (hold != NULL) {
        self->hold = (struct HoldObject *)Py_NewRef((PyObject *)hold);
        self->entry = hold->entries;
    }
    return (PyObject *)self;
}

/* The first step is over: the tokens are the awaiter's now. */
static void
ready_handed_over(ReadyObject *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->hold);
}

/* Give back the tokens the Ready still owns (a guard's, only if it is
 * still in the entry that took them).  0, or -1 with an exception set. */
static int
ready_give_back(ReadyObject *self)
{
    SemaphoreObject *owner = self->owner;
    struct HoldObject *hold = self->hold;
    int64_t n = self->n;
    int r = 0;

    if (owner == NULL) {
        return 0;
    }
    self->owner = NULL;
    self->hold = NULL;
    if (hold != NULL) {
        if (hold->entries == self->entry && hold->busy) {
            n = hold->held;   // as __exit__ would: exactly what is held
            hold->held = 0;
            hold->busy = 0;
        }
        else {
            n = 0;   // that entry ended already, by __exit__
        }
    }
    if (n > 0) {
        r = give_tokens(owner, n);
    }
    Py_XDECREF(hold);
    Py_DECREF(owner);
    return r;
}

/* Dropped before its first step ran: give back, and say so, as CPython
 * does for a coroutine never awaited. */
static void
Ready_finalize(ReadyObject *self)
{
    if (self->owner == NULL) {
        return;
    }
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "qsem: the awaitable of %s was never awaited; its %lld token(s) "
                         "went back", self->hold != NULL ? "Hold.__aenter__()" : "async_acquire()",
                         (long long)self->n) < 0) {
        PyErr_WriteUnraisable((PyObject *)self);
    }
    if (ready_give_back(self) < 0) {
        PyErr_WriteUnraisable((PyObject *)self);
    }
    PyErr_Restore(et, ev, tb);
}

static void
Ready_dealloc(ReadyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) {
        return;   // resurrected
    }
    Py_CLEAR(self->value);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->hold);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
Ready_await(ReadyObject *self)
{
    return Py_NewRef((PyObject *)self);
}

/* The first step ends it: StopIteration carrying the value.  Another
 * step raises, as for a finished coroutine. */
static PyObject *
Ready_iternext(ReadyObject *self)
{
    if (self->finished) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        return NULL;
    }
    self->finished = 1;
    ready_handed_over(self);
    if (self->value != Py_None) {
        // Wrapped, so that a value that is itself a tuple or an exception
        // is not mistaken for StopIteration's arguments.
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, self->value);
        if (stop == NULL) {
            return NULL;
        }
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *
Ready_send(ReadyObject *self, PyObject *Py_UNUSED(arg))
{
    PyObject *r = Ready_iternext(self);
    if (r == NULL && !PyErr_Occurred()) {
        PyErr_SetNone(PyExc_StopIteration);
    }
    return r;
}

/* An exception thrown in before the first step (a task cancelled before
 * it ran): the tokens go back, and it propagates. */
static PyObject *
Ready_throw(ReadyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw() takes 1 to 3 arguments");
        return NULL;
    }
    self->finished = 1;
    if (ready_give_back(self) < 0) {
        return NULL;
    }
    PyObject *typ = args[0];
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    }
    else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, nargs > 1 ? args[1] : NULL);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
    }
    return NULL;
}

static PyObject *
Ready_close(ReadyObject *self, PyObject *Py_UNUSED(ignored))
{
    self->finished = 1;
    if (ready_give_back(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Ready_methods[] = {
    {"send", (PyCFunction)Ready_send, METH_O,
     PyDoc_STR("send($self, value, /)\n--\n\nFinish: raise StopIteration with the result.")},
    {"throw", (PyCFunction)(void (*)(void))Ready_throw, METH_FASTCALL,
     PyDoc_STR("throw($self, typ, val=None, tb=None, /)\n--\n\nGive back the tokens; raise the exception given.")},
    {"close", (PyCFunction)Ready_close, METH_NOARGS,
     PyDoc_STR("close($self, /)\n--\n\nGive back the tokens, unless the first step took them.")},
    {NULL, NULL}
};

static PyType_Slot Ready_slots[] = {
    {Py_tp_dealloc, Ready_dealloc},
    {Py_tp_finalize, Ready_finalize},
    {Py_am_await, Ready_await},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, Ready_iternext},
    {Py_tp_methods, Ready_methods},
    {Py_tp_doc, (void *)PyDoc_STR("The awaitable of an async call that did not need to wait.")},
    {0, NULL}
};

static PyType_Spec Ready_spec = {
    .name = "qsem._qsem.Ready",
    .basicsize = sizeof(ReadyObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Ready_slots,
};

/* Import qsem._async's two entry points once.  Returns -1 with an
 * exception set, or 0. */
static int
import_async(module_state *state)
{
    PyObject *mod = PyImport_ImportModule("qsem._async");
    if (mod == NULL) {
        return -1;
    }
    PyObject *acquire = PyObject_GetAttrString(mod, "acquire");
    PyObject *hold = acquire == NULL ? NULL : PyObject_GetAttrString(mod, "hold");
    Py_DECREF(mod);
    if (hold == NULL) {
        Py_XDECREF(acquire);
        return -1;
    }
    Py_XSETREF(state->async_acquire, acquire);
    Py_XSETREF(state->async_hold, hold);
    return 0;
}

/* The coroutine qsem._async.acquire(waiter, timeout), or .hold() when
 * entering a guard, for a wait that must sleep. */
static PyObject *
async_wait(SemaphoreObject *owner, int64_t n, int64_t rel_ns, struct HoldObject *hold)
{
    module_state *state = find_module_state(Py_TYPE(owner));
    if (state == NULL) {
        return NULL;
    }
    if (state->async_hold == NULL && import_async(state) < 0) {
        return NULL;
    }
    PyObject *timeout = rel_ns == WAIT_FOREVER ? Py_NewRef(Py_None)
                                               : PyFloat_FromDouble((double)rel_ns / 1e9);
    if (timeout == NULL) {
        return NULL;
    }
    PyObject *waiter = waiter_create(owner, n, hold);
    if (waiter == NULL) {
        Py_DECREF(timeout);
        return NULL;
    }
    PyObject *args[] = {waiter, timeout};
    PyObject *coro = PyObject_Vectorcall(hold != NULL ? state->async_hold : state->async_acquire,
                                         args, 2, NULL);
    Py_DECREF(waiter);
    Py_DECREF(timeout);
    return coro;
}

/* async_acquire's body once the arguments are known. */
static PyObject *
async_take(SemaphoreObject *self, int64_t n, int64_t rel_ns)
{
    int r = take_tokens(self, n, WAIT_NONE);
    if (r < 0) {
        return NULL;
    }
    if (r == 1) {
        return ready_owning(self, Py_True, n, NULL);
    }
    if (rel_ns == WAIT_NONE) {
        return ready_new(self, Py_False);
    }
    return async_wait(self, n, rel_ns, NULL);
}

static PyObject *
Semaphore_async_acquire(SemaphoreObject *self, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames)
{
    static const char *const names[] = {"n", "timeout"};
    PyObject *argv[2];
    int64_t n = 1;
    int64_t rel_ns = WAIT_FOREVER;

    if (nargs != 0 || kwnames != NULL) {
        if (parse_args("async_acquire", args, nargs, kwnames, names, 2, 2, argv) < 0) {
            return NULL;
        }
        if (argv[0] != NULL && convert_count(argv[0], "n", &n) < 0) {
            return NULL;
        }
        if (argv[1] != NULL && convert_timeout(argv[1], &rel_ns) < 0) {
            return NULL;
        }
    }
    return async_take(self, n, rel_ns);
}

static PyObject *
Semaphore_aenter(SemaphoreObject *self, PyObject *Py_UNUSED(ignored))
{
    return async_take(self, 1, WAIT_FOREVER);
}

static PyObject *
Semaphore_aexit(SemaphoreObject *self, PyObject *const *Py_UNUSED(args),
                Py_ssize_t Py_UNUSED(nargs))
{
    if (exit_release(self) < 0) {
        return NULL;
    }
    return ready_new(self, Py_None);
}

/* `async with sem.hold(n, timeout):` */

/* Entry `entry` of the guard has its tokens: 0.  If that entry is over
 * (its __exit__ was called while it waited), -1 with RuntimeError: the
 * caller gives the tokens back. */
static int
hold_entered(struct HoldObject *hold, uint64_t entry)
{
    if (hold->entries != entry || !hold->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object exited while its entry waited");
        return -1;
    }
    hold->held = hold->n;
    return 0;
}

/* Entry `entry` of the guard ends without tokens; a later entry is not
 * its to end. */
static void
hold_not_entered(struct HoldObject *hold, uint64_t entry)
{
    if (hold->entries == entry) {
        hold->busy = 0;
    }
}

static PyObject *
Hold_aenter(HoldObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->owner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object is no longer usable");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Hold object is already entered");
        return NULL;
    }
    self->busy = 1;
    self->entries++;
    int r = take_tokens(self->owner, self->n, WAIT_NONE);
    if (r == 1) {
        self->held = self->n;
        return ready_owning(self->owner, (PyObject *)self, self->n, self);
    }
    if (r == 0 && self->rel_ns != WAIT_NONE) {
        // `busy` stays set until the waiter claims or is finished.
        return async_wait(self->owner, self->n, self->rel_ns, self);
    }
    self->busy = 0;
    if (r == 0) {
        PyErr_Format(PyExc_TimeoutError, "could not take %lld tokens in time",
                     (long long)self->n);
    }
    return NULL;
}

static PyObject *
Hold_aexit(HoldObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *r = Hold_exit(self, args, nargs);
    if (r == NULL) {
        return NULL;
    }
    Py_DECREF(r);
    return ready_new(self->owner, Py_None);
}

/* }====================================================================== */
