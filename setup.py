# SPDX-License-Identifier: MIT
"""Build the qsem CPython extension: the C core plus bindings/python/qsemmodule.c.

The version is read from csrc/qsem_version.h, the one place it is written.
"""
import atexit
import hashlib
import os
import re
import shutil
import sys
import tempfile

import setuptools
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def scratch_dir():
    """Where setuptools' intermediate files go: outside the source tree.

    A checkout keeps one directory per build configuration (the compiler,
    its flags and the interpreter), reused by its next build of that
    configuration and never by another, so that changed CFLAGS (say
    -DQSEM_FORCE_PTHREAD) are not answered with stale objects.  Sources
    unpacked under the temporary directory (pip installing an sdist) are
    built once: their scratch directory goes when the build does.
    """
    tmp = os.path.realpath(tempfile.gettempdir())
    if os.path.commonpath([os.path.realpath(HERE), tmp]) == tmp:
        path = tempfile.mkdtemp(prefix="qsem-setuptools-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        return path
    config = "\0".join([HERE, sys.version, sys.executable] +
                       [os.environ.get(k, "") for k in ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS")])
    path = os.path.join(tmp, "qsem-setuptools-" + hashlib.sha256(config.encode()).hexdigest()[:12])
    os.makedirs(path, exist_ok=True)
    return path


SCRATCH = scratch_dir()


def read_version():
    with open(os.path.join(HERE, "csrc", "qsem_version.h"), encoding="utf-8") as f:
        match = re.search(r'#define\s+QSEM_VERSION_STRING\s+"([^"]+)"', f.read())
    if match is None:
        raise RuntimeError("QSEM_VERSION_STRING not found in csrc/qsem_version.h")
    return match.group(1)



def license_metadata():
    """The license, as pyproject.toml says: an SPDX expression (PEP 639)
    where setuptools takes one (77 and later), else the free-text field."""
    if int(setuptools.__version__.split(".")[0]) >= 77:
        return {"license_expression": "MIT"}
    return {"license": "MIT"}


extension = Extension(
    "qsem._qsem",
    sources=[
        "bindings/python/qsemmodule.c",
        "csrc/qsem_all.c",  # the whole core; it picks the back end
    ],
    depends=[
        "bindings/python/qsem_async.c",  # included by qsemmodule.c
        "csrc/qsem.h",
        "csrc/qsem.c",
        "csrc/qsem_waiter.c",
        "csrc/qsem_futex.c",
        "csrc/qsem_pthread.c",
        "csrc/qsem_internal.h",
        "csrc/qsem_version.h",
    ],
    include_dirs=["csrc"],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden"] if os.name == "posix" else [],
    libraries=["pthread"] if os.name == "posix" else [],
)

setup(
    version=read_version(),
    **license_metadata(),
    # Intermediate files go to a directory of their own outside the source
    # tree, so that `pip install` works from a read-only checkout and never
    # mixes with CMake's build/ (`setup.py build --build-base` overrides).
    options={
        "build": {"build_base": os.path.join(SCRATCH, "build")},
        "egg_info": {"egg_base": SCRATCH},
    },
    package_dir={"": "bindings/python"},
    packages=["qsem"],
    package_data={"qsem": ["py.typed", "__init__.pyi"]},
    ext_modules=[extension],
    zip_safe=False,
)
