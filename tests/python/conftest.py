# SPDX-License-Identifier: MIT
"""Shared set-up for the qsem Python suite."""
import os

import pytest

import qsem


def pytest_report_header(config):
    return f"qsem {qsem.__version__} ({qsem.BACKEND} back end) from {os.path.dirname(qsem.__file__)}"


def pytest_sessionstart(session):
    # Under ctest, the suite must test the extension just built from this
    # tree, not one that an earlier `pip install` left in site-packages.
    want = os.environ.get("QSEM_PYTHON_LIB")
    if want:
        got = os.path.realpath(os.path.dirname(os.path.dirname(qsem.__file__)))
        if got != os.path.realpath(want):
            pytest.exit(f"qsem imported from {got}, expected the fresh build in {want}", 2)
