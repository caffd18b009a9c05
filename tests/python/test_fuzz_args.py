# SPDX-License-Identifier: MIT
"""Fuzzing the argument handling of acquire(), release() and the constructors.

Any object may be passed as n, timeout, blocking, value or fair.  The
contract allows exactly these outcomes: the call does what the arguments
mean, or it raises TypeError, ValueError or OverflowError (the documented
argument errors) and changes nothing.  No crash, no SystemError, no other
exception, no token taken or lost on an error path.
"""
import math
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsem

ARG_ERRORS = (TypeError, ValueError, OverflowError)


class Index:
    """An integer-like object: accepted wherever an int is."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class BadIndex:
    """__index__ that returns a non-int: Python itself raises TypeError."""

    def __index__(self):
        return "three"


class Floaty:
    def __float__(self):
        return 0.0


hostile_ints = st.sampled_from([
    0, 1, 2, -1, -2**63, 2**63 - 1, 2**63, 2**64, -2**64, 2**100,
    qsem.VALUE_MAX, qsem.VALUE_MAX + 1, qsem.VALUE_MAX - 1])

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    hostile_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e-9, 1e300, -1e-300]),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(max_magnitude=10),
    st.builds(Index, st.integers(min_value=-3, max_value=5)),
    st.just(BadIndex()),
    st.just(Floaty()),
    st.just(object()),
)

# No example database: the interpreters' runs share one working directory
# (see test_model.py).
SETTINGS = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def call_guarded(sem, fn):
    """Run fn(); if it sleeps on sem, close sem so that it returns (with
    ClosedError).  Returns (result, exception).

    The watcher closes only once the call is queued (waiting() > 0), never
    on a timer: on a loaded machine a timer can fire before fn() has even
    started, and a call that never sleeps would then see a closed semaphore."""
    done = threading.Event()

    def watch():
        while not done.is_set():
            if sem.waiting() > 0:
                sem.close()
                return
            done.wait(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        return fn(), None
    except BaseException as e:  # noqa: B036 - any exception is inspected
        return None, e
    finally:
        done.set()
        watcher.join()


def as_count(n):
    """The count the binding should see for n, or None if n is not one."""
    if isinstance(n, bool):
        return int(n)
    if isinstance(n, int):
        return n
    if isinstance(n, Index):
        return n.v
    return None


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
@SETTINGS
@given(n=anything, blocking=anything, timeout=anything, use=st.sampled_from("nbt"))
def test_acquire_any_arguments(kind, n, blocking, timeout, use):
    sem = getattr(qsem, kind)(5)
    kwargs = {"n": n}
    if use in "bt":
        kwargs["blocking"] = blocking
    if use == "t":
        kwargs["timeout"] = timeout
    result, exc = call_guarded(sem, lambda: sem.acquire(**kwargs))
    if exc is not None:
        if isinstance(exc, qsem.ClosedError):
            # It slept: only a valid request that did not fit may do that.
            count = as_count(n)
            assert count is not None and count > 5, (kwargs, exc)
            assert sem.available() == 5
            return
        assert isinstance(exc, ARG_ERRORS), f"acquire(**{kwargs!r}) raised {exc!r}"
        assert sem.available() == 5, "a failed call changed the count"
        assert sem.waiting() == 0
        return
    assert result in (True, False)
    count = as_count(n)
    assert count is not None, f"acquire accepted n={n!r}"
    if result:
        assert sem.available() == 5 - count
        if count:
            sem.release(count)
    else:
        assert sem.available() == 5
    assert sem.waiting() == 0


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
@SETTINGS
@given(n=anything)
def test_release_any_argument(kind, n):
    sem = getattr(qsem, kind)(2)
    try:
        sem.release(n)
    except ARG_ERRORS:
        assert sem.available() == 2, "a failed release changed the count"
        return
    except BaseException as e:  # noqa: B036
        pytest.fail(f"release({n!r}) raised {e!r}")
    count = as_count(n)
    assert count is not None and count >= 1, f"release accepted n={n!r}"
    assert sem.available() == 2 + count


@SETTINGS
@given(value=anything, fair=anything, kind=st.sampled_from(["Semaphore", "BoundedSemaphore"]))
def test_constructor_any_arguments(value, fair, kind):
    try:
        sem = getattr(qsem, kind)(value, fair=fair)
    except ARG_ERRORS:
        return
    except BaseException as e:  # noqa: B036
        pytest.fail(f"{kind}({value!r}, fair={fair!r}) raised {e!r}")
    count = as_count(value)
    assert count is not None and 0 <= count <= qsem.VALUE_MAX
    assert sem.available() == count
