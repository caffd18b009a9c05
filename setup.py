"""Build the qsem CPython extension: the C core plus bindings/python/qsemmodule.c.

The version is read from csrc/qsem_version.h, the one place it is written.
"""
import os
import re

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with open(os.path.join(HERE, "csrc", "qsem_version.h"), encoding="utf-8") as f:
        match = re.search(r'#define\s+QSEM_VERSION_STRING\s+"([^"]+)"', f.read())
    if match is None:
        raise RuntimeError("QSEM_VERSION_STRING not found in csrc/qsem_version.h")
    return match.group(1)



extension = Extension(
    "qsem._qsem",
    sources=[
        "bindings/python/qsemmodule.c",
        "csrc/qsem_all.c",  # the whole core; it picks the back end
    ],
    depends=[
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
    # Not setuptools' default `build/`: that is where the Makefile points
    # CMake, and the two trees should not mix.  `make clean` removes both.
    options={"build": {"build_base": "build/setuptools"}},
    package_dir={"": "bindings/python"},
    packages=["qsem"],
    package_data={"qsem": ["py.typed", "__init__.pyi"]},
    ext_modules=[extension],
    zip_safe=False,
)
