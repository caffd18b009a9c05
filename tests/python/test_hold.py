# SPDX-License-Identifier: MIT
"""Semaphore.hold(n): a context manager for n tokens that gives back exactly
what it took, even when the body raises or a KeyboardInterrupt lands."""
import gc
import random
import signal
import threading
import time

import pytest

import qsem


def test_hold_takes_and_gives_back_n():
    s = qsem.Semaphore(5)
    g = s.hold(3)
    assert (g.n, g.held, g.semaphore) == (3, 0, s)
    with g as entered:
        assert entered is g
        assert g.held == 3
        assert s.available() == 2
    assert g.held == 0
    assert s.available() == 5


def test_hold_defaults_to_one_token():
    s = qsem.Semaphore(2)
    with s.hold():
        assert s.available() == 1
    assert s.available() == 2


def test_hold_zero_tokens():
    s = qsem.Semaphore(0)
    with s.hold(0) as g:
        assert g.held == 0
    assert s.available() == 0


def test_hold_gives_back_when_the_body_raises():
    s = qsem.Semaphore(4)
    with pytest.raises(ZeroDivisionError):
        with s.hold(3):
            1 / 0
    assert s.available() == 4


def test_hold_gives_back_on_keyboard_interrupt_in_the_body():
    s = qsem.Semaphore(4)
    with pytest.raises(KeyboardInterrupt):
        with s.hold(4):
            raise KeyboardInterrupt
    assert s.available() == 4


def test_hold_gives_back_when_a_real_sigint_lands_in_the_body():
    s = qsem.Semaphore(3)
    with pytest.raises(KeyboardInterrupt):
        with s.hold(2):
            signal.raise_signal(signal.SIGINT)
            for _ in range(10**6):  # the handler runs at a bytecode boundary
                pass
    assert s.available() == 3


def test_hold_waits_for_tokens():
    s = qsem.Semaphore(0)
    threading.Timer(0.05, s.release, args=(2,)).start()
    with s.hold(2, timeout=10) as g:
        assert g.held == 2
        assert s.available() == 0
    assert s.available() == 2


def test_hold_is_reusable_but_not_reentrant():
    s = qsem.Semaphore(4)
    g = s.hold(2)
    with g:
        with pytest.raises(RuntimeError, match="already entered"):
            with g:
                pass
        assert s.available() == 2
    with g:
        assert s.available() == 2
    assert s.available() == 4


def test_exit_without_enter_is_an_error():
    s = qsem.Semaphore(2)
    g = s.hold(1)
    with pytest.raises(RuntimeError, match="without being entered"):
        g.__exit__(None, None, None)
    assert s.available() == 2


def test_hold_gives_back_exactly_what_it_took_on_a_bounded_semaphore():
    s = qsem.BoundedSemaphore(3)
    with s.hold(2):
        s.release()  # the body gives one back early by itself
        assert s.available() == 2
        assert s.acquire()
    assert s.available() == 3


def test_a_dropped_guard_gives_back_its_tokens():
    s = qsem.Semaphore(3)
    g = s.hold(2)
    g.__enter__()
    assert s.available() == 1
    del g
    gc.collect()
    assert s.available() == 3


def test_guard_cycles_are_collected():
    class Sem(qsem.Semaphore):
        pass

    s = Sem(1)
    s.guard = s.hold(1)  # guard -> semaphore -> guard
    del s
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Sem]


def test_hold_argument_errors():
    s = qsem.Semaphore(2)
    with pytest.raises(TypeError):
        s.hold(1.5)
    with pytest.raises(TypeError):
        s.hold(1, None, 3)
    with pytest.raises(TypeError):
        s.hold(count=1)
    assert s.available() == 2


class Interrupt(Exception):
    pass


def test_signals_landing_anywhere_around_hold_never_leak_tokens():
    # A storm of SIGALRM handlers that raise, each armed for one raise, so
    # that the exception lands at every point of the `with` statement over
    # the iterations: entry, body, exit.  After each iteration the count
    # must be back where it was.
    s = qsem.Semaphore(3)
    armed = [False]
    landed = [0]

    def handler(signum, frame):
        if armed[0]:
            armed[0] = False
            landed[0] += 1
            raise Interrupt

    old = signal.signal(signal.SIGALRM, handler)
    rng = random.Random(1234)
    try:
        for _ in range(3000):
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(5e-6, 2e-4))
            try:
                armed[0] = True
                with s.hold(2):
                    x = 0
                    for _ in range(rng.randrange(20)):
                        x += 1
                armed[0] = False
            except Interrupt:
                pass
            armed[0] = False
            assert s.available() == 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert landed[0] > 0
    assert s.available() == 3
    assert s.waiting() == 0


# ---------------------------------------------------------------- entries
# Each entry of a guard (__enter__ or __aenter__) ends only itself: what is
# left of an earlier entry (an awaitable never run, a wait in flight) never
# gives back or ends a later one.  Manual dunder calls, as a framework
# driving a guard by hand might make.

def test_a_stale_aenter_awaitable_leaves_a_later_with_alone():
    s = qsem.Semaphore(2)
    g = s.hold(1)
    aw = g.__aenter__()           # tokens free: taken now; never run
    g.__exit__(None, None, None)  # ends that entry
    with pytest.warns(RuntimeWarning, match="never awaited"):
        with g:                   # a new entry
            assert (s.available(), g.held) == (1, 1)
            del aw
            gc.collect()
            assert (s.available(), g.held) == (1, 1)
    assert s.available() == 2


def test_a_stale_aenter_wait_leaves_a_later_with_alone():
    s = qsem.Semaphore(0)
    g = s.hold(1)
    aw = g.__aenter__()           # no tokens: the waiting coroutine, never run
    g.__exit__(None, None, None)
    s.release()
    with g:
        aw.close()                # the coroutine and its waiter go
        del aw
        gc.collect()
        assert (s.available(), g.held) == (0, 1)
    assert s.available() == 1


def test_exit_from_another_thread_during_a_blocked_entry_loses_nothing():
    s = qsem.Semaphore(0)
    g = s.hold(2)
    out = []

    def enter():
        try:
            g.__enter__()
            out.append("entered")
        except RuntimeError as e:
            out.append(str(e))

    th = threading.Thread(target=enter)
    th.start()
    end = time.monotonic() + 10
    while s.waiting() == 0:
        assert time.monotonic() < end
        time.sleep(0.001)
    g.__exit__(None, None, None)  # ends the entry that is waiting
    s.release(2)
    th.join(10)
    assert out == ["Hold object exited while its entry waited"]
    assert (s.available(), s.waiting(), g.held) == (2, 0, 0)
    with g:                       # the guard is usable again
        assert s.available() == 0
    assert s.available() == 2


def test_an_async_entry_ended_while_it_waited_gives_its_grant_back():
    import asyncio

    s = qsem.Semaphore(0)
    g = s.hold(1)

    async def main():
        t = asyncio.ensure_future(g.__aenter__())
        while s.waiting() == 0:
            await asyncio.sleep(0.001)
        g.__exit__(None, None, None)  # ends the entry that is waiting
        s.release()
        with pytest.raises(RuntimeError, match="exited while its entry waited"):
            await t

    asyncio.run(main())
    assert (s.available(), s.waiting(), g.held) == (1, 0, 0)
