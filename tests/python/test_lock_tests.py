# SPDX-License-Identifier: MIT
"""CPython's own threading.Semaphore and BoundedSemaphore suites, unmodified,
run against qsem's types the way Lib/test/test_threading.py runs them
against threading's: by setting `semtype`."""
from test import lock_tests

import qsem


class SemaphoreTests(lock_tests.SemaphoreTests):
    semtype = staticmethod(qsem.Semaphore)


class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
    semtype = staticmethod(qsem.BoundedSemaphore)


class FairSemaphoreTests(lock_tests.SemaphoreTests):
    # Strict arrival order must not break threading's expectations either;
    # the repr check expects the class name, which a lambda would change.
    @staticmethod
    def semtype(*args, **kwargs):
        return qsem.Semaphore(*args, fair=True, **kwargs)
