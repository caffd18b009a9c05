# SPDX-License-Identifier: MIT
"""A hypothesis state machine drives acquire, try, timed acquire, hold,
release and close against a model of the count, with at most one other
thread queued at a time, and checks after every step that the semaphore
agrees with the model (token conservation) and that no wake-up is lost."""
import threading
import time

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import qsem

counts = st.integers(min_value=0, max_value=6)

# How long a queued waiter that the model says must be served may take.
SERVE_TIMEOUT = 10.0


class SemaphoreMachine(RuleBasedStateMachine):
    @initialize(
        initial=st.integers(min_value=0, max_value=6),
        bounded=st.booleans(),
        fair=st.booleans(),
    )
    def create(self, initial, bounded, fair):
        cls = qsem.BoundedSemaphore if bounded else qsem.Semaphore
        self.sem = cls(initial, fair=fair)
        self.bounded = bounded
        self.fair = fair
        self.max = initial if bounded else qsem.VALUE_MAX
        self.avail = initial
        self.closed = False
        # The one background waiter: (thread, n, result list) or None.
        self.waiter = None

    # -- the background waiter ------------------------------------------

    def _settle_waiter(self):
        """If the model says the queued waiter must be resolved, wait for it."""
        if self.waiter is None:
            return
        thread, n, result = self.waiter
        if self.closed:
            thread.join(SERVE_TIMEOUT)
            assert not thread.is_alive(), "close() did not wake the waiter"
            assert isinstance(result[0], qsem.ClosedError)
            self.waiter = None
        elif self.avail >= n:
            thread.join(SERVE_TIMEOUT)
            assert not thread.is_alive(), "lost wake-up: tokens were free"
            assert result == [True]
            self.avail -= n
            self.waiter = None

    @precondition(lambda self: self.waiter is None and not self.closed)
    @rule(extra=st.integers(min_value=1, max_value=3))
    def queue_waiter(self, extra):
        n = self.avail + extra
        if n > self.max:
            return
        result = []

        def run():
            try:
                result.append(self.sem.acquire(timeout=2 * SERVE_TIMEOUT, n=n))
            except qsem.ClosedError as exc:
                result.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + SERVE_TIMEOUT
        while self.sem.waiting() < 1:
            assert time.monotonic() < deadline, "waiter never queued"
            time.sleep(0.001)
        self.waiter = (thread, n, result)

    # -- this thread's calls ------------------------------------------------

    def _expect_take(self, n, got):
        """Check the result of a non-sleeping attempt and book it."""
        if self.waiter is not None and n > 0 and self.fair:
            # Strict order: nobody overtakes a queued request.
            assert got is False
        elif self.waiter is not None and n > 0:
            # Default mode may or may not let a newcomer overtake.
            assert got is (n <= self.avail) or got is False
        else:
            assert got is (n <= self.avail)
        if got:
            self.avail -= n

    # Bad arguments are refused before the state is looked at, so a request
    # past the maximum is a ValueError even on a closed semaphore.

    @rule(n=counts)
    def try_acquire(self, n):
        if n > self.max:
            self._expect_value_error(lambda: self.sem.acquire(False, n=n))
        elif self.closed:
            self._expect_closed(lambda: self.sem.acquire(False, n=n))
        else:
            self._expect_take(n, self.sem.acquire(False, n=n))

    @rule(n=counts)
    def timed_acquire(self, n):
        if n > self.max:
            self._expect_value_error(lambda: self.sem.acquire(timeout=0.002, n=n))
        elif self.closed:
            self._expect_closed(lambda: self.sem.acquire(timeout=0.002, n=n))
        else:
            self._expect_take(n, self.sem.acquire(timeout=0.002, n=n))

    @precondition(lambda self: self.waiter is None)
    @rule(n=counts)
    def blocking_acquire(self, n):
        # Only when the model says it cannot sleep forever.
        if n > self.max:
            self._expect_value_error(lambda: self.sem.acquire(n=n))
        elif self.closed:
            self._expect_closed(lambda: self.sem.acquire(n=n))
        elif n <= self.avail:
            assert self.sem.acquire(n=n) is True
            self.avail -= n

    @precondition(lambda self: self.waiter is None)
    @rule(n=counts)
    def hold(self, n):
        if n > self.max:
            self._expect_value_error(lambda: self.sem.hold(n))
        elif self.closed:
            self._expect_closed(lambda: self.sem.hold(n, timeout=0).__enter__())
        elif n <= self.avail:
            with self.sem.hold(n, timeout=0) as g:
                assert g.held == n
                assert self.sem.available() == self.avail - n
        else:
            try:
                with self.sem.hold(n, timeout=0):
                    raise AssertionError("entered without the tokens")
            except TimeoutError:
                pass

    @rule(n=counts)
    def release(self, n):
        if n == 0:
            with pytest.raises(ValueError, match="n must be one or more"):
                self.sem.release(n)
        elif n > self.max - self.avail:
            error = ValueError if self.bounded else OverflowError
            try:
                self.sem.release(n)
            except error:
                pass
            else:
                raise AssertionError("over-release accepted")
        else:
            self.sem.release(n)
            self.avail += n
            self._settle_waiter()

    @rule()
    def close(self):
        self.sem.close()
        self.closed = True
        self._settle_waiter()

    # -- helpers and invariants ---------------------------------------------

    def _expect_closed(self, call):
        try:
            call()
        except qsem.ClosedError:
            return
        raise AssertionError("call on a closed semaphore did not raise ClosedError")

    def _expect_value_error(self, call):
        try:
            call()
        except ValueError:
            return
        raise AssertionError("impossible request did not raise ValueError")

    @invariant()
    def count_matches_the_model(self):
        assert self.sem.available() == self.avail

    @invariant()
    def waiters_match_the_model(self):
        assert self.sem.waiting() == (0 if self.waiter is None else 1)
        assert self.sem.closed == self.closed

    def teardown(self):
        if self.waiter is not None:
            self.sem.close()
            self.waiter[0].join(SERVE_TIMEOUT)


TestSemaphoreModel = SemaphoreMachine.TestCase
TestSemaphoreModel.settings = settings(
    # No example database: the interpreters' runs of this file share one
    # working directory, and one's saved examples replayed by another
    # (another Hypothesis) made it report a flaky strategy.
    database=None,
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
