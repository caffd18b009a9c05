# SPDX-License-Identifier: MIT
"""Drop-in gaps with threading found by trying qsem as a new user would:
subclasses with their own __init__, error messages that name the class,
release(n=) by keyword, and a hold() guard collected in a cycle."""
import asyncio
import gc
import inspect
import threading
import weakref

import pytest

import qsem

KINDS = ["Semaphore", "BoundedSemaphore"]


@pytest.mark.parametrize("kind", KINDS)
def test_subclass_with_its_own_keyword_init(kind):
    base = getattr(qsem, kind)

    class Named(base):
        def __init__(self, value=1, *, name="pool"):
            super().__init__(value)
            self.name = name

    s = Named(3, name="db")
    assert (s.name, s.available()) == ("db", 3)
    assert Named().available() == 1
    with s.hold(2):
        assert s.available() == 1
    assert s.available() == 3


@pytest.mark.parametrize("kind", KINDS)
def test_subclass_init_calling_super_positionally(kind):
    base = getattr(qsem, kind)

    class Pool(base):
        def __init__(self, size):
            super().__init__(size)

    p = Pool(4)
    assert p.acquire(n=4)
    assert not p.acquire(False)
    p.release(4)
    assert p.available() == 4


@pytest.mark.parametrize("module", [qsem, threading])
@pytest.mark.parametrize("kind", KINDS)
def test_with_exit_calls_a_subclass_release(module, kind):
    # threading's __exit__ calls self.release(): an override sees every exit.
    seen = []

    class Counting(getattr(module, kind)):
        def release(self, n=1):
            seen.append(n)
            return super().release(n)

    s = Counting(1)
    with s:
        assert not s.acquire(False)
    assert seen == [1]
    assert s.acquire(False)


@pytest.mark.parametrize("kind", KINDS)
def test_async_with_exit_calls_a_subclass_release(kind):
    seen = []

    class Counting(getattr(qsem, kind)):
        def release(self, n=1):
            seen.append(n)
            return super().release(n)

    async def main():
        s = Counting(1)
        async with s:
            assert s.available() == 0
        return s.available()

    assert asyncio.run(main()) == 1
    assert seen == [1]


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_subclasses_work_with_threading(kind):
    # The shape of the two tests above is what threading accepts.
    base = getattr(threading, kind)

    class Named(base):
        def __init__(self, value=1, *, name="pool"):
            super().__init__(value)

    s = Named(2, name="x")
    s.acquire()
    s.release()


def test_subclass_that_skips_init_gets_a_clear_error():
    class Lazy(qsem.Semaphore):
        def __init__(self):
            pass

    s = Lazy()
    for call in (s.acquire, s.release, s.available, s.waiting, s.close, s.hold):
        with pytest.raises(RuntimeError, match=r"__init__\(\) was not called"):
            call()
    with pytest.raises(RuntimeError, match="not called"):
        s.closed
    assert "not initialized" in repr(s)
    del s
    gc.collect()


def test_init_may_not_run_twice():
    s = qsem.Semaphore(2)
    with pytest.raises(RuntimeError, match="only once"):
        s.__init__(5)
    assert s.available() == 2


@pytest.mark.parametrize("kind", KINDS)
def test_too_many_positionals_name_the_class(kind):
    with pytest.raises(TypeError, match=rf"^{kind}\(\) takes at most 1 positional argument"):
        getattr(qsem, kind)(1, True)


def test_release_takes_n_by_keyword():
    s = qsem.Semaphore(0)
    s.release(n=2)
    assert s.available() == 2
    assert "n" in inspect.signature(s.release).parameters
    assert inspect.signature(s.release).parameters["n"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_hold_in_a_cycle_gives_back_when_collected():
    s = qsem.Semaphore(5)
    g = s.hold(2)
    g.__enter__()
    box = [g]
    box.append(box)
    del g, box
    gc.collect()
    assert s.available() == 5


def test_hold_and_semaphore_in_one_cycle_are_collected():
    # Whatever order the collector clears them in, nothing is touched after
    # it is freed (the suite runs under ASan too) and both go.
    class Tagged(qsem.Semaphore):
        pass

    s = Tagged(3)
    g = s.hold(3)
    g.__enter__()
    s.guard = g
    gone = weakref.ref(s)
    del s, g
    gc.collect()
    assert gone() is None
