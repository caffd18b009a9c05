# SPDX-License-Identifier: MIT
"""Coroutines on the same semaphore as threads: async_acquire, `async with`
and `async with sem.hold(n)` under asyncio (default loop and uvloop), trio
and anyio; cancellation of every kind gives back what was granted."""
import asyncio
import gc
import sys
import threading
import time

import pytest

import qsem

trio = pytest.importorskip("trio")
anyio = pytest.importorskip("anyio")
uvloop = pytest.importorskip("uvloop")


def run_asyncio(main, loop_kind="asyncio"):
    if loop_kind == "uvloop":
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def settle(sem, available, waiting=0, within=10.0):
    """Wait (bounded, generous) for the counts other threads are settling."""
    end = time.monotonic() + within
    while (sem.available(), sem.waiting()) != (available, waiting):
        assert time.monotonic() < end, (sem.available(), sem.waiting())
        time.sleep(0.001)


# ---------------------------------------------------------------- fast path

def test_free_tokens_need_no_trip_through_the_loop():
    s = qsem.Semaphore(3)
    coro = s.async_acquire(n=2)
    # The first step finishes it: nothing was scheduled, nothing suspended.
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    assert stop.value.value is True
    assert s.available() == 1


def test_fast_and_slow_results_are_both_tasks():
    async def main():
        s = qsem.Semaphore(1)
        assert await asyncio.create_task(s.async_acquire())
        slow = asyncio.create_task(s.async_acquire())
        await asyncio.sleep(0)
        s.release()
        assert await slow
        assert await asyncio.wait_for(s.async_acquire(timeout=0), 5) is False
    run_asyncio(main)


def test_same_argument_rules_as_acquire():
    s = qsem.BoundedSemaphore(2)
    with pytest.raises(ValueError, match="maximum"):
        s.async_acquire(n=3)
    with pytest.raises(ValueError, match="negative"):
        s.async_acquire(n=-1)
    with pytest.raises(ValueError, match="NaN"):
        s.async_acquire(timeout=float("nan"))
    with pytest.raises(TypeError):
        s.async_acquire(timeout="soon")
    with pytest.raises(TypeError, match="async_acquire"):
        s.async_acquire(1, 2, 3)
    assert s.available() == 2


def test_zero_or_negative_timeout_tries_once():
    async def main():
        s = qsem.Semaphore(0)
        assert await s.async_acquire(timeout=0) is False
        assert await s.async_acquire(timeout=-1) is False
        assert s.waiting() == 0
    run_asyncio(main)


def test_needs_a_running_library():
    s = qsem.Semaphore(0)
    coro = s.async_acquire()
    with pytest.raises(RuntimeError, match="event loop"):
        coro.send(None)
    assert s.waiting() == 0


# ---------------------------------------------------------- waits and wakes

@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_loop_keeps_running_while_a_thousand_tasks_wait(loop_kind):
    async def main():
        s = qsem.Semaphore(0)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        tasks = [asyncio.create_task(s.async_acquire()) for _ in range(1000)]
        await asyncio.sleep(0.2)
        assert s.waiting() == 1000
        assert ticks >= 5  # generous: a loaded machine still ticks
        threading.Thread(target=s.release, args=(1000,)).start()
        assert all(await asyncio.gather(*tasks))
        t.cancel()
        assert (s.available(), s.waiting()) == (0, 0)
    run_asyncio(main, loop_kind)


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_release_from_a_thread_wakes_a_task(loop_kind):
    async def main():
        s = qsem.Semaphore(0)
        threading.Timer(0.02, s.release, args=(2,)).start()
        assert await s.async_acquire(n=2, timeout=30)
        assert s.available() == 0
    run_asyncio(main, loop_kind)


def test_timeout_returns_false_and_leaves_the_queue():
    async def main():
        s = qsem.Semaphore(1)
        assert await s.async_acquire(n=2, timeout=0.02) is False
        assert (s.available(), s.waiting()) == (1, 0)
    run_asyncio(main)


def test_async_with_and_hold():
    async def main():
        s = qsem.Semaphore(3)
        async with s as got:
            assert got is True
            assert s.available() == 2
        async with s.hold(3) as g:
            assert g.held == 3 and s.available() == 0
        assert s.available() == 3
        s.acquire(n=3)
        threading.Timer(0.02, s.release, args=(3,)).start()
        async with s.hold(2, timeout=30) as g:
            assert g.held == 2 and s.available() == 1
        assert g.held == 0 and s.available() == 3
        s.acquire(n=3)
        with pytest.raises(TimeoutError):
            async with s.hold(1, timeout=0.02):
                pytest.fail("entered without the tokens")
        with pytest.raises(TimeoutError):
            async with s.hold(1, timeout=0):
                pytest.fail("entered without the tokens")
        # A guard that failed to enter can be entered again.
        g = s.hold(1, timeout=0.01)
        with pytest.raises(TimeoutError):
            async with g:
                pass
        s.release(3)
        async with g:
            assert g.held == 1
        assert (s.available(), s.waiting()) == (3, 0)
    run_asyncio(main)


def test_hold_cannot_be_entered_twice_at_once():
    async def main():
        s = qsem.Semaphore(0)
        g = s.hold(1)
        t = asyncio.create_task(g.__aenter__())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already entered"):
            await g.__aenter__()
        s.release()
        assert await t is g
        await g.__aexit__(None, None, None)
        assert s.available() == 1
    run_asyncio(main)


# ------------------------------------------------------------- cancellation

def test_task_cancel_leaves_the_queue():
    async def main():
        s = qsem.Semaphore(0)
        t = asyncio.create_task(s.async_acquire(n=2))
        await asyncio.sleep(0.01)
        assert s.waiting() == 1
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert s.waiting() == 0
        s.release(2)
        assert s.available() == 2
    run_asyncio(main)


def test_cancel_after_the_grant_gives_the_tokens_back():
    async def main():
        s = qsem.Semaphore(0)
        t = asyncio.create_task(s.async_acquire(n=2))
        await asyncio.sleep(0.01)
        s.release(2)      # granted (the future is set) ...
        t.cancel()        # ... but the task is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await t
        assert (s.available(), s.waiting()) == (2, 0)
    run_asyncio(main)


def test_cancel_of_a_hold_gives_back_and_frees_the_guard():
    async def main():
        s = qsem.Semaphore(0)
        g = s.hold(2)

        async def body():
            async with g:
                pytest.fail("entered")

        t = asyncio.create_task(body())
        await asyncio.sleep(0.01)
        s.release(2)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert (s.available(), s.waiting(), g.held) == (2, 0, 0)
        async with g:  # not stuck "already entered"
            pass
    run_asyncio(main)


def test_wait_for_timeout_cancels():
    async def main():
        s = qsem.Semaphore(0)
        with pytest.raises((asyncio.TimeoutError, TimeoutError)):
            await asyncio.wait_for(s.async_acquire(), 0.02)
        assert s.waiting() == 0
        s.release()
        assert s.available() == 1
    run_asyncio(main)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_asyncio_timeout_cancels():
    async def main():
        s = qsem.Semaphore(0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await s.async_acquire()
        assert s.waiting() == 0
    run_asyncio(main)


def test_loop_closed_with_waiters_loses_nothing():
    s = qsem.Semaphore(0)
    loop = asyncio.new_event_loop()
    tasks = [loop.create_task(s.async_acquire(n=2)) for _ in range(3)]
    loop.run_until_complete(asyncio.sleep(0.01))
    assert s.waiting() == 3
    loop.close()  # the tasks are never resumed
    # A release grants the first waiter, whose loop is gone: the tokens must
    # come back and go to the next, and so on, until nobody holds them.
    s.release(2)
    del tasks
    gc.collect()
    assert s.available() == 2
    assert s.waiting() == 0


def test_thread_whose_loop_stops_loses_nothing():
    s = qsem.Semaphore(0)
    queued = threading.Event()

    def loop_thread():
        async def main():
            t = asyncio.create_task(s.async_acquire(n=3))
            await asyncio.sleep(0.01)
            queued.set()
            await asyncio.sleep(0.05)
            return t  # returns with the task still waiting

        asyncio.run(main())  # cancels the waiting task on the way out

    th = threading.Thread(target=loop_thread)
    th.start()
    th.join()
    assert queued.is_set()
    assert s.waiting() == 0
    s.release(3)
    assert s.available() == 3


def test_dropped_coroutine_leaves_the_queue():
    async def main():
        s = qsem.Semaphore(0)
        coro = s.async_acquire()
        it = coro.__await__()
        next(it)  # suspended inside the wait
        assert s.waiting() == 1
        del it, coro
        gc.collect()
        assert s.waiting() == 0
    run_asyncio(main)


# Tokens free at the call are taken at once; the awaitable owns them until
# its first step hands them over.  Whatever ends it before that gives them
# back, as asyncio.Semaphore, which takes nothing until it runs, loses none.

def test_awaitable_closed_or_dropped_before_its_first_step_gives_back():
    s = qsem.Semaphore(4)
    aw = s.async_acquire(2)
    assert s.available() == 2
    aw.close()
    assert s.available() == 4
    aw.close()  # once only
    assert s.available() == 4
    with pytest.warns(RuntimeWarning, match="never awaited"):
        aw = s.async_acquire(3)
        del aw
        gc.collect()
    assert s.available() == 4
    h = s.hold(2)
    with pytest.warns(RuntimeWarning, match="never awaited"):
        aw = h.__aenter__()
        assert (s.available(), h.held) == (2, 2)
        del aw
        gc.collect()
    assert (s.available(), h.held) == (4, 0)
    with h:  # the guard is free again
        assert s.available() == 2
    assert s.available() == 4


def test_awaitable_served_at_once_cannot_be_awaited_twice():
    # As a finished coroutine: a second await raises, so nobody is told
    # twice that the tokens are theirs (and gives back two).
    async def main():
        s = qsem.Semaphore(1)
        aw = s.async_acquire()
        assert await aw is True
        with pytest.raises(RuntimeError, match="already awaited"):
            await aw
        with pytest.raises(RuntimeError, match="already awaited"):
            aw.send(None)
        assert s.available() == 0
        s.release()
        h = s.hold(1)
        aw = h.__aenter__()
        assert await aw is h
        with pytest.raises(RuntimeError, match="already awaited"):
            await aw
        assert (s.available(), h.held) == (0, 1)
        await h.__aexit__(None, None, None)
        assert s.available() == 1
        # closed, or thrown into, first: finished too
        aw = s.async_acquire()
        aw.close()
        with pytest.raises(RuntimeError, match="already awaited"):
            await aw
        assert s.available() == 1

    run_asyncio(main)


def test_awaitable_cancelled_before_its_first_step_gives_back():
    async def main():
        s = qsem.Semaphore(4)
        t = asyncio.create_task(s.async_acquire(1))
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert s.available() == 4
        h = s.hold(3)
        t = asyncio.create_task(h.__aenter__())
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert (s.available(), h.held) == (4, 0)
        g = asyncio.gather(*(s.async_acquire(1) for _ in range(3)))
        g.cancel()
        with pytest.raises(asyncio.CancelledError):
            await g
        assert s.available() == 4
        for _ in range(20):
            try:
                got = await asyncio.wait_for(s.async_acquire(1), 0)
            except asyncio.TimeoutError:
                got = False
            if got:
                s.release(1)
            assert s.available() == 4
        # run to its first step: the tokens are the task's
        assert await asyncio.create_task(s.async_acquire(2)) is True
        assert s.available() == 2
    run_asyncio(main)


def test_thrown_into_after_its_first_step_keeps_the_tokens():
    s = qsem.Semaphore(2)
    aw = s.async_acquire(1).__await__()
    with pytest.raises(StopIteration):
        next(aw)
    assert s.available() == 1
    with pytest.raises(KeyError):
        aw.throw(KeyError("late"))
    aw.close()
    assert s.available() == 1  # the awaiter took them: its to give back
    s.release(1)


def test_close_wakes_every_task_with_closed_error():
    async def main():
        s = qsem.Semaphore(0)
        tasks = [asyncio.create_task(s.async_acquire()) for _ in range(5)]
        tasks.append(asyncio.create_task(s.hold(2).__aenter__()))
        await asyncio.sleep(0.01)
        threading.Thread(target=s.close).start()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, qsem.ClosedError) for r in results), results
        with pytest.raises(qsem.ClosedError):
            s.async_acquire()
        assert s.waiting() == 0
    run_asyncio(main)


# ------------------------------------------------------------ trio and anyio

def test_trio_wait_wake_and_cancel():
    async def main():
        s = qsem.Semaphore(0)
        threading.Timer(0.02, s.release).start()
        assert await s.async_acquire(timeout=30)
        with trio.move_on_after(0.02) as scope:
            await s.async_acquire()
        assert scope.cancelled_caught
        assert s.waiting() == 0
        assert await s.async_acquire(timeout=0.01) is False
        async with trio.open_nursery() as nursery:
            async def holder():
                async with s.hold(2) as g:
                    assert g.held == 2

            nursery.start_soon(holder)
            await trio.sleep(0.01)
            s.release(2)
        assert (s.available(), s.waiting()) == (2, 0)

    trio.run(main)


def test_trio_guest_mode_on_an_asyncio_host():
    # In guest mode trio's tasks run in the host loop's callbacks, where
    # that asyncio loop is the running one: a trio task must still get a
    # trio wait, and an asyncio task of the host an asyncio one.
    s = qsem.Semaphore(0)

    async def trio_main():
        return await s.async_acquire(timeout=30)

    async def asyncio_main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        trio.lowlevel.start_guest_run(
            trio_main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=done.set_result,
        )
        host = asyncio.ensure_future(s.async_acquire(timeout=30))
        while s.waiting() < 2 and not done.done():
            await asyncio.sleep(0.001)
        threading.Timer(0.01, s.release, args=(2,)).start()
        return (await done).unwrap(), await host

    assert run_asyncio(asyncio_main) == (True, True)
    assert (s.available(), s.waiting()) == (0, 0)


_TRIO_ASYNCIO = """
import asyncio, threading, trio, trio_asyncio, qsem
s = qsem.Semaphore(0)
async def aio_part():
    threading.Timer(0.02, s.release).start()
    return await s.async_acquire(timeout=30)
async def main():
    async with trio_asyncio.open_loop():
        return await trio_asyncio.aio_as_trio(aio_part)()
print(trio.run(main), s.available(), s.waiting())
"""


def test_asyncio_under_trio_asyncio():
    # trio-asyncio runs an asyncio loop inside a trio task: trio has a
    # current task while asyncio's coroutines run, and they must still
    # get an asyncio wait.  In a process of its own: trio-asyncio
    # installs its event loop policy for the whole process.
    import subprocess

    r = subprocess.run([sys.executable, "-c", _TRIO_ASYNCIO], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "0", "0"]


_TRIO_SIGNAL_RELEASE = """
import signal, time, trio, qsem
s = qsem.Semaphore(0)
released = got = 0
def handler(signum, frame):
    global released
    released += 1
    s.release()
signal.signal(signal.SIGALRM, handler)
stop = time.monotonic() + 2
async def worker():
    global got
    while time.monotonic() < stop:
        with trio.move_on_after(0.002):
            if await s.async_acquire():
                got += 1
        await trio.sleep(0)
async def main():
    async with trio.open_nursery() as nursery:
        for _ in range(40):
            nursery.start_soon(worker)
signal.setitimer(signal.ITIMER_REAL, 1 / 3000, 1 / 3000)
trio.run(main)
signal.setitimer(signal.ITIMER_REAL, 0)
print(released == got + s.available(), s.waiting())
"""


def test_trio_release_from_a_signal_handler():
    # A handler runs between any two bytecodes of the main thread, also in
    # the middle of trio's own scheduling (delivering a cancel, draining
    # its run queue), where rescheduling a task corrupts trio's state: the
    # wake must go through trio's signal-safe entry there.  Rescheduling
    # directly, this crashed trio (TrioInternalError) or hung it.  In a
    # process of its own: signals and trio.run in its main thread.
    import subprocess

    r = subprocess.run([sys.executable, "-c", _TRIO_SIGNAL_RELEASE], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "0"]


_TRIO_SIGNAL_RELEASE_WHILE_CANCELLING = """
import random, signal, trio, qsem
s = qsem.Semaphore(0)
released = got = 0
done = False
scopes = []
def handler(signum, frame):
    global released
    released += 1
    s.release()
async def waiter():
    global got
    while not done:
        with trio.CancelScope() as scope:
            scopes.append(scope)
            if await s.async_acquire():
                got += 1
        if scope in scopes:
            scopes.remove(scope)
        await trio.lowlevel.checkpoint()
async def main():
    global done
    async with trio.open_nursery() as nursery:
        for _ in range(40):
            nursery.start_soon(waiter)
        for _ in range(20000):   # a task's step inside trio's cancel delivery
            if scopes:
                random.choice(scopes).cancel()
            await trio.lowlevel.checkpoint()
        done = True
        nursery.cancel_scope.cancel()
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 1 / 5000, 1 / 5000)
trio.run(main)
signal.setitimer(signal.ITIMER_REAL, 0)
print(released == got + s.available(), s.waiting())
"""


def test_trio_release_from_a_signal_handler_while_a_task_cancels():
    # The handler also lands inside trio's code run by a task's step: here
    # a task cancelling another's scope, trio delivering that cancel to the
    # very task the release wakes.  Woken directly there, trio.run failed
    # its own assertion (FATAL INTERNAL ERROR) in about 6 runs of 10.
    import subprocess

    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", _TRIO_SIGNAL_RELEASE_WHILE_CANCELLING],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["True", "0"]


def test_asyncio_wait_while_another_thread_imports_trio(monkeypatch):
    # While another thread runs `import trio`, sys.modules holds the
    # half-built module: an asyncio task's wait must not look into it,
    # and the trio check neither fails on it nor remembers it.
    import types

    import qsem._async as impl

    half = types.ModuleType("trio")
    monkeypatch.setitem(sys.modules, "trio", half)
    s = qsem.Semaphore(0)

    async def main():
        asyncio.get_running_loop().call_later(0.01, s.release)
        return await s.async_acquire(timeout=30)

    assert run_asyncio(main) is True
    assert impl._in_trio_task(half) is False
    assert impl._trio_seen is not half
    assert (s.available(), s.waiting()) == (0, 0)


def test_trio_close_wakes_with_closed_error():
    async def main():
        s = qsem.Semaphore(0)
        errors = []

        async def waiter():
            try:
                await s.async_acquire()
            except qsem.ClosedError as e:
                errors.append(e)

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(waiter)
            await trio.sleep(0.01)
            s.close()
        assert len(errors) == 3

    trio.run(main)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_on_both_backends(backend):
    async def main():
        s = qsem.Semaphore(0)
        done = []

        async def worker(i):
            async with s:
                done.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(worker, i)
            await anyio.sleep(0.01)
            assert s.waiting() == 10
            s.release()
        with anyio.move_on_after(0.02):
            await s.async_acquire(n=5)
        assert (sorted(done), s.available(), s.waiting()) == (list(range(10)), 1, 0)

    anyio.run(main, backend=backend)


# ------------------------------------------------- one queue, many loops

def test_fifo_queue_is_shared_by_threads_and_tasks():
    s = qsem.Semaphore(0, fair=True)
    order = []

    def thread_waiter():
        s.acquire()
        order.append("thread")

    th = threading.Thread(target=thread_waiter)
    th.start()
    settle(s, 0, 1)

    async def main():
        t = asyncio.create_task(s.async_acquire())
        await asyncio.sleep(0.01)
        assert s.waiting() == 2
        s.release()          # the thread queued first
        await asyncio.sleep(0.05)
        assert not t.done()
        s.release()
        assert await t
        order.append("task")

    run_asyncio(main)
    th.join()
    assert order == ["thread", "task"]


def test_release_on_the_waiters_own_loop_hands_over_directly():
    async def main():
        s = qsem.Semaphore(0)
        t = asyncio.create_task(s.async_acquire())
        await asyncio.sleep(0)
        s.release()   # same thread: the future is set right here
        await asyncio.sleep(0)
        assert t.done() and t.result() is True
    run_asyncio(main)


def test_trio_grant_at_start_in_a_cancelled_scope_loses_nothing():
    async def main():
        s = qsem.Semaphore(0)
        coro = s.async_acquire(n=2)  # no tokens now: the waiting coroutine
        s.release(2)                 # ... which will find them at its start
        got = None
        with trio.CancelScope() as scope:
            scope.cancel()
            got = await coro
        if scope.cancelled_caught:
            assert s.available() == 2
        else:
            assert got is True and s.available() == 0
            s.release(2)
        assert (s.available(), s.waiting()) == (2, 0)

    trio.run(main)


def test_a_task_for_many_tokens_is_not_starved_by_barging_threads():
    # Default mode: newcomers may barge, but a queued waiter is served in
    # order once it has waited QSEM_STARVE_NS; a task is such a waiter too.
    s = qsem.Semaphore(3)
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            if s.acquire(timeout=0.01):
                s.release()

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        async def main():
            for _ in range(20):
                assert await s.async_acquire(n=3, timeout=30)
                s.release(3)
        run_asyncio(main)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert (s.available(), s.waiting()) == (3, 0)


# ---------------------------------------------------------------- interrupted hand-off

def _task_on_a_thread(s, **kwargs):
    """A task waiting in async_acquire(**kwargs) on an asyncio loop of its
    own thread: returns (thread, loop, results list)."""
    got, loops = [], []

    async def consumer():
        loops.append(asyncio.get_running_loop())
        try:
            got.append(await s.async_acquire(**kwargs))
        except qsem.ClosedError:
            got.append("closed")

    th = threading.Thread(target=lambda: asyncio.run(consumer()), daemon=True)
    th.start()
    settle(s, 0, 1)
    return th, loops[0], got


class Boom(Exception):
    pass


@pytest.mark.parametrize("call,outcome", [("release", True), ("close", "closed")])
def test_exception_in_the_hand_off_propagates_and_the_task_still_wakes(call, outcome):
    # A Ctrl-C that lands while release() hands the tokens to a task's loop
    # (here: in call_soon_threadsafe, where a handler's exception surfaces)
    # comes out of release(), and the task is woken all the same: the
    # tokens are not left granted to a task that never learns of them.
    # The same for the ClosedError of close().
    s = qsem.Semaphore(0)
    th, loop, got = _task_on_a_thread(s)
    real = loop.call_soon_threadsafe

    def interrupted(*args, **kwargs):
        loop.call_soon_threadsafe = real
        raise KeyboardInterrupt

    loop.call_soon_threadsafe = interrupted
    with pytest.raises(KeyboardInterrupt):
        getattr(s, call)()
    th.join(10)
    assert not th.is_alive()
    assert got == [outcome]
    assert (s.available(), s.waiting()) == (0, 0)


def test_a_hand_off_that_keeps_failing_gives_the_tokens_back():
    # A loop that cannot be reached at all: the exception still propagates,
    # and the grant is undone, so the token is free again (not lost), and
    # the task ends as an ungranted wait does, at its timeout.
    s = qsem.Semaphore(0)
    th, loop, got = _task_on_a_thread(s, timeout=0.5)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise Boom

    loop.call_soon_threadsafe = broken
    with pytest.raises(Boom):
        s.release()
    assert len(calls) > 1   # tried again before giving up
    assert (s.available(), s.waiting()) == (1, 0)
    th.join(10)
    assert not th.is_alive()
    assert got == [False]
    assert (s.available(), s.waiting()) == (1, 0)
