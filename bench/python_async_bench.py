# SPDX-License-Identifier: MIT
"""Async benchmark: qsem.Semaphore against asyncio.Semaphore,
anyio.CapacityLimiter, trio.Semaphore and aiologic.Semaphore, on the same
work, in one process, in the same run.

Workloads (ns per operation; each measured `--repeat` times, the peers
interleaved round by round, so that machine noise hits them alike):
  with        an uncontended `async with sem: pass` in one loop
  handoff     two tasks in one loop pass a token back and forth through two
              semaphores (ns per pass)
  two-loops   the same between tasks of two asyncio loops in two threads
              (qsem and aiologic only: the others cannot cross loops)
  thread-task the same between a plain thread and a task (qsem, aiologic)

Prints, per workload, the median and the min-max spread of each peer, then
qsem's time over each peer's (the ratio of medians, and the range of the
ratios of the individual rounds): below 1.0x qsem is faster.  trio's peer
is compared with qsem running under trio.

Run: python3 bench/python_async_bench.py [--quick] [--repeat N] [--json FILE]
(--json also writes every round's figure there, for bench/report.py)
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from typing import Any, Callable

import qsem

try:
    import aiologic
    import anyio
    import trio
except ImportError as e:  # the deps are in scripts/deps/*.pip
    raise SystemExit(f"python_async_bench: {e.name} is needed (scripts/deps/*.pip)") from e


# ---------------------------------------------------------------- with

async def _with_loop(sem: Any, n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        async with sem:
            pass
    return (time.perf_counter_ns() - start) / n


def with_asyncio(make: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        async def main() -> float:
            return await _with_loop(make(), n)
        return asyncio.run(main())
    return run


def with_trio(make: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        async def main() -> float:
            return await _with_loop(make(), n)
        return trio.run(main)
    return run


# ---------------------------------------------------------------- handoff

def _acquirer(sem: Any) -> Callable[[], Any]:
    if isinstance(sem, (qsem.Semaphore, aiologic.Semaphore)):
        return sem.async_acquire
    return sem.acquire


async def _pingpong(a: Any, b: Any, n: int) -> None:
    acquire, release = _acquirer(a), b.release
    for _ in range(n):
        await acquire()
        release()


async def _kick(a: Any) -> None:
    a.release()


def handoff_asyncio(make: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        async def main() -> float:
            a, b = make(), make()
            start = time.perf_counter_ns()
            await asyncio.gather(_pingpong(a, b, n), _pingpong(b, a, n), _kick(a))
            return (time.perf_counter_ns() - start) / (2 * n)
        return asyncio.run(main())
    return run


def handoff_trio(make: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        async def main() -> float:
            a, b = make(), make()
            start = time.perf_counter_ns()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pingpong, a, b, n)
                nursery.start_soon(_pingpong, b, a, n)
                a.release()
            return (time.perf_counter_ns() - start) / (2 * n)
        return trio.run(main)
    return run


class _Limiter:
    """anyio.CapacityLimiter lends tokens to borrowers, and only a borrower
    may give one back.  For the handoff each acquire borrows on behalf of a
    fresh object and the release returns the latest loan, so that it does
    the same work as the semaphores (it starts with its one token lent)."""

    def __init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(1)
        self.borrower = object()
        self.limiter.acquire_on_behalf_of_nowait(self.borrower)

    async def acquire(self) -> None:
        borrower = object()
        await self.limiter.acquire_on_behalf_of(borrower)
        self.borrower = borrower

    def release(self) -> None:
        self.limiter.release_on_behalf_of(self.borrower)


# ---------------------------------------------------------------- across loops

def two_loops(make: Callable[[], Any], n: int) -> float:
    a, b = make(), make()

    def side(x: Any, y: Any, kick: bool) -> None:
        async def main() -> None:
            if kick:
                x.release()
            await _pingpong(x, y, n)
        asyncio.run(main())

    start = time.perf_counter_ns()
    threads = [threading.Thread(target=side, args=(a, b, True)),
               threading.Thread(target=side, args=(b, a, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.perf_counter_ns() - start) / (2 * n)


def thread_task(make: Callable[[], Any], blocking: Callable[[Any], Any], n: int) -> float:
    a, b = make(), make()

    def thread_side() -> None:
        for _ in range(n):
            blocking(b)
            a.release()

    async def task_side() -> None:
        acquire = _acquirer(a)
        for _ in range(n):
            b.release()
            await acquire()

    start = time.perf_counter_ns()
    t = threading.Thread(target=thread_side)
    t.start()
    asyncio.run(task_side())
    t.join()
    return (time.perf_counter_ns() - start) / (2 * n)


# ---------------------------------------------------------------- --json

# Every workload reported, in order, for write_json.
_MEASURED: list[tuple[str, dict[str, list[float]]]] = []


def write_json(path: str, repeat: int, quick: bool) -> None:
    """Every round of every workload, in the shape bench/report.py reads:
    one benchmark per workload (id: the title's first word), qsem first."""
    import json
    import sys
    doc = {"tool": "python_async_bench", "qsem": qsem.__version__, "backend": qsem.BACKEND,
           "python": sys.version.split()[0], "repeats": repeat, "quick": quick,
           "benchmarks": [{"id": title.split(":")[0], "param": 0, "title": title,
                           "unit": "ns per operation",
                           "impls": [{"name": name, "samples": xs, "capped": False}
                                     for name, xs in results.items()]}
                          for title, results in _MEASURED]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


# ---------------------------------------------------------------- driver

def measure(peers: dict[str, Callable[[int], float]], n: int,
            repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(repeat):
        for name, fn in peers.items():  # interleaved: noise hits all alike
            out[name].append(fn(n))
    return out


def report(title: str, results: dict[str, list[float]]) -> None:
    """Each peer's median and spread; then qsem's time over each peer's
    that runs under the same library (a "(trio)" row against qsem's trio
    row): the ratio of medians and the range of the per-round ratios."""
    _MEASURED.append((title, results))
    print(f"\n{title}")
    for name, xs in results.items():
        print(f"  {name:24} {statistics.median(xs):9,.0f} ns"
              f"  (min {min(xs):,.0f}, max {max(xs):,.0f})")
    for name, xs in results.items():
        if name.startswith("qsem."):
            continue
        ours = "qsem.Semaphore (trio)" if name.endswith("(trio)") else "qsem.Semaphore"
        base = results[ours]
        ratios = [q / p for q, p in zip(base, xs)]
        print(f"  {ours} / {name}: {statistics.median(base) / statistics.median(xs):.2f}x"
              f"  (rounds {min(ratios):.2f}-{max(ratios):.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few iterations: a smoke test")
    ap.add_argument("--repeat", type=int, default=None, help="rounds per workload")
    ap.add_argument("--json", metavar="FILE", help="also write every round's figure to FILE")
    args = ap.parse_args()
    repeat = args.repeat or (2 if args.quick else 7)
    scale = 1 if args.quick else 10
    print(f"python_async_bench: qsem {qsem.__version__} ({qsem.BACKEND}), {repeat} rounds")

    report("with: uncontended `async with sem: pass` (ns per block)", measure({
        "qsem.Semaphore": with_asyncio(lambda: qsem.Semaphore(1)),
        "asyncio.Semaphore": with_asyncio(lambda: asyncio.Semaphore(1)),
        "anyio.CapacityLimiter": with_asyncio(lambda: anyio.CapacityLimiter(1)),
        "aiologic.Semaphore": with_asyncio(lambda: aiologic.Semaphore(1)),
        "qsem.Semaphore (trio)": with_trio(lambda: qsem.Semaphore(1)),
        "trio.Semaphore (trio)": with_trio(lambda: trio.Semaphore(1)),
    }, 1000 * scale, repeat))

    report("handoff: two tasks, one loop (ns per pass)", measure({
        "qsem.Semaphore": handoff_asyncio(lambda: qsem.Semaphore(0)),
        "asyncio.Semaphore": handoff_asyncio(lambda: asyncio.Semaphore(0)),
        "anyio.CapacityLimiter": handoff_asyncio(_Limiter),
        "aiologic.Semaphore": handoff_asyncio(lambda: aiologic.Semaphore(0)),
        "qsem.Semaphore (trio)": handoff_trio(lambda: qsem.Semaphore(0)),
        "trio.Semaphore (trio)": handoff_trio(lambda: trio.Semaphore(0)),
    }, 300 * scale, repeat))

    report("two-loops: tasks in two asyncio loops in two threads (ns per pass)", measure({
        "qsem.Semaphore": lambda n: two_loops(lambda: qsem.Semaphore(0), n),
        "aiologic.Semaphore": lambda n: two_loops(lambda: aiologic.Semaphore(0), n),
    }, 100 * scale, repeat))

    report("thread-task: a thread and a task (ns per pass)", measure({
        "qsem.Semaphore": lambda n: thread_task(
            lambda: qsem.Semaphore(0), lambda s: s.acquire(), n),
        "aiologic.Semaphore": lambda n: thread_task(
            lambda: aiologic.Semaphore(0), lambda s: s.green_acquire(), n),
    }, 100 * scale, repeat))
    if args.json:
        write_json(args.json, repeat, args.quick)


if __name__ == "__main__":
    main()
