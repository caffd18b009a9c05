#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run every qsem benchmark in one go and write the performance report.

    python3 bench/report.py --build BUILD [--quick] [--repeats N] [--out-dir DIR] [--render-only]

BUILD is a CMake build of this tree configured with -DQSEM_BUILD_BENCH=ON and
-DQSEM_BUILD_LUA=ON.  The Python extension is taken from BUILD/tests/python/lib
(-DQSEM_BUILD_PYTHON=ON), else from the installed `qsem`, else built here with
setup.py into BUILD/bench/pyext.

Each benchmark is one entry of BENCHMARKS: a name (its samples go to
BUILD/bench/report/raw/<name>.json), the command that runs it (or why it
cannot run in this build), a parser of what it wrote, and a renderer that
adds its figures, plots and targets to the report's sections.  A front end
adds its benchmark with one entry; every row it writes appears in that
front end's section with its ratios, whether or not a renderer presents it
elsewhere, and a benchmark that cannot run is listed as not measured, its
targets too.  The prose of the page is the template
bench/performance.md.in, and the notes printed under a missed target are
bench/performance-notes.md: every figure on the page comes from this run.

The benchmarks run in interleaved rounds, and DIR/performance.md (default:
docs/) gets tables and PNG plots in DIR/img/.  Every figure is a median with
[min, max] over the rounds; every ratio is taken between two measurements of
the same round, then summarised the same way.

--quick runs each benchmark in its smoke mode (under a minute); its numbers
mean little, and it writes to BUILD/bench/report-quick unless told otherwise.
--render-only writes the report again from the samples of the last run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

Samples = list[float]


# {======================================================================
# Statistics
# ======================================================================

def summary(v: Samples) -> tuple[float, float, float]:
    return statistics.median(v), min(v), max(v)


def ratios(a: Samples, b: Samples) -> Samples:
    """a/b round by round: both were measured in the same round."""
    return [x / y for x, y in zip(a, b) if y > 0]


def fmt(x: float) -> str:
    """Three significant digits, no exponent for the sizes seen here."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(v: Samples, scale: float = 1.0, capped: bool = False) -> str:
    med, lo, hi = summary([x / scale for x in v])
    mark = "&gt;" if capped else ""
    return f"{mark}{fmt(med)} [{fmt(lo)}, {fmt(hi)}]"


def rcell(r: Samples) -> str:
    if not r:
        return "-"
    med, lo, hi = summary(r)
    return f"{med:.2f}x [{lo:.2f}, {hi:.2f}]"

# }======================================================================


# {======================================================================
# Running the benchmarks
# ======================================================================

class BenchFailed(Exception):
    """A benchmark exited with an error or ran out of time."""


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: int = 900) -> str:
    print("report: running", " ".join(cmd), flush=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        p = subprocess.run(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise BenchFailed(f"{os.path.basename(cmd[0])} ran out of its {timeout} s") from e
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        raise BenchFailed(f"{os.path.basename(cmd[0])} failed with status {p.returncode}")
    return p.stdout


def python_lib(build: str) -> str | None:
    """A PYTHONPATH entry that provides qsem, or None if it is installed."""
    lib = os.path.join(build, "tests", "python", "lib")
    if os.path.isdir(os.path.join(lib, "qsem")):
        return lib
    probe = subprocess.run([sys.executable, "-c", "import qsem"], capture_output=True,
                           check=False)
    if probe.returncode == 0:
        return None
    lib = os.path.join(build, "bench", "pyext", "lib")
    run([sys.executable, "setup.py", "--quiet", "build", "--force",
         "--build-base", os.path.join(build, "bench", "pyext", "setuptools"),
         "--build-lib", lib])
    return lib


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor() or "unknown"
    info["cores"] = str(os.cpu_count())
    info["kernel"] = f"{platform.system()} {platform.release()}"

    def first_line(cmd: list[str]) -> str:
        if shutil.which(cmd[0]) is None:
            return "not found"
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        out = (p.stdout or p.stderr).strip().splitlines()
        return out[0] if out else "unknown"

    info["cc"] = first_line(["gcc", "--version"])
    info["cxx"] = first_line(["g++", "--version"])
    info["python"] = sys.version.split()[0]
    info["lua"] = first_line(["lua5.4", "-v"]).split("  ")[0]   # drop the copyright
    return info


def loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def build_type(build: str) -> str:
    try:
        with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "(none: the benchmark adds -O2)"
    except OSError:
        pass
    return "unknown"

# }======================================================================


# {======================================================================
# Plots (matplotlib, headless)
# ======================================================================

def plotter() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 8, "figure.dpi": 80})
    return plt


def save(plt: Any, fig: Any, path: str) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    # The PNGs are committed: a 64-colour palette keeps each a few tens of KB.
    from PIL import Image
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def bars(plt: Any, path: str, title: str, unit: str, groups: list[tuple[str, list[tuple[str, Samples]]]],
         log: bool = True) -> None:
    """Horizontal bars (median) with min-max whiskers, one block per group."""
    labels, meds, los, his, colors = [], [], [], [], []
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for gi, (group, rows) in enumerate(groups):
        for name, v in rows:
            med, lo, hi = summary(v)
            labels.append(f"{group}: {name}" if group else name)
            meds.append(med)
            los.append(med - lo)
            his.append(hi - med)
            colors.append(palette[gi % len(palette)])
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(labels) + 1.0))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, meds, xerr=[los, his], color=colors, capsize=2, height=0.7)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(unit)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    save(plt, fig, path)


def lines(plt: Any, path: str, panels: list[tuple[str, str, dict[str, list[tuple[int, Samples]]]]]) -> None:
    """One panel per entry: x = thread count, median with min-max bars per series."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.8))
    if len(panels) == 1:
        axes = [axes]
    for ax, (title, unit, series) in zip(axes, panels):
        handles = []
        for name, pts in series.items():
            xs = [x for x, _ in pts]
            st = [summary(v) for _, v in pts]
            handles.append(ax.errorbar(xs, [s[0] for s in st],
                                       yerr=[[s[0] - s[1] for s in st], [s[2] - s[0] for s in st]],
                                       marker="o", markersize=3, capsize=2))
        ax.set_yscale("log")
        ax.set_xticks(sorted({x for pts in series.values() for x, _ in pts}))
        ax.set_xlabel("threads")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        # labels passed here are kept even when they start with "_" (_thread.lock)
        ax.legend(handles, list(series), fontsize=6)
    save(plt, fig, path)

# }======================================================================


# {======================================================================
# The documents the benchmarks write
# ======================================================================
#
# Every parser returns one shape: {"tool", "repeats", ..., "benchmarks": [
#   {"id", "param", "title", "unit", "impls": [{"name", "samples", "capped"}]}]}
# with qsem first among the impls wherever a ratio is taken against peers.

Doc = dict[str, Any]


def load_json(path: str) -> Doc:
    with open(path, encoding="utf-8") as f:
        doc: Doc = json.load(f)
    return doc


def parse_lua(path: str) -> Doc:
    """lua_bench.lua writes one row per measurement with qsem and a peer side by side."""
    doc = load_json(path)
    doc["benchmarks"] = [
        {"id": r["id"], "param": 0, "title": r["name"], "unit": "ns per operation",
         "impls": [{"name": "qsem", "samples": r["samples"], "capped": False}]
         + ([{"name": r["peer"], "samples": r["peer_samples"], "capped": False}] if r.get("peer") else [])}
        for r in doc.pop("rows")]
    return doc


def impl(b: dict[str, Any], name: str) -> dict[str, Any]:
    for im in b["impls"]:
        if im["name"] == name:
            return im
    raise KeyError(f"{b['title']}: no {name}")


def samples(b: dict[str, Any], name: str) -> Samples:
    return [float(x) for x in impl(b, name)["samples"]]


def names(b: dict[str, Any]) -> list[str]:
    return [im["name"] for im in b["impls"]]


def best_other_ratio(b: dict[str, Any], skip: tuple[str, ...] = ()) -> Samples:
    """The first implementation over the fastest of the others, round by round."""
    first, *rest = [n for n in names(b) if n not in skip or n == names(b)[0]]
    q = samples(b, first)
    others = [samples(b, n) for n in rest]
    if not others:
        return []
    return [q[r] / min(o[r] for o in others) for r in range(len(q)) if min(o[r] for o in others) > 0]


def baseline(b: dict[str, Any], name: str) -> str:
    """The qsem row a row is compared with: the one run under the same
    library, named with the same "(...)" suffix (Python's trio rows), else
    the first row."""
    suffix = name[name.index(" ("):] if " (" in name else ""
    for n in names(b):
        if n.startswith("qsem") and suffix and n.endswith(suffix):
            return n
    return names(b)[0]


def table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)

# }======================================================================


# {======================================================================
# The report being assembled
# ======================================================================

@dataclass
class Target:
    """A target set by an issue, checked against this run."""
    issue: str
    text: str
    measured: str
    ok: bool | None             # None: no number was set, shown for information
    note: str = ""              # heading in bench/performance-notes.md, printed if missed
    near: Samples | None = None  # ratios for which "no worse than 1" is the target


def verdict(t: Target) -> str:
    if t.ok is None:
        return "not measured" if t.measured.startswith("not measured") else "-"
    if t.ok:
        return "met"
    if t.near and min(t.near) <= 1.0 and statistics.median(t.near) <= 1.05:
        return f"**missed** by {100 * (statistics.median(t.near) - 1):.0f}%, inside the spread"
    return "**missed**"


@dataclass
class Report:
    """What the benchmarks' renderers contribute, section by section.

    A renderer reads its own document (and, if it compares across front
    ends, the others in `docs`) and adds rows, blocks, plot series and
    targets; the section functions below lay them out.  Every row of every
    benchmark also appears in its front end's own section, so that new rows
    need no code here.
    """
    docs: dict[str, Doc]
    labels: dict[str, str]
    img_dir: str
    headline: list[str] = field(default_factory=list)
    uncontended: list[list[str]] = field(default_factory=list)
    uncontended_plot: list[tuple[str, list[tuple[str, Samples]]]] = field(default_factory=list)
    blocks: dict[str, list[str]] = field(default_factory=dict)
    thread_panels: list[tuple[str, str, dict[str, list[tuple[int, Samples]]]]] = field(default_factory=list)
    starve_rows: list[list[str]] = field(default_factory=list)
    starve_plot: list[tuple[str, list[tuple[str, Samples]]]] = field(default_factory=list)
    handoff_rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    note_args: dict[str, dict[str, Any]] = field(default_factory=dict)

    def every(self, doc: str, bid: str) -> list[dict[str, Any]]:
        return [b for b in self.docs[doc]["benchmarks"] if b["id"] == bid]

    def get(self, doc: str, bid: str, param: int | None = None) -> dict[str, Any]:
        for b in self.every(doc, bid):
            if param is None or b["param"] == param:
                return b
        raise KeyError(f"{doc}: no benchmark {bid} {param}")

    def has(self, doc: str, bid: str) -> bool:
        return doc in self.docs and any(b["id"] == bid for b in self.docs[doc]["benchmarks"])

    def add(self, section: str, text: str) -> None:
        self.blocks.setdefault(section, []).append(text)

    def pair_rows(self, doc: str, b: dict[str, Any], label: str = "") -> None:
        """Rows of section 1 for one benchmark: each implementation, qsem over it."""
        label = label or self.labels[doc]
        for n in names(b):
            base = baseline(b, n)
            self.uncontended.append([label, n, cell(samples(b, n)),
                                     "-" if n == base else rcell(ratios(samples(b, base), samples(b, n)))])
        self.uncontended_plot.append((label, [(n, samples(b, n)) for n in names(b)]))

# }======================================================================


# {======================================================================
# The benchmarks: one entry each
# ======================================================================
#
# A front end adds its benchmark with one Bench entry: how to run it (or
# why it cannot), how to read what it wrote, and what it adds to the report.

@dataclass
class Ctx:
    build: str
    raw_dir: str
    quick: bool
    repeats: int

    def rounds(self, max_repeats: int | None = None) -> int:
        return self.repeats if max_repeats is None else max(1, min(self.repeats, max_repeats))

    def flags(self, max_repeats: int | None = None, repeats_flag: str = "--repeats") -> list[str]:
        return (["--quick"] if self.quick else []) + [repeats_flag, str(self.rounds(max_repeats))]


@dataclass
class Bench:
    name: str                                         # raw/<name>.json
    label: str                                        # the front end, as the tables name it
    command: Callable[[Ctx, str], list[str] | str]    # argv writing JSON to the path, or why not
    render: Callable[[Report, str], None]             # adds the run's figures to the report
    parse: Callable[[str], Doc] = load_json
    env: Callable[[Ctx], dict[str, str]] = lambda ctx: {}
    required: bool = False                            # the report cannot be written without it
    alone: str = ""                                   # how to run it by hand, for "Reproducing"
    targets: tuple[tuple[str, str], ...] = ()         # (issue, text) of the targets render checks,
                                                      # listed as not measured when it cannot run


# ---- C: qsem_bench (qsem, sem_t, std::counting_semaphore, QSemaphore) ----

def c_command(ctx: Ctx, out: str) -> list[str] | str:
    exe = os.path.join(ctx.build, "bench", "qsem_bench")
    if not os.path.exists(exe):
        return f"{exe} is missing: configure with -DQSEM_BUILD_BENCH=ON and build it"
    return [exe, *ctx.flags(), "--json", out]


def c_peers(rep: Report) -> list[str]:
    return names(rep.get("c", "uncontended"))


def c_render(rep: Report, doc: str) -> None:
    unc = rep.get(doc, "uncontended")
    q_semt = ratios(samples(unc, "qsem"), samples(unc, "sem_t"))
    q_qt = ratios(samples(unc, "qsem"), samples(unc, "QSemaphore"))
    rep.pair_rows(doc, unc)
    rep.headline.append(f"C, uncontended acquire+release: qsem/sem_t **{rcell(q_semt)}**, "
                        f"qsem/QSemaphore **{rcell(q_qt)}** (lower is faster).")
    rep.targets += [
        Target("#2", "uncontended pair within 1.1x of sem_t", rcell(q_semt),
               statistics.median(q_semt) <= 1.1, "semt"),
        Target("#2", "uncontended pair no slower than QSemaphore", rcell(q_qt),
               statistics.median(q_qt) <= 1.0, "qt", q_qt),
    ]
    c_threads(rep, doc)
    c_load(rep, doc)
    c_starvation(rep, doc)


C_LATE = ("#11", "C, 4 busy threads: a 2 ms timed wait returns under 1 ms late (median)")
C_WAKE = ("#11", "C, 4 busy threads: a sleeping acquire returns under 100 us after the "
                 "release (median)")
C_LOAD_IDS = ("pingpong_load", "timedwait_load", "wake_load")


def c_load(rep: Report, doc: str) -> None:
    """The handoff and timed-wait rows with CPU-bound threads beside them,
    next to the same ping-pong on an otherwise idle benchmark."""
    loads = [rep.get(doc, i) for i in C_LOAD_IDS if rep.has(doc, i)]
    late = next((b for b in loads if b["id"] == "timedwait_load"), None)
    wake = next((b for b in loads if b["id"] == "wake_load"), None)
    if not loads:
        why = "not measured: this build's qsem_bench has no CPU-bound load rows"
        rep.targets += [Target(*C_LATE, why, None), Target(*C_WAKE, why, None)]
        return
    peers = c_peers(rep)
    best = lambda b: best_other_ratio(b, skip=("qsem FIFO",))  # noqa: E731
    quiet = rep.get(doc, "pingpong")
    rows = [[("without load: " if b is quiet else "") + b["title"], b["unit"]]
            + [cell(samples(b, n)) if n in names(b) else "-" for n in peers]
            + [rcell(ratios(samples(b, "qsem"), samples(b, "sem_t"))), rcell(best(b))]
            for b in [quiet, *loads]]
    rep.add("threads", "C under CPU-bound load: the same ping-pong with busy threads spinning beside it "
            "(more runnable threads than cores), and two rows that only load shows: how late a timed "
            "wait returns, and how long a sleeping acquire takes to return after its release. The first "
            "row is the ping-pong without load, for comparison.\n\n"
            + table(["benchmark", "unit", *peers, "qsem / sem_t", "qsem / best peer"], rows) + "\n")
    med = statistics.median
    for b, t, bound in ((late, C_LATE, 1000.0), (wake, C_WAKE, 100.0)):
        if b is None:
            rep.targets.append(Target(*t, "not measured: this build's qsem_bench has no such row", None))
            continue
        q = samples(b, "qsem")
        semt = f"; sem_t {fmt(med(samples(b, 'sem_t')))} us" if "sem_t" in names(b) else ""
        rep.targets.append(Target(*t, f"qsem {cell(q)} us{semt} (medians)", med(q) < bound, "load"))
    if late is not None and wake is not None:
        rep.headline.append(
            f"C with 4 busy threads on the cores: a 2 ms timed wait returns {fmt(med(samples(late, 'qsem')))} us "
            f"late (sem_t {fmt(med(samples(late, 'sem_t')))} us); a sleeping acquire returns "
            f"{fmt(med(samples(wake, 'qsem')))} us after its release (sem_t {fmt(med(samples(wake, 'sem_t')))} us).")


def c_threads(rep: Report, doc: str) -> None:
    peers = c_peers(rep)
    best = lambda b: best_other_ratio(b, skip=("qsem FIFO",))  # noqa: E731
    pp, rings, pcs = rep.get(doc, "pingpong"), rep.every(doc, "ring"), rep.every(doc, "prodcons")
    rows = [[b["title"], b["unit"]] + [cell(samples(b, n)) for n in peers] + [rcell(best(b))]
            for b in [pp, *rings, *pcs]]
    rep.add("threads", "C:\n\n" + table(["benchmark", "unit", *peers, "qsem / best peer"], rows) + "\n")
    rep.thread_panels += [
        ("C: handoff latency (ring)", "ns per handoff",
         {n: [(b["param"], samples(b, n)) for b in rings] for n in peers}),
        ("C: throughput (producer/consumer)", "ns per item",
         {n: [(b["param"], samples(b, n)) for b in pcs] for n in peers}),
    ]
    rep.targets.append(Target("#2", "ping-pong no worse than the best peer", rcell(best(pp)),
                              statistics.median(best(pp)) <= 1.0, "pingpong", best(pp)))
    for b in pcs:
        r = best(b)
        rep.targets.append(Target("#2", f"throughput ({b['param']} per side) no worse than the best peer",
                                  rcell(r), statistics.median(r) <= 1.0, "throughput", r))
    packed = rep.every(doc, "packed")
    if packed:
        std_a, std_p = "std::counting_semaphore", "std::counting_semaphore, packed"
        rep.add("threads", "Every peer object above sits on a cache line of its own, as each `qsem_t` "
                "does. Declared side by side without that, std::counting_semaphore's two counters "
                "share one line, and each thread then touches one line per item instead of two. "
                "That is a property of the benchmark's layout, not of the semaphore, so the tables "
                "above do not use it; this table measures it, in its own interleaved rounds (ns per "
                "item):\n\n" + table(
                    ["producer/consumer", "qsem", "std, one line each", "std, one line for both",
                     "packed / one line each", "qsem / std packed"],
                    [[f"{b['param']} per side", cell(samples(b, "qsem")), cell(samples(b, std_a)),
                      cell(samples(b, std_p)), rcell(ratios(samples(b, std_p), samples(b, std_a))),
                      rcell(ratios(samples(b, "qsem"), samples(b, std_p)))] for b in packed]) + "\n")
    for multi in rep.every(doc, "multi3"):
        rep.add("threads", f"Multi-token work under contention ({multi['title']}, {multi['unit']}): "
                + "; ".join(f"{n} {cell(samples(multi, n))}" for n in peers)
                + f". qsem / best peer {rcell(best(multi))}. sem_t and std::counting_semaphore "
                "take a multi-token request as that many single waits.\n")


def c_starvation(rep: Report, doc: str) -> None:
    st = rep.get(doc, "starve")
    peers = names(st)
    rep.add("starvation", f"C: {st['title']}.\n")
    rep.starve_rows += [["C", n, cell(samples(st, n), 1e6, impl(st, n)["capped"])] for n in peers]
    rep.starve_plot.append(("C", [(n, [x / 1e6 for x in samples(st, n)]) for n in peers]))
    q, qt = impl(st, "qsem"), impl(st, "QSemaphore")
    rep.headline.append(f"Worst wait of acquire(4) among 1-token churners (C): qsem "
                        f"{cell(samples(st, 'qsem'), 1e6, q['capped'])} ms, QSemaphore "
                        f"{cell(samples(st, 'QSemaphore'), 1e6, qt['capped'])} ms.")
    med_q, med_qt = statistics.median(samples(st, "qsem")) / 1e6, statistics.median(samples(st, "QSemaphore")) / 1e6
    rep.targets.append(Target("#2, #11", "acquire(4) worst wait at or under 2 ms",
                              f"qsem {fmt(med_q)} ms, QSemaphore {fmt(med_qt)} ms (medians)",
                              med_q <= 2.0, "starve"))
    rep.note_args["starve"] = {"slow": q.get("slow_rounds", "?"), "pre": q.get("slow_preempted", "?")}
    why = [[im["name"], f"{im['slow_rounds']} of {im['rounds']}",
            f"{im['slow_preempted']} of {im['slow_rounds']}"] for im in st["impls"] if "slow_rounds" in im]
    if why:
        rep.add("starvation_why", "Why a round waits long. Each churner also times how long it holds "
                "its token; the work inside takes about a microsecond when the thread keeps its core, "
                "so a hold longer than 1 ms means the holder was preempted while holding it, and then "
                "no semaphore can hand out 4 tokens until the scheduler runs that thread again (C, all "
                "rounds of the run):\n\n" + table(
                    ["implementation", "rounds that waited > 2 ms", "of those, a holder was preempted"],
                    why) + "\n")


# ---- Lua: lua_bench.lua (an empty C call, a pure-Lua semaphore, cqueues) ----

def lua_command(ctx: Ctx, out: str) -> list[str] | str:
    mod = os.path.join(ctx.build, "bindings", "lua", "qsem.so")
    if not os.path.exists(mod):
        return f"{mod} is missing: configure with -DQSEM_BUILD_LUA=ON and build it"
    return ["lua5.4", os.path.join(HERE, "lua_bench.lua"), *ctx.flags(), "--json", out]


def luajit_command(ctx: Ctx, out: str) -> list[str] | str:
    """The same benchmark under LuaJIT 2.1, where the build made its module."""
    mod = os.path.join(ctx.build, "bindings", "lua", "luajit", "qsem.so")
    if not os.path.exists(mod) or not shutil.which("luajit"):
        return "the LuaJIT module is not built (luajit and libluajit-5.1-dev, -DQSEM_BUILD_LUA=ON)"
    return ["luajit", os.path.join(HERE, "lua_bench.lua"), *ctx.flags(), "--json", out]


def lua_targets(label: str) -> tuple[tuple[str, str], ...]:
    return (("#17", f"{label}: cqueues handoff at or under 1.2x a pure-Lua semaphore"),
            ("#17", f"{label}: generic-host handoff at or under 2x plain yields"),
            ("#17", f"{label}: hold guard at or under 1.3x a pure-Lua guard"))


def lua_render(rep: Report, doc: str) -> None:
    """lua_bench.lua's rows, under Lua 5.4 (doc "lua") or another Lua (LuaJIT)."""
    label = rep.labels[doc]
    pair, hold, floor = rep.get(doc, "pair"), rep.get(doc, "hold"), rep.get(doc, "floor")
    cq, gen = rep.get(doc, "handoff_cqueues"), rep.get(doc, "handoff_generic")
    q = lambda b: samples(b, "qsem")  # noqa: E731
    peer = lambda b: samples(b, names(b)[1])  # noqa: E731
    lua_cq, lua_gen, lua_hold = ratios(q(cq), peer(cq)), ratios(q(gen), peer(gen)), ratios(q(hold), peer(hold))
    guard = "`<close>`" if doc == "lua" else "`g:release()`"
    rep.uncontended += [
        [label, "qsem", cell(q(pair)), "-"],
        [label, names(pair)[1], cell(peer(pair)), rcell(ratios(q(pair), peer(pair)))],
        [label, floor["title"], cell(q(floor)), rcell(ratios(q(pair), q(floor)))],
        [label, f"qsem `hold` guard ({guard})", cell(q(hold)), "-"],
        [label, f"pure-Lua guard ({guard})", cell(peer(hold)), rcell(lua_hold)],
    ]
    if rep.has(doc, "object"):
        # A guard's floor: a new object plus the uncontended pair, over the
        # pure-Lua guard (which reuses one), round by round.
        obj = q(rep.get(doc, "object"))
        floor_hold = ratios([o + p for o, p in zip(obj, q(pair))], peer(hold))
        rep.uncontended.append([label, "a new object per hold, made and collected (ratio: "
                                "it plus qsem's pair, over the pure-Lua guard)",
                                cell(obj), rcell(floor_hold)])
    rep.uncontended_plot.append((label, [("qsem", q(pair)), ("pure-Lua", peer(pair)),
                                         ("empty C call", q(floor))]))
    if doc == "lua":
        rep.headline.append(f"Lua coroutine handoff under cqueues: qsem/pure-Lua semaphore {rcell(lua_cq)}.")
    rep.add("paths", f"{label}, ns per handoff:\n\n" + table(["measure", "qsem", "peer", "qsem / peer"], [
        ["two coroutines under cqueues (peer: pure-Lua semaphore on cqueues conditions)",
         cell(q(cq)), cell(peer(cq)), rcell(lua_cq)],
        ["two coroutines, generic host (peer: the same host passing the turn by plain yields)",
         cell(q(gen)), cell(peer(gen)), rcell(lua_gen)],
    ]) + "\n")
    if doc == "lua":
        bars(plotter(), os.path.join(rep.img_dir, "lua.png"), "Lua: calls and coroutine handoffs",
             "ns per operation (log scale)", [
                 ("qsem", [("empty C call", q(floor)), ("acquire+release", q(pair)), ("hold guard", q(hold)),
                           ("handoff, cqueues", q(cq)), ("handoff, generic host", q(gen))]),
                 ("peer", [("acquire+release", peer(pair)), ("guard", peer(hold)),
                           ("handoff, cqueues", peer(cq)), ("plain yield", peer(gen))]),
             ])
        rep.add("paths", "![Lua rows](img/lua.png)\n")
    med = statistics.median
    cq_t, gen_t, hold_t = lua_targets(label)
    rep.targets += [
        Target(*cq_t, rcell(lua_cq), med(lua_cq) <= 1.2, "lua_cqueues"),
        Target(*gen_t, rcell(lua_gen), med(lua_gen) <= 2.0, "lua_generic"),
        Target(*hold_t, rcell(lua_hold), med(lua_hold) <= 1.3, "lua_hold"),
    ]


# ---- Python: python_wait_bench.py (threading, _thread, multiprocessing) ----

def py_command(ctx: Ctx, out: str) -> list[str] | str:
    return [sys.executable, os.path.join(HERE, "python_wait_bench.py"), *ctx.flags(5), "--json", out]


def py_env(ctx: Ctx) -> dict[str, str]:
    lib = python_lib(ctx.build)
    return {"PYTHONPATH": lib + os.pathsep + os.environ.get("PYTHONPATH", "")} if lib else {}


def py_render(rep: Report, doc: str) -> None:
    pair, ho, st = rep.get(doc, "pair"), rep.get(doc, "handoff"), rep.get(doc, "starve")
    vs_thr = ratios(samples(pair, "threading.Semaphore"), samples(pair, "qsem.Semaphore"))
    vs_lock = ratios(samples(pair, "qsem.Semaphore"), samples(pair, "_thread.lock"))
    py_ho = ratios(samples(ho, "threading.Semaphore"), samples(ho, "qsem.Semaphore"))
    rep.pair_rows(doc, pair)
    rep.headline.append(f"Python, uncontended acquire+release: qsem.Semaphore is **{rcell(vs_thr)}** "
                        f"faster than threading.Semaphore; qsem/_thread.lock {rcell(vs_lock)}.")
    rings = rep.every(doc, "ring")
    rows = [[b["title"], "; ".join(f"{n} {cell(samples(b, n))}" for n in names(b))] for b in [ho, *rings]]
    rep.add("threads", "Python (ns per handoff; every handoff also hands the GIL over):\n\n"
            + table(["benchmark", "ns per handoff, median [min, max]"], rows) + "\n")
    if rings:
        rep.thread_panels.append(("Python: handoff latency (ring)", "ns per handoff",
                                  {n: [(b["param"], samples(b, n)) for b in rings] for n in names(rings[0])}))
    rep.add("starvation", f"Python: {st['title']}.\n")
    rep.starve_rows += [["Python", im["name"], cell(im["samples"], 1e6, im["capped"])] for im in st["impls"]]
    rep.starve_plot.append(("Python", [(im["name"], [x / 1e6 for x in im["samples"]]) for im in st["impls"]]))
    py_q = samples(ho, "qsem.Semaphore")
    rows = []
    if rep.has("c", "pingpong"):
        pp = [x / 2 for x in samples(rep.get("c", "pingpong"), "qsem")]
        rows.append(["C qsem handoff (ping-pong round trip / 2), ns", cell(pp)])
    rows += [[f"Python {n} handoff, ns", cell(samples(ho, n))] for n in names(ho)]
    if rep.has("c", "pingpong"):
        rows.append(["Python qsem handoff / C qsem handoff (not the same round: different processes)",
                     f"{statistics.median(py_q) / statistics.median(pp):.1f}x"])
    for gil in rep.every(doc, "gilfree"):
        rows.append([gil["title"], cell(samples(gil, "qsem.Semaphore"))])
    rep.add("paths", "Python:\n\n" + table(["measure", "median [min, max]"], rows) + "\n")
    rep.targets += [
        Target("#3", "Python pair at least 10x faster than threading.Semaphore", rcell(vs_thr),
               statistics.median(vs_thr) >= 10),
        Target("#3", "Python pair no slower than _thread.lock", rcell(vs_lock),
               statistics.median(vs_lock) <= 1.0, "py_lock", vs_lock),
        Target("#3", "Python handoff at least 2x faster than threading.Semaphore", rcell(py_ho),
               statistics.median(py_ho) >= 2, "py_handoff"),
    ]


# ---- Python async: python_async_bench.py (asyncio, anyio, trio, aiologic) ----

PYA_WITH = ("#15", "Python async: uncontended `async with` at or under 1.0x asyncio.Semaphore")
PYA_HANDOFF = ("#15", "Python async: one-loop handoff at or under 1.5x asyncio.Semaphore")
PYA_LOOPS = ("#15", "Python async: handoff between two loops in two threads at least 2x "
                    "faster than aiologic")
PYA_THREAD = ("#15", "Python async: handoff between a thread and a task at least 2x faster "
                     "than aiologic")


def py_async_command(ctx: Ctx, out: str) -> list[str] | str:
    probe = subprocess.run([sys.executable, "-c", "import aiologic, anyio, trio"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        return "aiologic, anyio or trio is not installed (scripts/deps/python.pip)"
    return [sys.executable, os.path.join(HERE, "python_async_bench.py"),
            *ctx.flags(2 if ctx.quick else 7, repeats_flag="--repeat"), "--json", out]


def py_async_render(rep: Report, doc: str) -> None:
    """qsem.Semaphore's async path against each loop's own semaphore, and
    across loops and threads against aiologic, the one peer that can."""
    w, h = rep.get(doc, "with"), rep.get(doc, "handoff")
    loops, thread = rep.get(doc, "two-loops"), rep.get(doc, "thread-task")
    q, aio, alog = "qsem.Semaphore", "asyncio.Semaphore", "aiologic.Semaphore"
    r_with, r_ho = ratios(samples(w, q), samples(w, aio)), ratios(samples(h, q), samples(h, aio))
    r_loops = ratios(samples(loops, alog), samples(loops, q))
    r_thread = ratios(samples(thread, alog), samples(thread, q))
    rep.pair_rows(doc, w, "Python async (`async with`)")
    rep.headline.append(f"Python async: `async with` qsem/asyncio.Semaphore **{rcell(r_with)}**; "
                        f"across two loops aiologic/qsem **{rcell(r_loops)}** (higher: qsem faster).")
    for b in (h, loops, thread):
        rep.handoff_rows.append([f"Python async, {b['title'].split(':', 1)[0]}",
                                 f"{q} {cell(samples(b, q))}",
                                 "; ".join(f"{n} {cell(samples(b, n))}" for n in names(b) if n != q),
                                 rcell(best_other_ratio(b, skip=tuple(n for n in names(b) if " (" in n)))])
    med = statistics.median
    rep.targets += [
        Target(*PYA_WITH, rcell(r_with), med(r_with) <= 1.0, "py_async_with", r_with),
        Target(*PYA_HANDOFF, rcell(r_ho), med(r_ho) <= 1.5, "py_async_handoff"),
        Target(*PYA_LOOPS, f"aiologic / qsem {rcell(r_loops)}", med(r_loops) >= 2.0),
        Target(*PYA_THREAD, f"aiologic / qsem {rcell(r_thread)}", med(r_thread) >= 2.0),
    ]


# ---- Python ping-pong shaped like user code: python_bench.py ---------------

def py_pingpong_command(ctx: Ctx, out: str) -> list[str] | str:
    return [sys.executable, os.path.join(HERE, "python_bench.py"),
            *(["--quick"] if ctx.quick else []), "--json", out]


def py_pingpong_render(rep: Report, doc: str) -> None:
    pp = rep.get(doc, "pingpong")
    r = ratios(samples(pp, "threading.Semaphore"), samples(pp, "qsem.Semaphore"))
    rep.handoff_rows.append(["Python, ping-pong shaped like user code (ns per round trip)",
                             f"qsem.Semaphore {cell(samples(pp, 'qsem.Semaphore'))}",
                             f"threading.Semaphore {cell(samples(pp, 'threading.Semaphore'))}",
                             rcell(best_other_ratio(pp))])
    rep.headline.append(f"Python ping-pong shaped like user code (two threads, two semaphores): "
                        f"threading/qsem **{rcell(r)}** (higher: qsem faster).")


# ---- Node.js: node_bench.js (async-sema, async-mutex, @esfx, Atomics) ------

NODE_AWAIT = ("#16", "Node.js: awaited acquire+release at or under 1.5x the fastest peer")
NODE_HANDOFF = ("#16", "Node.js: one-loop handoff at or under 1.5x the fastest peer")


def node_dir(ctx: Ctx) -> str:
    return os.path.join(ctx.build, "bindings", "node")


def node_command(ctx: Ctx, out: str) -> list[str] | str:
    if not os.path.exists(os.path.join(node_dir(ctx), "qsem.node")):
        return "the Node.js addon is not built (-DQSEM_BUILD_NODE=ON)"
    if not os.path.isdir(os.path.join(node_dir(ctx), "npm", "node_modules", "async-sema")):
        return "the benchmark's npm peers are not installed (the build's `npm ci`)"
    if not shutil.which("node"):
        return "node is not installed"
    return ["node", os.path.join(HERE, "node_bench.js"),
            *ctx.flags(2 if ctx.quick else None, repeats_flag="--rounds"),
            "--json", out]


def node_env(ctx: Ctx) -> dict[str, str]:
    return {"QSEM_NODE_ADDON": os.path.join(node_dir(ctx), "qsem.node"),
            "NODE_PATH": os.path.join(node_dir(ctx), "npm", "node_modules")}


def node_render(rep: Report, doc: str) -> None:
    """try/await pairs (section 1), handoffs in one loop and across workers
    (section 2); the targets take qsem over the fastest peer per round."""
    try_, aw = rep.get(doc, "try"), rep.get(doc, "await")
    ho, wk = rep.get(doc, "handoff"), rep.get(doc, "workers")
    rep.pair_rows(doc, try_, "Node.js (`tryAcquire`)")
    rep.pair_rows(doc, aw, "Node.js (`await acquire`)")
    r_aw, r_ho = best_other_ratio(aw), best_other_ratio(ho)
    for b, what in ((ho, "two async functions, one loop"), (wk, "main thread and a worker")):
        rep.handoff_rows.append([f"Node.js, {what}", f"qsem {cell(samples(b, 'qsem'))}",
                                 "; ".join(f"{n} {cell(samples(b, n))}" for n in names(b)[1:]),
                                 rcell(best_other_ratio(b))])
    rep.headline.append(f"Node.js: awaited acquire+release qsem/fastest peer **{rcell(r_aw)}**; "
                        f"handoff between workers qsem/Atomics **{rcell(best_other_ratio(wk))}**.")
    med = statistics.median
    rep.targets += [
        Target(*NODE_AWAIT, rcell(r_aw), med(r_aw) <= 1.5, "node_await"),
        Target(*NODE_HANDOFF, rcell(r_ho), med(r_ho) <= 1.5, "node_handoff"),
    ]


# ---- SWIG front ends: qsem against the language's own semaphore ----------

def swig_render(rep: Report, doc: str) -> None:
    """A `pair` (section 1) and a two-thread `handoff` (section 2), qsem first."""
    for b in rep.every(doc, "pair"):
        rep.pair_rows(doc, b)
    for b in rep.every(doc, "handoff"):
        first, *rest = names(b)
        rep.handoff_rows.append([rep.labels[doc], f"{first} {cell(samples(b, first))}",
                                 "; ".join(f"{n} {cell(samples(b, n))}" for n in rest),
                                 rcell(best_other_ratio(b))])


def java_command(ctx: Ctx, out: str) -> list[str] | str:
    jdir = os.path.join(ctx.build, "bindings", "swig", "java")
    if not os.path.isdir(os.path.join(jdir, "classes")) or not shutil.which("java"):
        return "the Java binding is not built (-DQSEM_BUILD_SWIG=ON)"
    return ["java", "-cp", os.path.join(jdir, "classes"), f"-Djava.library.path={jdir}",
            os.path.join(HERE, "SwigBench.java"), *ctx.flags(), "--json", out]


def perl_command(ctx: Ctx, out: str) -> list[str] | str:
    pdir = os.path.join(ctx.build, "bindings", "swig", "perl")
    if not os.path.exists(os.path.join(pdir, "qsem.pm")) or not shutil.which("perl"):
        return "the Perl binding is not built (-DQSEM_BUILD_SWIG=ON)"
    return ["perl", f"-I{pdir}", os.path.join(HERE, "swig_bench.pl"), *ctx.flags(), "--json", out]


# ---- Go: bench/go (the cgo package against x/sync's Weighted, a channel) ----

def go_tool() -> str | None:
    """The go that the build uses: /usr/local/go's first (Debian's is older
    than the module's go line)."""
    return "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else shutil.which("go")


def go_command(ctx: Ctx, out: str) -> list[str] | str:
    try:
        with open(os.path.join(ctx.build, "CMakeCache.txt"), encoding="utf-8") as f:
            built = any(line.startswith("QSEM_BUILD_GO:BOOL=ON") for line in f)
    except OSError:
        built = False
    if not built:
        return "the Go package is not part of this build (-DQSEM_BUILD_GO=ON)"
    if go_tool() is None:
        return "go is not installed"
    return ["bash", os.path.join(HERE, "go", "run.sh"), *(["-quick"] if ctx.quick else []),
            "-reps", str(ctx.rounds()), "-json", out]


def go_env(ctx: Ctx) -> dict[str, str]:
    return {"QSEM_GO": go_tool() or "go"}


def go_render(rep: Report, doc: str) -> None:
    """Uncontended pairs (section 1) and the goroutine ping-pong (section 2)."""
    tr, ar, ho = rep.get(doc, "TryAcquire+Release"), rep.get(doc, "Acquire+Release"), rep.get(doc, "handoff")
    rep.pair_rows(doc, tr, "Go (`TryAcquire`)")
    rep.pair_rows(doc, ar, "Go (`Acquire`)")
    best = lambda b: best_other_ratio(b, skip=("qsem-fifo",))  # noqa: E731
    rep.handoff_rows.append(["Go, two goroutines (ns per round trip)", f"qsem {cell(samples(ho, 'qsem'))}",
                             "; ".join(f"{n} {cell(samples(ho, n))}" for n in names(ho)[1:]),
                             rcell(best(ho))])
    rep.headline.append(f"Go: `Acquire`+`Release` qsem/x/sync's Weighted **{rcell(ratios(samples(ar, 'qsem'), samples(ar, 'xsync')))}**; "
                        f"goroutine ping-pong qsem/best peer **{rcell(best(ho))}**.")


BENCHMARKS: list[Bench] = [
    Bench("c", "C", c_command, c_render, required=True, targets=(C_LATE, C_WAKE),
          alone="`BUILD/bench/qsem_bench [--quick] [--repeats N] [--json FILE]`"),
    Bench("lua", "Lua", lua_command, lua_render, parse=parse_lua, required=True, targets=lua_targets("Lua"),
          env=lambda ctx: {"LUA_CPATH_5_4": os.path.join(ctx.build, "bindings", "lua", "?.so") + ";;"},
          alone="`lua5.4 bench/lua_bench.lua [--quick] [--repeats N] [--json FILE]`"),
    Bench("luajit", "LuaJIT", luajit_command, lua_render, parse=parse_lua, targets=lua_targets("LuaJIT"),
          env=lambda ctx: {"LUA_CPATH": os.path.join(ctx.build, "bindings", "lua", "luajit", "?.so") + ";;"},
          alone="`LUA_CPATH='BUILD/bindings/lua/luajit/?.so;;' luajit bench/lua_bench.lua`"),
    Bench("python", "Python", py_command, py_render, env=py_env, required=True,
          alone="`python3 bench/python_wait_bench.py [--quick] [--repeats N] [--json FILE]`"),
    Bench("python_async", "Python async", py_async_command, py_async_render, env=py_env,
          targets=(PYA_WITH, PYA_HANDOFF, PYA_LOOPS, PYA_THREAD),
          alone="`python3 bench/python_async_bench.py [--quick] [--repeat N] [--json FILE]`"),
    Bench("python_pingpong", "Python ping-pong", py_pingpong_command, py_pingpong_render, env=py_env,
          alone="`python3 bench/python_bench.py [--quick] [--json FILE]`"),
    Bench("node", "Node.js", node_command, node_render, env=node_env,
          targets=(NODE_AWAIT, NODE_HANDOFF),
          alone="`QSEM_NODE_ADDON=BUILD/bindings/node/qsem.node "
                "NODE_PATH=BUILD/bindings/node/npm/node_modules node bench/node_bench.js "
                "[--quick] [--rounds N] [--json FILE]`"),
    Bench("swig_java", "Java", java_command, swig_render,
          alone="`java -cp BUILD/bindings/swig/java/classes bench/SwigBench.java`"),
    Bench("swig_perl", "Perl", perl_command, swig_render,
          alone="`perl -IBUILD/bindings/swig/perl bench/swig_bench.pl`"),
    Bench("go", "Go", go_command, go_render, env=go_env,
          alone="`bench/go/run.sh [-quick] [-reps N] [-json FILE]`"),
]

# }======================================================================


# {======================================================================
# Measuring
# ======================================================================

def measure(ctx: Ctx, benches: list[Bench], seconds: dict[str, float]) -> dict[str, str]:
    """Run every benchmark that can run; returns why each other one did
    not, and puts the wall-clock time each one took into `seconds`.

    A benchmark that fails stops a --quick run (the smoke test is there to
    catch it) and a required one stops any run; in a full run the others
    go on, and the page lists the failed one as not measured."""
    skipped: dict[str, str] = {}
    for b in benches:
        started = time.monotonic()
        out = os.path.join(ctx.raw_dir, f"{b.name}.json")
        if os.path.exists(out):
            os.remove(out)
        cmd = b.command(ctx, out)
        if isinstance(cmd, str):
            if b.required:
                raise SystemExit(f"report: {cmd}")
            skipped[b.name] = cmd
            continue
        try:
            run(cmd, env=b.env(ctx))
        except BenchFailed as e:
            if b.required or ctx.quick:
                raise SystemExit(f"report: {e}") from e
            print(f"report: {e}; going on without {b.name}", flush=True)
            skipped[b.name] = f"{e} in this run (its output is in the run's log)"
            if os.path.exists(out):
                os.remove(out)
            continue
        seconds[b.name] = time.monotonic() - started
        print(f"report: {b.name} took {seconds[b.name]:.0f} s", flush=True)
    return skipped


def load(raw_dir: str, benches: list[Bench]) -> dict[str, Doc]:
    docs = {}
    for b in benches:
        path = os.path.join(raw_dir, f"{b.name}.json")
        if os.path.exists(path):
            docs[b.name] = b.parse(path)
        elif b.required:
            raise SystemExit(f"report: {path} is missing: run without --render-only first")
    return docs

# }======================================================================


# {======================================================================
# Sections
# ======================================================================

def section_run(rep: Report, meta: dict[str, Any], build: str) -> str:
    m, c = meta.get("machine") or machine(), rep.docs["c"]
    present = [b for b in BENCHMARKS if b.name in rep.docs]
    version = lambda d: d.get("java") or d.get("perl") or d.get("go") or d.get("node") or ""  # noqa: E731
    runtimes = [f"Python {m['python']}", m["lua"], f"Qt {c.get('qt', '?')}"]
    runtimes += [f"{b.label} {version(rep.docs[b.name])}" for b in present
                 if version(rep.docs[b.name])]
    rows = [
        ["machine", f"{m['cpu']}, {m['cores']} cores, {m['kernel']}"],
        ["compilers", f"{m['cc']}; {m['cxx']}; build type {build_type(build)}"],
        ["runtimes", "; ".join(runtimes)],
        ["qsem", f"{c['qsem']}, {c['backend']} back end"],
        ["run", f"{meta['started']} UTC; load average {meta['load_before']:.2f} before, "
                f"{meta['load_after']:.2f} after (on {m['cores']} cores)"],
        ["repeats", ", ".join(f"{b.label} {rep.docs[b.name]['repeats']}" for b in present)
         + " rounds; every implementation is measured once per round, interleaved with its "
           "peers, so that the machine's load falls on all of them alike"],
        ["spread", "each cell is median [min, max] over the rounds; each ratio is computed "
                   "within a round, then summarised the same way"],
    ]
    took = meta.get("seconds", {})
    if took:
        rows.append(["time", ", ".join(f"{b.label} {took[b.name]:.0f} s" for b in BENCHMARKS
                                       if b.name in took)
                     + f"; {sum(took.values()) / 60:.1f} minutes in all"])
    skipped = meta.get("skipped", {})
    if skipped:
        rows.append(["not measured", "; ".join(f"{b.label}: {skipped[b.name]}"
                                               for b in BENCHMARKS if b.name in skipped)])
    return table(["", ""], rows)


def section_busy(meta: dict[str, Any]) -> str:
    cores = int((meta.get("machine") or {}).get("cores") or os.cpu_count() or 1)
    if meta["load_before"] <= cores:
        return ""
    return (f"The machine was busy (load average {meta['load_before']:.1f} on {cores} cores) when "
            "the run started: other work competes for the cores, so the threaded rows, and their "
            "max column most of all, carry scheduler noise. Interleaving the rounds spreads that "
            "noise over every implementation alike.")


def section_headline(rep: Report) -> str:
    return "\n".join(f"- {line}" for line in rep.headline)


def section_uncontended(rep: Report) -> str:
    bars(plotter(), os.path.join(rep.img_dir, "uncontended.png"), "uncontended acquire + release",
         "ns per pair (log scale; bars: median, whiskers: min-max)", rep.uncontended_plot)
    return (table(["front end", "implementation", "ns per pair", "qsem / this"], rep.uncontended)
            + "\n\n![uncontended acquire + release](img/uncontended.png)")


def section_threads(rep: Report) -> str:
    parts = list(rep.blocks.get("threads", []))
    if rep.handoff_rows:
        parts.append("Other front ends, handoffs between threads, tasks or workers (ns per "
                     "handoff unless the row says otherwise; the ratio is qsem over the fastest "
                     "peer of the same round):\n\n"
                     + table(["front end", "qsem", "peer", "qsem / best peer"], rep.handoff_rows) + "\n")
    if rep.thread_panels:
        lines(plotter(), os.path.join(rep.img_dir, "threads.png"), rep.thread_panels)
        parts.append("![handoff latency and throughput against thread count](img/threads.png)\n")
    return "\n".join(parts)


def section_starvation(rep: Report) -> str:
    bars(plotter(), os.path.join(rep.img_dir, "starvation.png"), "worst acquire(4) wait among 1-token churners",
         "ms (log scale; bars: median of the rounds' worst, whiskers: min-max)", rep.starve_plot)
    return "\n".join([" ".join(b.strip() for b in rep.blocks.get("starvation", [])) + "\n",
                      table(["front end", "implementation", "worst wait, ms"], rep.starve_rows) + "\n",
                      "![worst wait of acquire(4)](img/starvation.png)\n",
                      *rep.blocks.get("starvation_why", [])])


def section_paths(rep: Report) -> str:
    return "\n".join(rep.blocks.get("paths", []))


def section_targets(rep: Report) -> str:
    return table(["issue", "target", "measured (median [min, max])", "verdict"],
                 [[t.issue, t.text, t.measured, verdict(t)] for t in rep.targets])


def read_notes(path: str) -> dict[str, str]:
    """The paragraphs of bench/performance-notes.md, by `## key` heading."""
    notes: dict[str, str] = {}
    key = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                key = line[3:].strip()
                notes[key] = ""
            elif key is not None:
                notes[key] += line
    return {k: " ".join(v.split()) for k, v in notes.items()}


def section_missed(rep: Report, notes: dict[str, str]) -> str:
    out, seen = [], set()
    for t in rep.targets:
        if t.ok is False and t.note and t.note not in seen:
            seen.add(t.note)
            out.append(f"- **{t.text}**: " + notes[t.note].format(**rep.note_args.get(t.note, {})))
    return "\n".join(out)


def frontend_rows(bench: dict[str, Any]) -> str:
    # Worst waits are written in ns (whatever unit the C document names)
    # and shown in ms, as in section 3.
    scale = 1e6 if bench["id"].startswith("starve") else 1.0
    unit = "ms" if scale != 1.0 else bench["unit"]
    rows = []
    for im in bench["impls"]:
        base = baseline(bench, im["name"])
        r = "-" if base == im["name"] else rcell(ratios(samples(bench, base), samples(bench, im["name"])))
        rows.append([im["name"], cell([float(x) for x in im["samples"]], scale, im.get("capped", False)),
                     r if base == names(bench)[0] or r == "-" else f"{r} (vs {base})"])
    return f"{bench.get('title') or bench['id']}:\n\n" + table(["implementation", f"{unit}, median [min, max]",
                                              "qsem / this, per round"], rows) + "\n"


def section_frontends(rep: Report, skipped: dict[str, str]) -> str:
    """Every row of every benchmark, one subsection per front end, so that
    no measurement of the run is left out; a benchmark that could not run
    says why."""
    parts = []
    for b in BENCHMARKS:
        parts.append(f"### {b.label}\n")
        if b.name not in rep.docs:
            why = skipped.get(b.name, "no samples from this run")
            parts.append(f"Not measured: {why}.\n")
            continue
        doc = rep.docs[b.name]
        parts.append(f"{doc['repeats']} rounds.\n")
        parts += [frontend_rows(bench) for bench in doc["benchmarks"]]
    return "\n".join(parts)


def section_commands() -> str:
    return "\n".join(f"- {b.label}: {b.alone}" for b in BENCHMARKS if b.alone)


def fill(template: str, values: dict[str, str]) -> str:
    """Replace each @@name@@ of the template; a name without a value is an error."""
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise SystemExit(f"report: the template asks for @@{m.group(1)}@@, which nothing renders")
        return values[m.group(1)]
    text = re.sub(r"@@(\w+)@@", one, template)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def render(docs: dict[str, Doc], meta: dict[str, Any], build: str, out_dir: str) -> str:
    img_dir = os.path.join(out_dir, "img")
    os.makedirs(img_dir, exist_ok=True)
    rep = Report(docs, {b.name: b.label for b in BENCHMARKS}, img_dir)
    for b in BENCHMARKS:
        if b.name in docs:
            b.render(rep, b.name)
    why = meta.get("skipped", {})
    rep.targets += [Target(issue, text, f"not measured: {why.get(b.name, 'no samples from this run')}", None)
                    for b in BENCHMARKS if b.name not in docs for issue, text in b.targets]
    with open(os.path.join(HERE, "performance.md.in"), encoding="utf-8") as f:
        template = f.read()
    values = {
        "quick": "**This was a `--quick` smoke run: its numbers mean little.**" if meta["quick"] else "",
        "run": section_run(rep, meta, build),
        "busy": section_busy(meta),
        "headline": section_headline(rep),
        "uncontended": section_uncontended(rep),
        "threads": section_threads(rep),
        "starvation": section_starvation(rep),
        "paths": section_paths(rep),
        "targets": section_targets(rep),
        "missed": section_missed(rep, read_notes(os.path.join(HERE, "performance-notes.md"))),
        "frontends": section_frontends(rep, meta.get("skipped", {})),
        "commands": section_commands(),
    }
    return fill(template, values)

# }======================================================================


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    ap.add_argument("--repeats", type=int, default=7, help="rounds per benchmark (default 7)")
    ap.add_argument("--render-only", action="store_true",
                    help="write the report again from the samples of the last run in "
                         "BUILD/bench/report/raw, without measuring")
    ap.add_argument("--out-dir", default=None,
                    help="where performance.md and img/ go (default: docs/; with --quick, "
                         "BUILD/bench/report-quick, so a smoke run never replaces the report)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    build = os.path.abspath(args.build)
    if args.out_dir is None:
        args.out_dir = (os.path.join(build, "bench", "report-quick") if args.quick
                        else os.path.join(ROOT, "docs"))
    out_dir = os.path.abspath(args.out_dir)
    raw_dir = os.path.join(build, "bench", "report-quick" if args.quick else "report", "raw")
    os.makedirs(raw_dir, exist_ok=True)
    meta_json = os.path.join(raw_dir, "run.json")

    if not args.render_only:
        now = datetime.datetime.now(datetime.timezone.utc)
        meta: dict[str, Any] = {"load_before": loadavg(), "started": f"{now:%Y-%m-%d %H:%M}"}
        # The machine as measured, so that --render-only elsewhere describes the run.
        meta["machine"] = machine()
        meta["seconds"] = {}
        meta["skipped"] = measure(Ctx(build, raw_dir, args.quick, args.repeats), BENCHMARKS,
                                  meta["seconds"])
        meta["load_after"] = loadavg()
        meta["quick"] = args.quick
        with open(meta_json, "w", encoding="utf-8") as f:
            json.dump(meta, f)
    with open(meta_json, encoding="utf-8") as f:
        meta = json.load(f)

    text = render(load(raw_dir, BENCHMARKS), meta, build, out_dir)
    out = os.path.join(out_dir, "performance.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"report: wrote {out} and {os.path.join(out_dir, 'img')}/*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
