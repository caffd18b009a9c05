# SPDX-License-Identifier: MIT
"""The object model and argument handling of qsem.Semaphore and
qsem.BoundedSemaphore (docs/contract.md, "Python" and "Counts")."""
import copy
import gc
import inspect
import os
import pickle
import re
import threading
import weakref

import pytest

import qsem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BOTH = [qsem.Semaphore, qsem.BoundedSemaphore]


def test_value_max_is_the_core_limit():
    assert qsem.VALUE_MAX == 2**62 - 1
    assert qsem.VALUE_MAX >= 2**31 - 1


def test_version_comes_from_the_header():
    with open(os.path.join(ROOT, "csrc", "qsem_version.h"), encoding="utf-8") as f:
        want = re.search(r'QSEM_VERSION_STRING "([^"]+)"', f.read()).group(1)
    assert qsem.__version__ == want


def test_backend_is_named():
    assert qsem.BACKEND in ("futex", "pthread")


def test_closed_error_is_a_runtime_error():
    assert issubclass(qsem.ClosedError, RuntimeError)
    assert qsem.ClosedError.__module__ == "qsem"


def test_bounded_is_a_semaphore():
    assert issubclass(qsem.BoundedSemaphore, qsem.Semaphore)
    assert isinstance(qsem.BoundedSemaphore(), qsem.Semaphore)


@pytest.mark.parametrize("cls", BOTH)
def test_default_value_is_one(cls):
    s = cls()
    assert s.available() == 1
    assert s.acquire(False)
    assert not s.acquire(False)


@pytest.mark.parametrize("cls", BOTH)
def test_constructor_rejects_bad_values(cls):
    with pytest.raises(ValueError):
        cls(-1)
    with pytest.raises(ValueError):
        cls(-(2**100))
    with pytest.raises(OverflowError):
        cls(qsem.VALUE_MAX + 1)
    with pytest.raises(OverflowError):
        cls(2**100)
    with pytest.raises(TypeError):
        cls(1.5)
    with pytest.raises(TypeError):
        cls("3")
    with pytest.raises(TypeError):
        cls(1, True)  # fair is keyword-only
    with pytest.raises(TypeError):
        cls(1, unknown=True)


@pytest.mark.parametrize("cls", BOTH)
def test_constructor_takes_value_max_and_index_objects(cls):
    class Three:
        def __index__(self):
            return 3

    assert cls(Three()).available() == 3
    assert cls(value=qsem.VALUE_MAX).available() == qsem.VALUE_MAX


def test_max_property():
    assert qsem.Semaphore(3).max == qsem.VALUE_MAX
    assert qsem.BoundedSemaphore(3).max == 3


def test_multi_token_acquire_and_release():
    s = qsem.Semaphore(5)
    assert s.acquire(n=3)
    assert s.available() == 2
    assert not s.acquire(False, n=3)
    assert s.available() == 2
    assert s.acquire(True, None, n=2)
    assert s.available() == 0
    s.release(4)
    assert s.available() == 4
    s.release(n=1)
    assert s.available() == 5


def test_acquire_zero_succeeds_at_once():
    s = qsem.Semaphore(0)
    assert s.acquire(n=0)
    assert s.acquire(False, n=0)
    assert s.available() == 0


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
def test_release_zero_is_a_value_error_as_in_threading(kind):
    s = getattr(qsem, kind)(2)
    s.acquire()
    with pytest.raises(ValueError, match="^n must be one or more$"):
        s.release(0)
    with pytest.raises(ValueError, match="^n must be one or more$"):
        s.release(n=0)
    assert s.available() == 1


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
def test_release_negative_words_it_as_threading_does(kind):
    s = getattr(qsem, kind)(2)
    s.acquire()
    for n in (-1, -(2**70)):
        with pytest.raises(ValueError) as mine:
            s.release(n)
        with pytest.raises(ValueError) as theirs:
            getattr(threading, kind)(2).release(n)
        assert str(mine.value) == str(theirs.value) == "n must be one or more"
    assert s.available() == 1


@pytest.mark.parametrize("blocking", [3, 2, -1, 2**70, None, "yes", 1.0, [1]])
def test_blocking_that_is_not_a_bool_raises_type_error_naming_n(blocking):
    s = qsem.Semaphore(5)
    with pytest.raises(TypeError, match=r"n="):
        s.acquire(blocking)
    assert s.available() == 5


@pytest.mark.parametrize("blocking", [True, False, 1, 0])
def test_blocking_accepts_bools_zero_and_one(blocking):
    s = qsem.Semaphore(1)
    assert s.acquire(blocking) is True
    if blocking:
        assert s.acquire(blocking, timeout=0.01) is False
    else:
        assert s.acquire(blocking=blocking) is False
    assert s.available() == 0


def test_acquire_returns_exact_bools():
    s = qsem.Semaphore(1)
    assert s.acquire() is True
    assert s.acquire(False) is False


@pytest.mark.parametrize("bad", [-1, -(2**70)])
def test_negative_counts_are_value_errors(bad):
    s = qsem.Semaphore(2)
    with pytest.raises(ValueError):
        s.acquire(n=bad)
    with pytest.raises(ValueError):
        s.release(bad)
    with pytest.raises(ValueError):
        s.hold(bad)
    assert s.available() == 2


@pytest.mark.parametrize("bad", [1.0, "1", None, object()])
def test_non_integer_counts_are_type_errors(bad):
    s = qsem.Semaphore(2)
    with pytest.raises(TypeError):
        s.acquire(n=bad)
    with pytest.raises(TypeError):
        s.release(bad)
    assert s.available() == 2


def test_counts_past_int64_are_overflow_errors():
    s = qsem.Semaphore(2)
    with pytest.raises(OverflowError):
        s.acquire(n=2**64)
    with pytest.raises(OverflowError):
        s.release(2**64)
    assert s.available() == 2


@pytest.mark.parametrize("cls", BOTH)
def test_request_past_the_maximum_is_a_value_error(cls):
    # It could never be met: refusing beats sleeping forever.
    s = cls(2)
    limit = s.max
    with pytest.raises(ValueError, match="maximum"):
        s.acquire(n=limit + 1)
    with pytest.raises(ValueError, match="maximum"):
        s.acquire(False, n=limit + 1)
    with pytest.raises(ValueError, match="maximum"):
        s.hold(limit + 1)
    assert s.available() == 2


def test_bounded_over_release_is_value_error_and_changes_nothing():
    s = qsem.BoundedSemaphore(3)
    s.acquire(n=2)
    with pytest.raises(ValueError, match="released too many times"):
        s.release(3)
    assert s.available() == 1
    s.release(2)
    with pytest.raises(ValueError):
        s.release()
    assert s.available() == 3


def test_release_past_value_max_is_overflow_error_and_changes_nothing():
    s = qsem.Semaphore(qsem.VALUE_MAX - 1)
    s.release()
    assert s.available() == qsem.VALUE_MAX
    with pytest.raises(OverflowError):
        s.release()
    with pytest.raises(OverflowError):
        s.release(qsem.VALUE_MAX)
    assert s.available() == qsem.VALUE_MAX


def test_argument_errors():
    s = qsem.Semaphore(1)
    with pytest.raises(TypeError, match="positional"):
        s.acquire(True, None, 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        s.acquire(count=1)
    with pytest.raises(TypeError, match="multiple values"):
        s.acquire(True, blocking=True)
    with pytest.raises(TypeError):
        s.release(1, 2)
    with pytest.raises(TypeError):
        s.release(m=1)
    with pytest.raises(TypeError):
        s.available(1)
    assert s.available() == 1


def test_waiting_counts_sleepers():
    s = qsem.Semaphore(0)
    started = threading.Barrier(3)

    def waiter():
        started.wait()
        s.acquire(timeout=30)

    threads = [threading.Thread(target=waiter) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait()
    deadline = 200
    while s.waiting() < 2 and deadline:
        threading.Event().wait(0.01)
        deadline -= 1
    assert s.waiting() == 2
    s.release(2)
    for t in threads:
        t.join()
    assert s.waiting() == 0
    assert s.available() == 0


def test_repr_follows_threading():
    s = qsem.Semaphore(3)
    assert re.fullmatch(r"<qsem\.Semaphore at 0x[0-9a-f]+: value=3>", repr(s))
    b = qsem.BoundedSemaphore(3)
    b.acquire()
    assert re.fullmatch(r"<qsem\.BoundedSemaphore at 0x[0-9a-f]+: value=2/3>", repr(b))
    assert f"{id(s):#x}" in repr(s)
    s.close()
    assert repr(s).endswith(": value=3, closed>")


def test_subclasses_work_and_repr_names_them():
    class Pool(qsem.BoundedSemaphore):
        pass

    p = Pool(2)
    p.extra = "attributes work"
    assert p.acquire(n=2)
    with pytest.raises(ValueError):
        p.release(3)
    p.release(2)
    assert re.fullmatch(
        r"<test_api\.test_subclasses_work_and_repr_names_them\.<locals>\.Pool at 0x[0-9a-f]+: value=2/2>",
        repr(p),
    )


@pytest.mark.parametrize("cls", BOTH)
def test_not_picklable_or_copyable(cls):
    s = cls(2)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot pickle"):
            pickle.dumps(s, protocol)
    with pytest.raises(TypeError):
        copy.copy(s)
    with pytest.raises(TypeError):
        copy.deepcopy(s)


@pytest.mark.parametrize("cls", BOTH)
def test_weak_referenceable(cls):
    s = cls(2)
    r = weakref.ref(s)
    assert r() is s
    del s
    gc.collect()
    assert r() is None


def test_types_are_immutable():
    with pytest.raises(TypeError):
        qsem.Semaphore.acquire = None
    with pytest.raises(TypeError):
        qsem.Hold()


def test_signatures_are_introspectable():
    s = qsem.Semaphore()
    assert str(inspect.signature(s.acquire)) == "(blocking=True, timeout=None, *, n=1)"
    assert str(inspect.signature(s.release)) == "(n=1)"
    assert str(inspect.signature(s.hold)) == "(n=1, timeout=None)"
    assert str(inspect.signature(qsem.Semaphore)) == "(value=1, *, fair=False)"
    assert str(inspect.signature(qsem.BoundedSemaphore)) == "(value=1, *, fair=False)"


def test_with_statement_takes_and_gives_one_token():
    s = qsem.Semaphore(2)
    with s as got:
        assert got is True
        assert s.available() == 1
    assert s.available() == 2
    with pytest.raises(KeyError):
        with s:
            raise KeyError
    assert s.available() == 2


def test_modules_can_be_loaded_twice_independently():
    # Multi-phase init: a second module object has its own types and state.
    import importlib.util

    spec = importlib.util.find_spec("qsem._qsem")
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    assert other.Semaphore is not qsem.Semaphore
    assert other.ClosedError is not qsem.ClosedError
    s = other.Semaphore(0)
    s.close()
    with pytest.raises(other.ClosedError):
        s.acquire()
