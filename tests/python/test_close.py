# SPDX-License-Identifier: MIT
"""close() (docs/contract.md, "Close"): every waiter gets ClosedError with no
token, later acquires raise at once, release keeps working, closing twice is
harmless, and dropping the object is safe."""
import gc
import threading
import time
import weakref

import pytest

import qsem


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def run_waiters(sem, calls):
    """Start one thread per call; each records what its call did."""
    results = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = ("returned", call())
        except BaseException as exc:  # noqa: BLE001 - recorded for the test
            results[i] = ("raised", exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    return threads, results


def test_close_wakes_every_waiter_with_closed_error():
    s = qsem.Semaphore(1)
    calls = [
        lambda: s.acquire(n=2),
        lambda: s.acquire(timeout=30, n=3),
        lambda: s.acquire(timeout=30, n=2),
        lambda: s.hold(5).__enter__(),
    ]
    threads, results = run_waiters(s, calls)
    wait_for(lambda: s.waiting() == len(calls))
    start = time.monotonic()
    s.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert time.monotonic() - start < 5
    for kind, value in results:
        assert kind == "raised"
        assert isinstance(value, qsem.ClosedError)
    assert s.waiting() == 0
    assert s.available() == 1
    assert s.closed


def test_acquires_after_close_raise_at_once_even_with_tokens():
    s = qsem.Semaphore(5)
    s.close()
    with pytest.raises(qsem.ClosedError):
        s.acquire()
    with pytest.raises(qsem.ClosedError):
        s.acquire(False)
    with pytest.raises(qsem.ClosedError):
        s.acquire(timeout=0)
    with pytest.raises(qsem.ClosedError):
        s.acquire(n=0)
    with pytest.raises(qsem.ClosedError):
        with s:
            pass
    with pytest.raises(qsem.ClosedError):
        with s.hold(2):
            pass
    assert s.available() == 5


def test_release_still_works_after_close():
    s = qsem.BoundedSemaphore(3)
    assert s.acquire(n=3)
    s.close()
    s.release(2)
    s.release()
    assert s.available() == 3
    with pytest.raises(ValueError):
        s.release()


def test_holders_finish_after_close():
    s = qsem.Semaphore(1)
    with s.hold(1) as g:
        s.close()
        assert g.held == 1
    assert s.available() == 1


def test_close_twice_is_harmless():
    s = qsem.Semaphore(1)
    assert not s.closed
    s.close()
    s.close()
    assert s.closed
    assert s.available() == 1


def test_closed_error_is_catchable_as_runtime_error():
    s = qsem.Semaphore(0)
    s.close()
    with pytest.raises(RuntimeError):
        s.acquire()


def test_dropping_a_semaphore_frees_it():
    s = qsem.Semaphore(3)
    assert s.acquire()
    r = weakref.ref(s)
    del s
    gc.collect()
    assert r() is None


def test_a_waiting_call_keeps_its_semaphore_alive():
    # docs/contract.md, "Lifetime": no use-after-free reachable from Python.  The waiter
    # holds the only other reference; the test drops its own.
    box = [qsem.Semaphore(0)]
    r = weakref.ref(box[0])
    results = []

    def waiter(sem):
        results.append(sem.acquire(timeout=0.3))

    t = threading.Thread(target=waiter, args=(box.pop(),))
    t.start()
    gc.collect()
    t.join()
    assert results == [False]
    gc.collect()
    assert r() is None


def test_close_racing_with_releases_and_timeouts_loses_no_token():
    s = qsem.Semaphore(0)
    threads, results = run_waiters(s, [lambda: s.acquire(timeout=0.05)] * 4)
    time.sleep(0.02)
    s.release(2)
    s.close()
    for t in threads:
        t.join()
    got = sum(1 for kind, value in results if kind == "returned" and value is True)
    for kind, value in results:
        assert (kind, value) in (("returned", True), ("returned", False)) or isinstance(
            value, qsem.ClosedError
        )
    assert s.available() + got == 2
    assert s.waiting() == 0
