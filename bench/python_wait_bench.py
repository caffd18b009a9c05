# SPDX-License-Identifier: MIT
"""Waits in Python: what a thread sees when it has to sleep in acquire().

bench/python_bench.py measures the calls themselves; this file measures the
waits, in one process, with every implementation measured once per round
(interleaved, so that load from elsewhere on the machine hits all alike):

  ring N     N threads pass one token round a ring of semaphores: ns per
             handoff.  Every handoff wakes a thread that sleeps, then hands
             it the GIL.
  starve     the worst wait of an acquire of 4 tokens while 4 threads churn
             acquire(1)/release(1) on 4 tokens, in ms.  threading.Semaphore
             has no multi-token acquire: its acquire(4) is 4 single waits,
             which hold tokens while waiting for the rest.
  gilfree    while two threads wait in acquire(), how many increments per
             second a third thread gets, against the same loop alone: the
             waits hold no GIL, so the ratio should be close to 1.
  calls      the workloads of bench/python_bench.py (pair, with, handoff,
             pool) on its peers, run here in interleaved rounds so that each
             ratio compares two measurements of the same round.

Run: python3 bench/python_wait_bench.py [--quick] [--repeats N] [--json FILE]
"""
from __future__ import annotations

import _thread
import json
import os
import statistics
import sys
import threading
import time
from typing import Any, Callable

import qsem

Factory = Callable[[int], Any]


def make_lock(value: int) -> Any:
    # a lock is a semaphore of at most one token
    lock = _thread.allocate_lock()
    if value == 0:
        lock.acquire()
    return lock


RING_PEERS: list[tuple[str, Factory]] = [
    ("qsem.Semaphore", lambda v: qsem.Semaphore(v)),
    ("qsem.Semaphore fair", lambda v: qsem.Semaphore(v, fair=True)),
    ("threading.Semaphore", lambda v: threading.Semaphore(v)),
    ("_thread.lock", make_lock),
]


def ring(make: Factory, k: int, passes: int) -> float:
    sems = [make(0) for _ in range(k)]
    per = passes // k

    def member(i: int) -> None:
        mine, nxt = sems[i], sems[(i + 1) % k]
        for _ in range(per):
            mine.acquire()
            nxt.release()

    threads = [threading.Thread(target=member, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    start = time.perf_counter_ns()
    sems[0].release()
    for t in threads:
        t.join()
    elapsed = time.perf_counter_ns() - start
    sems[0].acquire()  # the token ends back where it started
    return elapsed / (per * k)


def acquire_n_qsem(s: Any, n: int, timeout: float) -> bool:
    return bool(s.acquire(timeout=timeout, n=n))


def acquire_n_loop(s: Any, n: int, timeout: float) -> bool:
    # what a user of threading.Semaphore writes for n tokens
    deadline = time.monotonic() + timeout
    got = 0
    while got < n:
        if not s.acquire(timeout=max(0.0, deadline - time.monotonic())):
            if got:
                s.release(got)
            return False
        got += 1
    return True


STARVE_PEERS: list[tuple[str, Factory, Callable[[Any, int, float], bool]]] = [
    ("qsem.Semaphore", lambda v: qsem.Semaphore(v), acquire_n_qsem),
    ("qsem.Semaphore fair", lambda v: qsem.Semaphore(v, fair=True), acquire_n_qsem),
    ("threading.Semaphore", lambda v: threading.Semaphore(v), acquire_n_loop),
]


def starve(make: Factory, acquire_n: Callable[[Any, int, float], bool], rounds: int,
           cap: float) -> tuple[float, bool]:
    """Worst wait in ns over 'rounds'; True if some round hit the cut-off."""
    s = make(4)
    stop = False

    def churn() -> None:
        while not stop:
            s.acquire()
            for _ in range(20):  # a little work while holding the token
                pass
            s.release()

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    worst, capped = 0.0, False
    try:
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            ok = acquire_n(s, 4, cap)
            waited = time.perf_counter_ns() - t0
            if ok:
                s.release(4)
            else:
                capped = True
            worst = max(worst, float(waited))
            time.sleep(0.005)
    finally:
        stop = True
        for t in threads:
            t.join()
    return worst, capped


def count_for(seconds: float) -> int:
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n


def gilfree(seconds: float) -> float:
    """Counting rate with two threads asleep in qsem acquire(), over the rate alone."""
    alone = count_for(seconds)
    s = qsem.Semaphore(0)
    waiters = [threading.Thread(target=s.acquire) for _ in range(2)]
    for t in waiters:
        t.start()
    while s.waiting() < 2:
        time.sleep(0.001)
    busy = count_for(seconds)
    s.release(2)
    for t in waiters:
        t.join()
    return busy / alone


def calls(repeats: int, quick: bool) -> list[dict[str, Any]]:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import python_bench as pb  # the workloads are defined once, there

    scale = 20 if quick else 1
    n_fast, n_slow = 200_000 // scale, 20_000 // scale
    peers = [(name, fn if fn is not None else make_lock, name == "_thread.lock")
             for name, fn in pb.PEERS]
    workloads: list[tuple[str, str, Callable[[Factory, bool], float]]] = [
        ("pair", "uncontended acquire() + release()", lambda mk, lk: pb.bench_pair(mk, n_fast)),
        ("with", "uncontended `with sem: pass`", lambda mk, lk: pb.bench_with(mk, n_fast)),
        ("handoff", "two-thread handoff", lambda mk, lk: pb.bench_handoff(mk, n_slow)),
        ("pool", "4 threads through a semaphore of 2 (a lock: of 1)",
         lambda mk, lk: pb.bench_pool(mk, n_slow, lk)),
    ]
    out = []
    for wid, title, fn in workloads:
        samples: dict[str, list[float]] = {name: [] for name, _, _ in peers}
        for r in range(repeats):
            for j in range(len(peers)):
                name, make, is_lock = peers[(j + r) % len(peers)]
                samples[name].append(fn(make, is_lock))
        out.append({"id": wid, "param": 0, "unit": "ns per operation", "title": title,
                    "impls": [{"name": n, "samples": samples[n], "capped": False}
                              for n, _, _ in peers]})
    return out


def summary(v: list[float]) -> dict[str, float]:
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def main(argv: list[str]) -> int:
    quick, repeats, json_path = False, 5, None
    i = 0
    while i < len(argv):
        if argv[i] == "--quick":
            quick = True
        elif argv[i] == "--repeats" and i + 1 < len(argv) and argv[i + 1].isdigit():
            repeats = max(1, int(argv[i + 1]))
            i += 1
        elif argv[i] == "--json" and i + 1 < len(argv):
            json_path = argv[i + 1]
            i += 1
        else:
            print(__doc__.strip().splitlines()[-1], file=sys.stderr)
            return 2
        i += 1
    if quick:
        repeats = min(repeats, 2)
    passes = 2_000 if quick else 20_000
    rounds, cap = (3, 0.2) if quick else (20, 1.0)

    benches: list[dict[str, Any]] = calls(repeats, quick)
    for k in (2, 4, 8):
        samples: dict[str, list[float]] = {name: [] for name, _ in RING_PEERS}
        for r in range(repeats):
            for j in range(len(RING_PEERS)):
                name, make = RING_PEERS[(j + r) % len(RING_PEERS)]
                samples[name].append(ring(make, k, passes))
        benches.append({"id": "ring", "param": k, "unit": "ns per handoff",
                        "title": f"token ring of {k} threads",
                        "impls": [{"name": n, "samples": samples[n], "capped": False}
                                  for n, _ in RING_PEERS]})

    ssamples: dict[str, list[float]] = {name: [] for name, _, _ in STARVE_PEERS}
    scapped = {name: False for name, _, _ in STARVE_PEERS}
    for r in range(repeats):
        for j in range(len(STARVE_PEERS)):
            name, make, acq = STARVE_PEERS[(j + r) % len(STARVE_PEERS)]
            worst, capped = starve(make, acq, rounds, cap)
            ssamples[name].append(worst)
            scapped[name] = scapped[name] or capped
    benches.append({"id": "starve", "param": 0, "unit": "ns",
                    "title": f"worst acquire(4) wait among 4 acquire(1)/release(1) churners, "
                             f"{rounds} rounds (cut off at {cap * 1000:.0f} ms)",
                    "impls": [{"name": n, "samples": ssamples[n], "capped": scapped[n]}
                              for n, _, _ in STARVE_PEERS]})

    gsamples = [gilfree(0.05 if quick else 0.2) for _ in range(repeats)]
    benches.append({"id": "gilfree", "param": 0, "unit": "ratio",
                    "title": "counting rate of a third thread while two wait, over its rate alone",
                    "impls": [{"name": "qsem.Semaphore", "samples": gsamples, "capped": False}]})

    print(f"qsem {qsem.__version__}, Python {sys.version.split()[0]}, switch interval "
          f"{sys.getswitchinterval() * 1e3:.0f} ms, median of {repeats} [min, max]"
          f"{' [quick]' if quick else ''}")
    for b in benches:
        scale = 1e6 if b["id"] == "starve" else 1.0
        unit = "ms" if b["id"] == "starve" else b["unit"]
        print(f"\n{b['title']}, {unit}")
        for im in b["impls"]:
            st = summary(im["samples"])
            mark = ">" if im["capped"] else " "
            print(f"  {im['name']:<26} {mark}{st['median'] / scale:10.2f}  "
                  f"[{st['min'] / scale:10.2f}, {st['max'] / scale:10.2f}]")

    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump({"tool": "python_wait_bench", "qsem": qsem.__version__,
                       "python": sys.version.split()[0], "repeats": repeats, "quick": quick,
                       "switch_interval_s": sys.getswitchinterval(), "benchmarks": benches},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
