# SPDX-License-Identifier: MIT
"""The GIL (docs/contract.md, "Python"): a call that must sleep releases it, so other
threads run Python code meanwhile; the uncontended path keeps it."""
import sys
import threading
import time

import pytest

import qsem


@pytest.mark.parametrize("fair", [False, True])
def test_a_third_thread_runs_python_code_while_two_wait(fair):
    s = qsem.Semaphore(0, fair=fair)
    results = []
    waiters = [
        threading.Thread(target=lambda: results.append(s.acquire(timeout=10))),
        threading.Thread(target=lambda: results.append(s.acquire(timeout=10, n=2))),
    ]
    for t in waiters:
        t.start()
    deadline = time.monotonic() + 10
    while s.waiting() < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert s.waiting() == 2

    # The third thread counts in pure Python while both are asleep.
    progress = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            progress[0] += 1

    third = threading.Thread(target=counter)
    third.start()
    time.sleep(0.3)
    during = progress[0]
    still_waiting = s.waiting()
    stop.set()
    third.join()
    s.release(3)
    for t in waiters:
        t.join()

    assert still_waiting == 2
    assert during > 1000
    assert sorted(results) == [True, True]
    assert s.available() == 0


def test_uncontended_calls_keep_the_gil():
    # With a CPU-bound thread waiting for the GIL and a long switch
    # interval, any call that released the GIL would hand it over and then
    # wait a whole interval to get it back.  Fifty uncontended pairs must
    # therefore finish far inside one interval.
    interval = 0.5
    s = qsem.Semaphore(1)
    b = qsem.BoundedSemaphore(3)
    stop = False
    started = threading.Event()

    def spin():
        started.set()
        n = 0
        while not stop:
            n += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    t = threading.Thread(target=spin)
    try:
        t.start()
        started.wait()
        time.sleep(0.001)  # hand the GIL over, then take it back: a fresh interval starts
        start = time.perf_counter()
        for _ in range(50):
            s.acquire()
            s.release()
            b.acquire(n=2)
            b.release(2)
            s.acquire(False)
            s.release()
            s.acquire(timeout=1)
            s.release()
            with s:
                pass
            with b.hold(3):
                pass
            s.available()
            s.waiting()
        elapsed = time.perf_counter() - start
    finally:
        stop = True
        t.join()
        sys.setswitchinterval(old)
    assert elapsed < interval / 2
    assert s.available() == 1
    assert b.available() == 3
