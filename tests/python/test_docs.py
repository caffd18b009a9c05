# SPDX-License-Identifier: MIT
"""The async example of docs/python.md runs as printed, and its list of
differences from threading names every one."""
import os
import re
import subprocess
import sys
import threading

import pytest

import qsem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_async_example_runs():
    with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("\n## async\n"):text.index("\n## Timeouts\n")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    example = next(b for b in blocks if "ThreadPoolExecutor" in b)
    r = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"peak [123] of 3\n", r.stdout), r.stdout


def _differences_section():
    with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("\nDifferences")
    return text[start:text.index("\n## ", start)]


def _outcome(call):
    try:
        return call()
    except Exception as e:
        return type(e)


def _set_name(sem):
    sem.name = "db-pool"
    return sem.name


# Each behaviour in which qsem and threading part ways, and the words of
# docs/python.md's list of differences that name it: a difference that the
# list does not name is a trap for whoever replaces the import.
DIFFERENCES = [
    (lambda m: _set_name(m.Semaphore(2)), "db-pool", AttributeError, "`__dict__`"),
    (lambda m: m.Semaphore(2).__init__(3), None, RuntimeError, "`__init__` runs once"),
    (lambda m: m.BoundedSemaphore(0).acquire(False), False, ValueError,
     "`BoundedSemaphore(0).acquire(False)`"),
    (lambda m: m.BoundedSemaphore(0).acquire(timeout=0.01), False, ValueError,
     "`acquire(timeout=0.01)`"),
    (lambda m: m.Semaphore(1.5), None, TypeError, "`Semaphore(1.5)`"),
    (lambda m: m.Semaphore(2).acquire(n=0), TypeError, True, "`acquire(n=0)`"),
]


@pytest.mark.parametrize("call,theirs,ours,words", DIFFERENCES, ids=[d[3] for d in DIFFERENCES])
def test_every_difference_from_threading_is_documented(call, theirs, ours, words):
    got_theirs, got_ours = _outcome(lambda: call(threading)), _outcome(lambda: call(qsem))
    if theirs is not None:
        assert got_theirs == theirs
    else:
        assert not isinstance(got_theirs, type)   # threading accepts it
    assert got_ours == ours
    assert words in _differences_section()
