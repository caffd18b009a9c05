# SPDX-License-Identifier: MIT
"""Stress: worker threads take and give back tokens on several semaphores
with random counts and timeouts, one semaphore is closed half way, and a
storm of signals (some handlers raise) hits the main thread, which takes
part through hold() guards.  At the end every semaphore must hold exactly
its initial count (docs/contract.md, "Conservation") with nobody queued."""
import os
import random
import signal
import threading
import time

import qsem

DURATION = 2.5
WORKERS = 4


class Interrupt(Exception):
    pass


def test_tokens_are_conserved_under_timeouts_closes_and_signals():
    sems = {
        "plain": (qsem.Semaphore(4), 4),
        "bounded-fair": (qsem.BoundedSemaphore(3, fair=True), 3),
        "closed-half-way": (qsem.Semaphore(3), 3),
    }
    names = sorted(sems)
    lock = threading.Lock()
    stats = {"acquired": 0, "timeouts": 0, "closed": 0, "interrupted": 0, "signals": 0}
    stop = threading.Event()
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        local = {"acquired": 0, "timeouts": 0, "closed": 0}
        try:
            while not stop.is_set():
                sem, limit = sems[rng.choice(names)]
                n = rng.randint(1, limit)
                timeout = rng.choice([0, 0.0005, 0.002, 0.02, 0.2])
                try:
                    got = sem.acquire(timeout=timeout, n=n)
                except qsem.ClosedError:
                    local["closed"] += 1
                    continue
                if not got:
                    local["timeouts"] += 1
                    continue
                local["acquired"] += 1
                if rng.random() < 0.3:
                    time.sleep(rng.choice([0, 0.0002, 0.001]))
                # Give back in pieces sometimes: release(n) is not tied to
                # the acquire that took the tokens.
                if n > 1 and rng.random() < 0.5:
                    sem.release(1)
                    sem.release(n - 1)
                else:
                    sem.release(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        with lock:
            for k, v in local.items():
                stats[k] += v

    # Every fourth handler raises, but only while the main thread is inside
    # its try block (armed), and at most once per arming, so the exception
    # always lands where the test catches it: in hold()'s wait, at entry,
    # in the body or at exit.
    armed = [False]

    def handler(signum, frame):
        stats["signals"] += 1
        if armed[0] and stats["signals"] % 4 == 0:
            armed[0] = False
            raise Interrupt

    def usr1_storm():
        # Non-raising signals from another thread, on top of the timer.
        while not stop.is_set():
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.003)

    old_alrm = signal.signal(signal.SIGALRM, handler)
    old_usr1 = signal.signal(signal.SIGUSR1, lambda *a: None)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    threads.append(threading.Thread(target=usr1_storm))
    rng = random.Random(99)
    main_acquired = 0
    try:
        for t in threads:
            t.start()
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < DURATION:
            if not closed and time.monotonic() - start > DURATION / 2:
                sems["closed-half-way"][0].close()
                closed = True
            sem, limit = sems[rng.choice(names)]
            n = rng.randint(1, limit)
            timeout = rng.choice([0.001, 0.05, None])
            spin = rng.randrange(200)
            try:
                try:
                    armed[0] = True
                    with sem.hold(n, timeout=timeout):
                        main_acquired += 1
                        x = 0
                        for _ in range(spin):
                            x += 1
                finally:
                    # A handler firing before this line raises here, and
                    # the outer clauses catch it.
                    armed[0] = False
            except (TimeoutError, qsem.ClosedError):
                pass
            except Interrupt:
                stats["interrupted"] += 1
    finally:
        # Stop the storm before anything else can be interrupted.
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_alrm)
        stop.set()
        for t in threads:
            t.join(30)
        signal.signal(signal.SIGUSR1, old_usr1)

    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    for name, (sem, initial) in sems.items():
        assert sem.available() == initial, name
        assert sem.waiting() == 0, name
    assert sems["closed-half-way"][0].closed
    # The run exercised what it claims to.
    assert stats["acquired"] > 100
    assert main_acquired > 10
    assert stats["timeouts"] > 0
    assert stats["closed"] > 0
    assert stats["interrupted"] > 0
