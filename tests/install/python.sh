#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python package as users get it: `python -m build` makes an sdist and
# a wheel from a copy of the sources; the sdist is installed into a fresh
# venv outside the repository, and the Python suite and a small program
# run against that installed copy alone.  Also checks that the sdist
# carries every file csrc/qsem_all.c includes and that building never
# writes into the source tree.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?the repository root}"
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "install/python.sh: $*" >&2; exit 1; }

# A copy of the sources, to see whether the build writes into them.
src="$work/src"
mkdir "$src"
(cd "$QSEM_SOURCE_DIR" && tar -cf - --exclude='./build*' --exclude=.git \
    --exclude=__pycache__ --exclude='*.egg-info' .) | tar -xf - -C "$src"
[ -f "$src/LICENSE" ] || fail "no LICENSE at the repository root"
before=$(cd "$src" && find . | sort)

"$PYTHON" -m build --sdist --wheel --outdir "$work/dist" "$src" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; fail "python -m build failed"; }
after=$(cd "$src" && find . | sort)
[ "$before" = "$after" ] || fail "building wrote into the source tree: $(diff <(echo "$before") <(echo "$after") | head -5)"

sdist=$(ls "$work"/dist/qsem-*.tar.gz)
wheel=$(ls "$work"/dist/qsem-*.whl)
listing=$(tar -tzf "$sdist")
for f in $(cd "$QSEM_SOURCE_DIR" && ls csrc/*.c csrc/*.h) LICENSE \
         bindings/python/qsemmodule.c bindings/python/qsem/__init__.pyi \
         bindings/python/qsem/py.typed bindings/python/qsem/_async.py; do
    grep -q "^qsem-[^/]*/$f\$" <<<"$listing" || fail "the sdist lacks $f"
done
# The portable back end, which non-Linux builds use, compiles from the
# sdist alone.
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
(cd "$work"/unpacked/qsem-* && ${CC:-cc} -std=gnu11 -DQSEM_FORCE_PTHREAD -c csrc/qsem_all.c \
    -o "$work/pthread.o") || fail "the sdist's core does not build with the pthread back end"
syms=$(nm "$work/pthread.o")
grep -q qsem_acquire_until <<<"$syms" || fail "the pthread build has no qsem_acquire_until"

wheel_listing=$("$PYTHON" -m zipfile -l "$wheel")
grep -q "qsem/__init__.pyi" <<<"$wheel_listing" || fail "the wheel lacks the stubs"

# The license as PEP 639 states it (python -m build uses a current
# setuptools), with none of the forms setuptools deprecates: their
# deprecation turns into an error after 2027-02-18.
metadata=$("$PYTHON" - "$wheel" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    sys.stdout.write(z.read(name).decode())
PY
)
grep -qx "License-Expression: MIT" <<<"$metadata" || fail "the wheel's metadata has no License-Expression: MIT"
grep -qx "License-File: LICENSE" <<<"$metadata" || fail "the wheel's metadata names no License-File"
! grep -q "^Classifier: License ::" <<<"$metadata" || fail "the wheel's metadata has a license classifier"
! grep -q "SetuptoolsDeprecationWarning" "$work/build.log" ||
    fail "the build warned of deprecated setuptools usage: $(grep -m1 -A3 SetuptoolsDeprecationWarning "$work/build.log")"

# The sdist alone, in a fresh venv, far from the repository.
"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"
# pip unpacks the sdist under the temporary directory: the build's scratch
# directory must go with it, not pile up there install after install.
mkdir "$work/tmp"
TMPDIR="$work/tmp" "$py" -m pip install -q --disable-pip-version-check "$sdist" pytest hypothesis trio trio-asyncio anyio uvloop mypy \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; fail "pip install of the sdist failed"; }
left=$(find "$work/tmp" -maxdepth 1 -name 'qsem-setuptools-*')
[ -z "$left" ] || fail "installing the sdist left $left"

run="$work/run"
mkdir "$run"
cat >"$run/program.py" <<'PY'
import asyncio
import threading

import qsem

limit = qsem.BoundedSemaphore(2)
assert qsem.__file__.find("site-packages") > 0, qsem.__file__


async def task():
    async with limit.hold(2, timeout=10):
        return limit.available()


threading.Timer(0.05, limit.release, args=(2,)).start()
limit.acquire(n=2)
assert asyncio.run(task()) == 0
assert limit.available() == 2
print("qsem", qsem.__version__, "installed and working")
PY
(cd "$run" && "$py" program.py) || fail "the program failed against the installed package"

# The suite's quick files, run from outside the repository against the
# installed package (the timing-heavy ones run in the build's own suite;
# two tests that read files of the repository are left out).
cp -r "$src/tests/python" "$run/tests"
(cd "$run" && "$py" -m pytest -q -p no:cacheprovider \
    tests/test_api.py tests/test_dropin.py tests/test_hold.py tests/test_async.py \
    tests/test_lock_tests.py tests/test_typing.py \
    --deselect tests/test_api.py::test_version_comes_from_the_header \
    --deselect tests/test_typing.py::test_demo_type_checks_strictly \
    --deselect tests/test_docs.py::test_async_example_runs) || fail "the Python suite failed against the sdist"
echo "install/python.sh: ok"
