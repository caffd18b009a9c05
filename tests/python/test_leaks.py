# SPDX-License-Identifier: MIT
"""Leaks: long loops of create, acquire, release, close, timeout, hold and
error paths must keep memory flat, both the Python heap (tracemalloc) and
the process (RSS, which also sees the C core's own allocations)."""
import gc
import math
import os
import sys
import threading
import tracemalloc

import pytest

import qsem

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * PAGE


def churn(rounds):
    for i in range(rounds):
        s = qsem.Semaphore(3, fair=bool(i & 1))
        s.acquire()
        s.acquire(n=2)
        s.acquire(False)
        s.acquire(timeout=0)
        s.release(3)
        with s:
            pass
        with s.hold(2):
            pass
        try:
            s.release(qsem.VALUE_MAX)
        except OverflowError:
            pass
        try:
            s.acquire(timeout=math.nan)
        except ValueError:
            pass
        try:
            s.acquire(3)
        except TypeError:
            pass
        repr(s)
        s.close()
        try:
            s.acquire()
        except qsem.ClosedError:
            pass
        b = qsem.BoundedSemaphore(1)
        try:
            b.release()
        except ValueError:
            pass
        g = b.hold(1)
        g.__enter__()
        del g  # a dropped guard gives its token back
        del s, b


def timeouts(rounds):
    s = qsem.Semaphore(0)
    for _ in range(rounds):
        s.acquire(timeout=1e-6, n=2)
    assert s.waiting() == 0


def measure(fn, rounds):
    """Run fn(rounds) twice after a warm-up; return the growth of the second
    run in tracemalloc bytes and RSS bytes."""
    fn(rounds // 4)
    gc.collect()
    tracemalloc.start()
    try:
        fn(rounds)
        gc.collect()
        traced_before, _ = tracemalloc.get_traced_memory()
        rss_before = rss_bytes()
        fn(rounds)
        gc.collect()
        traced_after, _ = tracemalloc.get_traced_memory()
        rss_after = rss_bytes()
    finally:
        tracemalloc.stop()
    return traced_after - traced_before, rss_after - rss_before


def test_churn_keeps_memory_flat():
    traced, rss = measure(churn, 20000)
    # A leak of even one small object per round would be 20000 * ~50 bytes.
    assert traced < 64 * 1024
    # A leaked qsem_t (well over 64 bytes) per round would be over 1 MiB.
    assert rss < 1024 * 1024


def test_timeouts_keep_memory_flat():
    traced, rss = measure(timeouts, 5000)
    assert traced < 64 * 1024
    assert rss < 1024 * 1024


def test_waiters_woken_by_close_keep_memory_flat():
    def rounds(k):
        for _ in range(k):
            s = qsem.Semaphore(0)
            results = []
            t = threading.Thread(target=lambda: results.append(_closed(s)))
            t.start()
            while s.waiting() == 0 and t.is_alive():
                pass
            s.close()
            t.join()
            assert results == [True]

    traced, rss = measure(rounds, 400)
    assert traced < 64 * 1024
    assert rss < 1024 * 1024


def _closed(sem):
    try:
        sem.acquire(timeout=10)
    except qsem.ClosedError:
        return True
    return False


@pytest.mark.parametrize("cls", [qsem.Semaphore, qsem.BoundedSemaphore])
def test_refcounts_of_arguments_are_untouched(cls):
    s = cls(5)
    n = qsem.VALUE_MAX + 1  # a fresh int object, and a request past any maximum
    timeout = 0.5e-6
    before = (sys.getrefcount(n), sys.getrefcount(timeout))
    for _ in range(1000):
        s.acquire(timeout=timeout, n=3 if cls is qsem.Semaphore else 2)
        try:
            s.acquire(n=n)
        except ValueError:
            pass
        s.release(2 if cls is qsem.BoundedSemaphore else 3)
    assert (sys.getrefcount(n), sys.getrefcount(timeout)) == before
