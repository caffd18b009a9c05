# SPDX-License-Identifier: MIT
"""Four event loops in four threads and two plain threads share one
semaphore: random counts, timeouts and cancellations.  At the end every
token is back, nobody waits, and at no moment were more tokens held than
exist.  The same under asyncio's loop, uvloop and trio."""
import asyncio
import random
import threading
import time

import pytest

import qsem

trio = pytest.importorskip("trio")
uvloop = pytest.importorskip("uvloop")

TOKENS = 8
SECONDS = 1.5


class Ledger:
    """Tokens held right now, counted by the holders themselves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held = 0
        self.peak = 0
        self.grants = 0

    def take(self, n):
        with self.lock:
            self.held += n
            self.grants += 1
            self.peak = max(self.peak, self.held)
            assert self.held <= TOKENS

    def give(self, n):
        with self.lock:
            self.held -= n

    async def use(self, n, sleep):
        """Hold n tokens across a checkpoint, where a cancel may land."""
        self.take(n)
        try:
            await sleep(0)
        finally:
            self.give(n)


async def asyncio_worker(sem, ledger, rng, stop):
    tasks = set()

    async def one():
        n = rng.randint(1, 3)
        how = rng.random()
        if how < 0.25:
            if await sem.async_acquire(n=n, timeout=rng.uniform(0.0, 0.005)):
                try:
                    await ledger.use(n, asyncio.sleep)
                finally:
                    sem.release(n)
        elif how < 0.45:
            # The awaitable as wait_for's own task, which a timeout of 0
            # cancels before it runs: tokens it took at the call go back.
            try:
                got = await asyncio.wait_for(sem.async_acquire(n=n), rng.choice((0, 0.0005, 0.002)))
            except asyncio.TimeoutError:
                got = False
            if got:
                try:
                    await ledger.use(n, asyncio.sleep)
                finally:
                    sem.release(n)
        elif how < 0.7:
            async with sem.hold(n):
                await ledger.use(n, asyncio.sleep)
        else:
            async with sem:
                ledger.take(1)
                ledger.give(1)

    while not stop.is_set():
        for _ in range(4):
            tasks.add(asyncio.create_task(one()))
        await asyncio.sleep(rng.uniform(0, 0.002))
        # Cancel some of those still waiting, at random moments.
        for t in list(tasks):
            if not t.done() and rng.random() < 0.3:
                t.cancel()
        done = {t for t in tasks if t.done()}
        for t in done:
            if not t.cancelled():
                t.result()  # re-raise an assertion from a worker
        tasks -= done
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def trio_worker(sem, ledger, rng, stop):
    async def one():
        n = rng.randint(1, 3)
        how = rng.random()
        with trio.move_on_after(rng.uniform(0.0, 0.004)):
            if how < 0.5:
                if await sem.async_acquire(n=n, timeout=rng.uniform(0.0, 0.005)):
                    try:
                        await ledger.use(n, trio.sleep)
                    finally:
                        sem.release(n)
            else:
                async with sem.hold(n):
                    await ledger.use(n, trio.sleep)

    while not stop.is_set():
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one)


def thread_worker(sem, ledger, rng, stop):
    while not stop.is_set():
        n = rng.randint(1, 3)
        if sem.acquire(timeout=rng.uniform(0.0, 0.003), n=n):
            ledger.take(n)
            ledger.give(n)
            sem.release(n)


@pytest.mark.parametrize("flavour", ["asyncio", "uvloop", "trio"])
@pytest.mark.parametrize("fair", [False, True])
def test_four_loops_and_two_threads_lose_nothing(flavour, fair):
    sem = qsem.Semaphore(TOKENS, fair=fair)
    ledger = Ledger()
    stop = threading.Event()
    errors = []

    def loop_thread(seed):
        rng = random.Random(seed)
        try:
            if flavour == "trio":
                trio.run(trio_worker, sem, ledger, rng, stop)
            else:
                loop = uvloop.new_event_loop() if flavour == "uvloop" else asyncio.new_event_loop()
                try:
                    loop.run_until_complete(asyncio_worker(sem, ledger, rng, stop))
                finally:
                    loop.close()
        except BaseException as e:  # noqa: B036 - reported below
            errors.append(e)

    def plain_thread(seed):
        try:
            thread_worker(sem, ledger, random.Random(seed), stop)
        except BaseException as e:  # noqa: B036
            errors.append(e)

    threads = [threading.Thread(target=loop_thread, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=plain_thread, args=(10 + i,)) for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a worker is stuck"
    assert not errors, errors
    assert ledger.held == 0
    assert ledger.grants > 100
    assert (sem.available(), sem.waiting()) == (TOKENS, 0)
