#!/usr/bin/env python3
"""Check bench/report.py's rendering on made-up samples, with no benchmark run.

    python3 bench/test_report.py

- every @@placeholder@@ of bench/performance.md.in is filled;
- verdicts come from the samples: a target the samples meet says "met", one
  they miss says "missed" and prints its note with the run's own figures;
- a row no section knows (as a new benchmark row would be) appears under
  "More measurements" with its figures;
- a benchmark that could not run is listed under "not measured";
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


def c_doc():
    same = lambda x: {n: [x, x * 1.1, x * 0.9] for n in C_PEERS}  # noqa: E731
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
            ]}


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


def node_doc():
    return {"tool": "node_bench", "node": "20", "repeats": 3, "benchmarks": [
        bench("pair", {"qsem": [77.7] * 3, "async-sema": [55.5] * 3}),
        bench("handoff", {"qsem": [4444.0] * 3, "async-sema": [2222.0] * 3}),
    ]}


def main() -> int:
    report = load_report()
    # A front end adds its benchmark with one entry (here one that reuses
    # the SWIG renderer: a `pair` and a `handoff`, qsem first).
    report.BENCHMARKS.append(report.Bench("node", "Node.js", lambda ctx, out: [], report.swig_render))
    failed = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failed.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        os.makedirs(raw)
        docs = (("c", c_doc()), ("lua", lua_doc()), ("luajit", lua_doc()), ("python", py_doc()),
                ("node", node_doc()))
        for name, doc in docs:
            with open(os.path.join(raw, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(doc, f)
        meta = {"load_before": 0.5, "load_after": 0.5, "started": "2026-01-01 00:00", "quick": False,
                "skipped": {"swig_java": "the Java binding is not built"}}
        page = report.render(report.load(raw, report.BENCHMARKS), meta, tmp, os.path.join(tmp, "out"))
        for png in ("uncontended", "threads", "starvation", "lua"):
            check(os.path.exists(os.path.join(tmp, "out", "img", f"{png}.png")), f"img/{png}.png written")

    more = page.split("## 6. More measurements", 1)[-1].split("## Findings", 1)[0]
    targets = page.split("## 5. Targets", 1)[-1].split("## 6.", 1)[0]
    check("@@" not in page, "every placeholder filled")
    check("handoff with 4 busy threads" in more and "3,210" in more and "3.21x" in more,
          "an unknown row appears under More measurements with its figures")
    check("| uncontended pair within 1.1x of sem_t | 1.00x [1.00, 1.00] | met |" in targets,
          "a met target says met")
    check("| acquire(4) worst wait under 2 ms | qsem 5.00 ms, QSemaphore 41.0 ms (medians) | **missed** |"
          in targets, "a missed target says missed, with the run's medians")
    check("Of the 17 rounds of qsem in this run that waited more than 2 ms, 13 had" in targets,
          "the note of a missed target carries the run's figures")
    check("py_lock" not in targets and "_thread.lock's acquire parses" not in targets,
          "no note for a met target")
    check("| not measured | Java: the Java binding is not built |" in page,
          "a benchmark that could not run is listed")
    check("| Node.js | qsem | 77.7 [77.7, 77.7] | - |" in page
          and "| Node.js | async-sema | 55.5 [55.5, 55.5] | 1.40x [1.40, 1.40] |" in page,
          "a new front end's pair rows reach section 1")
    check("| Node.js | qsem 4,444 [4,444, 4,444] | async-sema 2,222 [2,222, 2,222] | 2.00x [2.00, 2.00] |"
          in page, "a new front end's handoff reaches section 2")
    check("C 3, Lua 3, LuaJIT 3, Python 3, Node.js 3 rounds" in page, "repeats per benchmark")
    check("| LuaJIT | qsem `hold` guard (`g:release()`) | 100 [90.0, 110] | - |" in page,
          "the LuaJIT rows reach section 1")
    check("| #17 | LuaJIT: cqueues handoff at or under 1.2x a pure-Lua semaphore | 1.25x [1.20, 1.29] "
          "| **missed** |" in targets and
          "| #17 | Lua: generic-host handoff at or under 2x plain yields | 1.25x [1.20, 1.29] | met |"
          in targets, "issue 17's targets are checked for each Lua")
    for what in failed:
        print(f"test_report: FAILED: {what}")
    if failed:
        print(page)
        return 1
    print("test_report: rendering checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
