# SPDX-License-Identifier: MIT
"""Ctrl-C reaches a real python3 process blocked in acquire().

The child blocks on a semaphore that nobody releases; the test sends it
SIGINT, as a terminal would.  The contract: the acquire is interrupted
promptly, KeyboardInterrupt propagates with an ordinary traceback that ends
in the acquire call (no SystemError, no fatal error, no crash), and no token
is taken or left queued.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import sys
    import qsem
    sem = qsem.Semaphore(0)
    mode = sys.argv[1]
    print("ready", flush=True)
    if mode == "catch":
        try:
            sem.acquire(n=3)
        except KeyboardInterrupt:
            print("caught", sem.available(), sem.waiting(), flush=True)
            raise
    elif mode == "timeout":
        sem.acquire(timeout=120)
    else:
        sem.acquire()
""")


def run_child(tmp_path, mode):
    # A file rather than -c, so that the traceback quotes the source line.
    script = tmp_path / "blocked.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert proc.stdout.readline().strip() == "ready"
        # Let it get from the print into the wait.
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out, err, took


@pytest.mark.parametrize("mode", ["forever", "timeout", "catch"])
def test_sigint_interrupts_blocked_acquire(tmp_path, mode):
    code, out, err, took = run_child(tmp_path, mode)
    # An uncaught KeyboardInterrupt makes CPython exit by SIGINT itself.
    assert code == -signal.SIGINT, (code, err)
    lines = err.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):", err
    assert lines[-1] == "KeyboardInterrupt", err
    assert 'blocked.py", line' in err and "sem.acquire(" in err, err
    for bad in ("SystemError", "Fatal Python error", "Segmentation", "Exception ignored"):
        assert bad not in err, err
    # Promptly: the handler ran when the signal came, not at some later wake-up.
    assert took < 5, took
    if mode == "catch":
        # Nothing taken, nothing left in the queue.
        assert out.splitlines()[-1] == "caught 0 0", out
