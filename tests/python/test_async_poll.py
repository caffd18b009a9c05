# SPDX-License-Identifier: MIT
"""The short poll of an async wait (Waiter.poll): before it queues, a task
whose loop has nothing else to run polls for a single token without the
GIL.  Tokens it takes belong to the caller exactly as a claimed grant
does; it gives up in bounded time; and handoffs across loops and threads
through it lose nothing."""
import asyncio
import threading
import time

import pytest

import qsem

uvloop = pytest.importorskip("uvloop")


def waiter_of(coro):
    """The Waiter a sleeping async_acquire() coroutine was given (its
    first step has not run, so it has not been started)."""
    return coro.cr_frame.f_locals["waiter"]


def test_poll_takes_a_token_as_a_claim():
    s = qsem.Semaphore(0)
    coro = s.async_acquire()
    w = waiter_of(coro)
    s.release()
    assert w.poll(None) is True
    assert (s.available(), s.waiting()) == (0, 0)
    # Taken over, as after claim(): neither cancel nor the end of the
    # coroutine gives it back.
    w.cancel()
    coro.close()
    del coro, w
    assert s.available() == 0


def test_poll_enters_the_guard_of_async_hold():
    s = qsem.Semaphore(0)
    guard = s.hold(1)
    coro = guard.__aenter__()
    w = waiter_of(coro)
    assert w.hold is guard
    s.release()
    assert w.poll(None) is True
    # The guard holds the token, so its exit gives exactly that back.
    assert guard.held == 1
    coro.close()
    guard.__exit__(None, None, None)
    assert (s.available(), guard.held) == (1, 0)


def test_poll_gives_up_in_bounded_time_and_changes_nothing():
    s = qsem.Semaphore(0)
    coro = s.async_acquire()
    w = waiter_of(coro)
    start = time.monotonic()
    assert w.poll(None) is False
    # The bound is tens of microseconds; a second is for a loaded machine.
    assert time.monotonic() - start < 1.0
    assert (s.available(), s.waiting()) == (0, 0)
    # Polling a waiter does not start it: it can still serve its wait.
    s.release()
    assert w.start(lambda: None) is True
    assert s.available() == 0
    coro.close()


def test_poll_leaves_larger_requests_and_closed_semaphores_alone():
    s = qsem.Semaphore(1)
    coro = s.async_acquire(n=2)
    w = waiter_of(coro)
    s.release()
    # Only single tokens poll: a larger request queues at once, as in the core.
    assert w.poll(None) is False
    assert s.available() == 2
    coro.close()

    c = qsem.Semaphore(0)
    coro = c.async_acquire()
    w = waiter_of(coro)
    c.close()
    assert w.poll(None) is False
    with pytest.raises(qsem.ClosedError):
        w.start(lambda: None)
    coro.close()


def test_poll_keeps_to_the_timeout():
    s = qsem.Semaphore(0)
    coro = s.async_acquire()
    w = waiter_of(coro)
    s.release()
    # A timeout of zero or less tries nothing here: start() makes the try.
    assert w.poll(0) is False
    assert w.poll(-1) is False
    assert s.available() == 1
    with pytest.raises(ValueError, match="NaN"):
        w.poll(float("nan"))
    assert w.poll(0.5) is True
    assert s.available() == 0
    coro.close()


def test_a_started_waiter_does_not_poll():
    s = qsem.Semaphore(0)
    coro = s.async_acquire()
    w = waiter_of(coro)
    assert w.start(lambda: None) is False
    with pytest.raises(RuntimeError, match="one wait"):
        w.poll(None)
    w.cancel()
    coro.close()
    assert (s.available(), s.waiting()) == (0, 0)


PASSES = 2000


def _loop_side(mine, theirs, passes, kick, loop_kind, errors):
    async def main():
        if kick:
            theirs.release()
        for _ in range(passes):
            # Idle loops: every wait here may poll before it queues.
            assert await mine.async_acquire(timeout=10)
            theirs.release()

    try:
        loop = uvloop.new_event_loop() if loop_kind == "uvloop" else asyncio.new_event_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
    except BaseException as e:  # reported by the test, not lost in the thread
        errors.append(e)


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
@pytest.mark.parametrize("with_thread", [False, True], ids=["two-loops", "and-a-thread"])
def test_a_token_round_loops_and_a_thread_loses_nothing(loop_kind, with_thread):
    # One token goes round a ring: loop A -> loop B (-> a plain thread) -> A:
    # A waits on a and releases b, B waits on b and releases c (or a), the
    # thread waits on c and releases a.  Each loop has one task, so its
    # waits poll whenever the budget allows.  A lost grant would stop the
    # ring (the timeouts then fail the test); a made one would leave a
    # token over at the end.
    a, b, c = qsem.Semaphore(0), qsem.Semaphore(0), qsem.Semaphore(0)
    errors = []

    def plain():
        try:
            for _ in range(PASSES):
                assert c.acquire(timeout=10)
                a.release()
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=_loop_side, args=(a, b, PASSES, True, loop_kind, errors)),
        threading.Thread(target=_loop_side,
                         args=(b, c if with_thread else a, PASSES, False, loop_kind, errors)),
    ]
    if with_thread:
        threads.append(threading.Thread(target=plain))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    # The kick put one token in `b`; after the last pass it is there again.
    assert [x.available() for x in (a, b, c)] == [0, 1, 0]
    assert [x.waiting() for x in (a, b, c)] == [0, 0, 0]


def test_a_ticker_keeps_its_pace_while_a_task_polls_in_vain():
    # The poll runs only when the loop has nothing ready and lasts tens of
    # microseconds: a 1 ms ticker beside a task that keeps timing out on a
    # semaphore nobody releases still ticks (generous bound: loaded machine).
    async def main():
        s = qsem.Semaphore(0)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        end = time.monotonic() + 0.3
        tries = 0
        while time.monotonic() < end:
            assert await s.async_acquire(timeout=0.002) is False
            tries += 1
        t.cancel()
        assert tries >= 10
        assert ticks >= 20
        assert (s.available(), s.waiting()) == (0, 0)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
