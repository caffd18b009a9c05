# SPDX-License-Identifier: MIT
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Final, SupportsFloat, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "BACKEND",
    "VALUE_MAX",
    "BoundedSemaphore",
    "ClosedError",
    "Hold",
    "Semaphore",
    "__version__",
]

__version__: Final[str]
BACKEND: Final[str]
VALUE_MAX: Final[int]

class ClosedError(RuntimeError): ...

@disjoint_base
class Semaphore:
    def __new__(cls, value: int = 1, *, fair: bool = False) -> Self: ...
    def __init__(self, value: int = 1, *, fair: bool = False) -> None: ...
    def acquire(
        self, blocking: bool = True, timeout: SupportsFloat | None = None, *, n: int = 1
    ) -> bool: ...
    def release(self, n: int = 1) -> None: ...
    def hold(self, n: int = 1, timeout: SupportsFloat | None = None) -> Hold: ...
    def available(self) -> int: ...
    def waiting(self) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def max(self) -> int: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...
    def async_acquire(
        self, n: int = 1, timeout: SupportsFloat | None = None
    ) -> Coroutine[Any, Any, bool]: ...
    def __aenter__(self) -> Coroutine[Any, Any, bool]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> Coroutine[Any, Any, None]: ...

class BoundedSemaphore(Semaphore):
    def __new__(cls, value: int = 1, *, fair: bool = False) -> Self: ...
    def __init__(self, value: int = 1, *, fair: bool = False) -> None: ...

@final
class Hold:
    @property
    def n(self) -> int: ...
    @property
    def held(self) -> int: ...
    @property
    def semaphore(self) -> Semaphore: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...
    def __aenter__(self) -> Coroutine[Any, Any, Self]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> Coroutine[Any, Any, None]: ...
