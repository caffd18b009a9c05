# SPDX-License-Identifier: MIT
"""The sleeping half of Semaphore.async_acquire() and `async with`.

The C module tries first and only calls in here when the tokens are not
free: it passes a Waiter (the core's async waiter, already bound to the
semaphore and the count) and the timeout in seconds, or None.  Here the
running library is found (an asyncio task's loop; else a trio task,
which in trio's guest mode runs in an asyncio loop's callbacks, where
that loop is the running one but no asyncio task is); an asyncio loop
with nothing else ready polls briefly (Waiter.poll); then the waiter is
started with a `wake` callable, and the task sleeps in its library's own
way.  `wake` runs on whichever thread
resolved the waiter, holding the GIL: from a task's step on the waiter's
own thread it wakes the task directly; elsewhere, and from a signal
handler, finalizer or callback on that thread (the loop may be asleep in
its selector, trio may be inside its own code: see _from_task_code), it
hands over through the loop's thread-safe entry (call_soon_threadsafe,
trio's run_sync_soon).  A `wake` that raised (a
signal handler's exception surfacing in it) is called again, so it must
be idempotent: the future's state, or trio's `settled`, is checked.

Whatever ends the wait (grant, timeout, close, cancellation, the
coroutine being closed), `finally: waiter.cancel()` runs or the Waiter is
freed, and either gives back any tokens that were granted and not
claimed.  A wait whose loop was closed under it ends when it is granted:
`wake` finds the loop closed and cancels, which gives the tokens back.
"""
import sys
import threading
from asyncio import _get_running_loop
from asyncio import current_task as _current_task
from asyncio import tasks as _tasks
from collections import deque
from types import FunctionType

_get_ident = threading.get_ident
if type(_current_task) is FunctionType:
    # 3.10 and 3.11: a Python function over this dict; the hand-off asks
    # it every time, so skip the frame.
    _current_task = getattr(_tasks, "_current_tasks").get


_modules = sys.modules


# The trio module _trio_context was found for, and that module's
# thread-local run context (None if it has none where expected).
_trio_seen = None
_trio_context = None


def _in_trio_task(trio):
    """True if the caller runs in a trio task.  An asyncio wait asks this
    whenever trio is imported, so it must be cheap: trio's in_trio_task()
    is hasattr() on its thread-local run context, which raises inside when
    the answer is no; looking in that object's __dict__ (this thread's)
    gives the same answer for a tenth of the cost.  Should trio's insides
    change, its public API answers."""
    global _trio_seen, _trio_context
    if trio is not _trio_seen:
        if getattr(trio, "lowlevel", None) is None:
            # Still being imported (by another thread): no task of it can
            # run yet.  Not remembered: it will be complete.
            return False
        try:
            context = trio._core._run.GLOBAL_RUN_CONTEXT
            context.__dict__
        except AttributeError:
            context = None
        _trio_context = context
        _trio_seen = trio
    if _trio_context is not None:
        return "task" in _trio_context.__dict__
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


async def acquire(waiter, timeout):
    loop = _get_running_loop()
    if loop is None or _current_task(loop) is None:
        # No asyncio task: a trio task, run by trio.run() or as a guest of
        # an asyncio loop (whose callbacks run it, outside any asyncio
        # task).  An asyncio task is asyncio's even where trio runs the
        # loop (trio-asyncio), or is being imported by another thread.
        trio = _modules.get("trio")
        if trio is not None and _in_trio_task(trio):
            return await _trio_wait(trio, waiter, timeout)
        if loop is None:
            raise RuntimeError(
                "qsem: async_acquire needs a running asyncio event loop or trio"
            )
    # asyncio, any loop: inline, as this is the common path.
    future = loop.create_future()
    thread = _get_ident()

    def resolve():
        if not future.done():
            future.set_result(None)

    def wake():
        try:
            if _get_ident() != thread or _current_task(loop) is None:
                # Another thread; or this one outside any task's step: a
                # callback, or a signal handler that ran while the loop
                # slept in its selector, which setting the future alone
                # would not wake.  The self-pipe write does.
                loop.call_soon_threadsafe(resolve)
            elif not future.done():
                # A task's step is running, so the loop is awake and runs
                # the ready queue next: resolve(), one frame less.
                future.set_result(None)
        except RuntimeError:
            # The loop is closed: no task will ever claim the tokens.
            waiter.cancel()

    timer = None
    try:
        # A loop with nothing else to run would only go to sleep in its
        # selector: poll a little first (bounded; see Waiter.poll and
        # docs/python.md).  Only asyncio's own loops say so (`_ready`);
        # uvloop keeps its queue in C, and never polls here.
        ready = getattr(loop, "_ready", None)
        if type(ready) is deque and not ready and waiter.poll(timeout):
            return True
        if waiter.start(wake):
            return True
        if timeout is not None:
            timer = loop.call_later(timeout, resolve)
        await future
        return waiter.claim()
    finally:
        if timer is not None:
            timer.cancel()
        waiter.cancel()


async def hold(waiter, timeout):
    guard = waiter.hold
    if not await acquire(waiter, timeout):
        raise TimeoutError(f"could not take {guard.n} tokens in time")
    return guard


# trio's package directory and the code of its task-step loop, for the
# trio module they were found for.
_trio_paths = None


def _from_task_code(trio):
    """True if the release() that called `wake` was made by a task's own
    code, so that rescheduling another task from it is as safe as trio's
    own primitives doing so.  A signal handler, or a finalizer, runs
    between any two bytecodes, also inside trio's own code while a task's
    step runs (delivering a cancel to the very task being woken) or
    between steps (draining the run queue): rescheduling there corrupts
    trio's state, and nothing marks such a call but where it landed.  So
    walk out from the caller of release(): task code reaches trio's
    task-step loop before any other frame of trio's; an interruption of
    trio's code meets that code first.  Any doubt answers False: the wake
    then goes through run_sync_soon, trio's signal-safe entry, which costs
    a trip through its I/O wait."""
    global _trio_paths
    if _trio_paths is None or _trio_paths[0] is not trio:
        try:
            step = trio._core._run.unrolled_run.__code__
            where = trio.__file__.rpartition("/")[0] + "/"
        except AttributeError:
            return False
        _trio_paths = (trio, where, step)
    where, step = _trio_paths[1], _trio_paths[2]
    frame = sys._getframe(2)   # 0: here, 1: wake, 2: what called release()
    while frame is not None:
        code = frame.f_code
        if code is step:
            return True
        if code.co_filename.startswith(where):
            return False
        frame = frame.f_back
    return False


async def _trio_wait(trio, waiter, timeout):
    task = trio.lowlevel.current_task()
    token = trio.lowlevel.current_trio_token()
    thread = _get_ident()
    # True once the task was rescheduled or its sleep aborted: one or the other.
    settled = False

    def reschedule():
        nonlocal settled
        if not settled:
            settled = True
            trio.lowlevel.reschedule(task)

    def wake():
        if _get_ident() == thread and _in_trio_task(trio) and _from_task_code(trio):
            reschedule()
            return
        try:
            token.run_sync_soon(reschedule)
        except trio.RunFinishedError:
            waiter.cancel()

    def abort(_raise_cancel):
        nonlocal settled
        if settled:
            return trio.lowlevel.Abort.FAILED
        settled = True
        return trio.lowlevel.Abort.SUCCEEDED

    try:
        if waiter.start(wake):
            # No checkpoint after this: a cancel landing there would lose
            # tokens that are already claimed.
            return True
        if timeout is None:
            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            with trio.move_on_after(timeout):
                await trio.lowlevel.wait_task_rescheduled(abort)
        return waiter.claim()
    finally:
        waiter.cancel()
