# SPDX-License-Identifier: MIT
"""Liveness beside a request that cannot be met (docs/design.md, "Fairness
and liveness"), as Qt's tst_qsemaphore::tryAcquireWithTimeoutStarvation
checks: one token in circulation, a thread looping acquire(timeout=1) +
release(), and a request for 2 tokens, which will never all be free.

In the default mode the loop keeps going while the big request waits (a
starving request holds newcomers back for one short window at a time); in
fair mode the loop queues behind it (head-of-line blocking, as documented).
"""
import threading
import time

import qsem


class Loop:
    """acquire(timeout=1) + release() until stopped, counting the outcomes."""

    def __init__(self, sem):
        self.sem = sem
        self.ok = 0
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            if self.sem.acquire(timeout=1.0):
                self.ok += 1
                self.sem.release()
            else:
                self.failed += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def test_loop_runs_beside_a_timed_request_that_cannot_be_met():
    s = qsem.Semaphore(1)
    with Loop(s) as loop:
        time.sleep(0.01)
        before = loop.ok
        t0 = time.monotonic()
        assert s.acquire(timeout=2.0, n=2) is False
        waited = time.monotonic() - t0
        assert waited >= 2.0 - 0.001
        # Thousands on any machine; a loop stalled behind the request does
        # at most one, and its own 1 s acquire then fails.
        assert loop.failed == 0
        assert loop.ok - before >= 100
    assert s.available() == 1
    assert s.waiting() == 0


def test_loop_runs_beside_an_untimed_request_that_cannot_be_met():
    s = qsem.Semaphore(1)
    got = []
    big = threading.Thread(target=lambda: got.append(s.acquire(n=2)))
    with Loop(s) as loop:
        time.sleep(0.01)
        big.start()
        deadline = time.monotonic() + 10
        while s.waiting() == 0:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        before = loop.ok
        time.sleep(3.0)
        assert loop.failed == 0
        assert loop.ok - before >= 100
        assert big.is_alive()
    # A second token: the big request is served; nothing was lost.
    s.release()
    big.join(timeout=10)
    assert got == [True]
    assert s.available() == 0
    s.release(2)
    assert s.available() == 2


def test_fair_mode_blocks_behind_the_head():
    s = qsem.Semaphore(1, fair=True)
    got = []
    big = threading.Thread(target=lambda: got.append(s.acquire(n=2)))
    big.start()
    deadline = time.monotonic() + 10
    while s.waiting() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert s.acquire(blocking=False) is False
    assert s.acquire(timeout=0.05) is False
    assert s.available() == 1
    s.release()
    big.join(timeout=10)
    assert got == [True]
    assert s.available() == 0
