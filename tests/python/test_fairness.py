# SPDX-License-Identifier: MIT
"""Fairness (docs/contract.md, "Fairness"): fair=True serves in strict arrival order
and a try fails while anyone queues; the default mode may let newcomers
overtake, but never starves a large request."""
import threading
import time

import pytest

import qsem


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def start_queued_waiters(sem, requests, log):
    """Start one waiter per request, each queued before the next starts."""
    threads = []
    for name, n in requests:
        def run(name=name, n=n):
            if sem.acquire(timeout=10, n=n):
                log.append(name)

        t = threading.Thread(target=run)
        t.start()
        expected = len(threads) + 1
        wait_until(lambda: sem.waiting() == expected)
        threads.append(t)
    return threads


def test_fair_serves_in_arrival_order():
    s = qsem.Semaphore(0, fair=True)
    log = []
    threads = start_queued_waiters(s, [("a", 2), ("b", 1), ("c", 1)], log)
    s.release()  # fits b, but a is first in line
    time.sleep(0.05)
    assert log == []
    assert s.available() == 1
    s.release()
    wait_until(lambda: log == ["a"])
    s.release()
    wait_until(lambda: log == ["a", "b"])
    s.release()
    for t in threads:
        t.join()
    assert log == ["a", "b", "c"]
    assert s.available() == 0


def test_fair_try_acquire_fails_while_anyone_queues():
    s = qsem.Semaphore(1, fair=True)
    log = []
    threads = start_queued_waiters(s, [("big", 2)], log)
    assert s.available() == 1
    assert s.acquire(False) is False
    assert s.acquire(timeout=0) is False
    assert s.available() == 1
    s.release()
    for t in threads:
        t.join()
    assert log == ["big"]
    assert s.acquire(False) is False  # empty now, and nobody queues
    s.release()
    assert s.acquire(False) is True


@pytest.mark.parametrize("fair", [False, True])
def test_large_request_is_not_starved_by_small_ones(fair):
    total = 5
    s = qsem.Semaphore(total, fair=fair)
    stop = threading.Event()
    churn = [0]

    def small():
        while not stop.is_set():
            if s.acquire(timeout=1):
                churn[0] += 1
                s.release()

    smalls = [threading.Thread(target=small) for _ in range(4)]
    for t in smalls:
        t.start()
    time.sleep(0.05)
    start = time.monotonic()
    got = s.acquire(timeout=10, n=total)
    waited = time.monotonic() - start
    stop.set()
    if got:
        s.release(total)
    for t in smalls:
        t.join()
    assert got, "the request for every token starved"
    assert waited < 5
    assert churn[0] > 0
    assert s.available() == total
