# SPDX-License-Identifier: MIT
"""qsem: a hardened counting semaphore with Qt QSemaphore's semantics.

Semaphore and BoundedSemaphore are drop-in replacements for threading's,
with multi-token acquire(n=) and release(n), hold(n) guards, close(), and
waits that Ctrl-C interrupts.  The same objects serve coroutines:
`await sem.async_acquire(n, timeout)`, `async with sem:` and
`async with sem.hold(n):`, under asyncio (any loop) and trio, sharing one
queue with threads.  See docs/python.md.
"""
import collections.abc as _collections_abc

from qsem._qsem import (
    BACKEND,
    VALUE_MAX,
    BoundedSemaphore,
    ClosedError,
    Hold,
    Semaphore,
    __version__,
)
from qsem._qsem import Ready as _Ready

# The awaitable of a call that did not have to wait behaves as a coroutine
# that has finished at its first step; asyncio.create_task() takes it.
_collections_abc.Coroutine.register(_Ready)

__all__ = [
    "BACKEND",
    "VALUE_MAX",
    "BoundedSemaphore",
    "ClosedError",
    "Hold",
    "Semaphore",
    "__version__",
]
