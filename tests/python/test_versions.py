"""Every CPython the package claims (3.10 to 3.13): compile the extension
against each interpreter found (pyenv's), import it, and run CPython's own
Semaphore suites plus an async round trip with that interpreter.  These
need no third-party package, so the other interpreters need nothing
installed.  The full suite runs on the default interpreter."""
import glob
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def find(version):
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    hits = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", "python3")))
    if hits:
        return hits[-1]
    found = shutil.which(f"python{version}")
    # A pyenv shim for a version that is not selected only prints advice.
    return found if found and "shims" not in found else None


CHECK = textwrap.dedent("""\
    import asyncio, sys, threading, unittest
    from test import lock_tests
    import qsem

    class SemaphoreTests(lock_tests.SemaphoreTests):
        semtype = staticmethod(qsem.Semaphore)

    class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
        semtype = staticmethod(qsem.BoundedSemaphore)

    class Basics(unittest.TestCase):
        def test_async_round_trip(self):
            s = qsem.Semaphore(0)
            async def main():
                threading.Timer(0.02, s.release, args=(2,)).start()
                self.assertTrue(await s.async_acquire(n=2, timeout=30))
                async with s.hold(0):
                    pass
            asyncio.run(main())
            self.assertEqual((s.available(), s.waiting()), (0, 0))

        def test_subclass_and_release_zero(self):
            class Named(qsem.Semaphore):
                def __init__(self, value=1, *, name="pool"):
                    super().__init__(value)
            s = Named(2, name="x")
            with self.assertRaises(ValueError):
                s.release(0)
            self.assertEqual(s.available(), 2)

    if __name__ == "__main__":
        assert qsem.__file__.startswith(sys.argv[1]), qsem.__file__
        unittest.main(argv=sys.argv[:1], verbosity=1)
    """)


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_builds_imports_and_passes_lock_tests(version, tmp_path):
    python = find(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine")
    # Compiled the way setup.py compiles it, but with the interpreter's own
    # headers and no setuptools (3.12 and later ship without it).
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(ROOT, "bindings", "python", "qsem"), lib / "qsem")
    info = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['include']);"
                       "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
        capture_output=True, text=True, check=True).stdout.split()
    build = subprocess.run(
        [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-std=gnu11", "-Wall",
         "-fvisibility=hidden", "-I", info[0], "-I", os.path.join(ROOT, "csrc"),
         os.path.join(ROOT, "bindings", "python", "qsemmodule.c"),
         os.path.join(ROOT, "csrc", "qsem_all.c"),
         "-o", str(lib / "qsem" / ("_qsem" + info[1])), "-lpthread"],
        capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "warning" not in build.stderr, build.stderr
    (tmp_path / "check.py").write_text(CHECK)
    env = dict(os.environ, PYTHONPATH=str(lib), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([python, str(tmp_path / "check.py"), str(lib)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stderr, r.stderr
