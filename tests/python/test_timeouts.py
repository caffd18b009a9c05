# SPDX-License-Identifier: MIT
"""Timeouts (docs/contract.md, "Timeouts" and "Python"): None and inf wait
forever, zero and negative values try once, NaN is a ValueError, huge finite
values wait forever instead of overflowing, non-numbers are TypeErrors."""
import decimal
import fractions
import math
import threading
import time

import pytest

import qsem

# Generous slack: two noisy cores.
SLACK = 2.0


def release_later(sem, delay, n=1):
    t = threading.Timer(delay, sem.release, args=(n,))
    t.start()
    return t


@pytest.mark.parametrize("forever", [None, math.inf, 1e300, 10**400, 2**63, float(2**62),
                                     fractions.Fraction(10**400), decimal.Decimal("1E+1000")])
def test_forever_values_wait_until_released(forever):
    s = qsem.Semaphore(0)
    t = release_later(s, 0.2)
    start = time.monotonic()
    assert s.acquire(timeout=forever) is True
    elapsed = time.monotonic() - start
    t.join()
    assert 0.15 <= elapsed < 0.2 + SLACK
    assert s.available() == 0


@pytest.mark.parametrize("now", [0, 0.0, -1, -0.5, -math.inf, -(10**400), False,
                                 fractions.Fraction(-(10**400))])
def test_zero_and_negative_try_once_without_sleeping(now):
    s = qsem.Semaphore(1)
    assert s.acquire(timeout=now) is True
    start = time.monotonic()
    assert s.acquire(timeout=now) is False
    assert time.monotonic() - start < 0.1
    assert s.waiting() == 0


def test_negative_timeout_matches_threading():
    for sem in (threading.Semaphore(0), qsem.Semaphore(0)):
        start = time.monotonic()
        assert sem.acquire(timeout=-1) is False
        assert time.monotonic() - start < 0.1


def test_nan_is_a_value_error_and_changes_nothing():
    s = qsem.Semaphore(1)
    with pytest.raises(ValueError, match="NaN"):
        s.acquire(timeout=math.nan)
    with pytest.raises(ValueError, match="NaN"):
        s.hold(timeout=math.nan)
    assert s.available() == 1


@pytest.mark.parametrize("bad", ["1", b"1", [1], object(), 1j])
def test_non_numbers_are_type_errors(bad):
    s = qsem.Semaphore(1)
    with pytest.raises(TypeError):
        s.acquire(timeout=bad)
    with pytest.raises(TypeError):
        s.hold(timeout=bad)
    assert s.available() == 1


@pytest.mark.parametrize(
    "timeout", [0.05, 1 / 20, decimal.Decimal("0.05"), fractions.Fraction(1, 20)]
)
def test_numeric_types_are_accepted(timeout):
    s = qsem.Semaphore(0)
    start = time.monotonic()
    assert s.acquire(timeout=timeout) is False
    elapsed = time.monotonic() - start
    assert 0.05 <= elapsed < 0.05 + SLACK


def test_int_timeouts_are_seconds():
    s = qsem.Semaphore(0)
    start = time.monotonic()
    assert s.acquire(timeout=1) is False
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 1.0 + SLACK


def test_timeout_is_not_early():
    # Every timed wait must last at least its timeout on the monotonic clock.
    s = qsem.Semaphore(0)
    for timeout in (0.001, 0.01, 0.05, 0.2):
        start = time.monotonic()
        assert s.acquire(timeout=timeout) is False
        assert time.monotonic() - start >= timeout
    assert s.waiting() == 0


def test_timed_acquire_succeeds_when_released_in_time():
    s = qsem.Semaphore(0)
    t = release_later(s, 0.1, 3)
    assert s.acquire(timeout=10, n=3) is True
    t.join()
    assert s.available() == 0


def test_timed_acquire_for_several_tokens_takes_none_on_timeout():
    s = qsem.Semaphore(2)
    assert s.acquire(timeout=0.05, n=3) is False
    assert s.available() == 2
    assert s.waiting() == 0


def test_non_blocking_with_timeout_is_a_value_error_as_in_threading():
    s = qsem.Semaphore(1)
    with pytest.raises(ValueError, match="non-blocking"):
        s.acquire(False, timeout=1)
    with pytest.raises(ValueError, match="non-blocking"):
        s.acquire(blocking=False, timeout=0)
    # timeout=None is what threading accepts with blocking=False.
    assert s.acquire(False, timeout=None) is True
    assert s.available() == 0
    with pytest.raises(ValueError):
        threading.Semaphore(1).acquire(False, timeout=1)


def test_timeout_is_checked_before_anything_is_taken():
    s = qsem.Semaphore(1)
    with pytest.raises(TypeError):
        s.acquire(timeout="soon", n=1)
    assert s.available() == 1


def test_hold_timeout_raises_timeout_error():
    s = qsem.Semaphore(1)
    g = s.hold(2, timeout=0.05)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        with g:
            pytest.fail("the body must not run")
    assert time.monotonic() - start >= 0.05
    assert s.available() == 1
    assert g.held == 0
    with pytest.raises(TimeoutError):
        with s.hold(2, timeout=-1):
            pass
    assert s.available() == 1
