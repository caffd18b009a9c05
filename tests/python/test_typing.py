# SPDX-License-Identifier: MIT
"""The stubs: qsem/__init__.pyi must agree with the runtime module (mypy's
stubtest), type-check the demo under --strict, and catch misuse."""
import os
import subprocess
import sys
import textwrap

import pytest

import qsem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(qsem.__file__)))

pytest.importorskip("mypy")


@pytest.fixture(scope="module")
def mypy_env(tmp_path_factory):
    env = dict(os.environ)
    # A build tree is found through MYPYPATH; an installed package through
    # its py.typed marker (mypy refuses site-packages in MYPYPATH).
    if os.path.basename(PACKAGE_PARENT) not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = PACKAGE_PARENT
    env.setdefault("MYPY_CACHE_DIR", str(tmp_path_factory.mktemp("mypy_cache")))
    return env


def run(args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=600,
    )


def test_package_ships_stubs_and_marker():
    here = os.path.dirname(qsem.__file__)
    assert os.path.isfile(os.path.join(here, "__init__.pyi"))
    assert os.path.isfile(os.path.join(here, "py.typed"))


def test_stubs_match_the_runtime(mypy_env, tmp_path):
    r = run(["mypy.stubtest", "qsem"], mypy_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_demo_type_checks_strictly(mypy_env, tmp_path):
    demo = os.path.join(ROOT, "examples", "python_demo.py")
    r = run(["mypy", "--strict", "--no-error-summary", demo], mypy_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_stubs_catch_misuse(mypy_env, tmp_path):
    bad = tmp_path / "misuse.py"
    bad.write_text(textwrap.dedent("""\
        import qsem

        s = qsem.Semaphore(2, fair=True)
        s.acquire(n="3")
        s.release(1.5)
        s.acquire(timeout="soon")
        count: str = s.available()
        with s.hold(2) as g:
            g.n + ""
        qsem.Semaphore(2, True)
        s.closed = True
        """))
    r = run(["mypy", "--strict", "--no-error-summary", str(bad)], mypy_env, tmp_path)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    for line in (4, 5, 6, 7, 9, 10, 11):
        assert f"misuse.py:{line}: error" in out, out


def test_threading_style_code_type_checks(mypy_env, tmp_path):
    # Valid for threading.Semaphore, so valid for qsem: release(n=...) and
    # a subclass with an __init__ of its own.
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""\
        import qsem

        class Named(qsem.Semaphore):
            def __init__(self, value: int = 1, *, name: str = "pool") -> None:
                super().__init__(value)
                self.name = name

        s = Named(2, name="db")
        s.release(n=2)

        # any number with __float__, as at run time
        from decimal import Decimal
        from fractions import Fraction
        s.acquire(timeout=Decimal("0.5"))
        s.hold(1, timeout=Fraction(1, 2))
        """))
    r = run(["mypy", "--strict", "--no-error-summary", str(good)], mypy_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_async_api_type_checks_strictly(mypy_env, tmp_path):
    good = tmp_path / "async_good.py"
    good.write_text(textwrap.dedent("""\
        import asyncio

        import qsem

        async def main(sem: qsem.Semaphore) -> int:
            ok: bool = await sem.async_acquire(2, timeout=0.5)
            if ok:
                sem.release(2)
            async with sem:
                pass
            async with sem.hold(3, timeout=1.0) as guard:
                held: int = guard.held
            task = asyncio.create_task(sem.async_acquire())
            return held + int(await task)

        asyncio.run(main(qsem.BoundedSemaphore(4)))
        """))
    r = run(["mypy", "--strict", "--no-error-summary", str(good)], mypy_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = tmp_path / "async_bad.py"
    bad.write_text(textwrap.dedent("""\
        import qsem

        async def main(sem: qsem.Semaphore) -> None:
            sem.async_acquire(n="2")
            name: str = await sem.async_acquire()
            async with sem.hold(2) as g:
                g.held + ""
        """))
    r = run(["mypy", "--strict", "--no-error-summary", str(bad)], mypy_env, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    for line in (4, 5, 7):
        assert f"async_bad.py:{line}: error" in r.stdout, r.stdout
