#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check bench/report.py's rendering on made-up samples, with no benchmark run.

    python3 bench/test_report.py

- every @@placeholder@@ of bench/performance.md.in is filled;
- verdicts come from the samples: a target the samples meet says "met", one
  they miss says "missed" and prints its note with the run's own figures;
- a row no section knows (as a new benchmark row would be) appears in its
  front end's section with its figures and ratio;
- a benchmark that could not run is listed under "not measured", in its
  front end's section, and its targets say "not measured";
- the targets of issues 15 (Python async) and 16 (Node.js) are met or
  missed as the samples say, with the run's ratios;
- the Python ping-pong and the Node.js and Python async handoffs reach
  section 2;
- a new front end is one Bench entry: its rows reach sections 1 and 2.
Exit status 0 when all hold, 1 with a message naming each check that failed.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_report():
    spec = importlib.util.spec_from_file_location("report", os.path.join(HERE, "report.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["report"] = mod   # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def bench(bid, impls, param=0, unit="ns per pair", title=None, **extra):
    return {"id": bid, "param": param, "unit": unit, "title": title or f"{bid} {param}",
            "impls": [dict({"name": n, "samples": v, "capped": False}, **extra.get(n, {}))
                      for n, v in impls.items()]}


C_PEERS = ["qsem", "sem_t", "std::counting_semaphore", "QSemaphore", "qsem FIFO"]


def c_doc(load=True):
    same = lambda x: {n: [x, x * 1.1, x * 0.9] for n in C_PEERS}  # noqa: E731
    # under load: qsem's timed waits 300 us late (met), its wake-ups 150 us (missed)
    loaded = [
        bench("pingpong_load", same(9000.0), param=4, unit="ns per round trip",
              title="CPU-bound load (4 busy threads): two-thread ping-pong"),
        bench("timedwait_load", {"qsem": [300.0, 280.0, 320.0], "sem_t": [60.0] * 3,
                                 "std::counting_semaphore": [900.0] * 3, "QSemaphore": [1500.0] * 3,
                                 "qsem FIFO": [300.0] * 3}, param=4, unit="us late",
              title="CPU-bound load (4 busy threads): lateness of a 2 ms timed wait"),
        bench("wake_load", {"qsem": [150.0] * 3, "sem_t": [5.0] * 3, "std::counting_semaphore": [8.0] * 3,
                            "QSemaphore": [6.0] * 3, "qsem FIFO": [150.0] * 3}, param=4, unit="us",
              title="CPU-bound load (4 busy threads): release to return of a sleeping acquire"),
    ] if load else []
    return {"tool": "qsem_bench", "qsem": "0.1.0", "backend": "futex", "qt": "6.4.2", "repeats": 3,
            "benchmarks": [
                bench("uncontended", same(10.0)),
                bench("pingpong", same(2000.0), unit="ns per round trip"),
                bench("ring", same(1000.0), param=2, unit="ns per handoff"),
                bench("ring", same(3000.0), param=4, unit="ns per handoff"),
                bench("prodcons", same(50.0), param=1, unit="ns per item"),
                bench("multi3", same(40.0)),
                # qsem's worst waits of 5 ms miss the 2 ms target
                bench("starve", {"qsem": [5e6, 6e6, 4e6], "sem_t": [9e6] * 3,
                                 "std::counting_semaphore": [9e6] * 3, "QSemaphore": [4.1e7] * 3,
                                 "qsem FIFO": [1e5] * 3}, unit="ns",
                      qsem={"slow_rounds": 17, "slow_preempted": 13, "rounds": 21}),
                # a row that no section presents, as a new benchmark row would be
                bench("load_handoff", {"qsem": [3210.0] * 3, "sem_t": [1000.0] * 3}, unit="ns",
                      title="handoff with 4 busy threads"),
            ] + loaded}


def lua_doc():
    rows = [("floor", None), ("pair", "pure-Lua semaphore"), ("hold", "pure-Lua semaphore"),
            ("handoff_cqueues", "pure-Lua semaphore"), ("handoff_generic", "plain yield")]
    return {"tool": "lua_bench", "qsem": "0.1.0", "backend": "futex", "lua": "Lua 5.4", "repeats": 3,
            "rows": [{"id": i, "name": i, "peer": p, "samples": [100.0, 110.0, 90.0],
                      "peer_samples": [80.0, 85.0, 75.0] if p else []} for i, p in rows]}


def py_doc():
    names = ["qsem.Semaphore", "threading.Semaphore", "_thread.lock"]
    return {"tool": "python_wait_bench", "qsem": "0.1.0", "repeats": 3, "benchmarks": [
        bench("pair", {"qsem.Semaphore": [50.0] * 3, "threading.Semaphore": [1500.0] * 3,
                       "_thread.lock": [120.0] * 3}),
        bench("handoff", {n: [1000.0 * (k + 1)] * 3 for k, n in enumerate(names)}),
        bench("ring", {n: [2000.0] * 3 for n in names}, param=2),
        bench("starve", {"qsem.Semaphore": [3e6] * 3, "threading.Semaphore": [4e7] * 3}, unit="ns"),
        bench("gilfree", {"qsem.Semaphore": [0.95] * 3}, unit="ratio"),
    ]}


def fake_doc():
    return {"tool": "fake_bench", "repeats": 3, "benchmarks": [
        bench("pair", {"qsem": [77.7] * 3, "peer": [55.5] * 3}),
        bench("handoff", {"qsem": [4444.0] * 3, "peer": [2222.0] * 3}),
    ]}


def py_async_doc():
    # with: 0.9x asyncio (met); handoff: 2x asyncio (missed);
    # two-loops: aiologic 3x slower (met); thread-task: 1.5x (missed)
    unit = "ns per operation"
    return {"tool": "python_async_bench", "qsem": "0.1.0", "repeats": 3, "benchmarks": [
        bench("with", {"qsem.Semaphore": [90.0] * 3, "asyncio.Semaphore": [100.0] * 3,
                       "anyio.CapacityLimiter": [900.0] * 3, "aiologic.Semaphore": [500.0] * 3,
                       "qsem.Semaphore (trio)": [95.0] * 3, "trio.Semaphore (trio)": [190.0] * 3},
              unit=unit, title="with: uncontended `async with sem: pass` (ns per block)"),
        bench("handoff", {"qsem.Semaphore": [6000.0] * 3, "asyncio.Semaphore": [3000.0] * 3,
                          "aiologic.Semaphore": [9000.0] * 3, "qsem.Semaphore (trio)": [7000.0] * 3,
                          "trio.Semaphore (trio)": [3500.0] * 3},
              unit=unit, title="handoff: two tasks, one loop (ns per pass)"),
        bench("two-loops", {"qsem.Semaphore": [10000.0] * 3, "aiologic.Semaphore": [30000.0] * 3},
              unit=unit, title="two-loops: tasks in two asyncio loops in two threads (ns per pass)"),
        bench("thread-task", {"qsem.Semaphore": [20000.0] * 3, "aiologic.Semaphore": [30000.0] * 3},
              unit=unit, title="thread-task: a thread and a task (ns per pass)"),
    ]}


def py_pingpong_doc():
    return {"tool": "python_bench", "qsem": "0.1.0", "repeats": 3, "benchmarks": [
        bench("pingpong", {"qsem.Semaphore": [12000.0] * 3, "threading.Semaphore": [48000.0] * 3},
              unit="ns per round trip", title="ping-pong shaped like user code")]}


def go_doc():
    four = lambda q, f, x, c: {"qsem": [q] * 3, "qsem-fifo": [f] * 3, "xsync": [x] * 3,  # noqa: E731
                               "chan": [c] * 3}
    return {"tool": "go_bench", "go": "go1.26", "repeats": 3, "quick": False, "benchmarks": [
        bench("TryAcquire+Release", four(60.0, 60.0, 15.0, 40.0)),
        bench("Acquire+Release", four(80.0, 80.0, 20.0, 50.0)),
        bench("handoff", four(3000.0, 300.0, 1000.0, 400.0), unit="ns per round trip"),
    ]}


def node_doc():
    # await: 1.2x the fastest peer (met); handoff: 2x the fastest (missed)
    peers = lambda q, a, b, c: {"qsem": [q] * 3, "async-sema": [a] * 3,  # noqa: E731
                                "async-mutex": [b] * 3, "@esfx/async-semaphore": [c] * 3}
    unit = "ns per operation"
    return {"tool": "node_bench", "node": "v20", "repeats": 3, "benchmarks": [
        bench("try", {"qsem": [40.0] * 3, "async-sema": [50.0] * 3}, unit=unit),
        bench("await", peers(120.0, 100.0, 300.0, 110.0), unit=unit),
        bench("handoff", peers(900.0, 450.0, 600.0, 500.0), unit=unit),
        bench("workers", {"qsem": [30000.0] * 3, "SAB+Atomics.waitAsync": [20000.0] * 3}, unit=unit),
    ]}


def main() -> int:
    report = load_report()
    # A front end adds its benchmark with one entry (here one that reuses
    # the SWIG renderer: a `pair` and a `handoff`, qsem first).
    report.BENCHMARKS.append(report.Bench("fake", "Fake", lambda ctx, out: [], report.swig_render))
    failed = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failed.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        os.makedirs(raw)
        # LuaJIT did not run: its targets must say so
        docs = (("c", c_doc()), ("lua", lua_doc()), ("python", py_doc()), ("node", node_doc()),
                ("python_async", py_async_doc()), ("python_pingpong", py_pingpong_doc()),
                ("go", go_doc()), ("fake", fake_doc()))
        for name, doc in docs:
            with open(os.path.join(raw, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(doc, f)
        meta = {"load_before": 0.5, "load_after": 0.5, "started": "2026-01-01 00:00", "quick": False,
                "seconds": {"c": 60.0, "lua": 30.0},
                "skipped": {"swig_java": "the Java binding is not built",
                            "luajit": "the LuaJIT module is not built"}}
        page = report.render(report.load(raw, report.BENCHMARKS), meta, tmp, os.path.join(tmp, "out"))
        for png in ("uncontended", "threads", "starvation", "lua"):
            check(os.path.exists(os.path.join(tmp, "out", "img", f"{png}.png")), f"img/{png}.png written")

    fronts = page.split("## 6. Each front end against its peers", 1)[-1].split("## Findings", 1)[0]
    section = lambda label: fronts.split(f"### {label}\n", 1)[-1].split("\n### ", 1)[0]  # noqa: E731
    targets = page.split("## 5. Targets", 1)[-1].split("## 6.", 1)[0]
    threads = page.split("## 2. ", 1)[-1].split("## 3. ", 1)[0]
    check("@@" not in page, "every placeholder filled")
    check("handoff with 4 busy threads:" in section("C") and "| sem_t | 1,000 [1,000, 1,000] | 3.21x [3.21, 3.21] |"
          in section("C"), "an unknown row appears in its front end's section with its figures and ratio")
    check("Not measured: the Java binding is not built." in section("Java")
          and "Not measured: the LuaJIT module is not built." in section("LuaJIT"),
          "a skipped benchmark is listed as not measured in its front end's section")
    check("| #17 | LuaJIT: hold guard at or under 1.3x a pure-Lua guard | not measured: the LuaJIT module "
          "is not built | not measured |" in targets, "a skipped benchmark's targets say not measured")
    check("| Python async (`async with`) | trio.Semaphore (trio) | 190 [190, 190] | 0.50x [0.50, 0.50] |"
          in page, "a trio row is compared with qsem under trio")
    check("| #15 | Python async: uncontended `async with` at or under 1.0x asyncio.Semaphore "
          "| 0.90x [0.90, 0.90] | met |" in targets, "issue 15: async with, met")
    check("| #15 | Python async: one-loop handoff at or under 1.5x asyncio.Semaphore | 2.00x [2.00, 2.00] "
          "| **missed** |" in targets, "issue 15: one-loop handoff, missed")
    check("| #15 | Python async: handoff between two loops in two threads at least 2x faster than aiologic "
          "| aiologic / qsem 3.00x [3.00, 3.00] | met |" in targets, "issue 15: two loops, met")
    check("| #15 | Python async: handoff between a thread and a task at least 2x faster than aiologic "
          "| aiologic / qsem 1.50x [1.50, 1.50] | **missed** |" in targets, "issue 15: thread-task, missed")
    check("| #16 | Node.js: awaited acquire+release at or under 1.5x the fastest peer | 1.20x [1.20, 1.20] "
          "| met |" in targets, "issue 16: awaited pair, met against the fastest peer")
    check("| #16 | Node.js: one-loop handoff at or under 1.5x the fastest peer | 2.00x [2.00, 2.00] "
          "| **missed** |" in targets, "issue 16: handoff, missed against the fastest peer")
    check("- **Node.js: one-loop handoff at or under 1.5x the fastest peer**: " in targets
          and "- **Node.js: awaited" not in targets, "only a missed target prints its note")
    check("| Python, ping-pong shaped like user code (ns per round trip) | qsem.Semaphore 12,000 "
          "[12,000, 12,000] | threading.Semaphore 48,000 [48,000, 48,000] | 0.25x [0.25, 0.25] |" in threads,
          "the Python ping-pong reaches section 2")
    check("| Node.js, main thread and a worker | qsem 30,000 [30,000, 30,000] | SAB+Atomics.waitAsync "
          "20,000 [20,000, 20,000] | 1.50x [1.50, 1.50] |" in threads, "the worker handoff reaches section 2")
    check("| Python async, two-loops | qsem.Semaphore 10,000 [10,000, 10,000] | aiologic.Semaphore "
          "30,000 [30,000, 30,000] | 0.33x [0.33, 0.33] |" in threads, "the cross-loop handoff reaches section 2")
    check("| uncontended pair within 1.1x of sem_t | 1.00x [1.00, 1.00] | met |" in targets,
          "a met target says met")
    check("| acquire(4) worst wait at or under 2 ms | qsem 5.00 ms, QSemaphore 41.0 ms (medians) | **missed** |"
          in targets, "a missed target says missed, with the run's medians")
    check("Of the 17 rounds of qsem in this run that waited more than 2 ms, 13 had" in targets,
          "the note of a missed target carries the run's figures")
    check("py_lock" not in targets and "_thread.lock's acquire parses" not in targets,
          "no note for a met target")
    check("| not measured | LuaJIT: the LuaJIT module is not built; Java: the Java binding is not built |"
          in page, "a benchmark that could not run is listed in the run's table")
    check("| Fake | qsem | 77.7 [77.7, 77.7] | - |" in page
          and "| Fake | peer | 55.5 [55.5, 55.5] | 1.40x [1.40, 1.40] |" in page,
          "a new front end's pair rows reach section 1")
    check("| Fake | qsem 4,444 [4,444, 4,444] | peer 2,222 [2,222, 2,222] | 2.00x [2.00, 2.00] |"
          in page, "a new front end's handoff reaches section 2")
    check("| time | C 60 s, Lua 30 s; 1.5 minutes in all |" in page, "the time each benchmark took")
    check("| Go (`Acquire`) | xsync | 20.0 [20.0, 20.0] | 4.00x [4.00, 4.00] |" in page
          and "| Go (`Acquire`) | qsem-fifo | 80.0 [80.0, 80.0] | 1.00x [1.00, 1.00] |" in page,
          "Go's pairs reach section 1")
    check("| Go, two goroutines (ns per round trip) | qsem 3,000 [3,000, 3,000] | qsem-fifo 300 [300, 300]; "
          "xsync 1,000 [1,000, 1,000]; chan 400 [400, 400] | 7.50x [7.50, 7.50] |" in threads,
          "Go's handoff reaches section 2, against the best peer other than qsem FIFO")
    check("; Go go1.26" in page.split("| runtimes |", 1)[-1].split("\n", 1)[0],
          "Go's runtime is named")
    check("C 3, Lua 3, Python 3, Python async 3, Python ping-pong 3, Node.js 3, Go 3, Fake 3 rounds" in page,
          "repeats per benchmark")
    check("| Lua | qsem `hold` guard (`<close>`) | 100 [90.0, 110] | - |" in page,
          "the Lua rows reach section 1")
    check("| #17 | Lua: cqueues handoff at or under 1.2x a pure-Lua semaphore | 1.25x [1.20, 1.29] "
          "| **missed** |" in targets and
          "| #17 | Lua: generic-host handoff at or under 2x plain yields | 1.25x [1.20, 1.29] | met |"
          in targets, "issue 17's targets are checked")
    check("| #11 | C, 4 busy threads: a 2 ms timed wait returns under 1 ms late (median) | qsem "
          "300 [280, 320] us; sem_t 60.0 us (medians) | met |" in targets, "issue 11: lateness under load, met")
    check("| #11 | C, 4 busy threads: a sleeping acquire returns under 100 us after the release "
          "(median) | qsem 150 [150, 150] us; sem_t 5.00 us (medians) | **missed** |" in targets
          and "sem_t's row faces the same scheduler" in targets, "issue 11: wake-up under load, missed, noted")
    check("| CPU-bound load (4 busy threads): lateness of a 2 ms timed wait | us late | 300 [280, 320] | "
          "60.0 [60.0, 60.0] | 900 [900, 900] | 1,500 [1,500, 1,500] | 300 [300, 300] | 5.00x [4.67, 5.33] |"
          in threads and "| without load: pingpong 0 | ns per round trip | 2,000" in threads.split("C under CPU-bound", 1)[-1],
          "the load rows reach section 2 with their peers and the quiet ping-pong")
    # A C benchmark without the load rows: issue 11's load targets are not measured.
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        os.makedirs(raw)
        for name, doc in (("c", c_doc(load=False)), ("lua", lua_doc()), ("python", py_doc())):
            with open(os.path.join(raw, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(doc, f)
        meta = {"load_before": 0.5, "load_after": 0.5, "started": "2026-01-01 00:00", "quick": False}
        old = report.render(report.load(raw, report.BENCHMARKS), meta, tmp, os.path.join(tmp, "out"))
    check("| #11 | C, 4 busy threads: a 2 ms timed wait returns under 1 ms late (median) | "
          "not measured: this build's qsem_bench has no CPU-bound load rows | not measured |" in old,
          "issue 11's load targets are not measured without the rows")
    # A benchmark that fails: a full run goes on and says so; --quick stops.
    with tempfile.TemporaryDirectory() as tmp:
        fails = report.Bench("fails", "Fails", lambda ctx, out: [sys.executable, "-c", "raise SystemExit(3)"],
                             report.swig_render)
        took: dict = {}
        skipped = report.measure(report.Ctx(tmp, tmp, False, 1), [fails], took)
        check(skipped.get("fails", "").startswith(os.path.basename(sys.executable) + " failed with status 3")
              and "fails" not in took, "a failed benchmark is listed as not measured in a full run")
        try:
            report.measure(report.Ctx(tmp, tmp, True, 1), [fails], took)
            check(False, "a failed benchmark stops a --quick run")
        except SystemExit:
            pass
    for what in failed:
        print(f"test_report: FAILED: {what}")
    if failed:
        print(page)
        return 1
    print("test_report: rendering checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
