# SPDX-License-Identifier: MIT
"""Semaphore.hold(n): a context manager for n tokens that gives back exactly
what it took, even when the body raises or a KeyboardInterrupt lands."""
import gc
import random
import signal
import threading

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
