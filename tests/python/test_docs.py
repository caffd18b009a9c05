# SPDX-License-Identifier: MIT
"""The async example of docs/python.md runs as printed."""
import os
import re
import subprocess
import sys

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
