"""qsem: a hardened counting semaphore with Qt QSemaphore's semantics.

Semaphore and BoundedSemaphore are drop-in replacements for threading's,
with multi-token acquire(n=) and release(n), hold(n) guards, close(), and
waits that Ctrl-C interrupts.  See docs/python.md.
"""
from qsem._qsem import (
    BACKEND,
    VALUE_MAX,
    BoundedSemaphore,
    ClosedError,
    Hold,
    Semaphore,
    __version__,
)

__all__ = [
    "BACKEND",
    "VALUE_MAX",
    "BoundedSemaphore",
    "ClosedError",
    "Hold",
    "Semaphore",
    "__version__",
]
