# SPDX-License-Identifier: MIT
"""Python benchmark: qsem.Semaphore against the standard library's
semaphores and _thread.lock, on the same work, in one process.

Workloads (ns per operation, best of several runs):
  pair      uncontended acquire() + release()
  with      an uncontended `with sem: pass`
  handoff   two threads pass one token back and forth (ns per pass)
  pool      4 threads take turns through a semaphore of 2 (ns per turn);
            _thread.lock can only be a pool of 1
Then a ping-pong shaped like user code (two threads, two semaphores, 5,000
round trips), qsem against threading, every round printed as a spread;
`--pingpong` runs only that, 21 rounds (3 with --quick), with quartiles.

Run: python3 bench/python_bench.py [--quick] [--check] [--json FILE]
  --quick  fewer iterations (a smoke test)
  --check  exit 1 unless qsem meets its targets: pair >= 10x faster than
           threading.Semaphore and no slower than _thread.lock; handoff
           >= 2x faster than threading.Semaphore
  --json FILE  also write the ping-pong's rounds there (bench/report.py)
"""
from __future__ import annotations

import _thread
import multiprocessing
import statistics
import sys
import threading
import time
from typing import Any, Callable

import qsem

Factory = Callable[[int], Any]

# Each factory makes a semaphore holding `value` tokens (a lock: 1).
PEERS: list[tuple[str, Factory]] = [
    ("qsem.Semaphore", lambda v: qsem.Semaphore(v)),
    ("qsem.BoundedSemaphore", lambda v: qsem.BoundedSemaphore(v)),
    ("threading.Semaphore", lambda v: threading.Semaphore(v)),
    ("threading.BoundedSemaphore", lambda v: threading.BoundedSemaphore(v)),
    ("_thread.lock", lambda v: _thread.allocate_lock()),
    ("multiprocessing.Semaphore", lambda v: multiprocessing.Semaphore(v)),
]


def bench_pair(make: Factory, n: int) -> float:
    s = make(1)
    acquire, release = s.acquire, s.release
    start = time.perf_counter_ns()
    for _ in range(n):
        acquire()
        release()
    return (time.perf_counter_ns() - start) / n


def bench_with(make: Factory, n: int) -> float:
    s = make(1)
    start = time.perf_counter_ns()
    for _ in range(n):
        with s:
            pass
    return (time.perf_counter_ns() - start) / n


def bench_handoff(make: Factory, n: int) -> float:
    # Made full and emptied, so that bounded ones may be released once.
    ping, pong = make(1), make(1)
    ping.acquire()
    pong.acquire()

    def other() -> None:
        for _ in range(n):
            ping.acquire()
            pong.release()

    t = threading.Thread(target=other, daemon=True)
    t.start()
    start = time.perf_counter_ns()
    for _ in range(n):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter_ns() - start
    t.join()
    return elapsed / (2 * n)


def bench_pool(make: Factory, n: int, is_lock: bool) -> float:
    s = make(1 if is_lock else 2)
    barrier = threading.Barrier(5)
    per_thread = n // 4

    def worker() -> None:
        barrier.wait()
        for _ in range(per_thread):
            with s:
                pass

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter_ns()
    for t in threads:
        t.join()
    return (time.perf_counter_ns() - start) / (4 * per_thread)


def bench_pingpong(make: Factory, passes: int = 5000) -> float:
    """Shaped like user code: two threads, two semaphores starting at 0,
    `passes` round trips; ns per round trip."""
    a, b = make(0), make(0)

    def other() -> None:
        for _ in range(passes):
            a.acquire()
            b.release()

    t = threading.Thread(target=other)
    t.start()
    start = time.perf_counter_ns()
    for _ in range(passes):
        a.release()
        b.acquire()
    t.join()
    return (time.perf_counter_ns() - start) / passes


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile (a single value thrice)."""
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, med, q3 = statistics.quantiles(xs, n=4)
    return q1, med, q3


def pingpong_report(rounds: int) -> None:
    """Every round of each peer, interleaved; median, spread, ratio."""
    peers = [("qsem.Semaphore", qsem.Semaphore), ("threading.Semaphore", threading.Semaphore)]
    times: dict[str, list[float]] = {name: [] for name, _ in peers}
    for _ in range(rounds):
        for name, make in peers:
            times[name].append(bench_pingpong(make))
    print()
    print(f"ping-pong, two threads and two semaphores, 5,000 round trips, {rounds} rounds "
          "(ns per round trip):")
    for name, xs in times.items():
        print(f"  {name:20} median {statistics.median(xs):9,.0f}"
              f"  min {min(xs):9,.0f}  max {max(xs):9,.0f}")
    _PINGPONG.update(times)
    q, t = times["qsem.Semaphore"], times["threading.Semaphore"]
    ratios = sorted(b / a for a, b in zip(q, t))
    print(f"  threading/qsem: median {statistics.median(ratios):.1f}x"
          f"  (rounds {ratios[0]:.1f}x to {ratios[-1]:.1f}x)")
    # The middle half of the rounds: a bimodal handoff shows here.
    for name, xs in [*times.items(), ("threading/qsem", ratios)]:
        q1, _, q3 = quartiles(xs)
        print(f"  {name:20} quartiles {q1:9,.1f} to {q3:9,.1f}")


# ---- --json: the ping-pong's rounds, for bench/report.py -----------------

_PINGPONG: dict[str, list[float]] = {}


def write_json(path: str, quick: bool) -> None:
    """The ping-pong's every round (ns per round trip), qsem first."""
    import json
    doc = {"tool": "python_bench", "qsem": qsem.__version__, "backend": qsem.BACKEND,
           "python": sys.version.split()[0], "repeats": len(_PINGPONG["qsem.Semaphore"]),
           "quick": quick, "benchmarks": [{
               "id": "pingpong", "param": 0, "unit": "ns per round trip",
               "title": "ping-pong shaped like user code: two threads, two semaphores, "
                        "5,000 round trips",
               "impls": [{"name": name, "samples": xs, "capped": False}
                         for name, xs in _PINGPONG.items()]}]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(repeats))


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    if "--pingpong" in argv:
        # Only the user-shaped ping-pong, for before/after comparisons.
        pingpong_report(3 if quick else 21)
        return 0
    scale = 20 if quick else 1
    n_fast, n_slow, repeats = 200_000 // scale, 20_000 // scale, 3 if quick else 5

    # A long switch interval would make the threaded rows measure GIL
    # hand-overs, not the semaphores; keep CPython's default.
    results: dict[str, dict[str, float]] = {}
    for name, make in PEERS:
        is_lock = name == "_thread.lock"
        results[name] = {
            "pair": best(lambda: bench_pair(make, n_fast), repeats),
            "with": best(lambda: bench_with(make, n_fast), repeats),
            "handoff": best(lambda: bench_handoff(make, n_slow), max(2, repeats - 2)),
            "pool": best(lambda: bench_pool(make, n_slow, is_lock), max(2, repeats - 2)),
        }

    cols = ["pair", "with", "handoff", "pool"]
    base = results["threading.Semaphore"]
    floor = results["_thread.lock"]
    print(f"qsem {qsem.__version__} ({qsem.BACKEND}), Python {sys.version.split()[0]}, "
          f"ns per operation (best of {repeats}){' [quick]' if quick else ''}")
    print()
    print("| " + " | ".join(["implementation"] + cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for name, row in results.items():
        cells = [f"{row[c]:,.0f}" for c in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print("Speed-up of qsem.Semaphore (higher is better):")
    print()
    print("| versus | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    q = results["qsem.Semaphore"]
    for name, row in results.items():
        if name == "qsem.Semaphore":
            continue
        print(f"| {name} | " + " | ".join(f"{row[c] / q[c]:.1f}x" for c in cols) + " |")

    targets = [
        ("pair >= 10x faster than threading.Semaphore", base["pair"] >= 10 * q["pair"]),
        ("pair no slower than _thread.lock", q["pair"] <= floor["pair"]),
        ("handoff >= 2x faster than threading.Semaphore", base["handoff"] >= 2 * q["handoff"]),
    ]
    print()
    for text, ok in targets:
        print(f"target {'met' if ok else 'MISSED'}: {text}")
    pingpong_report(3 if quick else 11)
    if "--json" in argv:
        write_json(argv[argv.index("--json") + 1], quick)
    if "--check" in argv and not all(ok for _, ok in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
